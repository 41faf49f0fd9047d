"""The 高邑镇 2024 example: exactly the findings a reviewer expects, and the scores behind them.

Every expected finding is listed with its check id and the figure that identifies it; a finding that is
not listed, or a listed one that is missing, fails the test.
"""

from __future__ import annotations

import pytest

from xlperf.core.evaluate import Evaluation, evaluate
from xlperf.core.findings import ERROR, INFO, WARNING
from xlperf.examples import example_data


@pytest.fixture(scope="module")
def ev() -> Evaluation:
    return evaluate(example_data())


# (check id, severity, the key figure or subject that must appear in the message)
EXPECTED = [
    # 信访事务 2010308 listed beside 201 一般公共服务支出: its 7 万元 counted twice
    ("sum.double_count", ERROR, "信访事务（2010308）属于一般公共服务支出（201）"),
    # 收入预算完成率 8690.35 / 4419.16 = 196.65%: 96.65 points off 100% → 0 of 2, self-scored 2
    ("score.unsupported", ERROR, "指标 2.1.1 收入预算完成率 自评 2 分，按数据计算只得 0 分"),
    # scored indicators whose inputs the report never gives
    ("input.missing", ERROR, "指标 2.1.2 预算调整率 自评 2 分"),  # and 31% would give 0 anyway
    # … each with what the unit stated, in the same finding (no separate "无法核实" warning)
    (
        "input.missing",
        ERROR,
        "指标 2.1.3 支出进度 自评 3 分，但无法判断各季度支出进度：缺少累计支出数，无法核实，计0分；单位自述为 3",
    ),
    (
        "input.missing",
        ERROR,
        "指标 2.1.5 “三公经费”控制率 自评 2 分，但无法计算“三公经费”控制率：缺少“三公经费”实际支出数、“三公经费”预算数，无法核实，计0分；单位自述为 100.00%",
    ),
    ("input.missing", ERROR, "指标 2.1.6 政府采购执行率 自评 2 分"),
    ("input.missing", ERROR, "指标 4.1.2 社会公众满意度 自评 4 分"),
    # the report says 95.75; its own item scores add to 94.75; by the data and the rules:
    # 投入 20 + 过程 27 + 产出 25 + 效果 8 = 80 → 良 — one finding for the stated total
    (
        "claim.total",
        ERROR,
        "报告所写总分 95.75 分，但各项自评得分相加为 94.75 分；按数据和评分规则核定为 80 分（良）",
    ),
    # stated rates the inputs contradict: 100% vs 196.65%, 0.6% vs 113.07 / 4419.16 = 2.56%
    ("claim.rate", ERROR, "单位自述收入预算完成率为 100.00%，按填报数据计算为 196.65%"),
    # 0.6% matches neither basis (决算支出数: 113.07 / 8875.43 = 1.27%); it implies a base of 18845 万元
    (
        "claim.rate",
        ERROR,
        "单位自述结转结余率为 0.60%，按填报数据计算为 2.56%（年末结转结余总额 / 支出预算数 × 100%）；"
        "按决算支出数口径为 1.27%；按所写比率，年末结转结余 113.07 万元对应的分母应为 18,845.00 万元",
    ),
    # goals named in the report without an actual value
    ("goal.incomplete", WARNING, "绩效目标 G1 粮食种植面积"),
    ("goal.incomplete", WARNING, "绩效目标 G2 粮食总产量"),
    ("goal.incomplete", WARNING, "绩效目标 G3 村集体经济收入（每村）"),
    ("goal.incomplete", WARNING, "绩效目标 G4 打造精品线路"),
    ("goal.incomplete", WARNING, "绩效目标 G6 PM10下降幅度"),
    ("goal.incomplete", WARNING, "绩效目标 G7 全年空气优良天数"),
    # 7 党建示范点 against a target of 3: 233.33%
    ("goal.excess", WARNING, "绩效目标 G5 基层党建示范点 完成率 233.33%"),
    # 签约腾退 96% of 100% without a reason
    ("goal.no_reason", WARNING, "绩效目标 G8 侯家庄老旧小区改造二期签约腾退完成率 完成率 96.00%"),
    # team paragraph 黄靖 vs signature 黄婧; 李乐 and 石亚宁 did not sign
    ("text.name_mismatch", WARNING, "评价工作组成员「黄靖」在签字名单中写作「黄婧」"),
    ("text.name_missing", WARNING, "评价工作组成员「李乐」不在签字名单中"),
    ("text.name_missing", WARNING, "评价工作组成员「石亚宁」不在签字名单中"),
    # "共下设 9 个科室" but eight are named
    ("text.departments", WARNING, "写明下设 9 个内设机构，但列出的名称为 8 个"),
    # 财务管理规范性: all 8 checks described as met, yet self-scored 3.75 of 4
    ("score.below", INFO, "指标 2.1.9 财务管理规范性 自评 3.75 分，低于按数据计算的 4 分"),
    # computable rates that the rubric does not score
    ("info.metric", INFO, "预算执行率 200.84%"),  # 8875.43 / 4419.16
    ("info.metric", INFO, "结转结余变动率 -62.08%"),  # (113.07 − 298.15) / 298.15
    ("info.metric", INFO, "公用经费控制率 18.39%"),  # 154.62 / 840.73
    ("info.metric", INFO, "在职人员控制率 98.73%"),  # 78 / 79
    ("info.metric", INFO, "基本支出执行率 57.20%"),  # 1036.95 / 1812.84
    # 项目支出 7838.48 against a budget of 2606.32: 300.75%, 5232.16 万元 of in-year additions
    (
        "sign.over_budget",
        WARNING,
        "项目支出决算 7,838.48 万元，比预算 2,606.32 万元多 5,232.16 万元（项目支出执行率 300.75%）",
    ),
]


def test_exactly_the_expected_findings(ev: Evaluation) -> None:
    unmatched = list(ev.findings)
    missing = []
    for check, severity, fragment in EXPECTED:
        hits = [f for f in unmatched if f.check == check and fragment in f.message]
        if len(hits) != 1:
            missing.append((check, fragment, len(hits)))
            continue
        assert hits[0].severity == severity, (check, fragment)
        unmatched.remove(hits[0])
    assert missing == [], f"expected findings not found exactly once: {missing}"
    assert [(f.check, f.message) for f in unmatched] == [], "unexpected findings"


def test_key_figures(ev: Evaluation) -> None:
    by_check: dict[str, list[dict[str, str]]] = {}
    for f in ev.findings:
        by_check.setdefault(f.check, []).append(f.figures)
    assert by_check["sum.double_count"] == [{"重复金额": "7.00 万元"}]
    assert by_check["score.unsupported"] == [{"自评得分": "2 分", "计算得分": "0 分"}]
    assert by_check["claim.total"] == [{"所写总分": "95.75 分", "自评合计": "94.75 分", "核定总分": "80 分"}]
    assert sorted(fig["计算"] for fig in by_check["claim.rate"]) == ["196.65%", "2.56%"]
    assert sorted(fig["自述"] for fig in by_check["claim.rate"]) == ["0.60%", "100.00%"]
    assert sorted(fig["自评得分"] for fig in by_check["input.missing"]) == [
        "2 分",
        "2 分",
        "2 分",
        "3 分",
        "4 分",
    ]


def test_checks_that_pass_on_the_example(ev: Evaluation) -> None:
    checks = {f.check for f in ev.findings}
    # the report's sums add up: 2178.85 + 2240.31 = 4419.16; 1717.31 + 6973.04 = 8690.35;
    # 1812.84 + 2606.32 = 4419.16; 1036.95 + 7838.48 = 8875.43; 972.11 + 840.73 = 1812.84;
    # 882.33 + 154.62 = 1036.95; 40 + 39 = 79; 298.15 + 8690.35 − 8875.43 = 113.07
    assert not checks & {"sum.income", "sum.expense", "sum.basic", "sum.staff", "identity.carryover"}
    # the classes, without the duplicated 信访事务, add to 7838.47 — 0.01 from 7838.48, within tolerance
    assert "sum.project_classes" not in checks
    assert not checks & {
        "rubric.structure",
        "input.invalid",
        "input.required",
        "score.over_max",
        "claim.grade",
    }


def test_example_scores(ev: Evaluation) -> None:
    assert ev.rubric is not None and ev.rubric_problems == []
    assert ev.self_total == 94.75 and ev.self_grade == "优"
    assert ev.total == 80.0 and ev.grade == "良"
    roots = {s.code: (s.score, s.self_score) for s in ev.roots}
    # 投入 20/20; 过程 27 of self 37.75; 产出 25/25; 效果 8 of self 12
    assert roots == {"1": (20.0, 20.0), "2": (27.0, 37.75), "3": (25.0, 25.0), "4": (8.0, 12.0)}
    assert (ev.scores["2.1"].score, ev.scores["2.1"].self_score) == (12.0, 22.75)  # 预算执行
    lost = {s.code: s.lost for s in ev.leaves if s.lost}
    # 2.1.1 收入预算完成率 196.65% (2); blank inputs 2.1.2 (3), 2.1.3 (4), 2.1.5 (2), 2.1.6 (2);
    # 4.1.1 部门整体效益 达成 self 8 of 10 (2); 4.1.2 满意度 without a survey figure (5)
    assert lost == {
        "2.1.1": 2.0,
        "2.1.2": 3.0,
        "2.1.3": 4.0,
        "2.1.5": 2.0,
        "2.1.6": 2.0,
        "4.1.1": 2.0,
        "4.1.2": 5.0,
    }
    # 2 + 3 + 4 + 2 + 2 + 2 + 5 = 20 lost → 80
    assert sum(lost.values()) == 100 - ev.total
    assert ev.scores["2.1.4"].reason == "结转结余率2.56%，不高于5.00%，得满分"
    assert (
        ev.scores["2.1.1"].reason == "收入预算完成率196.65%，偏离100.00% 96.65个百分点，扣完2分，本项不得分"
    )


def test_example_rates(ev: Evaluation) -> None:
    shown = {key: rate.text() for key, rate in ev.metrics.items()}
    assert shown["revenue_completion"] == "196.65%"
    assert shown["budget_exec"] == "200.84%"
    assert shown["carryover"] == "2.56%"
    assert shown["carryover_change"] == "-62.08%"
    assert shown["public_control"] == "18.39%"
    assert shown["staff_control"] == "98.73%"
    assert shown["budget_adj"] == "无法计算预算调整率：缺少预算调整数"
    assert shown["procurement_exec"] == "无法计算政府采购执行率：缺少实际政府采购金额、政府采购预算数"
