"""Domain fidelity on reports other than the reference (issue 13): blank is not zero, derived figures,
warning signs, stated values checked on every basis, findings readable in one pass.

Most cases use a second, realistic unit — a county health bureau's 2023 figures (万元), consistent:
预算 收入 1260.50 = 1180.50 + 80.00, 支出 1260.50 = 基本 912.30 + 项目 348.20, 基本 = 人员 735.10 + 公用 177.20;
决算 收入 1388.76 = 1290.26 + 98.50, 支出 1270.57 = 基本 930.45 + 项目 340.12, 基本 = 人员 760.02 + 公用 170.43;
结转结余 55.38 + 1388.76 − 1270.57 = 173.57; 编制 0 + 46 = 46, 在职 44; 调整后预算 1398.10;
三公 预算 2.50 + 6.00 = 8.50, 实际 1.83 + 5.42 = 7.25, 上年 2.10 + 5.90 = 8.00; 政府采购 112.60 of 120.00.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from xlperf.core.evaluate import Evaluation, evaluate
from xlperf.core.fields import FIELD_BY_KEY
from xlperf.core.findings import ERROR, INFO, WARNING, Finding, count_by_severity
from xlperf.core.functions import FUNCTIONS
from xlperf.core.metrics import METRIC_BY_LABEL
from xlperf.core.model import ClassRow, IndicatorRow, Ref, UnitData
from xlperf.core.numbers import fmt_money, fmt_score
from xlperf.examples import example_data
from xlperf.report.report_context import report_context
from xlperf.workbook.build import build_workbook, structure_findings
from xlperf.workbook.create import create_workbook
from xlperf.workbook.read import read_workbook

HEALTH: dict[str, object] = {
    "unit_name": "某县卫生健康局",
    "year": 2023,
    "unit_nature": "行政",
    "staff_quota_admin": 0,
    "staff_quota_inst": 46,
    "staff_quota_total": 46,
    "staff_actual": 44,
    "budget_income_total": 1260.50,
    "budget_income_general": 1180.50,
    "budget_income_fund": 80.00,
    "budget_income_soe": 0,
    "budget_income_special": 0,
    "budget_income_other": 0,
    "budget_exp_total": 1260.50,
    "budget_exp_basic": 912.30,
    "budget_exp_personnel": 735.10,
    "budget_exp_public": 177.20,
    "budget_exp_project": 348.20,
    "final_income_total": 1388.76,
    "final_income_general": 1290.26,
    "final_income_fund": 98.50,
    "final_income_soe": 0,
    "final_income_special": 0,
    "final_income_other": 0,
    "final_exp_total": 1270.57,
    "final_exp_basic": 930.45,
    "final_exp_personnel": 760.02,
    "final_exp_public": 170.43,
    "final_exp_project": 340.12,
    "budget_adjusted_total": 1398.10,
    "budget_basis": "年初预算",
    "carryover_begin": 55.38,
    "carryover_end": 173.57,
    "carryover_basis": "支出预算数",
    "tp_abroad_budget": 0,
    "tp_reception_budget": 2.50,
    "tp_vehicle_purchase_budget": 0,
    "tp_vehicle_operation_budget": 6.00,
    "tp_abroad_actual": 0,
    "tp_reception_actual": 1.83,
    "tp_vehicle_purchase_actual": 0,
    "tp_vehicle_operation_actual": 5.42,
    "tp_abroad_last": 0,
    "tp_reception_last": 2.10,
    "tp_vehicle_purchase_last": 0,
    "tp_vehicle_operation_last": 5.90,
    "procurement_budget": 120.00,
    "procurement_actual": 112.60,
}

ROWS = (
    IndicatorRow("1", "预算执行", 60),
    IndicatorRow("1.1", "预算执行率", 20, "比例计分", "满分值=100%", "预算执行率"),
    IndicatorRow("1.2", "项目支出执行率", 20, "比例计分", "满分值=100%", "项目支出执行率"),
    IndicatorRow("1.3", "结转结余率", 10, "分档计分", "档次=5%:100%,15%:50%,其他:0%", "结转结余率"),
    IndicatorRow("1.4", "政府采购执行率", 10, "比例计分", "满分值=100%", "政府采购执行率"),
    IndicatorRow("2", "效果", 40),
    IndicatorRow("2.1", "满意度", 40, "自评"),
)


def health(
    fields: Mapping[str, object] | None = None,
    *,
    drop: Sequence[str] = (),
    stated: Mapping[str, object] | None = None,
    scores: Mapping[str, object] | None = None,
    classes: Sequence[ClassRow] = (),
) -> Evaluation:
    """Evaluate the health bureau with some fields changed or blanked, stated values and self-scores."""
    values = {k: v for k, v in HEALTH.items() if k not in drop} | dict(fields or {})
    rows = tuple(
        dataclasses.replace(
            r,
            stated=(stated or {}).get(str(r.code)),
            self_score=(scores or {}).get(str(r.code), 40 if r.code == "2.1" else None),
        )
        for r in ROWS
    )
    return evaluate(UnitData(values, tuple(classes), (), (), rows, ()))


def found(ev: Evaluation, *prefixes: str) -> list[Finding]:
    return [f for f in ev.findings if f.check.startswith(prefixes)]


def only(ev: Evaluation, check: str) -> Finding:
    [finding] = [f for f in ev.findings if f.check == check]
    return finding


BALANCE_FAMILIES = ("sum.", "identity.", "sign.")


def test_the_consistent_unit_has_no_balance_finding_and_no_warning_sign() -> None:
    assert found(health(), *BALANCE_FAMILIES) == []


# --- blank is not zero ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("blank", "message"),
    [
        # the case: 预算支出合计 filled, 基本支出 blank, 项目支出 filled
        (
            "budget_exp_basic",
            "预算基本支出未填写，按 预算支出合计 − 预算项目支出 推算为 912.30 万元，据此继续核对",
        ),
        (
            "final_exp_personnel",
            "决算人员经费未填写，按 决算基本支出 − 决算日常公用经费 推算为 760.02 万元，据此继续核对",
        ),
        (
            "final_exp_project",
            "决算项目支出未填写，按 决算支出合计 − 决算基本支出 推算为 340.12 万元，据此继续核对",
        ),
        (
            "budget_income_fund",
            "预算政府性基金预算拨款收入未填写，按 预算收入合计 − 预算一般公共预算拨款收入 − "
            "预算国有资本经营预算拨款收入 − 预算财政专户管理资金收入 − 预算其他来源收入 推算为 80.00 万元，据此继续核对",
        ),
        (
            "final_exp_total",
            "决算支出合计未填写，按 决算基本支出 + 决算项目支出 推算为 1,270.57 万元，据此继续核对",
        ),
        (
            "carryover_end",
            "年末结转结余未填写，按 年初结转结余 + 决算收入合计 − 决算支出合计 推算为 173.57 万元，据此继续核对",
        ),
        (
            "carryover_begin",
            "年初结转结余未填写，按 年末结转结余 − 决算收入合计 + 决算支出合计 推算为 55.38 万元，据此继续核对",
        ),
        (
            "final_income_total",
            "决算收入合计未填写，按 决算一般公共预算拨款收入 + 决算政府性基金预算拨款收入 + "
            "决算国有资本经营预算拨款收入 + 决算财政专户管理资金收入 + 决算其他来源收入 推算为 1,388.76 万元，据此继续核对",
        ),
        (
            "tp_vehicle_operation_actual",
            "公务用车运行维护费实际支出数未填写，按 “三公经费”实际支出数合计 − "
            "因公出国（境）费实际支出数 − 公务接待费实际支出数 − 公务用车购置费实际支出数 推算为 5.42 万元，据此继续核对",
        ),
        (
            "staff_quota_inst",
            "事业编制数未填写，按 编制数合计（单位填报） − 行政编制数 推算为 46 人，据此继续核对",
        ),
    ],
)
def test_one_blank_part_is_derived_and_said_never_an_error(blank: str, message: str) -> None:
    fields = {"tp_total_actual": 7.25} if blank.startswith("tp_") else {}
    ev = health(fields, drop=[blank])
    assert [f for f in ev.errors()] == []
    derived = [f for f in ev.findings if f.check in ("sum.derived", "identity.derived")]
    assert [(f.severity, f.message) for f in derived] == [(INFO, message)]
    assert Ref(blank) in derived[0].refs


def test_the_identities_run_once_per_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    from xlperf.core import balances

    runs: list[Evaluation] = []
    run = balances._run_identities
    monkeypatch.setattr(balances, "_run_identities", lambda ev: runs.append(ev) or run(ev))
    ev = health(drop=["final_exp_basic", "final_exp_personnel"])  # derived figures: several checks ask
    assert runs == [ev] and ev.balances is not None
    assert ev.balances[0] == {"final_exp_basic": 930.45, "final_exp_personnel": 760.02}


def test_a_derived_part_is_used_by_the_next_identity() -> None:
    # 决算基本支出 and 人员经费 both blank: 基本 = 1270.57 − 340.12 = 930.45, then 人员 = 930.45 − 170.43 = 760.02
    ev = health(drop=["final_exp_basic", "final_exp_personnel"])
    assert ev.errors() == []
    assert [f.figures["推算"] for f in found(ev, "sum.derived")] == ["930.45 万元", "760.02 万元"]
    # and a derived 基本 that disagrees with typed 人员 + 公用 is a real disagreement: 930.45 ≠ 700.00 + 170.43
    ev = health({"final_exp_personnel": 700.00}, drop=["final_exp_basic"])
    [error] = ev.errors()
    assert error.check == "sum.basic" and error.figures["差额"] == "60.02 万元"


def test_several_blank_parts_say_what_cannot_be_verified() -> None:
    ev = health(drop=["budget_exp_personnel", "budget_exp_public"], fields={"budget_exp_basic": 912.30})
    assert (
        ev.errors() == [] and found(ev, "sum.derived") == []
    )  # 人员 and 公用 both blank: nothing to compare
    ev = health({"budget_exp_total": 1300.00}, drop=["budget_exp_basic", "budget_exp_project"])
    assert ev.errors() == []
    ev = health({"carryover_end": None}, drop=["carryover_begin"])
    assert ev.errors() == []
    finding = only(ev, "identity.unverifiable")
    assert finding.severity == INFO
    assert (
        finding.message
        == "无法核对结转结余平衡关系（年初 + 收入 − 支出 = 年末）：年末结转结余、年初结转结余未填写"
    )
    # three income sources blank and the two given short of the total: unexplained, not an error
    ev = health({"budget_income_general": 1100.50}, drop=["budget_income_soe", "budget_income_special"])
    assert ev.errors() == []
    assert only(ev, "sum.unverifiable").figures == {
        "合计": "1,260.50 万元",
        "已填各项": "1,180.50 万元",
        "差额": "80.00 万元",
    }


def test_parts_given_already_above_their_total_are_an_error() -> None:
    # 项目支出 1300 alone exceeds the 预算支出合计 1260.50: no blank 基本支出 can make them agree
    ev = health({"budget_exp_project": 1300.00}, drop=["budget_exp_basic"])
    [error] = ev.errors()
    assert error.check == "sum.expense"
    assert error.message == (
        "预算支出不等于基本支出与项目支出之和：已填各项之和 1,300.00 万元，已超过预算支出合计 1,260.50 万元，"
        "超出 39.50 万元（预算基本支出未填写，也无法使其相符）"
    )


def test_all_present_and_disagreeing_is_still_an_error_with_the_difference() -> None:
    finding = only(health({"carryover_end": 170.00}), "identity.carryover")
    assert finding.severity == ERROR
    assert finding.figures == {"应为": "173.57 万元", "填写": "170.00 万元", "差额": "-3.57 万元"}
    staff = only(health({"staff_quota_total": 48}), "sum.staff")
    assert staff.message.endswith(
        "48 人，各项之和 0 + 46 = 46 人，各项之和比合计少 2 人"
    )  # head-counts in 人


# --- derive what can be derived -----------------------------------------------------------------------------


def test_budget_adjustment_derived_from_the_two_budgets() -> None:
    ev = health()
    # |1398.10 − 1260.50| = 137.60; 137.60 / 1260.50 = 10.92%
    assert ev.metrics["budget_adj"].text() == "10.92%"
    finding = only(ev, "input.derived")
    assert finding.severity == INFO and finding.figures == {"推算": "137.60 万元"}
    assert finding.message.startswith("预算调整数未填写，按 |调整后预算数 − 年初预算数| 推算为 137.60 万元")
    # a typed value wins (150 / 1260.50 = 11.90%); the excluded part is still subtracted
    typed = health({"budget_adjustment": 150})
    assert typed.metrics["budget_adj"].text() == "11.90%" and found(typed, "input.derived") == []
    excluded = health({"budget_adjustment_excluded": 37.60})
    assert excluded.metrics["budget_adj"].text() == "7.93%"  # (137.60 − 37.60) / 1260.50
    assert FUNCTIONS["BUDGET_ADJ_RATE"](None, 37.60, 1260.50, 1398.10) == pytest.approx(100 / 1260.50)


def test_a_stated_adjustment_rate_above_the_derived_floor_is_not_an_error() -> None:
    rows = (IndicatorRow("1", "预算调整率", 100, "比例计分", "满分值=100%", "预算调整率"),)
    data = UnitData(HEALTH, indicators=tuple(dataclasses.replace(r, stated=0.15) for r in rows))
    ev = evaluate(data)  # stated 15%; the net change gives 10.92%, a floor of the gross 调整数
    assert ev.errors() == []
    finding = only(ev, "claim.unverifiable")
    assert finding.severity == INFO and finding.figures == {"自述": "15.00%", "推算下限": "10.92%"}
    below = evaluate(dataclasses.replace(data, indicators=(dataclasses.replace(rows[0], stated=0.05),)))
    assert only(below, "claim.rate").figures == {"自述": "5.00%", "计算": "10.92%"}  # below the floor


def test_staff_quota_total_used_when_not_split() -> None:
    ev = health(drop=["staff_quota_admin", "staff_quota_inst"])
    assert ev.metrics["staff_control"].text() == "95.65%"  # 44 / 46
    assert [f.message for f in found(ev, "input.derived")][1:] == [
        "行政编制数、事业编制数未分别填写，按编制数合计 46 人计算在职人员控制率"
    ]
    assert FUNCTIONS["STAFF_CONTROL_RATE"](44, [None, None], 46) == pytest.approx(44 / 46)
    assert report_context(ev)["staff"]["quota_total"] == "46"  # the report prints the total given


def test_three_public_totals_without_the_split() -> None:
    items = [k for k in HEALTH if k.startswith("tp_")]
    totals = {"tp_total_budget": 8.50, "tp_total_actual": 7.25, "tp_total_last": 8.00}
    ev = health(totals, drop=items)
    assert ev.metrics["three_public_control"].text() == "85.29%"  # 7.25 / 8.50
    assert ev.metrics["three_public_change"].text() == "-9.38%"  # (7.25 − 8.00) / 8.00
    assert ev.errors() == []
    context = report_context(ev)["three_public"]
    assert context == {"items": [], "total": {"budget": "8.50", "actual": "7.25", "last": "8.00"}}
    # both given and consistent: nothing; both given and disagreeing: an error with the difference
    assert found(health(totals), "sum.") == []
    finding = only(health(totals | {"tp_total_actual": 7.52}), "sum.three_public")
    assert finding.severity == ERROR and finding.figures == {
        "合计": "7.52 万元",
        "各项之和": "7.25 万元",
        "差额": "0.27 万元",
    }
    split = report_context(health())["three_public"]
    assert [i["label"] for i in split["items"]] == [
        "因公出国（境）费",
        "公务接待费",
        "公务用车购置费",
        "公务用车运行维护费",
    ]
    assert split["total"] == {"budget": "8.50", "actual": "7.25", "last": "8.00"}


def test_basic_and_project_execution_rates() -> None:
    ev = health()
    assert ev.metrics["basic_exec"].text() == "101.99%"  # 930.45 / 912.30
    assert ev.metrics["project_exec"].text() == "97.68%"  # 340.12 / 348.20
    assert FUNCTIONS["BASIC_EXEC_RATE"](930.45, 912.30) == pytest.approx(930.45 / 912.30)
    assert FUNCTIONS["PROJECT_EXEC_RATE"](340.12, 348.20) == pytest.approx(340.12 / 348.20)
    assert {"基本支出执行率", "项目支出执行率"} <= set(METRIC_BY_LABEL)  # rubric sources
    score = next(s for s in ev.leaves if s.code == "1.2")
    assert score.score == pytest.approx(19.54, abs=0.01)  # 97.68% × 20


def test_new_rates_on_the_rates_sheet_as_formulas(tmp_path: Path) -> None:
    path = tmp_path / "示例.xlsx"
    create_workbook(example_data(), path)
    wb = load_workbook(path)
    for name, formula in (
        ("rate_basic_exec", "=BASIC_EXEC_RATE(final_exp_basic,budget_exp_basic)"),
        ("rate_project_exec", "=PROJECT_EXEC_RATE(final_exp_project,budget_exp_project)"),
    ):
        sheet, ref = next(iter(wb.defined_names[name].destinations))
        assert wb[sheet][ref.replace("$", "")].value == formula
    values = load_workbook(path, data_only=True)
    sheet, ref = next(iter(values.defined_names["rate_project_exec"].destinations))
    assert values[sheet][ref.replace("$", "")].value == pytest.approx(7838.48 / 2606.32)


# --- warning signs --------------------------------------------------------------------------------------------


def test_overstaffing_is_a_warning_with_its_numbers() -> None:
    finding = only(health({"staff_actual": 48}), "sign.overstaffed")
    assert finding.severity == WARNING
    assert finding.message == "在职人员 48 人，超过编制数 46 人（在职人员控制率 104.35%），超编 2 人"


def test_public_and_project_spending_above_budget() -> None:
    # 公用经费 190.20 of 177.20 (人员 740.25 keeps 基本 930.45); 项目 471.47 of 348.20 (支出 1401.92, 年末 42.22)
    ev = health(
        {
            "final_exp_personnel": 740.25,
            "final_exp_public": 190.20,
            "final_exp_project": 471.47,
            "final_exp_total": 1401.92,
            "carryover_end": 42.22,
        }
    )
    assert ev.errors() == []
    messages = {f.message for f in found(ev, "sign.over_budget")}
    assert messages == {
        "公用经费决算 190.20 万元，比预算 177.20 万元多 13.00 万元（公用经费控制率 107.34%）",
        "项目支出决算 471.47 万元，比预算 348.20 万元多 123.27 万元（项目支出执行率 135.40%）",
    }
    # the rates are not listed again as plain information
    assert not [f for f in found(ev, "info.metric") if "公用经费控制率" in f.message]


def test_execution_indicator_scored_full_while_spending_exceeds_the_budget() -> None:
    fields = {"final_exp_project": 471.47, "final_exp_total": 1401.92, "carryover_end": 42.22}
    ev = health(fields, scores={"1.1": 20})  # 预算执行率 1401.92 / 1260.50 = 111.22%
    finding = only(ev, "sign.full_score_over_budget")
    assert finding.severity == WARNING
    assert finding.message == (
        "指标 1.1 预算执行率 自评满分 20 分，但预算执行率为 111.22%，支出超出预算，满分依据不足"
    )
    # on the 调整后预算 basis the same spending is 1401.92 / 1398.10 = 100.27%: still over, still flagged;
    # the consistent unit on that basis (1270.57 / 1398.10 = 90.88%) is not
    assert found(
        health({"budget_basis": "调整后预算"} | fields, scores={"1.1": 20}), "sign.full_score_over_budget"
    )
    assert found(health({"budget_basis": "调整后预算"}, scores={"1.1": 20}), "sign.") == []
    assert found(health(fields, scores={"1.1": 18}), "sign.full_score_over_budget") == []  # not scored full


def test_spending_beyond_the_money_available() -> None:
    # 决算收入 1300.00 + 年初 55.38 = 1355.38 < 支出 1401.92
    fields = {
        "final_income_total": 1300.00,
        "final_income_general": 1201.50,
        "final_exp_project": 471.47,
        "final_exp_total": 1401.92,
        "carryover_end": -46.54,
    }
    finding = only(health(fields), "identity.overspent")
    assert finding.severity == WARNING
    assert finding.message == (
        "本年支出 1,401.92 万元，超过可用资金 1,355.38 万元（本年收入 1,300.00 + 年初结转结余 55.38），超出 46.54 万元"
    )
    missing = only(health(drop=["carryover_begin", "carryover_end"]), "identity.available_unknown")
    assert missing.severity == WARNING and "年初结转结余未填写" in missing.message


# --- stated values ----------------------------------------------------------------------------------------------


def test_a_stated_rate_on_the_other_budget_basis_is_not_an_error() -> None:
    # 预算执行率: 年初 1270.57 / 1260.50 = 100.80%; 调整后 1270.57 / 1398.10 = 90.88%
    ev = health(stated={"1.1": 0.9088})
    assert found(ev, "claim.rate") == []
    finding = only(ev, "claim.basis")
    assert finding.severity == WARNING and finding.figures == {"自述": "90.88%", "口径": "调整后预算"}
    assert found(health({"budget_basis": "调整后预算"}, stated={"1.1": 0.9088}), "claim.") == []
    assert found(health(stated={"1.1": 1.008}), "claim.") == []


def test_a_stated_rate_matching_no_basis_is_an_error_with_the_implied_base() -> None:
    finding = only(health(stated={"1.1": 0.95}), "claim.rate")
    assert finding.message == (
        "单位自述预算执行率为 95.00%，按填报数据计算为 100.80%（实际支出资金 / 年初预算数 × 100%）；"
        "按调整后预算口径为 90.88%；按所写比率，决算支出合计 1,270.57 万元对应的分母应为 1,337.44 万元"
    )


def test_a_rate_typed_as_a_whole_number_is_read_as_a_percent() -> None:
    ev = health(stated={"1.4": 93.83})  # 政府采购执行率 112.60 / 120.00 = 93.83%
    assert found(ev, "claim.rate") == []
    assert only(ev, "claim.whole_percent").message == (
        "单位自述政府采购执行率填写为 93.83，只有作为百分数才合理，按 93.83% 核对（请填写 93.83% 或 0.94）"
    )
    assert only(health(stated={"1.4": 100}), "claim.rate").figures == {"自述": "100.00%", "计算": "93.83%"}


def test_stated_amounts_are_checked_and_a_different_total_is_named() -> None:
    assert found(health(stated={"1.1": "1270.57万元"}), "claim.") == []
    finding = only(health(stated={"1.1": "1,388.76万元"}), "claim.amount")
    assert finding.severity == ERROR
    assert finding.message == (
        "单位自述预算执行率对应的金额为 1,388.76 万元，等于决算收入合计，而预算执行率所用的决算支出合计为 1,270.57 万元"
    )
    other = only(health(stated={"1.1": "1200万元"}), "claim.amount")
    assert other.message.endswith("比决算支出合计 1,270.57 万元少 70.57 万元，二者不符")


def test_a_percent_typed_into_an_amount_is_an_error_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "unit.xlsx"
    create_workbook(example_data(), path)
    where = read_workbook(path).locator.names["budget_exp_public"]
    wb = load_workbook(path)
    assert not [f for f in build_workbook(path, tmp_path / "before").findings if "百分数" in f.message]
    cell = wb[where[0]][where[1].replace("$", "")]
    cell.value, cell.number_format = 0.12, "0%"  # what Excel stores when 12% is typed
    wb.save(path)
    result = build_workbook(path, tmp_path / "out")
    [invalid] = [f for f in result.findings if f.check == "input.invalid"]
    assert invalid.message == "其中：预算日常公用经费：应以万元填写金额，实际为百分数「12%」"
    assert result.evaluation.metrics["public_control"].value is None  # not 0.12 万元
    assert not [f for f in result.findings if f.check == "sum.basic"]  # one finding for the fact


# --- findings in one pass ----------------------------------------------------------------------------------------


def test_a_table_of_all_spending_by_function_is_recognised() -> None:
    classes = (
        ClassRow("208", "社会保障和就业支出", None, 120.30),
        ClassRow("210", "卫生健康支出", None, 1150.27),
    )
    ev = health(classes=classes)
    assert found(ev, "sum.project_classes") == []
    assert only(ev, "sum.classes_all_spending").message.startswith(
        "决算功能分类合计 1,270.57 万元等于决算支出合计"
    )


def test_the_workbook_counts_equal_the_json_counts(tmp_path: Path) -> None:
    path = tmp_path / "damaged.xlsx"
    create_workbook(example_data(), path)
    wb = load_workbook(path)
    del wb.defined_names["procurement_budget"]
    wb.save(path)
    result = build_workbook(path, tmp_path / "out")
    counts = count_by_severity(result.findings)  # what 校验结果.json says
    assert counts["error"] > result.evaluation.counts()["error"]  # the structure finding is among them
    out = load_workbook(result.output)
    for name, key in (("finding_errors", "error"), ("finding_warnings", "warning")):
        sheet, ref = next(iter(out.defined_names[name].destinations))
        assert out[sheet][ref.replace("$", "")].value == counts[key]


def test_the_reference_with_its_known_errors_corrected_has_no_error() -> None:
    data = example_data()
    first = evaluate(data)
    scores = {s.row: s.score for s in first.leaves}
    indicators = tuple(
        dataclasses.replace(row, self_score=scores.get(i, row.self_score), stated=None)
        for i, row in enumerate(data.indicators)
    )
    classes = tuple(c for c in data.classes if c.code != "2010308")  # 信访事务 is inside 201 already
    fields = dict(data.fields) | {"claimed_total": first.total, "claimed_grade": first.grade}
    ev = evaluate(dataclasses.replace(data, fields=fields, indicators=indicators, classes=classes))
    assert ev.errors() == []
    assert ev.total == first.total == 80.0


def test_stated_rates_left_as_they_are_in_the_reference_are_still_found() -> None:
    ev = evaluate(example_data())
    assert [f.figures["计算"] for f in ev.findings if f.check == "claim.rate"] == ["196.65%", "2.56%"]
    assert [r.key for r in only(ev, "claim.total").refs] == ["claimed_total"]


def test_a_workbook_of_the_previous_layout_is_told_to_upgrade_once(tmp_path: Path) -> None:
    # a layout-1 workbook has no 三公 totals: one warning (upgrade), not one error per new name
    path = tmp_path / "v1.xlsx"
    create_workbook(example_data(), path)
    wb = load_workbook(path)
    for name in ("tp_total_budget", "tp_total_actual", "tp_total_last"):
        del wb.defined_names[name]
    wb.defined_names["xlperf_layout_version"].attr_text = "1"
    wb.save(path)
    inputs = read_workbook(path)
    assert inputs.locator.problems == []
    assert [(f.severity, f.message) for f in structure_findings(inputs.locator)] == [
        (
            "warning",
            "工作簿由旧版 xlperf 生成（布局版本 1，当前 2），新增的填报项按未填写处理；请运行 xlperf upgrade 升级后补填",
        )
    ]
    assert inputs.data.get("tp_total_actual") is None
    # a current workbook that lost one of those names is still told exactly which
    wb.defined_names["xlperf_layout_version"].attr_text = "2"
    wb.save(path)
    problems = [message for message, _ in read_workbook(path).locator.problems]
    assert "缺少名称 tp_total_budget（“三公经费”预算数合计），请运行 xlperf upgrade 修复" in problems


CENTS = st.integers(0, 900_000).map(lambda cents: cents / 100)  # 0.00 … 9,000.00 万元


@st.composite
def consistent_unit(draw: st.DrawFn) -> dict[str, object]:
    """Any unit whose sums and carry-over all hold (一致的填报数据), to the cent."""
    fields: dict[str, object] = {}

    def total(key: str, parts: Sequence[str]) -> None:
        fields[key] = round(sum(float(fields[p]) for p in parts), 2)  # type: ignore[arg-type]

    for stage in ("budget", "final"):
        sources = [f"{stage}_income_{k}" for k in ("general", "fund", "soe", "special", "other")]
        fields |= {k: draw(CENTS) for k in sources}
        total(f"{stage}_income_total", sources)
        fields |= {f"{stage}_exp_{k}": draw(CENTS) for k in ("personnel", "public", "project")}
        total(f"{stage}_exp_basic", [f"{stage}_exp_personnel", f"{stage}_exp_public"])
        total(f"{stage}_exp_total", [f"{stage}_exp_basic", f"{stage}_exp_project"])
    fields["carryover_begin"] = draw(CENTS)
    fields["carryover_end"] = round(
        float(fields["carryover_begin"])
        + float(fields["final_income_total"])
        - float(fields["final_exp_total"]),  # type: ignore[arg-type]
        2,
    )
    fields |= {"staff_quota_admin": draw(st.integers(0, 200)), "staff_quota_inst": draw(st.integers(0, 200))}
    total("staff_quota_total", ["staff_quota_admin", "staff_quota_inst"])
    for column in ("budget", "actual", "last"):
        items = [f"tp_{i}_{column}" for i in ("abroad", "reception", "vehicle_purchase", "vehicle_operation")]
        fields |= {k: draw(CENTS) for k in items}
        total(f"tp_total_{column}", items)
    return fields


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit=consistent_unit(), data=st.data())
def test_blank_figures_in_consistent_data_never_give_an_error(
    unit: dict[str, object], data: st.DataObject
) -> None:
    blank = data.draw(st.sets(st.sampled_from(sorted(unit))))
    ev = evaluate(UnitData({k: v for k, v in unit.items() if k not in blank}))
    assert [f.message for f in ev.errors() if f.check.startswith(("sum.", "identity."))] == []
    derived = [f for f in ev.findings if f.check in ("sum.derived", "identity.derived")]
    for finding in derived:  # a derived figure is the one that was blanked, with its value
        label = {r.key: FIELD_BY_KEY[r.key].label.removeprefix("其中：") for r in finding.refs}
        key = next(k for k in blank if k in label and finding.message.startswith(f"{label[k]}未填写"))
        value = float(unit[key])  # type: ignore[arg-type]
        assert finding.figures["推算"] == (
            f"{fmt_score(value)} 人" if key.startswith("staff") else f"{fmt_money(value)} 万元"
        )


# --- derivation chains, and derived figures never feed a rate silently (review of issue 13) ----------------


def test_derivation_chains_until_nothing_more_can_be_derived() -> None:
    # 预算基本 and 项目 both blank: 基本 = 人员 + 公用 = 912.30, then 项目 = 合计 − 基本 = 348.20
    ev = health(drop=["budget_exp_basic", "budget_exp_project"])
    assert ev.errors() == [] and found(ev, "sum.unverifiable") == []
    assert [f.figures["推算"] for f in found(ev, "sum.derived")] == ["912.30 万元", "348.20 万元"]
    # and the derived 项目支出 budget still shows spending above it
    over = health(
        {"final_exp_project": 471.47, "final_exp_total": 1401.92, "carryover_end": 42.22},
        drop=["budget_exp_basic", "budget_exp_project"],
    )
    assert only(over, "sign.over_budget").message == (
        "项目支出决算 471.47 万元，比预算 348.20 万元多 123.27 万元"
        "（预算项目支出为按勾稽关系推算的数，项目支出执行率未计算）"
    )


def test_a_negative_derived_balance_is_a_warning_said_once() -> None:
    # 年初 55.38 + 收入 1300.00 − 支出 1401.92 = −46.54: the money available was overspent
    ev = health(
        {
            "final_income_total": 1300.00,
            "final_income_general": 1201.50,
            "final_exp_project": 471.47,
            "final_exp_total": 1401.92,
        },
        drop=["carryover_end"],
    )
    finding = only(ev, "identity.derived")
    assert finding.severity == WARNING
    assert finding.message == (
        "年末结转结余未填写，按 年初结转结余 + 决算收入合计 − 决算支出合计 推算为 -46.54 万元"
        "（年初结转结余 55.38 + 决算收入合计 1,300.00 − 决算支出合计 1,401.92），为负数：本年支出超出了年初结转结余与本年收入之和，请核对收支和结转结余"
    )
    assert found(ev, "identity.overspent") == []  # the same fact, not said twice


def test_a_rate_whose_input_was_derived_says_so_in_one_way() -> None:
    # rates are computed from typed figures only (sheet function = headless = report); the derived figure is named
    ev = health(drop=["budget_exp_basic"])
    assert not ev.metrics["basic_exec"].ok
    [line] = [f for f in found(ev, "info.metric") if "基本支出执行率" in f.message]
    assert line.message == (
        "无法计算基本支出执行率：缺少基本支出预算数（按勾稽关系可推算出 预算基本支出 912.30 万元，"
        "但比率只按填写的数字计算，请填写后核实）（未纳入评分）"
    )
