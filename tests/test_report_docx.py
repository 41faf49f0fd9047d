"""The Word report (:mod:`xlperf.report.docx_report`): re-opened with python-docx and checked for real."""

from __future__ import annotations

import dataclasses
import io
import posixpath
import re
import zipfile
from pathlib import Path

import pytest
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_LINE_SPACING
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from lxml import etree

from helpers_files import paragraph_template
from xlperf.core.evaluate import evaluate
from xlperf.examples import example_data
from xlperf.report import ReportError, presentation_context, render_reports
from xlperf.report.charts import chart_png, overview_bars
from xlperf.report.docx_report import ChartImage, compile_template, render_package, word_template
from xlperf.report.report_context import scoring_rows
from xlperf.report.word_layout import SCORE_TABLE_CAPTION

REPO_TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "report.docx"


@pytest.fixture(scope="module")
def example():
    return evaluate(example_data())


@pytest.fixture(scope="module")
def rendered(example, tmp_path_factory):
    out = tmp_path_factory.mktemp("docx")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLPERF_CHART_FONT", "none")
        paths = render_reports(example, example.findings, out, formats=["docx"])
    return paths["docx"], Document(str(paths["docx"]))


def all_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def table_after(doc, caption: str):
    """The first table following the paragraph whose text is ``caption``."""
    body = doc.element.body
    seen = False
    for child in body.iterchildren():
        if child.tag == qn("w:p") and "".join(t.text or "" for t in child.iter(qn("w:t"))).strip() == caption:
            seen = True
        elif seen and child.tag == qn("w:tbl"):
            return next(t for t in doc.tables if t._tbl is child)
    raise AssertionError(f"no table after {caption}")


def score_table(doc):
    for table in doc.tables:
        caption = table._tbl.tblPr.find(qn("w:tblCaption"))
        if caption is not None and caption.get(qn("w:val")) == SCORE_TABLE_CAPTION:
            return table
    raise AssertionError("自评表 not found")


def test_default_name_and_no_temp_files(rendered):
    path, _ = rendered
    assert path.name == "高邑县高邑镇人民政府2024年度绩效自评报告.docx"
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_title_structure_and_every_section_heading(rendered):
    _, doc = rendered
    titles = [p.text for p in doc.paragraphs if p.style.name == "Title"]
    assert titles[:2] == ["高邑县高邑镇人民政府", "2024年度部门整体支出绩效自评报告"]
    h1 = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert h1 == [  # the reference's sections in its order
        "一、部门基本情况",
        "二、部门收支预算情况",
        "三、部门整体支出绩效目标、指标",
        "四、当年预算执行及绩效管理中存在问题、原因及改进措施",
        "五、自评工作开展情况",
        "六、部门整体支出绩效目标实现情况及指标分析",
        "七、评价结论和评价等级",
        "八、存在的问题及改进措施",
        "九、评价工作组人员名单及签字",
    ]
    h2 = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert h2[-4:-2] == ["（一）总体绩效目标实现情况", "（二）分项绩效目标实现情况及指标分析"]
    h3 = [p.text for p in doc.paragraphs if p.style.name == "Heading 3"]
    assert "1.投入指标（分值20分，得分20分）" in h3
    assert "2.过程指标（分值40分，得分27分）" in h3
    assert "4.效果指标（分值15分，得分8分）" in h3
    assert [p.text for p in doc.paragraphs if p.style.name == "附件标记"] == ["附件"]


def test_no_template_tag_survives(rendered):
    _, doc = rendered
    text = all_text(doc)
    for tag in ("{{", "}}", "{%", "%}", "{#"):
        assert tag not in text
    assert "模板说明" not in text


def test_budget_figures_as_the_reference_prints_them(rendered):
    _, doc = rendered
    text = all_text(doc)
    assert (
        "2024年预算收入4419.16万元，其中：一般公共预算拨款收入2178.85万元，政府性基金预算拨款收入2240.31万元，"
        "国有资本经营预算拨款收入0万元" in text
    )
    assert "2024年决算支出8875.43万元" in text
    assert "城乡社区支出7397.75万元" in text
    assert "年初结转结余298.15万元，年末结转结余113.07万元" in text
    assert "行政编制40人，事业编制39人，共计79人；实有在职人员78人，在职人员控制率为98.73%。" in text
    money = table_after(doc, "表1  收支预算与决算情况")
    rows = {r.cells[0].text.strip(): (r.cells[1].text, r.cells[2].text) for r in money.rows}
    assert rows["收入合计"] == ("4419.16", "8690.35")
    assert rows["支出合计"] == ("4419.16", "8875.43")
    assert rows["2010308 信访事务"] == ("—", "7.00")


def test_every_rate_with_its_formula(rendered, example):
    _, doc = rendered
    table = table_after(doc, "表2  预算执行主要指标")
    got = {r.cells[0].text: (r.cells[1].text, r.cells[2].text) for r in table.rows[1:]}
    assert got["结转结余率"] == ("年末结转结余总额 / 支出预算数 × 100%", "2.56%")
    assert got["收入预算完成率"] == ("本年收入决算数 / 年初收入预算数 × 100%", "196.65%")
    assert got["预算调整率"][1] == "无法计算"
    assert len(got) == len(example.metrics)
    assert "结转结余率为2.56%。" in all_text(doc)


def test_goal_table_keeps_targets_at_their_entered_precision(rendered):
    _, doc = rendered
    goals = table_after(doc, "表4  绩效目标及指标完成情况")
    rows = {r.cells[1].text: [c.text for c in r.cells[2:5]] for r in goals.rows[1:]}
    assert rows["基层党建示范点"] == ["≥3个", "7个", "233.33%"]
    assert rows["粮食种植面积"][0] == "≥4.612万亩"
    assert rows["粮食总产量"][0] == "≥22731吨"


def test_indicator_analysis_is_prose_with_figures_and_plain_reasons(rendered):
    _, doc = rendered
    paragraphs = [p.text for p in doc.paragraphs]
    at = paragraphs.index("①收入预算完成率（分值2分）")
    assert paragraphs[at + 1] == "经自评，收入预算完成率为196.65%，超过100.00%，扣2分，故此项得0分。"
    assert "经自评，因缺少预算调整数，无法计算预算调整率，故此项得0分。" in paragraphs
    assert "经自评，结转结余率为2.56%，故此项得2分。" in paragraphs
    assert "经自评，此项评定为“达成”，扣2分，故此项得8分。" in paragraphs
    item = next(p for p in doc.paragraphs if p.text.startswith("①收入预算完成率"))
    assert item.runs[0].style.name == "指标名称"
    text = all_text(doc)
    for notation in ("档得分区间", "个百分点", "偏离", "本项不得分", "[", "核定"):
        assert notation not in text


def test_conclusion_has_one_score_in_the_units_voice(rendered):
    _, doc = rendered
    text = all_text(doc)
    assert "经自评，高邑县高邑镇人民政府2024年度部门整体支出绩效自评得分为80分，评价等级为“良”" in text
    assert re.findall(r"(\d+(?:\.\d+)?)分，评价等级", text) == ["80"]
    for other in ("94.75", "95.75", "自评得分合计", "所写总分"):
        assert other not in text


def test_score_table_rows_merges_and_totals(rendered, example):
    _, doc = rendered
    table = score_table(doc)
    expected = scoring_rows(example)
    header, *body = table.rows
    assert [c.text for c in header.cells] == ["一级指标", "二级指标", "三级指标", "分值", "得分", "扣分原因"]
    data, total = body[:-1], body[-1]
    assert len(data) == len(expected) == 31
    for row, want in zip(data, expected, strict=True):
        cells = row.cells
        assert [c.text for c in cells[2:5]] == [want["level3"], want["maximum"], want["score"]]
        assert cells[5].text == want["reason"]
        assert bool(want["reason"]) == (want["score"] != want["maximum"])
    assert [c.text for c in total.cells[3:]] == ["100", "80", "评价等级：良"]
    assert data[5].cells[5].text == "收入预算完成率为196.65%，超过100.00%，扣2分。"
    # 一级 cells merged vertically: 投入 spans its 5 rows, the first carries the text
    merges = [tc.find(qn("w:tcPr")).find(qn("w:vMerge")) for tc in (r._tr.tc_lst[0] for r in data[:5])]
    assert merges[0].get(qn("w:val")) == "restart"
    assert all(m is not None and m.get(qn("w:val")) == "continue" for m in merges[1:])
    assert data[0]._tr.tc_lst[0].xpath("string(.)") == "投入"
    assert data[1]._tr.tc_lst[0].xpath("string(.)") == ""
    # 二级: 预算执行 (rows 6-14) is one merged cell inside 过程
    second = [r._tr.tc_lst[1].find(qn("w:tcPr")).find(qn("w:vMerge")) for r in data[5:14]]
    assert second[0].get(qn("w:val")) == "restart" and all(
        m.get(qn("w:val")) == "continue" for m in second[1:]
    )


def test_header_rows_repeat_on_every_table(rendered):
    _, doc = rendered
    assert len(doc.tables) >= 6
    for table in doc.tables:
        tr_pr = table.rows[0]._tr.trPr
        assert tr_pr is not None and tr_pr.find(qn("w:tblHeader")) is not None


def test_team_table_with_rows_tall_enough_to_sign(rendered):
    _, doc = rendered
    team = table_after(doc, "九、评价工作组人员名单及签字")
    assert [r.cells[1].text for r in team.rows[1:]] == [
        "刘定业",
        "暴玉谨",
        "时泽青",
        "黄婧",
        "孔令凯",
        "赵明明",
    ]
    assert team.rows[4].cells[3].text == "组织委员"
    for row in team.rows[1:]:
        height = row._tr.trPr.find(qn("w:trHeight"))
        assert int(height.get(qn("w:val"))) >= Cm(1.2).twips - 1 and height.get(qn("w:hRule")) == "atLeast"


def test_draft_mark_on_the_cover_and_in_every_header(rendered):
    _, doc = rendered
    assert doc.paragraphs[0].text == "征求意见稿"
    for section in doc.sections:
        for header in (section.header, section.even_page_header):
            assert "征求意见稿" in "".join(p.text for p in header.paragraphs)


def test_no_draft_mark_without_errors(example, tmp_path):
    warnings_only = [f for f in example.findings if f.severity != "error"]
    doc = Document(str(render_reports(example, warnings_only, tmp_path, formats=["docx"])["docx"]))
    assert "征求意见稿" not in all_text(doc)
    assert "征求意见稿" not in "".join(p.text for s in doc.sections for p in s.header.paragraphs)


def test_core_properties_name_this_units_report(rendered):
    _, doc = rendered
    props = doc.core_properties
    assert props.title == "高邑县高邑镇人民政府2024年度部门整体支出绩效自评报告"
    assert props.subject == "高邑县高邑镇人民政府2024年度部门整体支出绩效自评报告"


def test_charts_are_png_images_captioned_with_indicator_names(rendered, example):
    path, doc = rendered
    assert len(doc.inline_shapes) == len(example.roots) + 1
    with zipfile.ZipFile(path) as zf:
        media = [n for n in zf.namelist() if n.startswith("word/media/")]
        assert len(media) == len(example.roots) + 1
        assert all(zf.read(n)[:8] == b"\x89PNG\r\n\x1a\n" for n in media)
    captions = [p.text for p in doc.paragraphs if p.style.name == "图题"]
    assert captions[0].startswith("图1  投入指标各项得分（1 绩效目标科学性、2 绩效指标科学性")
    assert captions[-1] == "图5  一级指标得分（1 投入、2 过程、3 产出、4 效果）"
    assert not any(re.search(r"\d\.\d\.\d", c) for c in captions)


def test_official_page_setup_and_page_numbers(rendered):
    _, doc = rendered
    first = doc.sections[0]
    assert abs(first.page_width - Cm(21)) < Cm(0.01) and abs(first.page_height - Cm(29.7)) < Cm(0.01)
    margins = (first.top_margin, first.bottom_margin, first.left_margin, first.right_margin)
    for got, want in zip(margins, (3.7, 3.5, 2.8, 2.6), strict=True):
        assert abs(got - Cm(want)) < Cm(0.01)
    assert doc.sections[-1].orientation == WD_ORIENT.LANDSCAPE  # the appendix tables
    assert doc.settings.odd_and_even_pages_header_footer
    for footer in (first.footer, first.even_page_footer):
        xml = footer._element.xml
        assert "PAGE" in "".join(footer._element.itertext()) or " PAGE " in xml
        assert 'w:fldCharType="begin"' in xml and "— " in footer.paragraphs[0].text


def test_fonts_sizes_and_line_spacing(rendered):
    _, doc = rendered

    def east_asia(style_name: str) -> str:
        rfonts = doc.styles[style_name].element.rPr.rFonts
        assert rfonts.get(qn("w:eastAsiaTheme")) is None
        return rfonts.get(qn("w:eastAsia"))

    assert east_asia("Title") == "方正小标宋简体"
    assert east_asia("Normal") == east_asia("报告正文") == "仿宋_GB2312"
    assert east_asia("Heading 1") == "黑体"
    assert east_asia("Heading 2") == "楷体_GB2312"
    assert doc.styles["Title"].font.size == Pt(22)
    assert doc.styles["Normal"].font.size == Pt(16)
    body = doc.styles["报告正文"].paragraph_format
    assert body.line_spacing_rule == WD_LINE_SPACING.EXACTLY and body.line_spacing == Pt(28)
    assert doc.styles["报告正文"].element.pPr.ind.get(qn("w:firstLineChars")) == "200"
    fonts = zipfile.ZipFile(rendered[0]).read("word/fontTable.xml").decode("utf-8")
    assert '<w:font w:name="仿宋_GB2312"><w:altName w:val="仿宋"/>' in fonts
    assert '<w:font w:name="方正小标宋简体"><w:altName w:val="宋体"/>' in fonts


def test_typed_markup_and_jinja_stay_literal(example, tmp_path):
    hostile = "<script>alert(1)</script>{{ 7*7 }} & {% if x %}"
    data = dataclasses.replace(
        example.data, fields={**example.data.fields, "duties": hostile, "unit_name": "A&B<镇>"}
    )
    ev = evaluate(data)
    paths = render_reports(ev, ev.findings, tmp_path, formats=["docx"])
    assert paths["docx"].name == "A&B_镇_2024年度绩效自评报告.docx"
    doc = Document(str(paths["docx"]))
    assert hostile in [p.text for p in doc.paragraphs]
    assert [p.text for p in doc.paragraphs if p.style.name == "Title"][0] == "A&B<镇>"
    xml = zipfile.ZipFile(paths["docx"]).read("word/document.xml").decode("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;{{ 7*7 }} &amp; {% if x %}" in xml
    assert "<script>" not in xml


def test_control_characters_do_not_break_the_file(example, tmp_path):
    data = dataclasses.replace(
        example.data,
        fields={**example.data.fields, "problems": "一是\x07问题\x01。\n二是\x1f问题\x08\ud800。"},
    )
    ev = evaluate(data)
    doc = Document(str(render_reports(ev, ev.findings, tmp_path, formats=["docx"])["docx"]))
    texts = [p.text for p in doc.paragraphs]
    assert "一是问题。" in texts and "二是问题。" in texts


def test_strict_refuses_and_writes_nothing(example, tmp_path):
    with pytest.raises(ReportError) as info:
        render_reports(example, example.findings, tmp_path / "out", strict=True)
    assert "校验发现 10 条错误" in str(info.value) and "--strict" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_unknown_format_is_a_chinese_error(example, tmp_path):
    with pytest.raises(ReportError, match="未知的报告格式「pdf」"):
        render_reports(example, [], tmp_path, formats=["pdf"])


def test_stem_is_sanitised(example, tmp_path):
    paths = render_reports(example, [], tmp_path, formats=["docx"], stem="../报告:2024")
    assert paths["docx"].parent == tmp_path
    assert paths["docx"].name == "报告_2024.docx"
    assert "征求意见稿" not in all_text(Document(str(paths["docx"])))  # no findings: a final report


def test_an_empty_unit_still_renders_every_format(tmp_path):
    from xlperf.core.model import UnitData

    ev = evaluate(UnitData(fields={}))
    paths = render_reports(ev, ev.findings, tmp_path)
    assert sorted(paths) == ["docx", "html", "xlsx"]
    text = all_text(Document(str(paths["docx"])))
    assert "（未填单位名称）" in text and "{{" not in text


def test_package_is_consistent_and_deterministic(example, tmp_path):
    """Every relationship points at a part, every part has a content type, drawing ids are unique."""
    first = render_reports(example, example.findings, tmp_path / "a", formats=["docx"])["docx"]
    second = render_reports(example, example.findings, tmp_path / "b", formats=["docx"])["docx"]
    assert first.read_bytes() == second.read_bytes()
    with zipfile.ZipFile(first) as zf:
        assert zf.testzip() is None
        names = set(zf.namelist())
        types = zf.read("[Content_Types].xml").decode("utf-8")
        for name in names - {"[Content_Types].xml"}:
            extension = name.rsplit(".", 1)[-1]
            assert f'PartName="/{name}"' in types or f'Extension="{extension}"' in types, name
        for rels in (n for n in names if n.endswith(".rels")):
            folder = rels.replace("_rels/", "").removesuffix(".rels").rpartition("/")[0]
            for target in re.findall(r'Target="([^"]+)"(?! TargetMode)', zf.read(rels).decode("utf-8")):
                assert posixpath.normpath(posixpath.join(folder, target)).lstrip("/") in names, target
        xml = zf.read("word/document.xml").decode("utf-8")
    ids = re.findall(r'<wp:docPr id="(\d+)"', xml)
    assert len(ids) == len(example.roots) + 1 == len(set(ids))
    descriptions = re.findall(r'<wp:docPr [^>]*descr="([^"]*)"', xml)
    assert descriptions[-1] == "图5 一级指标得分" and all("得分" in d for d in descriptions)


def test_line_breaks_and_tabs_in_a_value_become_word_breaks(example, tmp_path):
    data = dataclasses.replace(example.data, fields={**example.data.fields, "unit_name": "甲镇\n乙村\t丙"})
    ev = evaluate(data)
    doc = Document(str(render_reports(ev, [], tmp_path, formats=["docx"])["docx"]))
    title = next(p for p in doc.paragraphs if p.style.name == "Title")
    assert title.text == "甲镇\n乙村\t丙"
    assert title._p.find(f".//{qn('w:br')}") is not None and title._p.find(f".//{qn('w:tab')}") is not None


def test_user_template_tags_in_footer_and_document_title(example, tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    doc = Document()
    doc.add_paragraph("正文：{{ unit }}")
    doc.sections[0].footer.paragraphs[0].text = "页脚 {{ year }} 年"
    doc.core_properties.title = "{{ unit }}自评报告"
    doc.save(str(user / "report.docx"))
    out = render_reports(example, [], tmp_path / "out", formats=["docx"], templates=user)["docx"]
    rendered = Document(str(out))
    assert rendered.paragraphs[0].text == "正文：高邑县高邑镇人民政府"
    assert rendered.sections[0].footer.paragraphs[0].text == "页脚 2024 年"
    assert rendered.core_properties.title == "高邑县高邑镇人民政府自评报告"


def test_user_score_table_with_a_nested_table_is_merged(example, tmp_path):
    """The 自评表 is found by its caption after other tables, and a table inside it does not end it."""
    from docx.oxml import OxmlElement

    user = tmp_path / "mine"
    user.mkdir()
    doc = Document()
    doc.add_table(rows=1, cols=1).cell(0, 0).text = "前一个表格"
    table = doc.add_table(rows=4, cols=3)
    caption = OxmlElement("w:tblCaption")
    caption.set(qn("w:val"), SCORE_TABLE_CAPTION)
    table._tbl.tblPr.append(caption)
    table.cell(0, 0).text = "一级"
    table.cell(0, 2).add_table(rows=1, cols=1).cell(0, 0).text = "表中表"
    table.cell(1, 0).text = "{%tr for r in score_rows %}"
    for column, key in enumerate(("level1", "level2", "level3")):
        table.cell(2, column).text = f"{{{{ r.{key} }}}}"
    table.cell(3, 0).text = "{%tr endfor %}"
    doc.save(str(user / "report.docx"))
    out = render_reports(example, [], tmp_path / "out", formats=["docx"], templates=user)["docx"]
    rendered = Document(str(out))
    rows = rendered.tables[1]._tbl.tr_lst[1:]
    assert len(rows) == len(scoring_rows(example)) == 31

    def merge(tr, column):
        found = tr.tc_lst[column].find(f"{qn('w:tcPr')}/{qn('w:vMerge')}")
        return None if found is None else found.get(qn("w:val"), "continue")

    assert [merge(tr, 0) for tr in rows[:6]] == ["restart"] + ["continue"] * 4 + ["restart"]
    assert [merge(tr, 1) for tr in rows[:5]] == ["restart", "continue", "restart", "continue", "continue"]
    assert rows[1].tc_lst[0].xpath("string(.)") == "" and rows[0].tc_lst[0].xpath("string(.)") == "投入"
    assert rendered.tables[1].cell(0, 2).tables[0].cell(0, 0).text == "表中表"
    assert rendered.tables[0].cell(0, 0).text == "前一个表格"


def test_column_loop_in_a_user_table_gets_a_grid_column_per_cell(example, tmp_path):
    """``{%tc for %}`` makes a row as wide as the data: the table grid is widened to match (docxtpl)."""
    user = tmp_path / "mine"
    user.mkdir()
    doc = Document()
    table = doc.add_table(rows=1, cols=3)
    for column, text in enumerate(("{%tc for d in departments %}", "{{ d }}", "{%tc endfor %}")):
        table.cell(0, column).text = text
    doc.save(str(user / "report.docx"))
    out = render_reports(example, [], tmp_path / "out", formats=["docx"], templates=user)["docx"]
    tbl = Document(str(out)).tables[0]._tbl
    names = [tc.xpath("string(.)") for tc in tbl.tr_lst[0].tc_lst]
    assert len(names) == 8 and names[0] == "党政综合办公室"
    assert len(tbl.tblGrid.findall(qn("w:gridCol"))) == len(names)


def test_score_table_without_its_caption_is_still_merged(example, tmp_path):
    """LibreOffice drops table captions when it re-saves a template: the 自评表 is known by its header
    (an older template, without the merge marks of today's)."""
    user = tmp_path / "resaved"
    user.mkdir()
    (user / "report.docx").write_bytes(
        _without_merge_marks(REPO_TEMPLATE.read_bytes(), rb"<w:tblCaption [^>]*/>")
    )
    out = render_reports(example, [], tmp_path / "out", formats=["docx"], templates=user)["docx"]
    xml = zipfile.ZipFile(out).read("word/document.xml").decode("utf-8")
    assert "tblCaption" not in xml
    assert xml.count('<w:vMerge w:val="restart"/>') >= 4 + 8  # 4 一级 and at least 8 二级 runs
    doc = Document(str(out))
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "一级指标")
    first = table._tbl.tr_lst[1].tc_lst[0]
    assert first.find(f"{qn('w:tcPr')}/{qn('w:vMerge')}").get(qn("w:val")) == "restart"


def _parts(package: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _canonical(xml: bytes) -> bytes:
    return etree.tostring(etree.fromstring(xml), method="c14n")


def _without_merge_marks(template: bytes, *also: bytes) -> bytes:
    """``template`` with its cells' ``{#vmerge #}`` marks (and the ``also`` patterns) taken out of the
    body: a template made before they existed, whose 自评表 is merged after rendering."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(template)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/document.xml":
                for pattern in (rb"\{#vmerge [^#]*#\}", *also):
                    data, removed = re.subn(pattern, b"", data)
                    assert removed >= 1
            dst.writestr(item, data)
    return out.getvalue()


def _charted_context(example):
    context = presentation_context(example, example.findings)
    png = chart_png(overview_bars(example))
    context["analysis"] = [{**s, "chart": ChartImage(png, 150, s["title"])} for s in context["analysis"]]
    context["overview"] = {**context["overview"], "chart": ChartImage(png, 150, "图5")}
    return context


def test_bundled_score_table_merges_itself_as_the_merge_pass_would(example):
    """The bundled template's 自评表 writes its own merge marks from the rows' spans: nothing is parsed
    after rendering, and the package reads the same as a template without the marks merged afterwards."""
    compiled, shown = word_template()
    unmarked = compile_template(_without_merge_marks(REPO_TEMPLATE.read_bytes()), shown)
    assert compiled.merges_itself and not unmarked.merges_itself
    context = _charted_context(example)
    marked = _parts(render_package(compiled, context, shown))
    merged = _parts(render_package(unmarked, context, shown))
    assert marked.keys() == merged.keys()
    body = marked["word/document.xml"].decode("utf-8")
    assert body.count('<w:vMerge w:val="restart"/>') >= 4 + 8 and "vmerge" not in body
    for name in marked:
        same = _canonical if name.endswith((".xml", ".rels")) else (lambda data: data)
        assert same(marked[name]) == same(merged[name]), name
    # the whole tree (a template with pictures of its own) is not merged again either
    whole = _parts(render_package(dataclasses.replace(compiled, whole_tree=True), context, shown))
    assert _canonical(whole["word/document.xml"]) == _canonical(marked["word/document.xml"])


def test_merge_marks_follow_the_spans_given(example):
    """A marked cell spans what its expression says (0: covered by the cell above, its text left out)."""
    compiled, shown = word_template()
    context = _charted_context(example)
    rows = context["score_rows"]
    for row in rows:
        row["span1"], row["span2"] = 1, 1  # nothing merged
    rows[0]["span1"], rows[1]["span1"], rows[2]["span1"] = 3, 0, 0
    document = Document(io.BytesIO(render_package(compiled, context, shown)))
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "一级指标")

    def merge(tr, column):
        found = tr.tc_lst[column].find(f"{qn('w:tcPr')}/{qn('w:vMerge')}")
        return None if found is None else found.get(qn("w:val"))

    data = table._tbl.tr_lst[1 : len(rows) + 1]
    assert [merge(tr, 0) for tr in data[:5]] == ["restart", "continue", "continue", None, None]
    assert [merge(tr, 1) for tr in data] == [None] * len(rows)
    assert (
        data[1].tc_lst[0].xpath("string(.)") == ""
        and data[3].tc_lst[0].xpath("string(.)") == rows[3]["level1"]
    )
    assert data[1].tc_lst[1].xpath("string(.)") == rows[1]["level2"]


def test_score_table_merged_in_the_text_as_in_the_whole_tree(example):
    """Only the 自评表 is parsed after rendering; the body is the same as when the whole tree is."""
    shown = word_template()[1]
    compiled = compile_template(_without_merge_marks(REPO_TEMPLATE.read_bytes()), shown)
    assert not compiled.whole_tree and not compiled.merges_itself
    context = _charted_context(example)
    fast = _parts(render_package(compiled, context, shown))
    tree = _parts(render_package(dataclasses.replace(compiled, whole_tree=True), context, shown))
    assert fast.keys() == tree.keys()
    body = fast["word/document.xml"].decode("utf-8")
    assert body.count('<w:vMerge w:val="continue"/>') >= 10 and body.count("<wp:docPr ") == 5
    assert fast["word/document.xml"] != tree["word/document.xml"]  # the text was not written anew …
    for name in fast:  # … and reads the same, drawing ids included
        same = _canonical if name.endswith((".xml", ".rels")) else (lambda data: data)
        assert same(fast[name]) == same(tree[name]), name
    with zipfile.ZipFile(REPO_TEMPLATE) as zf:  # the parts no render changes are copied as they are
        for name in ("word/styles.xml", "word/footer1.xml"):  # a footer with no tag in it too
            assert fast[name] == zf.read(name) and name in compiled.packed
        assert "word/document.xml" not in compiled.packed and "word/header1.xml" not in compiled.packed


def test_a_template_with_its_own_picture_is_renumbered_as_a_whole(example, tmp_path):
    """A picture of the template's own (a logo) and the charts get drawing ids unique in the document."""
    user = tmp_path / "mine"
    user.mkdir()
    doc = Document()
    logo = tmp_path / "logo.png"
    logo.write_bytes(chart_png(overview_bars(example)))
    doc.add_picture(str(logo))
    doc.add_paragraph("{{ overview.chart }}")
    doc.add_picture(str(logo))
    doc.save(str(user / "report.docx"))
    assert word_template(user)[0].whole_tree
    out = render_reports(example, [], tmp_path / "out", formats=["docx"], templates=user)["docx"]
    with zipfile.ZipFile(out) as zf:
        ids = re.findall(r'<wp:docPr id="(\d+)"', zf.read("word/document.xml").decode("utf-8"))
    assert len(ids) == 3 == len(set(ids))


def test_control_characters_are_dropped_from_a_value_printed_as_safe(example, tmp_path):
    """A user template printing a value with ``|safe`` still gets a file Word can open."""
    user = paragraph_template(tmp_path / "mine", "单位：{{ unit|safe }}")
    data = dataclasses.replace(example.data, fields={**example.data.fields, "unit_name": "甲\x01镇\x08"})
    out = render_reports(evaluate(data), [], tmp_path / "out", formats=["docx"], templates=user)["docx"]
    assert Document(str(out)).paragraphs[0].text == "单位：甲镇"


def test_charts_take_relationship_ids_the_template_does_not_use(example, tmp_path):
    """A template whose body already has an ``rIdXlperf1`` relationship keeps it; the charts get other ids,
    on every render of the compiled template."""
    from xlperf.report.templates import bundled_templates

    user = tmp_path / "tpl"
    user.mkdir()
    source = (bundled_templates() / "report.docx").read_bytes()
    rels_name = "word/_rels/document.xml.rels"
    with zipfile.ZipFile(io.BytesIO(source)) as zin, zipfile.ZipFile(user / "report.docx", "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == rels_name:
                link = (
                    '<Relationship Id="rIdXlperf1" TargetMode="External" Target="https://example.org/" '
                    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink"/>'
                )
                data = data.replace(b"</Relationships>", link.encode() + b"</Relationships>")
            zout.writestr(info, data)
    for run in (1, 2):
        path = render_reports(
            example, example.findings, tmp_path / f"out{run}", formats=["docx"], templates=user
        )["docx"]
        with zipfile.ZipFile(path) as package:
            rels = etree.fromstring(package.read(rels_name))
        ids = [r.get("Id") for r in rels]
        images = [r for r in rels if r.get("Type").endswith("/image")]
        assert len(ids) == len(set(ids)) and len(images) == len(example.roots) + 1
        assert "https://example.org/" in [r.get("Target") for r in rels if r.get("Id") == "rIdXlperf1"]
        assert all(r.get("Id") != "rIdXlperf1" for r in images)
