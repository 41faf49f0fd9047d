"""The direct .xlsx writer (:mod:`xlperf.io.xlsxwrite`): every feature written, re-opened with openpyxl."""

from __future__ import annotations

import math
import re
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from openpyxl import load_workbook

from xlperf.io.xlsxpatch import column_letters
from xlperf.io.xlsxwrite import CellStyle, Link, PageSetup, Sheet, write_workbook

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HOSTILE = (
    "A&B <镇> \"x\" 'y'",
    "]]>&amp; 指标",
    "=SUM(A1:A2)",
    "+1",
    "文号_x0041_",
    "控制\x01字符\x0b\x1f",
    "  前后空格  ",
    "第一行\n第二行\r\n第三行",
    "😀 \ufffd 孤\ud800",
)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
HEADER = CellStyle(bold=True, fill="DDEBF7", horizontal="center", vertical="center", wrap=True)
MONEY = CellStyle(number_format='#,##0.0"元"', border=True)
PERCENT = CellStyle(number_format="0.00%")
TITLE = CellStyle(size=16, bold=True, font="宋体", colour="C00000", underline=True, horizontal="right")
SHADED = CellStyle(fill="FCE4D6")


def excel_decode(text: str) -> str:
    """What Excel shows for a stored ST_Xstring: each ``_xHHHH_`` is the character HHHH."""
    return re.sub("_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def part(path: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(path) as package:
        return etree.fromstring(package.read(name))


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("xlsxwrite") / "书.xlsx"

    def data_rows():  # a generator: the writer consumes each sheet's rows once
        yield [(name, HEADER) for name in ("单位", "金额", "比例", "数量", "通过", "文件夹")]
        yield [
            ("甲", MONEY),
            (1234.5, MONEY),
            (0.125, PERCENT),
            (80, None),
            (True, None),
            (Link("甲", "甲/"), None),
        ]
        yield [
            ("乙", SHADED),
            (None, SHADED),
            (math.nan, PERCENT),
            (np.int64(7), None),
            (False, None),
            (None, SHADED),
        ]
        yield [("丙", None), (80.0, MONEY), (0.1 + 0.2, None), (np.float64(2.5), None), (None, None), (Link("丙", "丙 (2)/"), SHADED)]  # fmt: skip

    first = Sheet(
        "汇总",
        data_rows(),
        widths=[12, 10.5, 8],
        heights={1: 32},
        freeze="C2",
        autofilter="A1:F4",
    )
    printed = Sheet(
        "O'Brien 表",
        [
            [("标题", TITLE)],
            [(None, None), (None, None), ("第二行 C2", None)],
            [],
            *([(text, None)] for text in HOSTILE),
            [(f"列{n}", None) for n in range(1, 101)],
        ],
        widths=[30],
        heights={1: 30, 3: 18},
        merges=["A1:C1", "A2:B2"],
        freeze="A4",
        page=PageSetup(
            orientation="landscape",
            paper_size=9,
            fit_width=1,
            fit_height=0,
            margins=(0.6, 0.6, 0.8, 0.8, 0.5, 0.5),
            centre_horizontally=True,
            odd_footer='&C&"宋体"第 &P 页，共 &N 页',
        ),
        print_title_rows=(3, 3),
        print_area="A1:C20",
    )
    assert write_workbook(path, [first, printed, Sheet("空", [])], title="标题 <&>", creator="测试") == path
    return path


def test_values_come_back_with_their_types(book: Path) -> None:
    ws = load_workbook(book)["汇总"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("单位", "金额", "比例", "数量", "通过", "文件夹")
    assert rows[1] == ("甲", 1234.5, 0.125, 80, True, "甲")
    assert rows[2] == ("乙", None, None, 7, False, None)
    assert rows[3] == ("丙", 80, 0.1 + 0.2, 2.5, None, "丙")  # floats keep every digit
    assert type(ws["D2"].value) is int and ws["E2"].data_type == "b"
    assert ws.dimensions == "A1:F4" and ws.max_row == 4
    with zipfile.ZipFile(book) as package:
        sheet = re.sub(r' s="\d+"', "", package.read("xl/worksheets/sheet1.xml").decode())
    assert '<c r="B4"><v>80</v></c>' in sheet  # an integral float is stored without ".0"
    assert '<c r="E4"' not in sheet and '<c r="F3"/>' in sheet  # None: no cell, or a blank for its fill


def test_styles_fonts_fills_borders_and_number_formats(book: Path) -> None:
    wb = load_workbook(book)
    ws = wb["汇总"]
    header = ws["A1"]
    assert header.font.b and header.fill.fill_type == "solid" and header.fill.fgColor.rgb == "FFDDEBF7"
    assert (header.alignment.horizontal, header.alignment.vertical, header.alignment.wrap_text) == (
        "center",
        "center",
        True,
    )
    assert ws["B2"].number_format == '#,##0.0"元"' and ws["B2"].border.left.style == "thin"
    assert ws["C2"].number_format == "0.00%" and ws["D2"].number_format == "General"
    assert ws["B3"].fill.fgColor.rgb == "FFFCE4D6" and ws["B3"].value is None
    title = wb["O'Brien 表"]["A1"].font
    assert (title.name, title.sz, title.b, title.u, title.color.rgb) == (
        "宋体",
        16,
        True,
        "single",
        "FFC00000",
    )
    assert wb["O'Brien 表"]["A1"].alignment.horizontal == "right"
    styles = part(book, "xl/styles.xml")
    fills = styles.find(f"{{{MAIN}}}fills")
    assert [f[0].get("patternType") for f in fills][:2] == ["none", "gray125"]
    formats = {n.get("formatCode"): int(n.get("numFmtId")) for n in styles.iter(f"{{{MAIN}}}numFmt")}
    assert formats == {'#,##0.0"元"': 164}  # 0.00% is built in
    xfs = styles.find(f"{{{MAIN}}}cellXfs")
    assert int(xfs.get("count")) == len(xfs) == len({etree.tostring(xf) for xf in xfs})  # each look once
    names = [s.get("name") for s in styles.iter(f"{{{MAIN}}}cellStyle")]
    assert names == ["Normal", "Hyperlink"]


def test_hyperlinks_point_to_relative_folders(book: Path) -> None:
    ws = load_workbook(book)["汇总"]
    link, shaded = ws["F2"], ws["F4"]
    assert link.hyperlink.target == "甲/" and shaded.hyperlink.target == "丙 (2)/"
    assert link.style == "Hyperlink" and (link.font.u, link.font.color.rgb) == ("single", "FF0563C1")
    assert shaded.fill.fgColor.rgb == "FFFCE4D6" and shaded.font.u == "single"  # the link look on top
    rels = part(book, "xl/worksheets/_rels/sheet1.xml.rels")
    assert {r.get("Target"): r.get("TargetMode") for r in rels} == {"甲/": "External", "丙 (2)/": "External"}


def test_layout_freeze_filter_widths_and_heights(book: Path) -> None:
    wb = load_workbook(book)
    ws, printed = wb["汇总"], wb["O'Brien 表"]
    assert wb.sheetnames == ["汇总", "O'Brien 表", "空"] and wb.active.title == "汇总"
    assert ws.freeze_panes == "C2" and printed.freeze_panes == "A4" and wb["空"].freeze_panes is None
    assert ws.auto_filter.ref == "A1:F4" and printed.auto_filter.ref is None
    assert [ws.column_dimensions[c].width for c in "ABC"] == [12, 10.5, 8]
    assert ws.row_dimensions[1].height == 32 and printed.row_dimensions[3].height == 18
    assert {str(r) for r in printed.merged_cells.ranges} == {"A1:C1", "A2:B2"}
    assert printed["C2"].value == "第二行 C2"
    wide = printed.max_row
    assert printed.cell(row=wide, column=100).value == "列100" and column_letters(100) == "CV"
    assert printed.dimensions == f"A1:CV{wide}"
    assert wb.properties.title == "标题 <&>" and wb.properties.creator == "测试"


def test_print_setup_and_defined_names(book: Path) -> None:
    printed = load_workbook(book)["O'Brien 表"]
    setup = printed.page_setup
    assert (setup.orientation, int(setup.paperSize), setup.fitToWidth, setup.fitToHeight) == (
        "landscape",
        9,
        1,
        0,
    )
    assert printed.sheet_properties.pageSetUpPr.fitToPage and printed.print_options.horizontalCentered
    margins = printed.page_margins
    assert (margins.left, margins.right, margins.top, margins.bottom, margins.header, margins.footer) == (
        0.6,
        0.6,
        0.8,
        0.8,
        0.5,
        0.5,
    )
    assert (printed.oddFooter.center.text, printed.oddFooter.center.font) == ("第 &P 页，共 &N 页", "宋体")
    assert printed.print_title_rows == "$3:$3" and printed.print_area == "'O''Brien 表'!$A$1:$C$20"
    names = {
        (n.get("name"), n.get("localSheetId")): n.text
        for n in part(book, "xl/workbook.xml").iter(f"{{{MAIN}}}definedName")
    }
    assert names == {
        ("_xlnm._FilterDatabase", "0"): "'汇总'!$A$1:$F$4",
        ("_xlnm.Print_Area", "1"): "'O''Brien 表'!$A$1:$C$20",
        ("_xlnm.Print_Titles", "1"): "'O''Brien 表'!$3:$3",
    }


def test_hostile_text_comes_back_as_typed(book: Path) -> None:
    ws = load_workbook(book)["O'Brien 表"]
    cells = [row[0] for row in ws.iter_rows(min_row=4, max_row=3 + len(HOSTILE))]
    assert all(cell.data_type == "s" for cell in cells)  # "=SUM(A1:A2)" and "+1" stay text, not formulas
    for text, cell in zip(HOSTILE, cells, strict=True):
        if not CONTROL.search(text):
            assert cell.value == text  # exactly as typed (openpyxl undoes the "_x005F_" escape too)
    # Excel decodes each _xHHHH_ as it reads the file: the stored text decodes back to what was typed.
    strings = ["".join(si.itertext()) for si in part(book, "xl/sharedStrings.xml")]
    assert set(HOSTILE) <= {excel_decode(text) for text in strings}
    assert "文号_x005F_x0041_" in strings and "控制_x0001_字符_x000B__x001F_" in strings


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "old.xlsx"
    write_workbook(path, [Sheet("表", [[("旧", None)]])], title="旧")
    before = path.read_bytes()

    def rows():
        yield [("新", None)]
        raise RuntimeError("数据读取中断")

    with pytest.raises(RuntimeError):
        write_workbook(path, [Sheet("表", rows())], title="新")
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["old.xlsx"]
    assert load_workbook(path)["表"]["A1"].value == "旧"


def test_the_package_is_deflated_and_dated_as_zipfile_writes_it(book: Path) -> None:
    """Parts deflated by ISA-L: every CRC checks, each part is smaller than its text, and the
    entries carry zipfile's date (now) and owner read/write permission, as before."""
    with zipfile.ZipFile(book) as package:
        assert package.testzip() is None
        infos = package.infolist()
    assert [i.filename for i in infos][:2] == ["[Content_Types].xml", "_rels/.rels"]
    sheet = next(i for i in infos if i.filename == "xl/worksheets/sheet1.xml")
    assert sheet.compress_type == zipfile.ZIP_DEFLATED and sheet.compress_size < sheet.file_size
    assert {i.external_attr >> 16 for i in infos} == {0o600}
    assert {i.date_time[0] for i in infos} == {time.localtime().tm_year}


def test_numbers_excel_cannot_hold_leave_the_cell_empty(tmp_path: Path) -> None:
    path = tmp_path / "数.xlsx"
    values = [10**400, -math.inf, 2**60, -0.0, 1e-300, 123456789012]
    write_workbook(path, [Sheet("数", [[(v, None) for v in values]])], title="数")
    row = [c.value for c in load_workbook(path)["数"][1]]
    assert row[:2] == [None, None]
    assert row[2] == pytest.approx(2**60) and row[3] == 0 and row[4] == 1e-300 and row[5] == 123456789012


def test_each_workbook_has_its_own_styles_and_parts_when_written_again(tmp_path: Path) -> None:
    """The parts most workbooks share are made once; a workbook with other looks or sheets still
    gets its own, and writing the first again gives its parts back unchanged."""

    def write(name: str, style: CellStyle, sheets: int) -> dict[str, bytes]:
        path = tmp_path / name
        write_workbook(
            path, [Sheet(f"表{n}", [[("值", style), (n, None)]]) for n in range(sheets)], title=name
        )
        with zipfile.ZipFile(path) as package:
            return {n: package.read(n) for n in package.namelist() if n != "docProps/core.xml"}

    first = write("一.xlsx", HEADER, 1)
    other = write("二.xlsx", MONEY, 2)
    assert first == write("一again.xlsx", HEADER, 1)
    assert other["xl/styles.xml"] != first["xl/styles.xml"]
    assert 'formatCode="#,##0.0&quot;元&quot;"' in other["xl/styles.xml"].decode()
    assert "DDEBF7" not in other["xl/styles.xml"].decode()
    assert b"sheet2.xml" in other["[Content_Types].xml"] and b"sheet2.xml" not in first["[Content_Types].xml"]
    assert load_workbook(tmp_path / "二.xlsx")["表1"]["A1"].number_format == '#,##0.0"元"'
