"""Write .xlsx workbooks directly as SpreadsheetML parts (直接写出工作簿): values and formatting only.

xlperf's own output workbooks — the 自评表 and the batch's 汇总表 — hold plain values with a few
styles, so they are written as XML text zipped together instead of through openpyxl, whose per-cell
objects cost milliseconds per report and seconds per batch summary.  A :class:`Sheet` describes one
worksheet: its rows as an iterable of rows of ``(value, style)`` pairs (consumed once, so they can be
generated on the fly), column widths, row heights, merges, a frozen pane, an autofilter and print
settings.  :func:`write_workbook` gathers the :class:`CellStyle` values it meets into ``styles.xml``
and writes the package atomically.

Cell values: ``str`` through the shared string table (escaped for XML and for Excel's ``_xHHHH_``
decoding, so ``=SUM(A1)``, ``<b>`` or ``_x0041_`` stay the text they are; a character XML cannot
hold becomes its ``_xHHHH_`` escape; a text over Excel's 32,767-character cell limit is cut to fit,
ending ``……（内容过长，已截断）``), ``int``/``float`` as numbers, ``bool`` as a boolean, a
:class:`Link` as its text linked to a relative target, anything else as its text.  ``None``, ``""``
and NaN leave no cell, or a styled blank when the pair has a style.  Elements follow the schema's
order, as Excel requires.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import numbers
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .atomic import atomic_output
from .cellref import column_letters, parse_address, parse_range
from .deflate import pack, pack_repeated
from .xlsxvalues import excel_string, fit_cell_text
from .zipcopy import zip_package

__all__ = ["CellStyle", "Link", "PageSetup", "Sheet", "text_width", "wrapped_height", "write_workbook"]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CORE = "http://schemas.openxmlformats.org/package/2006/metadata/core-properties"
_APP = "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"
_OFFICE_TYPE = "application/vnd.openxmlformats-officedocument"
_PART_PERMISSIONS = 0o600 << 16  # what zipfile gives a part written from text: rw for the owner
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
LINK_COLOUR = "0563C1"  # Excel's Hyperlink cell style: this blue, underlined

# Number formats Excel knows by id (内置数字格式); any other is declared in styles.xml from id 164.
_BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "0%": 9, "0.00%": 10, "@": 49}


@dataclass(frozen=True, slots=True)
class CellStyle:
    """A cell's look (单元格格式): font, solid fill, thin border, alignment and number format.

    Colours are ``RRGGBB``; ``horizontal``/``vertical`` take Excel's names (``left``, ``center``,
    ``right``; ``top``, ``center``, ``bottom``).  The default is Excel's plain Calibri 11 cell.
    """

    size: float = 11
    bold: bool = False
    font: str = "Calibri"
    colour: str | None = None
    underline: bool = False
    fill: str | None = None
    border: bool = False
    horizontal: str | None = None
    vertical: str | None = None
    wrap: bool = False
    number_format: str = "General"


@dataclass(frozen=True, slots=True)
class Link:
    """A cell value shown as ``text`` and linked to ``target`` (超链接), a path relative to the workbook.

    The cell gets its pair's style with the Hyperlink look (blue, underlined) on top.
    """

    text: object
    target: str


@dataclass(frozen=True)
class PageSetup:
    """Print settings (页面设置); ``margins`` in inches: left, right, top, bottom, header, footer.

    ``fit_width``/``fit_height`` are the pages wide/tall to shrink to (0: as many as needed); giving
    either turns fit-to-page on.  ``odd_footer`` is an Excel header/footer code like ``&C第 &P 页``.
    """

    orientation: str = "portrait"
    paper_size: int | None = None  # 9 = A4
    fit_width: int | None = None
    fit_height: int | None = None
    margins: tuple[float, float, float, float, float, float] = (0.7, 0.7, 0.75, 0.75, 0.3, 0.3)
    centre_horizontally: bool = False
    odd_footer: str = ""


@dataclass
class Sheet:
    """One worksheet to write (工作表): ``rows`` of ``(value, style)`` pairs, from A1, row 1 first.

    ``widths`` are column widths from column A, in characters; ``heights`` maps a row number to its
    height in points; ``merges``, ``autofilter`` and ``print_area`` are ranges like ``"A1:C5"``;
    ``freeze`` is the first cell that scrolls (``"C2"`` freezes row 1 and columns A:B);
    ``print_title_rows`` are the first and last rows repeated on every printed page.
    """

    name: str
    rows: Iterable[Iterable[tuple[object, CellStyle | None]]]
    widths: Sequence[float] = ()
    heights: Mapping[int, float] = field(default_factory=dict)
    merges: Sequence[str] = ()
    freeze: str | None = None
    autofilter: str | None = None
    page: PageSetup | None = None
    print_title_rows: tuple[int, int] | None = None
    print_area: str | None = None


def text_width(text: str) -> int:
    """How wide ``text`` shows, in Excel's column-width units (显示宽度): a CJK character counts two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrapped_height(cells: Iterable[tuple[str, float]], font_size: float = 11) -> float:
    """The row height in points that shows every ``(text, column width)`` wrapped in full (自动行高).

    Excel and LibreOffice keep a row's stored height when they open a file, so a row of long wrapped
    text written without one prints cut off; this estimates the lines each text takes at its width.
    """
    lines = max((_wrapped_lines(text, width) for text, width in cells if text), default=1)
    return round(lines * font_size * 1.3 + 0.7, 2)  # 宋体 11: 15 points a line, as Excel shows it


@functools.lru_cache(maxsize=4096)  # a batch's 自评表 rows repeat the rubric's names (≈1 MB at most)
def _wrapped_lines(text: str, width: float) -> int:
    """The lines ``text`` takes wrapped in a column ``width`` wide, worked out once per process."""
    return sum(max(1, math.ceil(text_width(part) / max(width - 1, 1))) for part in text.split("\n"))


def _escape(text: str) -> str:
    """``& < > "`` as XML entities, for character data and attribute values alike."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _text(text: str) -> str:
    """Text Excel reads as an ``ST_Xstring`` (cells, footers, properties): ``_xHHHH_`` escapes, then
    XML; a carriage return as a character reference, which XML parsing would turn into a line feed."""
    return _escape(excel_string(text)).replace("\r", "&#13;")


def _number(value: float) -> str | None:
    """A number as Excel stores it (``80`` rather than ``80.0``), or None for NaN, infinities and
    integers beyond a double's range (Excel holds doubles only)."""
    if isinstance(value, int) and abs(value) < 2**53:
        return str(value)
    try:
        number = float(value)
    except OverflowError:
        return None
    if not math.isfinite(number):
        return None
    text = repr(number)
    return text[:-2] if text.endswith(".0") else text


class _Styles:
    """The style sheet gathered while the sheets are written (样式表): each distinct look once."""

    def __init__(self) -> None:
        self.fonts: dict[tuple[float, bool, str, str | None, bool], int] = {}
        self.fills: dict[str, int] = {}
        self.formats: dict[str, int] = {}
        self.xfs: dict[tuple[int, int, int, int, str, int], int] = {(0, 0, 0, 0, "", 0): 0}
        self.known: dict[int, str] = {}  # id(style) -> ' s="N"' ("" for the default look)
        self._linked: dict[int, str] = {}  # the same for a linked cell
        self._kept: list[CellStyle | None] = []  # keeps the ids above from being reused
        self._font(CellStyle())
        self.link_font = self._font(CellStyle(colour=LINK_COLOUR, underline=True))

    def _font(self, style: CellStyle) -> int:
        key = (style.size, style.bold, style.font, style.colour, style.underline)
        return self.fonts.setdefault(key, len(self.fonts))

    def _xf(self, style: CellStyle, parent: int) -> int:
        fmt = style.number_format
        fmt_id = _BUILTIN_FORMATS.get(fmt)
        if fmt_id is None:
            fmt_id = self.formats.setdefault(fmt, 164 + len(self.formats))
        fill = self.fills.setdefault(style.fill, 2 + len(self.fills)) if style.fill else 0
        align = "".join(
            f' {name}="{value}"'
            for name, value in (("horizontal", style.horizontal), ("vertical", style.vertical))
            if value
        ) + (' wrapText="1"' if style.wrap else "")
        key = (fmt_id, self._font(style), fill, int(style.border), align, parent)
        return self.xfs.setdefault(key, len(self.xfs))

    def attribute(self, style: CellStyle | None, link: bool = False) -> str:
        """The `` s="N"`` of a cell with ``style``, or with it and the Hyperlink look ("" for none)."""
        known = self._linked if link else self.known
        found = known.get(id(style))
        if found is None:
            self._kept.append(style)
            if link:
                xf = self._xf(replace(style or CellStyle(), colour=LINK_COLOUR, underline=True), 1)
            else:
                xf = self._xf(style, 0) if style is not None else 0
            found = known[id(style)] = f' s="{xf}"' if xf else ""
        return found

    def xml(self) -> str:
        """``xl/styles.xml``: number formats, fonts, fills, borders, cell formats, Normal and Hyperlink."""
        return _style_sheet(
            tuple(self.formats.items()), tuple(self.fonts), tuple(self.fills), tuple(self.xfs), self.link_font
        )


@functools.lru_cache(maxsize=16)  # the 自评表 of every unit has the same looks: its style sheet is made once
def _style_sheet(
    formats: tuple[tuple[str, int], ...],
    fonts: tuple[tuple[float, bool, str, str | None, bool], ...],
    fills: tuple[str, ...],
    xfs: tuple[tuple[int, int, int, int, str, int], ...],
    link_font: int,
) -> str:
    """``xl/styles.xml`` of the number formats, fonts, fills and cell formats a :class:`_Styles` gathered."""
    formats_xml = "".join(
        f'<numFmt numFmtId="{fmt_id}" formatCode="{_escape(code)}"/>' for code, fmt_id in formats
    )
    fills_xml = "".join(
        f'<fill><patternFill patternType="solid"><fgColor rgb="FF{colour}"/><bgColor indexed="64"/>'
        "</patternFill></fill>"
        for colour in fills
    )
    thin = "".join(
        f'<{side} style="thin"><color rgb="FF000000"/></{side}>'
        for side in ("left", "right", "top", "bottom")
    )
    return (
        f'{_DECL}<styleSheet xmlns="{_MAIN}">'
        + (f'<numFmts count="{len(formats)}">{formats_xml}</numFmts>' if formats else "")
        + f'<fonts count="{len(fonts)}">{"".join(_font_xml(*key) for key in fonts)}</fonts>'
        f'<fills count="{len(fills) + 2}"><fill><patternFill patternType="none"/></fill>'
        f'<fill><patternFill patternType="gray125"/></fill>{fills_xml}</fills>'
        '<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border>'
        f"<border>{thin}<diagonal/></border></borders>"
        '<cellStyleXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f'<xf numFmtId="0" fontId="{link_font}" fillId="0" borderId="0" applyFont="1"/></cellStyleXfs>'
        f'<cellXfs count="{len(xfs)}">{"".join(_xf_xml(*key) for key in xfs)}</cellXfs>'
        '<cellStyles count="2"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
        '<cellStyle name="Hyperlink" xfId="1" builtinId="8"/></cellStyles>'
        "</styleSheet>"
    )


def _font_xml(size: float, bold: bool, name: str, colour: str | None, underline: bool) -> str:
    """One ``<font>``; Calibri with its family (swiss), as Excel writes it."""
    parts = ["<b/>" if bold else "", "<u/>" if underline else "", f'<sz val="{_number(size)}"/>']
    if colour:
        parts.append(f'<color rgb="FF{colour}"/>')
    parts.append(f'<name val="{_escape(name)}"/>')
    if name == "Calibri":
        parts.append('<family val="2"/>')
    return f"<font>{''.join(parts)}</font>"


def _xf_xml(fmt_id: int, font: int, fill: int, border: int, align: str, parent: int) -> str:
    """One ``<xf>`` of cellXfs with flags for the parts it sets (LibreOffice heeds them)."""
    used = (
        ("NumberFormat", fmt_id),
        ("Font", font),
        ("Fill", fill),
        ("Border", border),
        ("Alignment", align),
    )
    flags = "".join(f' apply{name}="1"' for name, value in used if value)
    head = (
        f'<xf numFmtId="{fmt_id}" fontId="{font}" fillId="{fill}" borderId="{border}" xfId="{parent}"{flags}'
    )
    return f"{head}><alignment{align}/></xf>" if align else f"{head}/>"


_LETTERS = [""]  # column letters by index, grown on demand and shared by every sheet of the process


def _letters(count: int) -> list[str]:
    """The column letters list, grown so that it holds column ``count``'s."""
    while len(_LETTERS) <= count:
        _LETTERS.append(column_letters(len(_LETTERS)))
    return _LETTERS


class _Strings:
    """The shared string table (共享字符串表): each distinct text once; cells refer to it by number.

    A batch summary repeats unit names, file names and check names on every finding's row, so the
    table keeps the sheets several times smaller than inline strings would.
    """

    def __init__(self) -> None:
        self.cells: dict[str, str] = {"": ""}  # text -> the rest of a <c> referring to it; "" is no text

    def add(self, text: str) -> str:
        """The rest of a ``<c>`` showing ``text``, adding it to the table."""
        body = self.cells[text] = f' t="s"><v>{len(self.cells) - 1}</v></c>'
        return body

    def xml(self) -> str:
        """``xl/sharedStrings.xml``."""
        texts = list(self.cells)[1:]
        items = "".join(
            f'<si><t xml:space="preserve">{_text(fit_cell_text(text))}</t></si>' for text in texts
        )
        return f'{_DECL}<sst xmlns="{_MAIN}" uniqueCount="{len(texts)}">{items}</sst>'


def _body(value: object, strings: _Strings) -> str:
    """The rest of a ``<c>`` holding ``value``; "" when there is nothing to show (None, "", NaN)."""
    if isinstance(value, str):
        found = strings.cells.get(value)
        return found if found is not None else strings.add(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return f' t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int | float | numbers.Real):  # numpy's integers are Real but not int
        text = _number(value)  # type: ignore[arg-type]
        return f"><v>{text}</v></c>" if text is not None else ""
    return _body(str(value), strings)


def _sheet_data(
    rows: Iterable[Iterable[tuple[object, CellStyle | None]]],
    heights: Mapping[int, float],
    styles: _Styles,
    strings: _Strings,
    links: list[tuple[str, str]],
) -> tuple[list[str], str]:
    """The ``<row>`` elements of ``rows`` and the used range (``A1:G30``); hyperlinks go to ``links``.

    This loop is the hot path of a 30,000-row summary, so a text already in the table and a style
    already seen (found by identity) are handled inline; anything else goes through :func:`_body`.
    """
    letters = _letters(26)
    size = len(letters)
    known_texts, known_styles = strings.cells, styles.known
    out: list[str] = []
    last_row = last_col = 0
    for number, row in enumerate(rows, 1):
        cells: list[str] = []
        used = 0
        for col, (value, style) in enumerate(row, 1):
            s = known_styles.get(id(style))
            if s is None:
                s = styles.attribute(style)
            if col >= size:
                size = len(_letters(col))
            body = known_texts.get(value) if value.__class__ is str else None
            if body is None:
                if isinstance(value, Link):
                    links.append((f"{letters[col]}{number}", value.target))
                    s, value = styles.attribute(style, link=True), value.text
                body = _body(value, strings)
            if body:
                cells.append(f'<c r="{letters[col]}{number}"{s}{body}')
            elif s:  # nothing to show, but the look matters (a border, a fill)
                cells.append(f'<c r="{letters[col]}{number}"{s}/>')
            else:
                continue
            used = col
        height = heights.get(number)
        if cells or height:
            ht = f' ht="{_number(height)}" customHeight="1"' if height else ""
            out.append(f'<row r="{number}"{ht}>{"".join(cells)}</row>')
            last_row, last_col = number, max(last_col, used)
    return out, (f"A1:{letters[max(last_col, 1)]}{last_row}" if last_row else "A1")


def _sheet_view(freeze: str | None, selected: bool) -> str:
    """``<sheetViews>``: the pane frozen above and left of ``freeze``, and the selection."""
    tab = ' tabSelected="1"' if selected else ""
    where = parse_address(freeze) if freeze else None
    if where is None or where == (1, 1):
        return f'<sheetViews><sheetView{tab} workbookViewId="0"/></sheetViews>'
    row, col = where
    split = (f' xSplit="{col - 1}"' if col > 1 else "") + (f' ySplit="{row - 1}"' if row > 1 else "")
    pane = "bottomRight" if row > 1 and col > 1 else "bottomLeft" if row > 1 else "topRight"
    others = '<selection pane="topRight"/><selection pane="bottomLeft"/>' if pane == "bottomRight" else ""
    return (
        f'<sheetViews><sheetView{tab} workbookViewId="0"><pane{split} topLeftCell="{freeze}" activePane="{pane}"'
        f' state="frozen"/>{others}<selection pane="{pane}" activeCell="{freeze}" sqref="{freeze}"/>'
        "</sheetView></sheetViews>"
    )


def _print_xml(page: PageSetup | None) -> str:
    """``printOptions``, ``pageMargins``, ``pageSetup`` and ``headerFooter``, in the schema's order."""
    if page is None:
        return ""
    left, right, top, bottom, header, footer = (_number(m) for m in page.margins)
    setup = "".join(
        f' {name}="{value}"'
        for name, value in (
            ("paperSize", page.paper_size),
            ("fitToWidth", page.fit_width),
            ("fitToHeight", page.fit_height),
            ("orientation", page.orientation),
        )
        if value is not None
    )
    footer_xml = f"<headerFooter><oddFooter>{_text(page.odd_footer)}</oddFooter></headerFooter>"
    return (
        ('<printOptions horizontalCentered="1"/>' if page.centre_horizontally else "")
        + f'<pageMargins left="{left}" right="{right}" top="{top}" bottom="{bottom}" header="{header}"'
        f' footer="{footer}"/><pageSetup{setup}/>' + (footer_xml if page.odd_footer else "")
    )


def _relationships(items: Iterable[tuple[str, str, bool]]) -> str:
    """A relationships part from ``(type, target, external)``, numbered rId1, rId2, …"""
    body = "".join(
        f'<Relationship Id="rId{n}" Type="{kind}" Target="{_escape(target)}"'
        + (' TargetMode="External"/>' if external else "/>")
        for n, (kind, target, external) in enumerate(items, 1)
    )
    return f'{_DECL}<Relationships xmlns="{_PKG_RELS}">{body}</Relationships>'


def _sheet_xml(sheet: Sheet, selected: bool, styles: _Styles, strings: _Strings) -> tuple[str, str | None]:
    """The worksheet part and its relationships part (the hyperlinks' targets), if it needs one."""
    links: list[tuple[str, str]] = []
    rows, used = _sheet_data(sheet.rows, sheet.heights, styles, strings, links)
    page = sheet.page
    fit = page is not None and (page.fit_width is not None or page.fit_height is not None)
    cols = "".join(
        f'<col min="{col}" max="{col}" width="{_number(width)}" customWidth="1"/>'
        for col, width in enumerate(sheet.widths, 1)
    )
    parts = [
        f'{_DECL}<worksheet xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}">',
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>' if fit else "",
        f'<dimension ref="{used}"/>{_sheet_view(sheet.freeze, selected)}',
        '<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>',
        f"<cols>{cols}</cols>" if cols else "",
        "<sheetData>",
        *rows,
        "</sheetData>",
    ]
    if sheet.autofilter:
        parts.append(f'<autoFilter ref="{sheet.autofilter}"/>')
    if sheet.merges:
        merged = "".join(f'<mergeCell ref="{ref}"/>' for ref in sheet.merges)
        parts.append(f'<mergeCells count="{len(sheet.merges)}">{merged}</mergeCells>')
    if links:
        refs = "".join(f'<hyperlink ref="{ref}" r:id="rId{n}"/>' for n, (ref, _) in enumerate(links, 1))
        parts.append(f"<hyperlinks>{refs}</hyperlinks>")
    parts += [_print_xml(page), "</worksheet>"]
    rels = _relationships((f"{_DOC_RELS}/hyperlink", target, True) for _, target in links) if links else None
    return "".join(parts), rels


def _absolute(ref: str) -> str:
    """``A1:G30`` -> ``$A$1:$G$30``, for a defined name."""
    bounds = parse_range(ref)
    if bounds is None:
        raise ValueError(f"not a cell range: {ref!r}")
    row1, col1, row2, col2 = bounds
    return f"${column_letters(col1)}${row1}:${column_letters(col2)}${row2}"


def _defined_names(sheets: Sequence[Sheet]) -> str:
    """``<definedNames>``: each sheet's autofilter range, print area and print titles."""
    names = []
    for index, sheet in enumerate(sheets):
        quoted = _escape("'" + sheet.name.replace("'", "''") + "'")
        for name, ref, hidden in (
            ("_FilterDatabase", sheet.autofilter and _absolute(sheet.autofilter), ' hidden="1"'),
            ("Print_Area", sheet.print_area and _absolute(sheet.print_area), ""),
            ("Print_Titles", sheet.print_title_rows and "${}:${}".format(*sheet.print_title_rows), ""),
        ):
            if ref:
                names.append(
                    f'<definedName name="_xlnm.{name}" localSheetId="{index}"{hidden}>{quoted}!{ref}</definedName>'
                )
    return f"<definedNames>{''.join(names)}</definedNames>" if names else ""


def _workbook_xml(sheets: Sequence[Sheet]) -> str:
    """``xl/workbook.xml``: the sheets in order, the first one active, and the defined names."""
    entries = "".join(
        f'<sheet name="{_escape(sheet.name)}" sheetId="{n}" r:id="rId{n}"/>'
        for n, sheet in enumerate(sheets, 1)
    )
    return (
        f'{_DECL}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><workbookPr/>'
        f'<bookViews><workbookView activeTab="0"/></bookViews><sheets>{entries}</sheets>{_defined_names(sheets)}'
        "</workbook>"
    )


def _core_xml(title: str, creator: str) -> str:
    """``docProps/core.xml``: title, creator, created/modified now (UTC)."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'{_DECL}<cp:coreProperties xmlns:cp="{_CORE}" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_text(title)}</dc:title><dc:creator>{_text(creator)}</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def _content_types(count: int) -> str:
    """``[Content_Types].xml`` for a workbook of ``count`` worksheets."""
    overrides = [
        ("/xl/workbook.xml", f"{_OFFICE_TYPE}.spreadsheetml.sheet.main+xml"),
        *(
            (f"/xl/worksheets/sheet{n}.xml", f"{_OFFICE_TYPE}.spreadsheetml.worksheet+xml")
            for n in range(1, count + 1)
        ),
        ("/xl/styles.xml", f"{_OFFICE_TYPE}.spreadsheetml.styles+xml"),
        ("/xl/sharedStrings.xml", f"{_OFFICE_TYPE}.spreadsheetml.sharedStrings+xml"),
        ("/docProps/core.xml", "application/vnd.openxmlformats-package.core-properties+xml"),
        ("/docProps/app.xml", f"{_OFFICE_TYPE}.extended-properties+xml"),
    ]
    body = "".join(f'<Override PartName="{part}" ContentType="{kind}"/>' for part, kind in overrides)
    return (
        f'{_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>{body}</Types>'
    )


def _repeats(name: str) -> bool:
    """Whether part ``name`` is the same in most workbooks written: all but the sheets (and their
    hyperlinks), the shared strings and the dated properties."""
    return not name.startswith(("xl/worksheets/", "xl/sharedStrings", "docProps/core"))


def write_workbook(path: Path, sheets: Sequence[Sheet], *, title: str, creator: str = "xlperf") -> Path:
    """Write ``sheets`` as an .xlsx workbook at ``path`` atomically (写出工作簿); the first one is active.

    Each sheet's rows are consumed once.  ``title`` and ``creator`` go into the document properties.
    Parts are deflated by ISA-L at level 1 (:mod:`.deflate`), as small as zlib's level 1.
    """
    count = len(sheets)
    styles, strings = _Styles(), _Strings()
    package_rels = (
        (f"{_DOC_RELS}/officeDocument", "xl/workbook.xml", False),
        (f"{_PKG_RELS}/metadata/core-properties", "docProps/core.xml", False),
        (f"{_DOC_RELS}/extended-properties", "docProps/app.xml", False),
    )
    workbook_rels = [
        (f"{_DOC_RELS}/worksheet", f"worksheets/sheet{n}.xml", False) for n in range(1, count + 1)
    ]
    workbook_rels.append((f"{_DOC_RELS}/styles", "styles.xml", False))
    workbook_rels.append((f"{_DOC_RELS}/sharedStrings", "sharedStrings.xml", False))
    parts = {
        "[Content_Types].xml": _content_types(count),
        "_rels/.rels": _relationships(package_rels),
        "docProps/core.xml": _core_xml(title, creator),
        "docProps/app.xml": f'{_DECL}<Properties xmlns="{_APP}"><Application>xlperf</Application></Properties>',
        "xl/workbook.xml": _workbook_xml(sheets),
        "xl/_rels/workbook.xml.rels": _relationships(workbook_rels),
    }
    for n, sheet in enumerate(sheets, 1):
        xml, rels = _sheet_xml(sheet, n == 1, styles, strings)
        parts[f"xl/worksheets/sheet{n}.xml"] = xml
        if rels:
            parts[f"xl/worksheets/_rels/sheet{n}.xml.rels"] = rels
    parts["xl/styles.xml"] = styles.xml()
    parts["xl/sharedStrings.xml"] = strings.xml()
    # dated and permitted as zipfile dates and permits a part written from text
    packed = (
        (name, (pack_repeated if _repeats(name) else pack)(name, xml.encode())) for name, xml in parts.items()
    )
    package = zip_package(packed, time.localtime()[:6], external_attr=_PART_PERMISSIONS)
    with atomic_output(Path(path)) as tmp:
        tmp.write_bytes(package)
    return Path(path)
