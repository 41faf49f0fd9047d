"""Two documents, two readers (issue 11), checked on the real files written from real workbooks.

The 自评报告 (Word and HTML) is the unit's own: one score, no finding text, no check id, no cell
address, no 核定, no empty heading.  The 复核意见 (Word and HTML) is the bureau's: every error-level
finding with its figures and where it sits.  Each is checked for the bundled example and for a
workbook with most of its narrative text left blank.
"""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
from docx import Document
from docx.oxml.ns import qn

from helpers_bad_input import xlperf as run_cli
from xlperf.core.fields import FIELD_BY_KEY
from xlperf.core.numbers import fmt_score, parse_number, parse_text
from xlperf.examples import example_data
from xlperf.report import render_reports
from xlperf.report.report_context import NARRATIVES
from xlperf.workbook.build import evaluate_workbook
from xlperf.workbook.create import create_workbook

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "workbook/examples/高邑镇2024.xlsx"
KEPT_TEXT = "duties"  # the one narrative cell the "mostly blank" workbook keeps
ADDRESS = re.compile(r"[A-Z]{1,3}\$?\d{1,7}")
CHECK_ID = re.compile(r"\b(?:sum|identity|info|claim|score|goal|input|text|rubric|workbook)\.[a-z_]+")


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    data = example_data()
    blank = dataclasses.replace(
        data, fields={**data.fields, **{key: None for key in NARRATIVES if key != KEPT_TEXT}}
    )
    path = tmp_path_factory.mktemp("books") / "少填文字.xlsx"
    create_workbook(blank, path)
    return {"example": EXAMPLE, "blank": path}


@pytest.fixture(scope="module", params=["example", "blank"])
def written(request, books, tmp_path_factory) -> SimpleNamespace:
    inputs, ev, findings, _ = evaluate_workbook(books[request.param])
    out = tmp_path_factory.mktemp(request.param)
    paths = render_reports(
        ev, findings, out, formats=["docx", "html", "review"], locate=inputs.locator.locate
    )
    return SimpleNamespace(name=request.param, inputs=inputs, ev=ev, findings=findings, paths=paths)


def docx_text(path: Path) -> str:
    """Everything a reader of the .docx sees: body paragraphs, table cells, headers, properties."""
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    for section in doc.sections:
        for part in (section.header, section.even_page_header, section.footer):
            parts += [p.text for p in part.paragraphs]
    parts += [doc.core_properties.title or "", doc.core_properties.subject or ""]
    return "\n".join(parts)


class _Html(HTMLParser):
    """Visible text of a page, and its headings and content in order (``("h", level)`` / ``("t", 0)``)."""

    HEADINGS = {"h2": 2, "h3": 3, "h4": 4}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.blocks: list[tuple[str, int]] = []
        self._hidden = 0
        self._heading = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("style", "title", "nav"):
            self._hidden += 1
        elif tag in self.HEADINGS:
            self._heading = self.HEADINGS[tag]
            self.blocks.append(("h", self._heading))
        elif tag in ("svg", "table") and not self._hidden:
            self.blocks.append(("t", 0))

    def handle_endtag(self, tag):
        if tag in ("style", "title", "nav"):
            self._hidden -= 1
        elif tag in self.HEADINGS:
            self._heading = 0

    def handle_data(self, data):
        if self._hidden:
            return
        self.text.append(data)
        if data.strip() and not self._heading:
            self.blocks.append(("t", 0))


def html_page(path: Path) -> _Html:
    page = _Html()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def docx_blocks(path: Path) -> list[tuple[str, int]]:
    """The body in order: headings with their level, and content (text, a picture, a table)."""
    doc = Document(str(path))
    names = {style.style_id: style.name for style in doc.styles}
    blocks: list[tuple[str, int]] = []
    for child in doc.element.body.iterchildren():
        if child.tag == qn("w:tbl"):
            blocks.append(("t", 0))
        elif child.tag == qn("w:p"):
            style = child.pPr.pStyle.val if child.pPr is not None and child.pPr.pStyle is not None else ""
            name = names.get(style, "")
            text = "".join(t.text or "" for t in child.iter(qn("w:t"))).strip()
            if name.startswith("Heading "):
                blocks.append(("h", int(name.split()[-1])))
            elif text or child.find(f".//{qn('w:drawing')}") is not None:
                blocks.append(("t", 0))
    return blocks


def empty_headings(blocks: list[tuple[str, int]]) -> list[int]:
    """Positions of headings with nothing under them before the next heading of their level or above."""
    empty = []
    for index, (kind, level) in enumerate(blocks):
        if kind != "h":
            continue
        following = blocks[index + 1 :]
        content = next((k == "t" for k, lv in following if k == "t" or lv <= level), False)
        if not content:
            empty.append(index)
    return empty


def typed_text(written: SimpleNamespace) -> str:
    """Every text the unit typed into the workbook (its own words may hold things like PM10)."""
    data = written.ev.data
    values = list(data.fields.values())
    for rows in (data.goals, data.indicators, data.team, data.classes, data.quarters):
        values += [v for row in rows for v in dataclasses.astuple(row)]
    return "\n".join(parse_text(v) for v in values)


def unit_report_texts(written: SimpleNamespace) -> dict[str, str]:
    return {
        "docx": docx_text(written.paths["docx"]),
        "html": "".join(html_page(written.paths["html"]).text),
    }


def test_the_unit_report_carries_no_reviewer_material(written):
    typed = typed_text(written)
    for kind, text in unit_report_texts(written).items():
        assert "核定" not in text, kind
        assert not CHECK_ID.search(text), (kind, CHECK_ID.findall(text))
        generated = [a for a in ADDRESS.findall(text) if a not in typed]
        assert not generated, (kind, generated)
        for finding in written.findings:
            assert finding.message not in text, (kind, finding.message)
        assert "错误" not in text and "警告" not in text, kind


def test_the_unit_report_has_one_total(written):
    ev = written.ev
    claimed = parse_number(ev.data.get("claimed_total")).value
    others = {fmt_score(ev.self_total), fmt_score(claimed)} - {fmt_score(ev.total)}
    for kind, text in unit_report_texts(written).items():
        assert f"得分为{fmt_score(ev.total)}分，评价等级为“{ev.grade}”" in text, kind
        scores = {m for m in re.findall(r"(\d+(?:\.\d+)?)\s*分", text)}
        assert not others & scores, (kind, others & scores)


def test_the_unit_report_has_no_empty_heading(written):
    assert not empty_headings(docx_blocks(written.paths["docx"]))
    assert not empty_headings(html_page(written.paths["html"]).blocks)


def test_blank_text_is_left_out_or_said_in_one_sentence(written):
    text = docx_text(written.paths["docx"])
    if written.name == "example":
        assert "本部分内容待补充" not in text
        assert "四、当年预算执行及绩效管理中存在问题、原因及改进措施" in text
        assert "（一）不断完善各项财务制度建设。" in text  # pasted "1、" renumbered under a 一级 heading
        return
    for heading in ("1.评价方法", "（一）总体绩效目标实现情况", "（一）存在的问题"):
        assert heading not in text
    # 组织工作 is written from the team the workbook lists, as the reference does
    assert "（一）自评的组织工作\n为保证绩效评价工作顺利开展，成立了绩效评价工作小组，刘定业为组长，" in text
    # the outline's required sections stay, each saying so in one sentence: 四 and 八 (三 has its goal table)
    assert text.count("本部分内容待补充。") == 2
    assert "（一）部门职责" in text and "（一）分项绩效目标实现情况及指标分析" in text


def test_the_review_lists_every_error_with_figures_and_place(written):
    errors = [f for f in written.findings if f.severity == "error"]
    assert errors
    texts = {
        "docx": docx_text(written.paths["review"]),
        "html": "".join(html_page(written.paths["review-html"]).text),
    }
    ev = written.ev
    for kind, text in texts.items():
        assert (
            f"得分为{fmt_score(ev.total)}分" in text
            and f"各项自评得分合计为{fmt_score(ev.self_total)}分" in text
        )
        for finding in errors:
            assert finding.message in text, (kind, finding.message)
            for value in finding.figures.values():
                assert value in text, (kind, value)
            for ref in finding.refs:
                found = written.inputs.locator.locate(ref)
                if found:
                    assert f"「{found[0]}」" in text and f"（{found[1]}）" in text, (kind, found)
    assert "自评报告所写总分为95.75分" in texts["docx"]
    assert "「汇总」自评报告所写总分（B19）" in texts["docx"]


def test_the_review_document_names_this_unit(written):
    doc = Document(str(written.paths["review"]))
    assert doc.core_properties.title == "高邑县高邑镇人民政府2024年度部门整体支出绩效自评复核意见"
    assert written.paths["review"].name == "高邑县高邑镇人民政府2024年度绩效自评复核意见.docx"
    assert written.paths["review-html"].suffix == ".html"


def test_report_format_review_and_the_blank_text_warnings(books, tmp_path):
    run = run_cli("report", str(books["blank"]), "--format", "docx,review", "-o", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "已生成复核意见（Word）：" in run.stdout and "已生成复核意见（网页）：" in run.stdout
    blank = [FIELD_BY_KEY[key].label for key in NARRATIVES if key != KEPT_TEXT]
    assert len(blank) == 8
    for label in blank:
        assert re.search(f"报告文字「{label}」（基本信息!B\\d+）未填写", run.stdout), label
    assert f"报告文字「{FIELD_BY_KEY[KEPT_TEXT].label}」" not in run.stdout
    assert "报告已标为“征求意见稿”" in run.stdout
    assert sorted(p.suffix for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        ".docx",
        ".docx",
        ".html",
    ]


def test_a_workbook_older_than_a_report_text_reads_it_as_blank(tmp_path):
    from openpyxl import load_workbook

    wb = load_workbook(EXAMPLE)
    del wb.defined_names["budget_issues"]  # as in a workbook made before the field existed
    wb.defined_names["xlperf_layout_version"].attr_text = "1"
    old = tmp_path / "旧版.xlsx"
    wb.save(old)
    _, ev, findings, _ = evaluate_workbook(old)
    assert not [f for f in findings if f.check == "workbook.structure"]
    assert ev.data.get("budget_issues") is None
    run = run_cli("report", str(old), "--format", "docx", "-o", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    assert "（工作簿中没有此项，运行 xlperf upgrade 后即可填写）未填写" in run.stdout
    doc = docx_text(next((tmp_path / "out").glob("*.docx")))
    assert "四、当年预算执行及绩效管理中存在问题、原因及改进措施\n本部分内容待补充。" in doc
