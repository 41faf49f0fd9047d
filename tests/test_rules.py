"""Every rule type with hand-computed scores and the Chinese reason for each point lost (rules.py)."""

from __future__ import annotations

import pytest

from xlperf.core.rules import (
    INVALID,
    MISSING,
    OK,
    RULE_KINDS,
    RULES,
    Checklist,
    Deduct,
    Goal,
    LeafInput,
    Manual,
    Measure,
    Outcome,
    Proportional,
    Qualitative,
    Quarterly,
    Tiers,
    make_rule,
    split_params,
)
from xlperf.errors import RubricError

ADJ_TIERS = "档次=0%:100%,10%:66.67%,20%:33.33%,30%:16.67%,其他:0%; 比较=不高于"  # reference 2.1.2
SATISFACTION = "档次=90%:100%,80%:80%,70%:60%,60%:40%,其他:0%; 比较=不低于"  # reference 4.1.2
REVENUE = "阈值=100%; 方向=偏离; 每=5%; 扣比例=25%"  # reference 2.1.1
THREE_PUBLIC = "阈值=100%; 方向=高于; 每=1%; 扣比例=16.67%"  # reference 2.1.5
QUALITATIVE = "档次=达成:80%-100%,部分达成:60%-80%,未达成:0%-60%"


def rate(value: float | None, name: str = "预算调整率", reason: str = "", invalid: bool = False) -> LeafInput:
    return LeafInput(Measure(name, value, True, reason, invalid))


def count(value: float | None, name: str = "满足项数") -> LeafInput:
    return LeafInput(Measure(name, value, False))


def score(rule: str, params: str, maximum: float, leaf: LeafInput) -> Outcome:
    return make_rule(rule, params, maximum).score(leaf)


def test_rule_registry() -> None:
    assert set(RULES) == {"比例计分", "分档计分", "扣分", "清单", "季度进度", "定性分档", "目标完成", "自评"}
    assert RULE_KINDS["tiers"] == "分档计分" and RULE_KINDS["manual"] == "自评"
    assert isinstance(make_rule("tiers", "档次=0%:100%", 2.0), Tiers)  # the English kind works too
    assert isinstance(make_rule(" 扣分 ", "阈值=100%", 2.0), Deduct)


@pytest.mark.parametrize("name", ["未知", "", "比例", "Tiers"])
def test_unknown_rule(name: str) -> None:
    with pytest.raises(RubricError) as exc:
        make_rule(name, "", 2.0)
    assert exc.value.message == (
        f"未知的规则「{name}」，可用规则：比例计分、分档计分、扣分、清单、季度进度、定性分档、目标完成、自评"
    )


@pytest.mark.parametrize("maximum", [-1.0, float("nan"), float("inf")])
def test_bad_maximum(maximum: float) -> None:
    with pytest.raises(RubricError, match="分值应为不小于0的数字"):
        make_rule("自评", "", maximum)


def test_split_params_full_width_and_errors() -> None:
    assert split_params("阈值＝100%；方向=高于；每=1%") == {"阈值": "100%", "方向": "高于", "每": "1%"}
    assert split_params(" 档次 = 0%：100%，其他:0% ; ") == {"档次": "0%:100%,其他:0%"}
    assert split_params("") == {}
    with pytest.raises(RubricError, match="参数「方向」应写作 键=值"):
        split_params("阈值=1;方向")


# --- 比例计分 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "reason"),
    [
        (1.0, 2.0, "政府采购执行率100.00%，得满分"),
        (1.2, 2.0, "政府采购执行率120.00%，得满分"),  # capped at 分值 (10号: 不得超过分值上限)
        (0.96, 1.92, "政府采购执行率96.00%，按比例得1.92分，扣0.08分"),  # 2 × 0.96
        (1 / 3, 0.67, "政府采购执行率33.33%，按比例得0.67分，扣1.33分"),  # 2 × 0.3333 = 0.666… → 0.67
        (0.0, 0.0, "政府采购执行率0.00%，按比例得0分，扣2分"),
        (-0.5, 0.0, "政府采购执行率-50.00%，按比例得0分，扣2分"),  # floor 0
    ],
)
def test_proportional(value: float, expected: float, reason: str) -> None:
    outcome = score("比例计分", "满分值=100%", 2.0, rate(value, "政府采购执行率"))
    assert outcome == Outcome(expected, reason, OK)


def test_proportional_execution_rate_times_ten() -> None:
    # 10号: 预算执行率 × 10, capped: 87.5% → 8.75; 200.84% → 10
    assert score("比例计分", "满分值=100%", 10.0, rate(0.875, "预算执行率")).score == 8.75
    assert score("比例计分", "满分值=100%", 10.0, rate(2.008397, "预算执行率")).score == 10.0


def test_proportional_lower_is_better() -> None:
    # 结余率 ≤ 5% full; 10% → 2 × 5/10 = 1
    params = "满分值=5%; 方向=越低越好"
    assert score("比例计分", params, 2.0, rate(0.10, "结余率")) == Outcome(
        1.0, "结余率10.00%，按比例得1分，扣1分"
    )
    assert score("比例计分", params, 2.0, rate(0.03, "结余率")) == Outcome(2.0, "结余率3.00%，得满分")
    assert score("比例计分", params, 2.0, rate(-0.1, "结余率")).score == 2.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("满分值=0", "参数「满分值」必须大于0"),
        ("满分值=-1", "参数「满分值」必须大于0"),
        ("满分值=很多", "参数「满分值」应为数字或百分比，实际为「很多」"),
        ("方向=越大越好", "参数「方向」应为 越高越好、越低越好 之一，实际为「越大越好」"),
        ("上限=1", "规则「比例计分」不认识参数「上限」（可用：满分值、方向）"),
    ],
)
def test_proportional_parameter_errors(params: str, message: str) -> None:
    with pytest.raises(RubricError) as exc:
        make_rule("比例计分", params, 2.0)
    assert exc.value.message == message


def test_missing_and_invalid_measures() -> None:
    assert score("比例计分", "", 2.0, LeafInput()) == Outcome(
        0.0, "缺少比例计分的实际值，本项不得分", MISSING
    )
    failed = rate(None, "x", "无法计算政府采购执行率：缺少政府采购预算数")
    assert score("比例计分", "", 2.0, failed) == Outcome(
        0.0, "无法计算政府采购执行率：缺少政府采购预算数，本项不得分", MISSING
    )
    bad = rate(None, "x", "x的实际值无法识别为数字：「abc」", invalid=True)
    assert score("比例计分", "", 2.0, bad).status == INVALID


# --- 分档计分 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "reason"),
    [
        (0.0, 3.0, "预算调整率0.00%，不高于0.00%，得满分"),
        (0.0001, 2.0, "预算调整率0.01%，不高于10.00%，得分比例66.67%，扣1分"),  # 3 × 66.67% = 2.0001 → 2
        (0.10, 2.0, "预算调整率10.00%，不高于10.00%，得分比例66.67%，扣1分"),  # on the boundary: in band
        (0.10004, 2.0, "预算调整率10.00%，不高于10.00%，得分比例66.67%，扣1分"),  # 10.004 → 10.00
        (0.10005, 1.0, "预算调整率10.01%，不高于20.00%，得分比例33.33%，扣2分"),  # 10.005 → 10.01
        (0.20, 1.0, "预算调整率20.00%，不高于20.00%，得分比例33.33%，扣2分"),
        (1325.748 / 4419.16, 0.5, "预算调整率30.00%，不高于30.00%，得分比例16.67%，扣2.5分"),
        (0.31, 0.0, "预算调整率31.00%，超过30.00%，本项不得分"),  # the reference unit's 31%
        (0.30005, 0.0, "预算调整率30.01%，超过30.00%，本项不得分"),
        (-0.05, 3.0, "预算调整率-5.00%，不高于0.00%，得满分"),
    ],
)
def test_tiers_not_higher_than(value: float, expected: float, reason: str) -> None:
    # 3 × 16.67% = 0.5001 → 0.5; 3 × 33.33% = 0.9999 → 1; 3 × 66.67% = 2.0001 → 2
    assert score("分档计分", ADJ_TIERS, 3.0, rate(value)) == Outcome(expected, reason)


@pytest.mark.parametrize(
    ("value", "expected", "reason"),
    [
        (0.95, 5.0, "社会公众满意度95.00%，不低于90.00%，得满分"),
        (0.90, 5.0, "社会公众满意度90.00%，不低于90.00%，得满分"),  # on the boundary
        (0.8999, 4.0, "社会公众满意度89.99%，不低于80.00%，得分比例80.00%，扣1分"),  # 5 × 80%
        (0.70, 3.0, "社会公众满意度70.00%，不低于70.00%，得分比例60.00%，扣2分"),
        (0.60, 2.0, "社会公众满意度60.00%，不低于60.00%，得分比例40.00%，扣3分"),
        (0.5, 0.0, "社会公众满意度50.00%，低于60.00%，本项不得分"),
    ],
)
def test_tiers_not_lower_than(value: float, expected: float, reason: str) -> None:
    assert score("分档计分", SATISFACTION, 5.0, rate(value, "社会公众满意度")) == Outcome(expected, reason)


def test_tiers_band_order_does_not_matter() -> None:
    shuffled = "档次=30%:16.67%,其他:0%,0%:100%,20%:33.33%,10%:66.67%"
    assert make_rule("分档计分", shuffled, 3.0).score(rate(0.15)).score == 1.0  # (10%, 20%] → 33.33%


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("比较=不低于", "规则「分档计分」需要参数「档次」，如 档次=0%:100%,10%:75%,其他:0%"),
        ("档次=90%:120%", "参数「档次」的得分比例应在0%到100%之间，实际为「120%」"),
        ("档次=90%:-10%", "参数「档次」的得分比例应在0%到100%之间，实际为「-10%」"),
        ("档次=90%:abc", "参数「档次」应为数字或百分比，实际为「abc」"),
        ("档次=abc:50%", "参数「档次」应为数字或百分比，实际为「abc」"),
        ("档次=90%", "参数「档次」的「90%」应写作 界限:得分比例"),
        ("档次=", "参数「档次」不能为空"),
        ("档次=其他:50%", "参数「档次」至少需要一个界限，如 档次=10%:75%,其他:0%"),
        ("档次=90%:100%;比较=大于", "参数「比较」应为 不高于、不低于 之一，实际为「大于」"),
    ],
)
def test_tiers_parameter_errors(params: str, message: str) -> None:
    with pytest.raises(RubricError) as exc:
        make_rule("分档计分", params, 5.0)
    assert exc.value.message == message


# --- 扣分 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected", "reason"),
    [
        (1.0, 2.0, "收入预算完成率100.00%，等于100.00%，得满分"),
        # 196.65% is 96.65 points off; 96.65/5 = 19.33 steps × 0.5 (25% of 2) = 9.67 > 2 → 0
        (8690.35 / 4419.16, 0.0, "收入预算完成率196.65%，偏离100.00% 96.65个百分点，扣完2分，本项不得分"),
        (0.95, 1.5, "收入预算完成率95.00%，偏离100.00% 5个百分点，扣0.5分"),  # 1 step × 0.5
        (1.05, 1.5, "收入预算完成率105.00%，偏离100.00% 5个百分点，扣0.5分"),  # over-collection too
        (0.90, 1.0, "收入预算完成率90.00%，偏离100.00% 10个百分点，扣1分"),
        (1.07, 1.3, "收入预算完成率107.00%，偏离100.00% 7个百分点，扣0.7分"),  # 7/5 × 0.5 = 0.7
    ],
)
def test_deduct_deviation(value: float, expected: float, reason: str) -> None:
    assert score("扣分", REVENUE, 2.0, rate(value, "收入预算完成率")) == Outcome(expected, reason)


@pytest.mark.parametrize(
    ("value", "expected", "reason"),
    [
        (1.0, 2.0, "“三公经费”控制率100.00%，未超过100.00%，得满分"),  # exactly on the threshold
        (0.5, 2.0, "“三公经费”控制率50.00%，未超过100.00%，得满分"),
        # 1 point over: 16.67% × 2 = 0.3334 → lost 0.33 → 1.67
        (1.01, 1.67, "“三公经费”控制率101.00%，超过100.00% 1个百分点，扣0.33分"),
        (1.015, 1.5, "“三公经费”控制率101.50%，超过100.00% 1.5个百分点，扣0.5分"),  # 1.5 × 0.3334
        (1.03, 1.0, "“三公经费”控制率103.00%，超过100.00% 3个百分点，扣1分"),  # 3 × 0.3334 = 1.0002
        (1.06, 0.0, "“三公经费”控制率106.00%，超过100.00% 6个百分点，扣完2分，本项不得分"),  # floor 0
    ],
)
def test_deduct_above(value: float, expected: float, reason: str) -> None:
    assert score("扣分", THREE_PUBLIC, 2.0, rate(value, "“三公经费”控制率")) == Outcome(expected, reason)


def test_deduct_below_with_rounding_up() -> None:
    # wanglu (b): 预算完成率 每低于5%扣2分, 8 points. 93% is 7 points under:
    # 不取整 → 7/5 × 2 = 2.8 lost → 5.2; 向上 → ceil(1.4) = 2 steps × 2 = 4 lost → 4
    plain = "阈值=100%; 方向=低于; 每=5%; 扣=2"
    assert score("扣分", plain, 8.0, rate(0.93, "预算完成率")) == Outcome(
        5.2, "预算完成率93.00%，低于100.00% 7个百分点，扣2.8分"
    )
    assert score("扣分", plain + "; 取整=向上", 8.0, rate(0.93, "预算完成率")).score == 4.0
    # exactly 5 points under is exactly one step, not rounded up to two
    assert score("扣分", plain + "; 取整=向上", 8.0, rate(0.95, "预算完成率")).score == 6.0
    assert score("扣分", plain, 8.0, rate(1.2, "预算完成率")) == Outcome(
        8.0, "预算完成率120.00%，不低于100.00%，得满分"
    )


def test_deduct_points_per_step() -> None:
    # 岳阳: 财政供养人员控制率 每超过1个百分点扣0.5分: 103% → 3 × 0.5 = 1.5 lost of 5
    assert score("扣分", "阈值=100%; 每=1%; 扣=0.5", 5.0, rate(1.03, "在职人员控制率")) == Outcome(
        3.5, "在职人员控制率103.00%，超过100.00% 3个百分点，扣1.5分"
    )
    # "三公经费"变动率 ≤ 0 full, each point above −10% of 3: 3.5 points → 3.5 × 0.3 = 1.05
    assert (
        score("扣分", "阈值=0%; 方向=高于; 每=1%; 扣比例=10%", 3.0, rate(0.035, "“三公经费”变动率")).score
        == 1.95
    )


def test_deduct_on_a_count_shows_the_count() -> None:
    # a non-percentage measure: 7 people against a threshold of 5, 1 point per person → 2 lost
    outcome = score("扣分", "阈值=5; 方向=高于; 每=1; 扣=1", 3.0, count(7, "超编人数"))
    assert outcome == Outcome(1.0, "超编人数7，超过5 2，扣2分")


def test_deduct_absurd_values_never_raise() -> None:
    huge = rate(1e307, "x")
    assert score("扣分", "阈值=100%; 取整=向上", 2.0, huge).score == 0.0
    # nothing is deducted per step, so nothing is lost however far off the value is
    assert score("扣分", "阈值=100%; 扣=0", 2.0, huge).score == 2.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("方向=高于", "规则「扣分」需要参数「阈值」，如 阈值=100%"),
        ("阈值=x", "参数「阈值」应为数字或百分比，实际为「x」"),
        ("阈值=100%;每=0", "参数「每」必须大于0"),
        ("阈值=100%;每=-1%", "参数「每」必须大于0"),
        ("阈值=100%;扣=1;扣比例=10%", "参数「扣」与「扣比例」只能写一个"),
        ("阈值=100%;扣=-1", "每档扣分不能为负数"),
        ("阈值=100%;取整=向下", "参数「取整」应为 不取整、向上 之一，实际为「向下」"),
        ("阈值=100%;方向=超过", "参数「方向」应为 高于、低于、偏离 之一，实际为「超过」"),
        ("阈值=100%;foo=1", "规则「扣分」不认识参数「foo」（可用：阈值、方向、每、扣、扣比例、取整）"),
    ],
)
def test_deduct_parameter_errors(params: str, message: str) -> None:
    with pytest.raises(RubricError) as exc:
        make_rule("扣分", params, 3.0)
    assert exc.value.message == message


# --- 清单 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("met", "expected", "reason"),
    [
        (5, 4.0, "5项要求均满足，得满分"),
        (4, 3.0, "5项要求中1项未满足，扣1分"),  # 4 − 1 × 1
        (3, 2.0, "5项要求中2项未满足，扣2分"),
        (0, 0.0, "5项要求中5项未满足，扣4分"),  # 4 − 5 → floor 0
    ],
)
def test_checklist_deduct_mode(met: int, expected: float, reason: str) -> None:
    # reference 2.1.8 资金使用合规性: 4 points, 5 checks, −1 per violation
    assert score("清单", "项数=5; 方式=扣分; 每项=1", 4.0, count(met)) == Outcome(expected, reason)


def test_checklist_half_points_and_default_share() -> None:
    # reference 2.1.9 财务管理规范性: 8 checks × 0.5: one failure → 3.5
    assert score("清单", "项数=8; 方式=扣分; 每项=0.5", 4.0, count(7)).score == 3.5
    # default 每项 = 分值 / 项数: 2 / 3 = 0.6667; one failure → 2 − 0.6667 = 1.33
    assert score("清单", "项数=3", 2.0, count(2)) == Outcome(1.33, "3项要求中1项未满足，扣0.67分")
    assert score("清单", "项数=1", 2.0, count(1)) == Outcome(2.0, "要求已满足，得满分")
    assert score("清单", "项数=1", 2.0, count(0)) == Outcome(0.0, "1项要求中1项未满足，扣2分")


@pytest.mark.parametrize(
    ("met", "expected", "reason"),
    [
        (2, 2.0, "2项要求均满足，得满分"),
        (1, 1.0, "2项要求中1项未满足，扣1分"),  # 1 × (2/2)
        (0, 0.0, "2项要求中2项未满足，扣2分"),
    ],
)
def test_checklist_points_mode(met: int, expected: float, reason: str) -> None:
    # reference 2.2.1 管理制度健全性: 1 point per satisfied element
    assert score("清单", "项数=2; 方式=得分", 2.0, count(met)) == Outcome(expected, reason)


def test_checklist_points_that_do_not_add_up_to_the_maximum() -> None:
    # 3 items × 0.5 = 1.5 < 2: all met still loses 0.5, and the reason must not say 得满分
    assert score("清单", "项数=3; 方式=得分; 每项=0.5", 2.0, count(3)) == Outcome(
        1.5, "3项要求均满足，扣0.5分"
    )
    # 3 items × 1 = 3 > 2: two met already reach the cap
    assert score("清单", "项数=3; 方式=得分; 每项=1", 2.0, count(2)) == Outcome(
        2.0, "3项要求中1项未满足，得满分"
    )
    assert score("清单", "项数=3; 方式=得分; 每项=1", 2.0, count(1)) == Outcome(
        1.0, "3项要求中2项未满足，扣1分"
    )


@pytest.mark.parametrize("met", [6, -1, 2.5])
def test_checklist_invalid_counts(met: float) -> None:
    shown = {6: "6", -1: "-1", 2.5: "2.5"}[met]
    assert score("清单", "项数=5; 每项=1", 4.0, count(met)) == Outcome(
        0.0, f"满足项数应为0到5之间的整数，实际为{shown}，本项不得分", INVALID
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("", "参数「项数」应为数字或百分比，实际为「」"),
        ("项数=0", "参数「项数」应为正整数"),
        ("项数=2.5", "参数「项数」应为正整数"),
        ("项数=2;方式=加分", "参数「方式」应为 得分、扣分 之一，实际为「加分」"),
        ("项数=2;每项=x", "参数「每项」应为数字或百分比，实际为「x」"),
        ("项数=2;每项=-1", "参数「每项」不能为负数"),
    ],
)
def test_checklist_parameter_errors(params: str, message: str) -> None:
    with pytest.raises(RubricError) as exc:
        make_rule("清单", params, 2.0)
    assert exc.value.message == message


# --- 季度进度 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quarters", "expected", "reason"),
    [
        (4, 4.0, "各季度支出进度均达到序时进度，得满分"),
        (3, 3.0, "4个季度中1个季度支出进度未达到序时进度，扣1分"),  # the reference narrative: Q1 behind
        (0, 0.0, "4个季度中4个季度支出进度未达到序时进度，扣4分"),
    ],
)
def test_quarterly(quarters: int, expected: float, reason: str) -> None:
    rule = make_rule("季度进度", "季度数=4", 4.0)
    assert isinstance(rule, Quarterly)
    assert rule.score(count(quarters, "支出进度达标季度数")) == Outcome(expected, reason)


def test_quarterly_other_counts() -> None:
    # 3 quarters scored on 4 points: each worth 4/3; 2 met → 2.67
    assert score("季度进度", "季度数=3", 4.0, count(2)).score == 2.67
    assert score("季度进度", "", 4.0, count(3)).score == 3.0  # default 4 quarters
    assert score("季度进度", "", 4.0, count(5)) == Outcome(
        0.0, "达到序时进度的季度数应为0到4之间的整数，实际为5，本项不得分", INVALID
    )
    assert score("季度进度", "", 4.0, count(1.5)).status == INVALID
    assert score("季度进度", "", 4.0, count(None)).status == MISSING
    for params in ("季度数=0", "季度数=2.5"):
        with pytest.raises(RubricError, match="参数「季度数」应为正整数"):
            make_rule("季度进度", params, 4.0)


# --- 定性分档 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "self_score", "expected", "reason"),
    [
        ("达成", 7, 7.0, "「达成」档得分区间[5.6, 7]，得满分"),  # [80% × 7, 100% × 7]
        ("达成", 6, 6.0, "「达成」档得分区间[5.6, 7]，按自评计6分，扣1分"),
        ("达成", 5, 5.6, "「达成」档得分区间[5.6, 7]，自评5分低于下限，按5.6分计"),
        ("达成", 8, 7.0, "「达成」档得分区间[5.6, 7]，自评8分超出上限，按7分计"),
        ("达成", None, 5.6, "「达成」档得分区间[5.6, 7]，未填自评得分，按下限计5.6分"),
        (" 达成 ", 7, 7.0, "「达成」档得分区间[5.6, 7]，得满分"),
        ("部分达成", 5, 5.0, "「部分达成」档得分区间[4.2, 5.6]，按自评计5分，扣2分"),  # [60%, 80%] × 7
        ("部分达成", 4, 4.2, "「部分达成」档得分区间[4.2, 5.6]，自评4分低于下限，按4.2分计"),
        ("部分达成", 6, 5.6, "「部分达成」档得分区间[4.2, 5.6]，自评6分超出上限，按5.6分计"),
        ("未达成", 0, 0.0, "「未达成」档得分区间[0, 4.2]，按自评计0分，扣7分"),
        ("未达成", 5, 4.2, "「未达成」档得分区间[0, 4.2]，自评5分超出上限，按4.2分计"),
    ],
)
def test_qualitative(tier: str, self_score: float | None, expected: float, reason: str) -> None:
    assert score("定性分档", QUALITATIVE, 7.0, LeafInput(tier=tier, self_score=self_score)) == Outcome(
        expected, reason
    )


def test_qualitative_tier_missing_or_invalid() -> None:
    assert score("定性分档", QUALITATIVE, 7.0, LeafInput(tier="", self_score=3)) == Outcome(
        0.0, "未选择定性档次（达成、部分达成、未达成），本项不得分", MISSING
    )
    assert score("定性分档", QUALITATIVE, 7.0, LeafInput(tier="基本达成", self_score=3)) == Outcome(
        0.0, "定性档次「基本达成」无效，应为达成、部分达成、未达成之一，本项不得分", INVALID
    )


def test_qualitative_default_and_custom_tiers() -> None:
    # no 档次 parameter: the 10号 tiers; reference 4.1.1 部门整体效益 达成 with 8 of 10
    assert score("定性分档", "", 10.0, LeafInput(tier="达成", self_score=8)) == Outcome(
        8.0, "「达成」档得分区间[8, 10]，按自评计8分，扣2分"
    )
    custom = "档次=好:90%-100%,差:0%-50%"
    assert score("定性分档", custom, 10.0, LeafInput(tier="好", self_score=5)).score == 9.0


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("档次=达成:80%", "参数「档次」的「达成」应写作 名称:下限-上限，如 达成:80%-100%"),
        ("档次=达成:90%-80%", "参数「档次」的「达成」区间应在0%到100%之间且下限不大于上限"),
        ("档次=达成:80%-120%", "参数「档次」的「达成」区间应在0%到100%之间且下限不大于上限"),
        ("档次=达成:a-100%", "参数「档次」应为数字或百分比，实际为「a」"),
    ],
)
def test_qualitative_parameter_errors(params: str, message: str) -> None:
    with pytest.raises(RubricError) as exc:
        make_rule("定性分档", params, 10.0)
    assert exc.value.message == message


# --- 目标完成 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("average", "expected", "reason"),
    [
        (1.0, 5.0, "关联目标平均完成率100.00%，得满分"),
        (0.75, 3.75, "关联目标平均完成率75.00%，按比例得3.75分，扣1.25分"),  # 5 × 0.75
        (0.0, 0.0, "关联目标平均完成率0.00%，按比例得0分，扣5分"),
    ],
)
def test_goal(average: float, expected: float, reason: str) -> None:
    rule = make_rule("目标完成", "目标=G1,G2", 5.0)
    assert isinstance(rule, Goal) and rule.goal_ids == ("G1", "G2")
    assert rule.score(rate(average, "关联目标平均完成率")) == Outcome(expected, reason)


def test_goal_needs_goal_ids() -> None:
    for params in ("", "目标=", "目标= , "):
        with pytest.raises(RubricError) as exc:
            make_rule("目标完成", params, 5.0)
        assert (
            exc.value.message == "规则「目标完成」需要参数「目标」，写绩效目标表中的目标编号，如 目标=G1,G2"
        )
    assert make_rule("目标完成", "目标＝G1，G2", 5.0).goal_ids == ("G1", "G2")  # type: ignore[attr-defined]
    assert score("目标完成", "目标=G1", 5.0, LeafInput()).status == MISSING


# --- 自评 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("self_score", "outcome"),
    [
        (5, Outcome(5.0, "自评得满分")),
        (4.5, Outcome(4.5, "自评扣0.5分")),
        (4.999, Outcome(5.0, "自评得满分")),  # rounded to two decimals
        (6, Outcome(5.0, "自评6分超过分值，按5分计")),
        (0, Outcome(0.0, "自评扣5分")),
        (-1, Outcome(0.0, "自评得分不能为负数，按0分计", INVALID)),
        (None, Outcome(0.0, "未填自评得分，本项不得分", MISSING)),
    ],
)
def test_manual(self_score: float | None, outcome: Outcome) -> None:
    rule = make_rule("自评", "", 5.0)
    assert isinstance(rule, Manual)
    assert rule.score(LeafInput(self_score=self_score)) == outcome


def test_manual_takes_no_parameters() -> None:
    with pytest.raises(RubricError) as exc:
        make_rule("自评", "x=1", 5.0)
    assert exc.value.message == "规则「自评」不认识参数「x」（可用：无参数）"


def test_rule_classes_and_maximum_type() -> None:
    kinds = {Proportional: "proportional", Tiers: "tiers", Deduct: "deduct", Checklist: "checklist"}
    kinds |= {Quarterly: "quarterly", Qualitative: "qualitative", Goal: "goal", Manual: "manual"}
    for cls, kind in kinds.items():
        assert cls.kind == kind and RULES[cls.label] is cls
    # an integer 分值 still gives float scores
    assert isinstance(make_rule("扣分", "阈值=100%", 2).score(rate(1.0)).score, float)


def test_scores_never_exceed_a_maximum_with_more_than_two_decimals() -> None:
    # 分值 3.333 (10 split three ways) or 2.675: a full score is the 分值 itself, not 3.33 or 2.68
    assert score("比例计分", "满分值=100%", 2.675, rate(1.0)).score == 2.675  # 2.675 would round to 2.68
    assert score("自评", "", 2.675, LeafInput(self_score=2.675)) == Outcome(2.675, "自评得满分")
    qualitative = score("定性分档", "", 2.675, LeafInput(tier="达成", self_score=3))
    assert qualitative.score == 2.675  # upper bound 100% × 2.675, capped
    assert score("清单", "项数=3", 3.333, count(3)).score == 3.333
    assert score("分档计分", "档次=10%:100%", 2.675, rate(0.05)).score == 2.675
    # partial scores are still two decimals: 2.675 × 50% = 1.3375 → 1.34
    assert score("比例计分", "满分值=100%", 2.675, rate(0.5)).score == 1.34
