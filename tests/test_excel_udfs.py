"""The cell functions (工作表函数) through xlwings' own machinery, against the headless build.

Every call goes through ``xlwings.server.custom_functions_call`` with the JSON the Office.js
client posts, or through the classic (Windows COM) decorators' metadata; results are compared
with what ``xlperf build`` writes for the example unit.
"""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
import xlwings.server
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers_excel import (
    ROOT,
    Recalc,
    Sheets,
    address,
    example_files,
    officejs_arg,
    parse_call,
    same_cell,
)
from tools.bookjson import custom_function_body
from xlperf.core.functions import FUNCTIONS, PARAM_DOCS, SheetFunction
from xlperf.excel import udfs
from xlperf.excel.addin import classic_udfs
from xlperf.io.xlsxpatch import Formula
from xlperf.workbook.build import evaluate_workbook
from xlperf.workbook.cells import computed_cells


def call(name: str, *args: object, runtime: str = "1.4", module: types.ModuleType = udfs) -> object:
    """One custom-function call as Office.js makes it; returns the single result cell."""
    body = custom_function_body(name, list(args), runtime=runtime)
    result = asyncio.run(xlwings.server.custom_functions_call(body, module))
    assert isinstance(result, list) and len(result) == 1 and len(result[0]) == 1, result
    return result[0][0]


@pytest.fixture(scope="module")
def build_cells() -> dict[tuple[str, str], Formula]:
    """Every formula cell the headless build writes for the example, with the value it wrote."""
    _, built = example_files()
    inputs, ev, _, _ = evaluate_workbook(built)
    return {k: v for k, v in computed_cells(inputs.locator, ev).items() if isinstance(v, Formula)}


def test_every_sheet_function_is_registered_with_chinese_help() -> None:
    meta = xlwings.server.custom_functions_meta(udfs)
    functions = {f["id"]: f for f in meta["functions"]}
    assert sorted(functions) == sorted(FUNCTIONS)
    for name, entry in FUNCTIONS.items():
        assert hasattr(getattr(udfs, name), "__xlfunc__"), name  # not xlwings' silent no-op stub
        f = functions[name]
        assert f["name"] == name  # bare, as the workbook's formulas are written
        assert any("\u4e00" <= ch <= "\u9fff" for ch in f["description"]), name
        assert not __import__("re").search(r"\b(?!min\b|max\b)[A-Za-z]{3,}\b", f["description"]), f
        assert len(f["description"]) <= 255
        params = [(p["name"], p["description"], p.get("optional", False)) for p in f["parameters"]]
        signature = udfs.core_signature(entry).parameters.values()
        assert params == [
            (udfs.vba_name(p.name), PARAM_DOCS[p.name], p.default is not p.empty) for p in signature
        ], name


def test_udf_results_equal_the_headless_build(build_cells: dict[tuple[str, str], Formula]) -> None:
    """Excel's recalculation of the built example, every function served by xlwings, equals the build."""
    _, built = example_files()
    sheets = Sheets.from_file(built, formulas=True)
    recalc = Recalc(sheets)
    try:
        for (sheet, cell), formula in build_cells.items():
            assert sheets.value(sheet, cell) == "=" + formula.text, (sheet, cell)
            got = recalc.value(sheet, *_row_col(cell))
            assert same_cell(got, formula.value), (sheet, cell, formula.text, got, formula.value)
    finally:
        recalc.close()
    assert recalc.circular == set()  # Excel would refuse a formula that reads its own cell
    used = {name for name in FUNCTIONS if any(f.text.startswith(name + "(") for f in build_cells.values())}
    assert set(recalc.calls) == used and len(build_cells) > 130
    assert sum(recalc.calls.values()) >= len(build_cells) - 20  # bare =rate_x references need no call


def _row_col(cell: str) -> tuple[int, int]:
    from openpyxl.utils import range_boundaries

    col, row = range_boundaries(cell)[:2]
    return row, col


def _classic_shape(matrix: list[list[object]]) -> object:
    """What classic xlwings hands a UDF for a range: a scalar, a 1-D list for a row or column."""
    values = [[v["basicValue"] if isinstance(v, dict) else v for v in row] for row in matrix]
    if len(values) == 1 and len(values[0]) == 1:
        return values[0][0]
    if len(values) == 1 or all(len(row) == 1 for row in values):
        return [v for row in values for v in row]
    return values


def test_classic_udfs_compute_the_build_from_com_shaped_arguments(
    build_cells: dict[tuple[str, str], Formula],
) -> None:
    """The functions as the Windows COM server calls them: scalars and 1-D lists, not matrices."""
    _, built = example_files()
    cached = Recalc(Sheets.from_file(built, formulas=False))
    classic = classic_udfs()
    checked = 0
    for (sheet, _), formula in build_cells.items():
        parsed = parse_call(formula.text)
        if parsed is None:
            continue
        name, tokens = parsed
        assert classic[name].__xlfunc__["category"] == udfs.CATEGORY
        assert all(a["options"] == {"err_to_str": True} for a in classic[name].__xlfunc__["args"])
        args = [_classic_shape(cached.argument(sheet, token)) for token in tokens]
        assert same_cell(classic[name](*args), formula.value), (name, args)
        checked += 1
    cached.close()
    assert checked > 120


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("BUDGET_ADJ_RATE", [[[12.5]], [[None]], [[250]]], 0.05),  # blank cell = nothing excluded
        ("BUDGET_ADJ_RATE", [[["1,234.50"]], [[0]], [["１２３４５"]]], 0.1),  # text and full-width numbers
        ("BUDGET_ADJ_RATE", [[["12.5"]], [["0"]], [["250万元"]]], 0.05),
        ("STAFF_CONTROL_RATE", [[[40]], [[30], [20]]], 0.8),  # a range is summed
        ("PROCUREMENT_EXEC_RATE", [[["45%"]], [[0.5]]], 0.9),
        ("PERF_GRADE", [[[85]], None], "良"),  # omitted optional argument
        ("PERF_GRADE", [[["95"]], [["优:95,良:80,中:60,差:0"]]], "优"),
        ("RUBRIC_SUBTOTAL", [[[""]], [["1", "1.1", "2"]], [[None, 3, 4]]], 4.0),  # 2-D ranges
    ],
)
def test_values_behave_as_excel_users_expect(name: str, args: list[object], expected: object) -> None:
    got = call(name, *args)
    assert same_cell(got, expected), got


def test_blank_error_and_text_arguments_give_the_core_reason() -> None:
    missing = call("BUDGET_ADJ_RATE", [[5]], [[0]], [[None]])
    error = call(
        "BUDGET_ADJ_RATE", [[{"type": "Error", "basicValue": "#DIV/0!", "errorType": "Div0"}]], [[0]], [[9]]
    )
    words = call("STAFF_CONTROL_RATE", [["三十"]], [[30]])
    for text in (missing, error, words):
        assert isinstance(text, str) and text.startswith("无法计算")
    assert "缺少" in missing and "#DIV/0!" in error and "阿拉伯数字" in words
    assert error == FUNCTIONS["BUDGET_ADJ_RATE"]("#DIV/0!", 0, 9)


def test_error_results_become_excel_errors_only_for_new_runtimes() -> None:
    entry = SheetFunction("NA_TEST", lambda value: "#N/A", "测试", (("value", "值"),))
    module = _module_with(entry)
    assert call("NA_TEST", [[1]], module=module) == {"type": "Error", "errorType": "NotAvailable"}
    assert call("NA_TEST", [[1]], runtime="1.1", module=module) == "#N/A"


def _module_with(entry: SheetFunction) -> types.ModuleType:
    module = types.ModuleType("xlperf_test_udfs")
    udf = udfs._wrapper(entry)
    for param, doc in entry.params:
        udf = xlwings.server.arg(param, doc=doc, err_to_str=True)(udf)
    setattr(module, entry.name, xlwings.server.func(udf))
    return module


def test_a_failing_function_shows_a_sentence_not_a_traceback() -> None:
    def broken(value: object) -> object:
        return 1 / 0

    module = _module_with(SheetFunction("BROKEN", broken, "坏函数", (("value", "值"),)))
    text = call("BROKEN", [[1]], module=module)
    assert text.startswith("无法计算 BROKEN：参数有误（ZeroDivisionError") and "Traceback" not in text


CELLS = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**12), 10**12),
    st.booleans(),
    st.sampled_from(
        [
            "",
            " ",
            "1,234.50",
            "12%",
            "１２３",
            "4419.16万元",
            "三十",
            "=A1",
            "≥",
            "≤",
            "调整后预算",
            "2.1",
            "G1,G2",
        ]
    ),
    st.sampled_from(["#DIV/0!", "#N/A", "#VALUE!", "#REF!"]).map(officejs_arg),
    st.text(max_size=8),
)
MATRICES = st.lists(st.lists(CELLS, min_size=1, max_size=3), min_size=1, max_size=3).map(
    lambda rows: [row + [None] * (max(map(len, rows)) - len(row)) for row in rows]
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(sorted(FUNCTIONS)), data=st.data())
def test_any_argument_gives_a_cell_value(name: str, data: st.DataObject) -> None:
    arity = len(FUNCTIONS[name].params)
    args = [data.draw(st.one_of(st.none(), MATRICES)) for _ in range(arity)]
    got = call(name, *args)
    if isinstance(got, dict):
        assert got["type"] == "Error"
    else:
        assert got is None or isinstance(got, str | int | float | bool), got
        assert not (isinstance(got, float) and not math.isfinite(got))
        assert "Traceback" not in str(got)


def test_the_module_imports_on_a_pc_without_excel_and_without_server_mode(tmp_path: Path) -> None:
    """Off Windows and off the server the decorators are xlwings' inert stubs: still plain functions."""
    env = {k: v for k, v in os.environ.items() if k != "XLWINGS_ON_SERVER"}
    env["PYTHONPATH"] = str(ROOT / "src")
    code = (
        "from xlperf.excel import udfs\n"
        "f = udfs.BUDGET_ADJ_RATE\n"
        "print(hasattr(f, '__xlfunc__'), f(12.5, None, [[250]]), sorted(udfs.__all__) == sorted(udfs.FUNCTIONS))"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "0.05", "True"]


def test_the_workbook_formulas_have_no_circular_reference() -> None:
    _, built = example_files()
    assert self_references(Sheets.from_file(built, formulas=True)) == set()


def self_references(sheets: Sheets) -> set[tuple[str, str]]:
    """Formula cells whose arguments include the cell itself (Excel's circular-reference warning)."""
    from openpyxl.utils import range_boundaries

    found = set()
    for (sheet, row, col), raw in sheets.cells.items():
        parsed = parse_call(raw) if isinstance(raw, str) and raw.startswith("=") else None
        for token in parsed[1] if parsed else []:
            where, ref = sheets.names.get(token, (sheet, token))
            try:
                min_col, min_row, max_col, max_row = range_boundaries(ref.replace("$", ""))
            except ValueError:
                continue
            if where == sheet and min_row <= row <= max_row and min_col <= col <= max_col:
                found.add((sheet, address(row, col)))
    return found


def test_the_self_reference_check_finds_them() -> None:
    """The check above is not vacuous: a subtotal over a range holding itself is found."""
    sheets = Sheets(
        ["S"],
        {("S", 1, 2): "=RUBRIC_SUBTOTAL(A1,codes,B1:B3)", ("S", 2, 2): "=RUBRIC_SUBTOTAL(A2,A3:A3,B3:B3)"},
        {"codes": ("S", "A1:A3")},
    )
    assert self_references(sheets) == {("S", "B1")}
