"""Sums and balance identities a reviewer adds up (勾稽与平衡), blank-aware, and the money warning signs.

A blank cell is unknown, not zero.  For every identity ``合计 = Σ 各项`` (and the carry-over identity
年末 = 年初 + 收入 − 支出):

* all figures present and disagreeing → an error with the difference;
* exactly one figure blank → it is derived from the others (推算), used by the identities that follow,
  and an info finding says so;
* more blank → an info finding naming what cannot be verified (unless the figures given already add up,
  so the blanks can only be 0);
* the parts given already exceeding their total → an error, since no blank can make them agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .fields import FIELD_BY_KEY, INCOME_SOURCES, THREE_PUBLIC_COLUMNS, THREE_PUBLIC_ITEMS
from .findings import ERROR, INFO, WARNING, Finding
from .model import Ref
from .numbers import (
    fmt_money,
    fmt_score,
    money_figure,
    more_or_less,
    parse_number,
    percent_text,
    round_half_up,
)
from .results import Evaluation

Known = dict[str, float]


@dataclass(frozen=True, slots=True)
class Identity:
    """``total = Σ sign × part`` (勾稽关系): the check id, its title and the unit of its figures."""

    check: str
    title: str
    total: str
    parts: tuple[tuple[str, int], ...]
    unit: str = "万元"
    derive_total: bool = True
    subject: str = ""  # what cannot be verified when figures are blank; the total's label by default


def _label(key: str) -> str:
    return FIELD_BY_KEY[key].label.removeprefix("其中：")


def _fmt(identity: Identity) -> Callable[[float], str]:
    return fmt_money if identity.unit == "万元" else fmt_score


def _figure(identity: Identity, amount: float) -> str:
    """A figure with its unit (带单位的数据): ``7.00 万元``, ``2 人``."""
    return f"{_fmt(identity)(amount)} {identity.unit}"


def identities() -> tuple[Identity, ...]:
    """Every sum a reviewer checks, in the order derived figures feed the next (勾稽关系清单)."""
    found: list[Identity] = []
    for stage, word in (("budget", "预算"), ("final", "决算")):
        found += [
            Identity(
                "sum.income",
                f"{word}收入与各来源不符",
                f"{stage}_income_total",
                tuple((f"{stage}_income_{k}", 1) for k, _ in INCOME_SOURCES),
            ),
            Identity(
                "sum.expense",
                f"{word}支出不等于基本支出与项目支出之和",
                f"{stage}_exp_total",
                ((f"{stage}_exp_basic", 1), (f"{stage}_exp_project", 1)),
            ),
            Identity(
                "sum.basic",
                f"{word}基本支出不等于人员经费与公用经费之和",
                f"{stage}_exp_basic",
                ((f"{stage}_exp_personnel", 1), (f"{stage}_exp_public", 1)),
            ),
        ]
    found.append(
        Identity(
            "sum.staff",
            "编制数合计不等于行政编制与事业编制之和",
            "staff_quota_total",
            (("staff_quota_admin", 1), ("staff_quota_inst", 1)),
            "人",
            derive_total=False,
        )
    )
    for column, column_label in THREE_PUBLIC_COLUMNS:
        found.append(
            Identity(
                "sum.three_public",
                f"“三公经费”{column_label}合计与四项之和不符",
                f"tp_total_{column}",
                tuple((f"tp_{item}_{column}", 1) for item, _ in THREE_PUBLIC_ITEMS),
                derive_total=False,
            )
        )
    found.append(
        Identity(
            "identity.carryover",
            "结转结余不平衡",
            "carryover_end",
            (("carryover_begin", 1), ("final_income_total", 1), ("final_exp_total", -1)),
            subject="结转结余平衡关系（年初 + 收入 − 支出 = 年末）",
        )
    )
    return tuple(found)


IDENTITIES = identities()


def value(ev: Evaluation, known: Known, key: str) -> float | None:
    """A figure as typed, or as derived earlier (已填或推算的数值)."""
    if key in known:
        return known[key]
    raw = ev.data.get(key)
    return None if percent_text(raw) else parse_number(raw).value  # "12%" is no amount: reported as invalid


def _derived_from(identity: Identity, key: str) -> str:
    """How a blank figure follows from the others (推算公式), e.g. ``支出合计 − 项目支出``."""
    if key == identity.total:
        return " + ".join(_label(k) if s > 0 else f"− {_label(k)}" for k, s in identity.parts).replace(
            "+ −", "−"
        )
    others = [(k, s) for k, s in identity.parts if k != key]
    if dict(identity.parts)[key] < 0:  # 支出 = 年初 + 收入 − 年末
        return " ".join(
            [_label(others[0][0]), *(f"{'+' if s > 0 else '−'} {_label(k)}" for k, s in others[1:])]
            + [f"− {_label(identity.total)}"]
        )
    return " ".join([_label(identity.total), *(f"{'−' if s > 0 else '+'} {_label(k)}" for k, s in others)])


def _check_identity(ev: Evaluation, known: Known, identity: Identity) -> Iterator[Finding]:
    fmt, unit, tol = _fmt(identity), identity.unit, ev.settings.tolerance_money + 1e-9
    total = value(ev, known, identity.total)
    parts = [(k, s, value(ev, known, k)) for k, s in identity.parts]
    blank = [k for k, _, v in parts if v is None]
    refs = (Ref(identity.total), *(Ref(k) for k, _ in identity.parts))
    if len(blank) == len(parts):
        return  # nothing typed on the parts' side: the total stands alone
    present = round_half_up(sum(s * v for _, s, v in parts if v is not None), 2)
    if total is None:
        if not blank and identity.derive_total:
            known[identity.total] = present
            yield _derived(identity, identity.total, present, refs, figures=_terms(identity, parts))
        elif identity.derive_total:
            yield _unverifiable(identity, [identity.total, *blank], refs)
        return
    gap = round_half_up(total - present, 2)
    if not blank:
        if abs(gap) > tol:
            yield _disagree(identity, total, parts, present, gap)
        return
    if abs(gap) <= tol:
        return  # the figures given add up: the blank parts can only be 0
    if gap < 0 and all(s > 0 for _, s, _ in parts):
        shown = "、".join(_label(k) for k in blank)
        yield Finding(
            identity.check,
            ERROR,
            f"{identity.title}：已填各项之和 {fmt(present)} {unit}，已超过{_label(identity.total)} "
            f"{fmt(total)} {unit}，超出 {fmt(-gap)} {unit}（{shown}未填写，也无法使其相符）",
            refs,
            {
                "合计": _figure(identity, total),
                "各项之和": _figure(identity, present),
                "差额": _figure(identity, gap),
            },
        )
        return
    if len(blank) == 1:
        key = blank[0]
        derived = round_half_up(gap * dict(identity.parts)[key], 2)
        known[key] = derived
        yield _derived(identity, key, derived, refs, _why_unknown(ev.data.get(key)))
        return
    yield _unverifiable(identity, blank, refs, (total, present, gap))


def _unverifiable(
    identity: Identity, blank: list[str], refs: tuple[Ref, ...], gap: tuple[float, float, float] | None = None
) -> Finding:
    """What cannot be verified because several figures are blank (无法核对)."""
    fmt, unit = _fmt(identity), identity.unit
    subject = identity.subject or _label(identity.total)
    message = f"无法核对{subject}：{'、'.join(_label(k) for k in blank)}未填写"
    figures: dict[str, str] = {}
    if gap is not None:
        total, present, diff = gap
        message += (
            f"；已填各项合计 {fmt(present)} {unit}，比{_label(identity.total)} {fmt(total)} {unit}"
            f"{more_or_less(-diff, unit, fmt)}"
        )
        figures = {
            "合计": _figure(identity, total),
            "已填各项": _figure(identity, present),
            "差额": _figure(identity, diff),
        }
    return Finding(identity.check.split(".")[0] + ".unverifiable", INFO, message, refs, figures)


def _why_unknown(raw: object) -> str:
    """Why a figure is unknown (未知原因): blank, a percent where an amount belongs, or unreadable."""
    if percent_text(raw):
        return "填写的是百分数、不是金额"
    return "无法识别为数字" if parse_number(raw).problem else "未填写"


def _terms(identity: Identity, parts: list[tuple[str, int, float | None]]) -> str:
    """The parts with their figures (各项数值), e.g. ``年初结转结余 298.15 + 决算收入合计 8,690.35 − …``."""
    fmt = _fmt(identity)
    text = " ".join(f"{'+' if s > 0 else '−'} {_label(k)} {fmt(v or 0.0)}" for k, s, v in parts)
    return text.removeprefix("+ ")


def _derived(
    identity: Identity,
    key: str,
    amount: float,
    refs: tuple[Ref, ...],
    why: str = "未填写",
    *,
    figures: str = "",
) -> Finding:
    """A blank figure derived from its identity (推算); a negative result is itself a warning sign."""
    fmt, unit = _fmt(identity), identity.unit
    message = f"{_label(key)}{why}，按 {_derived_from(identity, key)} 推算为 {fmt(amount)} {unit}"
    if amount < 0 and figures:
        message += f"（{figures}）"
    if amount >= 0:
        return Finding(
            identity.check.split(".")[0] + ".derived",
            INFO,
            f"{message}，据此继续核对",
            refs,
            {"推算": _figure(identity, amount)},
        )
    if key == "carryover_end":
        message += "，为负数：本年支出超出了年初结转结余与本年收入之和，请核对收支和结转结余"
    else:
        message += f"，为负数，{_label(key)}不应为负，请核对相关数字"
    return Finding(
        identity.check.split(".")[0] + ".derived", WARNING, message, refs, {"推算": _figure(identity, amount)}
    )


def _disagree(
    identity: Identity, total: float, parts: list[tuple[str, int, float | None]], present: float, gap: float
) -> Finding:
    fmt, unit = _fmt(identity), identity.unit
    refs = (*(Ref(k) for k, _ in identity.parts), Ref(identity.total))
    if identity.check == "identity.carryover":
        begin, income, spent = (v or 0.0 for _, _, v in parts)  # all present: only called then
        return Finding(
            identity.check,
            ERROR,
            f"结转结余不平衡：年初 {fmt(begin)} + 收入 {fmt(income)} − 支出 {fmt(spent)} = "
            f"{fmt(present)} 万元，而年末结转结余填写为 {fmt(total)} 万元，比应有数{more_or_less(gap)}",
            refs,
            {
                "应为": _figure(identity, present),
                "填写": _figure(identity, total),
                "差额": _figure(identity, gap),
            },
        )
    shown = " + ".join(fmt(v or 0.0) for _, _, v in parts)
    return Finding(
        identity.check,
        ERROR,
        f"{identity.title}：{FIELD_BY_KEY[identity.total].label} {fmt(total)} {unit}，各项之和 {shown} = "
        f"{fmt(present)} {unit}，各项之和比合计{more_or_less(-gap, unit, fmt)}",
        (Ref(identity.total), *(Ref(k) for k, _ in identity.parts)),
        {
            "合计": _figure(identity, total),
            "各项之和": _figure(identity, present),
            "差额": _figure(identity, gap),
        },
    )


def known_values(ev: Evaluation) -> tuple[Known, list[Finding]]:
    """Run every identity in order (逐项勾稽): the figures derived on the way and the findings.

    Worked out once per evaluation and kept on it (``ev.balances``): several checks ask for them.
    """
    if ev.balances is None:
        ev.balances = _run_identities(ev)
    return ev.balances


def _run_identities(ev: Evaluation) -> tuple[Known, list[Finding]]:
    known: Known = {}
    results: dict[int, list[Finding]] = {}  # by identity, in the order their outcome became final
    grown = True
    while grown:  # a figure derived late can complete an identity checked earlier: chain until nothing new
        grown = False
        for index, identity in enumerate(IDENTITIES):
            if any(not f.check.endswith(".unverifiable") for f in results.get(index, ())):
                continue  # derived or in error: final (checking again would hide how a figure was derived)
            before = len(known)
            outcome = list(_check_identity(ev, known, identity))
            if len(known) > before:
                grown = True
                results.pop(index, None)  # re-inserted last: read after the derivation it relies on
            results[index] = outcome
    return known, [f for outcome in results.values() for f in outcome]


def derived_figures(ev: Evaluation) -> Known:
    """The blank figures the identities derive (推算值), e.g. 预算项目支出 = 支出合计 − 基本支出."""
    return known_values(ev)[0]


def check_balances(ev: Evaluation) -> Iterator[Finding]:
    """收入 = Σ 来源; 支出 = 基本 + 项目; 基本 = 人员 + 公用; 编制; 三公; 结转结余 (勾稽与平衡), then 可用资金."""
    known, findings = known_values(ev)
    yield from findings
    yield from _available_money(ev, known)


def _available_money(ev: Evaluation, known: Known) -> Iterator[Finding]:
    """本年支出 ≤ 本年收入 + 年初结转结余 (可用资金): spending beyond it cannot be financed."""
    spent = value(ev, known, "final_exp_total")
    if spent is None or known.get("carryover_end", 0.0) < 0:
        return  # a negative derived 年末结转结余 already says the spending exceeds the money available
    terms = [(k, value(ev, known, k)) for k in ("final_income_total", "carryover_begin")]
    refs = (Ref("final_exp_total"), *(Ref(k) for k, _ in terms))
    missing = [k for k, v in terms if v is None]
    if missing:
        yield Finding(
            "identity.available_unknown",
            WARNING,
            f"本年支出 {fmt_money(spent)} 万元，但{'、'.join(_label(k) for k in missing)}未填写，"
            "无法判断支出是否超出可用资金（本年收入 + 年初结转结余）",
            refs,
        )
        return
    income, begin = (v or 0.0 for _, v in terms)
    available = round_half_up(income + begin, 2)
    gap = round_half_up(spent - available, 2)
    if gap > ev.settings.tolerance_money + 1e-9:
        yield Finding(
            "identity.overspent",
            WARNING,
            f"本年支出 {fmt_money(spent)} 万元，超过可用资金 {fmt_money(available)} 万元（本年收入 "
            f"{fmt_money(income)} + 年初结转结余 {fmt_money(begin)}），超出 {fmt_money(gap)} 万元",
            refs,
            {"本年支出": money_figure(spent), "可用资金": money_figure(available), "超出": money_figure(gap)},
        )
