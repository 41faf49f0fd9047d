"""The rates a unit's evaluation uses (评价比率), each wired to its inputs exactly once.

A :class:`Metric` names a rate function of :mod:`.rates` and the inputs it takes: fields,
groups of fields summed as a range, or table columns.  The headless build calls
:func:`compute_metrics`; the workbook writes the same wiring as a cell formula
(``=BASIC_EXEC_RATE(final_exp_basic,budget_exp_basic)``), so both
paths call one function with the same arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import rates
from .fields import THREE_PUBLIC_ITEMS
from .model import QUARTERS, UnitData
from .rates import Rate


@dataclass(frozen=True, slots=True)
class Group:
    """Several fields passed as one range and summed (区域求和), e.g. the four 三公 budgets."""

    name: str
    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Column:
    """A table column passed as a range (表格列)."""

    name: str
    table: str
    column: str


Arg = str | Group | Column


@dataclass(frozen=True, slots=True)
class Metric:
    """A rate the rubric can score (可评分比率): ``udf`` is its Excel function name."""

    key: str
    label: str
    udf: str
    func: Callable[..., Rate]
    args: tuple[Arg, ...]
    percent: bool = True
    unit: str = ""  # what a count is counted in (计数单位), e.g. 个季度


def _tp(column: str) -> Group:
    return Group(f"tp_{column}", tuple(f"tp_{item}_{column}" for item, _ in THREE_PUBLIC_ITEMS))


TP_BUDGET, TP_ACTUAL, TP_LAST = _tp("budget"), _tp("actual"), _tp("last")
STAFF_QUOTA = Group("staff_quota", ("staff_quota_admin", "staff_quota_inst"))
Q_CUMULATIVE = Column("q_cumulative", QUARTERS, "累计支出")
Q_SCHEDULE = Column("q_schedule", QUARTERS, "序时进度")
BASIS = ("budget_adjusted_total", "budget_basis")

METRICS: tuple[Metric, ...] = (
    Metric(
        "revenue_completion",
        "收入预算完成率",
        "REVENUE_COMPLETION_RATE",
        rates.revenue_completion_rate,
        ("final_income_total", "budget_income_total", *BASIS),
    ),
    Metric(
        "budget_exec",
        "预算执行率",
        "BUDGET_EXEC_RATE",
        rates.budget_exec_rate,
        ("final_exp_total", "budget_exp_total", *BASIS),
    ),
    Metric(
        "budget_adj",
        "预算调整率",
        "BUDGET_ADJ_RATE",
        rates.budget_adj_rate,
        ("budget_adjustment", "budget_adjustment_excluded", "budget_exp_total", "budget_adjusted_total"),
    ),
    Metric(
        "quarters_on_schedule",
        "支出进度达标季度数",
        "QUARTERS_ON_SCHEDULE",
        rates.quarters_on_schedule,
        (Q_CUMULATIVE, Q_SCHEDULE, "budget_exp_total", *BASIS),
        percent=False,
        unit="个季度",
    ),
    Metric(
        "carryover",
        "结转结余率",
        "CARRYOVER_RATE",
        rates.carryover_rate,
        ("carryover_end", "budget_exp_total", "final_exp_total", "carryover_basis"),
    ),
    Metric(
        "carryover_change",
        "结转结余变动率",
        "CARRYOVER_CHANGE_RATE",
        rates.carryover_change_rate,
        ("carryover_end", "carryover_begin"),
    ),
    Metric(
        "public_control",
        "公用经费控制率",
        "PUBLIC_EXPENSE_CONTROL_RATE",
        rates.public_expense_control_rate,
        ("final_exp_public", "budget_exp_public"),
    ),
    Metric(
        "three_public_control",
        "“三公经费”控制率",
        "THREE_PUBLIC_CONTROL_RATE",
        rates.three_public_control_rate,
        (TP_ACTUAL, TP_BUDGET, "tp_total_actual", "tp_total_budget"),
    ),
    Metric(
        "three_public_change",
        "“三公经费”变动率",
        "THREE_PUBLIC_CHANGE_RATE",
        rates.three_public_change_rate,
        (TP_ACTUAL, TP_LAST, "tp_total_actual", "tp_total_last"),
    ),
    Metric(
        "procurement_exec",
        "政府采购执行率",
        "PROCUREMENT_EXEC_RATE",
        rates.procurement_exec_rate,
        ("procurement_actual", "procurement_budget"),
    ),
    Metric(
        "staff_control",
        "在职人员控制率",
        "STAFF_CONTROL_RATE",
        rates.staff_control_rate,
        ("staff_actual", STAFF_QUOTA, "staff_quota_total"),
    ),
    Metric(
        "key_expenditure",
        "重点支出安排率",
        "KEY_EXPENDITURE_RATE",
        rates.key_expenditure_rate,
        ("key_project_exp", "final_exp_project"),
    ),
    Metric(
        "asset_utilization",
        "固定资产利用率",
        "FIXED_ASSET_UTILIZATION_RATE",
        rates.fixed_asset_utilization_rate,
        ("fixed_assets_in_use", "fixed_assets_total"),
    ),
    Metric(
        "basic_exec",
        "基本支出执行率",
        "BASIC_EXEC_RATE",
        rates.basic_exec_rate,
        ("final_exp_basic", "budget_exp_basic"),
    ),
    Metric(
        "project_exec",
        "项目支出执行率",
        "PROJECT_EXEC_RATE",
        rates.project_exec_rate,
        ("final_exp_project", "budget_exp_project"),
    ),
)
METRIC_BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}
METRIC_BY_LABEL: dict[str, Metric] = {m.label: m for m in METRICS}
GOAL_SOURCE = "绩效目标"


def column_values(data: UnitData, column: Column) -> list[object]:
    """The raw values of a table column (表格列取值)."""
    if column.table == QUARTERS:
        attr = {"累计支出": "cumulative", "序时进度": "schedule"}[column.column]
        return [getattr(row, attr) for row in data.quarters]
    raise KeyError(column)  # pragma: no cover - every Column above is handled


def arg_value(data: UnitData, arg: Arg) -> object:
    """Resolve one metric argument to raw values: a cell, or a list for a range (参数取值)."""
    if isinstance(arg, Group):
        return [data.get(key) for key in arg.keys]
    if isinstance(arg, Column):
        return column_values(data, arg)
    return data.get(arg)


def compute_metric(data: UnitData, metric: Metric) -> Rate:
    """Compute one metric from the unit's inputs (计算比率)."""
    return metric.func(*(arg_value(data, arg) for arg in metric.args))


def compute_metrics(data: UnitData, metrics: Sequence[Metric] = METRICS) -> dict[str, Rate]:
    """Compute every metric (全部比率), keyed by :attr:`Metric.key`."""
    return {m.key: compute_metric(data, m) for m in metrics}


def goal_completion_rates(data: UnitData) -> list[Rate]:
    """Each goal row's 完成率 (目标完成率) through :func:`rates.output_completion_rate`."""
    return [rates.output_completion_rate(g.actual, g.target, g.direction or "≥") for g in data.goals]
