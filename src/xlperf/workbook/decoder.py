"""The workbook package decoder (工作簿解码): an .xlsx read part by part, cells decoded as openpyxl does.

The package is read directly (:mod:`xlperf.io.opc` + :mod:`xlperf.io.safexml`), not through
``openpyxl.load_workbook``: only ``workbook.xml``, the relationships, the styles' number formats, the
shared strings, the table parts and the worksheets asked for are parsed, and only the cells asked for
are decoded.  Large worksheets are streamed row by row and only their filled cells kept, so memory follows
the data, not the file (every part was already checked against ``io.safety.PART_LIMITS``); small parts are
parsed once per package, and a build's XML patcher edits the same trees.  What reading takes from the
parts nobody edits — content types, relationships, table names, number styles — is kept by the part's
content, so the units of a batch (one template) parse them once.  Each cell
decodes to exactly what openpyxl's ``load_workbook`` (formulas, not cached values) gives — ints and
floats as written, dates through the cell's number format, ``"=…"`` for formulas — about ten times
faster.  Reading the contract from the decoded book is :mod:`xlperf.workbook.read`'s job.
"""

from __future__ import annotations

import functools
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, TypeVar

from lxml import etree

from ..errors import UnreadableFileError, XlperfError
from ..io import opc
from ..io.cellref import column_index as column_index_from_string
from ..io.cellref import column_letters as get_column_letter
from ..io.cellref import range_boundaries
from ..io.safety import MAX_MERGED_CELLS, part_limit
from ..io.safexml import parse_xml
from .numfmt import BUILTIN_FORMATS, MAC_EPOCH, WINDOWS_EPOCH, is_date_format, is_timedelta_format

__all__ = ["Book", "Damaged", "guarded", "open_book"]

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# The package: parts, relationships, styles, shared strings
# --------------------------------------------------------------------------------------------

_MAIN, _REL = opc.MAIN_NS, opc.REL_NS
_WORKBOOK_TYPES = (  # .xltm, .xltx, .xlsm, .xlsx: the first one present is the workbook part
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_TABLE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/table"
_ROW, _C, _F, _V, _IS = (f"{{{_MAIN}}}{tag}" for tag in ("row", "c", "f", "v", "is"))
_MERGE, _TABLE_PART, _T = f"{{{_MAIN}}}mergeCell", f"{{{_MAIN}}}tablePart", f"{{{_MAIN}}}t"
# Global names openpyxl files under the sheets, not the workbook.
_SHEET_SCOPED = ("_xlnm.Print_Titles", "_xlnm.Print_Area", "_xlnm._FilterDatabase")
_COORD = re.compile(r"([A-Za-z]{1,3})(\d+)")
_CANONICAL = re.compile(r"[A-Z]{1,3}[1-9][0-9]*")  # an A1 address as Excel writes it


class Damaged(Exception):
    """The package is not a readable workbook (工作簿已损坏); carries the technical reason."""


def _text_content(element: etree._Element) -> str:
    """Plain text of a ``<si>``/``<is>`` element: its ``<t>`` plus every run's ``<t>``, phonetics left out."""
    if len(element) == 1 and (only := element[0]).tag == _T:  # what nearly every cell holds: one <t>
        return only.text or ""
    plain: str | None = None
    runs: list[str] = []
    for child in element:
        name = opc.localname(child)
        if name == "t":
            plain = child.text
        elif name == "r":
            text = None
            for part in child:
                if opc.localname(part) == "t":
                    text = part.text
            if text is not None:
                runs.append(text)
    return (plain or "") + "".join(runs)


def _cast_number(text: str) -> int | float:
    return float(text) if "." in text or "E" in text or "e" in text else int(text)


class _NumberStyles(NamedTuple):
    """Indices of the cell styles (``cellXfs``) whose number format shows a date, a duration, a percent."""

    dates: frozenset[int]
    durations: frozenset[int]
    percents: frozenset[int]


def _read_number_styles(styles: bytes, part: str) -> _NumberStyles:
    """The number styles of a ``styles.xml`` (数字格式)."""
    root = parse_xml(styles, part=part)
    custom = {
        int(fmt.get("numFmtId", "-1")): fmt.get("formatCode") for fmt in root.iter(f"{{{_MAIN}}}numFmt")
    }
    xfs = root.find(f"{{{_MAIN}}}cellXfs")
    dates, durations, percents = set(), set(), set()
    for index, xf in enumerate(xfs.iter(f"{{{_MAIN}}}xf") if xfs is not None else ()):
        number = int(xf.get("numFmtId", "0"))
        code = custom[number] if number in custom else BUILTIN_FORMATS.get(number)
        if is_date_format(code):
            dates.add(index)
        if is_timedelta_format(code):
            durations.add(index)
        if "%" in (code or ""):
            percents.add(index)
    return _NumberStyles(frozenset(dates), frozenset(durations), frozenset(percents))


#: The number styles of the last few ``styles.xml`` met, by content (按内容保留): the units of a batch
#: come from one template, so theirs are nearly always the same bytes.  Only a part of ordinary size is
#: kept (a real one is 8–30 KB), so at most 16 × 256 KB of keys are held.
_kept_number_styles = functools.lru_cache(maxsize=16)(_read_number_styles)
_KEEP_STYLES = 256 * 2**10


class _MainParts(NamedTuple):
    """The workbook part and the shared strings part (主体部件) named by ``[Content_Types].xml``."""

    workbook: str | None  # None: the package holds no workbook
    strings: str | None


def _read_main_parts(data: bytes, part: str) -> _MainParts:
    types = parse_xml(data, part=part)
    overrides = opc.parts_of_type(types)
    workbook = next((overrides[t] for t in _WORKBOOK_TYPES if t in overrides), None)
    if workbook is None:
        defaults = {d.get("ContentType") for d in types.iter(f"{{{opc.CT_NS}}}Default")}
        workbook = "xl/workbook.xml" if defaults & set(_WORKBOOK_TYPES) else None
    return _MainParts(workbook, overrides.get(_SHARED_STRINGS_TYPE) or None)


class _TableNames(NamedTuple):
    """What reading needs of a table part (表格): its display name, range and name."""

    display: str | None
    ref: str | None
    name: str | None


def _read_table_names(data: bytes, part: str) -> _TableNames:
    table = parse_xml(data, part=part)
    display = table.get("displayName")
    return _TableNames(display, table.get("ref"), table.get("name") or display)


#: The main parts and the table names of the last packages met, by content (按内容保留), as the number
#: styles are kept: a unit has six tables, which differ between units only by their rows.  Only a part
#: of ordinary size is kept (a real one is under 4 KB).
_kept_main_parts = functools.lru_cache(maxsize=16)(_read_main_parts)
_kept_table_names = functools.lru_cache(maxsize=128)(_read_table_names)
_KEEP_PART = 16 * 2**10


class _Package:
    """The parts of an .xlsx that reading inputs needs (工作簿部件), parsed on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.package = opc.Package(path.read_bytes(), path=str(path))
        except UnreadableFileError as exc:
            raise Damaged(exc.message) from None
        main = self.by_content(opc.CONTENT_TYPES, _kept_main_parts, _KEEP_PART)
        if main.workbook is None:
            raise Damaged("找不到工作簿主体部件（workbook.xml）")
        self.workbook_part = main.workbook
        self.strings_part = main.strings
        self._strings: list[str] | None = None
        self.date_styles, self.timedelta_styles, self.percent_styles = self._number_styles()

    def table_names(self, part: str) -> _TableNames:
        """The display name, range and name (else the display name) of table part ``part`` (表格名称)."""
        return self.by_content(part, _kept_table_names, _KEEP_PART)

    def by_content(self, part: str, read: opc.KeptReader[T], limit: int) -> T:
        """What ``read`` finds in ``part``, kept by the part's content (:func:`.opc.read_kept`)."""
        return opc.read_kept(read, self.package.read(self.entry(part)), part, limit, str(self.path))

    def has(self, part: str) -> bool:
        """Whether the package holds ``part``."""
        return self.package.find(part) is not None

    def entry(self, part: str) -> zipfile.ZipInfo:
        """The zip entry of ``part``; missing or over its size limit it is damage (inspect_workbook_file
        refused an oversized part first)."""
        info = self.package.find(part)
        if info is None:
            raise Damaged(f"缺少部件 {part}")
        limit = part_limit(part)
        if limit is not None and info.file_size > limit.max_bytes:
            raise Damaged(f"部件 {part} 过大")
        return info

    def xml(self, part: str) -> etree._Element:
        """``part`` parsed, once per package (see :class:`~xlperf.io.opc.Package`)."""
        return self.package.xml(self.entry(part))

    def relationships(self, part: str) -> dict[str, opc.Relationship]:
        """Id → relationship of ``part``'s internal relationships; empty when it has none."""
        rels_part = opc.rels_part(part)
        if not self.has(rels_part):
            return {}
        self.entry(rels_part)
        return {rel_id: rel for rel_id, rel in self.package.relationships(part).items() if not rel.external}

    def _number_styles(self) -> _NumberStyles:
        """The cell styles whose number format shows a date, a duration or a percent (数字格式)."""
        if not self.has("xl/styles.xml"):
            return _NumberStyles(frozenset(), frozenset(), frozenset())
        return self.by_content("xl/styles.xml", _kept_number_styles, _KEEP_STYLES)

    def shared_string(self, index: int) -> str:
        if self._strings is None:
            self._strings = []
            if self.strings_part is not None:
                root = self.xml(self.strings_part)
                self._strings = [
                    _text_content(si).replace("x005F_", "") for si in root.iter(f"{{{_MAIN}}}si")
                ]
        return self._strings[index]


# --------------------------------------------------------------------------------------------
# Worksheets: cells decoded as openpyxl does
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: a frozen dataclass is five times slower to create
class _Cell:
    """What reading needs of one ``<c>`` (单元格记录), kept instead of the XML tree: the first ``<f>``,
    ``<v>`` and ``<is>`` as find() would give them, and the shared formula it belongs to."""

    r: str | None
    kind: str
    style: str | None
    value: str | None
    formula: str | None  # the text of <f>, "" when it has none; None without <f>
    inline: str | None  # the text of <is>, None without it
    shared: tuple[str, str | None] | None  # (master formula, master address) for a shared-formula cell


def _cell_record(
    cell: etree._Element, r: str | None, masters: dict[str | None, tuple[str, str | None]]
) -> _Cell:
    """The record of ``<c>`` element ``cell`` whose ``r`` attribute (as written) is ``r``."""
    formula = value = inline = None
    # the first <f>, <v> and <is>, as find() would give, without its cost; a lone child (nearly every
    # cell) is taken by index, cheaper than lxml's iterator
    for child in (cell[0],) if len(cell) == 1 else cell:
        tag = child.tag
        if tag == _V:  # the commonest first
            value = child if value is None else value
        elif tag == _F:
            formula = child if formula is None else formula
        elif tag == _IS:
            inline = child if inline is None else inline
    shared = None
    # Shared formulas: the first cell of a group holds the text, the others refer to it (共享公式).
    if formula is not None and formula.get("t") == "shared" and cell.tag == _C:
        key = formula.get("si")
        if key in masters:
            shared = masters[key]
        elif formula.text:
            masters[key] = ("=" + formula.text, r)
    return _Cell(
        r,
        cell.get("t", "n"),
        cell.get("s"),
        value.text if value is not None else None,
        (formula.text or "") if formula is not None else None,
        _text_content(inline) if inline is not None else None,
        shared,
    )


class _Sheet:
    """One worksheet's cells by address, decoded on request (工作表单元格).

    The sheet is read row by row (:meth:`~xlperf.io.opc.Package.elements`): each cell that holds
    anything is kept as a small :class:`_Cell`.  A large sheet is streamed and its XML dropped at once,
    so memory grows with the filled cells only, never with the size of the tree; a small one's tree
    stays with the package for the XML patcher of the same build.
    """

    def __init__(self, book: Book, title: str, part: str) -> None:
        # the package and epoch, not the book: no cycle, so a book is freed as soon as it is dropped
        self.package, self.epoch, self.title = book.package, book.epoch, title
        package = self.package
        self.cells: dict[str, _Cell] = {}
        self.table_ids: list[str] = []
        merges: list[str] = []
        masters: dict[str | None, tuple[str, str | None]] = {}
        row_number = 0
        for element in package.package.elements(package.entry(part), (_ROW, _MERGE, _TABLE_PART)):
            if element.tag == _MERGE:
                merges.append(element.get("ref", ""))
            elif element.tag == _TABLE_PART:
                self.table_ids.append(element.get(f"{{{_REL}}}id", ""))
            else:
                row_number = self._read_row(element, row_number, masters)
        # Merged cells: every covered cell reads the value of the range's top-left cell (合并单元格),
        # as a user sees it — e.g. one 绩效目标 merged over the indicators under it.
        self.merged: dict[str, str] = {}
        covered = 0
        for ref in merges:
            try:
                min_col, min_row, max_col, max_row = range_boundaries(ref)
            except (TypeError, ValueError):
                continue
            area = (max_col - min_col + 1) * (max_row - min_row + 1)
            if area > 10_000:
                continue  # a whole-column merge: nothing a table row would read
            covered += area
            if covered > MAX_MERGED_CELLS:
                raise UnreadableFileError(
                    f"合并单元格覆盖的单元格超过 {MAX_MERGED_CELLS:,} 个，远超绩效自评工作簿所需；"
                    "文件可能已损坏或是恶意构造的，请取消不需要的合并单元格后再处理",
                    path=str(package.path),
                    sheet=title,
                )
            anchor = f"{get_column_letter(min_col)}{min_row}"
            for row in range(min_row, max_row + 1):
                for col in range(min_col, max_col + 1):
                    self.merged.setdefault(f"{get_column_letter(col)}{row}", anchor)

    def _read_row(
        self, row: etree._Element, row_number: int, masters: dict[str | None, tuple[str, str | None]]
    ) -> int:
        """Keep the cells of one ``<row>``, addressed as openpyxl counts them; returns the row's number.

        A cell's own ``r`` (what Excel writes) is its address; a row or cell without one follows the
        previous, and an oddly spelt address (``a01``) is normalised.
        """
        r = row.get("r")
        if r is None:
            row_number += 1
        else:
            try:
                row_number = int(r)
            except ValueError:
                number = float(r)
                if not number.is_integer():
                    raise Damaged(f"工作表「{self.title}」的行号 {r} 无效") from None
                row_number = int(number)
        column = 0
        previous: str | None = None  # an address whose column is not computed yet
        for cell in row:
            tag = cell.tag
            if tag != _C and (not isinstance(tag, str) or tag.endswith("}extLst")):
                continue  # comments, processing instructions and extensions are not cells
            coordinate = cell.get("r")
            if coordinate and _CANONICAL.fullmatch(coordinate):
                address, previous = coordinate, coordinate
            elif coordinate:
                match = _COORD.fullmatch(coordinate)
                if match is None:
                    raise Damaged(f"工作表「{self.title}」的单元格地址 {coordinate} 无效")
                column, previous = column_index_from_string(match[1]), None
                address = f"{get_column_letter(column)}{int(match[2])}"
            else:
                if previous is not None:
                    column, previous = column_index_from_string(_COORD.fullmatch(previous)[1]), None  # type: ignore[index]
                column += 1
                address = f"{get_column_letter(column)}{row_number}"
            if len(cell):
                self.cells[address] = _cell_record(cell, coordinate, masters)
            else:  # an empty <c/> reads as None: nothing to keep, but it replaces an earlier one
                self.cells.pop(address, None)
        return row_number

    def value(self, row: int, column: int) -> object:
        """The cell's value as openpyxl's ``load_workbook`` gives it: ``"=…"`` for a formula (单元格值)."""
        return self.value_at(f"{get_column_letter(column)}{row}")

    def _cell_at(self, address: str) -> tuple[str, _Cell | None]:
        """The top-left cell of ``address`` (``A1`` or ``A1:B2``) and its canonical address."""
        key = self.merged.get(address, address)
        cell = self.cells.get(key)
        if cell is not None or _CANONICAL.fullmatch(address):  # nearly every read: one A1 address
            return key, cell
        key = address.split(":", 1)[0]
        key = self.merged.get(key, key)
        cell = self.cells.get(key)
        if cell is None and not _CANONICAL.fullmatch(key):
            col, row = range_boundaries(address)[:2]
            key = f"{get_column_letter(col)}{row}"
            cell = self.cells.get(key)
        return key, cell

    def formula_at(self, address: str) -> bool:
        """Whether ``address`` holds a formula (含公式), not text that merely starts with ``=``."""
        return (found := self._cell_at(address)[1]) is not None and found.formula is not None

    def value_at(self, address: str) -> object:
        """The value of the top-left cell of ``address`` (``A1`` or ``A1:B2``)."""
        key, cell = self._cell_at(address)
        if cell is None:
            return None
        try:
            return self._decode(cell)
        except (IndexError, ValueError, OverflowError, TypeError) as exc:
            raise UnreadableFileError(
                f"单元格内容已损坏，无法读取（{type(exc).__name__}: {exc}）",
                path=str(self.package.path),
                sheet=self.title,
                cell=key,
            ) from None

    def percent_at(self, address: str) -> bool:
        """Whether the number in ``address`` is shown as a percent (以百分比显示), i.e. typed as ``12%``."""
        cell = self.cells.get(self.merged.get(address, address))
        style = cell.style if cell is not None else None
        return bool(style) and int(style or 0) in self.package.percent_styles

    def cached_at(self, address: str) -> object:
        """The saved result of the formula in ``address`` (公式缓存值), None when there is none."""
        cell = self.cells.get(address)
        return self._decode(cell, cached=True) if cell is not None else None

    def _decode(self, cell: _Cell, *, cached: bool = False) -> object:
        if cell.formula is not None and not cached:
            if cell.shared is not None:
                from openpyxl.formula.translate import Translator

                master, origin = cell.shared
                return Translator(master, origin).translate_formula(cell.r)
            return "=" + cell.formula
        kind = cell.kind
        if kind == "inlineStr":
            return cell.inline
        text = cell.value
        if not text:
            return None
        if kind == "n":
            number = _cast_number(text)
            style = cell.style
            style_id = 0 if style is None else int(style) if style else -1
            package = self.package
            if style_id in package.date_styles:
                from openpyxl.utils.datetime import from_excel  # only for dates: openpyxl costs ≈150 ms

                try:
                    return from_excel(number, self.epoch, timedelta=style_id in package.timedelta_styles)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "s":
            return self.package.shared_string(int(text))
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            from openpyxl.utils.datetime import from_ISO8601

            return from_ISO8601(text)
        return text  # "str" (a formula's text result), "e" (an error code)


class Book:
    """The sheets of a workbook in tab order, worksheets parsed on first use (工作簿)."""

    def __init__(self, path: Path) -> None:
        self.package = package = _Package(path)
        root = package.xml(package.workbook_part)
        properties = root.find(f"{{{_MAIN}}}workbookPr")
        date1904 = properties.get("date1904") if properties is not None else None
        self.epoch = MAC_EPOCH if date1904 not in (None, "false", "f", "0") else WINDOWS_EPOCH
        rels = package.relationships(package.workbook_part)
        self.sheetnames: list[str] = []
        self.worksheet_parts: dict[str, str] = {}
        for entry in opc.sheet_map(root, rels):
            if not entry.rel_id:
                continue
            if entry.rel is None:
                raise Damaged(f"工作表「{entry.title}」的关系 {entry.rel_id} 不存在")
            target = entry.rel.target
            if not package.has(target):
                continue
            self.sheetnames.append(entry.title)
            if "chartsheet" not in entry.rel.type:
                self.worksheet_parts[entry.title] = target
        self.defined_names: dict[str, str] = {}
        for defined in root.iter(f"{{{_MAIN}}}definedName"):
            name = defined.get("name", "")
            if defined.get("localSheetId") is None and name not in _SHEET_SCOPED:
                self.defined_names[name] = defined.text or ""
        self._sheets: dict[str, _Sheet] = {}

    def close(self) -> None:
        """Close the package (关闭): its zip and parsed trees; what was decoded stays readable."""
        self.package.package.close()

    def sheet(self, title: str) -> _Sheet | None:
        """The worksheet called ``title`` (exact match), or None for a chart sheet or an unknown title."""
        found = self._sheets.get(title)
        if found is None:
            part = self.worksheet_parts.get(title)
            if part is None:
                return None
            found = self._sheets[title] = _Sheet(self, title, part)
        return found

    def tables(self) -> dict[str, tuple[str, str]]:
        """Display name → (sheet, ref) of every table; a later sheet wins, as in openpyxl."""
        found: dict[str, tuple[str, str]] = {}
        seen: set[str] = set()
        for title, part in self.worksheet_parts.items():
            rels = self.package.relationships(part)
            if not any(rel.type == _TABLE_REL for rel in rels.values()):
                continue
            sheet = self.sheet(title)
            assert sheet is not None
            for rel_id in sheet.table_ids:
                if rel_id not in rels:
                    raise Damaged(f"工作表「{title}」的表格关系 {rel_id} 不存在")
                display, ref, name = self.package.table_names(rels[rel_id].target)
                if not name or not ref:
                    raise Damaged(f"工作表「{title}」中的表格缺少名称或区域")
                if name.lower() in seen:
                    raise Damaged(f"表格名称 {name} 重复")
                seen.add(name.lower())
                found[display or ""] = (title, ref)
        return found


def open_book(path: Path) -> Book:
    try:
        return Book(path)
    except XlperfError:
        raise
    except (Damaged, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        detail = str(exc) if isinstance(exc, Damaged) else f"{type(exc).__name__}: {exc}"
        raise UnreadableFileError(f"无法作为 Excel 工作簿打开（{detail}）", path=str(path)) from None


def guarded(book: Book, read: Callable[[], T]) -> T:
    """Run a step that parses more parts, turning damage into :class:`UnreadableFileError`."""
    try:
        return read()
    except XlperfError:
        raise
    except (Damaged, KeyError, ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
        detail = str(exc) if isinstance(exc, Damaged) else f"{type(exc).__name__}: {exc}"
        raise UnreadableFileError(
            f"无法作为 Excel 工作簿打开（{detail}）", path=str(book.package.path)
        ) from None
