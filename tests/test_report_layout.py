"""Layout of the 自评报告 on the real files: goal headings numbered consistently, short values in
tables kept on one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from docx import Document

from xlperf.report import render_reports
from xlperf.report.report_context import outline
from xlperf.workbook.build import evaluate_workbook

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "workbook/examples/高邑镇2024.xlsx"


@pytest.fixture(scope="module")
def example_docx(tmp_path_factory) -> Document:
    _, ev, findings, _ = evaluate_workbook(EXAMPLE)
    out = tmp_path_factory.mktemp("layout")
    return Document(str(render_reports(ev, findings, out, formats=["docx"])["docx"]))


def test_a_goal_heading_pasted_without_its_number_is_numbered_with_its_siblings(example_docx):
    paragraphs = example_docx.paragraphs
    start = next(i for i, p in enumerate(paragraphs) if p.text == "三、部门整体支出绩效目标、指标")
    end = next(i for i, p in enumerate(paragraphs) if p.text.startswith("四、当年预算执行"))
    headings = [p.text[:3] for p in paragraphs[start:end] if p.style.name == "报告小标题"]
    assert headings == ["（一）", "（二）", "（三）", "（四）", "（五）"]
    second = next(p for p in paragraphs[start:end] if "持之以恒抓扩容提质" in p.text)
    assert second.text == "（二）持之以恒抓扩容提质、精细管理，全力打造区域中心城镇。"


def test_an_unnumbered_line_is_a_heading_only_when_its_siblings_show_it():
    text = ["（一）甲目标", "绩效目标：甲。", "乙目标", "绩效目标：乙。", "（3）丙目标", "绩效目标：丙。"]
    assert [i["lead"] for i in outline(text, 1) if i["heading"]] == [
        "（一）甲目标",
        "（二）乙目标",
        "（三）丙目标",
    ]
    plain = ["（一）甲目标", "绩效目标：甲。", "这是一段说明。", "工作要求：按时完成。"]
    assert [i["lead"] for i in outline(plain, 1) if i["heading"]] == ["（一）甲目标"]


def _fits_one_line(table, column: int, texts: list[str]) -> None:
    """The column's width (w:gridCol, twips) holds the longest text at 五号 (10.5 pt) plus the cell margins (85 twips each side)."""
    from docx.oxml.ns import qn

    width = int(table._tbl.tblGrid.findall(qn("w:gridCol"))[column].get(qn("w:w")))
    longest = max(len(t) for t in texts)
    assert width >= longest * 10.5 * 20 + 2 * 85, (texts, width)


def test_short_values_in_tables_are_not_broken(example_docx):
    from xlperf.core.metrics import METRICS

    metrics = next(t for t in example_docx.tables if t.rows[0].cells[0].text == "指标")
    _fits_one_line(metrics, 0, [m.label for m in METRICS])  # "支出进度达标季度数"
    scores = next(t for t in example_docx.tables if t.rows[0].cells[0].text == "一级指标")
    level2 = {r.cells[1].text for r in scores.rows[1:] if r.cells[1].text}
    assert "绩效目标指标管理" in level2
    _fits_one_line(scores, 1, sorted(level2))


def test_the_review_page_fits_a_phone(tmp_path):
    """Every 复核意见 table scrolls inside .table-wrap with its caption in view; the title breaks whole."""
    import re

    inputs, ev, findings, _ = evaluate_workbook(EXAMPLE)
    page = render_reports(ev, findings, tmp_path, formats=["review"], locate=inputs.locator.locate)[
        "review-html"
    ]
    html = page.read_text(encoding="utf-8")
    tables = re.findall(r"<table\b", html)
    assert len(tables) >= 3
    assert len(re.findall(r'<div class="table-wrap">\s*<table\b', html)) == len(tables)
    assert '年度部门整体支出绩效<span class="keep">自评复核意见</span>' in html
    assert ".table-wrap caption { position: sticky; left: 0;" in html
    assert "h1.doc-title .keep { display: inline-block; }" in html
