"""Templates (报告模板): the committed Word template, user overrides, broken templates, helpers, charts."""

from __future__ import annotations

import io
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from docx import Document
from PIL import Image, ImageColor

from helpers_files import paragraph_template
from tools.template_builder import TEMPLATES, template_bytes
from xlperf.core.evaluate import evaluate
from xlperf.examples import example_data
from xlperf.report import ReportError, render_reports
from xlperf.report.charts import (
    LOST_COLOUR,
    MAX_COLOUR,
    SCORE_COLOUR,
    Bar,
    _chart_png,
    chart_png,
    chart_svg,
    find_cjk_font,
)
from xlperf.report.report_context import outline
from xlperf.report.templates import bundled_templates

REPO_TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@pytest.fixture(scope="module")
def example():
    return evaluate(example_data())


def xml_parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n.endswith((".xml", ".rels"))}


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_committed_template_equals_builder_output(name):
    committed = xml_parts((REPO_TEMPLATES / name).read_bytes())
    built = xml_parts(template_bytes(name))
    assert sorted(committed) == sorted(built)
    stale = [part for part in built if committed[part] != built[part]]
    assert not stale, f"templates/{name} is stale in {stale}: run python -m tools.template_builder"


def test_template_builder_is_reproducible():
    assert template_bytes() == template_bytes()
    assert template_bytes("review.docx") == template_bytes("review.docx")


def test_template_opens_in_python_docx_with_its_styles():
    doc = Document(str(REPO_TEMPLATES / "report.docx"))
    names = {s.name for s in doc.styles}
    assert {"报告正文", "报告小标题", "表格文字", "表头", "图题", "指标名称", "扣分"} <= names
    assert "Light Shading" not in names  # python-docx's sample styles are pruned
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "{{ unit }}" in text and "{%p for s in analysis %}" in text


def test_bundled_templates_found():
    root = bundled_templates()
    assert root.joinpath("report.html.j2").is_file() and root.joinpath("report.docx").is_file()


def test_user_html_template_overrides_only_that_file(example, tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    html = (REPO_TEMPLATES / "report.html.j2").read_text(encoding="utf-8")
    (user / "report.html.j2").write_text(
        html.replace('<main class="report">', '<main class="report">本单位自定义模板'), encoding="utf-8"
    )
    paths = render_reports(
        example, example.findings, tmp_path / "out", formats=["html", "docx"], templates=user
    )
    raw = paths["html"].read_text(encoding="utf-8")
    assert "本单位自定义模板" in raw
    assert "svg.chart .max" in raw  # report.css still comes from the bundled templates
    doc = Document(str(paths["docx"]))
    # bundled Word template; the example's errors mark it as a draft
    assert [p.text for p in doc.paragraphs[:2]] == ["征求意见稿", "高邑县高邑镇人民政府"]


def test_user_css_alone_overrides_the_style(example, tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "report.css").write_text("body { color: #123456; }", encoding="utf-8")
    raw = render_reports(example, [], tmp_path, formats=["html"], templates=user)["html"].read_text(
        encoding="utf-8"
    )
    assert "color: #123456" in raw and "svg.chart .max" not in raw
    assert "一、部门基本情况" in raw


def test_user_word_template(example, tmp_path):
    user = paragraph_template(tmp_path / "mine", "本单位模板：{{ unit }}，得分{{ total }}，{{ grade }}")
    out = render_reports(example, [], tmp_path / "out", formats=["docx"], templates=user)["docx"]
    assert Document(str(out)).paragraphs[0].text == "本单位模板：高邑县高邑镇人民政府，得分80，良"


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("<p>{{ unit }}</p>\n<p>{% if total %}未闭合</p>\n", "语法错误"),
        ("<p>{{ unit }}</p>\n\n<p>{{ no_such_field }}</p>\n", "引用了不存在的数据项"),
        ("<p>{{ unit | no_such_filter }}</p>\n", "语法错误"),
    ],
)
def test_broken_html_template_gives_chinese_error(example, tmp_path, source, fragment):
    (tmp_path / "report.html.j2").write_text(source, encoding="utf-8")
    with pytest.raises(ReportError) as info:
        render_reports(example, [], tmp_path / "out", formats=["html"], templates=tmp_path)
    message = str(info.value)
    assert "报告模板「report.html.j2」" in message and fragment in message
    assert "第 " in message and " 行" in message
    assert not (tmp_path / "out" / "高邑县高邑镇人民政府2024年度绩效自评报告.html").exists()


@pytest.mark.parametrize(
    ("texts", "fragment", "shown"),
    [
        (["第一段", "{{ unit }", "第三段"], "第 2 段语法错误", "{{ unit }"),
        (["{% for x in team %}没有结束"], "语法错误", None),
        (["正常段落", "{{ missing_value }}"], "第 2 段引用了不存在的数据项", "{{ missing_value }}"),
    ],
)
def test_broken_word_template_gives_chinese_error(example, tmp_path, texts, fragment, shown):
    paragraph_template(tmp_path, *texts)
    with pytest.raises(ReportError) as info:
        render_reports(example, [], tmp_path / "out", formats=["docx"], templates=tmp_path)
    message = str(info.value)
    assert "报告模板「report.docx」" in message and fragment in message
    if shown:
        assert f"「{shown}" in message


def test_word_paragraphs_are_joined_at_compile_time_and_errors_keep_their_paragraph(example, tmp_path):
    """The break put before each paragraph (one paragraph per source line, for error messages) is
    dropped once when the template compiles: the body holds none, and an error still names its 段."""
    texts = ["甲{{ unit }}", "{%p if total %}", "乙{{ grade }}", "{%p endif %}", "丙"]
    paragraph_template(tmp_path, *texts)
    out = render_reports(example, [], tmp_path / "out", formats=["docx"], templates=tmp_path)["docx"]
    with zipfile.ZipFile(out) as package:
        body = package.read("word/document.xml").decode()
    assert "\n" not in body
    assert [p.text for p in Document(str(out)).paragraphs] == ["甲高邑县高邑镇人民政府", "乙良", "丙"]
    paragraph_template(tmp_path, *texts, "{{ missing_value }}")
    # the {%p %} paragraphs became tags when the template was prepared: the fourth paragraph left
    with pytest.raises(ReportError, match="第 4 段引用了不存在的数据项"):
        render_reports(example, [], tmp_path / "out", formats=["docx"], templates=tmp_path)


def test_not_a_word_file(example, tmp_path):
    (tmp_path / "report.docx").write_bytes(b"not a zip")
    with pytest.raises(ReportError, match="不是有效的 Word 文档"):
        render_reports(example, [], tmp_path / "out", formats=["docx"], templates=tmp_path)


def test_missing_template_directory(example, tmp_path):
    with pytest.raises(ReportError, match="自定义模板目录不存在"):
        render_reports(example, [], tmp_path, templates=tmp_path / "nope")


def test_bundled_templates_copied_as_user_dir_render_the_same(example, tmp_path):
    user = tmp_path / "copy"
    shutil.copytree(REPO_TEMPLATES, user)
    a = render_reports(example, [], tmp_path / "a", formats=["html"])["html"].read_text(encoding="utf-8")
    b = render_reports(example, [], tmp_path / "b", formats=["html"], templates=user)["html"].read_text(
        encoding="utf-8"
    )
    assert a == b


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("（一）自评的组织工作", True),
        ("(1) 前期准备", True),
        ("1、评价方法", True),
        ("（十五）、项目建设", True),
        ("1、助力全镇经济发展:为招商引资、项目建设、第三产业提供服务", False),
        ("(1) 因素分析法。在评价过程中，对相关外部因素进行了分析。", False),
        ("1、在工作中根据不断出现的新情况和发现的新问题，", False),
    ],
)
def test_short_numbered_lines_are_subheadings(text, expected):
    assert outline([text], 2)[0]["heading"] is expected


@pytest.mark.parametrize(
    "text", ["2024 年政府工作的总体要求是", "一是绩效目标设置科学性有待提高", "3.5 万元"]
)
def test_unnumbered_text_keeps_its_words(text):
    assert outline([text], 2) == [{"lead": "", "text": text, "heading": False}]


def test_outline_drops_a_first_line_repeating_the_heading():
    items = outline(["（一）存在的问题", "一是……。"], 2, "存在的问题")
    assert items == [{"lead": "", "text": "一是……。", "heading": False}]
    kept = outline(["（一）另一个标题", "正文。"], 2, "存在的问题")
    assert [i["lead"] or i["text"] for i in kept] == ["1.另一个标题", "正文。"]


def test_pasted_numbering_is_renumbered_one_level_below_the_heading():
    pasted = [
        "(一)、促进经济发展",
        "1、助力经济：为招商提供服务",
        "2、编制预算：做好收支计划",
        "(二)、村镇建设",
    ]
    items = outline(pasted, 2)
    assert [i["lead"] for i in items] == [
        "1.促进经济发展",
        "（1）助力经济：",
        "（2）编制预算：",
        "2.村镇建设",
    ]
    assert [i["heading"] for i in items] == [True, False, False, True]
    assert items[1]["text"] == "为招商提供服务"
    # under a 一级 heading the same text starts at （一）; "（3）" among "（一）" continues that level
    assert [i["lead"] for i in outline(pasted, 1)][0] == "（一）促进经济发展"
    mixed = outline(["（一）招商引资", "正文。", "（3）乡村振兴", "（四）善治共治"], 1)
    assert [i["lead"] for i in mixed if i["lead"]] == ["（一）招商引资", "（二）乡村振兴", "（三）善治共治"]


def test_chart_png_is_a_png_of_the_requested_width():
    bars = [Bar("1.1", "甲", 7, 7), Bar("1.2", "乙", 3, 1.5), Bar("1.3", "丙", 2, 0)]
    data = chart_png(bars, font_path=None, width=800)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width == 800 and height > 3 * 30
    _chart_png.cache_clear()
    assert chart_png(bars, font_path=None, width=800) == data  # deterministic


def test_the_same_bars_are_drawn_once():
    """Units scoring a section alike share its picture; a different score is a different picture."""
    bars = [Bar("1.1", "甲", 7, 7), Bar("1.2", "乙", 3, 3)]
    first = chart_png(bars, width=600)
    assert chart_png(list(bars), width=600) is first
    lower = chart_png([bars[0], Bar("1.2", "乙", 3, 2)], width=600)
    assert lower != first and longest_runs(lower)[1] != longest_runs(first)[1]
    svg = chart_svg(bars, title="投入")
    assert chart_svg(list(bars), title="投入") is svg and "2 / 3" not in svg
    assert "2 / 3" in chart_svg([bars[0], Bar("1.2", "乙", 3, 2)], title="投入")


def longest_runs(data: bytes) -> tuple[tuple[int, int], dict[tuple[int, int, int], int]]:
    """Decode a PNG (every row; a broken stream raises): its dpi and each colour's longest horizontal run."""
    image = Image.open(io.BytesIO(data)).convert("RGB")
    raw, width, runs = image.tobytes(), image.width, {}
    for y in range(image.height):
        row = [tuple(raw[i : i + 3]) for i in range(3 * width * y, 3 * width * (y + 1), 3)]
        start = 0
        for x in range(1, width + 1):
            if x == width or row[x] != row[start]:
                runs[row[start]] = max(runs.get(row[start], 0), x - start)
                start = x
    return Image.open(io.BytesIO(data)).info["dpi"], runs


@pytest.mark.parametrize("width", [800, 401])  # an odd width ends every row in half a byte
def test_chart_png_bars_colours_dpi_and_antialiased_text(width):
    rgb = ImageColor.getrgb
    dpi, runs = longest_runs(chart_png([Bar("1.1", "甲", 7, 7), Bar("1.2", "乙", 3, 1.5)], width=width))
    assert round(dpi[0]) == round(96 * width / 800)
    plot = width / 2  # the plot between the labels and the values is over half the chart
    assert runs[rgb(SCORE_COLOUR)] > plot  # 7 of 7 points: the whole scale
    assert runs[rgb(LOST_COLOUR)] > plot / 7 and runs[rgb(MAX_COLOUR)] > plot / 7  # 1.5 of 3: red, then pale
    shades = [c for c in runs if c[0] == c[1] == c[2] and 0x22 < c[0] < 255]  # grey between #222222 and white
    assert len(shades) >= 4  # antialiased labels, not 1-bit text
    _, full_marks = longest_runs(chart_png([Bar("1.1", "甲", 7, 7)], width=width))
    assert rgb(LOST_COLOUR) not in full_marks
    assert runs[(255, 255, 255)] == full_marks[(255, 255, 255)] == width  # blank margin rows, whole and white


def test_chart_svg_escapes_names_and_marks_lost_items():
    svg = str(chart_svg([Bar("1", "<b>&", 5, 2), Bar("2", "满分", 5, 5)], title="T<"))
    assert "&lt;b&gt;&amp;" in svg and "<b>" not in svg
    assert svg.count('class="bar lost"') == 1 and svg.count('class="bar"') == 1
    assert 'aria-label="T&lt;"' in svg


def test_chart_font_override(monkeypatch, tmp_path):
    monkeypatch.setenv("XLPERF_CHART_FONT", "none")
    assert find_cjk_font() is None
    monkeypatch.setenv("XLPERF_CHART_FONT", str(tmp_path / "missing.ttf"))
    assert find_cjk_font() is None
    font = tmp_path / "font.ttf"
    font.write_bytes(b"x")
    monkeypatch.setenv("XLPERF_CHART_FONT", str(font))
    assert find_cjk_font() == str(font)
    # an unreadable font file falls back to the built-in font instead of failing
    assert chart_png([Bar("1", "甲", 1, 1)], font_path=str(font), width=400)[:4] == b"\x89PNG"


def test_edited_user_template_is_picked_up_in_the_same_process(example, tmp_path):
    (tmp_path / "report.html.j2").write_text("<p>第一版 {{ unit }}</p>", encoding="utf-8")
    first = render_reports(example, [], tmp_path / "a", formats=["html"], templates=tmp_path)["html"]
    assert first.read_text(encoding="utf-8") == "<p>第一版 高邑县高邑镇人民政府</p>"
    (tmp_path / "report.html.j2").write_text("<p>第二版 {{ grade }}</p>", encoding="utf-8")
    second = render_reports(example, [], tmp_path / "b", formats=["html"], templates=tmp_path)["html"]
    assert second.read_text(encoding="utf-8") == "<p>第二版 良</p>"


def test_word_template_saved_by_other_programs_renders(example, tmp_path):
    """Parts in UTF-16, quotes as ``&apos;`` and characters as references (LibreOffice, WPS) inside
    template tags render as they do from Word."""
    doc = Document()
    doc.add_paragraph("单位：{{ unit ~ '（' ~ year ~ '）' }}")
    buffer = io.BytesIO()
    doc.save(buffer)
    with zipfile.ZipFile(buffer) as src, zipfile.ZipFile(tmp_path / "report.docx", "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "word/document.xml":
                text = (
                    data.decode("utf-8")
                    .replace("'（'", "&apos;&#xFF08;&apos;")
                    .replace("'）'", "&apos;）&apos;")
                )
                text = text.replace("单位", "&#x5355;&#x4F4D;").replace("UTF-8", "UTF-16")
                assert text.count("&apos;") == 4 and "&#xFF08;" in text
                data = text.encode("utf-16")
            dst.writestr(item, data)
    out = render_reports(example, [], tmp_path / "out", formats=["docx"], templates=tmp_path)["docx"]
    assert Document(str(out)).paragraphs[0].text == "单位：高邑县高邑镇人民政府（2024）"


def test_broken_footer_template_names_its_part(example, tmp_path):
    doc = Document()
    doc.add_paragraph("正文")
    doc.sections[0].footer.paragraphs[0].text = "{{ no_such_value }}"
    doc.save(str(tmp_path / "report.docx"))
    with pytest.raises(ReportError) as info:
        render_reports(example, [], tmp_path / "out", formats=["docx"], templates=tmp_path)
    assert "「word/footer" in str(info.value) and "引用了不存在的数据项" in str(info.value)


def test_a_bureau_restyles_the_review_with_its_own_template(example, tmp_path):
    user = tmp_path / "财政局模板"
    user.mkdir()
    html = (REPO_TEMPLATES / "review.html.j2").read_text(encoding="utf-8")
    (user / "review.html.j2").write_text(
        html.replace('<main class="report">', '<main class="report">某县财政局'), encoding="utf-8"
    )
    paths = render_reports(example, example.findings, tmp_path / "out", formats=["review"], templates=user)
    assert "某县财政局" in paths["review-html"].read_text(encoding="utf-8")
    assert (
        Document(str(paths["review"])).paragraphs[0].text == "高邑县高邑镇人民政府"
    )  # bundled Word template
    (user / "review.docx").write_bytes(b"not a docx")
    with pytest.raises(ReportError, match="review.docx"):
        render_reports(example, example.findings, tmp_path / "out", formats=["review"], templates=user)
