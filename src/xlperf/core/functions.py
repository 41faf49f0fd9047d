"""The spreadsheet function library (工作表函数): what ``=BUDGET_ADJ_RATE(...)`` and friends compute.

Every function takes raw cell values (numbers, text, blanks, ranges as nested lists) and returns
a cell value: a number, a text, or the Chinese reason a rate cannot be computed.  The xlwings
UDFs, the formula-engine test and the headless build all call these, so the workbook's cells and
the Python results cannot drift apart.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass

from . import rates
from .grades import DEFAULT_BANDS, grade, parse_bands
from .metrics import METRICS
from .numbers import parse_number, parse_text
from .rubric import subtotal
from .scoring import indicator_outcome

CellValue = float | str | None


@dataclass(frozen=True, slots=True)
class SheetFunction:
    """A function callable from a cell (工作表函数): Excel name, implementation, Chinese help."""

    name: str
    impl: Callable[..., CellValue]
    description: str
    params: tuple[tuple[str, str], ...]

    def __call__(self, *args: object) -> CellValue:
        """Compute the cell value."""
        return self.impl(*args)


PARAM_DOCS = {
    "final_revenue": "本年收入决算数（万元）",
    "budget_revenue": "本年收入预算数（万元）",
    "adjusted_budget": "调整后预算数（万元，可省略）",
    "basis": "预算口径：年初预算 或 调整后预算（可省略）",
    "spent": "实际支出资金（万元）",
    "budget": "预算数（万元）",
    "adjustment": "预算调整数（万元）",
    "excluded": "其中政策性、不可抗力及上级交办调整（万元）",
    "completed": "预算完成数（万元）",
    "actual_progress": "实际支付进度",
    "planned_progress": "既定支付进度",
    "balance": "年末结转结余（万元）",
    "expenditure_budget": "支出预算数（万元）",
    "final_expenditure": "决算支出数（万元）",
    "current": "本年度数",
    "previous": "上年度数",
    "actual": "实际数（万元）或完成值",
    "staff": "实有在职人数",
    "quota_total": "编制数合计（行政、事业编制未分项时使用，可省略）",
    "actual_total": "“三公经费”实际支出数合计（未分四项时使用，可省略）",
    "budget_total": "“三公经费”预算数合计（未分四项时使用，可省略）",
    "current_total": "本年度“三公经费”合计（未分四项时使用，可省略）",
    "previous_total": "上年度“三公经费”合计（未分四项时使用，可省略）",
    "final_basic": "基本支出决算数（万元）",
    "budget_basic": "基本支出预算数（万元）",
    "final_project": "项目支出决算数（万元）",
    "budget_project": "项目支出预算数（万元）",
    "quota": "编制数（可为区域）",
    "key_spending": "重点项目支出（万元）",
    "project_total": "项目支出合计（万元）",
    "in_use": "在用固定资产（万元）",
    "total": "固定资产总额（万元）",
    "target": "指标值",
    "direction": "方向：≥、≤ 或 =",
    "cumulative": "累计支出（万元，可为区域）",
    "schedule": "序时进度（可为区域）",
    "progress": "支出进度",
    "goal_ids": "目标编号，如 G1,G2，或含 目标= 的参数",
    "ids": "绩效目标表的编号列",
    "completion": "绩效目标表的完成率列",
    "rule": "规则名称",
    "params": "规则参数",
    "maximum": "分值",
    "self_score": "自评得分",
    "source": "数据来源",
    "name": "指标名称",
    "parent": "上级指标编号（空为一级指标）",
    "codes": "指标编号列",
    "values": "要汇总的列",
    "score": "总分",
    "bands": "等级分档，如 优:90,良:80,中:60,差:0（可省略）",
}


def _doc(func: Callable[..., object]) -> tuple[str, tuple[tuple[str, str], ...]]:
    summary = (inspect.getdoc(func) or "").splitlines()[0]
    params = tuple((p, PARAM_DOCS.get(p, p)) for p in inspect.signature(func).parameters)
    return summary, params


def _rate_function(name: str, func: Callable[..., rates.Rate]) -> SheetFunction:
    description, params = _doc(func)

    def impl(*args: object) -> CellValue:
        return func(*args).cell()

    return SheetFunction(name, impl, description, params)


def indicator_score(
    rule: object,
    params: object,
    maximum: object,
    actual: object,
    self_score: object,
    source: object = None,
    name: object = None,
) -> CellValue:
    """计算得分：按规则由实际值（或定性档次、自评得分）计算本指标得分."""
    return indicator_outcome(rule, params, maximum, actual, self_score, source, name).score


def score_reason(
    rule: object,
    params: object,
    maximum: object,
    actual: object,
    self_score: object,
    source: object = None,
    name: object = None,
) -> CellValue:
    """扣分原因：计算得分的依据与每一处扣分的原因."""
    return indicator_outcome(rule, params, maximum, actual, self_score, source, name).reason


def perf_grade(score: object, bands: object = None) -> CellValue:
    """评价等级：优 ≥ 90、良 [80,90)、中 [60,80)、差 < 60（分档可改）."""
    value = parse_number(score).value
    text = parse_text(bands)
    try:
        table = parse_bands(text) if text else DEFAULT_BANDS
    except ValueError as exc:
        return str(exc)
    return grade(value, table) if value is not None else "—"


def rubric_subtotal(parent: object, codes: object, values: object) -> CellValue:
    """小计：编号为上级指标直接下级的各行之和（上级为空时汇总一级指标）."""
    return subtotal(parent, codes, values)


def _plain(name: str, func: Callable[..., CellValue]) -> SheetFunction:
    description, params = _doc(func)
    return SheetFunction(name, func, description, params)


FUNCTIONS: dict[str, SheetFunction] = {
    f.name: f
    for f in (
        *(_rate_function(m.udf, m.func) for m in METRICS),
        _rate_function("BUDGET_COMPLETION_RATE", rates.budget_completion_rate),
        _rate_function("PAYMENT_PROGRESS_RATE", rates.payment_progress_rate),
        _rate_function("SPENDING_PROGRESS", rates.spending_progress),
        _rate_function("OUTPUT_COMPLETION_RATE", rates.output_completion_rate),
        _rate_function("GOALS_COMPLETION", rates.goals_completion),
        _plain("ON_SCHEDULE", rates.on_schedule),
        _plain("INDICATOR_SCORE", indicator_score),
        _plain("SCORE_REASON", score_reason),
        _plain("PERF_GRADE", perf_grade),
        _plain("RUBRIC_SUBTOTAL", rubric_subtotal),
    )
}
