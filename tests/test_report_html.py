"""The HTML report (:mod:`xlperf.report.html_report`): parsed with html.parser and checked."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser

import pytest

from xlperf.core.evaluate import evaluate
from xlperf.examples import example_data
from xlperf.report import render_reports
from xlperf.report.report_context import scoring_rows


class Page(HTMLParser):
    """Collects text, tags, tables (rows of cell texts with the row's class) and SVG charts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.tables: dict[str, list[tuple[str, list[str]]]] = {}
        self._table: list[tuple[str, list[str]]] | None = None
        self._caption: list[str] | None = None
        self._cell: list[str] | None = None
        self._row: tuple[str, list[str]] | None = None
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        if tag == "table":
            self._table = []
        elif tag == "caption":
            self._caption = []
        elif tag == "tr":
            self._row = (attributes.get("class", ""), [])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "small" and self._caption is not None:
            self._stack.append("small")

    def handle_endtag(self, tag):
        if tag == "caption" and self._caption is not None and self._table is not None:
            self._table_name = "".join(self._caption).strip()
            self._caption = None
        elif tag == "small":
            self._stack = []
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row[1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            self.tables[getattr(self, "_table_name", f"table{len(self.tables)}")] = self._table
            self._table = None
            self._table_name = f"table{len(self.tables)}"

    def handle_data(self, data):
        self.text.append(data)
        if self._caption is not None and not self._stack:
            self._caption.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def example():
    return evaluate(example_data())


@pytest.fixture(scope="module")
def rendered(example, tmp_path_factory):
    out = tmp_path_factory.mktemp("html")
    path = render_reports(example, example.findings, out, formats=["html"])["html"]
    raw = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(raw)
    return raw, page


def test_self_contained_and_printable(rendered):
    raw, page = rendered
    tags = {t for t, _ in page.tags}
    assert "script" not in tags and "link" not in tags and "img" not in tags and "iframe" not in tags
    for needle in ("http://", "https://", "@import", "url(", "@font-face"):
        assert needle not in raw
    assert "@media print" in raw and "size: A4" in raw and "break-before: page" in raw
    assert raw.lstrip().startswith("<!DOCTYPE html>")
    assert ("meta", {"charset": "utf-8"}) in page.tags


def test_numbers_total_and_grade(rendered):
    _, page = rendered
    text = "".join(page.text)
    assert "2024年预算收入4419.16万元" in text
    assert "自评得分 80 分，评价等级 良" in text
    assert "经自评，高邑县高邑镇人民政府2024年度部门整体支出绩效自评得分为80分，评价等级为“良”" in text
    assert "结转结余率为2.56%。" in text
    for other in ("95.75", "94.75", "核定", "校验"):
        assert other not in text


def score_table(page: Page) -> list[tuple[str, list[str]]]:
    return next(t for t in page.tables.values() if t[0][1][:2] == ["一级指标", "二级指标"])


def test_score_table_with_rowspans_and_totals(rendered, example):
    _, page = rendered
    header, *body = score_table(page)
    assert header[1] == ["一级指标", "二级指标", "三级指标", "分值", "得分", "扣分原因"]
    expected = scoring_rows(example)
    data, total = body[:-1], body[-1]
    assert len(data) == len(expected)
    for (cls, cells), want in zip(data, expected, strict=True):
        assert cells[-4:] == [want["level3"], want["maximum"], want["score"], want["reason"]]
        assert ("lost" in cls) == (want["score"] != want["maximum"])
    assert data[0][1][:2] == ["投入", "绩效目标指标管理"]  # first row carries the merged cells
    assert len(data[1][1]) == 4  # both merged cells are spanned from above
    assert total[1] == ["合计", "100", "80", "评价等级：良"]


def test_draft_mark_and_no_findings_in_the_report(rendered):
    raw, page = rendered
    assert ("div", {"class": "draft-mark"}) in page.tags
    assert "（征求意见稿）</title>" in raw
    text = "".join(page.text)
    assert "信访事务（2010308）属于" not in text and "「黄婧」" not in text


def test_tables_and_charts_scroll_at_phone_width_and_print_the_score_table_wide(rendered):
    raw, page = rendered
    wrapped = [a for t, a in page.tags if t == "div" and a.get("class") == "table-wrap"]
    assert len(wrapped) == sum(1 for t, _ in page.tags if t == "table")
    assert ".table-wrap { overflow-x: auto;" in raw and "figure { overflow-x: auto; }" in raw
    assert "table.scores { min-width: 820px; }" in raw
    assert "@page annex { size: A4 landscape;" in raw and ".annex { page: annex; }" in raw


def test_one_svg_chart_per_first_level_indicator_plus_overview(rendered, example):
    raw, page = rendered
    svgs = [a for t, a in page.tags if t == "svg"]
    assert len(svgs) == len(example.roots) + 1
    bars = [a for t, a in page.tags if t == "g" and a.get("class", "").startswith("bar")]
    assert len(bars) == len(example.leaves) + len(example.roots)
    assert sum("lost" in a["class"] for a in bars) == sum(1 for leaf in example.leaves if leaf.lost > 0) + 2
    assert "收入预算完成率" in raw and "0 / 2" in raw


def html_with(example, tmp_path, **typed: str) -> str:
    """The HTML report of the example with ``typed`` fields replaced, as text."""
    ev = evaluate(dataclasses.replace(example.data, fields={**example.data.fields, **typed}))
    return render_reports(ev, ev.findings, tmp_path, formats=["html"])["html"].read_text(encoding="utf-8")


def test_typed_script_and_jinja_are_escaped(example, tmp_path):
    raw = html_with(example, tmp_path, duties="<script>alert(1)</script>{{ 7*7 }}", unit_name="A&B")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }}" in raw
    assert "<script" not in raw
    assert "<title>A&amp;B2024年度部门整体支出绩效自评报告（征求意见稿）</title>" in raw
    page = Page()
    page.feed(raw)
    assert "<script>alert(1)</script>{{ 7*7 }}" in page.text
    assert "script" not in {t for t, _ in page.tags}


def test_characters_xml_cannot_hold_are_dropped(example, tmp_path):
    raw = html_with(example, tmp_path, unit_name="甲\x01镇\x0b", problems="一是\x07问题\ud800。")
    assert "<title>甲镇2024年度部门整体支出绩效自评报告（征求意见稿）</title>" in raw and "一是问题。" in raw
    assert not any(ch in raw for ch in "\x01\x0b\x07\ud800")
