"""Scoring one indicator from its cells (指标计分): the function behind ``=INDICATOR_SCORE(...)``.

The workbook's rubric row holds 规则, 参数, 分值, 实际值, 自评得分 and 数据来源; the headless
evaluation and the Excel function both call :func:`indicator_outcome` with those cell values,
so a score and its reason can never differ between the two.
"""

from __future__ import annotations

from ..errors import RubricError
from .metrics import METRIC_BY_LABEL
from .numbers import failure_text, parse_number, parse_text
from .rules import (
    INVALID,
    Checklist,
    Goal,
    LeafInput,
    Measure,
    Outcome,
    Qualitative,
    Rule,
    make_rule,
)


def leaf_measure(rule: Rule, actual: object, source: str, name: str) -> Measure:
    """Turn the 实际值 cell into a :class:`Measure` (实际值解读)."""
    metric = METRIC_BY_LABEL.get(source)
    label = metric.label if metric else ("关联目标平均完成率" if isinstance(rule, Goal) else name)
    percent = metric.percent if metric else not isinstance(rule, Checklist)
    parsed = parse_number(actual)
    if parsed.value is not None:
        return Measure(label, parsed.value, percent)
    failure = failure_text(actual)
    if failure and (metric or isinstance(rule, Goal)):
        return Measure(label, None, percent, failure)
    if parsed.problem:
        return Measure(label, None, percent, f"{label}的实际值{parsed.problem}", invalid=True)
    return Measure(label, None, percent, f"缺少{label}的实际值")


def indicator_outcome(
    rule: object,
    params: object,
    maximum: object,
    actual: object,
    self_score: object,
    source: object = None,
    name: object = None,
) -> Outcome:
    """计算得分 and 扣分原因 of one indicator from its row's cells; never raises."""
    max_value = parse_number(maximum)
    if max_value.value is None or max_value.value < 0:
        return Outcome(0.0, f"分值{max_value.problem or '为空'}，应为不小于0的数字", INVALID)
    try:
        instance = make_rule(parse_text(rule), parse_text(params), max_value.value)
    except RubricError as exc:
        return Outcome(0.0, f"规则设置有误：{exc.message}", INVALID)
    self_value = parse_number(self_score)
    if isinstance(instance, Qualitative):
        leaf = LeafInput(tier=parse_text(actual), self_score=self_value.value)
    elif instance.kind == "manual":
        leaf = LeafInput(self_score=self_value.value)
    else:
        leaf = LeafInput(
            leaf_measure(instance, actual, parse_text(source), parse_text(name)), self_score=self_value.value
        )
    if self_value.problem and instance.kind in ("manual", "qualitative"):
        return Outcome(0.0, f"自评得分{self_value.problem}，本项不得分", INVALID)
    return instance.score(leaf)
