"""A blank or half-filled workbook's 自评报告 and 复核意见, checked on the real files.

A sentence whose figures are blank is left out (or the outline's paragraph says in one sentence
that it is to be completed); no "—" and no "无法计算…：缺少…" in running text; a workbook with no
self-score or no amount is a draft, and its 复核意见 says what is missing.  The team the workbook
lists (评价工作组组长/成员) appears in 组织工作 and in the signing table.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest
from docx import Document

from helpers_bad_input import xlperf
from xlperf.report import render_reports
from xlperf.workbook.build import evaluate_workbook
from xlperf.workbook.create import blank_data, create_workbook


def _render(book: Path, out: Path) -> SimpleNamespace:
    inputs, ev, findings, _ = evaluate_workbook(book)
    paths = render_reports(
        ev, findings, out, formats=["docx", "html", "review"], locate=inputs.locator.locate
    )
    return SimpleNamespace(ev=ev, findings=findings, paths=paths)


def _body(path: Path) -> list[str]:
    return [p.text for p in Document(str(path)).paragraphs]


@pytest.fixture(scope="module")
def empty(tmp_path_factory) -> SimpleNamespace:
    folder = tmp_path_factory.mktemp("empty")
    create_workbook(blank_data("某某局", 2025), folder / "empty.xlsx")
    return _render(folder / "empty.xlsx", folder / "out")


@pytest.fixture(scope="module")
def half(tmp_path_factory) -> SimpleNamespace:
    """Some figures given, others blank; the team named in 基本信息 only."""
    data = blank_data("某某局", 2025)
    fields = {
        **data.fields,
        "staff_quota_admin": 12,
        "staff_actual": 10,
        "vehicles": 2,
        "budget_income_total": 500,
        "final_exp_total": 480,
        "carryover_end": 20,
        "team_leader": "张三",
        "team_members": "李四、王五",
    }
    folder = tmp_path_factory.mktemp("half")
    create_workbook(dataclasses.replace(data, fields=fields, team=()), folder / "half.xlsx")
    return _render(folder / "half.xlsx", folder / "out")


def test_an_empty_workbook_is_a_draft_without_placeholders_in_its_prose(empty):
    paragraphs = _body(empty.paths["docx"])
    text = "\n".join(paragraphs)
    assert paragraphs[0] == "征求意见稿"
    doc = Document(str(empty.paths["docx"]))
    assert all(s.header.paragraphs[0].text == "征求意见稿" for s in doc.sections)
    html = empty.paths["html"].read_text(encoding="utf-8")
    assert '<div class="draft-mark">征求意见稿</div>' in html
    for bad in ("—人", "—万元", "—辆", "无法计算在职人员控制率", "缺少在职人员数"):
        assert bad not in text and bad not in html
    for heading in (
        "（一）机构设置",
        "（二）人员情况",
        "（三）资产情况",
        "（一）预算情况",
        "（三）结转结余情况",
    ):
        following = paragraphs[paragraphs.index(heading) + 1]
        assert following in ("本部分内容待补充。",) or heading == "（一）机构设置"


def test_a_half_filled_workbook_prints_only_the_figures_given(half):
    text = "\n".join(_body(half.paths["docx"]))
    html = half.paths["html"].read_text(encoding="utf-8")
    for sentence in (
        "行政编制12人，共计12人；实有在职人员10人，在职人员控制率为83.33%。",
        "截至2025年底，共有车辆2辆。",
        "2025年预算收入500.00万元。",
        "2025年决算支出480.00万元。",
        "年末结转结余20.00万元。",
    ):
        assert sentence in text and sentence in html
    assert "—" not in "".join(
        p for p in _body(half.paths["docx"]) if p.startswith(("行政", "截至", "2025年", "年末"))
    )


def test_the_team_named_in_the_workbook_is_in_the_report(half):
    doc = Document(str(half.paths["docx"]))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "成立了绩效评价工作小组，张三为组长，李四、王五为成员" in text
    table = next(t for t in doc.tables if t.rows[0].cells[-1].text == "签字")
    names = [row.cells[1].text for row in table.rows[1:]]
    assert names == ["张三", "李四", "王五"]
    assert [row.cells[4].text for row in table.rows[1:]] == ["组长", "成员", "成员"]
    assert "本部分内容待补充" not in text.split("九、评价工作组人员名单及签字")[1].split("附件")[0]
    html = half.paths["html"].read_text(encoding="utf-8")
    assert "张三为组长，李四、王五为成员" in html and '<td class="c">王五</td>' in html


def test_the_review_says_what_is_missing(empty):
    for path in (empty.paths["review"],):
        text = "\n".join(_body(path))
        assert (
            "工作簿未填写任何指标的自评得分、未填写预算数和决算数，无法完整复核；须补全后重新报送。" in text
        )
        assert "复核未发现需要更正的错误" not in text and "合计为—分" not in text
    html = empty.paths["review-html"].read_text(encoding="utf-8")
    assert "无法完整复核" in html and "复核未发现需要更正的错误" not in html and "—</span> 分" not in html


def test_the_cli_says_why_the_report_is_a_draft(tmp_path):
    book = tmp_path / "empty.xlsx"
    assert xlperf("new", "--unit", "某某局", "--year", "2025", "-o", str(book)).returncode == 0
    done = xlperf("build", str(book), "-o", str(tmp_path / "ob"))
    assert done.returncode == 0
    assert "未填写任何指标的自评得分、未填写预算数和决算数，报告已标为“征求意见稿”" in done.stdout
    assert "报告文字「部门职责」（基本信息!B17）未填写，报告中省略「部门职责」一小节" in done.stdout
    assert "省略该部分或写明" not in done.stdout


def test_the_ribbon_says_why_the_report_is_a_draft(tmp_path):
    import xlwings as xw

    from tools.bookjson import book_payload
    from xlperf.excel import actions

    book = tmp_path / "empty.xlsx"
    create_workbook(blank_data("某某局", 2025), book)
    result = actions.word_report(xw.Book(json=book_payload(book)), tmp_path / "out")
    assert "注意：未填写任何指标的自评得分、未填写预算数和决算数，报告已标为“征求意见稿”" in result.message
