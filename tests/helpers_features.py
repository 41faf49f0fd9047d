"""Decorate a prepared workbook the way a finance officer would in Excel (用户在 Excel 中添加的内容).

Test helper for the round-trip tests: :func:`add_user_features` takes a workbook made by
``create_workbook`` and adds what a user may put into it — extra styles on input cells, a cell
comment, conditional formats, a chart, rich text in a narrative cell, a hyperlink, a hidden sheet
and an extra sheet of the user's own (with openpyxl), then an image, a text box and an Excel 2010+
``x14`` list data validation that openpyxl cannot write (injected into the package XML).
:func:`make_xlsm` turns the result into an ``.xlsm`` with a VBA project and a ribbon.

Every feature is recorded in :class:`UserFeatures` so that tests can look for it afterwards.
"""

from __future__ import annotations

import posixpath
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock
from openpyxl.cell.text import InlineFont
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule, DataBarRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter, range_boundaries

from xlperf.excel.vbaproject import VbaModule
from xlperf.excel.xlsm import build_xlsm
from xlperf.workbook import contract as c

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
DRAWING_REL = REL_NS + "/drawing"
IMAGE_REL = REL_NS + "/image"
DRAWING_TYPE = "application/vnd.openxmlformats-officedocument.drawing+xml"
X14_DV_URI = "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"

HIDDEN_SHEET = "下拉选项（隐藏）"
USER_SHEET = "我的测算"
UNITS = ("万元", "万亩", "吨", "个", "%", "天")
TEXTBOX_TEXT = "财务科备注：数据以决算报表为准"
COMMENT_TEXT = "请与决算报表第3页核对"
HYPERLINK = "https://www.mof.gov.cn/"
RICH_PARTS = ("一是", "预算执行进度偏慢", "，二是绩效目标设置不够细化。")

# Sheet children that must follow <drawing> (CT_Worksheet order).
_AFTER_DRAWING = (
    "legacyDrawing",
    "legacyDrawingHF",
    "drawingHF",
    "picture",
    "oleObjects",
    "controls",
    "webPublishItems",
    "tableParts",
    "extLst",
)

VBA_MODULES = (
    VbaModule(
        "xlperf_ribbon",
        "Option Explicit\r\n\r\n"
        "Public Sub XlperfRecalculate(control As IRibbonControl)\r\n"
        "    Application.CalculateFull\r\n"
        "End Sub\r\n",
        "standard",
    ),
    VbaModule("ThisWorkbook", "Option Explicit\r\n", "document"),
)
CUSTOM_UI = (
    '<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui"><ribbon><tabs>'
    '<tab id="xlperfTab" label="绩效自评"><group id="xlperfGroup" label="计算">'
    '<button id="xlperfRecalc" label="重新计算" size="large" imageMso="CalculateNow" '
    'onAction="xlperf_ribbon.XlperfRecalculate"/></group></tab></tabs></ribbon></customUI>'
)


@dataclass
class UserFeatures:
    """What :func:`add_user_features` added and where (用户添加的内容)."""

    path: Path
    styled_cells: list[tuple[str, str]] = field(default_factory=list)
    comment_cell: tuple[str, str] = ("", "")
    rich_text_cell: tuple[str, str] = ("", "")
    hyperlink_cell: tuple[str, str] = ("", "")
    conditional_sheet: str = ""
    chart_sheet: str = ""
    drawing_sheet: str = ""
    drawing_part: str = ""
    image_part: str = ""
    x14_sheet: str = ""
    x14_sqref: str = ""
    hidden_sheet: str = HIDDEN_SHEET
    user_sheet: str = USER_SHEET


def tiny_png() -> bytes:
    """A valid 2×2 RGB PNG written by hand (no Pillow needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x1f\x4e\x78" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def zip_parts(path: Path) -> dict[str, bytes]:
    """Every part of a package, uncompressed, by name."""
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def raw_entries(path: Path) -> list[tuple[str, int, bytes]]:
    """Every zip entry as (name, compression method, compressed bytes exactly as stored)."""
    blob = path.read_bytes()
    result = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name_len, extra_len = struct.unpack_from("<HH", blob, info.header_offset + 26)
            start = info.header_offset + 30 + name_len + extra_len
            result.append((info.filename, info.compress_type, blob[start : start + info.compress_size]))
    return result


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet title → worksheet part name, from workbook.xml and its relationships."""
    parts = zip_parts(path)
    workbook = etree.fromstring(parts["xl/workbook.xml"])
    rels = etree.fromstring(parts["xl/_rels/workbook.xml.rels"])
    targets = {rel.get("Id"): rel.get("Target") for rel in rels.iter(f"{{{PKG_REL_NS}}}Relationship")}
    result = {}
    for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet"):
        target = targets[sheet.get(f"{{{REL_NS}}}id")]
        result[sheet.get("name")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    return result


def rels_part(part: str) -> str:
    """The relationships part of ``part`` (``xl/worksheets/_rels/sheet1.xml.rels``)."""
    return posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def rewrite_package(path: Path, parts: dict[str, bytes]) -> None:
    """Write ``parts`` as the package at ``path``: existing order kept, new parts appended."""
    with zipfile.ZipFile(path) as zf:
        order = [info.filename for info in zf.infolist()]
    order += [name for name in parts if name not in order]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in order:
            zf.writestr(name, parts[name])


def _destination(wb: object, name: str) -> tuple[str, str]:
    sheet, ref = next(iter(wb.defined_names[name].destinations))  # type: ignore[attr-defined]
    return sheet, ref.replace("$", "")


def _table_column(wb: object, table: c.TableSpec, header: str) -> tuple[str, int, int, int]:
    """A contract table's column found by its header: (sheet, column index, first and last data row)."""
    ws = wb[table.sheet]  # type: ignore[index]
    min_col, header_row, max_col, last_row = range_boundaries(ws.tables[table.name].ref)
    for col in range(min_col, max_col + 1):
        if ws.cell(header_row, col).value == header:
            return table.sheet, col, header_row + 1, last_row
    raise AssertionError(f"column {header} not found in {table.name}")


def _with_openpyxl(src: Path, dst: Path, features: UserFeatures) -> None:
    wb = load_workbook(src, rich_text=True)

    # Extra styles on input cells (加粗、红字、改底色).
    for key in ("budget_income_total", "final_exp_total", "carryover_end"):
        sheet, address = _destination(wb, key)
        cell = wb[sheet][address]
        cell.font = Font(name="微软雅黑", bold=True, color="C00000")
        cell.fill = PatternFill("solid", fgColor="FFFF00")
        features.styled_cells.append((sheet, address))

    # A comment on an input cell (批注).
    sheet, address = _destination(wb, "budget_exp_total")
    wb[sheet][address].comment = Comment(COMMENT_TEXT, "财务科")
    features.comment_cell = (sheet, address)

    # Conditional formats on the budget figures (条件格式).
    first = _destination(wb, "budget_income_total")[1]
    last = _destination(wb, "final_exp_project")[1]
    budget = wb[c.S_BUDGET]
    budget.conditional_formatting.add(
        f"{first}:{last}",
        CellIsRule(operator="greaterThan", formula=["5000"], fill=PatternFill("solid", fgColor="F8CBAD")),
    )
    budget.conditional_formatting.add(f"{first}:{last}", DataBarRule("min", None, "max", None, "638EC6"))
    features.conditional_sheet = c.S_BUDGET

    # Rich text in a narrative cell (富文本).
    sheet, address = _destination(wb, "problems")
    wb[sheet][address].value = CellRichText(
        RICH_PARTS[0], TextBlock(InlineFont(b=True, color="C00000"), RICH_PARTS[1]), RICH_PARTS[2]
    )
    features.rich_text_cell = (sheet, address)

    # A hyperlink on the read-me sheet (超链接).
    readme = wb[c.S_README]
    link_row = readme.max_row + 2
    readme.cell(link_row, 1, "财政部网站").hyperlink = HYPERLINK
    features.hyperlink_cell = (c.S_README, f"A{link_row}")

    # A chart of the first-level scores (图表).
    summary = wb[c.S_SUMMARY]
    _, score_col, first_row, last_row = _table_column(wb, c.SUMMARY, "计算得分")
    name_col = _table_column(wb, c.SUMMARY, "一级指标")[1]
    chart = BarChart()
    chart.title = "一级指标得分"
    chart.add_data(
        Reference(summary, min_col=score_col, min_row=first_row - 1, max_row=last_row), titles_from_data=True
    )
    chart.set_categories(Reference(summary, min_col=name_col, min_row=first_row, max_row=last_row))
    summary.add_chart(chart, "G3")
    features.chart_sheet = c.S_SUMMARY

    # A hidden sheet holding a drop-down list, and a renamed sheet of the user's own.
    hidden = wb.create_sheet(HIDDEN_SHEET)
    for row, unit in enumerate(UNITS, 1):
        hidden.cell(row, 1, unit)
    hidden.sheet_state = "hidden"
    own = wb.create_sheet("Sheet1")
    own.title = USER_SHEET
    own["A1"], own["B1"] = "测算项目", "金额（万元）"
    own["A2"], own["B2"] = "人员经费", 972.11
    own["A3"], own["B3"] = "公用经费", 840.73
    own["A4"], own["B4"] = "合计", "=SUM(B2:B3)"
    own["C4"] = "=B4*100"
    wb.save(dst)


def _inject_drawing(parts: dict[str, bytes], sheet_part: str, features: UserFeatures) -> None:
    """Give a sheet without a drawing an image and a text box (图片、文本框)."""
    numbers = [
        int(name[len("xl/drawings/drawing") : -4])
        for name in parts
        if name.startswith("xl/drawings/drawing") and name.endswith(".xml")
    ]
    drawing = f"xl/drawings/drawing{max(numbers, default=0) + 1}.xml"
    image = "xl/media/xlperf_user_image1.png"
    anchor = (
        "<xdr:from><xdr:col>{c1}</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>{r1}</xdr:row>"
        "<xdr:rowOff>0</xdr:rowOff></xdr:from>"
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
        'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
        f'xmlns:r="{REL_NS}">'
        "<xdr:oneCellAnchor>" + anchor.format(c1=2, r1=2) + '<xdr:ext cx="381000" cy="381000"/>'
        '<xdr:pic><xdr:nvPicPr><xdr:cNvPr id="2" name="图片 1" descr="单位标识"/>'
        '<xdr:cNvPicPr><a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr>'
        '<xdr:blipFill><a:blip r:embed="rIdUserImage1"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>'
        '<xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="381000" cy="381000"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/>'
        "</xdr:oneCellAnchor>"
        '<xdr:twoCellAnchor editAs="oneCell">'
        + anchor.format(c1=2, r1=6)
        + "<xdr:to><xdr:col>5</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>10</xdr:row>"
        '<xdr:rowOff>0</xdr:rowOff></xdr:to><xdr:sp macro="" textlink="">'
        '<xdr:nvSpPr><xdr:cNvPr id="3" name="文本框 2"/><xdr:cNvSpPr txBox="1"/></xdr:nvSpPr>'
        '<xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="1828800" cy="762000"/></a:xfrm>'
        '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom><a:solidFill><a:srgbClr val="FFF2CC"/></a:solidFill>'
        '</xdr:spPr><xdr:txBody><a:bodyPr wrap="square" rtlCol="0" anchor="t"/><a:lstStyle/>'
        f'<a:p><a:r><a:rPr lang="zh-CN" altLang="en-US" sz="1100"/><a:t>{TEXTBOX_TEXT}</a:t></a:r></a:p>'
        "</xdr:txBody></xdr:sp><xdr:clientData/></xdr:twoCellAnchor></xdr:wsDr>"
    )
    parts[drawing] = xml.encode("utf-8")
    parts[image] = tiny_png()
    parts[rels_part(drawing)] = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<Relationships xmlns="{PKG_REL_NS}"><Relationship Id="rIdUserImage1" Type="{IMAGE_REL}" '
        f'Target="../media/{posixpath.basename(image)}"/></Relationships>'
    ).encode()

    # The sheet's relationship to the drawing, and the <drawing> element in schema order.
    sheet_rels = rels_part(sheet_part)
    rels = etree.fromstring(
        parts.get(sheet_rels, f'<Relationships xmlns="{PKG_REL_NS}"/>'.encode()),
        etree.XMLParser(resolve_entities=False),
    )
    rel = etree.SubElement(rels, f"{{{PKG_REL_NS}}}Relationship")
    rel.set("Id", "rIdUserDrawing1")
    rel.set("Type", DRAWING_REL)
    rel.set("Target", posixpath.relpath(drawing, posixpath.dirname(sheet_part)))
    parts[sheet_rels] = etree.tostring(rels, xml_declaration=True, encoding="UTF-8", standalone=True)

    root = etree.fromstring(parts[sheet_part])
    assert root.find(f"{{{MAIN_NS}}}drawing") is None, "sheet already has a drawing"
    element = etree.Element(f"{{{MAIN_NS}}}drawing", nsmap={"r": REL_NS})
    element.set(f"{{{REL_NS}}}id", "rIdUserDrawing1")
    following = [child for child in root if etree.QName(child).localname in _AFTER_DRAWING]
    if following:
        following[0].addprevious(element)
    else:
        root.append(element)
    parts[sheet_part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)

    types = etree.fromstring(parts["[Content_Types].xml"])
    if not any(d.get("Extension", "").lower() == "png" for d in types.iter(f"{{{CT_NS}}}Default")):
        default = etree.SubElement(types, f"{{{CT_NS}}}Default")
        default.set("Extension", "png")
        default.set("ContentType", "image/png")
        types.insert(0, default)
    override = etree.SubElement(types, f"{{{CT_NS}}}Override")
    override.set("PartName", "/" + drawing)
    override.set("ContentType", DRAWING_TYPE)
    parts["[Content_Types].xml"] = etree.tostring(
        types, xml_declaration=True, encoding="UTF-8", standalone=True
    )
    features.drawing_part, features.image_part = drawing, image


def _inject_x14_validation(parts: dict[str, bytes], sheet_part: str, sqref: str, source: str) -> None:
    """An Excel 2010+ list validation whose list lives on another sheet (x14 扩展数据验证)."""
    ext = (
        f'<ext xmlns="{MAIN_NS}" uri="{X14_DV_URI}" '
        'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
        '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
        '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1" '
        'errorStyle="warning" error="请从下拉列表中选择计量单位">'
        f"<x14:formula1><xm:f>{source}</xm:f></x14:formula1><xm:sqref>{sqref}</xm:sqref>"
        "</x14:dataValidation></x14:dataValidations></ext>"
    )
    root = etree.fromstring(parts[sheet_part])
    ext_list = root.find(f"{{{MAIN_NS}}}extLst")
    if ext_list is None:
        ext_list = etree.SubElement(root, f"{{{MAIN_NS}}}extLst")  # extLst is always the last child
    ext_list.append(etree.fromstring(ext))
    parts[sheet_part] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def add_user_features(src: Path, dst: Path) -> UserFeatures:
    """Copy ``src`` to ``dst`` with everything a user may add in Excel (添加用户内容); returns where."""
    features = UserFeatures(dst)
    _with_openpyxl(src, dst, features)
    parts = zip_parts(dst)
    by_title = sheet_parts(dst)
    _inject_drawing(parts, by_title[c.S_README], features)
    features.drawing_sheet = c.S_README
    wb = load_workbook(dst, read_only=False)
    sheet, col, first_row, last_row = _table_column(wb, c.GOALS, "计量单位")
    wb.close()
    letter = get_column_letter(col)
    sqref = f"{letter}{first_row}:{letter}{last_row}"
    source = f"'{HIDDEN_SHEET}'!$A$1:$A${len(UNITS)}"
    _inject_x14_validation(parts, by_title[sheet], sqref, source)
    features.x14_sheet, features.x14_sqref = sheet, sqref
    rewrite_package(dst, parts)
    return features


def make_xlsm(xlsx: Path, xlsm: Path) -> None:
    """The same workbook as a macro-enabled ``.xlsm`` with a VBA module and a ribbon tab (启用宏的工作簿)."""
    build_xlsm(xlsx, xlsm, VBA_MODULES, CUSTOM_UI)
