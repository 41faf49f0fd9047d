"""What the unit stated, checked the way a reviewer would (自述数值核对).

A stated rate is compared with every legitimate basis of its rate (年初预算 / 调整后预算;
支出预算数 / 决算支出数): matching the workbook's chosen basis is silent, matching another is a
warning that names the basis the unit used, matching none is an error that says what base the
stated rate implies.  A stated amount (``8875.43万元`` in the 单位自述值 column, a 执行数 rather than a
执行率) is checked against the amount the rate is computed from, and named when it equals another
total.  A stated ``100`` in a rate row is 100%.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .fields import BUDGET_BASES, CARRYOVER_BASES, FIELD_BY_KEY, MONEY, MONEY_KEYS
from .findings import ERROR, INFO, WARNING, Finding
from .metrics import METRIC_BY_LABEL, Metric, arg_value
from .model import RUBRIC, Ref
from .numbers import (
    fmt_money,
    fmt_rate,
    fmt_score,
    money_figure,
    more_or_less,
    parse_number,
    parse_text,
    percent_points,
    round_half_up,
)
from .rates import Rate, derived_adjustment
from .results import Evaluation, NodeScore

WHOLE_PERCENT = 10.0
"""A stated rate at or above this (1000%) can only be a percent typed as a whole number (100 → 100%)."""

BASES = {"budget_basis": BUDGET_BASES, "carryover_basis": CARRYOVER_BASES}


@dataclass(frozen=True, slots=True)
class Stated:
    """A 单位自述值 as the reviewer reads it (自述值): a rate, or an amount in 万元, or nothing."""

    rate: float | None = None
    amount: float | None = None
    whole_percent: float | None = None  # the number as typed when it was read as a percent (100 → 100%)


def read_stated(raw: object, metric: Metric | None) -> Stated:
    """Read a stated value (读取自述值): ``"8875.43万元"`` is an amount; ``100`` in a rate row is 100%."""
    parsed = parse_number(raw)
    if parsed.value is None:
        return Stated()
    text = parse_text(raw).replace(" ", "") if isinstance(raw, str) else ""
    if text.endswith(("万元", "万")):
        return Stated(amount=parsed.value)
    if (
        metric is not None
        and metric.percent
        and not text.endswith("%")
        and abs(parsed.value) >= WHOLE_PERCENT
    ):
        return Stated(rate=parsed.value / 100, whole_percent=parsed.value)
    return Stated(rate=parsed.value)


def show(value: float, percent: bool, unit: str = "") -> str:
    """A rate as ``31.00%``, a count with its unit as ``3 个季度`` (显示)."""
    return fmt_rate(value) if percent else f"{fmt_score(value)} {unit}".rstrip()


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(percent_points(a) - percent_points(b)) <= percent_points(tolerance) + 1e-9


def bases(ev: Evaluation, metric: Metric) -> tuple[str, list[tuple[str, Rate]]]:
    """The chosen basis and the rate on every legitimate basis (各口径的比率), chosen first."""
    for key, choices in BASES.items():
        if key in metric.args:
            typed = parse_text(ev.data.get(key))
            chosen = typed if typed in choices else choices[0]
            ordered = [chosen, *(c for c in choices if c != chosen)]
            return chosen, [
                (choice, metric.func(*(choice if a == key else arg_value(ev.data, a) for a in metric.args)))
                for choice in ordered
            ]
    return "", [("", ev.metrics[metric.key])]


def _money_labels(ev: Evaluation, amount: float, exclude: str = "") -> list[str]:
    """The totals equal to ``amount`` (等于该金额的填报数), by their labels."""
    tolerance = ev.settings.tolerance_money + 1e-9
    found = []
    for key in MONEY_KEYS:
        value = parse_number(ev.data.get(key)).value
        if key != exclude and value is not None and abs(round_half_up(value - amount, 2)) <= tolerance:
            found.append(FIELD_BY_KEY[key].label)
    return found


def _numerator(ev: Evaluation, metric: Metric) -> tuple[str, float] | None:
    """The amount a rate is computed from (比率的分子), when it is one money field."""
    first = metric.args[0]
    if isinstance(first, str) and first in FIELD_BY_KEY and FIELD_BY_KEY[first].kind == MONEY:
        value = parse_number(ev.data.get(first)).value
        if value is not None:
            return first, value
    return None


def covered_by_missing_input(s: NodeScore, rate: Rate) -> bool:
    """The score check already reports this leaf's missing inputs with its stated value (已由缺数据发现报告)."""
    return rate.value is None and s.self_score is not None and s.status != "ok"


def check_stated_values(ev: Evaluation) -> Iterator[Finding]:
    """Every 单位自述值 of a rate-sourced indicator against its rate on every basis (自述值核对)."""
    for s in ev.leaves:
        metric = METRIC_BY_LABEL.get(s.source)
        raw = ev.data.indicators[s.row].stated
        stated = read_stated(raw, metric)
        if metric is None or (stated.rate is None and stated.amount is None):
            continue
        ref = Ref("单位自述值", RUBRIC, s.row)
        if stated.amount is not None:
            yield from _check_amount(ev, metric, stated.amount, ref)
            continue
        assert stated.rate is not None
        if stated.whole_percent is not None:
            yield Finding(
                "claim.whole_percent",
                INFO,
                f"单位自述{metric.label}填写为 {fmt_score(stated.whole_percent)}，只有作为百分数才合理，"
                f"按 {fmt_rate(stated.rate)} 核对（请填写 {fmt_score(stated.whole_percent)}% 或 "
                f"{fmt_score(stated.rate)}）",
                (ref,),
            )
        yield from _check_rate(ev, s, metric, stated.rate, ref)


def _check_rate(ev: Evaluation, s: NodeScore, metric: Metric, value: float, ref: Ref) -> Iterator[Finding]:
    tolerance = ev.settings.tolerance_rate
    computed = ev.metrics[metric.key]
    if computed.value is not None and _close(computed.value, value, tolerance):
        return  # the common case: the stated rate is the workbook's own
    chosen, rated = bases(ev, metric)
    computed = rated[0][1]
    shown = show(value, metric.percent, metric.unit)
    matches = [basis for basis, r in rated if r.value is not None and _close(r.value, value, tolerance)]
    if matches and matches[0] == rated[0][0]:
        return
    if matches:
        actual = (
            f"按选定的{chosen}口径计算为 {show(computed.value, metric.percent, metric.unit)}（{computed.formula}）"
            if computed.value is not None
            else f"选定的{chosen}口径{computed.reason.split('：', 1)[-1]}"
        )
        yield Finding(
            "claim.basis",
            WARNING,
            f"单位自述{metric.label}为 {shown}，与按{matches[0]}口径计算的结果一致，{actual}；请确认采用哪一口径",
            (ref, *(Ref(k) for k in BASES if k in metric.args)),
            {"自述": shown, "口径": matches[0]},
        )
        return
    if all(r.value is None for _, r in rated):
        if not covered_by_missing_input(s, computed):
            yield Finding(
                "claim.unverifiable",
                WARNING,
                f"单位自述{metric.label}为 {shown}，但{computed.reason}，无法核实",
                (ref,),
            )
        return
    if computed.value is None:
        return  # only another basis computes, and it disagrees: the missing input is reported elsewhere
    if metric.key == "budget_adj" and value > computed.value and _adjustment_derived(ev):
        yield Finding(  # the net change is only a floor of the gross 调整数: a higher rate is possible
            "claim.unverifiable",
            INFO,
            f"单位自述{metric.label}为 {shown}，高于按净调整额推算的 {show(computed.value, metric.percent, metric.unit)}"
            f"（{computed.formula}）；追加与追减分别计算时调整数会更大，未填写预算调整数无法核实",
            (ref, Ref("budget_adjustment")),
            {"自述": shown, "推算下限": show(computed.value, metric.percent, metric.unit)},
        )
        return
    others = "；".join(
        f"按{basis}口径为 {show(r.value, metric.percent, metric.unit)}"
        for basis, r in rated[1:]
        if r.value is not None
    )
    yield Finding(
        "claim.rate",
        ERROR,
        f"单位自述{metric.label}为 {shown}，按填报数据计算为 {show(computed.value, metric.percent, metric.unit)}"
        f"（{computed.formula}）{f'；{others}' if others else ''}{_implied_base(ev, metric, value)}",
        (ref,),
        {"自述": shown, "计算": show(computed.value, metric.percent, metric.unit)},
    )


def _adjustment_derived(ev: Evaluation) -> bool:
    """预算调整率 computed from the two budgets because 预算调整数 was not typed (调整数为推算)."""
    data = ev.data
    return (
        derived_adjustment(
            data.get("budget_adjustment"), data.get("budget_adjusted_total"), data.get("budget_exp_total")
        ).value
        is not None
    )


def _implied_base(ev: Evaluation, metric: Metric, value: float) -> str:
    """What base the stated rate would need (推算的分母): stated amount ÷ stated rate."""
    numerator = _numerator(ev, metric)
    if numerator is None or not metric.percent or value <= 0 or percent_points(value) == 100:
        return ""
    key, amount = numerator
    base = round_half_up(amount / value, 2)
    named = _money_labels(ev, base, exclude=key)
    which = f"，即{named[0]}" if named else ""
    return f"；按所写比率，{FIELD_BY_KEY[key].label} {fmt_money(amount)} 万元对应的分母应为 {fmt_money(base)} 万元{which}"


def _check_amount(ev: Evaluation, metric: Metric, amount: float, ref: Ref) -> Iterator[Finding]:
    numerator = _numerator(ev, metric)
    first = metric.args[0]
    if numerator is None:
        single = isinstance(first, str) and first in FIELD_BY_KEY and FIELD_BY_KEY[first].kind == MONEY
        why = f"未填写{FIELD_BY_KEY[first].label}" if single else f"{metric.label}不是由单一金额计算的"  # type: ignore[index]
        yield Finding(
            "claim.unverifiable",
            WARNING,
            f"单位自述{metric.label}对应的金额为 {fmt_money(amount)} 万元，但{why}，无法按金额核实",
            (ref,),
        )
        return
    key, expected = numerator
    gap = round_half_up(amount - expected, 2)
    if abs(gap) <= ev.settings.tolerance_money + 1e-9:
        return
    named = _money_labels(ev, amount, exclude=key)
    if named:
        message = (
            f"单位自述{metric.label}对应的金额为 {fmt_money(amount)} 万元，等于{'、'.join(named)}，"
            f"而{metric.label}所用的{FIELD_BY_KEY[key].label}为 {fmt_money(expected)} 万元"
        )
    else:
        message = (
            f"单位自述{metric.label}对应的金额为 {fmt_money(amount)} 万元，比{FIELD_BY_KEY[key].label} "
            f"{fmt_money(expected)} 万元{more_or_less(gap)}，二者不符"
        )
    yield Finding(
        "claim.amount",
        ERROR,
        message,
        (ref, Ref(key)),
        {"自述": money_figure(amount), "应为": money_figure(expected), "差额": money_figure(gap)},
    )
