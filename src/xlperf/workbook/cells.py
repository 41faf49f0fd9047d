"""Every computed cell of the workbook (计算单元格): its formula text and the value it computes.

The formula calls an xlperf sheet function (:mod:`xlperf.core.functions`) on defined names and
same-row cells; the value is what that function returns for the workbook's inputs, taken from
the core evaluation that follows the same dataflow.  The headless build writes both, so the file
shows results where the functions are unavailable and recomputes live where they are.
"""

from __future__ import annotations

import functools

from ..core.evaluate import Evaluation, actual_kind
from ..core.findings import Finding, check_family, count_by_severity
from ..core.metrics import METRIC_BY_LABEL, METRICS, Column, Group
from ..core.numbers import parse_text
from ..core.rates import on_schedule
from ..core.rubric import subtotals, table_shape
from ..io.cellref import column_letters as get_column_letter
from ..io.cellref import parse_address, range_boundaries
from ..io.xlsxpatch import Formula, Literal
from ..io.xlsxwrite import wrapped_height
from . import contract as c
from .read import Locator, TablePos

Cells = dict[tuple[str, str], object]
#: Column widths of the 校验结果 sheet (级别, 检查项, 说明, 位置), set by ``xlperf new``.
FINDING_WIDTHS = (8, 14, 80, 30)


def _call(name: str, *args: str) -> str:
    return f"{name}({','.join(args)})"


def _arg(arg: str | Group | Column) -> str:
    return arg.name if isinstance(arg, Group | Column) else arg


def _put(cells: Cells, where: tuple[str, str] | None, value: object) -> None:
    if where is not None:
        cells[where] = value


def _rates(cells: Cells, loc: Locator, ev: Evaluation) -> None:
    for metric in METRICS:
        text = _call(metric.udf, *(_arg(a) for a in metric.args))
        _put(cells, loc.names.get(c.rate_name(metric.key)), Formula(text, ev.metrics[metric.key].cell()))


def _summary(cells: Cells, loc: Locator, ev: Evaluation) -> None:
    formulas = {
        "total_score": Formula(_call("RUBRIC_SUBTOTAL", '""', "rubric_codes", "rubric_scores"), ev.total),
        "total_grade": Formula(_call("PERF_GRADE", "total_score", "grade_bands"), ev.grade),
        "self_total": Formula(_call("RUBRIC_SUBTOTAL", '""', "rubric_codes", "rubric_selfs"), ev.self_total),
        "self_grade": Formula(_call("PERF_GRADE", "self_total", "grade_bands"), ev.self_grade),
    }
    for name, value in formulas.items():
        _put(cells, loc.names.get(name), value)


def _row_cell(pos: TablePos, header: str, index: int) -> str:
    return pos.cell(header, index) or "#REF!"


def _below(pos: TablePos, header: str, index: int) -> str:
    """The column's rows after data row ``index`` (下方各行): a subtotal never refers to its own cell."""
    letter = pos.columns.get(header)
    if letter is None:
        return "#REF!"
    first = pos.first_row + index + 1
    return f"${letter}${first}:${letter}${max(pos.last_row, first)}"


def _quarters(cells: Cells, pos: TablePos, ev: Evaluation, stale: set[tuple[str, str]]) -> None:
    for index, progress in enumerate(ev.quarters):
        spent, schedule = _row_cell(pos, "累计支出", index), _row_cell(pos, "序时进度", index)
        target = pos.cell("支出进度", index)
        text = _call("SPENDING_PROGRESS", spent, "budget_exp_total", "budget_adjusted_total", "budget_basis")
        _put(cells, (pos.sheet, target) if target else None, Formula(text, progress.rate.cell()))
        flag = pos.cell("是否达到序时进度", index)
        value = on_schedule(progress.rate.cell(), ev.data.quarters[index].schedule)
        _put(
            cells,
            (pos.sheet, flag) if flag else None,
            Formula(_call("ON_SCHEDULE", target or "#REF!", schedule), value),
        )


def _goals(cells: Cells, pos: TablePos, ev: Evaluation, stale: set[tuple[str, str]]) -> None:
    for index, rate in enumerate(ev.goal_rates):
        target = pos.cell("完成率", index)
        args = (_row_cell(pos, h, index) for h in ("完成值", "指标值", "方向"))
        _put(
            cells,
            (pos.sheet, target) if target else None,
            Formula(_call("OUTPUT_COMPLETION_RATE", *args), rate.cell()),
        )


def _rubric(cells: Cells, pos: TablePos, ev: Evaluation, stale: set[tuple[str, str]]) -> None:
    rows = ev.data.indicators
    shape = {index: (code, leaf) for index, code, leaf in table_shape(rows)}

    def at(header: str, index: int) -> tuple[str, str] | None:
        address = pos.cell(header, index)
        return (pos.sheet, address) if address else None

    for index, row in enumerate(rows):
        code, leaf = shape.get(index, (None, False))
        score_args = [
            _row_cell(pos, h, index)
            for h in ("规则", "参数", "分值", "实际值", "自评得分", "数据来源", "指标名称")
        ]
        if code is None:
            for header in ("计算得分", "扣分原因"):
                _put(cells, at(header, index), None)
            continue
        result = ev.scores[code]
        if leaf:
            kind = actual_kind(row)
            if kind == "metric":
                metric = METRIC_BY_LABEL[parse_text(row.source)]
                _put(cells, at("实际值", index), Formula(c.rate_name(metric.key), result.actual))
            elif kind == "goals":
                text = _call("GOALS_COMPLETION", _row_cell(pos, "参数", index), "goal_ids", "goal_rates")
                _put(cells, at("实际值", index), Formula(text, result.actual))
            elif at("实际值", index) in stale:
                _put(cells, at("实际值", index), Literal(None))
            _put(cells, at("计算得分", index), Formula(_call("INDICATOR_SCORE", *score_args), result.score))
            _put(cells, at("扣分原因", index), Formula(_call("SCORE_REASON", *score_args), result.reason))
        else:
            key = _row_cell(pos, "编号", index)
            codes, scores, selfs = (_below(pos, header, index) for header in ("编号", "计算得分", "自评得分"))
            _put(
                cells,
                at("计算得分", index),
                Formula(_call("RUBRIC_SUBTOTAL", key, codes, scores), result.score),
            )
            _put(
                cells,
                at("自评得分", index),
                Formula(_call("RUBRIC_SUBTOTAL", key, codes, selfs), result.self_score),
            )
            _put(cells, at("扣分原因", index), None)
            if at("实际值", index) in stale:
                _put(cells, at("实际值", index), Literal(None))


def _summary_table(cells: Cells, pos: TablePos, ev: Evaluation, stale: set[tuple[str, str]]) -> None:
    roots = [s for s in ev.scores.values() if s.level == 1]
    maxima = subtotals(list(ev.scores), [s.maximum for s in ev.scores.values()])
    for index in range(pos.rows):
        code_cell = _row_cell(pos, "编号", index)
        root = roots[index] if index < len(roots) else None
        where = {
            h: (pos.sheet, ref)
            for h in ("编号", "一级指标", "分值", "计算得分", "自评得分")
            if (ref := pos.cell(h, index))
        }
        if root is None:
            for target in where.values():
                cells[target] = None
            continue
        _put(cells, where.get("编号"), root.code)
        _put(cells, where.get("一级指标"), root.name)
        _put(
            cells,
            where.get("分值"),
            Formula(
                _call("RUBRIC_SUBTOTAL", code_cell, "rubric_codes", "rubric_maxima"),
                maxima.get(root.code),
            ),
        )
        _put(
            cells,
            where.get("计算得分"),
            Formula(_call("RUBRIC_SUBTOTAL", code_cell, "rubric_codes", "rubric_scores"), root.score),
        )
        _put(
            cells,
            where.get("自评得分"),
            Formula(_call("RUBRIC_SUBTOTAL", code_cell, "rubric_codes", "rubric_selfs"), root.self_score),
        )


EMPTY_GUARD = 'IFERROR({},"")'


def guard_empty(formula: Formula) -> Formula:
    """Wrap a formula whose result is empty in ``IFERROR(…,"")`` (空结果保护).

    An empty result is stored as Excel stores it (``t="str"``, ``<v></v>``), but LibreOffice
    recalculates every formula cell whose stored value is empty and, without the xlperf
    functions, would show #NAME?; the guard makes that recalculation show the same empty cell.
    Where the functions exist the guard changes nothing (they return values, not errors).
    """
    if formula.value not in (None, "") or formula.text.startswith("IFERROR("):
        return formula
    return Formula(EMPTY_GUARD.format(formula.text), formula.value)


def computed_cells(loc: Locator, ev: Evaluation) -> Cells:
    """Formula and value of every computed cell (全部计算单元格), keyed by (sheet, cell).

    A formula with an empty result is guarded (:func:`guard_empty`).
    """
    cells: Cells = {}
    _rates(cells, loc, ev)
    _summary(cells, loc, ev)
    for spec, fill in (
        (c.QUARTERS, _quarters),
        (c.GOALS, _goals),
        (c.RUBRIC, _rubric),
        (c.SUMMARY, _summary_table),
    ):
        pos = loc.tables.get(spec.name)
        if pos is not None:
            fill(cells, pos, ev, loc.own_formula_cells)
    return {key: guard_empty(v) if isinstance(v, Formula) else v for key, v in cells.items()}


def finding_cells(loc: Locator, findings: list[Finding], previous_rows: int) -> Cells:
    """The 校验结果 rows under the header named ``findings_header``: 级别, 检查项 (the check's Chinese
    family, :func:`~xlperf.core.findings.check_family`), 说明, 位置; stale rows cleared.

    Also the error and warning counts of the 汇总 sheet, from the same findings.
    """
    cells: Cells = {}
    counts = count_by_severity(
        findings
    )  # all findings, the workbook's structure too: as 校验结果.json counts
    for name, key in (("finding_errors", "error"), ("finding_warnings", "warning")):
        _put(cells, loc.names.get(name), counts[key])
    anchor = loc.names.get(c.FINDINGS_NAME)
    if anchor is None:
        return cells
    sheet, address = anchor
    min_col, header_row = range_boundaries(address)[:2]
    letters = [get_column_letter(min_col + i) for i in range(len(c.FINDING_HEADERS))]
    first = header_row + 1
    for offset in range(max(len(findings), previous_rows)):
        finding = findings[offset] if offset < len(findings) else None
        values = (
            (
                finding.severity_label,
                check_family(finding.check),
                finding.message,
                "、".join(filter(None, (loc.describe(r) for r in finding.refs))),
            )
            if finding
            else (None, None, None, None)
        )
        for col, value in zip(letters, values, strict=True):
            cells[(sheet, f"{col}{first + offset}")] = value
    return cells


def _sheet_row(at: tuple[str, str]) -> tuple[str, int]:
    """(sheet, row number) of a (sheet, cell) key."""
    position = parse_address(at[1])
    return at[0], position[0] if position else 0


@functools.lru_cache(maxsize=1024)  # the rubric's rows stay; a unit's own findings pass through (≈1 MB)
def row_height(texts: tuple[tuple[str, float], ...]) -> float:
    """The height of a row showing ``(text, column width)`` wrapped (行高), worked out once per process for
    each row's texts: a batch's units mostly share their rubric rows and many findings."""
    return wrapped_height(texts)


def finding_row_heights(loc: Locator, cells: Cells) -> dict[tuple[str, int], float | None]:
    """Heights of the 校验结果 rows in ``cells`` (校验结果行高): tall enough for the wrapped 说明 and
    位置, since applications keep a stored row height; cleared rows get the default height back."""
    anchor = loc.names.get(c.FINDINGS_NAME)
    if anchor is None:
        return {}
    sheet, address = anchor
    min_col, header_row = range_boundaries(address)[:2]
    letters = [get_column_letter(min_col + i) for i in range(len(c.FINDING_HEADERS))]
    heights: dict[tuple[str, int], float | None] = {}
    last = max((row for (at, row) in map(_sheet_row, cells) if at == sheet), default=header_row)
    for row in range(header_row + 1, last + 1):  # the rows ``cells`` fills or clears
        texts = [
            (cells.get((sheet, f"{col}{row}")), width)
            for col, width in zip(letters, FINDING_WIDTHS, strict=True)
        ]
        shown = [(str(text), width) for text, width in texts if text not in (None, "")]
        if shown:
            heights[(sheet, row)] = row_height(tuple(shown))
        elif any((sheet, f"{col}{row}") in cells for col in letters):
            heights[(sheet, row)] = None
    return heights


#: The wrapped text columns of 指标评分 (指标评分自动换行列) whose text sets a row's height.
RUBRIC_WRAPPED = ("指标名称", "参数", "数据来源", "扣分原因", "佐证材料")


def rubric_row_heights(loc: Locator, ev: Evaluation, cells: Cells) -> dict[tuple[str, int], float | None]:
    """Heights of the 指标评分 rows (指标评分行高): tall enough for their wrapped names, parameters and
    扣分原因 (from ``cells``), since applications keep a stored row height; one-line rows get the default."""
    pos = loc.tables.get(c.RUBRIC.name)
    if pos is None:
        return {}
    heights: dict[tuple[str, int], float | None] = {}
    columns = [c.RUBRIC.column(header) for header in RUBRIC_WRAPPED]
    for index in range(pos.rows):
        row = ev.data.indicators[index] if index < len(ev.data.indicators) else None
        texts = []
        for column in columns:
            header = column.header
            if column.attr:
                value = getattr(row, column.attr) if row is not None else None
            else:
                value = cells.get((pos.sheet, pos.cell(header, index) or ""))
                value = value.value if isinstance(value, Formula) else value
            if value not in (None, ""):
                texts.append((str(value), column.width))
        height = row_height(tuple(texts))
        heights[(pos.sheet, pos.first_row + index)] = height if height > row_height(()) else None
    return heights
