"""Tests of the Excel emulation itself (Excel 行为模拟的测试): :mod:`helpers_excel`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.utils import column_index_from_string

from helpers_excel import (
    Recalc,
    Sheets,
    cell_result,
    error_value,
    officejs_arg,
    parse_call,
    same_cell,
    split_args,
)


def test_split_and_parse_respect_quotes_and_nesting() -> None:
    assert parse_call('=RUBRIC_SUBTOTAL("",rubric_codes,rubric_scores)') == (
        "RUBRIC_SUBTOTAL",
        ['""', "rubric_codes", "rubric_scores"],
    )
    assert parse_call('=HYPERLINK("#\'a,b\'!A1","x, ""y""")') == (
        "HYPERLINK",
        ["\"#'a,b'!A1\"", '"x, ""y"""'],
    )
    assert parse_call("=rate_budget_adj") is None
    assert split_args("F(a,b),c") == ["F(a,b)", "c"]


def test_officejs_arguments_and_results() -> None:
    assert officejs_arg("#DIV/0!") == error_value("#DIV/0!")
    assert officejs_arg(dt.date(2024, 1, 1)) == 45292
    assert officejs_arg("") is None
    assert cell_result({"type": "Error", "errorType": "Div0"}) == "#DIV/0!"
    assert same_cell("", None) and same_cell(0.1 + 0.2, 0.3) and not same_cell(1, "1")


def test_recalc_evaluates_through_xlwings(tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "S"
    ws["A1"], ws["A2"], ws["A3"] = 12.5, 250, "=BUDGET_ADJ_RATE(A1,B1,A2)"
    ws["A4"] = "=PERF_GRADE(A5)"
    ws["A5"] = '=RUBRIC_SUBTOTAL("",C1:C2,D1:D2)'
    ws["C1"], ws["C2"], ws["D1"], ws["D2"] = "1", "2", 50, 41
    path = tmp_path / "s.xlsx"
    wb.save(path)
    recalc = Recalc(Sheets.from_file(path, formulas=True))
    try:
        assert recalc.value("S", 3, 1) == pytest.approx(0.05)
        assert recalc.value("S", 4, 1) == "优"
        assert recalc.calls == {"BUDGET_ADJ_RATE": 1, "PERF_GRADE": 1, "RUBRIC_SUBTOTAL": 1}
    finally:
        recalc.close()


def test_actions_replay_like_the_task_pane() -> None:
    sheets = Sheets(["A"], {("A", 1, 1): 1}, {})
    sheets.apply(
        [
            {"func": "addSheet", "args": [1, "B"]},
            {
                "func": "setValues",
                "sheet_position": 1,
                "start_row": 0,
                "start_column": 1,
                "values": [["x"], [""]],
            },
            {
                "func": "setFormula",
                "sheet_position": 0,
                "start_row": 0,
                "start_column": 0,
                "values": [["=F()"]],
            },
            {"func": "alert", "args": ["m", "t", "ok", "info", ""]},
        ]
    )
    assert sheets.order == ["A", "B"]
    assert sheets.value("B", "B1") == "x" and sheets.value("A", "A1") == "=F()"
    assert sheets.written[("B", "B2")] == "" and sheets.alerts[0][0] == "m"
    assert column_index_from_string("B") == 2
