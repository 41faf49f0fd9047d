"""The 自评表 workbook (部门整体支出绩效自评表 .xlsx): values only, laid out for printing.

One sheet: title, the scoring rows (一级/二级/三级指标, 分值, 自评得分, 核定得分, 扣分原因) with the
一级/二级 cells merged, and a 合计 row.  Scores are numbers, not formulas, so the file shows the
same figures in any spreadsheet program.  Printing: A4 landscape, fit to one page wide, the
header row repeated on every page, 宋体, thin borders.

The layout never changes, so the package is written directly as SpreadsheetML parts zipped
together (直接写出 XML 部件) rather than through openpyxl's per-cell style objects, which cost
some 70 ms a report.  Elements follow the schema's order, as Excel requires.
"""

from __future__ import annotations

import datetime as dt
import string
import zipfile
from pathlib import Path

from ..io.atomic import atomic_output
from ..io.xlsxpatch import excel_string
from .render import clean_text, number_or_text

FONT_NAME = "宋体"
HEADERS = ("一级指标", "二级指标", "三级指标", "分值", "自评得分", "核定得分", "扣分原因")
WIDTHS = (10, 18, 34, 8, 10, 10, 60)
HEADER_ROW = 3
SHEET_TITLE = "自评表"
FOOTER = "第 &P 页，共 &N 页"
_FOOTER_CODE = f'&C&"{FONT_NAME}"{FOOTER}'  # centred, in 宋体
COLUMNS = string.ascii_uppercase[: len(HEADERS)]

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_DOC_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# cellXfs of the style sheet (单元格格式): font (size, bold), thin border, horizontal alignment, wrap
_XFS = (
    (16, True, False, "center", True),  # 1 title
    (11, False, False, "left", True),  # 2 单位名称
    (11, False, False, "right", False),  # 3 评价年度
    (11, True, True, "center", True),  # 4 header, 合计 and a 核定得分 that lost points
    (11, False, True, "center", True),  # 5 body
    (11, False, True, "left", True),  # 6 body text (三级指标, 扣分原因)
    (11, True, True, "left", True),  # 7 评价等级
    (10, False, False, "left", True),  # 8 说明
)
TITLE, UNIT, YEAR, BOLD, BODY, BODY_LEFT, GRADE, NOTE = range(1, len(_XFS) + 1)


def _styles_xml() -> str:
    """``xl/styles.xml``: font 0 stays Calibri 11 because column widths are counted in its digits."""
    fonts = list(dict.fromkeys((size, bold) for size, bold, *_ in _XFS))
    font_xml = "".join(
        f'<font>{"<b/>" if bold else ""}<sz val="{size}"/><name val="{FONT_NAME}"/></font>'
        for size, bold in fonts
    )
    thin = "".join(
        f'<{side} style="thin"><color rgb="FF000000"/></{side}>'
        for side in ("left", "right", "top", "bottom")
    )
    wrap_text = ("", ' wrapText="1"')
    xfs = "".join(
        f'<xf numFmtId="0" fontId="{fonts.index((size, bold)) + 1}" fillId="0" borderId="{int(border)}" xfId="0"'
        f' applyFont="1" applyBorder="1" applyAlignment="1"><alignment horizontal="{horizontal}" vertical="center"'
        f"{wrap_text[wrap]}/></xf>"
        for size, bold, border, horizontal, wrap in _XFS
    )
    return (
        f'{_DECL}<styleSheet xmlns="{_MAIN}">'
        f'<fonts count="{len(fonts) + 1}"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>{font_xml}</fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>'
        f'<borders count="2"><border><left/><right/><top/><bottom/><diagonal/></border><border>{thin}<diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
        f'<cellXfs count="{len(_XFS) + 1}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>{xfs}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )


_CONTENT_TYPES = (
    f'{_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    '<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    f'{_DECL}<Relationships xmlns="{_PKG_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/officeDocument" Target="xl/workbook.xml"/>'
    f'<Relationship Id="rId2" Type="{_PKG_RELS}/metadata/core-properties" Target="docProps/core.xml"/>'
    f'<Relationship Id="rId3" Type="{_DOC_RELS}/extended-properties" Target="docProps/app.xml"/>'
    "</Relationships>"
)
_WORKBOOK_RELS = (
    f'{_DECL}<Relationships xmlns="{_PKG_RELS}">'
    f'<Relationship Id="rId1" Type="{_DOC_RELS}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{_DOC_RELS}/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_APP = (
    f'{_DECL}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
    "<Application>xlperf</Application></Properties>"
)
_STATIC_PARTS = (
    ("[Content_Types].xml", _CONTENT_TYPES),
    ("_rels/.rels", _ROOT_RELS),
    ("docProps/app.xml", _APP),
    ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
    ("xl/styles.xml", _styles_xml()),
)


def _text(value: object) -> str:
    """``value`` as XML character data: characters XML cannot hold dropped, a literal ``_xHHHH_``
    kept from Excel's decoding, ``& < >`` escaped."""
    text = excel_string(clean_text(str(value)))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(ref: str, value: object, style: int) -> str:
    """One ``<c>``: a number as a number, text as an inline string, nothing/"" as a styled blank."""
    if value is None or value == "":
        return f'<c r="{ref}" s="{style}"/>'
    if isinstance(value, str):
        return (
            f'<c r="{ref}" s="{style}" t="inlineStr"><is><t xml:space="preserve">{_text(value)}</t></is></c>'
        )
    number = repr(value)
    return f'<c r="{ref}" s="{style}"><v>{number[:-2] if number.endswith(".0") else number}</v></c>'


def _row(number: int, cells: dict[int, tuple[object, int]], height: float | None = None) -> str:
    """One ``<row>`` from ``{column: (value, style)}``; ``height`` in points."""
    custom = f' ht="{height}" customHeight="1"' if height else ""
    body = "".join(
        _cell(f"{COLUMNS[col - 1]}{number}", value, style) for col, (value, style) in cells.items()
    )
    return f'<row r="{number}"{custom}>{body}</row>'


def _title(ctx: dict[str, object]) -> str:
    """The sheet's heading, also the file's title property (标题)."""
    return f"{ctx['unit']}{ctx['year']}年度部门整体支出绩效自评表"


def _notes(ctx: dict[str, object]) -> list[str]:
    """The sentences of the 说明 row under the table (说明)."""
    notes = ["说明：核定得分按填报数据和评分规则计算；扣分原因只列有扣分的指标。"]
    claim = ctx["claim"]
    assert isinstance(claim, dict)
    if claim.get("stated") and claim.get("any"):
        notes.append(
            f"单位自评报告所写总分{ctx['claimed_total'] or '—'}分、等级“{ctx['claimed_grade'] or '—'}”，"
            f"与核定结果（{ctx['total']}分，“{ctx['grade']}”）不一致。"
        )
    errors = int(str(ctx["n_errors"]))
    if errors:
        notes.append(f"校验发现错误{errors}条，详见报告附件。")
    return notes


def _sheet_xml(ctx: dict[str, object]) -> tuple[str, int]:
    """``xl/worksheets/sheet1.xml`` (自评表工作表) and the number of its last (说明) row."""
    last = COLUMNS[-1]
    rows = [
        _row(1, {1: (_title(ctx), TITLE)}, 30),
        _row(2, {1: (f"单位名称：{ctx['unit']}", UNIT), 4: (f"评价年度：{ctx['year']}", YEAR)}),
        _row(HEADER_ROW, {col: (title, BOLD) for col, title in enumerate(HEADERS, 1)}),
    ]
    merges = [f"A1:{last}1", "A2:C2", f"D2:{last}2"]
    score_rows = ctx["score_rows"]
    assert isinstance(score_rows, list)
    for row_no, row in enumerate(score_rows, HEADER_ROW + 1):
        cells: dict[int, tuple[object, int]] = {}
        for depth in (1, 2):  # span 0: covered by the merge above, so the cell stays blank
            span = int(row.get(f"span{depth}", 1))
            cells[depth] = (row[f"level{depth}"] if span else None, BODY)
            if span > 1:
                merges.append(f"{COLUMNS[depth - 1]}{row_no}:{COLUMNS[depth - 1]}{row_no + span - 1}")
        cells[3] = (row["level3"], BODY_LEFT)
        cells[4] = (number_or_text(row["maximum"]), BODY)
        cells[5] = (number_or_text(row["self_score"]), BODY)
        cells[6] = (number_or_text(row["score"]), BOLD if row["lost"] else BODY)
        cells[7] = (row["deduction"], BODY_LEFT)
        rows.append(_row(row_no, cells))
    total_row = HEADER_ROW + len(score_rows) + 1
    score_total = ctx["score_total"]
    assert isinstance(score_total, dict)
    totals = ("合计", None, None, number_or_text(score_total["maximum"]), number_or_text(str(ctx["self_total"])),
              number_or_text(str(ctx["total"])), f"评价等级：{ctx['grade']}")  # fmt: skip
    rows.append(_row(total_row, {col: (v, GRADE if col == 7 else BOLD) for col, v in enumerate(totals, 1)}))
    merges.append(f"A{total_row}:C{total_row}")
    note_row = total_row + 1
    notes = _notes(ctx)
    rows.append(_row(note_row, {1: ("".join(notes), NOTE)}, 30 if len(notes) > 1 else 18))
    merges.append(f"A{note_row}:{last}{note_row}")
    merge_xml = "".join(f'<mergeCell ref="{ref}"/>' for ref in merges)
    cols = "".join(
        f'<col min="{col}" max="{col}" width="{width}" customWidth="1"/>'
        for col, width in enumerate(WIDTHS, 1)
    )
    first_body = f"A{HEADER_ROW + 1}"
    sheet = (
        f'{_DECL}<worksheet xmlns="{_MAIN}">'
        '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
        f'<dimension ref="A1:{last}{note_row}"/>'
        f'<sheetViews><sheetView workbookViewId="0"><pane ySplit="{HEADER_ROW}" topLeftCell="{first_body}"'
        f' activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" activeCell="{first_body}"'
        f' sqref="{first_body}"/></sheetView></sheetViews>'
        '<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>'
        f"<cols>{cols}</cols>"
        f"<sheetData>{''.join(rows)}</sheetData>"
        f'<mergeCells count="{len(merges)}">{merge_xml}</mergeCells>'
        '<printOptions horizontalCentered="1"/>'
        '<pageMargins left="0.6" right="0.6" top="0.8" bottom="0.8" header="0.5" footer="0.5"/>'
        '<pageSetup paperSize="9" fitToWidth="1" fitToHeight="0" orientation="landscape"/>'
        f"<headerFooter><oddFooter>{_text(_FOOTER_CODE)}</oddFooter></headerFooter>"
        "</worksheet>"
    )
    return sheet, note_row


def _workbook_xml(print_rows: int) -> str:
    """``xl/workbook.xml``: the one sheet, its print area (rows 1..``print_rows``) and print titles."""
    sheet = f"'{SHEET_TITLE}'"
    return (
        f'{_DECL}<workbook xmlns="{_MAIN}" xmlns:r="{_DOC_RELS}"><workbookPr/>'
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f'<sheets><sheet name="{SHEET_TITLE}" sheetId="1" r:id="rId1"/></sheets><definedNames>'
        f'<definedName name="_xlnm.Print_Area" localSheetId="0">{sheet}!$A$1:${COLUMNS[-1]}${print_rows}</definedName>'
        f'<definedName name="_xlnm.Print_Titles" localSheetId="0">{sheet}!${HEADER_ROW}:${HEADER_ROW}</definedName>'
        "</definedNames></workbook>"
    )


def _core_xml(title: str) -> str:
    """``docProps/core.xml``: creator xlperf, the title, created/modified now (UTC)."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'{_DECL}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_text(title)}</dc:title><dc:creator>xlperf</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def write_scoresheet(ctx: dict[str, object], path: Path) -> Path:
    """Write the 自评表 .xlsx (自评表工作簿) to ``path`` atomically."""
    sheet, note_row = _sheet_xml(ctx)
    parts = (
        *_STATIC_PARTS,
        ("docProps/core.xml", _core_xml(_title(ctx))),
        ("xl/workbook.xml", _workbook_xml(note_row)),
        ("xl/worksheets/sheet1.xml", sheet),
    )
    with atomic_output(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as package:
        for name, xml in parts:
            package.writestr(name, xml.encode())
    return path
