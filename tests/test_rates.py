"""Every official rate with the 高邑镇 2024 report's figures, edge cases and reasons (rates.py).

Figures (万元) from shared/reference: 收入预算 4419.16, 决算收入 8690.35, 支出预算 4419.16, 决算支出 8875.43,
年初结转结余 298.15, 年末结转结余 113.07, 公用经费 预算 840.73 / 决算 154.62, 编制 40 + 39, 在职 78.
"""

from __future__ import annotations

import pytest

from xlperf.core.numbers import fmt_rate
from xlperf.core.rates import (
    CARRYOVER_BASES,
    Rate,
    budget_adj_rate,
    budget_completion_rate,
    budget_exec_rate,
    carryover_change_rate,
    carryover_rate,
    fixed_asset_utilization_rate,
    goals_completion,
    key_expenditure_rate,
    on_schedule,
    output_completion_rate,
    payment_progress_rate,
    pick_budget,
    procurement_exec_rate,
    public_expense_control_rate,
    quarterly_progress,
    quarters_on_schedule,
    revenue_completion_rate,
    spending_progress,
    staff_control_rate,
    three_public_change_rate,
    three_public_control_rate,
    total,
)


def _ok(rate: Rate, fraction: float, shown: str) -> None:
    assert rate.ok and rate.reason == "" and rate.missing == () and rate.invalid == ()
    assert rate.value == pytest.approx(fraction, abs=1e-6)  # hand figures carry six decimals
    assert rate.text() == shown == fmt_rate(rate.value)
    assert rate.cell() == rate.value


def _failed(rate: Rate, reason: str, missing: tuple[str, ...] = (), invalid: tuple[str, ...] = ()) -> None:
    assert rate.value is None and not rate.ok
    assert rate.reason == reason
    assert rate.text() == reason and rate.cell() == reason  # a cell shows why, never a silent 0
    assert rate.missing == missing and rate.invalid == invalid


# --- 收入预算完成率 / 预算完成率 / 预算执行率 -------------------------------------------------------------


def test_revenue_completion_rate_reference_report() -> None:
    # 8690.35 / 4419.16 = 1.966516… → 196.65% (the report claims 100%)
    rate = revenue_completion_rate(8690.35, 4419.16)
    _ok(rate, 1.966516, "196.65%")
    assert rate.name == "收入预算完成率"
    assert rate.formula == "本年收入决算数 / 年初收入预算数 × 100%"


def test_revenue_completion_rate_adjusted_basis() -> None:
    # 调整后预算 5000: 8690.35 / 5000 = 1.73807 → 173.81%; the formula names the basis
    rate = revenue_completion_rate(8690.35, 4419.16, 5000, "调整后预算")
    _ok(rate, 1.73807, "173.81%")
    assert rate.formula == "本年收入决算数 / 调整后收入预算数 × 100%"
    # 年初预算 (or no basis) ignores the adjusted figure
    _ok(revenue_completion_rate(8690.35, 4419.16, 5000, "年初预算"), 1.966516, "196.65%")
    _failed(
        revenue_completion_rate(8690.35, 4419.16, None, "调整后预算"),
        "无法计算收入预算完成率：缺少调整后收入预算数",
        missing=("调整后收入预算数",),
    )


def test_revenue_completion_rate_text_numbers_blanks_and_zero() -> None:
    _ok(revenue_completion_rate("8,690.35", "4419.16万元"), 1.966516, "196.65%")
    _ok(revenue_completion_rate(" ８６９０.３５ ", "4419.16"), 1.966516, "196.65%")
    _failed(
        revenue_completion_rate(8690.35, 0),
        "年初收入预算数为0，无法计算收入预算完成率",
    )
    _failed(
        revenue_completion_rate(None, "abc"),
        "无法计算收入预算完成率：缺少本年收入决算数；年初收入预算数无法识别为数字：「abc」",
        missing=("本年收入决算数",),
        invalid=("年初收入预算数",),
    )
    _failed(
        revenue_completion_rate("#DIV/0!", 4419.16),
        "无法计算收入预算完成率：本年收入决算数单元格为错误值 #DIV/0!，应为数字",
        invalid=("本年收入决算数",),
    )


def test_budget_completion_rate() -> None:
    _ok(budget_completion_rate(90, 100), 0.9, "90.00%")  # 90 / 100
    _failed(budget_completion_rate(90, ""), "无法计算预算完成率：缺少预算数", missing=("预算数",))


def test_budget_exec_rate_basis() -> None:
    # 年初: 8875.43 / 4419.16 = 2.008397… → 200.84%; 调整后 8875.43: exactly 100%
    rate = budget_exec_rate(8875.43, 4419.16)
    _ok(rate, 2.008397, "200.84%")
    assert rate.formula == "实际支出资金 / 年初预算数 × 100%"
    adjusted = budget_exec_rate(8875.43, 4419.16, 8875.43, "调整后预算")
    _ok(adjusted, 1.0, "100.00%")
    assert adjusted.formula == "实际支出资金 / 调整后预算数 × 100%"
    _failed(budget_exec_rate(8875.43, 0), "年初预算数为0，无法计算预算执行率")


# --- 预算调整率 -----------------------------------------------------------------------------------


def test_budget_adj_rate_exactly_on_threshold() -> None:
    # 1325.748 = 30% × 4419.16 → 1325.748 / 4419.16 = 0.30000000000000004 → 30.00%
    _ok(budget_adj_rate(1325.748, None, 4419.16), 0.3, "30.00%")


def test_budget_adj_rate_excludes_policy_adjustments() -> None:
    # (1500 − 200) / 4419.16 = 1300 / 4419.16 = 0.294174… → 29.42%
    _ok(budget_adj_rate(1500, 200, 4419.16), 0.294174, "29.42%")
    # blank excluded counts as 0: 1500 / 4419.16 = 0.339431… → 33.94%
    _ok(budget_adj_rate(1500, "", 4419.16), 0.339431, "33.94%")
    _ok(budget_adj_rate(1500, [None, None], 4419.16), 0.339431, "33.94%")  # a blank range too


def test_budget_adj_rate_negative_adjustments_count_by_absolute_value() -> None:
    # a cut of 1325.748 is as much an adjustment as an addition: |−1325.748| / 4419.16 = 30.00%
    _ok(budget_adj_rate(-1325.748, 0, 4419.16), 0.3, "30.00%")
    # cut of 500 with 100 of it policy-driven (typed negative): (500 − 100) / 1000 = 40%
    _ok(budget_adj_rate(-500, -100, 1000), 0.4, "40.00%")
    # a range of entries is gross: +100 and −50 are 150 of adjustments → 150 / 1000 = 15%
    _ok(budget_adj_rate([100, -50, None], None, 1000), 0.15, "15.00%")
    # excluded entries likewise: (100 + 50) − (|−30|) = 120 → 12%
    _ok(budget_adj_rate([100, "-50"], [" ", -30], 1000), 0.12, "12.00%")


def test_budget_adj_rate_failures() -> None:
    _failed(budget_adj_rate(100, 200, 4419.16), "剔除的调整数大于预算调整数，请核对")
    _failed(budget_adj_rate(100, "", 0), "年初预算数为0，无法计算预算调整率")
    _failed(
        budget_adj_rate(None, None, 4419.16), "无法计算预算调整率：缺少预算调整数", missing=("预算调整数",)
    )
    _failed(
        budget_adj_rate(100, "x", 4419.16),
        "无法计算预算调整率：剔除的调整数无法识别为数字：「x」",
        invalid=("剔除的调整数",),
    )
    assert budget_adj_rate(0, None, 4419.16).value == 0.0  # no adjustment is 0%, a real value


# --- 结转结余率 and 结转结余变动率 ------------------------------------------------------------------------


def test_carryover_rate_denominator_is_a_choice() -> None:
    # 53号 支出预算数: 113.07 / 4419.16 = 0.025586… → 2.56%; 决算支出数: 113.07 / 8875.43 = 0.012740… → 1.27%
    by_budget = carryover_rate(113.07, 4419.16, 8875.43, "支出预算数")
    by_final = carryover_rate(113.07, 4419.16, 8875.43, "决算支出数")
    _ok(by_budget, 0.025586, "2.56%")
    _ok(by_final, 0.012740, "1.27%")
    assert by_budget.formula == "年末结转结余总额 / 支出预算数 × 100%"
    assert by_final.formula == "年末结转结余总额 / 决算支出数 × 100%"
    assert CARRYOVER_BASES == ("支出预算数", "决算支出数")


@pytest.mark.parametrize("basis", ["x", None, "", "决算支出"])
def test_carryover_rate_unknown_basis(basis: object) -> None:
    rate = carryover_rate(113.07, 4419.16, 8875.43, basis)  # type: ignore[arg-type]
    _failed(rate, f"结转结余率的分母应为「支出预算数」或「决算支出数」，实际为「{basis}」")


def test_carryover_rate_zero_and_blank() -> None:
    _failed(carryover_rate(113.07, 0, 8875.43, "支出预算数"), "支出预算数为0，无法计算结转结余率")
    _failed(
        carryover_rate(None, 4419.16, 8875.43, "支出预算数"),
        "无法计算结转结余率：缺少年末结转结余总额",
        missing=("年末结转结余总额",),
    )


def test_carryover_change_rate() -> None:
    # (113.07 − 298.15) / 298.15 = −185.08 / 298.15 = −0.620761… → −62.08%
    _ok(carryover_change_rate(113.07, 298.15), -0.620761, "-62.08%")
    _failed(carryover_change_rate(113.07, 0), "上年度结转结余为0，无法计算结转结余变动率")
    # a negative previous balance divides by its size: (113.07 − (−100)) / 100 = 2.1307 → 213.07%
    _ok(carryover_change_rate(113.07, -100), 2.1307, "213.07%")


# --- 控制率 -----------------------------------------------------------------------------------------


def test_public_expense_control_rate() -> None:
    # 154.62 / 840.73 = 0.183911… → 18.39%
    _ok(public_expense_control_rate(154.62, 840.73), 0.183911, "18.39%")


def test_staff_control_rate() -> None:
    # 78 / (40 + 39) = 78 / 79 = 0.987342… → 98.73%; the quota may be a range (行政 + 事业)
    _ok(staff_control_rate(78, [40, 39]), 0.987342, "98.73%")
    _ok(staff_control_rate(78, 79), 0.987342, "98.73%")
    _failed(staff_control_rate(78, [None, None]), "无法计算在职人员控制率：缺少编制数", missing=("编制数",))
    _failed(staff_control_rate(78, [0, ""]), "编制数为0，无法计算在职人员控制率")


def test_three_public_rates_over_ranges() -> None:
    # 控制率: (1 + 2) / 3 = 100%, blanks in the range are skipped
    _ok(three_public_control_rate([1, 2, None, None], [3, None, None, None]), 1.0, "100.00%")
    # 变动率: (9 − 10) / 10 = −10%
    _ok(three_public_change_rate([4, 5, None, ""], [10, None, None, None]), -0.1, "-10.00%")
    _failed(
        three_public_control_rate([None] * 4, [None] * 4),
        "无法计算“三公经费”控制率：缺少“三公经费”实际支出数、“三公经费”预算数",
        missing=("“三公经费”实际支出数", "“三公经费”预算数"),
    )
    _failed(
        three_public_change_rate([1, 2], [3, "x"]),
        "无法计算“三公经费”变动率：上年度“三公经费”无法识别为数字：「x」",
        invalid=("上年度“三公经费”",),
    )


def test_procurement_key_assets_payment() -> None:
    _failed(
        procurement_exec_rate(None, None),
        "无法计算政府采购执行率：缺少实际政府采购金额、政府采购预算数",
        missing=("实际政府采购金额", "政府采购预算数"),
    )
    _ok(procurement_exec_rate(95, 100), 0.95, "95.00%")  # 95 / 100
    _failed(key_expenditure_rate(10, 0), "项目总支出为0，无法计算重点支出安排率")
    # 重点 7397.75 of 项目 7838.48: 0.943773… → 94.38%
    _ok(key_expenditure_rate(7397.75, 7838.48), 0.943773, "94.38%")
    # 400 / 499.13 = 0.801394… → 80.14%
    _ok(fixed_asset_utilization_rate(400, 499.13), 0.801394, "80.14%")
    _ok(payment_progress_rate(0.45, 0.5), 0.9, "90.00%")  # 45% / 50%
    _ok(payment_progress_rate("45%", "50%"), 0.9, "90.00%")


def test_overflowing_quotient_is_a_reason_not_infinity() -> None:
    _failed(budget_exec_rate(1e300, 1e-300), "预算执行率的计算结果超出数值范围，请核对输入")
    _failed(
        three_public_control_rate([1e308, 1e308], [1, None]),
        "无法计算“三公经费”控制率：“三公经费”实际支出数合计超出数值范围，请核对",
        invalid=("“三公经费”实际支出数",),
    )


# --- 产出完成率 -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "target", "direction", "fraction", "shown"),
    [
        (7, 3, "≥", 2.333333, "233.33%"),  # 党建示范点 7 of ≥3: 7/3
        (0.96, 1.0, "≥", 0.96, "96.00%"),  # 签约腾退 96% of 100%
        (4.612, 4.612, ">=", 1.0, "100.00%"),
        (3, 4, "不低于", 0.75, "75.00%"),
        (5, 10, "≤", 1.0, "100.00%"),  # at or under a ceiling is 100%
        (10, 10, "<=", 1.0, "100.00%"),
        (20, 10, "不高于", 0.5, "50.00%"),  # twice the ceiling: 10/20
        (8, 10, "=", 0.8, "80.00%"),  # 1 − |8 − 10|/10
        (12, 10, "等于", 0.8, "80.00%"),  # 1 − |12 − 10|/10
        (30, 10, "=", 0.0, "0.00%"),  # 1 − 20/10 < 0 → floored at 0
        (5, 0, "≥", 1.0, "100.00%"),  # zero target, anything ≥ 0 meets it
        (0, 0, "=", 1.0, "100.00%"),
        (1, 0, "=", 0.0, "0.00%"),
        (0, 0, "≤", 1.0, "100.00%"),
        (5, 0, "≤", 0.0, "0.00%"),  # a ceiling of 0 exceeded
        (7, 3, None, 2.333333, "233.33%"),  # no direction means ≥
        (7, 3, " ≥ ", 2.333333, "233.33%"),
    ],
)
def test_output_completion_rate(
    actual: object, target: object, direction: object, fraction: float, shown: str
) -> None:
    _ok(output_completion_rate(actual, target, direction), fraction, shown)


def test_output_completion_rate_failures() -> None:
    _failed(output_completion_rate(-1, 0), "指标值为0且完成值为负")
    # a negative target would invert the ratio: 0.01 against ≥ −0.03 is met, yet 0.01 / −0.03 = −33%
    for direction in ("≥", "≤"):
        _failed(
            output_completion_rate(0.01, -0.03, direction),
            "指标值为负数，无法按比例计算完成率，请以正数填写指标值（如“下降3%”填3%）",
        )
    _ok(output_completion_rate(-0.03, -0.03, "="), 1.0, "100.00%")  # = compares by |deviation|
    _failed(output_completion_rate(5, 3, "大于"), "指标方向应为 ≥、≤ 或 =，实际为「大于」")
    _failed(output_completion_rate(None, 3), "无法计算完成率：缺少完成值", missing=("完成值",))
    _failed(
        output_completion_rate("很好", 3),
        "无法计算完成率：完成值无法识别为数字：「很好」",
        invalid=("完成值",),
    )


# --- 支出进度 against 序时进度 --------------------------------------------------------------------------


def test_spending_progress() -> None:
    # 1104.79 / 4419.16 = 0.25 exactly → 25.00%
    _ok(spending_progress(1104.79, 4419.16), 0.25, "25.00%")
    rate = spending_progress(2218.86, 4419.16, 8875.43, "调整后预算")  # 2218.86 / 8875.43 = 0.25
    _ok(rate, 0.25, "25.00%")
    assert rate.formula == "累计支出 / 调整后预算数 × 100%"


@pytest.mark.parametrize(
    ("progress", "target", "answer"),
    [
        (0.2499, 0.25, "否"),  # 24.99% < 25.00%
        (0.25, 0.25, "是"),
        (0.25, 25, "是"),  # 序时进度 typed as 25 rather than 25%
        (0.24995, 0.25, "是"),  # compared at two-decimal percentages: 24.995 → 25.00
        (0.6, "50%", "是"),
        (None, 0.25, "—"),
        (0.3, None, "—"),
        ("x", 0.25, "—"),
    ],
)
def test_on_schedule(progress: object, target: object, answer: str) -> None:
    assert on_schedule(progress, target) == answer


def test_quarters_on_schedule_reference_narrative() -> None:
    # "虽第一季度支出进度未达到序时进度，但第二、三、四季度支出进度均达到序时进度" with 全年预算 4419.16:
    # Q1 1000/4419.16 = 22.63% < 25%; Q2 2209.58/4419.16 = 50.00%; Q3 3314.37 = 75.00%; Q4 = 100%.
    cumulative = [1000, 2209.58, 3314.37, 4419.16]
    quarters = quarterly_progress(cumulative, [0.25, 0.5, 0.75, 1.0], 4419.16)
    assert [q.met for q in quarters] == [False, True, True, True]
    assert [q.quarter for q in quarters] == [1, 2, 3, 4]
    assert fmt_rate(quarters[0].rate.value) == "22.63%"
    count = quarters_on_schedule(cumulative, [0.25, 0.5, 0.75, 1.0], 4419.16)
    assert count.value == 3.0 and count.name == "支出进度达标季度数"
    # 序时进度 typed as whole numbers gives the same count
    assert quarters_on_schedule(cumulative, [25, 50, 75, 100], 4419.16).value == 3.0
    # against the adjusted budget 8875.43 every quarter is behind (Q4: 4419.16 / 8875.43 = 49.79% < 100%)
    assert (
        quarters_on_schedule(cumulative, [0.25, 0.5, 0.75, 1.0], 4419.16, 8875.43, "调整后预算").value == 0.0
    )


def test_quarters_on_schedule_failures() -> None:
    _failed(
        quarters_on_schedule([None] * 4, [0.25, 0.5, 0.75, 1.0], 4419.16),
        "无法判断各季度支出进度：缺少累计支出数",
        missing=("第1季度", "第2季度", "第3季度", "第4季度"),
    )
    _failed(
        quarters_on_schedule([1000, None, 3314.37, "x"], [0.25, 0.5, 0.75, 1.0], 4419.16),
        "无法判断第2季度、第4季度支出进度：累计支出无法识别为数字：「x」；缺少累计支出数",
        missing=("第2季度",),
        invalid=("第4季度",),
    )
    _failed(
        quarters_on_schedule([1000, 2000], [0.25], 4419.16),
        "无法判断第2季度支出进度：缺少序时进度",
        missing=("第2季度",),
    )
    _failed(quarters_on_schedule([], [], 4419.16), "缺少季度累计支出", missing=("季度累计支出",))
    zero = quarters_on_schedule([1000, 2000, 3000, 4000], [0.25, 0.5, 0.75, 1.0], 0)
    assert zero.value is None and zero.reason == "无法判断各季度支出进度：全年预算数为0，无法计算支出进度"


# --- 关联目标平均完成率 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "goal_ids",
    [
        "G1,G2",
        "目标=G1,G2",
        "目标=G1,G2; 其他=1",
        "目标＝G1，G2",
        " 目标 = G1 , G2 ",
        "目标=G1；x=1",
        "G1，G2",
    ],
)
def test_goals_completion_averages_capped_rates(goal_ids: str) -> None:
    ids, completion = ["G1", "G2", "G3"], [0.5, 1.2, 0.1]
    expected = 0.75 if "G2" in goal_ids else 0.5  # (0.5 + min(1.2, 1)) / 2 = 0.75
    _ok(goals_completion(goal_ids, ids, completion), expected, fmt_rate(expected))


def test_goals_completion_failures() -> None:
    ids = ["G1", "G2"]
    _failed(goals_completion("", ids, [0.5, 1]), "未指定关联的绩效目标编号", missing=("目标编号",))
    _failed(goals_completion("G3", ids, [0.5, 1]), "绩效目标表中没有目标「G3」", invalid=("G3",))
    _failed(
        goals_completion("G1", ids, ["无法计算完成率：缺少完成值", 1]),
        "目标G1无法计算完成率：缺少完成值",
        missing=("G1",),
    )
    _failed(
        goals_completion("G1", ids, [None, 1]),
        "目标G1完成率无法计算（缺少指标值或完成值）",
        missing=("G1",),
    )
    _failed(
        goals_completion("G1", ids, ["#DIV/0!", 1]),
        "目标G1的完成率单元格为错误值 #DIV/0!，应为数字",
        invalid=("G1",),
    )


# --- ranges -----------------------------------------------------------------------------------------


def test_total_is_blank_aware() -> None:
    assert total([1, None, "2", ""]).value == 3.0
    assert total([[1, 2], [3, [4]]]).value == 10.0  # nested ranges
    assert total([None, "", " "]).blank  # all blank → blank, not 0
    assert total([]).blank
    assert total([1, "x"]).problem == "无法识别为数字：「x」"
    assert total(5).value == 5.0
    assert total([1e308, 1e308]).problem == "合计超出数值范围，请核对"


def test_pick_budget() -> None:
    assert pick_budget(1, 2, "调整后预算") == 2
    assert pick_budget(1, 2, " 调整后预算 ") == 2
    assert pick_budget(1, 2, "年初预算") == 1
    assert pick_budget(1, 2, None) == 1
