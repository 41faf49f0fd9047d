"""Round trip of a user's workbook through ``build_workbook`` (往返保真): nothing the user added is lost.

A workbook made by ``create_workbook`` is decorated the way a finance officer would in Excel
(:mod:`helpers_features`: styles, a comment, conditional formats, a chart, an image, a text box,
rich text, a hyperlink, an x14 list validation, a hidden sheet, a sheet of their own; and an
``.xlsm`` with VBA and a ribbon), then built headless.  The build may only change the computed
cells (and ``calcPr`` in workbook.xml); everything else is compared part by part, byte for byte.
"""

from __future__ import annotations

import hashlib
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook
from openpyxl.cell.rich_text import CellRichText, TextBlock

from helpers_features import (
    COMMENT_TEXT,
    CUSTOM_UI,
    HYPERLINK,
    MAIN_NS,
    RICH_PARTS,
    TEXTBOX_TEXT,
    UNITS,
    VBA_MODULES,
    X14_DV_URI,
    UserFeatures,
    add_user_features,
    make_xlsm,
    raw_entries,
    rels_part,
    sheet_parts,
    tiny_png,
    zip_parts,
)
from xlperf.core import rates
from xlperf.core.fields import FIELDS
from xlperf.core.findings import check_family
from xlperf.errors import OutputError
from xlperf.examples import example_data
from xlperf.excel.xlsm import verify_xlsm
from xlperf.io.xlsxpatch import Formula, Literal, patch_workbook
from xlperf.workbook import contract as c
from xlperf.workbook.build import BuildResult, build_workbook
from xlperf.workbook.cells import computed_cells, finding_cells
from xlperf.workbook.create import create_workbook
from xlperf.workbook.read import read_workbook

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension is not supported:UserWarning")

NAME = "高邑镇2024.xlsx"
Key = tuple[str, str]


@dataclass
class Built:
    """A decorated workbook and its build: the source's hash before and after."""

    features: UserFeatures
    result: BuildResult
    sha_before: str
    sha_after: str
    mtime_before: int
    mtime_after: int

    @property
    def source(self) -> Path:
        return self.features.path

    @property
    def output(self) -> Path:
        assert self.result.output is not None
        return self.result.output


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_tracked(features: UserFeatures, out_dir: Path) -> Built:
    before, mtime = sha256(features.path), features.path.stat().st_mtime_ns
    result = build_workbook(features.path, out_dir)
    return Built(features, result, before, sha256(features.path), mtime, features.path.stat().st_mtime_ns)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("base") / NAME
    create_workbook(example_data(), path)
    return path


@pytest.fixture(scope="module")
def decorated(base: Path, tmp_path_factory: pytest.TempPathFactory) -> UserFeatures:
    return add_user_features(base, tmp_path_factory.mktemp("user") / NAME)


@pytest.fixture(scope="module")
def built(decorated: UserFeatures, tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build_tracked(decorated, tmp_path_factory.mktemp("out"))


@pytest.fixture(scope="module")
def built_xlsm(decorated: UserFeatures, tmp_path_factory: pytest.TempPathFactory) -> Built:
    xlsm = tmp_path_factory.mktemp("xlsm") / NAME.replace(".xlsx", ".xlsm")
    make_xlsm(decorated.path, xlsm)
    features = UserFeatures(**{**decorated.__dict__, "path": xlsm})
    return build_tracked(features, tmp_path_factory.mktemp("xlsm_out"))


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------


def expected_cells(result: BuildResult) -> dict[Key, object]:
    """Every cell the build writes, with the value it must hold (公式及其值)."""
    cells = computed_cells(result.locator, result.evaluation)
    cells.update(finding_cells(result.locator, result.findings, result.locator.finding_rows))
    return cells


def plain(value: object) -> object:
    """The value a reader sees for what the build wrote."""
    while isinstance(value, Formula | Literal):
        value = value.value
    return value


def load(path: Path, **kwargs: object) -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the x14 validation openpyxl does not model
        return load_workbook(path, rich_text=True, **kwargs)


def all_cells(wb: object) -> dict[Key, object]:
    return {
        (ws.title, cell.coordinate): cell
        for ws in wb.worksheets  # type: ignore[attr-defined]
        for row in ws.iter_rows()
        for cell in row
    }


def rich_runs(value: object) -> object:
    """A comparable form of a cell value: rich text as its runs with their fonts."""
    if isinstance(value, CellRichText):
        return tuple(
            (block.text, repr(block.font)) if isinstance(block, TextBlock) else (block, None)
            for block in value
        )
    return value


def without(root: etree._Element, *local_names: str) -> bytes:
    """Canonical XML of ``root`` with the named direct children removed."""
    copy = etree.fromstring(etree.tostring(root))
    for child in list(copy):
        if isinstance(child.tag, str) and etree.QName(child).localname in local_names:
            copy.remove(child)
    return etree.tostring(copy, method="c14n")


def patched_parts(path: Path, result: BuildResult) -> set[str]:
    """The parts the build may rewrite: the sheets it writes to, and workbook.xml."""
    by_title = sheet_parts(path)
    return {by_title[sheet] for sheet, _ in expected_cells(result)} | {"xl/workbook.xml"}


def named_cell(path: Path, name: str) -> Key:
    where = read_workbook(path).locator.names[name]
    return where[0], where[1]


# ------------------------------------------------------------------------------------------
# The decorated workbook really has every feature (so the checks below cannot pass vacuously)
# ------------------------------------------------------------------------------------------


def test_the_decorated_workbook_has_every_user_feature(decorated: UserFeatures) -> None:
    parts = zip_parts(decorated.path)
    by_title = sheet_parts(decorated.path)
    wb = load(decorated.path)
    assert wb[decorated.comment_cell[0]][decorated.comment_cell[1]].comment.text == COMMENT_TEXT
    assert isinstance(wb[decorated.rich_text_cell[0]][decorated.rich_text_cell[1]].value, CellRichText)
    assert wb[decorated.hyperlink_cell[0]][decorated.hyperlink_cell[1]].hyperlink.target == HYPERLINK
    assert wb[decorated.hidden_sheet].sheet_state == "hidden"
    assert wb[decorated.user_sheet]["B4"].value == "=SUM(B2:B3)"
    assert len(wb[decorated.conditional_sheet].conditional_formatting) >= 1
    for sheet, address in decorated.styled_cells:
        assert wb[sheet][address].font.b and wb[sheet][address].font.color.rgb.endswith("C00000")
    assert any(name.startswith("xl/charts/chart") for name in parts)
    drawing = parts[decorated.drawing_part].decode("utf-8")
    assert "<xdr:pic>" in drawing and TEXTBOX_TEXT in drawing and 'txBox="1"' in drawing
    assert parts[decorated.image_part] == tiny_png()
    assert b"x14:dataValidation " in parts[by_title[decorated.x14_sheet]]
    assert any(name.startswith("xl/comments") for name in parts)
    # The computed cells carry no cached value yet (openpyxl dropped them when the user "saved").
    values = load(decorated.path, data_only=True)
    sheet, address = named_cell(decorated.path, "total_score")
    assert values[sheet][address].value is None


def test_a_plain_openpyxl_save_would_lose_some_of_them(decorated: UserFeatures, tmp_path: Path) -> None:
    """Why the build patches XML instead of saving with openpyxl (perf-notes §4)."""
    resaved = tmp_path / NAME
    load(decorated.path).save(resaved)
    parts = zip_parts(resaved)
    x14_part = sheet_parts(resaved)[decorated.x14_sheet]
    assert X14_DV_URI.encode() not in parts[x14_part]
    assert not any(TEXTBOX_TEXT.encode() in data for name, data in parts.items() if "drawing" in name)


# ------------------------------------------------------------------------------------------
# .xlsx: what the build changes and what it keeps
# ------------------------------------------------------------------------------------------


def test_the_source_file_is_never_modified(built: Built) -> None:
    assert built.output != built.source
    assert built.sha_after == built.sha_before
    assert built.mtime_after == built.mtime_before


def test_only_the_patched_sheets_and_workbook_xml_change(built: Built) -> None:
    before, after = raw_entries(built.source), raw_entries(built.output)
    assert [e[0] for e in after] == [e[0] for e in before], "parts added, removed or reordered"
    allowed = patched_parts(built.source, built.result)
    changed = {b[0] for b, a in zip(before, after, strict=True) if a != b}
    assert changed - allowed == set(), f"parts that should be byte-identical changed: {changed - allowed}"
    assert {p for p in changed if p.startswith("xl/worksheets/")}, "the build wrote no sheet at all"

    old, new = zip_parts(built.source), zip_parts(built.output)
    for part in changed:
        old_root, new_root = etree.fromstring(old[part]), etree.fromstring(new[part])
        if part == "xl/workbook.xml":  # only calcPr (fullCalcOnLoad removed) may differ
            assert without(old_root, "calcPr") == without(new_root, "calcPr")
        else:  # validations, x14 extLst, conditional formats, hyperlinks, drawings, protection…
            assert without(old_root, "sheetData", "dimension") == without(
                new_root, "sheetData", "dimension"
            ), part


def test_every_user_cell_keeps_its_value_and_style(built: Built) -> None:
    computed = set(expected_cells(built.result))
    before, after = all_cells(load(built.source)), all_cells(load(built.output))
    assert set(after) - set(before) <= computed, "the build created cells outside the computed ones"
    compared = 0
    for key, old in before.items():
        if key in computed:
            continue
        new = after.get(key)
        assert new is not None, f"{key} disappeared"
        assert rich_runs(new.value) == rich_runs(old.value), key
        # styles.xml is byte-identical (test above), so equal style indices mean equal formatting.
        assert (new.number_format, tuple(new._style)) == (old.number_format, tuple(old._style)), key
        compared += old.value is not None
    assert compared > 500  # every input field, table row and label, and the user's own sheets
    # Every named input field is among the cells compared above.
    for f in FIELDS:
        where = built.result.locator.names[f.key]
        assert where not in computed and where in before, f.key


def test_user_features_are_still_there(built: Built) -> None:
    f = built.features
    old, new = load(built.source), load(built.output)
    assert new[f.comment_cell[0]][f.comment_cell[1]].comment.text == COMMENT_TEXT
    rich = new[f.rich_text_cell[0]][f.rich_text_cell[1]].value
    assert isinstance(rich, CellRichText) and str(rich) == "".join(RICH_PARTS)
    bold = [block for block in rich if isinstance(block, TextBlock)]
    assert [(b.text, b.font.b) for b in bold] == [(RICH_PARTS[1], True)]
    assert new[f.hyperlink_cell[0]][f.hyperlink_cell[1]].hyperlink.target == HYPERLINK
    assert new[f.hidden_sheet].sheet_state == "hidden"
    assert [new[f.hidden_sheet].cell(i, 1).value for i in range(1, len(UNITS) + 1)] == list(UNITS)
    assert new.sheetnames == old.sheetnames and f.user_sheet in new.sheetnames
    assert (new[f.user_sheet]["B4"].value, new[f.user_sheet]["C4"].value) == ("=SUM(B2:B3)", "=B4*100")
    for sheet, address in f.styled_cells:
        font = new[sheet][address].font
        assert font.b and font.color.rgb.endswith("C00000") and font.name == "微软雅黑"
    for ws_old, ws_new in zip(old.worksheets, new.worksheets, strict=True):
        assert [(str(r.sqref), r.type, r.formula1) for r in ws_new.data_validations.dataValidation] == [
            (str(r.sqref), r.type, r.formula1) for r in ws_old.data_validations.dataValidation
        ]
        assert [
            (str(cf.sqref), [rule.type for rule in cf.rules]) for cf in ws_new.conditional_formatting
        ] == [(str(cf.sqref), [rule.type for rule in cf.rules]) for cf in ws_old.conditional_formatting]
        assert dict(ws_new.tables.items()) == dict(ws_old.tables.items())  # name → ref
        assert ws_new.protection.sheet == ws_old.protection.sheet
    assert {n: d.attr_text for n, d in new.defined_names.items()} == {
        n: d.attr_text for n, d in old.defined_names.items()
    }
    cf_rules = [rule.type for cf in new[f.conditional_sheet].conditional_formatting for rule in cf.rules]
    assert {"cellIs", "dataBar"} <= set(cf_rules)

    parts = zip_parts(built.output)
    by_title = sheet_parts(built.output)
    x14 = etree.fromstring(parts[by_title[f.x14_sheet]])
    ext = x14.find(f"{{{MAIN_NS}}}extLst/{{{MAIN_NS}}}ext[@uri='{X14_DV_URI}']")
    assert ext is not None, "the x14 list validation is gone"
    xm = "{http://schemas.microsoft.com/office/excel/2006/main}"
    assert [e.text for e in ext.iter(f"{xm}sqref")] == [f.x14_sqref]
    assert [e.text for e in ext.iter(f"{xm}f")] == [f"'{f.hidden_sheet}'!$A$1:$A${len(UNITS)}"]
    drawing = parts[f.drawing_part].decode("utf-8")
    assert "<xdr:pic>" in drawing and TEXTBOX_TEXT in drawing
    assert parts[f.image_part] == tiny_png()
    readme_rels = parts[rels_part(by_title[f.drawing_sheet])].decode("utf-8")
    assert f.drawing_part.rsplit("/", 1)[1] in readme_rels
    chart_sheet_rels = parts[rels_part(by_title[f.chart_sheet])].decode("utf-8")
    assert "drawing" in chart_sheet_rels
    assert any(name.startswith("xl/charts/chart") for name in parts)


def test_computed_cells_now_hold_the_evaluation(built: Built) -> None:
    expected = expected_cells(built.result)
    values, formulas = load(built.output, data_only=True), load(built.output)
    written = 0
    for (sheet, address), value in expected.items():
        got = values[sheet][address].value
        assert got == plain(value), (sheet, address, got, plain(value))
        if isinstance(value, Formula):
            assert formulas[sheet][address].value == "=" + value.text, (sheet, address)
        written += plain(value) is not None
    assert written > 100
    ev = built.result.evaluation
    assert (ev.total, ev.grade) == (80, "良")
    sheet, address = named_cell(built.output, "total_score")
    assert values[sheet][address].value == 80


def test_rebuilding_a_built_workbook_is_byte_identical(built: Built, tmp_path: Path) -> None:
    again = build_workbook(built.output, tmp_path)
    assert again.output is not None
    assert raw_entries(again.output) == raw_entries(built.output)
    assert again.evaluation.total == built.result.evaluation.total
    assert [f.message for f in again.findings] == [f.message for f in built.result.findings]


def test_in_place_writes_a_backup_first_then_updates_the_file(
    decorated: UserFeatures, tmp_path: Path
) -> None:
    work = tmp_path / NAME
    shutil.copy(decorated.path, work)
    original = work.read_bytes()
    result = build_workbook(work, in_place=True)
    assert result.output == work
    assert result.backup is not None and result.backup.parent == work.parent
    assert result.backup.read_bytes() == original
    assert work.read_bytes() != original
    sheet, address = named_cell(work, "total_score")
    assert load(work, data_only=True)[sheet][address].value == result.evaluation.total == 80
    second = build_workbook(work, in_place=True)  # a second backup never overwrites the first
    assert second.backup is not None and second.backup != result.backup
    assert result.backup.read_bytes() == original


def test_in_place_backup_exists_before_the_write_fails(
    decorated: UserFeatures, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / NAME
    shutil.copy(decorated.path, work)
    original = work.read_bytes()

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("xlperf.workbook.build.patch_workbook", fail)
    with pytest.raises(OutputError, match="无法写入输出文件"):
        build_workbook(work, in_place=True)
    assert work.read_bytes() == original
    backups = sorted(tmp_path.glob("*.bak*.xlsx"))
    assert [b.name for b in backups] == [NAME.replace(".xlsx", ".bak.xlsx")]
    assert backups[0].read_bytes() == original


# ------------------------------------------------------------------------------------------
# Inputs edited after a build
# ------------------------------------------------------------------------------------------


def test_stale_findings_rows_are_cleared_when_there_are_fewer(built: Built, tmp_path: Path) -> None:
    first = built.result
    loc = first.locator
    goals = loc.tables[c.GOALS.name]
    fixes: dict[Key, object] = {
        loc.names["claimed_total"]: 94.75,
        loc.names["claimed_grade"]: "优",
        loc.names["team_members"]: "黄婧、孔令凯、赵明明",
        loc.names["departments_stated"]: 8,
    }
    for index, actual in enumerate((4.7, 23000, 10.5, 3, 5, 12, 300, 0.97)):
        fixes[(goals.sheet, goals.cell("完成值", index) or "")] = actual
    edited = tmp_path / "edited" / NAME
    edited.parent.mkdir()
    patch_workbook(built.output, edited, fixes)
    second = build_workbook(edited, tmp_path / "out")
    assert 0 < len(second.findings) < len(first.findings)

    wb = load(second.output, data_only=True)
    sheet, header = loc.names[c.FINDINGS_NAME]
    ws = wb[sheet]
    header_row = int(header.split(":")[0].lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    rows = [
        tuple(ws.cell(header_row + 1 + i, col).value for col in range(1, len(c.FINDING_HEADERS) + 1))
        for i in range(len(first.findings) + 3)
    ]
    assert [r[:3] for r in rows[: len(second.findings)]] == [
        (f.severity_label, check_family(f.check), f.message) for f in second.findings
    ]
    assert all(r == (None,) * len(c.FINDING_HEADERS) for r in rows[len(second.findings) :])
    errors = sum(f.severity == "error" for f in second.findings)
    sheet, address = loc.names["finding_errors"]
    assert wb[sheet][address].value == errors


def test_a_formula_typed_into_an_input_cell_is_read_through_its_cached_value(
    built: Built, tmp_path: Path
) -> None:
    where = built.result.locator.names["budget_adjustment"]
    typed = tmp_path / "typed" / NAME
    typed.parent.mkdir()
    patch_workbook(built.output, typed, {where: Formula("100+20.5", 120.5)})
    result = build_workbook(typed, tmp_path / "out")
    assert result.evaluation.data.get("budget_adjustment") == 120.5
    assert where in result.locator.formula_cells and where not in result.locator.own_formula_cells
    expected = rates.budget_adj_rate(120.5, None, example_data().get("budget_exp_total")).cell()
    assert isinstance(expected, float)
    sheet, address = built.result.locator.names["rate_budget_adj"]
    values = load(result.output, data_only=True)
    assert values[sheet][address].value == expected
    assert values[where[0]][where[1]].value == 120.5
    assert load(result.output)[where[0]][where[1]].value == "=100+20.5"  # the user's formula is kept


# ------------------------------------------------------------------------------------------
# .xlsm: VBA and ribbon
# ------------------------------------------------------------------------------------------


def test_xlsm_keeps_vba_ribbon_and_everything_else(built_xlsm: Built) -> None:
    assert built_xlsm.output.suffix == ".xlsm"
    assert built_xlsm.sha_after == built_xlsm.sha_before
    before, after = raw_entries(built_xlsm.source), raw_entries(built_xlsm.output)
    assert [e[0] for e in after] == [e[0] for e in before]
    allowed = patched_parts(built_xlsm.source, built_xlsm.result)
    changed = {b[0] for b, a in zip(before, after, strict=True) if a != b}
    assert changed <= allowed
    names = {e[0] for e in after}
    assert {"xl/vbaProject.bin", "customUI/customUI.xml"} <= names
    assert verify_xlsm(built_xlsm.output, VBA_MODULES, CUSTOM_UI) == []
    content_types = zip_parts(built_xlsm.output)["[Content_Types].xml"]
    assert b"application/vnd.ms-excel.sheet.macroEnabled.main+xml" in content_types
    values = load(built_xlsm.output, data_only=True)
    for (sheet, address), value in expected_cells(built_xlsm.result).items():
        assert values[sheet][address].value == plain(value), (sheet, address)
