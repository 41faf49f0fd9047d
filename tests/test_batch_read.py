"""The fast reader the batch relies on (快速读取): every cell, name and table as openpyxl reads them.

``read_workbook`` parses the package itself instead of calling ``openpyxl.load_workbook``.  These
tests take openpyxl as the oracle on workbooks with every kind of cell a user can produce — dates,
times, durations, booleans, error codes, ``1E3``-style numbers, rich and inline text, formulas with
and without cached values, shared and array formulas, cells without addresses, a 1904 date system —
and on damaged structures, and compare every cell, defined name and table.
"""

from __future__ import annotations

import datetime
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.formula import ArrayFormula, DataTableFormula

from helpers_features import add_user_features, sheet_parts
from tools.generate import make_template
from xlperf.errors import UnreadableFileError
from xlperf.io.xlsxpatch import ExcelError, Formula, patch_workbook
from xlperf.workbook import contract as c
from xlperf.workbook.decoder import open_book as _open
from xlperf.workbook.read import _destinations, read_workbook

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")


def _where(wb: object, name: str) -> tuple[str, str]:
    sheet, ref = next(iter(wb.defined_names[name].destinations))  # type: ignore[attr-defined]
    return sheet, ref.replace("$", "")


def _zoo(wb: object) -> None:
    values = {
        "year": datetime.datetime(2024, 5, 6),
        "unit_nature": datetime.date(2024, 1, 2),
        "budget_income_total": 5.0,
        "final_income_total": "8,690.35",
        "carryover_end": True,
        "carryover_begin": "#N/A",
        "budget_exp_total": "=SUM(1,2)",
        "vehicles": 1e20,
        "staff_actual": -0.0,
        "funding_type": "=rate_budget_adj",
        "budget_adjustment": "=BUDGET_ADJ_RATE(1,2,3)",
        "fixed_assets_total": datetime.time(13, 30),
    }
    for key, value in values.items():
        sheet, address = _where(wb, key)
        wb[sheet][address].value = value  # type: ignore[index]
    sheet, address = _where(wb, "staff_quota_admin")
    wb[sheet][address] = ArrayFormula(address, "=SUM(1,2)")  # type: ignore[index]
    sheet, address = _where(wb, "fixed_assets_in_use")
    wb[sheet][address].value = datetime.timedelta(days=1, hours=2)  # type: ignore[index]
    wb[sheet][address].number_format = "[h]:mm:ss"  # type: ignore[index]


def _rewrite(src: Path, dst: Path, edit: object) -> Path:
    with zipfile.ZipFile(src) as zf:
        parts = {info.filename: zf.read(info.filename) for info in zf.infolist()}
    edit(parts)  # type: ignore[operator]
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return dst


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("read")
    example = make_template(root).path
    found = {"example": example}

    def edited(name: str, edit: object) -> None:
        wb = load_workbook(example)
        edit(wb)  # type: ignore[operator]
        wb.save(root / name)
        found[name] = root / name

    edited("zoo.xlsx", _zoo)
    edited("date1904.xlsx", lambda wb: (setattr(wb, "epoch", CALENDAR_MAC_1904), _zoo(wb)))

    def names(wb: object) -> None:
        defined = wb.defined_names  # type: ignore[attr-defined]
        defined["unit_name"] = DefinedName("unit_name", attr_text="#REF!")
        defined["year"] = DefinedName("year", attr_text="'不存在'!$B$5")
        defined["vehicles"] = DefinedName("vehicles", attr_text="基本信息!$B$12")
        defined["duties"] = DefinedName("duties", attr_text="'基本信息'!$B$12,'基本信息'!$B$13")
        defined["staff_actual"] = DefinedName("staff_actual", attr_text="OFFSET('基本信息'!$B$1,1,1)")
        defined["unit_nature"] = DefinedName("unit_nature", attr_text="'基本信息'!$b$6")
        del wb[c.S_GOALS]  # type: ignore[attr-defined]
        ws = wb[c.S_RUBRIC]  # type: ignore[index]
        ws.tables["tbl_rubric"].ref = re.sub(
            r"\d+$", lambda m: str(int(m[0]) + 3), ws.tables["tbl_rubric"].ref
        )
        wb[c.S_PROGRESS]["B4"].value = "累计 支出 "  # type: ignore[index]

    edited("damaged.xlsx", names)
    wb = load_workbook(example)
    cached = {
        _where(wb, "budget_adjustment"): Formula("100+20.5", 120.5),
        _where(wb, "carryover_end"): Formula('"a"&"b"', "ab"),
        _where(wb, "carryover_begin"): Formula("1/0", ExcelError("#DIV/0!")),
        _where(wb, "vehicles"): Formula("1>0", True),
    }
    patch_workbook(example, root / "cached.xlsx", cached)
    found["cached.xlsx"] = root / "cached.xlsx"
    parts_by_title = sheet_parts(example)

    def shared(parts: dict[str, bytes]) -> None:
        cells = [_where(wb, key) for key in ("budget_income_total", "final_income_total", "budget_exp_total")]
        part = parts_by_title[cells[0][0]]
        xml = parts[part].decode()
        first, last = cells[0][1], cells[2][1]
        formulas = (
            f'<f t="shared" ref="{first}:{last}" si="0">B70*2+$B$71</f><v>8</v>',
            '<f t="shared" si="0"/><v>9</v>',
            '<f t="shared" si="0"/>',
        )
        for (_, address), formula in zip(cells, formulas, strict=True):
            xml = re.sub(
                rf'<c r="{address}"([^>]*?)(/>|>.*?</c>)',
                lambda m, a=address, f=formula: f'<c r="{a}"' + m[1].replace(' t="n"', "") + ">" + f + "</c>",
                xml,
                count=1,
            )
        parts[part] = xml.encode()

    found["shared.xlsx"] = _rewrite(example, root / "shared.xlsx", shared)

    def odd_addresses(parts: dict[str, bytes]) -> None:
        progress = parts_by_title[c.S_PROGRESS]
        parts[progress] = re.sub(rb'(<c) r="[A-Z]+\d+"', rb"\1", parts[progress])  # no addresses at all
        unit = parts_by_title[c.S_UNIT]
        xml = re.sub(r'<c r="([A-Z]+)(\d+)"', lambda m: f'<c r="{m[1].lower()}{m[2]}"', parts[unit].decode())
        parts[unit] = xml.replace("<row ", "<!-- note --><row ", 3).replace("<c ", "<?pi x?><c ", 5).encode()

    found["odd.xlsx"] = _rewrite(example, root / "odd.xlsx", odd_addresses)
    add_user_features(example, root / "features.xlsx")
    found["features.xlsx"] = root / "features.xlsx"
    return found


def _openpyxl_value(value: object) -> object:
    if isinstance(value, ArrayFormula):
        return value.text
    return value


@pytest.mark.parametrize(
    "name",
    ["example", "zoo.xlsx", "date1904.xlsx", "cached.xlsx", "shared.xlsx", "odd.xlsx", "features.xlsx"],
)
def test_every_cell_decodes_as_openpyxl_reads_it(books: dict[str, Path], name: str) -> None:
    path = books[name]
    expected = load_workbook(path)
    book = _open(path)
    assert book.sheetnames == expected.sheetnames
    compared = 0
    for ws in expected.worksheets:
        for (row, col), cell in ws._cells.items():
            want = _openpyxl_value(cell.value)
            if want is None or isinstance(want, DataTableFormula):
                continue
            got = book.sheet(ws.title).value(row, col)
            assert (type(got), got) == (type(want), want), (name, ws.title, cell.coordinate)
            compared += 1
    assert compared > 900


@pytest.mark.parametrize(
    "name", ["example", "zoo.xlsx", "damaged.xlsx", "shared.xlsx", "odd.xlsx", "features.xlsx"]
)
def test_names_tables_and_inputs_are_found_as_openpyxl_finds_them(books: dict[str, Path], name: str) -> None:
    path = books[name]
    wb = load_workbook(path)
    inputs = read_workbook(path)
    loc = inputs.locator
    expected_names = {}
    for key, defined in wb.defined_names.items():
        try:
            targets = list(defined.destinations)
        except Exception:
            continue
        if "#REF!" not in (defined.attr_text or "") and len(targets) == 1 and targets[0][0] in wb.sheetnames:
            expected_names[key] = (targets[0][0], targets[0][1].replace("$", ""))
    assert loc.names == expected_names
    tables = {t.displayName: (ws.title, t.ref) for ws in wb.worksheets for t in ws.tables.values()}
    for spec in c.TABLES:
        if spec.name not in tables:
            assert spec.name not in loc.tables
            continue
        pos = loc.tables[spec.name]
        sheet, ref = tables[spec.name]
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        headers = {}
        for col in range(min_col, max_col + 1):
            value = wb[sheet].cell(min_row, col).value
            if value is not None:
                headers[str(value).strip()] = get_column_letter(col)
        assert (pos.sheet, pos.header_row, pos.last_row) == (sheet, min_row, max(max_row, min_row + 1))
        assert pos.columns == headers
    for (sheet, address), value in inputs.values.items():
        raw = _openpyxl_value(wb[sheet][address].value)
        if isinstance(raw, str) and raw.startswith("="):
            assert (sheet, address) in loc.formula_cells
        else:
            assert (type(value), value) == (type(raw), raw), (sheet, address)


def test_damaged_structure_is_reported_in_chinese(books: dict[str, Path]) -> None:
    loc = read_workbook(books["damaged.xlsx"]).locator
    messages = [m for m, _ in loc.problems]
    assert any("unit_name" in m and "#REF!" in m for m in messages)
    assert any("「不存在」不存在" in m for m in messages)
    assert any(f"缺少工作表「{c.S_GOALS}」" in m for m in messages)
    assert any("缺少表格「绩效目标」" in m for m in messages)
    assert any("缺少列「累计支出」" in m for m in messages)
    assert (
        loc.tables["tbl_rubric"].rows == read_workbook(books["example"]).locator.tables["tbl_rubric"].rows + 3
    )


def test_formulas_typed_by_users_read_through_their_cached_values(books: dict[str, Path]) -> None:
    inputs = read_workbook(books["cached.xlsx"])
    assert inputs.data.get("budget_adjustment") == 120.5 and inputs.data.get("carryover_end") == "ab"
    assert inputs.data.get("vehicles") is True
    zoo = read_workbook(books["zoo.xlsx"])
    assert zoo.data.get("budget_adjustment") is None  # an xlperf formula: computed, not an input
    where = zoo.locator.names["budget_adjustment"]
    assert where in zoo.locator.own_formula_cells and zoo.data.get("year") == datetime.datetime(2024, 5, 6)


def test_unreadable_packages_raise_a_chinese_error(books: dict[str, Path], tmp_path: Path) -> None:
    broken = _rewrite(
        books["example"],
        tmp_path / "broken.xlsx",
        lambda p: p.update({"xl/workbook.xml": p["xl/workbook.xml"][:300]}),
    )
    with pytest.raises(UnreadableFileError, match="workbook.xml"):
        read_workbook(broken)
    shutil.copy(books["example"], tmp_path / "cut.xlsx")
    (tmp_path / "cut.xlsx").write_bytes((tmp_path / "cut.xlsx").read_bytes()[:5000])
    with pytest.raises(UnreadableFileError, match="无法作为 Excel 工作簿打开"):
        read_workbook(tmp_path / "cut.xlsx")


def test_number_styles_are_read_once_per_content_and_damage_names_each_file(
    books: dict[str, Path], tmp_path: Path
) -> None:
    from xlperf.workbook import decoder

    copy = shutil.copy(books["example"], tmp_path / "copy.xlsx")
    decoder._kept_number_styles.cache_clear()
    first, second = _open(books["example"]), _open(copy)  # two units of one template: one parse
    assert decoder._kept_number_styles.cache_info().hits == 1
    assert second.package.percent_styles == first.package.percent_styles != frozenset()
    plain = _rewrite(  # other styles: read anew, no percent formats left
        books["example"], tmp_path / "plain.xlsx", lambda p: p.update({"xl/styles.xml": re.sub(
            rb'numFmtId="(9|10)"', b'numFmtId="2"', re.sub(rb'(formatCode="[^"]*)%', rb"\1", p["xl/styles.xml"]))})
    )  # fmt: skip
    assert _open(plain).package.percent_styles == frozenset()
    for name in ("one.xlsx", "two.xlsx"):
        broken = _rewrite(
            books["example"], tmp_path / name, lambda p: p.update({"xl/styles.xml": b"<styleSheet"})
        )
        with pytest.raises(UnreadableFileError, match="styles.xml") as raised:
            read_workbook(broken)
        assert raised.value.path == str(broken)


def test_small_parts_are_read_once_per_content_and_damage_names_each_file(
    books: dict[str, Path], tmp_path: Path
) -> None:
    from xlperf.io import opc
    from xlperf.workbook import decoder

    copy = shutil.copy(books["example"], tmp_path / "copy.xlsx")
    kept = (decoder._kept_main_parts, decoder._kept_table_names, opc._kept_relationships)
    for cache in kept:
        cache.cache_clear()
    first = read_workbook(books["example"])
    misses = [cache.cache_info().misses for cache in kept]
    second = read_workbook(copy)  # a second unit of one template: nothing parsed again
    assert [cache.cache_info().misses for cache in kept] == misses and all(misses)
    assert second.locator.tables == first.locator.tables and second.data == first.data
    renamed = _rewrite(  # another table part: read anew
        books["example"], tmp_path / "renamed.xlsx", lambda p: p.update({"xl/tables/table1.xml": re.sub(
            rb'displayName="[^"]*"', b'displayName="tbl_other"', p["xl/tables/table1.xml"])})
    )  # fmt: skip
    assert len(read_workbook(renamed).locator.tables) == len(first.locator.tables) - 1
    for part in ("[Content_Types].xml", "xl/tables/table1.xml", "xl/worksheets/_rels/sheet2.xml.rels"):
        for name in ("one.xlsx", "two.xlsx"):
            broken = _rewrite(
                books["example"], tmp_path / name, lambda p, part=part: p.update({part: b"<Types"})
            )
            with pytest.raises(UnreadableFileError, match=re.escape(part)) as raised:
                read_workbook(broken)
            assert raised.value.path == str(broken)


NAME_TEXTS = [
    "'基本信息'!$B$4",
    "基本信息!$B$4",
    "'基本 信息'!$B$4:$B$9",
    "Sheet1!A1",
    "Sheet1!A1:B2",
    "'O''Brien'!$A$1",
    "'a!b'!$C$3",
    "_x.y!$A$1",
    "Sheet1!$A:$A",
    "Sheet1!$1:$1",
    "Sheet1!A0",
    "Sheet1!$XFD$1048576",
    "Sheet1!AAAA1",
    "Sheet1!a1",
    "1",
    '"text"',
    "#REF!",
    "Sheet1!#REF!",
    "'基本信息'!$B$4,'基本信息'!$B$5",
    "OFFSET(Sheet1!$A$1,0,0)",
    "Sheet1!$A$1+1",
    "[1]Sheet1!$A$1",
    "TRUE!$A$1",
    "Sheet 1!$A$1",
    "",
    "=Sheet1!A1",
    "Sheet1!A1 Sheet1!B1",
]


@pytest.mark.parametrize("text", NAME_TEXTS)
def test_defined_names_resolve_as_openpyxl_tokenizes_them(text: str) -> None:
    try:
        expected: object = list(DefinedName("n", attr_text=text).destinations)
    except Exception as exc:
        expected = type(exc)
    try:
        got: object = _destinations(text)
    except Exception as exc:
        got = type(exc)
    assert got == expected


def test_column_letters_agree_with_openpyxl_over_excels_width_when_kept() -> None:
    from openpyxl.utils import get_column_letter

    from xlperf.io.cellref import MAX_COL, column_index, column_letters

    for _ in range(2):  # computed, then kept
        assert all(column_letters(i) == get_column_letter(i) for i in range(1, MAX_COL + 1))
    assert all(column_index(column_letters(i)) == i for i in range(1, MAX_COL + 1))


def test_a_name_moved_off_its_label_is_named_stale(books: dict[str, Path], tmp_path: Path) -> None:
    def point(parts: dict[str, bytes]) -> None:
        xml = parts["xl/workbook.xml"]
        for name, cell in ((b"unit_name", b"$B$5"), (b"year", b"$A$5")):
            xml = re.sub(b'(<definedName name="' + name + b'">[^!]*!)[^<]*', rb"\g<1>" + cell, xml)
        parts["xl/workbook.xml"] = xml

    moved = _rewrite(books["example"], tmp_path / "moved.xlsx", point)
    for _ in range(2):  # the cells around a name are kept: the second read finds the same
        messages = [m for m, _ in read_workbook(moved).locator.problems if "名称已过期" in m]
        assert len(messages) == 1 and "名称 unit_name（单位名称）" in messages[0]
        assert "基本信息!B5 旁边是「评价年度」" in messages[0]  # year, now in column A, has none to its left
