"""Every kind of value in every kind of input cell (各类单元格值): it works as a user expects, or a
finding names the sheet and cell, says what was found and (in Chinese) what is expected.

One workbook per value: the value is written into every target cell at once (a money field, a count,
a text, a long text, a choice, a setting, and number and text cells of each table), the workbook is
built once, and each (value, cell) pair is a test.  Known gaps outside this issue's files are marked
``xfail(strict=True)`` with the reproduction in the reason, so they turn into failures when fixed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from openpyxl import load_workbook

from helpers_bad_input import (
    Date,
    Err,
    Form,
    Merge,
    Text,
    assert_clean_exit,
    cell_elements,
    example_copy,
    field_cell,
    locate_inputs,
    scratch_dir,
    table_cell,
    write_cells,
    xlperf,
)
from xlperf.core.numbers import parse_number
from xlperf.workbook.build import BuildResult, build_workbook

CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Target:
    """An input cell under test and what kind of value it wants."""

    name: str
    kind: str  # "number", "text" or "choice"
    locate: object  # (book) -> (sheet, coord)


def _rubric_row(book: Path, code: str) -> int:
    wb = load_workbook(book)
    ws = wb["指标评分"]
    return next(r - 5 for r in range(5, ws.max_row + 1) if ws.cell(r, 1).value == code)


TARGETS = (
    Target("money", "number", lambda b: field_cell(b, "final_income_total")),
    Target("count", "number", lambda b: field_cell(b, "staff_actual")),
    Target("setting", "number", lambda b: field_cell(b, "tolerance_money")),
    Target("text", "text", lambda b: field_cell(b, "unit_name")),
    Target("longtext", "text", lambda b: field_cell(b, "duties")),
    Target("choice", "choice", lambda b: field_cell(b, "budget_basis")),
    Target("goal.actual", "number", lambda b: table_cell(b, "tbl_goals", "完成值", 0)),
    Target("class.budget", "number", lambda b: table_cell(b, "tbl_classes", "预算数", 0)),
    Target("quarter.spent", "number", lambda b: table_cell(b, "tbl_quarters", "累计支出", 1)),
    Target("rubric.max", "number", lambda b: table_cell(b, "tbl_rubric", "分值", _rubric_row(b, "2.2.1"))),
    Target(
        "rubric.self", "number", lambda b: table_cell(b, "tbl_rubric", "自评得分", _rubric_row(b, "2.2.2"))
    ),
    Target(
        "rubric.stated",
        "number",
        lambda b: table_cell(b, "tbl_rubric", "单位自述值", _rubric_row(b, "2.1.2")),
    ),
    Target(
        "rubric.actual", "number", lambda b: table_cell(b, "tbl_rubric", "实际值", _rubric_row(b, "2.3.1"))
    ),
    Target("team.name", "text", lambda b: table_cell(b, "tbl_team", "姓名", 0)),
    Target("goal.name", "text", lambda b: table_cell(b, "tbl_goals", "指标名称", 0)),
)
TARGET = {t.name: t for t in TARGETS}


@dataclass(frozen=True)
class Case:
    """A value and what a user expects of it in a number cell (``number``) and a text cell."""

    value: object
    number: object  # a float: parsed to it; "finding": a finding naming the cell; None: no claim
    text: object = "same"  # "same": read back as written; "finding"; None: no claim
    found: tuple[str, ...] = ()  # what a finding must quote


CASES = {
    "blank": Case(None, None, None),
    "zero": Case(0, 0.0),
    "negative": Case(-5, -5.0),
    "huge": Case(1e300, None),
    "chinese_numeral": Case(Text("一千"), "finding", found=("一千",)),
    "thousands": Case(Text("1,234.50"), 1234.5),
    "percent": Case(Text("12%"), 0.12),
    "fullwidth": Case(Text("１２３"), 123.0),
    "wan_yuan": Case(Text("4419.16万元"), 4419.16),
    "spaces": Case(Text(" 12 "), 12.0),
    "plus_text": Case(Text("+5"), 5.0),
    "minus_text": Case(Text("-x"), "finding", found=("-x",)),
    "at_text": Case(Text("@foo"), "finding", found=("@foo",)),
    "equals_text": Case(Text("=1+2"), "finding", found=("=1+2",)),
    "date": Case(Date(dt.datetime(2024, 3, 1)), "finding", None, found=("日期",)),
    "true": Case(True, "finding", None, found=("TRUE",)),
    "div0": Case(Err("#DIV/0!"), "finding", "finding", found=("#DIV/0!",)),
    "ref": Case(Err("#REF!"), "finding", "finding", found=("#REF!",)),
    "name": Case(Err("#NAME?"), "finding", "finding", found=("#NAME?",)),
    "formula_cached": Case(Form("4000+419.16", 4419.16), 4419.16, None),
    "formula_cached_text": Case(Form('"高邑"&"镇"', "高邑镇"), "finding", "cached", found=("高邑镇",)),
    "formula_cached_error": Case(Form("1/0", Err("#DIV/0!")), "finding", "finding", found=("#DIV/0!",)),
    "formula_no_cache": Case(Form("1+2", has_cache=False), "finding", "finding", found=("公式",)),
}
CHOICE_CASES = {
    "blank": None,
    "valid": "调整后预算",
    "chinese_numeral": "finding",
    "div0": "finding",
    "zero": "finding",
}

# Known gaps outside this files: (case, target) -> reason.  Each is a reproduction.
_READ = "xlperf/workbook/read.py"
_CHECKS = "xlperf/core/checks.py check_inputs"
GAPS: dict[tuple[str, str], str] = {}


@cache
def _places() -> dict[str, tuple[str, str]]:
    """Where every target is: the same in every copy of the example."""
    book = example_copy(scratch_dir("xlperf-places-"))
    return {t.name: t.locate(book) for t in TARGETS}  # type: ignore[operator]


@cache
def _built(case_name: str, folder: str) -> tuple[BuildResult, dict[str, tuple[str, str]], Path]:
    directory = Path(folder) / case_name
    book = example_copy(directory / "in")
    places = _places()
    value = CASES[case_name].value if case_name in CASES else CHOICE_CASES[case_name]
    cells = {where: value for name, where in places.items() if name != "choice"}
    choice = {"valid": "调整后预算", "zero": 0}.get(case_name, CASES.get(case_name, Case(None, None)).value)
    cells[places["choice"]] = choice
    source = write_cells(book, directory / "in" / "case.xlsx", cells)
    return build_workbook(source, directory / "out"), places, source


@cache
def _read_values(output: Path) -> dict[tuple[str, str], object]:
    """The raw value the reader gives every input cell of a built workbook."""
    from xlperf.workbook.read import read_workbook

    return read_workbook(output).values


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("cells"))


def _findings_at(result: BuildResult, where: tuple[str, str]) -> list[str]:
    place = f"{where[0]}!{where[1]}"
    return [f.message for f in result.findings if place in result.where(f).split("、")]


def _read_back(result: BuildResult, where: tuple[str, str]) -> object:
    assert result.output is not None
    return _read_values(result.output).get(where)


def _marks(key: tuple[str, str]) -> list[object]:
    if key not in GAPS or os.environ.get("XLPERF_SHOW_GAPS"):
        return []
    return [pytest.mark.xfail(strict=True, reason=GAPS[key])]


def _params() -> list[object]:
    params = []
    for case_name, case in CASES.items():
        for target in TARGETS:
            if target.kind == "choice":
                continue
            expect = case.number if target.kind == "number" else case.text
            if expect is None:
                continue
            if target.name == "setting" and case_name in ("negative",):
                expect = "finding"
            marks = _marks((case_name, target.name))
            params.append(
                pytest.param(case_name, target.name, expect, id=f"{case_name}-{target.name}", marks=marks)
            )
    return params


@pytest.mark.parametrize(("case_name", "target_name", "expect"), _params())
def test_value_in_cell_works_or_is_explained(
    case_name: str, target_name: str, expect: object, folder: str
) -> None:
    result, places, _ = _built(case_name, folder)
    where = places[target_name]
    messages = _findings_at(result, where)
    case = CASES[case_name]
    if expect == "finding":
        assert messages, f"no finding names {where} for {case.value!r}"
        assert all(CJK.search(m) for m in messages)
        if case.found:
            assert any(all(word in m for word in case.found) for m in messages), messages
    elif expect == "same":
        raw = _read_back(result, where)
        written = case.value.text if isinstance(case.value, Text) else case.value
        assert raw == written or str(raw).strip() == str(written).strip(), (raw, written)
    elif expect == "cached":
        assert _read_back(result, where) == case.value.cached  # type: ignore[union-attr]
    else:
        raw = _read_back(result, where)
        assert parse_number(raw).value == pytest.approx(expect), (raw, messages)
        assert not [m for m in messages if "无法识别" in m or "应为数字" in m], messages


@pytest.mark.parametrize(
    ("case_name", "expect"),
    [
        pytest.param(
            name,
            expect,
            marks=_marks((name, "choice")),
        )
        for name, expect in CHOICE_CASES.items()
    ],
)
def test_choice_field_values(case_name: str, expect: object, folder: str) -> None:
    result, places, _ = _built(case_name, folder)
    messages = _findings_at(result, places["choice"])
    if expect == "finding":
        assert any("调整后预算" in m or "年初预算" in m for m in messages), messages
    elif expect is not None:
        assert result.evaluation.data.get("budget_basis") == expect
        assert not messages


def test_negative_money_is_questioned(folder: str) -> None:
    result, places, _ = _built("negative", folder)
    assert any("负数" in m for m in _findings_at(result, places["money"]))


def test_merged_goal_cells_keep_the_goal_for_every_row(tmp_path: Path) -> None:
    """Users merge one 绩效目标 over the indicators under it, as in the reference report."""
    book = example_copy(tmp_path)
    top = table_cell(book, "tbl_goals", "绩效目标", 0)
    source = write_cells(book, tmp_path / "merged.xlsx", {top: Merge(1)})
    goals = build_workbook(source, tmp_path / "out").evaluation.data.goals
    assert goals[1].goal == goals[0].goal


def test_merging_over_an_input_names_the_hidden_cell(tmp_path: Path) -> None:
    """Merging 单位名称 with 评价年度 hides the year (Excel keeps the top-left value): a finding says so."""
    book = example_copy(tmp_path)
    source = write_cells(book, tmp_path / "merged.xlsx", {field_cell(book, "unit_name"): Merge(1)})
    result = build_workbook(source, tmp_path / "out")
    year = field_cell(book, "year")
    assert any("评价年度" in m for m in _findings_at(result, year))


@pytest.mark.parametrize(
    "case_name",
    [
        "div0",
        "formula_no_cache",
        "equals_text",
        "date",
    ],
)
def test_cli_check_json_reports_without_a_traceback(case_name: str, folder: str) -> None:
    _, _, source = _built(case_name, folder)
    run = xlperf("check", str(source), "--json")
    assert_clean_exit(run, (0, 1))
    assert json.loads(run.stdout)["findings"]


def test_cli_build_reports_without_a_traceback(folder: str) -> None:
    _, places, source = _built("div0", folder)
    run = xlperf("build", str(source), "-o", str(Path(folder) / "cli-out"))
    assert_clean_exit(run, (0, 1))
    assert "已写出" in run.stdout and "#DIV/0!" in run.stdout


def test_no_message_carries_a_traceback_or_a_python_repr(folder: str) -> None:
    for case_name in CASES:
        result, _, _ = _built(case_name, folder)
        for finding in result.findings:
            text = finding.message + "".join(map(str, finding.figures.values()))
            assert "Traceback" not in text and "datetime.datetime(" not in text and "object at 0x" not in text
            assert CJK.search(finding.message), finding.message


def test_an_invalid_goal_direction_names_the_direction_cell(tmp_path: Path) -> None:
    book = example_copy(tmp_path)
    where = table_cell(book, "tbl_goals", "方向", 0)
    result = build_workbook(write_cells(book, tmp_path / "d.xlsx", {where: Text("大约")}), tmp_path / "out")
    assert any("大约" in m for m in _findings_at(result, where))


def test_text_that_looks_like_an_xlperf_formula_is_kept(tmp_path: Path) -> None:
    # "=INDICATOR_SCORE(1)" typed as text into a mixed 实际值 cell is the user's text, not xlperf's formula
    master = example_copy(tmp_path / "master")
    mixed = next(i for i in locate_inputs(master) if i.mixed)
    source = write_cells(
        master, tmp_path / "case.xlsx", {(mixed.sheet, mixed.coord): Text("=INDICATOR_SCORE(1)")}
    )
    before = cell_elements(source)[(mixed.sheet, mixed.coord)]
    result = build_workbook(source, tmp_path / "out")
    assert (mixed.sheet, mixed.coord) not in result.locator.own_formula_cells
    assert cell_elements(result.output)[(mixed.sheet, mixed.coord)] == before
