"""The official execution and control rates (执行率与控制率), each formula exactly once.

Every function takes raw cell values (numbers, text numbers, blanks, errors) and returns a
:class:`Rate`: the fraction (``0.31`` for 31%) or ``None`` with a Chinese reason.  Nothing here
raises on bad input and nothing returns a silent 0.  Sources: 财预〔2013〕53号 附件2, 财预〔2020〕10号,
see ``shared/domain.md`` §1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .numbers import BLANK, Parsed, failure_text, fmt_rate, parse_number, percent_points


@dataclass(frozen=True, slots=True)
class Rate:
    """A computed rate (比率): ``value`` as a fraction, or ``None`` with ``reason``.

    ``missing`` lists the Chinese names of blank inputs, ``invalid`` those that could not be read.
    """

    name: str
    value: float | None
    formula: str
    reason: str = ""
    missing: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the rate could be computed (可计算)."""
        return self.value is not None

    def text(self) -> str:
        """The rate as ``31.00%`` or the reason it is missing (显示文本)."""
        return fmt_rate(self.value) if self.value is not None else self.reason

    def cell(self) -> float | str:
        """What a worksheet cell shows (单元格值): the fraction, or the reason text when it cannot be computed."""
        return self.value if self.value is not None else self.reason


def total(raw: object) -> Parsed:
    """Sum a cell or a range (合计), blank-aware: all blank → blank, any unreadable cell → its problem."""
    if not isinstance(raw, list | tuple):
        return parse_number(raw)
    result: Parsed = BLANK
    for item in raw:
        parsed = total(item)
        if parsed.problem:
            return parsed
        if parsed.value is not None:
            result = Parsed((result.value or 0.0) + parsed.value)
    if result.value is not None and not math.isfinite(result.value):
        return Parsed(None, "合计超出数值范围，请核对")
    return result


def pick_budget(initial: object, adjusted: object, basis: object) -> object:
    """The budget figure named by ``basis`` (预算口径): 年初预算 (default) or 调整后预算."""
    return adjusted if str(basis or "").strip() == "调整后预算" else initial


def _inputs(name: str, formula: str, args: Sequence[tuple[str, object]]) -> tuple[list[float], Rate | None]:
    """Parse named raw inputs (cells or ranges); return the numbers, or a failed :class:`Rate`."""
    values: list[float] = []
    missing: list[str] = []
    invalid: list[str] = []
    problems: list[str] = []
    for label, raw in args:
        parsed: Parsed = total(raw)
        if parsed.value is not None:
            values.append(parsed.value)
        elif parsed.problem:
            invalid.append(label)
            problems.append(f"{label}{parsed.problem}")
        else:
            missing.append(label)
    if missing or invalid:
        parts = []
        if missing:
            parts.append(f"缺少{'、'.join(missing)}")
        parts.extend(problems)
        reason = f"无法计算{name}：{'；'.join(parts)}"
        return values, Rate(name, None, formula, reason, tuple(missing), tuple(invalid))
    return values, None


def _ratio(name: str, formula: str, num: tuple[str, object], den: tuple[str, object]) -> Rate:
    """The common shape 分子 / 分母 × 100% with a zero-denominator reason."""
    values, failed = _inputs(name, formula, (num, den))
    if failed:
        return failed
    numerator, denominator = values
    if denominator == 0:
        return Rate(name, None, formula, f"{den[0]}为0，无法计算{name}")
    return _finite(Rate(name, numerator / denominator, formula))


def _finite(rate: Rate) -> Rate:
    """An overflowing quotient (``1e300 / 1e-300``) becomes a failed rate, never ``inf``."""
    if rate.value is not None and not math.isfinite(rate.value):
        return Rate(rate.name, None, rate.formula, f"{rate.name}的计算结果超出数值范围，请核对输入")
    return rate


def _change(name: str, formula: str, current: tuple[str, object], previous: tuple[str, object]) -> Rate:
    """The common shape (本年 − 上年) / 上年 × 100%."""
    values, failed = _inputs(name, formula, (current, previous))
    if failed:
        return failed
    now, before = values
    if before == 0:
        return Rate(name, None, formula, f"{previous[0]}为0，无法计算{name}")
    return _finite(Rate(name, (now - before) / abs(before), formula))


def budget_completion_rate(completed: object, budget: object) -> Rate:
    """预算完成率 = 预算完成数 / 预算数 × 100%（53号）."""
    return _ratio("预算完成率", "预算完成数 / 预算数 × 100%", ("预算完成数", completed), ("预算数", budget))


def revenue_completion_rate(
    final_revenue: object, budget_revenue: object, adjusted_budget: object = None, basis: object = None
) -> Rate:
    """收入预算完成率 = 本年收入决算数 / 本年收入预算数 × 100%（53号 预算完成率，用于收入）.

    ``basis`` 调整后预算 uses ``adjusted_budget`` as the denominator; otherwise the 年初 budget.
    """
    label = "调整后收入预算数" if str(basis or "").strip() == "调整后预算" else "年初收入预算数"
    return _ratio(
        "收入预算完成率",
        f"本年收入决算数 / {label} × 100%",
        ("本年收入决算数", final_revenue),
        (label, pick_budget(budget_revenue, adjusted_budget, basis)),
    )


def _of_budget(
    name: str, part: tuple[str, object], initial_label: str, budget: object, adjusted: object, basis: object
) -> Rate:
    """The shape 数额 / 预算数 × 100%, the budget taken as 年初 or 调整后 by ``basis`` (预算口径)."""
    label = "调整后预算数" if str(basis or "").strip() == "调整后预算" else initial_label
    return _ratio(name, f"{part[0]} / {label} × 100%", part, (label, pick_budget(budget, adjusted, basis)))


def budget_exec_rate(
    spent: object, budget: object, adjusted_budget: object = None, basis: object = None
) -> Rate:
    """预算执行率 = 实际支出资金 / 预算数 × 100%（10号）；预算口径为调整后预算时除以调整后预算数."""
    return _of_budget("预算执行率", ("实际支出资金", spent), "年初预算数", budget, adjusted_budget, basis)


def _absolute(raw: object) -> object:
    """Each readable entry of a cell or range by its absolute value (a cut counts like an addition)."""
    if isinstance(raw, list | tuple):
        return [_absolute(item) for item in raw]
    parsed = parse_number(raw)
    return abs(parsed.value) if parsed.value is not None else raw


def derived_adjustment(adjustment: object, adjusted_budget: object, budget: object) -> Parsed:
    """预算调整数 when not typed (推算的预算调整数): |调整后预算数 − 年初预算数|; a typed value wins.

    The net change is a floor of the true 调整数 (additions and cuts counted separately), so the
    checks say when it was used.  Blank when it is typed, or when either budget is blank.
    """
    if not total(adjustment).blank:
        return BLANK
    adjusted, initial = total(adjusted_budget), total(budget)
    if adjusted.value is None or initial.value is None:
        return BLANK
    return Parsed(abs(adjusted.value - initial.value))


def budget_adj_rate(
    adjustment: object, excluded: object, budget: object, adjusted_budget: object = None
) -> Rate:
    """预算调整率 = (预算调整数 − 政策性等调整) / 年初预算数 × 100%（53号）；未填预算调整数时取调整后预算数与年初预算数之差（绝对值）.

    预算调整数 is the gross of all additions, cuts and structural changes; a negative entry is
    taken by its absolute value.  When it is blank and 调整后预算数 is given, the net change
    |调整后预算数 − 年初预算数| is used.  Adjustments caused by national policy, force majeure or
    tasks assigned by higher levels (``excluded``) are left out; a blank ``excluded`` counts as 0.
    """
    name, formula = "预算调整率", "(预算调整数 − 政策性、不可抗力及上级交办调整) / 年初预算数 × 100%"
    derived = derived_adjustment(adjustment, adjusted_budget, budget)
    if derived.value is not None:
        adjustment = derived.value
        formula = "(|调整后预算数 − 年初预算数| − 政策性、不可抗力及上级交办调整) / 年初预算数 × 100%"
    excl_raw: object = 0.0 if total(excluded).blank else _absolute(excluded)
    values, failed = _inputs(
        name,
        formula,
        (("预算调整数", _absolute(adjustment)), ("剔除的调整数", excl_raw), ("年初预算数", budget)),
    )
    if failed:
        return failed
    adj, excl, base = values
    if base == 0:
        return Rate(name, None, formula, f"年初预算数为0，无法计算{name}")
    counted = abs(adj) - abs(excl)
    if counted < 0:
        return Rate(name, None, formula, "剔除的调整数大于预算调整数，请核对")
    return _finite(Rate(name, counted / abs(base), formula))


def payment_progress_rate(actual_progress: object, planned_progress: object) -> Rate:
    """支付进度率 = 实际支付进度 / 既定支付进度 × 100%（53号）."""
    return _ratio(
        "支付进度率",
        "实际支付进度 / 既定支付进度 × 100%",
        ("实际支付进度", actual_progress),
        ("既定支付进度", planned_progress),
    )


CARRYOVER_BASES = ("支出预算数", "决算支出数")


def carryover_rate(
    balance: object, expenditure_budget: object, final_expenditure: object, basis: str
) -> Rate:
    """结转结余率 = 年末结转结余总额 / 分母 × 100%；分母按口径取支出预算数（53号）或决算支出数."""
    name = "结转结余率"
    if basis not in CARRYOVER_BASES:
        return Rate(
            name,
            None,
            "年末结转结余总额 / 分母 × 100%",
            f"结转结余率的分母应为「支出预算数」或「决算支出数」，实际为「{basis}」",
        )
    denominator = expenditure_budget if basis == CARRYOVER_BASES[0] else final_expenditure
    return _ratio(
        name, f"年末结转结余总额 / {basis} × 100%", ("年末结转结余总额", balance), (basis, denominator)
    )


def carryover_change_rate(current: object, previous: object) -> Rate:
    """结转结余变动率 = (本年度累计结转结余 − 上年度累计结转结余) / 上年度累计结转结余 × 100%（53号）."""
    return _change(
        "结转结余变动率",
        "(本年度结转结余 − 上年度结转结余) / 上年度结转结余 × 100%",
        ("本年度结转结余", current),
        ("上年度结转结余", previous),
    )


def public_expense_control_rate(actual: object, budget: object) -> Rate:
    """公用经费控制率 = 实际支出公用经费总额 / 预算安排公用经费总额 × 100%（53号）."""
    return _ratio(
        "公用经费控制率",
        "实际公用经费 / 预算公用经费 × 100%",
        ("实际公用经费", actual),
        ("预算公用经费", budget),
    )


def given_total(parts: object, stated_total: object) -> object:
    """A figure given either as its parts or as one total (分项或合计): the typed total wins, else Σ parts."""
    return parts if total(stated_total).blank else stated_total


def three_public_control_rate(
    actual: object, budget: object, actual_total: object = None, budget_total: object = None
) -> Rate:
    """“三公经费”控制率 = “三公经费”实际支出数 / “三公经费”预算安排数 × 100%（53号）.

    Each side is the typed 合计 when given, otherwise the sum of the four items.
    """
    return _ratio(
        "“三公经费”控制率",
        "“三公经费”实际支出数 / “三公经费”预算数 × 100%",
        ("“三公经费”实际支出数", given_total(actual, actual_total)),
        ("“三公经费”预算数", given_total(budget, budget_total)),
    )


def three_public_change_rate(
    current: object, previous: object, current_total: object = None, previous_total: object = None
) -> Rate:
    """“三公经费”变动率 = (本年度“三公经费”总额 − 上年度“三公经费”总额) / 上年度总额 × 100%（53号）.

    Each year is the typed 合计 when given, otherwise the sum of the four items.
    """
    return _change(
        "“三公经费”变动率",
        "(本年度“三公经费” − 上年度“三公经费”) / 上年度“三公经费” × 100%",
        ("本年度“三公经费”", given_total(current, current_total)),
        ("上年度“三公经费”", given_total(previous, previous_total)),
    )


def procurement_exec_rate(actual: object, budget: object) -> Rate:
    """政府采购执行率 = 实际政府采购金额 / 政府采购预算数 × 100%（53号）."""
    return _ratio(
        "政府采购执行率",
        "实际政府采购金额 / 政府采购预算数 × 100%",
        ("实际政府采购金额", actual),
        ("政府采购预算数", budget),
    )


def _complete(raw: object) -> bool:
    """Every cell of a range filled (分项齐全)."""
    return all(not total(item).blank for item in _flat(raw))


def staff_control_rate(staff: object, quota: object, quota_total: object = None) -> Rate:
    """在职人员控制率 = 在职人员数 / 编制数 × 100%（53号）；编制数为行政与事业编制之和，未分项时取编制数合计."""
    return _ratio(
        "在职人员控制率",
        "在职人员数 / 编制数 × 100%",
        ("在职人员数", staff),
        ("编制数", quota if _complete(quota) or total(quota_total).blank else quota_total),
    )


def basic_exec_rate(final_basic: object, budget_basic: object) -> Rate:
    """基本支出执行率 = 基本支出决算数 / 基本支出预算数 × 100%."""
    return _ratio(
        "基本支出执行率",
        "基本支出决算数 / 基本支出预算数 × 100%",
        ("基本支出决算数", final_basic),
        ("基本支出预算数", budget_basic),
    )


def project_exec_rate(final_project: object, budget_project: object) -> Rate:
    """项目支出执行率 = 项目支出决算数 / 项目支出预算数 × 100%."""
    return _ratio(
        "项目支出执行率",
        "项目支出决算数 / 项目支出预算数 × 100%",
        ("项目支出决算数", final_project),
        ("项目支出预算数", budget_project),
    )


def key_expenditure_rate(key_spending: object, project_total: object) -> Rate:
    """重点支出安排率 = 重点项目支出 / 项目总支出 × 100%（53号）."""
    return _ratio(
        "重点支出安排率",
        "重点项目支出 / 项目总支出 × 100%",
        ("重点项目支出", key_spending),
        ("项目总支出", project_total),
    )


def fixed_asset_utilization_rate(in_use: object, total: object) -> Rate:
    """固定资产利用率 = 实际在用固定资产总额 / 所有固定资产总额 × 100%（53号）."""
    return _ratio(
        "固定资产利用率",
        "在用固定资产 / 固定资产总额 × 100%",
        ("在用固定资产", in_use),
        ("固定资产总额", total),
    )


DIRECTIONS = {"≥": "≥", ">=": "≥", "不低于": "≥", "≤": "≤", "<=": "≤", "不高于": "≤", "=": "=", "等于": "="}


def output_completion_rate(actual: object, target: object, direction: object = "≥") -> Rate:
    """产出完成率（10号）：≥ 目标为 完成值/指标值；≤ 目标为 指标值/完成值（达标即100%）；= 目标为 1 − |偏差|/指标值."""
    name = "完成率"
    sign = DIRECTIONS.get(str(direction).strip() if direction is not None else "≥")
    if sign is None:
        return Rate(name, None, "完成值 / 指标值 × 100%", f"指标方向应为 ≥、≤ 或 =，实际为「{direction}」")
    formula = {
        "≥": "完成值 / 指标值 × 100%",
        "≤": "指标值 / 完成值 × 100%（不超过指标值即为100%）",
        "=": "(1 − |完成值 − 指标值| / 指标值) × 100%",
    }[sign]
    values, failed = _inputs(name, formula, (("完成值", actual), ("指标值", target)))
    if failed:
        return failed
    done, goal = values
    if goal < 0 and sign != "=":  # a ratio to a negative target inverts its meaning (0.01 ≥ −0.03 → −33%)
        return Rate(
            name, None, formula, "指标值为负数，无法按比例计算完成率，请以正数填写指标值（如“下降3%”填3%）"
        )
    if sign == "≥":
        if goal == 0:
            return Rate(
                name, 1.0 if done >= 0 else None, formula, "" if done >= 0 else "指标值为0且完成值为负"
            )
        return _finite(Rate(name, done / goal, formula))
    if sign == "≤":
        if done <= goal:
            return Rate(name, 1.0, formula)
        return _finite(Rate(name, goal / done if done > 0 else 0.0, formula))
    if goal == 0:
        return Rate(name, 1.0 if done == 0 else 0.0, formula)
    return Rate(name, max(0.0, 1 - abs(done - goal) / abs(goal)), formula)


@dataclass(frozen=True, slots=True)
class QuarterProgress:
    """One quarter's cumulative spending progress against 序时进度 (季度支出进度)."""

    quarter: int
    rate: Rate
    target: float | None

    @property
    def met(self) -> bool | None:
        """Whether the quarter reached its schedule (达到序时进度); ``None`` when unknown."""
        answer = on_schedule(self.rate.value, self.target)
        return None if answer == "—" else answer == "是"


def _flat(values: object) -> list[object]:
    if isinstance(values, list | tuple):
        return [item for value in values for item in _flat(value)]
    return [values]


def spending_progress(
    cumulative: object, budget: object, adjusted_budget: object = None, basis: object = None
) -> Rate:
    """支出进度 = 截至季度末累计支出 / 全年预算数 × 100% (全年预算数按预算口径取年初或调整后预算)."""
    return _of_budget("支出进度", ("累计支出", cumulative), "全年预算数", budget, adjusted_budget, basis)


def on_schedule(progress: object, target: object) -> str:
    """是否达到序时进度：支出进度 ≥ 序时进度（均按两位小数的百分比比较）为“是”，否则“否”，无法判断为“—”."""
    done, goal = parse_number(progress).value, parse_number(target).value
    if done is None or goal is None:
        return "—"
    if goal > 1.5:  # typed as 25 rather than 25%
        goal /= 100
    return "是" if percent_points(done) >= percent_points(goal) else "否"


def quarterly_progress(
    cumulative: object, schedule: object, budget: object, adjusted_budget: object = None, basis: object = None
) -> list[QuarterProgress]:
    """Each quarter's 支出进度 against its 序时进度 (季度支出进度)."""
    targets = _flat(schedule)
    result = []
    for index, spent in enumerate(_flat(cumulative)):
        rate = spending_progress(spent, budget, adjusted_budget, basis)
        target = parse_number(targets[index] if index < len(targets) else None).value
        if target is not None and target > 1.5:
            target /= 100
        result.append(QuarterProgress(index + 1, rate, target))
    return result


def quarters_on_schedule(
    cumulative: object, schedule: object, budget: object, adjusted_budget: object = None, basis: object = None
) -> Rate:
    """支出进度达标季度数 = 累计支出进度达到序时进度的季度个数（是个数，不是百分比）."""
    name, formula = "支出进度达标季度数", "累计支出 / 全年预算数 ≥ 序时进度 的季度数"
    quarters = quarterly_progress(cumulative, schedule, budget, adjusted_budget, basis)
    if not quarters:
        return Rate(name, None, formula, "缺少季度累计支出", ("季度累计支出",))
    unknown = [q for q in quarters if q.met is None]
    if unknown:
        missing = tuple(f"第{q.quarter}季度" for q in unknown if not q.rate.invalid)
        invalid = tuple(f"第{q.quarter}季度" for q in unknown if q.rate.invalid)
        causes = {q.rate.reason.split("：", 1)[-1] if q.rate.reason else "缺少序时进度" for q in unknown}
        causes = {c.replace("缺少累计支出", "缺少累计支出数") for c in causes}
        which = (
            "各季度" if len(unknown) == len(quarters) else "、".join(f"第{q.quarter}季度" for q in unknown)
        )
        return Rate(
            name, None, formula, f"无法判断{which}支出进度：{'；'.join(sorted(causes))}", missing, invalid
        )
    return Rate(name, float(sum(1 for q in quarters if q.met)), formula)


def goals_completion(goal_ids: object, ids: object, completion: object) -> Rate:
    """关联目标平均完成率 = Σ min(各目标完成率, 100%) / 目标个数（10号 定量指标，达标即满分）.

    ``goal_ids`` is ``"G1,G2"`` or a rule parameter text containing ``目标=G1,G2``.
    """
    name, formula = "关联目标平均完成率", "Σ min(各目标完成率, 100%) / 目标个数"
    text = str(goal_ids or "").replace("，", ",").replace("；", ";").replace("＝", "=")
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if sep and key.strip() == "目标":  # the 目标完成 rule's 参数, written as split_params reads it
            text = value
    wanted = [g.strip() for g in text.split(",") if g.strip()]
    if not wanted:
        return Rate(name, None, formula, "未指定关联的绩效目标编号", ("目标编号",))
    table = {str(i).strip(): r for i, r in zip(_flat(ids), _flat(completion), strict=False) if i is not None}
    shares = []
    for goal_id in wanted:
        if goal_id not in table:
            return Rate(name, None, formula, f"绩效目标表中没有目标「{goal_id}」", (), (goal_id,))
        parsed = parse_number(table[goal_id])
        if parsed.value is None:
            failure = failure_text(table[goal_id])
            if failure or not parsed.problem:
                why = failure or "完成率无法计算（缺少指标值或完成值）"
                return Rate(name, None, formula, f"目标{goal_id}{why}", (goal_id,))
            return Rate(name, None, formula, f"目标{goal_id}的完成率{parsed.problem}", (), (goal_id,))
        shares.append(min(parsed.value, 1.0))
    return Rate(name, sum(shares) / len(shares), formula)
