"""Where points are lost, the 自评报告 says why by the rubric rule that fired, in plain words.

Checked on real workbooks (the bundled example, and the example with a 预算调整数 entered) and on
the .docx re-opened: an overrun is said to exceed its limit, not to fall short of "满分标准"; a
missing figure ends its 扣分原因 with the points lost.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from docx import Document

from xlperf.examples import example_data
from xlperf.report import render_reports
from xlperf.report.report_context import scoring_rows
from xlperf.workbook.build import evaluate_workbook
from xlperf.workbook.create import create_workbook

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "workbook/examples/高邑镇2024.xlsx"


def _docx_text(ev, findings, out: Path) -> str:
    path = render_reports(ev, findings, out, formats=["docx"])["docx"]
    doc = Document(str(path))
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def test_an_overrun_is_said_to_exceed_its_limit(tmp_path):
    _, ev, findings, _ = evaluate_workbook(EXAMPLE)
    text = _docx_text(ev, findings, tmp_path)
    assert "经自评，收入预算完成率为196.65%，超过100.00%，扣2分，故此项得0分。" in text
    assert "未达到满分标准" not in text


def test_a_missing_figure_ends_its_deduction_with_the_points_lost(tmp_path):
    _, ev, findings, _ = evaluate_workbook(EXAMPLE)
    reasons = {r["level3"]: r["reason"] for r in scoring_rows(ev)}
    assert reasons["社会公众满意度"] == "因缺少社会公众满意度的实际值，扣5分。"
    assert all(not r or r.endswith("分。") for r in reasons.values())
    assert "因缺少社会公众满意度的实际值，扣5分。" in _docx_text(ev, findings, tmp_path)


@pytest.mark.parametrize(
    ("adjustment", "said"),
    [
        (1369.94, "预算调整率为31.00%，超过30.00%，扣3分，故此项得0分。"),
        (662.874, "预算调整率为15.00%，超过10.00%，扣2分，故此项得1分。"),
    ],
)
def test_a_tier_missed_names_the_band_limit(tmp_path, adjustment, said):
    data = example_data()
    book = tmp_path / "调整.xlsx"
    create_workbook(dataclasses.replace(data, fields={**data.fields, "budget_adjustment": adjustment}), book)
    _, ev, findings, _ = evaluate_workbook(book)
    assert said in _docx_text(ev, findings, tmp_path / "out")
