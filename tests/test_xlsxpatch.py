"""Tests for :mod:`xlperf.io.xlsxpatch` on real workbooks built with XlsxWriter."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import math
import re
import struct
import tempfile
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import pytest
from lxml import etree

from xlperf.errors import OutputError, UnreadableFileError, WorkbookStructureError
from xlperf.io import xlsxpatch, zipcopy
from xlperf.io.opc import Package
from xlperf.io.xlsxpatch import CURRENT_CALC_ID, ExcelError, patch_workbook

xlsxwriter = pytest.importorskip("xlsxwriter")
openpyxl = pytest.importorskip("openpyxl")
calamine = pytest.importorskip("python_calamine")

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RESULT_SHEET = "结果"
INPUT_SHEET = "输入"
RESULT_PART = "xl/worksheets/sheet2.xml"
INPUT_PART = "xl/worksheets/sheet1.xml"

X14_DV = (
    '<ext uri="{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}" '
    'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
    '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
    '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
    "<x14:formula1><xm:f>'输入'!$A$2:$A$5</xm:f></x14:formula1><xm:sqref>H2:H5</xm:sqref>"
    "</x14:dataValidation></x14:dataValidations></ext>"
)
CUSTOM_UI = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
    b'<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui"><ribbon><tabs>'
    b'<tab id="xlperfTab" label="xlperf"><group id="g1" label="Run">'
    b'<button id="b1" label="Run" onAction="RunXlperf"/></group></tab></tabs></ribbon></customUI>'
)
UI_REL_TYPE = "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility"


# ------------------------------------------------------------------------------------------
# Fixture builders
# ------------------------------------------------------------------------------------------


def tiny_png() -> bytes:
    """A valid 2x2 RGB PNG made by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def rewrite_zip(path: Path, transforms=None, additions=None) -> None:
    """Rewrite entries of a zip in place, keeping order and compression."""
    transforms = transforms or {}
    additions = additions or {}
    with zipfile.ZipFile(path) as zin:
        entries = [(info, zin.read(info)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w") as zout:
        for info, data in entries:
            if info.filename in transforms:
                data = transforms[info.filename](data)
            zout.writestr(info, data, compress_type=info.compress_type)
        for name, data in additions.items():
            zout.writestr(name, data, compress_type=zipfile.ZIP_DEFLATED)


def vba_project_bin(tmp_path: Path) -> Path:
    spec = importlib.util.find_spec("xlwings")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("xlwings (source of a real vbaProject.bin) is not installed")
    xlsm = Path(next(iter(spec.submodule_search_locations))) / "quickstart.xlsm"
    if not xlsm.exists():
        pytest.skip("xlwings quickstart.xlsm not found")
    target = tmp_path / "vbaProject.bin"
    with zipfile.ZipFile(xlsm) as zf:
        target.write_bytes(zf.read("xl/vbaProject.bin"))
    return target


def build_feature_workbook(path: Path, vba: Path | None = None) -> Path:
    """A workbook with (nearly) everything openpyxl would damage."""
    wb = xlsxwriter.Workbook(str(path))
    inputs = wb.add_worksheet(INPUT_SHEET)
    result = wb.add_worksheet(RESULT_SHEET)
    report = wb.add_worksheet("Report")
    wb.add_chartsheet("图表").set_chart(_column_chart(wb))
    bold = wb.add_format({"bold": True})
    money = wb.add_format({"num_format": "#,##0.00", "bg_color": "#FFFF00"})

    # 输入: labels, numeric inputs, a defined name, a classic data validation.
    inputs.write_row("A1", ["项目", "金额"], bold)
    for row, (label, amount) in enumerate([("预算", 0.25), ("调整", 300), ("执行", 450), ("结余", 50)], 2):
        inputs.write(row - 1, 0, label)
        inputs.write(row - 1, 1, amount)
    wb.define_name("rate", "='输入'!$B$2")
    inputs.data_validation(
        "B2:B5", {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1000}
    )

    # 结果: row 1 left empty on purpose; formulas with cached values, plain values.
    result.write_formula("B2", "=rate*2", None, 0.5)
    result.write_formula("B3", "=SUM('输入'!B2:B5)", None, 800.25)
    result.write_formula("B4", '=IF(B3>0,"正","负")', None, "正")
    result.write_formula("B5", "=B3>0", None, True)
    result.write_formula("B6", "=1/0", None, "#DIV/0!")
    result.write_formula("B7", "=rate+1", None, 1.25)
    result.write_formula("B8", '="文"&"字"', None, "文字")
    for row in (2, 3, 4):
        result.write_formula(f"D{row}", f"=B{row}*10", None, 0)
    result.write_array_formula("F2:F4", "{=B2:B4*2}", None, 1)
    result.write("C2", 1)
    result.write("C3", "旧")
    result.write("C4", 1234.5, money)
    result.write("C5", "keep")
    result.write("C6", 2)
    result.write("C7", 3)
    result.write("J2", "last")
    result.write_rich_string("A12", bold, "粗体", " 普通")
    result.write_comment("C2", "批注 comment")
    result.data_validation("C2:C7", {"validate": "list", "source": ["a", "b"]})
    result.conditional_format("C2:C7", {"type": "data_bar", "data_bar_2010": True})
    result.add_sparkline("G2", {"range": "B2:B7"})
    result.insert_textbox("L2", "文本框 text box")
    result.insert_image("L10", "p.png", {"image_data": io.BytesIO(tiny_png())})
    result.insert_chart("L20", _column_chart(wb))

    report.write("A1", "untouched")
    if vba is not None:
        wb.add_vba_project(str(vba))
    wb.close()

    def shared_and_x14(data: bytes) -> bytes:
        xml = data.decode("utf-8")
        xml, n_master = re.subn(r"<f>B2\*10</f>", '<f t="shared" ref="D2:D4" si="0">B2*10</f>', xml)
        xml, n_children = re.subn(r"<f>B([34])\*10</f>", '<f t="shared" si="0"/>', xml)
        xml, n_ext = re.subn(r'(<ext [^>]*uri="\{05C60535)', X14_DV.replace("\\", "\\\\") + r"\1", xml)
        assert (n_master, n_children, n_ext) == (1, 2, 1), "fixture injection failed"
        return xml.encode("utf-8")

    additions = {"customXml/数据.xml": "<数据>non-ASCII part name</数据>".encode()}
    transforms = {RESULT_PART: shared_and_x14}
    if vba is not None:
        additions["customUI/customUI.xml"] = CUSTOM_UI

        def add_ui_rel(data: bytes) -> bytes:
            rel = f'<Relationship Id="rIdUI" Type="{UI_REL_TYPE}" Target="customUI/customUI.xml"/>'
            return data.replace(b"</Relationships>", rel.encode() + b"</Relationships>")

        transforms["_rels/.rels"] = add_ui_rel
    rewrite_zip(path, transforms, additions)
    return path


def _column_chart(wb):
    chart = wb.add_chart({"type": "column"})
    chart.add_series({"values": "='结果'!$B$2:$B$4", "name": "系列"})
    return chart


# ------------------------------------------------------------------------------------------
# Helpers to inspect results
# ------------------------------------------------------------------------------------------


def raw_entries(path: Path) -> list[tuple[str, int, int, bytes]]:
    """(name, compression, crc, compressed bytes) for every entry, in zip order."""
    data = path.read_bytes()
    out = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
            start = info.header_offset + 30 + name_len + extra_len
            out.append(
                (info.filename, info.compress_type, info.CRC, data[start : start + info.compress_size])
            )
    return out


def read_part(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(name)


def sheet_root(path: Path, part: str) -> etree._Element:
    return etree.fromstring(read_part(path, part))


def cell_element(root: etree._Element, ref: str) -> etree._Element | None:
    found = root.findall(f".//{{{MAIN}}}c[@r='{ref}']")
    assert len(found) <= 1
    return found[0] if found else None


def outside_cells(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    for tag in ("sheetData", "dimension"):
        element = root.find(f"{{{MAIN}}}{tag}")
        if element is not None:
            root.remove(element)
    return etree.tostring(root, method="c14n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def openpyxl_values(path: Path, *, data_only: bool) -> dict[tuple[str, str], object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, data_only=data_only)
    out: dict[tuple[str, str], object] = {}
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, openpyxl.worksheet.formula.ArrayFormula):
                    value = ("array", value.ref, value.text)
                if value is not None:
                    out[(ws.title, cell.coordinate)] = value
    return out


def calamine_grid(path: Path, sheet: str) -> list[list[object]]:
    wb = calamine.CalamineWorkbook.from_path(str(path))
    return wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)


def calamine_value(grid: list[list[object]], ref: str) -> object:
    row, col = openpyxl.utils.cell.coordinate_to_tuple(ref)
    if row > len(grid) or col > len(grid[row - 1]):
        return ""
    return grid[row - 1][col - 1]


def assert_sheet_well_formed(root: etree._Element) -> None:
    """Rows ascending, cells ascending within a row, spans and dimension covering the cells."""
    rows = root.find(f"{{{MAIN}}}sheetData").findall(f"{{{MAIN}}}row")
    numbers = [int(row.get("r")) for row in rows]
    assert numbers == sorted(set(numbers))
    all_cells = []
    for row in rows:
        coords, column = [], 0
        for c in row.findall(f"{{{MAIN}}}c"):  # r is optional: then the position is implicit
            column = (
                openpyxl.utils.column_index_from_string(re.sub(r"\d", "", c.get("r") or ""))
                if c.get("r")
                else column + 1
            )
            coords.append(
                (
                    int(row.get("r"))
                    if not c.get("r")
                    else openpyxl.utils.cell.coordinate_to_tuple(c.get("r"))[0],
                    column,
                )
            )
        assert all(r == int(row.get("r")) for r, _ in coords)
        columns = [c for _, c in coords]
        assert columns == sorted(set(columns))
        if row.get("spans") and columns:
            low, high = map(int, row.get("spans").split(":"))
            assert low <= min(columns) and max(columns) <= high
        all_cells.extend(coords)
    dimension = root.find(f"{{{MAIN}}}dimension")
    if dimension is not None and all_cells:
        min_col, min_row, max_col, max_row = openpyxl.utils.cell.range_boundaries(dimension.get("ref"))
        assert min_row <= min(r for r, _ in all_cells) and max(r for r, _ in all_cells) <= max_row
        assert min_col <= min(c for _, c in all_cells) and max(c for _, c in all_cells) <= max_col
    assert b"ns0:" not in etree.tostring(root)


# ------------------------------------------------------------------------------------------
# The main scenario
# ------------------------------------------------------------------------------------------

PATCH: dict[tuple[str, str], object] = {
    # formula cells: cached values only
    (RESULT_SHEET, "B2"): 12.5,
    (RESULT_SHEET, "B3"): 1234567.891,
    (RESULT_SHEET, "B4"): "负数结果",
    (RESULT_SHEET, "B5"): False,
    (RESULT_SHEET, "B6"): ExcelError("#DIV/0!"),
    (RESULT_SHEET, "B7"): None,
    (RESULT_SHEET, "B8"): None,  # had t="str": the stale type must go too
    (RESULT_SHEET, "D2"): "=not a formula",  # shared-formula master
    (RESULT_SHEET, "D3"): 42,  # shared-formula child
    (RESULT_SHEET, "F3"): "数组",  # member of an array formula's range (no <f> of its own)
    # value cells
    (RESULT_SHEET, "C2"): 3.25,
    (RESULT_SHEET, "C3"): "新值",
    (RESULT_SHEET, "C4"): None,  # styled: style must stay
    (RESULT_SHEET, "C5"): "=1+1",  # must stay text
    (RESULT_SHEET, "C6"): True,
    (RESULT_SHEET, "C7"): ExcelError("#N/A"),
    # cells / rows that do not exist yet
    (RESULT_SHEET, "A1"): "首行",  # row before the first row
    (RESULT_SHEET, "E2"): 7,  # between D2 and F2
    (RESULT_SHEET, "K2"): -0.125,  # after the last cell J2
    (RESULT_SHEET, "A8"): "新行",  # before the first cell of an existing row
    (RESULT_SHEET, "E9"): 1e-7,  # row 9 is a new row in the gap 8..12
    (RESULT_SHEET, "B9"): 2**40,
    (RESULT_SHEET, "Z100"): 1,  # after the last row, widens the dimension
    (RESULT_SHEET, "Q50"): None,  # clearing a missing cell creates nothing
    # the Chinese input sheet
    (INPUT_SHEET, "B3"): 99,
    (INPUT_SHEET, "A6"): "新增",
}
FORMULA_CELLS = {"B2", "B3", "B4", "B5", "B6", "B7", "B8", "D2", "D3"}


def expected_readback(value: object) -> object:
    return str(value) if isinstance(value, ExcelError) else value


@pytest.fixture(scope="module")
def feature_xlsx(tmp_path_factory) -> Path:
    return build_feature_workbook(tmp_path_factory.mktemp("feat") / "features.xlsx")


@pytest.fixture(scope="module")
def patched(feature_xlsx: Path, tmp_path_factory) -> Path:
    before = sha256(feature_xlsx)
    dst = tmp_path_factory.mktemp("out") / "patched.xlsx"
    patch_workbook(feature_xlsx, dst, PATCH)
    assert sha256(feature_xlsx) == before, "the source file must not change"
    return dst


def test_fixture_really_has_the_fragile_features(feature_xlsx: Path) -> None:
    with zipfile.ZipFile(feature_xlsx) as zf:
        names = set(zf.namelist())
        result_xml = zf.read(RESULT_PART).decode()
        drawing = zf.read("xl/drawings/drawing1.xml").decode()
    assert "x14:dataValidation" in result_xml
    assert "x14:dataBar" in result_xml
    assert "x14:sparklineGroup" in result_xml
    assert "<dataValidations" in result_xml and "<legacyDrawing" in result_xml
    assert '<f t="shared" si="0"/>' in result_xml and 't="array"' in result_xml
    assert "txBody" in drawing and "文本框" in drawing  # text box
    assert any(n.startswith("xl/media/") for n in names)
    assert any(n.startswith("xl/charts/") for n in names)
    assert any(n.startswith("xl/comments") for n in names)
    assert "xl/chartsheets/sheet1.xml" in names
    assert "粗体" in read_part(feature_xlsx, "xl/sharedStrings.xml").decode()
    assert "customXml/数据.xml" in names


def test_untouched_entries_are_byte_identical(feature_xlsx: Path, patched: Path) -> None:
    before, after = raw_entries(feature_xlsx), raw_entries(patched)
    assert [e[:2] for e in before] == [e[:2] for e in after], "same names, order and compression"
    changed = {name for (name, _, _, raw), (_, _, _, raw2) in zip(before, after, strict=True) if raw != raw2}
    assert changed == {RESULT_PART, INPUT_PART}
    with zipfile.ZipFile(feature_xlsx) as a, zipfile.ZipFile(patched) as b:
        assert b.testzip() is None
        for info in a.infolist():
            if info.filename not in changed:
                assert a.read(info) == b.read(info.filename), info.filename
                assert b.getinfo(info.filename).date_time == info.date_time


def test_rewritten_parts_are_plain_deflate(feature_xlsx: Path, patched: Path) -> None:
    """A rewritten sheet (ISA-L by default) is raw deflate any zip reader inflates, with its CRC; a
    part re-written for many readers (``level``) is zlib's own stream at that level, byte for byte."""
    with zipfile.ZipFile(patched) as book:
        info = book.getinfo(RESULT_PART)
        content = book.read(info)  # zipfile checks the CRC
    assert info.compress_type == zipfile.ZIP_DEFLATED and info.compress_size < len(content) // 2
    package = Package.open(feature_xlsx, max_part=xlsxpatch.MAX_PART_BYTES)
    try:
        source = package.find(RESULT_PART)
        for level in (None, 6):
            out = io.BytesIO()
            writer = zipcopy.ZipWriter(out, Path("x.xlsx"))  # type: ignore[arg-type]
            zipcopy.write_new(writer, package, source, content, level)
            writer.close(b"")
            written = Package(out.getvalue(), path="x.xlsx")
            stored = written.find(RESULT_PART)
            raw = bytes(written.raw(stored)[1])
            assert zlib.decompress(raw, -15) == content and stored.CRC == zlib.crc32(content)
            if level is not None:
                deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
                assert raw == deflate.compress(content) + deflate.flush()
    finally:
        package.close()


def test_patched_sheets_keep_everything_outside_sheet_data(feature_xlsx: Path, patched: Path) -> None:
    for part in (RESULT_PART, INPUT_PART):
        assert outside_cells(read_part(patched, part)) == outside_cells(read_part(feature_xlsx, part))
    xml = read_part(patched, RESULT_PART)
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    # calcPr untouched when full_calc_on_load is None
    assert read_part(patched, "xl/workbook.xml") == read_part(feature_xlsx, "xl/workbook.xml")


def test_xml_of_patched_cells(feature_xlsx: Path, patched: Path) -> None:
    src, root = sheet_root(feature_xlsx, RESULT_PART), sheet_root(patched, RESULT_PART)
    assert_sheet_well_formed(root)
    assert_sheet_well_formed(sheet_root(patched, INPUT_PART))

    def parts(ref: str) -> tuple[dict, str | None, str | None]:
        cell = cell_element(root, ref)
        v = cell.find(f"{{{MAIN}}}v")
        f = cell.find(f"{{{MAIN}}}f")
        return (
            dict(cell.attrib),
            (v.text if v is not None else None),
            (etree.tostring(f) if f is not None else None),
        )

    def original_formula(ref: str) -> bytes:
        return etree.tostring(cell_element(src, ref).find(f"{{{MAIN}}}f"))

    for ref in FORMULA_CELLS:
        assert parts(ref)[2] == original_formula(ref), f"formula of {ref} must be kept exactly"
    assert parts("B2")[0].get("t") is None and parts("B2")[1] == "12.5"
    assert parts("B4")[0]["t"] == "str" and parts("B4")[1] == "负数结果"
    assert parts("B5")[0]["t"] == "b" and parts("B5")[1] == "0"
    assert parts("B6")[0]["t"] == "e" and parts("B6")[1] == "#DIV/0!"
    for ref in ("B7", "B8"):  # an empty result is stored as Excel stores one: t="str", <v></v>
        assert parts(ref)[0]["t"] == "str" and parts(ref)[1] in (None, "")
        assert cell_element(root, ref).find(f"{{{MAIN}}}v") is not None, f"{ref} keeps no stored result"
    assert cell_element(src, "B8").get("t") == "str"
    d3_formula = cell_element(root, "D3").find(f"{{{MAIN}}}f")
    assert dict(d3_formula.attrib) == {"t": "shared", "si": "0"} and d3_formula.text is None
    assert parts("D3")[1] == "42"
    assert parts("F3")[0]["t"] == "str" and parts("F3")[1] == "数组"  # array member: a result, not text
    # value cells
    c5 = cell_element(root, "C5")
    assert c5.get("t") == "inlineStr" and c5.find(f"{{{MAIN}}}f") is None
    t = c5.find(f"{{{MAIN}}}is/{{{MAIN}}}t")
    assert t.text == "=1+1" and t.get("{http://www.w3.org/XML/1998/namespace}space") == "preserve"
    c4, c4_src = cell_element(root, "C4"), cell_element(src, "C4")
    assert c4 is not None and c4.get("s") == c4_src.get("s") and c4.get("s") not in (None, "0")
    assert len(c4) == 0 and "t" not in c4.attrib
    assert cell_element(root, "Q50") is None and root.find(f".//{{{MAIN}}}row[@r='50']") is None
    assert root.find(f"{{{MAIN}}}dimension").get("ref") == "A1:Z100"
    row2 = root.find(f".//{{{MAIN}}}row[@r='2']")
    assert [c.get("r") for c in row2.findall(f"{{{MAIN}}}c")] == ["B2", "C2", "D2", "E2", "F2", "J2", "K2"]
    assert row2.get("spans") == "1:11"  # XlsxWriter's span for rows 1-16 was 1:10


def test_readback_with_openpyxl_and_calamine(patched: Path) -> None:
    cached = openpyxl_values(patched, data_only=True)
    grids = {sheet: calamine_grid(patched, sheet) for sheet in (RESULT_SHEET, INPUT_SHEET)}
    for (sheet, ref), value in PATCH.items():
        expected = expected_readback(value)
        assert cached.get((sheet, ref)) == expected, (sheet, ref)
        got = calamine_value(grids[sheet], ref)
        if value is None or isinstance(value, ExcelError):
            assert got == "", (sheet, ref, got)  # calamine shows empty cells and errors as ""
        elif isinstance(value, bool):
            assert got is value, (sheet, ref, got)
        elif isinstance(value, int | float):
            assert isinstance(got, float) and got == value, (sheet, ref, got)
        else:
            assert got == value, (sheet, ref, got)
    # an untouched formula keeps its old cached value
    assert cached[(RESULT_SHEET, "D4")] == 0
    assert cached[(INPUT_SHEET, "B2")] == 0.25


def test_formulas_and_other_cells_survive(feature_xlsx: Path, patched: Path) -> None:
    before = openpyxl_values(feature_xlsx, data_only=False)
    after = openpyxl_values(patched, data_only=False)
    value_cells = {
        key: value for key, value in PATCH.items() if key[1] not in FORMULA_CELLS or key[0] != RESULT_SHEET
    }
    for key in set(before) | set(after):
        if key in value_cells:
            expected = expected_readback(value_cells[key])
            assert after.get(key) == expected, key
        else:
            assert after.get(key) == before.get(key), key
    assert after[(RESULT_SHEET, "B2")] == "=rate*2"
    assert after[(RESULT_SHEET, "D3")] == "=B3*10"  # shared formula child translated by openpyxl
    assert after[(RESULT_SHEET, "F2")] == ("array", "F2:F4", "=B2:B4*2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ws = openpyxl.load_workbook(patched)[RESULT_SHEET]
    assert ws["C5"].data_type == "s" and ws["C5"].value == "=1+1"
    assert ws["C4"].number_format == "#,##0.00"
    assert ws.parent.defined_names["rate"].attr_text == "'输入'!$B$2"


def test_in_place_and_idempotent(feature_xlsx: Path, tmp_path: Path) -> None:
    target = tmp_path / "inplace.xlsx"
    target.write_bytes(feature_xlsx.read_bytes())
    once = tmp_path / "once.xlsx"
    patch_workbook(feature_xlsx, once, PATCH)
    patch_workbook(target, target, PATCH)
    assert target.read_bytes() == once.read_bytes()
    patch_workbook(target, target, PATCH)  # patching again with the same values changes nothing
    assert target.read_bytes() == once.read_bytes()
    assert [p.name for p in tmp_path.iterdir() if "xlperf-tmp" in p.name] == []


def test_a_part_patched_to_what_it_was_is_copied_as_stored(
    feature_xlsx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-patching with the values a workbook holds copies every part's stored bytes (nothing deflated
    anew); one value changed re-writes that sheet alone."""
    once, again, other = tmp_path / "once.xlsx", tmp_path / "again.xlsx", tmp_path / "other.xlsx"
    patch_workbook(feature_xlsx, once, PATCH, full_calc_on_load=False)
    deflated: list[str] = []
    write_new = zipcopy.write_new
    monkeypatch.setattr(
        xlsxpatch,
        "write_new",
        lambda w, p, info, *a: deflated.append(info.filename) or write_new(w, p, info, *a),
    )
    patch_workbook(once, again, PATCH, full_calc_on_load=False)
    assert deflated == [] and raw_entries(again) == raw_entries(once)
    changed = dict(PATCH)
    changed[(INPUT_SHEET, "B2")] = 0.5
    patch_workbook(once, other, changed, full_calc_on_load=False)
    assert deflated == [INPUT_PART]
    differ = {a[0] for a, b in zip(raw_entries(once), raw_entries(other), strict=True) if a != b}
    assert differ == {INPUT_PART}
    assert openpyxl_values(other, data_only=True)[(INPUT_SHEET, "B2")] == 0.5


def test_a_sheet_the_patch_leaves_as_it_is_is_never_serialised(
    feature_xlsx: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sheet already holding every value, formula and height asked for is copied as stored even where
    lxml would spell its XML differently (single quotes); one value, type or height more changes it."""
    once = tmp_path / "once.xlsx"
    heights = {(INPUT_SHEET, 2): 30.0}
    patch_workbook(feature_xlsx, once, PATCH, full_calc_on_load=False, row_heights=heights)
    rewrite_zip(
        once, {INPUT_PART: lambda d: re.sub(rb'<dimension ref="([^"]*)"', rb"<dimension ref='\1'", d)}
    )
    assert b"<dimension ref='" in read_part(once, INPUT_PART)
    serialised: list[bytes] = []
    serialize = xlsxpatch._serialize_xml
    monkeypatch.setattr(
        xlsxpatch,
        "_serialize_xml",
        lambda root, original: serialised.append(original) or serialize(root, original),
    )
    again = tmp_path / "again.xlsx"
    patch_workbook(once, again, PATCH, full_calc_on_load=False, row_heights=heights)
    assert serialised == [] and raw_entries(again) == raw_entries(once)
    for change in (
        {"values": {**PATCH, (INPUT_SHEET, "B2"): 0.5}},  # another number
        {"values": {**PATCH, (INPUT_SHEET, "B2"): "12.5"}},  # the same digits as text
        {"row_heights": {(INPUT_SHEET, 2): 31.0}},
        {"row_heights": {(INPUT_SHEET, 2): None}},
    ):
        out = tmp_path / "changed.xlsx"
        patch_workbook(
            once,
            out,
            change.get("values", PATCH),
            full_calc_on_load=False,
            row_heights=change.get("row_heights", heights),
        )
        assert read_part(out, INPUT_PART) != read_part(once, INPUT_PART), change
        assert b'<dimension ref="' in read_part(out, INPUT_PART)


def test_xlsm_vba_and_custom_ui_are_kept(tmp_path: Path) -> None:
    vba = vba_project_bin(tmp_path)
    src = build_feature_workbook(tmp_path / "macro.xlsm", vba=vba)
    with zipfile.ZipFile(src) as zf:
        assert zf.read("xl/vbaProject.bin") == vba.read_bytes()
        assert UI_REL_TYPE in zf.read("_rels/.rels").decode()
        assert "macroEnabled" in zf.read("[Content_Types].xml").decode()
    dst = tmp_path / "macro-out.xlsm"
    patch_workbook(
        src, dst, {(RESULT_SHEET, "B2"): 3.5, (INPUT_SHEET, "B3"): "文字"}, full_calc_on_load=False
    )
    with zipfile.ZipFile(dst) as zf:
        assert zf.read("xl/vbaProject.bin") == vba.read_bytes()
        assert zf.read("customUI/customUI.xml") == CUSTOM_UI
        assert zf.read("_rels/.rels") == read_part(src, "_rels/.rels")
        assert zf.read("[Content_Types].xml") == read_part(src, "[Content_Types].xml")
    changed = {a[0] for a, b in zip(raw_entries(src), raw_entries(dst), strict=True) if a != b}
    assert changed == {RESULT_PART, INPUT_PART, "xl/workbook.xml"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(dst, data_only=True, keep_vba=True)
    assert wb[RESULT_SHEET]["B2"].value == 3.5 and wb[INPUT_SHEET]["B3"].value == "文字"
    assert wb.vba_archive is not None


# ------------------------------------------------------------------------------------------
# calcPr
# ------------------------------------------------------------------------------------------


def _calc_pr(path: Path) -> dict[str, str] | None:
    root = etree.fromstring(read_part(path, "xl/workbook.xml"))
    element = root.find(f"{{{MAIN}}}calcPr")
    return None if element is None else dict(element.attrib)


def test_row_heights_are_set_and_cleared(feature_xlsx: Path, tmp_path: Path) -> None:
    tall = tmp_path / "tall.xlsx"
    patch_workbook(feature_xlsx, tall, {}, row_heights={(RESULT_SHEET, 3): 45.5, (RESULT_SHEET, 200): 30})
    sheet = openpyxl.load_workbook(tall)[RESULT_SHEET]
    assert (sheet.row_dimensions[3].height, sheet.row_dimensions[200].height) == (45.5, 30)
    assert read_part(tall, RESULT_PART).count(b'customHeight="1"') >= 2
    back = tmp_path / "back.xlsx"
    patch_workbook(tall, back, {}, row_heights={(RESULT_SHEET, 3): None})
    sheet = openpyxl.load_workbook(back)[RESULT_SHEET]
    assert sheet.row_dimensions[3].height is None and sheet.row_dimensions[200].height == 30


def test_full_calc_on_load_switch(feature_xlsx: Path, tmp_path: Path) -> None:
    assert _calc_pr(feature_xlsx) == {"calcId": "124519", "fullCalcOnLoad": "1"}
    off = tmp_path / "off.xlsx"
    patch_workbook(feature_xlsx, off, {(RESULT_SHEET, "B2"): 1}, full_calc_on_load=False)
    assert _calc_pr(off) == {"calcId": CURRENT_CALC_ID}  # Excel 2007's id would make Excel recalculate all
    on = tmp_path / "on.xlsx"
    patch_workbook(off, on, {}, full_calc_on_load=True)
    assert _calc_pr(on) == {"calcId": CURRENT_CALC_ID, "fullCalcOnLoad": "1"}
    assert read_part(on, RESULT_PART) == read_part(off, RESULT_PART)
    # calcPr missing entirely: True creates it after <definedNames>, before anything that follows
    no_calc = tmp_path / "nocalc.xlsx"
    no_calc.write_bytes(feature_xlsx.read_bytes())
    rewrite_zip(no_calc, {"xl/workbook.xml": lambda d: re.sub(rb"<calcPr[^>]*/>", b"", d)})
    assert _calc_pr(no_calc) is None
    patch_workbook(no_calc, no_calc, {}, full_calc_on_load=False)
    assert _calc_pr(no_calc) is None
    patch_workbook(no_calc, no_calc, {}, full_calc_on_load=True)
    root = etree.fromstring(read_part(no_calc, "xl/workbook.xml"))
    names = [etree.QName(child).localname for child in root]
    assert names.index("calcPr") == names.index("definedNames") + 1
    assert _calc_pr(no_calc) == {"fullCalcOnLoad": "1"}


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


def test_unknown_sheet_raises_structure_error_in_chinese(feature_xlsx: Path, tmp_path: Path) -> None:
    dst = tmp_path / "never.xlsx"
    with pytest.raises(WorkbookStructureError) as info:
        patch_workbook(feature_xlsx, dst, {("不存在", "A1"): 1})
    assert info.value.sheet == "不存在"
    assert "找不到该工作表" in str(info.value) and "「结果」" in str(info.value)
    assert not dst.exists()
    with pytest.raises(WorkbookStructureError, match="图表工作表"):
        patch_workbook(feature_xlsx, dst, {("图表", "A1"): 1})
    assert not dst.exists()


def test_sheet_title_is_matched_case_insensitively(feature_xlsx: Path, tmp_path: Path) -> None:
    dst = tmp_path / "case.xlsx"
    patch_workbook(feature_xlsx, dst, {("REPORT", "A1"): "changed"})
    assert openpyxl_values(dst, data_only=True)[("Report", "A1")] == "changed"


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (math.nan, ValueError),
        (math.inf, ValueError),
        (10**400, ValueError),
        (object(), TypeError),
        ("x" * 32768, ValueError),
    ],
)
def test_values_excel_cannot_hold_are_refused(feature_xlsx: Path, tmp_path: Path, value, error) -> None:
    dst = tmp_path / "bad.xlsx"
    with pytest.raises(error):
        patch_workbook(feature_xlsx, dst, {(RESULT_SHEET, "A1"): value})
    assert not dst.exists()


@pytest.mark.parametrize("address", ["A0", "XFE1", "A1048577", "A1:B2", "", "1A"])
def test_bad_addresses_are_refused(feature_xlsx: Path, tmp_path: Path, address: str) -> None:
    with pytest.raises(ValueError, match="单元格地址"):
        patch_workbook(feature_xlsx, tmp_path / "bad.xlsx", {(RESULT_SHEET, address): 1})


def test_addresses_are_normalised_and_duplicates_refused(feature_xlsx: Path, tmp_path: Path) -> None:
    dst = tmp_path / "norm.xlsx"
    patch_workbook(feature_xlsx, dst, {(RESULT_SHEET, "$c$2"): 5})
    assert openpyxl_values(dst, data_only=True)[(RESULT_SHEET, "C2")] == 5
    with pytest.raises(ValueError, match="两次"):
        patch_workbook(feature_xlsx, dst, {(RESULT_SHEET, "C2"): 1, (RESULT_SHEET, "$C$2"): 2})


def test_excel_error_codes() -> None:
    assert ExcelError("#div/0!") == "#DIV/0!"
    assert isinstance(ExcelError("#N/A"), str)
    with pytest.raises(ValueError):
        ExcelError("#SPILL!")  # python-calamine 0.9 cannot read it
    with pytest.raises(ValueError):
        ExcelError("oops")


def test_not_a_zip_is_unreadable(tmp_path: Path) -> None:
    src = tmp_path / "fake.xlsx"
    src.write_bytes(b"\xd0\xcf\x11\xe0 this is an old .xls or an encrypted workbook")
    with pytest.raises(UnreadableFileError):
        patch_workbook(src, tmp_path / "out.xlsx", {("Sheet1", "A1"): 1})
    with pytest.raises(UnreadableFileError, match="不存在"):
        patch_workbook(tmp_path / "missing.xlsx", tmp_path / "out.xlsx", {})


def test_dtd_and_entities_are_refused(feature_xlsx: Path, tmp_path: Path) -> None:
    evil = tmp_path / "evil.xlsx"
    evil.write_bytes(feature_xlsx.read_bytes())
    bomb = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE worksheet [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b'<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    )
    rewrite_zip(
        evil,
        {INPUT_PART: lambda d: bomb + d.split(b"?>", 1)[1].replace(b"<v>0.25</v>", b"<v>&c;&x;</v>")},
    )
    dst = tmp_path / "evil-out.xlsx"
    with pytest.raises(UnreadableFileError, match="DTD"):
        patch_workbook(evil, dst, {(INPUT_SHEET, "B3"): 1})
    assert not dst.exists()


def test_interrupt_during_write_leaves_destination_untouched(
    feature_xlsx: Path, tmp_path: Path, monkeypatch
) -> None:
    dst = tmp_path / "existing.xlsx"
    dst.write_bytes(b"previous content")

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(xlsxpatch, "write_new", boom)
    with pytest.raises(KeyboardInterrupt):
        patch_workbook(feature_xlsx, dst, {(RESULT_SHEET, "B2"): 1})
    assert dst.read_bytes() == b"previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing.xlsx"]


# ------------------------------------------------------------------------------------------
# Unusual but valid sheet XML
# ------------------------------------------------------------------------------------------


def test_rows_and_cells_without_r_attributes(tmp_path: Path) -> None:
    src = tmp_path / "nor.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("S")
    for row in range(3):
        ws.write_row(row, 0, [row * 10 + col for col in range(3)])
    wb.close()
    # drop every r= (allowed by the schema: positions are then implicit) and the spans
    rewrite_zip(src, {"xl/worksheets/sheet1.xml": lambda d: re.sub(rb' (r|spans)="[^"]*"', b"", d)})
    sheet_data = read_part(src, "xl/worksheets/sheet1.xml").split(b"<sheetData>")[1].split(b"</sheetData>")[0]
    assert b"<row>" in sheet_data and b'r="' not in sheet_data
    dst = tmp_path / "nor-out.xlsx"
    patch_workbook(src, dst, {("S", "B2"): "x", ("S", "E2"): 5, ("S", "A5"): True})
    assert_sheet_well_formed(sheet_root(dst, "xl/worksheets/sheet1.xml"))
    values = openpyxl_values(dst, data_only=True)
    assert values == {
        ("S", "A1"): 0, ("S", "B1"): 1, ("S", "C1"): 2,
        ("S", "A2"): 10, ("S", "B2"): "x", ("S", "C2"): 12, ("S", "E2"): 5,
        ("S", "A3"): 20, ("S", "B3"): 21, ("S", "C3"): 22,
        ("S", "A5"): True,
    }  # fmt: skip


def test_empty_sheet_and_new_cell_styles(tmp_path: Path) -> None:
    src = tmp_path / "empty.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("空")
    pct = wb.add_format({"num_format": "0.00%"})
    ws.set_column("C:C", 12, pct)
    ws.set_row(7, None, wb.add_format({"num_format": "0.0"}))
    wb.add_worksheet("blank")
    wb.close()
    assert sheet_root(src, "xl/worksheets/sheet2.xml").find(f"{{{MAIN}}}dimension").get("ref") == "A1"
    dst = tmp_path / "empty-out.xlsx"
    patch_workbook(
        src,
        dst,
        {("空", "C3"): 0.5, ("空", "D4"): 1, ("空", "D8"): 2.25, ("空", "E5"): None, ("blank", "B2"): 1},
    )
    blank = sheet_root(dst, "xl/worksheets/sheet2.xml")
    assert blank.find(f"{{{MAIN}}}dimension").get("ref") == "B2"
    assert_sheet_well_formed(blank)
    root = sheet_root(dst, "xl/worksheets/sheet1.xml")
    assert_sheet_well_formed(root)
    assert root.find(f"{{{MAIN}}}dimension").get("ref") == "C3:D8"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ws = openpyxl.load_workbook(dst)["空"]
    assert ws["C3"].value == 0.5 and ws["C3"].number_format == "0.00%"  # column style, like Excel
    assert ws["D8"].value == 2.25 and ws["D8"].number_format == "0.0"  # formatted row wins
    assert ws["D4"].number_format == "General"
    assert cell_element(root, "E5") is None


def test_awkward_strings_and_numbers(feature_xlsx: Path, tmp_path: Path) -> None:
    values = {
        "A1": "  leading and trailing spaces  ",
        "A2": "line1\nline2\r\nline3\ttab",
        "A3": "bell\x07 and nul\x00",  # not allowed in XML: written as _x0007_ / _x0000_
        "A4": "literal _x0041_ stays literal",
        "A5": "<&>\"' ",
        "A6": "emoji 😀 and 汉字",
        "A7": 0.1,
        "A8": 1 / 3,
        "A9": 1e-300,
        "A10": -1.5e300,
        "A11": 2**53 + 1,
        "A12": -0.0,
        "A13": "",
    }
    dst = tmp_path / "awkward.xlsx"
    patch_workbook(feature_xlsx, dst, {("Report", ref): value for ref, value in values.items()})
    grid = calamine_grid(dst, "Report")
    for ref, value in values.items():
        expected = float(value) if isinstance(value, int) else value
        assert calamine_value(grid, ref) == expected, ref
    xml = read_part(dst, "xl/worksheets/sheet3.xml").decode()
    assert "_x0007_" in xml and "_x0000_" in xml and "_x005F_x0041_" in xml
    cached = openpyxl_values(dst, data_only=True)
    assert cached[("Report", "A8")] == 1 / 3 and cached[("Report", "A11")] == float(2**53 + 1)
    assert cached[("Report", "A6")] == "emoji 😀 and 汉字"


def test_reencode_utf8_spells_characters_as_utf8_and_keeps_the_document(tmp_path: Path) -> None:
    path = tmp_path / "ascii.xlsx"
    wb = openpyxl.Workbook()  # openpyxl writes its worksheets in ASCII: 汉字 as &#27721;&#23383;
    ws = wb.active
    ws.title = "基本信息"
    ws["A1"], ws["A2"], ws["B2"] = "单位名称\n第二行", '=B2&"元"', 12.5
    ws["A3"] = "<&> 😀"
    wb.save(path)
    before, entries = openpyxl_values(path, data_only=False), zipfile.ZipFile(path).infolist()
    assert b"&#" in read_part(path, "xl/worksheets/sheet1.xml")
    untouched = {
        i.filename: read_part(path, i.filename) for i in entries if b"&#" not in read_part(path, i.filename)
    }

    xlsxpatch.reencode_utf8(path)

    assert openpyxl_values(path, data_only=False) == before
    assert [i.filename for i in zipfile.ZipFile(path).infolist()] == [i.filename for i in entries]
    sheet = read_part(path, "xl/worksheets/sheet1.xml")
    assert b"&#" not in sheet.replace(b"&#10;", b"") and "单位名称".encode() in sheet
    assert sheet.startswith(b'<?xml version="1.0" encoding="UTF-8"')
    assert {name: read_part(path, name) for name in untouched} == untouched
    assert calamine_value(calamine_grid(path, "基本信息"), "A3") == "<&> 😀"


# ------------------------------------------------------------------------------------------
# Property test and speed
# ------------------------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies

_cell_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**15), max_value=10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.sampled_from(sorted(xlsxpatch.EXCEL_ERROR_CODES)).map(ExcelError),
)
_addresses = st.tuples(st.integers(1, 12), st.integers(1, 8)).map(
    lambda rc: f"{openpyxl.utils.get_column_letter(rc[1])}{rc[0]}"
)


@pytest.fixture(scope="module")
def grid_xlsx(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("grid") / "grid.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("G")
    for row in range(0, 10, 2):  # every other row exists; some cells are formulas
        for col in range(0, 8, 2):
            if col == 2:
                ws.write_formula(row, col, f"=ROW()*{col}", None, row)
            else:
                ws.write(row, col, row * 100 + col)
    wb.close()
    return path


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(patch=st.dictionaries(_addresses, _cell_values, max_size=25))
def test_property_any_patch_reads_back(grid_xlsx: Path, patch: dict[str, object]) -> None:
    original = openpyxl_values(grid_xlsx, data_only=True)
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "out.xlsx"
        patch_workbook(grid_xlsx, dst, {("G", ref): value for ref, value in patch.items()})
        assert_sheet_well_formed(sheet_root(dst, "xl/worksheets/sheet1.xml"))
        grid = calamine_grid(dst, "G")
        after = openpyxl_values(dst, data_only=True)
    for row in range(1, 13):
        for col in range(1, 9):
            ref = f"{openpyxl.utils.get_column_letter(col)}{row}"
            if ref in patch:
                value = patch[ref]
                if isinstance(value, ExcelError):
                    assert after.get(("G", ref)) == str(value)
                    expected = ""
                elif value is None:
                    expected = ""
                    assert ("G", ref) not in after
                else:
                    expected = (
                        float(value) if isinstance(value, int) and not isinstance(value, bool) else value
                    )
            else:
                expected = original.get(("G", ref), "")
            assert calamine_value(grid, ref) == expected, ref


def test_speed_150_cells(tmp_path: Path) -> None:
    src = tmp_path / "speed.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    data = wb.add_worksheet("明细")
    for row in range(300):
        data.write_row(row, 0, [row, f"项目{row}", row * 1.5, row % 7, "备注", row * 2])
    calc = wb.add_worksheet("汇总")
    for row in range(150):
        calc.write_formula(row, 1, f"=SUM('明细'!C{row + 1}:F{row + 1})", None, 0)
    wb.close()
    values = {("汇总", f"B{row + 1}"): row * 0.5 for row in range(150)}
    dst = tmp_path / "speed-out.xlsx"
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        patch_workbook(src, dst, values)
        best = min(best, time.perf_counter() - start)
    assert openpyxl_values(dst, data_only=True)[("汇总", "B150")] == 74.5
    assert best < 0.2, f"patch_workbook took {best * 1000:.1f} ms"  # target ~10 ms; generous for CI noise


def test_value_metadata_of_the_old_value_is_dropped(tmp_path: Path) -> None:
    src = tmp_path / "vm.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("S")
    ws.write("A1", 1)
    ws.write("B1", 2)
    wb.close()
    # vm= points into metadata.xml (rich values such as pictures in cells); it describes the old value
    rewrite_zip(src, {"xl/worksheets/sheet1.xml": lambda d: d.replace(b'<c r="A1">', b'<c r="A1" vm="1">')})
    assert cell_element(sheet_root(src, "xl/worksheets/sheet1.xml"), "A1").get("vm") == "1"
    dst = tmp_path / "vm-out.xlsx"
    patch_workbook(src, dst, {("S", "A1"): 5})
    cell = cell_element(sheet_root(dst, "xl/worksheets/sheet1.xml"), "A1")
    assert dict(cell.attrib) == {"r": "A1"} and cell.findtext(f"{{{MAIN}}}v") == "5"


def test_new_text_over_inline_text_is_one_plain_inline_string(tmp_path: Path) -> None:
    """A text written over an inline string — plain, rich (runs) or with phonetics — comes out as the
    one plain ``<is><t xml:space="preserve">`` a new cell gets; the plain one's elements are reused."""
    src = tmp_path / "inline.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("S")
    for address in ("A1", "B1", "C1", "D1"):
        ws.write(address, 1)
    wb.close()
    plain = '<c r="A1" t="inlineStr"><is><t>旧</t></is></c>'.encode()
    rich = '<c r="B1" t="inlineStr"><is><r><t>粗</t></r><r><t>体</t></r></is></c>'.encode()
    phonetic = '<c r="C1" t="inlineStr"><is><t>汉</t><rPh sb="0" eb="1"><t>han</t></rPh></is></c>'.encode()
    cells = {b'<c r="A1">': plain, b'<c r="B1">': rich, b'<c r="C1">': phonetic}

    def inline(data: bytes) -> bytes:
        for old, new in cells.items():
            data = re.sub(re.escape(old) + rb".*?</c>", new, data, count=1)
        return data

    rewrite_zip(src, {"xl/worksheets/sheet1.xml": inline})
    assert read_part(src, "xl/worksheets/sheet1.xml").count(b"<is>") == 3
    dst = tmp_path / "inline-out.xlsx"
    patch_workbook(src, dst, {("S", a): f"新{a}" for a in ("A1", "B1", "C1", "D1")})
    root = sheet_root(dst, "xl/worksheets/sheet1.xml")
    assert_sheet_well_formed(root)
    space = "{http://www.w3.org/XML/1998/namespace}space"
    for address in ("A1", "B1", "C1", "D1"):
        cell = cell_element(root, address)
        assert cell.get("t") == "inlineStr" and [child.tag for child in cell] == [f"{{{MAIN}}}is"]
        (text,) = cell[0]
        assert text.tag == f"{{{MAIN}}}t" and dict(text.attrib) == {space: "preserve"}
        assert text.text == f"新{address}" and len(text) == 0
    assert openpyxl_values(dst, data_only=True) == {("S", a): f"新{a}" for a in ("A1", "B1", "C1", "D1")}


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (b'<c r="A2">', b'<c r="A3">', "单元格引用"),  # cell outside its row
        (b'<c r="B2">', b'<c r="2B">', "单元格引用"),
        (b'<row r="2"', b'<row r="9"', "行顺序"),  # rows out of order
        (b'<c r="B2">', b'<c r="A2">', "单元格顺序"),  # duplicate column
    ],
)
def test_damaged_sheet_data_is_refused(tmp_path: Path, old: bytes, new: bytes, message: str) -> None:
    src = tmp_path / "damaged.xlsx"
    wb = xlsxwriter.Workbook(str(src))
    ws = wb.add_worksheet("S")
    for row in range(3):
        ws.write_row(row, 0, [1, 2])
    wb.close()
    rewrite_zip(src, {"xl/worksheets/sheet1.xml": lambda d: d.replace(old, new, 1)})
    dst = tmp_path / "damaged-out.xlsx"
    with pytest.raises(UnreadableFileError, match=message):
        patch_workbook(src, dst, {("S", "C2"): 1})
    assert not dst.exists()


def test_disk_full_becomes_output_error(feature_xlsx: Path, tmp_path: Path, monkeypatch) -> None:
    dst = tmp_path / "full.xlsx"
    dst.write_bytes(b"previous")

    def no_space(self, comment):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipcopy.ZipWriter, "close", no_space)
    with pytest.raises(OutputError, match="写入输出文件失败"):
        patch_workbook(feature_xlsx, dst, {(RESULT_SHEET, "B2"): 1})
    assert dst.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["full.xlsx"]


def test_oversized_part_is_refused_before_decompressing(
    feature_xlsx: Path, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(xlsxpatch, "MAX_PART_BYTES", 1000)
    with pytest.raises(UnreadableFileError, match="超过"):
        patch_workbook(feature_xlsx, tmp_path / "big.xlsx", {(RESULT_SHEET, "B2"): 1})


class _Unseekable(io.RawIOBase):
    """A write-only stream: zipfile then writes data descriptors after each entry."""

    def __init__(self, sink: io.BytesIO) -> None:
        self.sink = sink

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        return self.sink.write(data)


def test_source_with_data_descriptors_and_stored_entries(feature_xlsx: Path, tmp_path: Path) -> None:
    sink = io.BytesIO()
    with zipfile.ZipFile(feature_xlsx) as zin, zipfile.ZipFile(_Unseekable(sink), "w") as zout:
        for n, info in enumerate(zin.infolist()):
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.compress_type = zipfile.ZIP_STORED if n % 2 else zipfile.ZIP_DEFLATED
            zout.writestr(entry, zin.read(info))
    src = tmp_path / "streamed.xlsx"
    src.write_bytes(sink.getvalue())
    with zipfile.ZipFile(src) as zf:
        assert all(info.flag_bits & 0x08 for info in zf.infolist())  # really has data descriptors
    dst = tmp_path / "streamed-out.xlsx"
    patch_workbook(src, dst, PATCH)
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst) as b:
        assert b.testzip() is None
        assert [(i.filename, i.compress_type) for i in a.infolist()] == [
            (i.filename, i.compress_type) for i in b.infolist()
        ]
        for info in a.infolist():
            if info.filename not in (RESULT_PART, INPUT_PART):
                assert b.read(info.filename) == a.read(info)
    assert openpyxl_values(dst, data_only=True)[(RESULT_SHEET, "B4")] == "负数结果"
