"""One unit's evaluation (评价计算): metrics, indicator scores, totals, grade and findings.

:func:`evaluate` follows the workbook's own dataflow cell by cell — each rate is a metric
function of input cells, each indicator score is :func:`.scoring.indicator_outcome` of its
row's cells — so the headless result equals what the workbook's formulas compute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import lru_cache

from .checks import run_checks
from .fields import MONEY_KEYS
from .findings import SEVERITY_ORDER
from .grades import grade
from .metrics import GOAL_SOURCE, METRIC_BY_LABEL, compute_metrics, goal_completion_rates
from .model import IndicatorRow, UnitData
from .numbers import parse_number, parse_text, percent_text
from .rates import Rate, goals_completion, quarterly_progress
from .results import Evaluation, NodeScore, Settings
from .rubric import Problem, Rubric, build_rubric, parent_code, sum_present, table_shape
from .scoring import indicator_outcome

__all__ = [
    "Evaluation",
    "NodeScore",
    "Settings",
    "evaluate",
    "score_rows",
    "actual_kind",
    "leaf_actual",
    "amounts_only",
]


def actual_kind(row: IndicatorRow) -> str:
    """Where a leaf's 实际值 comes from (实际值来源): ``metric``, ``goals`` or ``typed``."""
    source = parse_text(row.source)
    if source in METRIC_BY_LABEL:
        return "metric"
    if source == GOAL_SOURCE or parse_text(row.rule) in ("目标完成", "goal"):
        return "goals"
    return "typed"


def leaf_actual(
    row: IndicatorRow, data: UnitData, metric_cells: Mapping[str, object], goal_cells: Sequence[object]
) -> object:
    """The value of a leaf's 实际值 cell (实际值单元格): a metric, the linked goals, or what was typed."""
    kind = actual_kind(row)
    if kind == "metric":
        return metric_cells[METRIC_BY_LABEL[parse_text(row.source)].key]
    if kind == "goals":
        return goals_completion(row.params, [g.goal_id for g in data.goals], goal_cells).cell()
    return row.actual


def score_rows(data: UnitData, metrics: dict[str, Rate], goal_rates: list[Rate]) -> dict[str, NodeScore]:
    """Score every row of the rubric table as its cells do (逐行计分): leaves by rule, parents by subtotal.

    Works row by row like the workbook's formulas, so scores exist even when the tree does not add up.
    """
    metric_cells = {key: rate.cell() for key, rate in metrics.items()}
    goal_cells = [rate.cell() for rate in goal_rates]
    shape = table_shape(data.indicators)
    children: dict[str, list[str]] = {}
    for _, code, _ in shape:
        children.setdefault(parent_code(code), []).append(code)
    scores: dict[str, NodeScore] = {}
    for index, code, leaf in sorted(shape, key=lambda item: -item[1].count(".")):  # deepest first
        row = data.indicators[index]
        name, level = parse_text(row.name), code.count(".") + 1
        maximum = parse_number(row.maximum).value or 0.0
        if leaf:
            actual = leaf_actual(row, data, metric_cells, goal_cells)
            outcome = indicator_outcome(
                row.rule, row.params, row.maximum, actual, row.self_score, row.source, row.name
            )
            scores[code] = NodeScore(
                code,
                name,
                level,
                maximum,
                outcome.score,
                parse_number(row.self_score).value,
                True,
                index,
                outcome.reason,
                outcome.status,
                actual,
                parse_text(row.rule),
                parse_text(row.source),
                outcome.short,
            )
        else:
            kids = [scores[child] for child in children[code]]
            scores[code] = NodeScore(
                code,
                name,
                level,
                maximum,
                sum_present(k.score for k in kids) or 0.0,
                sum_present(k.self_score for k in kids),
                False,
                index,
            )
    codes = [code for _, code, _ in shape]
    return {code: scores[code] for code in codes}


def amounts_only(data: UnitData) -> UnitData:
    """The inputs with a percent typed into a 万元 field (``"12%"``) left out (金额栏的百分数不计入).

    It is not 0.12 万元: the rates treat it as missing and the input check reports it as an error.
    """
    wrong = [k for k in MONEY_KEYS if percent_text(data.fields.get(k))]
    if not wrong:
        return data
    return replace(data, fields={**data.fields, **dict.fromkeys(wrong)})


@lru_cache(maxsize=64)
def _cached_rubric(rows: tuple[IndicatorRow, ...]) -> tuple[Rubric | None, list[Problem]]:
    return build_rubric(rows)


def _rubric_of(rows: tuple[IndicatorRow, ...]) -> tuple[Rubric | None, list[Problem]]:
    """The validated tree of these rows (评分体系), cached: a batch re-validates a shared rubric once."""
    try:
        return _cached_rubric(tuple(rows))
    except TypeError:  # an unhashable cell value
        return build_rubric(rows)


def evaluate(data: UnitData) -> Evaluation:
    """Evaluate one unit (计算评价): rates, scores, total, grade (等级) and all checks."""
    settings = Settings.from_data(data)
    usable = amounts_only(data)
    metrics = compute_metrics(usable)
    goal_rates = goal_completion_rates(data)
    quarters = quarterly_progress(
        [q.cumulative for q in data.quarters],
        [q.schedule for q in data.quarters],
        data.get("budget_exp_total"),
        data.get("budget_adjusted_total"),
        data.get("budget_basis"),
    )
    rubric, problems = _rubric_of(data.indicators)
    scores = score_rows(usable, metrics, goal_rates)
    roots = [s for s in scores.values() if s.level == 1]
    total = (sum_present(s.score for s in roots) or 0.0) if scores else None
    self_total = sum_present(s.self_score for s in roots)
    evaluation = Evaluation(
        data,
        settings,
        metrics,
        goal_rates,
        quarters,
        rubric,
        problems,
        scores,
        total,
        self_total,
        grade(total, settings.bands),
    )
    evaluation.findings = sorted(run_checks(evaluation), key=lambda f: SEVERITY_ORDER[f.severity])
    return evaluation
