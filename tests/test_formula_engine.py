"""The workbook's own formulas, evaluated by an independent engine (独立公式引擎核对).

``formulas`` (a Python Excel formula engine that knows nothing about xlperf) loads the workbook
``create_workbook`` wrote, parses the formula text of every computed cell, resolves its defined
names and ranges, and calls the xlperf sheet functions (:data:`xlperf.core.functions.FUNCTIONS`,
registered with an adapter that hands them values the way Excel/xlwings does).  Every value it
computes must equal the cached value the headless build wrote: if the formula text in a cell and
the Python dataflow of the build ever disagree — a wrong argument, a range that covers the wrong
cells, a circular reference — this test says which cell.

Two workbooks: the 高邑镇 example, and a variant whose inputs take the other branches (rates that
compute, text numbers, 调整后预算 as basis, a quarter schedule typed as 50, a 目标完成 indicator).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import formulas
import numpy as np
import pytest
import schedula as sh
from formulas.errors import RangeValueError
from formulas.functions import FUNCTIONS as ENGINE_FUNCTIONS
from formulas.functions import parse_ranges
from formulas.tokens.operand import XlError
from openpyxl import load_workbook
from openpyxl.formula.tokenizer import Token, Tokenizer
from openpyxl.utils import range_boundaries

from xlperf.core.evaluate import Evaluation
from xlperf.core.functions import FUNCTIONS, SheetFunction
from xlperf.core.metrics import METRICS
from xlperf.core.model import QuarterRow, UnitData
from xlperf.examples import example_data
from xlperf.io.xlsxpatch import Formula
from xlperf.workbook import contract as c
from xlperf.workbook.build import evaluate_workbook
from xlperf.workbook.cells import computed_cells
from xlperf.workbook.create import create_workbook
from xlperf.workbook.read import Locator

Key = tuple[str, str]
TOLERANCE = 1e-9
# '[高邑镇2024.xlsx]汇总'!B4 — the engine's result keys (sheet names upper-cased).
_RESULT_KEY = re.compile(r"^'?\[[^\]]*\](?P<sheet>.+?)'?!(?P<cell>[A-Z]{1,3}[0-9]+)$")


# ------------------------------------------------------------------------------------------
# The adapter: xlperf functions as the engine's functions
# ------------------------------------------------------------------------------------------


def excel_value(value: object) -> object:
    """One cell value as an Excel UDF receives it (xlwings defaults): blank → None, numbers → float."""
    if value is None or value is sh.EMPTY:
        return None
    if isinstance(value, XlError):
        return str(value)  # the error text, as the headless reader (openpyxl) sees an error cell
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, np.str_):
        return str(value)
    return value


def excel_arg(arg: object) -> object:
    """An argument as Excel passes it: a single cell as its value, a row or column as a list, else rows."""
    if not isinstance(arg, np.ndarray):
        return excel_value(arg)
    if arg.size == 1:
        return excel_value(arg.ravel()[0])
    grid = arg.reshape(arg.shape[0], -1) if arg.ndim > 1 else arg.reshape(1, -1)
    rows = [[excel_value(v) for v in row] for row in grid]
    if len(rows) == 1:
        return rows[0]
    if all(len(row) == 1 for row in rows):
        return [row[0] for row in rows]
    return rows


@dataclass
class Udf:
    """An xlperf sheet function callable by the engine; exceptions are recorded, not swallowed."""

    function: SheetFunction
    failures: list[str] = field(default_factory=list)

    def __call__(self, *args: object) -> object:
        values = [excel_arg(a) for a in parse_ranges(*args)[0]]  # RangeValueError: an input was not computed
        try:
            result = self.function(*values)
        except Exception as exc:  # the test reports it with the arguments
            self.failures.append(f"{self.function.name}{tuple(values)!r}: {type(exc).__name__}: {exc}")
            raise
        return sh.EMPTY if result is None else result


@pytest.fixture(scope="module")
def udfs() -> Iterator[dict[str, Udf]]:
    """Register every xlperf function with the engine for this module, then restore the engine."""
    saved = {name: ENGINE_FUNCTIONS[name] for name in FUNCTIONS if name in ENGINE_FUNCTIONS}
    registered = {name: Udf(function) for name, function in FUNCTIONS.items()}
    ENGINE_FUNCTIONS.update(registered)
    yield registered
    for name in FUNCTIONS:
        ENGINE_FUNCTIONS.pop(name, None)
    ENGINE_FUNCTIONS.update(saved)


def engine_values(path: Path) -> dict[Key, object]:
    """Load ``path`` into the engine, calculate, and return every single-cell result by (SHEET, cell)."""
    loggers = [logging.getLogger(name) for name in ("schedula", "formulas")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:  # cells it cannot compute are listed by the comparison instead
        logger.setLevel(logging.CRITICAL)
    try:
        solution = formulas.ExcelModel().loads(str(path)).finish().calculate()
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
    values: dict[Key, object] = {}
    for key, ranges in solution.items():
        match = _RESULT_KEY.match(str(key))
        if match is None:
            continue  # a range such as A5:A48
        try:
            value = ranges.value
        except RangeValueError:
            continue  # not computed: reported as missing by the comparison
        values[(match["sheet"].upper(), match["cell"])] = excel_arg(np.asarray(value, dtype=object))
    return values


def test_the_adapter_passes_values_as_excel_does() -> None:
    column = np.array([[1], [sh.EMPTY], ["2.5万元"]], dtype=object)
    row = np.array([[np.float64(0.25), True]], dtype=object)
    assert excel_arg(column) == [1.0, None, "2.5万元"]
    assert excel_arg(row) == [0.25, True]
    assert excel_arg(np.array([[np.int64(7)]], dtype=object)) == 7.0
    assert isinstance(excel_arg(np.array([[np.int64(7)]], dtype=object)), float)
    assert excel_arg(np.array([[1, 2], [3, sh.EMPTY]], dtype=object)) == [[1.0, 2.0], [3.0, None]]
    assert excel_arg(sh.EMPTY) is None
    assert excel_arg(XlError("#DIV/0!")) == "#DIV/0!"


# ------------------------------------------------------------------------------------------
# The two workbooks
# ------------------------------------------------------------------------------------------


def varied_data() -> UnitData:
    """The example with inputs that take the other branches of the functions (另一组输入)."""
    data = example_data()
    fields = dict(data.fields)
    fields.update(
        budget_adjustment=120.5,  # 预算调整率 now computes
        budget_adjustment_excluded=20.25,
        budget_adjusted_total=4539.66,
        budget_basis="调整后预算",  # completion, execution and progress on the adjusted budget
        carryover_basis="决算支出数",
        tp_abroad_budget=0,
        tp_abroad_actual=0,
        tp_abroad_last=0,
        tp_reception_budget=3.2,
        tp_reception_actual="2.85万元",  # a text number with its unit
        tp_reception_last=3.1,
        tp_vehicle_purchase_budget=0,
        tp_vehicle_purchase_actual=0,
        tp_vehicle_purchase_last=25,
        tp_vehicle_operation_budget=12.5,
        tp_vehicle_operation_actual=11.76,
        tp_vehicle_operation_last=12.02,
        fixed_assets_in_use="480.30",  # a text number
        key_project_exp=5000,
        grade_bands="优:85,良:75,中:60,差:0",
    )  # 政府采购 stays blank: its rate is a reason text
    quarters = (
        QuarterRow("第一季度", "1,000.50", 0.25),
        QuarterRow("第二季度", 2300, 50),  # 序时进度 typed as 50 (per cent)
        QuarterRow("第三季度", 3300.8, 0.75),
        QuarterRow("第四季度", "4,419.16", 1.0),
    )
    actuals = {"G1": 4.7, "G2": "22,000", "G3": 10.5, "G4": 1, "G6": 0.025, "G7": 260}
    goals = tuple(dataclasses.replace(g, actual=actuals.get(g.goal_id, g.actual)) for g in data.goals)
    indicators = []
    for row in data.indicators:
        if row.code == "3.3.1":  # a 目标完成 indicator: =GOALS_COMPLETION(...)
            row = dataclasses.replace(row, rule="目标完成", params="目标=G1,G2,G8", source="绩效目标")
        elif row.code == "4.1.2":
            row = dataclasses.replace(row, actual="92%", self_score="4.5")
        indicators.append(row)
    return dataclasses.replace(
        data, fields=fields, quarters=quarters, goals=goals, indicators=tuple(indicators)
    )


BOOKS: dict[str, Callable[[], UnitData]] = {"example": example_data, "varied": varied_data}


@dataclass
class Book:
    """A created workbook: formula text and cached values by cell, and the build's own view."""

    path: Path
    evaluation: Evaluation
    locator: Locator
    formulas: dict[Key, str]
    cached: dict[Key, object]
    defined: dict[str, list[Key]]


def _ranges(destinations: object) -> list[Key]:
    return [(sheet, ref.replace("$", "")) for sheet, ref in destinations]  # type: ignore[attr-defined]


@pytest.fixture(scope="module", params=sorted(BOOKS))
def book(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Book:
    path = tmp_path_factory.mktemp(request.param) / f"{request.param}.xlsx"
    create_workbook(BOOKS[request.param](), path)
    inputs, evaluation, _, _ = evaluate_workbook(path)
    wb, values = load_workbook(path), load_workbook(path, data_only=True)
    texts = {
        (ws.title, cell.coordinate): cell.value
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and cell.value.startswith("=")
    }
    defined = {}
    for name, item in wb.defined_names.items():
        try:
            defined[name.upper()] = _ranges(item.destinations)
        except Exception:  # a constant such as the layout version
            continue
    cached = {key: values[key[0]][key[1]].value for key in texts}
    return Book(path, evaluation, inputs.locator, texts, cached, defined)


@pytest.fixture(scope="module")
def evaluated(book: Book, udfs: dict[str, Udf]) -> dict[Key, object]:
    for udf in udfs.values():
        udf.failures.clear()
    values = engine_values(book.path)
    failures = [f for udf in udfs.values() for f in udf.failures]
    assert failures == [], "xlperf functions raised inside the engine:\n" + "\n".join(failures)
    return values


# ------------------------------------------------------------------------------------------
# What the engine is given
# ------------------------------------------------------------------------------------------


def test_the_formula_cells_are_exactly_the_computed_cells(book: Book) -> None:
    expected = {
        key: "=" + value.text
        for key, value in computed_cells(book.locator, book.evaluation).items()
        if isinstance(value, Formula)
    }
    assert book.formulas == expected
    # Every kind of computed cell is among them (so the comparison below covers each).
    names = book.locator.names
    covered = {names[c.rate_name(m.key)] for m in METRICS}
    covered |= {names[n] for n in ("total_score", "total_grade", "self_total", "self_grade")}
    columns = {
        c.QUARTERS: ("支出进度", "是否达到序时进度"),
        c.GOALS: ("完成率",),
        c.RUBRIC: ("实际值", "计算得分", "自评得分", "扣分原因"),
        c.SUMMARY: ("分值", "计算得分", "自评得分"),
    }
    for spec, headers in columns.items():
        pos = book.locator.tables[spec.name]
        for header in headers:
            cells = {(pos.sheet, pos.cell(header, i)) for i in range(pos.rows)} & set(book.formulas)
            assert cells, f"no formula in {spec.caption}.{header}"
            covered |= cells
    assert covered <= set(book.formulas)
    assert len(book.formulas) > 130


def test_formulas_call_only_xlperf_functions_on_known_names(book: Book) -> None:
    """The engine's own function library is not used (its ROUND, text conversion … differ from Excel)."""
    for (sheet, address), text in book.formulas.items():
        for token in Tokenizer(text).items:
            if token.type == Token.FUNC and token.subtype == Token.OPEN:
                assert token.value[:-1].upper() in FUNCTIONS, (sheet, address, text)
            elif token.type == Token.OPERAND and token.subtype == Token.RANGE and "!" not in token.value:
                is_cell = re.fullmatch(r"\$?[A-Z]{1,3}\$?[0-9]+(:\$?[A-Z]{1,3}\$?[0-9]+)?", token.value)
                assert is_cell or token.value.upper() in book.defined, (sheet, address, token.value)


def _references(text: str, sheet: str, defined: dict[str, list[Key]]) -> Iterator[tuple[str, Key]]:
    """Every (reference text, (sheet, range)) a formula refers to."""
    for token in Tokenizer(text).items:
        if token.type != Token.OPERAND or token.subtype != Token.RANGE:
            continue
        ref = token.value
        if ref.upper() in defined:
            for target in defined[ref.upper()]:
                yield ref, target
        elif "!" in ref:
            where, address = ref.rsplit("!", 1)
            yield ref, (where.strip("'").replace("''", "'"), address.replace("$", ""))
        else:
            yield ref, (sheet, ref.replace("$", ""))


def _contains(target: Key, cell: Key) -> bool:
    if target[0] != cell[0]:
        return False
    c1, r1, c2, r2 = range_boundaries(target[1])
    col, row = range_boundaries(cell[1])[:2]
    return c1 <= col <= c2 and r1 <= row <= r2


def test_no_formula_depends_on_itself(book: Book) -> None:
    """Excel refuses circular references (警告并显示 0): no computed cell may refer, directly or through
    other formulas, to a range that contains itself."""
    edges: dict[Key, dict[Key, str]] = {}
    for cell, text in book.formulas.items():
        edges[cell] = {}
        for ref, target in _references(text, cell[0], book.defined):
            for other in book.formulas:
                if _contains(target, other):
                    edges[cell].setdefault(other, ref)
    cycles: list[str] = []
    state: dict[Key, int] = {}  # 1 = on the current path, 2 = done

    def visit(cell: Key, path: list[Key]) -> None:
        state[cell] = 1
        for other, ref in edges[cell].items():
            if state.get(other) == 1:
                loop = [*path[path.index(other) :], cell, other] if other != cell else [cell, cell]
                cycles.append(" → ".join(f"{s}!{a}" for s, a in loop) + f"（{cell[0]}!{cell[1]} 经由 {ref}）")
            elif other not in state:
                visit(other, [*path, cell])
        state[cell] = 2

    for cell in sorted(edges):
        if cell not in state:
            visit(cell, [])
    self_loops = sorted(f"{s}!{a}" for (s, a), out in edges.items() if (s, a) in out)
    assert not cycles, (
        f"{len(cycles)} 条循环依赖，其中 {len(self_loops)} 个单元格引用了包含自身的区域"
        f"（{'、'.join(self_loops[:6])}…）；例如：\n" + "\n".join(cycles[:5])
    )


# ------------------------------------------------------------------------------------------
# What the engine computes
# ------------------------------------------------------------------------------------------


def _same(engine: object, cached: object) -> bool:
    if isinstance(engine, float) and isinstance(cached, int | float) and not isinstance(cached, bool):
        return math.isclose(engine, cached, rel_tol=0, abs_tol=TOLERANCE)
    return type(engine) is type(cached) and engine == cached


def test_the_engine_computes_what_the_build_wrote(book: Book, evaluated: dict[Key, object]) -> None:
    missing, different = [], []
    for (sheet, address), text in sorted(book.formulas.items()):
        key = (sheet.upper(), address)
        cached = book.cached[(sheet, address)]
        if key not in evaluated:
            missing.append(f"{sheet}!{address} {text}")
        elif not _same(evaluated[key], cached):
            different.append(f"{sheet}!{address} {text}: 引擎 {evaluated[key]!r}，工作簿 {cached!r}")
    assert not different and not missing, (
        f"{len(different)} 个单元格结果不同：\n"
        + "\n".join(different[:20])
        + f"\n{len(missing)} 个单元格引擎无法计算：\n"
        + "\n".join(missing[:20])
    )


def test_the_varied_workbook_takes_the_other_branches(book: Book) -> None:
    """The second workbook is only useful if its cells really differ in kind from the example's."""
    ev, names = book.evaluation, book.locator.names
    if book.path.stem == "example":
        assert isinstance(book.cached[names["rate_budget_adj"]], str)
        return
    rate = {m.key: book.cached[names[c.rate_name(m.key)]] for m in METRICS}
    computes = ("budget_adj", "quarters_on_schedule", "three_public_control", "three_public_change")
    for key in (*computes, "key_expenditure", "asset_utilization"):
        assert isinstance(rate[key], int | float) and not isinstance(rate[key], bool), (key, rate[key])
    assert rate["quarters_on_schedule"] == 1  # only the second quarter is on schedule
    assert isinstance(rate["procurement_exec"], str) and rate["procurement_exec"].startswith("无法计算")
    assert rate["budget_adj"] == pytest.approx((120.5 - 20.25) / 4419.16)
    goals = book.locator.tables[c.GOALS.name]
    completion = [
        book.cached[(goals.sheet, goals.cell("完成率", i) or "")] for i in range(len(ev.goal_rates))
    ]
    assert sum(isinstance(v, float) for v in completion) >= 7 and any(isinstance(v, str) for v in completion)
    progress = book.locator.tables[c.QUARTERS.name]
    flags = {book.cached[(progress.sheet, progress.cell("是否达到序时进度", i) or "")] for i in range(4)}
    assert flags == {"是", "否"}
    assert ev.scores["3.3.1"].actual == pytest.approx((1 + 22000 / 22731 + 0.96) / 3)
    assert any("GOALS_COMPLETION(" in text for text in book.formulas.values())
    assert ev.grade == book.cached[names["total_grade"]]
