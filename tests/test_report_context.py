"""The report's content in the core (报告内容): numbers as the reference prints them, the analysis in
prose, and the 复核意见's places — pure functions, checked without any file."""

from __future__ import annotations

import dataclasses

import pytest

from xlperf.core.evaluate import evaluate
from xlperf.core.model import Ref
from xlperf.core.numbers import fmt_amount, fmt_entered
from xlperf.examples import example_data
from xlperf.report.report_context import report_context, scoring_rows
from xlperf.report.review_context import ref_label, review_context


@pytest.fixture(scope="module")
def example():
    return evaluate(example_data())


def prose_of(ev, code: str) -> list[str]:
    for root in report_context(ev)["indicators"]:
        for child in root.children:
            for leaf in child.children or [child]:
                if leaf.code == code:
                    return leaf.prose
    raise AssertionError(code)


@pytest.mark.parametrize(
    ("value", "text"), [(4419.16, "4419.16"), (0, "0"), (7, "7.00"), (1234567.005, "1234567.01"), (None, "—")]
)
def test_amounts_in_running_text_have_no_thousands_separator(value, text):
    assert fmt_amount(value) == text


@pytest.mark.parametrize(("value", "text"), [(4.612, "4.612"), (22731.0, "22731"), (0.5, "0.5"), (None, "—")])
def test_targets_keep_the_precision_they_were_entered_at(value, text):
    assert fmt_entered(value) == text


def test_the_quarterly_indicator_names_the_quarter_that_missed(example):
    quarters = tuple(
        dataclasses.replace(q, cumulative=c)
        for q, c in zip(example.data.quarters, (1000, 4500, 6700, 8875.43), strict=True)
    )
    ev = evaluate(dataclasses.replace(example.data, quarters=quarters))
    assert prose_of(ev, "2.1.3") == [
        "经自评，第二、三、四季度支出进度均达到序时进度，第一季度支出进度未达到序时进度，扣1分，故此项得3分。"
    ]


def test_a_qualitative_indicator_speaks_with_the_units_own_explanation(example):
    rows = list(example.data.indicators)
    at = next(i for i, row in enumerate(rows) if row.code == "1.1.1")
    rows[at] = dataclasses.replace(rows[at], evidence="总体绩效目标较为完整、指向精准。")
    ev = evaluate(dataclasses.replace(example.data, indicators=tuple(rows)))
    assert prose_of(ev, "1.1.1") == ["经自评，总体绩效目标较为完整、指向精准，故此项得7分。"]
    assert prose_of(example, "1.1.1") == ["经自评，此项评定为“达成”，故此项得7分。"]


def test_missing_data_is_said_plainly(example):
    assert prose_of(example, "2.1.6") == [
        "经自评，因缺少实际政府采购金额、政府采购预算数，无法计算政府采购执行率，故此项得0分。"
    ]
    assert prose_of(example, "4.1.2") == ["经自评，因缺少社会公众满意度的实际值，故此项得0分。"]


def test_the_score_table_gives_a_reason_only_where_points_were_lost(example):
    rows = scoring_rows(example)
    assert all(bool(r["reason"]) == (r["score"] != r["maximum"]) for r in rows)
    assert "self_score" not in rows[0]


def test_the_report_context_has_one_score_and_no_findings(example):
    ctx = report_context(example)
    assert (ctx["total"], ctx["grade"], ctx["draft"]) == ("80", "良", True)
    assert not {"self_total", "claimed_total", "findings", "errors"} & set(ctx)
    assert report_context(example, [])["draft"] is False


def test_the_review_names_each_place_in_chinese(example):
    assert ref_label(Ref("claimed_total"), example) == "自评报告所写总分"
    assert ref_label(Ref("自评得分", "指标评分", 10), example) == "指标2.1.1 收入预算完成率的「自评得分」"
    assert ref_label(Ref("完成值", "绩效目标", 0), example) == "目标G1 粮食种植面积的「完成值」"
    assert ref_label(Ref("决算数", "功能分类", 1), example) == "「功能分类」第2行的「决算数」"


def test_the_review_context_compares_the_written_score_with_the_supported_one(example):
    review = review_context(example, example.findings, lambda ref: ("某表", "A1"))
    assert (review["claimed_total"], review["self_total"], review["total"]) == ("95.75", "94.75", "80")
    assert review["n_errors"] == len(review["errors"]) == sum(f.severity == "error" for f in example.findings)
    first = review["errors"][0]
    assert first["places"][0] == {"sheet": "某表", "label": first["places"][0]["label"], "cell": "A1"}
    assert first["request"] and first["figures"]
    differing = {d["code"]: (d["self_score"], d["score"]) for d in review["differing"]}
    assert differing["2.1.1"] == ("2", "0") and differing["2.1.9"] == ("3.75", "4")


def test_the_review_names_units_and_asks_the_fitting_request(tmp_path):
    # every self-score blank (a real workbook, re-read): one finding, the request to fill the scores, one place
    from xlperf.workbook.create import create_workbook
    from xlperf.workbook.read import read_workbook

    data = example_data()
    blank = dataclasses.replace(
        data, indicators=tuple(dataclasses.replace(r, self_score=None) for r in data.indicators)
    )
    path = tmp_path / "unscored.xlsx"
    create_workbook(blank, path)
    inputs = read_workbook(path)
    ev = evaluate(inputs.data)
    review = review_context(ev, ev.findings, inputs.locator.locate)
    rows = [r for level in ("errors", "warnings", "infos") for r in review[level]]
    [unscored] = [r for r in rows if "个指标未填写自评得分" in r["message"]]
    assert unscored["request"] == "请按评分规则逐项填写自评得分。"
    count = sum(1 for s in ev.leaves if s.self_score is None)
    [place] = unscored["places"]
    assert place["sheet"] == "指标评分" and place["label"] == f"「自评得分」列共 {count} 行"
    first, last = place["cell"].split(":")
    assert first[0] == last[0] and int(last[1:]) > int(first[1:])
    assert f"未填写{count} 个指标" in unscored["figures"]
    # amounts in the 数据 column carry 万元
    [double] = [r for r in review_context(evaluate(example_data()))["errors"] if "重复" in r["message"]]
    assert double["figures"] == "重复金额7.00 万元"


def test_a_stated_count_is_shown_with_its_unit():
    data = example_data()
    ev = evaluate(data)
    [missing] = [f for f in ev.findings if f.check == "input.missing" and "支出进度" in f.message]
    assert missing.message.endswith("单位自述为 3 个季度")
