"""What a bureau reviewer catches, through ``evaluate(UnitData(...))`` on small hand-built units (checks.py).

The figures are the 高邑镇 2024 report's (万元): 收入 4419.16 = 2178.85 + 2240.31 (预算) and
8690.35 = 1717.31 + 6973.04 (决算); 支出 4419.16 = 1812.84 + 2606.32 and 8875.43 = 1036.95 + 7838.48;
基本 1812.84 = 972.11 + 840.73 and 1036.95 = 882.33 + 154.62; 编制 79 = 40 + 39;
结转结余 298.15 + 8690.35 − 8875.43 = 113.07.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from xlperf.core import checks
from xlperf.core.evaluate import Evaluation, evaluate
from xlperf.core.findings import ERROR, INFO, WARNING, Finding, count_by_severity
from xlperf.core.model import CLASSES, GOALS, RUBRIC, ClassRow, GoalRow, IndicatorRow, Ref, TeamRow, UnitData

BALANCED: dict[str, object] = {
    "unit_name": "高邑县高邑镇人民政府",
    "year": 2024,
    "staff_quota_admin": 40,
    "staff_quota_inst": 39,
    "staff_quota_total": 79,
    "staff_actual": 78,
    "budget_income_total": 4419.16,
    "budget_income_general": 2178.85,
    "budget_income_fund": 2240.31,
    "budget_exp_total": 4419.16,
    "budget_exp_basic": 1812.84,
    "budget_exp_personnel": 972.11,
    "budget_exp_public": 840.73,
    "budget_exp_project": 2606.32,
    "final_income_total": 8690.35,
    "final_income_general": 1717.31,
    "final_income_fund": 6973.04,
    "final_exp_total": 8875.43,
    "final_exp_basic": 1036.95,
    "final_exp_personnel": 882.33,
    "final_exp_public": 154.62,
    "final_exp_project": 7838.48,
    "carryover_begin": 298.15,
    "carryover_end": 113.07,
    "carryover_basis": "支出预算数",
    "budget_basis": "年初预算",
}

# A 100-point rubric of metric-sourced leaves (the reference report's rules) plus a manual one.
RUBRIC_ROWS = (
    IndicatorRow("1", "过程", 90),
    IndicatorRow(
        "1.1", "收入预算完成率", 20, "扣分", "阈值=100%; 方向=偏离; 每=5%; 扣比例=25%", "收入预算完成率"
    ),
    IndicatorRow(
        "1.2",
        "预算调整率",
        30,
        "分档计分",
        "档次=0%:100%,10%:66.67%,20%:33.33%,30%:16.67%,其他:0%",
        "预算调整率",
    ),
    IndicatorRow("1.3", "资金结余结转率", 10, "分档计分", "档次=5%:100%,10%:50%,其他:0%", "结转结余率"),
    IndicatorRow(
        "1.4", "“三公经费”控制率", 15, "扣分", "阈值=100%; 每=1%; 扣比例=16.67%", "“三公经费”控制率"
    ),
    IndicatorRow("1.5", "政府采购执行率", 15, "比例计分", "满分值=100%", "政府采购执行率"),
    IndicatorRow("2", "效果", 10),
    IndicatorRow("2.1", "满意度", 10, "自评"),
)


def unit(
    fields: Mapping[str, object] | None = None,
    *,
    drop: Sequence[str] = (),
    scores: Mapping[str, object] | None = None,
    stated: Mapping[str, object] | None = None,
    rows: Sequence[IndicatorRow] = RUBRIC_ROWS,
    classes: Sequence[ClassRow] = (),
    goals: Sequence[GoalRow] = (),
    team: Sequence[TeamRow] = (),
) -> Evaluation:
    """Evaluate the balanced unit with some fields changed, self-scores and stated figures set."""
    values = {k: v for k, v in BALANCED.items() if k not in drop} | dict(fields or {})
    indicators = tuple(
        IndicatorRow(
            r.code,
            r.name,
            r.maximum,
            r.rule,
            r.params,
            r.source,
            stated=(stated or {}).get(str(r.code), r.stated),
            self_score=(scores or {}).get(str(r.code), r.self_score),
        )
        for r in rows
    )
    data = UnitData(values, tuple(classes), (), tuple(goals), indicators, tuple(team))
    return evaluate(data)


def found(ev: Evaluation, check: str) -> list[Finding]:
    return [f for f in ev.findings if f.check == check]


def only(ev: Evaluation, check: str) -> Finding:
    [finding] = found(ev, check)
    return finding


# --- component sums ----------------------------------------------------------------------------------


def test_balanced_unit_has_no_sum_or_identity_findings() -> None:
    ev = unit()
    assert [f for f in ev.findings if f.check.startswith(("sum.", "identity."))] == []


def test_income_by_source() -> None:
    # 一般公共预算 typed 2178.80: 2178.80 + 2240.31 = 4419.11, 0.05 short of 4419.16
    zeros = {"budget_income_soe": 0, "budget_income_special": 0, "budget_income_other": 0}
    finding = only(unit({"budget_income_general": 2178.80} | zeros), "sum.income")
    assert finding.severity == ERROR
    assert finding.figures == {"合计": "4,419.16 万元", "各项之和": "4,419.11 万元", "差额": "0.05 万元"}
    assert finding.message.startswith("预算收入与各来源不符：预算收入合计 4,419.16 万元，各项之和 ")
    assert Ref("budget_income_total") in finding.refs and Ref("budget_income_general") in finding.refs
    # 0.01 off is within the 金额核对容差 of 0.01 万元
    assert found(unit({"budget_income_general": 2178.84} | zeros), "sum.income") == []
    # with three sources blank the 0.05 gap is unexplained, not an error: blank is unknown, not 0
    ev = unit({"budget_income_general": 2178.80})
    assert found(ev, "sum.income") == []
    [unverifiable] = found(ev, "sum.unverifiable")
    assert unverifiable.severity == INFO
    assert unverifiable.message == (
        "无法核对预算收入合计：预算国有资本经营预算拨款收入、预算财政专户管理资金收入、预算其他来源收入未填写；"
        "已填各项合计 4,419.11 万元，比预算收入合计 4,419.16 万元少 0.05 万元"
    )


def test_expense_basic_and_staff_sums() -> None:
    # 决算 项目 typed 7838.50: 1036.95 + 7838.50 = 8875.45 vs 8875.43 → −0.02
    finding = only(unit({"final_exp_project": 7838.50}), "sum.expense")
    assert finding.figures == {"合计": "8,875.43 万元", "各项之和": "8,875.45 万元", "差额": "-0.02 万元"}
    assert "决算支出不等于基本支出与项目支出之和" in finding.message
    # 预算 公用经费 typed 84.73 (a dropped digit): 972.11 + 84.73 = 1056.84 vs 1812.84 → 756.00
    finding = only(unit({"budget_exp_public": 84.73}), "sum.basic")
    assert finding.figures == {"合计": "1,812.84 万元", "各项之和": "1,056.84 万元", "差额": "756.00 万元"}
    # 编制 合计 80 ≠ 40 + 39
    finding = only(unit({"staff_quota_total": 80}), "sum.staff")
    assert finding.figures == {"合计": "80 人", "各项之和": "79 人", "差额": "1 人"}
    assert finding.message == (  # head-counts in 人, not 万元
        "编制数合计不等于行政编制与事业编制之和：编制数合计（单位填报） 80 人，各项之和 40 + 39 = 79 人，各项之和比合计少 1 人"
    )


def test_sums_are_skipped_when_the_parts_are_blank() -> None:
    ev = unit(drop=["budget_income_general", "budget_income_fund"])
    assert found(ev, "sum.income") == []


def test_tolerance_is_configurable() -> None:
    # with a 0.10 万元 tolerance the 0.05 gap is accepted
    ev = unit({"budget_income_general": 2178.80, "tolerance_money": 0.1})
    assert [f for f in ev.findings if f.check.startswith("sum.")] == []


# --- functional classes --------------------------------------------------------------------------------


REFERENCE_CLASSES = (
    ClassRow("201", "一般公共服务支出", None, 243.49),
    ClassRow("2010308", "信访事务", None, 7),
    ClassRow("211", "节能环保支出", None, 23),
    ClassRow("212", "城乡社区支出", 2430.48, 7397.75),
    ClassRow("213", "农林水支出", 175.84, 174.23),
)


def test_a_sub_item_listed_beside_its_class_is_double_counted() -> None:
    ev = unit(classes=REFERENCE_CLASSES)
    finding = only(ev, "sum.double_count")
    assert finding.severity == ERROR
    assert finding.message == (
        "决算：信访事务（2010308）属于一般公共服务支出（201），二者同时列出，7.00 万元被重复计算"
    )
    assert finding.figures == {"重复金额": "7.00 万元"}
    assert finding.refs == (Ref("决算数", CLASSES, 1), Ref("决算数", CLASSES, 0))
    # Without the duplicate the classes add to 243.49 + 23 + 7397.75 + 174.23 = 7838.47, 0.01 from
    # 项目支出 7838.48 — within tolerance. (Row by row they add to 7845.47, 6.99 too much.)
    assert found(ev, "sum.project_classes") == []


def test_project_total_against_functional_classes() -> None:
    # 预算 项目支出 typed 2600: 2430.48 + 175.84 = 2606.32 → 2600 − 2606.32 = −6.32
    # the reference leaves 201, 2010308 and 211 without a 预算数: blank is unknown, so not an error
    ev = unit({"budget_exp_project": 2600}, classes=REFERENCE_CLASSES)
    assert found(ev, "sum.project_classes") == []
    assert only(ev, "sum.unverifiable").message == (
        "无法核对预算项目支出与功能分类：一般公共服务支出、信访事务、节能环保支出未填写预算数；"
        "已填各行合计 2,606.32 万元，比预算项目支出 2,600.00 万元多 6.32 万元"
    )
    zeros = tuple(
        ClassRow(r.code, r.name, 0 if r.budget is None else r.budget, r.final) for r in REFERENCE_CLASSES
    )
    finding = only(unit({"budget_exp_project": 2600}, classes=zeros), "sum.project_classes")
    assert finding.figures == {
        "项目支出": "2,600.00 万元",
        "功能分类合计": "2,606.32 万元",
        "差额": "-6.32 万元",
    }
    assert finding.message.startswith("预算项目支出 2,600.00 万元，按功能分类")
    # 决算 with the duplicate: the message also gives the row-by-row sum 7845.47
    classes = (*REFERENCE_CLASSES[:4], ClassRow("213", "农林水支出", 175.84, 180))
    finding = only(unit(classes=classes), "sum.project_classes")
    # 243.49 + 23 + 7397.75 + 180 = 7844.24; 7838.48 − 7844.24 = −5.76
    assert finding.figures == {
        "项目支出": "7,838.48 万元",
        "功能分类合计": "7,844.24 万元",
        "差额": "-5.76 万元",
    }
    assert "（逐行相加为 7,851.24 万元）" in finding.message  # + 7 for 信访事务


def test_classes_without_nesting_are_not_double_counted() -> None:
    classes = (ClassRow("212", "城乡社区支出", 2430.48, None), ClassRow("213", "农林水支出", 175.84, None))
    ev = unit(classes=classes)
    assert found(ev, "sum.double_count") == [] and found(ev, "sum.project_classes") == []


# --- carry-over identity --------------------------------------------------------------------------------


def test_carryover_identity_holds_for_the_reference() -> None:
    # 298.15 + 8690.35 − 8875.43 = 113.07
    assert found(unit(), "identity.carryover") == []


def test_carryover_identity_broken_by_two_cents() -> None:
    finding = only(unit({"carryover_end": 113.09}), "identity.carryover")
    assert finding.severity == ERROR
    assert finding.figures == {"应为": "113.07 万元", "填写": "113.09 万元", "差额": "0.02 万元"}
    assert finding.message == (
        "结转结余不平衡：年初 298.15 + 收入 8,690.35 − 支出 8,875.43 = 113.07 万元，"
        "而年末结转结余填写为 113.09 万元，比应有数多 0.02 万元"
    )
    assert finding.refs == tuple(
        Ref(k) for k in ("carryover_begin", "final_income_total", "final_exp_total", "carryover_end")
    )


def test_carryover_identity_tolerates_one_cent() -> None:
    assert found(unit({"carryover_end": 113.08}), "identity.carryover") == []
    assert found(unit({"carryover_end": 113.06}), "identity.carryover") == []
    assert found(unit(drop=["carryover_end"]), "identity.carryover") == []  # blank: nothing to compare


# --- scores: roll-ups, self-scores above the rule, missing inputs -----------------------------------------


def test_self_score_above_what_the_rule_gives() -> None:
    # 收入预算完成率 196.65% is 96.65 points off 100%: 19.33 steps × 5 (25% of 20) > 20 → 0
    ev = unit(scores={"1.1": 20})
    finding = only(ev, "score.unsupported")
    assert finding.severity == ERROR
    assert finding.figures == {"自评得分": "20 分", "计算得分": "0 分"}
    assert finding.message == (
        "指标 1.1 收入预算完成率 自评 20 分，按数据计算只得 0 分"
        "（收入预算完成率196.65%，偏离100.00% 96.65个百分点，扣完20分，本项不得分）"
    )
    assert finding.refs == (Ref("自评得分", RUBRIC, 1), Ref("计算得分", RUBRIC, 1))


def test_self_score_above_the_maximum() -> None:
    finding = only(unit(scores={"2.1": 12}), "score.over_max")
    assert finding.message == "指标 2.1 满意度 自评 12 分，超过分值 10 分"
    assert finding.severity == ERROR


def test_self_score_below_and_missing() -> None:
    # 结转结余率 2.56% ≤ 5% → 10; self-scored 8 → informational
    finding = only(unit(scores={"1.3": 8}), "score.below")
    assert finding.severity == INFO
    assert finding.message.startswith(
        "指标 1.3 资金结余结转率 自评 8 分，低于按数据计算的 10 分（结转结余率2.56%"
    )
    # every other indicator unscored: one finding listing them, not one per indicator
    missing = only(unit(scores={"1.3": 10}), "score.self_missing")
    assert missing.severity == WARNING
    assert missing.message == (
        "5 个指标未填写自评得分：1.1 收入预算完成率、1.2 预算调整率、1.4 “三公经费”控制率、1.5 政府采购执行率、2.1 满意度"
    )
    assert missing.refs == tuple(Ref("自评得分", RUBRIC, i) for i in (1, 2, 4, 5, 7))
    scores = {"1.1": 0, "1.2": 0, "1.3": 10, "1.4": 0, "1.5": 0}
    assert only(unit(scores=scores), "score.self_missing").message == "指标 2.1 满意度 未填写自评得分"


def test_scored_indicators_whose_inputs_are_missing() -> None:
    # 三公经费 and 政府采购 are blank while their indicators carry self-scores
    ev = unit(scores={"1.4": 15, "1.5": 0})
    [three_public] = [f for f in found(ev, "input.missing") if "指标 1.4" in f.message]
    [procurement] = [f for f in found(ev, "input.missing") if "指标 1.5" in f.message]
    assert three_public.severity == ERROR  # 15 points claimed on nothing
    assert three_public.message == (
        "指标 1.4 “三公经费”控制率 自评 15 分，但无法计算“三公经费”控制率：缺少“三公经费”实际支出数、"
        "“三公经费”预算数，无法核实，计0分"
    )
    blank_cells = {r.key for r in three_public.refs if r.table is None}
    assert blank_cells == {
        f"tp_{i}_{c}"
        for i in ("abroad", "reception", "vehicle_purchase", "vehicle_operation")
        for c in ("actual", "budget")
    } | {"tp_total_actual", "tp_total_budget"}
    assert procurement.severity == WARNING  # scored 0: nothing claimed
    assert {r.key for r in procurement.refs if r.table is None} == {
        "procurement_actual",
        "procurement_budget",
    }
    # with the inputs filled the finding goes away: 三公 9 of 10 → 90% ≤ 100% → 15
    filled = {
        "tp_reception_actual": 9,
        "tp_reception_budget": 10,
        "procurement_actual": 50,
        "procurement_budget": 50,
    }
    assert found(unit(filled, scores={"1.4": 15, "1.5": 15}), "input.missing") == []


def test_missing_input_with_a_stated_figure_that_the_rule_would_not_reward() -> None:
    # 预算调整数 blank; the unit states 31% and scores 20 of 30 — even 31% gives 0 under the tiers
    ev = unit(scores={"1.2": 20}, stated={"1.2": 0.31})
    finding = only(ev, "input.missing")
    assert finding.message.endswith(
        "；即使按单位自述的 31.00%，依规则也只得 0 分（预算调整率31.00%，超过30.00%，本项不得分）"
    )
    assert Ref("budget_adjustment") in finding.refs
    assert Ref("budget_adjustment_excluded") not in finding.refs  # a blank exclusion is 0, not missing
    assert found(ev, "claim.unverifiable") == []  # one finding per fact: the stated 31% is in the one above


def test_parent_subtotal_typed_wrong() -> None:
    rows = list(RUBRIC_ROWS)
    rows[6] = IndicatorRow("2", "效果", 10, self_score=9)  # subtotal typed 9; its only child says 8
    ev = unit(scores={"2.1": 8}, rows=rows)
    finding = only(ev, "score.rollup")
    assert finding.message == "指标 2 效果 小计填写 9 分，下级自评得分之和为 8 分"
    assert finding.refs == (Ref("自评得分", RUBRIC, 6),)


# --- figures the unit stated -----------------------------------------------------------------------------


def test_stated_rates_contradicted_by_the_inputs() -> None:
    ev = unit(stated={"1.1": 1.0, "1.3": 0.006})
    by_metric = {f.figures["计算"]: f for f in found(ev, "claim.rate")}
    revenue, carryover = by_metric["196.65%"], by_metric["2.56%"]
    assert revenue.figures == {"自述": "100.00%", "计算": "196.65%"}
    assert revenue.message == (
        "单位自述收入预算完成率为 100.00%，按填报数据计算为 196.65%（本年收入决算数 / 年初收入预算数 × 100%）"
    )  # 100% implies the base 8690.35 itself: nothing informative to add
    assert carryover.figures == {"自述": "0.60%", "计算": "2.56%"}
    assert carryover.refs == (Ref("单位自述值", RUBRIC, 3),)


@pytest.mark.parametrize(
    ("stated", "flagged"), [(0.0256, False), (0.0265, False), (0.0267, True), ("2.56%", False)]
)
def test_stated_rate_tolerance(stated: object, flagged: bool) -> None:
    # 计算 2.56%; tolerance 0.1 percentage point: 2.65 is 0.09 off (accepted), 2.67 is 0.11 off
    assert bool(found(unit(stated={"1.3": stated}), "claim.rate")) is flagged


def test_stated_rate_depends_on_the_chosen_denominator() -> None:
    # with 决算支出数 as the denominator 113.07 / 8875.43 = 1.27%, so a stated 1.27% is right
    ev = unit({"carryover_basis": "决算支出数"}, stated={"1.3": 0.0127})
    assert [f for f in ev.findings if f.check.startswith("claim.")] == []
    # on the default basis (支出预算数, 2.56%) the stated 1.27% is the other legitimate basis: no error,
    # a warning naming the basis the unit used
    ev = unit(stated={"1.3": 0.0127})
    assert found(ev, "claim.rate") == []
    finding = only(ev, "claim.basis")
    assert finding.severity == WARNING
    assert finding.message == (
        "单位自述结转结余率为 1.27%，与按决算支出数口径计算的结果一致，按选定的支出预算数口径计算为 2.56%"
        "（年末结转结余总额 / 支出预算数 × 100%）；请确认采用哪一口径"
    )
    assert finding.figures == {"自述": "1.27%", "口径": "决算支出数"}


def test_claimed_total_and_grade() -> None:
    # self-scores: 20 + 30 + 10 + 15 + 15 + 5 = 95; the report says 96
    scores = {"1.1": 20, "1.2": 30, "1.3": 10, "1.4": 15, "1.5": 15, "2.1": 5}
    ev = unit({"claimed_total": 96, "claimed_grade": "优秀"}, scores=scores)
    assert ev.self_total == 95.0
    # computed from the data: 收入 196.65% → 0; 预算调整数, 三公, 采购 blank → 0; 结转结余 2.56% → 10;
    # 满意度 (自评) 5 → total 15 — one finding for the stated total, with both figures
    total = only(ev, "claim.total")
    assert total.figures == {"所写总分": "96 分", "自评合计": "95 分", "核定总分": "15 分"}
    assert (
        total.message == "报告所写总分 96 分，但各项自评得分相加为 95 分；按数据和评分规则核定为 15 分（差）"
    )
    assert found(ev, "claim.total_computed") == []
    # the stated total equal to the self-scores but not to the computed total: a warning
    computed = only(unit({"claimed_total": 95}, scores=scores), "claim.total_computed")
    assert computed.severity == WARNING
    assert computed.figures == {"所写总分": "95 分", "核定总分": "15 分"}
    assert computed.message == "报告所写总分 95 分，按数据和评分规则核定为 15 分（差）"
    assert found(ev, "claim.grade") == []  # 96 → 优, "优秀" starts with 优
    wrong = only(unit({"claimed_total": 95, "claimed_grade": "良好"}, scores=scores), "claim.grade")
    assert wrong.message == "报告所写等级「良好」与总分 95 分对应的等级「优」不符"
    assert found(unit({"claimed_total": 95}, scores=scores), "claim.total") == []


def test_claimed_grade_without_a_claimed_total_uses_the_self_total() -> None:
    scores = {"1.1": 20, "1.2": 20, "1.3": 10, "1.4": 10, "1.5": 10, "2.1": 5}  # 75 → 中
    finding = only(unit({"claimed_grade": "良"}, scores=scores), "claim.grade")
    assert finding.message == "报告所写等级「良」与总分 75 分对应的等级「中」不符"


# --- goals, team, departments --------------------------------------------------------------------------


def test_goals_without_actuals_reasons_and_excess() -> None:
    goals = (
        GoalRow("G1", "粮食", "数量", "粮食种植面积", "≥", 4.612, None, "万亩", None),
        GoalRow("G5", "治理", "数量", "基层党建示范点", "≥", 3, 7, "个", None),
        GoalRow("G8", "城市更新", "数量", "签约腾退完成率", "≥", 1.0, 0.96, "%", None),
        GoalRow("G9", "城市更新", "数量", "有原因", "≥", 1.0, 0.5, "%", "机构改革"),
        GoalRow(None, None, None, None, None, None, None, None, None),  # an empty row is ignored
    )
    ev = unit(goals=goals)
    incomplete = only(ev, "goal.incomplete")
    assert incomplete.message == "绩效目标 G1 粮食种植面积：无法计算完成率：缺少完成值"
    assert incomplete.refs == (Ref("完成值", GOALS, 0),)
    excess = only(ev, "goal.excess")  # 7 / 3 = 233.33% > 150%
    assert excess.message == "绩效目标 G5 基层党建示范点 完成率 233.33%，超过 150.00%，目标值可能设定偏低"
    no_reason = only(ev, "goal.no_reason")  # 96% without a 偏差原因; G9 has one
    assert no_reason.message == "绩效目标 G8 签约腾退完成率 完成率 96.00%，未达到目标，但未填写偏差原因"
    # the excess threshold is a setting: at 250% the 233.33% is not flagged
    assert found(unit({"goal_excess": 2.5}, goals=goals), "goal.excess") == []


def test_team_names_against_the_signature_table() -> None:
    fields = {
        "team_leader": "刘定业",
        "team_deputies": "暴玉谨、时泽青",
        "team_members": "黄靖、孔令凯、李乐",
    }
    team = (
        TeamRow("刘定业", "高邑县高邑镇", "镇长"),
        TeamRow("暴玉谨", "高邑县高邑镇", "纪检书记"),
        TeamRow("时泽青", "高邑县高邑镇", "人大副主席"),
        TeamRow("黄婧", "高邑县高邑镇", "组织委员"),
        TeamRow("孔令凯", "高邑县高邑镇", "财政所长"),
        TeamRow("赵明明", "高邑县高邑镇", "党建办副主任"),
    )
    ev = unit(fields, team=team)
    mismatch = only(ev, "text.name_mismatch")
    assert mismatch.message == "评价工作组成员「黄靖」在签字名单中写作「黄婧」，同一人姓名写法不一致"
    assert mismatch.refs == (Ref("team_members"), Ref("姓名", "评价工作组", 3))
    assert only(ev, "text.name_missing").message == "评价工作组成员「李乐」不在签字名单中"
    assert only(ev, "text.name_extra").message == "签字名单中的「赵明明」不在评价工作组成员中"


def test_departments_count() -> None:
    listed = "党政综合办公室\n党建工作办公室\n综合行政执法队"
    finding = only(unit({"departments_stated": 4, "departments": listed}), "text.departments")
    assert (
        finding.message
        == "写明下设 4 个内设机构，但列出的名称为 3 个（党政综合办公室、党建工作办公室、综合行政执法队）"
    )
    assert found(unit({"departments_stated": 3, "departments": "甲、乙、丙"}), "text.departments") == []


# --- inputs, rubric, informational rates ---------------------------------------------------------------


def test_unreadable_negative_and_required_inputs() -> None:
    ev = unit({"budget_income_total": "四千四百", "vehicles": -3, "tolerance_money": "x"}, drop=["unit_name"])
    [invalid] = [f for f in found(ev, "input.invalid") if f.refs == (Ref("budget_income_total"),)]
    assert invalid.message == "预算收入合计：请用阿拉伯数字填写，实际为中文数字「四千四百」"
    assert invalid.severity == ERROR
    assert only(ev, "input.negative").message == "车辆数为负数（-3），请核对"
    assert only(ev, "input.required").message == "未填写单位名称"
    assert only(ev, "input.setting").message == "金额核对容差：无法识别为数字：「x」，已使用默认值0.01"
    # a negative carry-over is allowed (a deficit), so no warning
    assert found(unit({"carryover_begin": -10, "carryover_end": -195.08}), "input.negative") == []


def test_unreadable_table_cells() -> None:
    classes = (ClassRow("212", "城乡社区支出", "#REF!", 7397.75),)
    finding = only(unit(classes=classes), "input.invalid")
    assert finding.message == "功能分类第1行「预算数」：单元格为错误值 #REF!，应为数字"
    assert finding.refs == (Ref("预算数", CLASSES, 0),)


def test_error_values_and_unknown_choices_where_text_is_expected() -> None:
    """Text cells: an error value, or a choice outside its list, is an error naming the cell; ordinary
    text, blanks and text merely starting with # are not."""
    classes = (ClassRow("212", " #REF! ", 1.0, 1.0), ClassRow("213", "#1 路段", 2.0, 2.0))
    ev = unit({"unit_name": "#N/A", "unit_nature": "企业", "funding_type": "#号楼拨款"}, classes=classes)
    messages = {f.refs: f.message for f in found(ev, "input.invalid")}
    assert messages == {
        (Ref("unit_name"),): "单位名称：单元格为错误值 #N/A，应填写文字",
        (Ref("unit_nature"),): "单位性质应为「行政」「事业」「参公事业」之一，实际为「企业」",
        (Ref("科目名称", CLASSES, 0),): "功能分类第1行「科目名称」：单元格为错误值 #REF!，应填写文字",
    }
    assert all(f.severity == ERROR for f in found(ev, "input.invalid"))
    assert found(unit({"unit_nature": "事业"}), "input.invalid") == []


def test_broken_rubric_is_a_finding_naming_the_node() -> None:
    rows = list(RUBRIC_ROWS)
    rows[7] = IndicatorRow("2.1", "满意度", 5, "自评")  # 效果 10 ≠ 5
    finding = only(unit(rows=rows), "rubric.structure")
    assert finding.message == "2 效果 的分值为 10，下级指标分值之和为 5 = 5，不相等"
    assert finding.refs == (Ref("分值", RUBRIC, 6),)


def test_unscored_rates_are_listed() -> None:
    messages = {f.message for f in found(unit(), "info.metric")}
    # rates computable from the inputs that no indicator scores
    assert "预算执行率 200.84%（未纳入评分）" in messages  # 8875.43 / 4419.16
    assert "结转结余变动率 -62.08%（未纳入评分）" in messages  # (113.07 − 298.15) / 298.15
    assert "公用经费控制率 18.39%（未纳入评分）" in messages  # 154.62 / 840.73
    assert "在职人员控制率 98.73%（未纳入评分）" in messages  # 78 / 79
    assert not any(m.startswith("收入预算完成率") for m in messages)  # scored by 1.1


def test_findings_are_ordered_by_severity() -> None:
    ev = unit({"carryover_end": 113.09, "claimed_grade": "良"}, scores={"1.1": 20, "1.3": 8})
    order = {ERROR: 0, WARNING: 1, INFO: 2}
    ranks = [order[f.severity] for f in ev.findings]
    assert ranks == sorted(ranks)
    counts = count_by_severity(ev.findings)
    assert counts[ERROR] == len(ev.errors()) >= 2 and counts[INFO] >= 1
    assert ev.counts() == counts


def test_every_check_belongs_to_a_family_with_a_chinese_name():
    """The summary names each finding's family (金额勾稽, 指标得分 …): a new check id needs its family."""
    import re
    from pathlib import Path

    from xlperf.core.findings import CHECK_FAMILIES, check_family

    source = "\n".join(
        p.read_text(encoding="utf-8") for p in Path(checks.__file__).parent.parent.rglob("*.py")
    )
    ids = set(re.findall(r'Finding\(\s*"([a-z_]+\.[a-z_.]+)"', source))
    core = "\n".join(p.read_text(encoding="utf-8") for p in Path(checks.__file__).parent.glob("*.py"))
    ids |= set(re.findall(r'"([a-z]+\.[a-z_]+)"', core))
    assert {"identity.carryover", "info.metric", "sum.income", "claim.total"} <= ids
    assert not [i for i in ids if check_family(i) not in CHECK_FAMILIES.values()]
