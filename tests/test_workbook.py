"""The prepared workbook and its headless build: real .xlsx files built, rebuilt and re-read."""

from __future__ import annotations

import dataclasses
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlperf.core.evaluate import evaluate
from xlperf.examples import example_data
from xlperf.workbook import contract as c
from xlperf.workbook.build import build_workbook
from xlperf.workbook.create import blank_data, create_workbook
from xlperf.workbook.docs import contract_markdown
from xlperf.workbook.read import read_workbook

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = {
    "workbook/绩效自评模板.xlsx": lambda: blank_data("", 2024, "reference"),
    "workbook/绩效自评模板_财预2020-10号.xlsx": lambda: blank_data("", 2024, "caiyu2020"),
    "workbook/examples/高邑镇2024.xlsx": example_data,
}


@pytest.fixture(scope="module")
def example_book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("wb") / "高邑镇2024.xlsx"
    create_workbook(example_data(), path)
    return path


def _parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist() if name != "docProps/core.xml"}


@pytest.mark.parametrize("relative", sorted(COMMITTED))
def test_committed_workbooks_are_the_generator_output(relative: str, tmp_path: Path) -> None:
    fresh = tmp_path / Path(relative).name
    create_workbook(COMMITTED[relative](), fresh)
    committed, regenerated = _parts(ROOT / relative), _parts(fresh)
    assert sorted(committed) == sorted(regenerated)
    changed = [name for name in committed if committed[name] != regenerated[name]]
    assert changed == [], f"{relative} is stale; regenerate it (workbook/README.md): {changed}"


def test_a_new_workbook_spells_its_chinese_in_utf8(example_book: Path) -> None:
    parts = _parts(example_book)
    assert [name for name, data in parts.items() if re.search(rb"&#\d+;", data)] == []  # not &#22522;
    assert "基本信息".encode() in b"".join(parts.values())


def test_docs_are_generated_from_the_contract() -> None:
    assert (ROOT / "docs/workbook.md").read_text(encoding="utf-8") == contract_markdown()


def test_reading_back_gives_the_inputs(example_book: Path) -> None:
    original = example_data()
    read = read_workbook(example_book)
    assert read.locator.problems == []
    for key, value in original.fields.items():
        assert read.data.fields[key] == value, key
    assert read.data.classes[: len(original.classes)] == original.classes
    assert read.data.goals[: len(original.goals)] == original.goals
    assert read.data.team[: len(original.team)] == original.team
    for mine, theirs in zip(read.data.indicators, original.indicators, strict=True):
        assert (
            mine.code == theirs.code and mine.self_score == theirs.self_score and mine.stated == theirs.stated
        )
        assert mine.params == theirs.params and mine.rule == theirs.rule


def test_every_computed_cell_holds_the_core_value(example_book: Path) -> None:
    ev = evaluate(read_workbook(example_book).data)
    wb = load_workbook(example_book, data_only=True)
    names = {n: d for n, d in wb.defined_names.items()}

    def named(name: str) -> object:
        sheet, ref = next(iter(names[name].destinations))
        return wb[sheet][ref.replace("$", "")].value

    assert named("total_score") == ev.total == 80
    assert named("total_grade") == ev.grade == "良"
    assert named("self_total") == ev.self_total == 94.75
    assert named("rate_revenue_completion") == pytest.approx(8690.35 / 4419.16)
    assert named("rate_budget_adj") == "无法计算预算调整率：缺少预算调整数"
    ws = wb[c.S_RUBRIC]
    headers = {cell.value: cell.column_letter for cell in ws[4]}
    for row in range(5, ws.max_row + 1):
        code = ws[f"{headers['编号']}{row}"].value
        if code in ev.scores:
            assert ws[f"{headers['计算得分']}{row}"].value == ev.scores[code].score
            if ev.scores[code].leaf:
                assert ws[f"{headers['扣分原因']}{row}"].value == ev.scores[code].reason
    findings = wb[c.S_FINDINGS]
    assert findings["C4"].value == ev.findings[0].message
    assert findings.max_row == 3 + len(ev.findings)


def test_formulas_are_kept_and_not_recalculated_on_open(example_book: Path) -> None:
    wb = load_workbook(example_book)
    sheet, ref = next(iter(wb.defined_names["rate_budget_adj"].destinations))
    assert (
        wb[sheet][ref.replace("$", "")].value
        == "=BUDGET_ADJ_RATE(budget_adjustment,budget_adjustment_excluded,budget_exp_total,budget_adjusted_total)"
    )
    with zipfile.ZipFile(example_book) as zf:
        assert b"fullCalcOnLoad" not in zf.read("xl/workbook.xml")


def _edit(path: Path, edit: object) -> None:
    wb = load_workbook(path)
    edit(wb)  # type: ignore[operator]
    wb.save(path)


def _rubric_cell(wb: object, code: str, header: str) -> object:
    ws = wb[c.S_RUBRIC]  # type: ignore[index]
    headers = {cell.value: cell.column_letter for cell in ws[4]}
    for row in range(5, ws.max_row + 1):
        if ws[f"{headers['编号']}{row}"].value == code:
            return ws[f"{headers[header]}{row}"]
    raise KeyError(code)


def test_editing_the_rubric_in_the_workbook_changes_the_score(example_book: Path, tmp_path: Path) -> None:
    book = tmp_path / "edited.xlsx"
    shutil.copy(example_book, book)
    # 结转结余率 2.56%: full marks under ≤5%; tighten the band to ≤2% and it falls in the ≤10% → 50% band.
    _edit(
        book,
        lambda wb: setattr(
            _rubric_cell(wb, "2.1.4", "参数"), "value", "档次=2%:100%,10%:50%,其他:0%; 比较=不高于"
        ),
    )
    result = build_workbook(book, tmp_path / "out")
    assert result.evaluation.scores["2.1.4"].score == 1.0
    assert "结转结余率2.56%，不高于10.00%" in result.evaluation.scores["2.1.4"].reason
    built = load_workbook(result.output, data_only=True)
    assert _rubric_cell(built, "2.1.4", "计算得分").value == 1.0
    assert _rubric_cell(built, "2", "计算得分").value == 26.0


def test_text_numbers_typed_by_hand_give_the_same_results(example_book: Path, tmp_path: Path) -> None:
    book = tmp_path / "text.xlsx"
    shutil.copy(example_book, book)

    def edit(wb: object) -> None:
        for name, text in (
            ("final_income_total", "8,690.35"),
            ("budget_income_total", "4419.16万元"),
            ("carryover_end", " １１３.０７ "),
        ):
            sheet, ref = next(iter(wb.defined_names[name].destinations))  # type: ignore[attr-defined]
            wb[sheet][ref.replace("$", "")].value = text  # type: ignore[index]

    _edit(book, edit)
    assert (
        build_workbook(book, tmp_path / "o").evaluation.total
        == build_workbook(example_book, tmp_path / "p").evaluation.total
    )


def test_damaged_structure_is_reported_not_raised(example_book: Path, tmp_path: Path) -> None:
    book = tmp_path / "damaged.xlsx"
    shutil.copy(example_book, book)

    def damage(wb: object) -> None:
        del wb.defined_names["procurement_budget"]  # type: ignore[attr-defined]
        _rubric_cell(wb, "1", "佐证材料")  # the table is still there
        ws = wb[c.S_GOALS]  # type: ignore[index]
        ws["J4"].value = "原因说明"  # renamed column header

    _edit(book, damage)
    result = build_workbook(book, tmp_path / "out")
    messages = [f.message for f in result.findings if f.check == "workbook.structure"]
    assert any("procurement_budget" in m and "政府采购预算数" in m for m in messages)
    assert any("缺少列「偏差原因」" in m for m in messages)
    assert result.evaluation.total == 80


def test_input_is_never_modified_and_in_place_keeps_a_backup(example_book: Path, tmp_path: Path) -> None:
    book = tmp_path / "book.xlsx"
    shutil.copy(example_book, book)
    before = book.read_bytes()
    build_workbook(book, tmp_path / "out")
    assert book.read_bytes() == before
    result = build_workbook(book, in_place=True)
    assert result.backup is not None and result.backup.read_bytes() == before
    assert result.output == book


def test_a_new_blank_workbook_scores_nothing_and_warns(tmp_path: Path) -> None:
    path = tmp_path / "blank.xlsx"
    result = create_workbook(blank_data("某某镇人民政府", 2025, "caiyu2020"), path)
    assert result.evaluation.total == 0
    assert {f.check for f in result.findings} == {"score.self_missing"}
    assert read_workbook(path).data.get("unit_name") == "某某镇人民政府"


def test_inserted_goal_rows_are_read_through_the_table(example_book: Path, tmp_path: Path) -> None:
    book = tmp_path / "goals.xlsx"
    shutil.copy(example_book, book)
    data = example_data()
    goals = list(data.goals) + [
        dataclasses.replace(data.goals[0], goal_id="G9", indicator="新增指标", target=10, actual=12)
    ]
    create_workbook(dataclasses.replace(data, goals=tuple(goals)), book)
    ev = build_workbook(book, tmp_path / "out").evaluation
    assert ev.goal_rates[8].value == pytest.approx(1.2)


def test_committed_macro_workbook_is_the_builder_output(tmp_path: Path) -> None:
    from xlperf.excel.addin import build_macro_workbook

    fresh = build_macro_workbook(tmp_path / "绩效自评模板.xlsm")
    committed, regenerated = _parts(ROOT / "workbook/绩效自评模板.xlsm"), _parts(fresh)
    assert sorted(committed) == sorted(regenerated)
    assert [name for name in committed if committed[name] != regenerated[name]] == []


def test_a_blank_workbook_carries_no_other_units_indicators(tmp_path: Path) -> None:
    """`xlperf new --unit 某某局`: generic 产出 rows to be replaced, same tree and weights as the example's."""
    from xlperf.cli import main

    path = tmp_path / "某某局.xlsx"
    assert main(["new", "--unit", "某某局", "--year", "2025", "-o", str(path)]) == 0
    blank = read_workbook(path).data.indicators
    example = example_data().indicators
    assert [(str(r.code), r.maximum, r.rule) for r in blank] == [
        (str(r.code), r.maximum, r.rule) for r in example
    ]
    own = {r.name for r in example} - {r.name for r in blank}
    assert "抓好城市建设，打造最美县城" in own and len(own) == 9
    outputs = [r.name for r in blank if str(r.code).count(".") == 2 and str(r.code).startswith("3.")]
    assert outputs[:2] == ["数量指标1（请填写本单位指标）", "数量指标2（请填写本单位指标）"]
    assert all("请填写本单位指标" in name for name in outputs)


def test_a_build_parses_each_part_once_and_writes_what_separate_parses_write(
    example_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xlperf.io import opc

    parsed: list[str] = []
    parse = opc.parse_xml

    def counting(data: bytes, **where: object) -> object:
        parsed.append(str(where["part"]))
        return parse(data, **where)

    monkeypatch.setattr(opc, "parse_xml", counting)
    shared = build_workbook(example_book, tmp_path / "shared")
    assert "xl/workbook.xml" in parsed and sum("worksheets/sheet" in part for part in parsed) >= 6
    assert sorted(parsed) == sorted(set(parsed))  # the patch edits the trees the reader parsed
    monkeypatch.setattr(opc, "STREAM_ABOVE", 0)  # no tree kept: every part parsed anew by each step
    apart = build_workbook(example_book, tmp_path / "apart")
    assert shared.output is not None and apart.output is not None
    assert _parts(shared.output) == _parts(apart.output)


def test_row_heights_are_worked_out_once_per_row_text(example_book: Path, tmp_path: Path) -> None:
    from xlperf.io.xlsxwrite import wrapped_height
    from xlperf.workbook.cells import row_height

    row_height.cache_clear()
    first = build_workbook(example_book, tmp_path / "first")
    worked_out = row_height.cache_info().misses
    second = build_workbook(example_book, tmp_path / "second")
    assert worked_out > 20 and row_height.cache_info().misses == worked_out  # the second build: all kept
    assert first.output is not None and second.output is not None
    assert _parts(first.output) == _parts(second.output)
    texts = (("按序时进度考核，每低于 5 个百分点扣 1 分", 10.0), ("短", 30.0))
    assert row_height(texts) == wrapped_height(texts) > wrapped_height([])


def test_finding_rows_get_heights_and_cleared_rows_the_default(example_book: Path) -> None:
    from xlperf.io.cellref import range_boundaries
    from xlperf.workbook.cells import finding_cells, finding_row_heights

    inputs = read_workbook(example_book)
    loc, findings = inputs.locator, evaluate(inputs.data).findings
    sheet, anchor = loc.names[c.FINDINGS_NAME]
    header = range_boundaries(anchor)[1]
    heights = finding_row_heights(loc, finding_cells(loc, findings[:3], previous_rows=8))
    assert sorted(heights) == [(sheet, header + n) for n in range(1, 9)]  # the rows filled or cleared
    assert all(heights[(sheet, header + n)] for n in (1, 2, 3))
    assert all(heights[(sheet, header + n)] is None for n in range(4, 9))


def test_a_read_book_is_freed_as_soon_as_it_is_dropped(example_book: Path) -> None:
    import gc
    import weakref

    from xlperf.workbook.decoder import open_book
    from xlperf.workbook.read import read_book

    book = open_book(example_book)
    read_book(book)  # decodes its sheets, which refer to its package, not to the book (no cycle)
    dropped = weakref.ref(book)
    gc.disable()  # freed by reference counting, before any collection: a build frees it before its patch
    try:
        del book
        assert dropped() is None
    finally:
        gc.enable()
