"""This year against last year (与上年核对): previous-year checks and the year-over-year comparison.

Pure functions of two evaluations — this year's and last year's, each read from its own workbook.
The checks compare what this year's workbook says about last year with what last year's workbook
holds (domain.md: 年初结转结余 = 上年年末结转结余; 上年“三公经费” = 上年实际支出); the comparison
feeds the report's year-over-year paragraph and its trend chart.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .fields import FIELD_BY_KEY, THREE_PUBLIC_ITEMS
from .findings import ERROR, INFO, SEVERITY_ORDER, WARNING, Finding
from .model import Ref
from .numbers import (
    count_figure,
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
from .results import Evaluation

# This year's field ← last year's field (上年数来源): what ``xlperf new --from`` fills and the checks compare.
FROM_LAST_YEAR: tuple[tuple[str, str], ...] = (
    ("carryover_begin", "carryover_end"),
    *((f"tp_{key}_last", f"tp_{key}_actual") for key, _ in THREE_PUBLIC_ITEMS),
    ("tp_total_last", "tp_total_actual"),  # a total given without the four-way split is carried too
)
# Facts of the unit that should not change silently (单位基本情况): a change needs ``change_note``.
STABLE_FIELDS = ("unit_name", "staff_quota_admin", "staff_quota_inst", "staff_quota_total")
# The rates the year-over-year paragraph and chart compare (同比比率).
TREND_METRICS = ("budget_exec", "revenue_completion", "carryover", "public_control")


def _num(ev: Evaluation, key: str) -> float | None:
    return parse_number(ev.data.get(key)).value


def _year(ev: Evaluation) -> str:
    value = parse_number(ev.data.get("year")).value
    return str(int(value)) if value is not None else parse_text(ev.data.get("year"))


def _year_of(ev: Evaluation) -> str:
    year = _year(ev)
    return f"{year}年" if year else "上年"


def _carried_figures(ev: Evaluation, prev: Evaluation) -> Iterator[Finding]:
    """This year's 上年 figures against last year's actuals (上年数一致)."""
    tolerance = ev.settings.tolerance_money + 1e-9
    last = _year_of(prev)
    for key, source in FROM_LAST_YEAR:
        label, source_label = FIELD_BY_KEY[key].label, FIELD_BY_KEY[source].label
        here, there = _num(ev, key), _last_year_figure(prev, source)
        check = "previous.carryover" if key == "carryover_begin" else "previous.three_public"
        if here is None and (there is None or key == "tp_total_last" and _any_typed(ev, "last")):
            continue  # nothing to compare; a blank 合计 beside a typed split is checked item by item
        if here is None or there is None:
            blank = label if here is None else f"上年工作簿的{source_label}"
            yield Finding(
                check,
                INFO,
                f"{blank}未填写，无法核对{label}与{last}{source_label}是否一致",
                (Ref(key),),
            )
            continue
        diff = round_half_up(here - there, 2)
        if abs(diff) > tolerance:
            yield Finding(
                check,
                ERROR,
                f"{label} {fmt_money(here)} 万元与{last}工作簿的{source_label} {fmt_money(there)} 万元不一致，"
                f"本年所填{more_or_less(diff)}",
                (Ref(key),),
                {
                    "本年填报": money_figure(here),
                    "上年工作簿": money_figure(there),
                    "差额": money_figure(diff),
                },
            )


def _any_typed(ev: Evaluation, column: str) -> bool:
    return any(_num(ev, f"tp_{item}_{column}") is not None for item, _ in THREE_PUBLIC_ITEMS)


def _last_year_figure(prev: Evaluation, key: str) -> float | None:
    """Last year's figure (上年数); its “三公经费” 合计 is the typed total, else the sum of the four items given."""
    value = _num(prev, key)
    if value is not None or key != "tp_total_actual":
        return value
    items = [_num(prev, f"tp_{item}_actual") for item, _ in THREE_PUBLIC_ITEMS]
    return (
        round_half_up(sum(v for v in items if v is not None), 2)
        if any(v is not None for v in items)
        else None
    )


def _same(a: object, b: object) -> bool:
    x, y = parse_number(a), parse_number(b)
    if x.value is not None and y.value is not None:
        return x.value == y.value
    return parse_text(a) == parse_text(b)


def _stable_facts(ev: Evaluation, prev: Evaluation) -> Iterator[Finding]:
    """Unit name and 编制 unchanged, or the change explained in 与上年相比的变化说明 (变化需说明)."""
    if parse_text(ev.data.get("change_note")):
        return
    last = _year_of(prev)
    for key in STABLE_FIELDS:
        here, there = ev.data.get(key), prev.data.get(key)
        if parse_text(here) and parse_text(there) and not _same(here, there):
            label = FIELD_BY_KEY[key].label
            yield Finding(
                "previous.changed",
                WARNING,
                f"{label}为「{parse_text(here)}」，{last}为「{parse_text(there)}」，"
                f"未在「{FIELD_BY_KEY['change_note'].label}」中说明原因",
                (Ref(key), Ref("change_note")),
                {"本年": parse_text(here), "上年": parse_text(there)},
            )


def _years_follow(ev: Evaluation, prev: Evaluation) -> Iterator[Finding]:
    """The previous workbook is the year before (年度衔接)."""
    here, there = _num(ev, "year"), _num(prev, "year")
    if here is not None and there is not None and here - there != 1:
        yield Finding(
            "previous.year",
            WARNING,
            f"评价年度为{int(here)}年，所给上年工作簿为{int(there)}年，不是上一年度",
            (Ref("year"), Ref("previous_file")),
        )


def _stated_result(ev: Evaluation, prev: Evaluation) -> Iterator[Finding]:
    """上年核定总分 / 等级 as typed against last year's workbook (上年得分)."""
    typed = _num(ev, "prev_total_score")
    if typed is not None and prev.total is not None and abs(typed - round_half_up(prev.total, 2)) > 0.005:
        yield Finding(
            "previous.score",
            WARNING,
            f"上年核定总分填写为 {fmt_score(typed)} 分，{_year_of(prev)}工作簿计算为 {fmt_score(prev.total)} 分",
            (Ref("prev_total_score"),),
            {"本年填报": count_figure(typed, "分"), "上年工作簿": count_figure(prev.total, "分")},
        )
    grade_typed = parse_text(ev.data.get("prev_grade"))
    if grade_typed and prev.total is not None and grade_typed != prev.grade:
        yield Finding(
            "previous.score",
            WARNING,
            f"上年核定等级填写为「{grade_typed}」，{_year_of(prev)}工作簿计算为「{prev.grade}」",
            (Ref("prev_grade"),),
        )


def previous_findings(ev: Evaluation, prev: Evaluation) -> list[Finding]:
    """The previous-year checks (与上年核对): 年初结转结余 = 上年年末, 上年三公 = 上年实际, 名称与编制未无故变化."""
    return [
        *_years_follow(ev, prev),
        *_carried_figures(ev, prev),
        *_stable_facts(ev, prev),
        *_stated_result(ev, prev),
    ]


def missing_previous(path_text: str, reason: str) -> Finding:
    """The previous workbook named in 上年自评工作簿 could not be read (上年工作簿不可用)."""
    return Finding(
        "previous.file",
        WARNING,
        f"上年自评工作簿「{path_text}」无法读取（{reason}），未与上年核对",
        (Ref("previous_file"),),
    )


def attach_previous(ev: Evaluation, prev: Evaluation | None, extra: list[Finding] | None = None) -> None:
    """Give ``ev`` last year's evaluation and the previous-year findings (挂接上年), findings kept in order."""
    ev.previous = prev
    added = (previous_findings(ev, prev) if prev is not None else []) + list(extra or [])
    ev.findings = sorted([*ev.findings, *added], key=lambda f: SEVERITY_ORDER[f.severity])


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One year of the trend (年度得分): year, score and grade."""

    year: str
    total: float | None
    grade: str


def trend_points(ev: Evaluation) -> list[TrendPoint]:
    """Last year and this year as trend points (年度趋势), oldest first; one point without a previous year."""
    return [TrendPoint(_year(e), e.total, e.grade) for e in (ev.previous, ev) if e is not None]


SAME = "与上年持平"


def _change(now: float, before: float, shown: str) -> str:
    """``较上年提高3.2个百分点`` / ``较上年下降3分`` / ``与上年持平``; ``shown`` formats the difference."""
    diff = round_half_up(now - before, 2)
    if diff == 0:
        return SAME
    return ("较上年提高" if diff > 0 else "较上年下降") + shown.format(fmt_score(abs(diff)))


def year_over_year(ev: Evaluation) -> list[str]:
    """The year-over-year sentences (与上年对比) in the unit's voice; empty without last year's figures.

    Uses last year's workbook when given, otherwise 上年核定总分 / 上年核定等级 as typed.
    """
    prev = ev.previous
    before = prev.total if prev is not None else _num(ev, "prev_total_score")
    before_grade = prev.grade if prev is not None else parse_text(ev.data.get("prev_grade"))
    if (
        ev.total is None
        or before is None
        or not any(ev.metrics[k].ok for k in TREND_METRICS if k in ev.metrics)
    ):
        return []  # this year's figures are not filled in yet
    last = f"上年（{_year(prev)}年度）" if prev is not None and _year(prev) else "上年"
    year = _year(ev)
    head = f"{year}年度" if year else "本年度"
    score = (
        f"{head}部门整体支出绩效评价得分{fmt_score(ev.total)}分，{last}为{fmt_score(before)}分，"
        + _change(ev.total, before, "{}分").replace("较上年", "")
    )
    if before_grade and before_grade != ev.grade:
        score += f"，评价等级由“{before_grade}”变为“{ev.grade}”"
    elif before_grade:
        score += f"，评价等级均为“{ev.grade}”"
    sentences = [score + "。"]
    if prev is not None:
        parts = []
        for key in TREND_METRICS:
            now_rate, then_rate = ev.metrics.get(key), prev.metrics.get(key)
            if now_rate is None or then_rate is None or now_rate.value is None or then_rate.value is None:
                continue
            change = _change(percent_points(now_rate.value), percent_points(then_rate.value), "{}个百分点")
            parts.append(f"{now_rate.name}{fmt_rate(now_rate.value)}，{change}")
        if parts:
            sentences.append("主要指标方面，" + "；".join(parts) + "。")
    return sentences
