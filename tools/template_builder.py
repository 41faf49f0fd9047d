"""The Word template (Word 报告模板): builds ``templates/report.docx`` with python-docx, reproducibly.

The template is an ordinary .docx with docxtpl/Jinja tags (``{{ unit }}``, ``{%p for … %}``) that a
finance office opens in Word and restyles: every look is a named style (报告正文, 表格文字, 标题 1 …),
so changing the style changes the report.  The official look follows GB/T 9704-2012 (党政机关公文格式):

* A4, margins 上 3.7 cm, 下 3.5 cm, 左 2.8 cm, 右 2.6 cm;
* title 方正小标宋简体 二号 (fallback 宋体), body 仿宋_GB2312 三号 (fallback 仿宋) on a fixed 28-point line,
  一级标题 黑体, 二级标题 楷体_GB2312 (fallback 楷体), 三级标题 仿宋 加粗, all with ``w:eastAsia`` fonts;
* tables 仿宋 五号 with borders, header rows repeated on every page (``w:tblHeader``);
* page numbers ``— 1 —`` in 宋体 四号, odd pages right and even pages left (PAGE field).

Run ``python -m tools.template_builder`` (from the repository root) after changing this file;
a test checks that the committed template equals what this module builds (XML parts compared).
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.section import WD_ORIENT, WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import BaseStyle
from docx.table import Table
from docx.text.paragraph import Paragraph

from xlperf.io.atomic import atomic_write_bytes
from xlperf.report.word_layout import SCORE_TABLE_CAPTION

LATIN = "Times New Roman"
TITLE_FONT, TITLE_FALLBACK = "方正小标宋简体", "宋体"
BODY_FONT, BODY_FALLBACK = "仿宋_GB2312", "仿宋"
H1_FONT = "黑体"
H2_FONT, H2_FALLBACK = "楷体_GB2312", "楷体"
PAGE_FONT = "宋体"

# 字号 in points: 二号 22, 三号 16, 四号 14, 小四 12, 五号 10.5
SIZE_2, SIZE_3, SIZE_4, SIZE_S4, SIZE_5 = 22, 16, 14, 12, 10.5
LINE = 28  # fixed line pitch of the body, points

A4 = (Cm(21.0), Cm(29.7))
MARGINS = {"top": Cm(3.7), "bottom": Cm(3.5), "left": Cm(2.8), "right": Cm(2.6)}
LANDSCAPE_MARGINS = {"top": Cm(2.8), "bottom": Cm(2.6), "left": Cm(3.7), "right": Cm(3.5)}
WIDE_WIDTH_CM = 29.7 - 3.7 - 3.5

SIGNING_ROW_CM = 1.2  # rows of the 工作组 table, tall enough to sign by hand

# Fonts the template names, with the font Word should substitute when one is missing (fontTable altName).
FONT_TABLE = (
    (LATIN, None, "00", "roman", "variable"),
    ("宋体", "SimSun", "86", "auto", "variable"),
    ("黑体", "SimHei", "86", "modern", "fixed"),
    ("仿宋", "FangSong", "86", "modern", "fixed"),
    ("楷体", "KaiTi", "86", "modern", "fixed"),
    (BODY_FONT, BODY_FALLBACK, "86", "modern", "fixed"),
    (H2_FONT, H2_FALLBACK, "86", "modern", "fixed"),
    (TITLE_FONT, TITLE_FALLBACK, "86", "script", "variable"),
)

KEEP_STYLES = {
    "Normal",
    "Default Paragraph Font",
    "Normal Table",
    "No List",
    "Table Grid",
    "Title",
    "Heading 1",
    "Heading 2",
    "Heading 3",
    "Header",
    "Footer",
}
STYLES_WITH_EFFECTS = "http://schemas.microsoft.com/office/2007/relationships/stylesWithEffects"
FIXED_TIME = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


# --------------------------------------------------------------------------------------------
# styles
# --------------------------------------------------------------------------------------------


def _clear(style: BaseStyle) -> None:
    """Drop a built-in style's own formatting and links so only what is set here applies."""
    for tag in ("w:pPr", "w:rPr", "w:link", "w:rsid"):
        for child in style.element.findall(qn(tag)):
            style.element.remove(child)


def set_fonts(rpr: object, east: str, latin: str | None = None) -> None:
    """Set the four font slots (字体) of a ``w:rPr``: eastAsia for 中文, ascii/hAnsi/cs for Latin and digits."""
    rfonts = rpr.get_or_add_rFonts()  # type: ignore[attr-defined]
    for attr in ("asciiTheme", "hAnsiTheme", "eastAsiaTheme", "cstheme"):
        rfonts.attrib.pop(qn(f"w:{attr}"), None)
    latin = latin or east
    rfonts.set(qn("w:ascii"), latin)
    rfonts.set(qn("w:hAnsi"), latin)
    rfonts.set(qn("w:eastAsia"), east)
    rfonts.set(qn("w:cs"), latin)
    rfonts.set(qn("w:hint"), "eastAsia")


def _style(
    doc: DocumentObject,
    name: str,
    *,
    east: str,
    latin: str | None = LATIN,
    size: float = SIZE_3,
    bold: bool = False,
    align: WD_ALIGN_PARAGRAPH | None = WD_ALIGN_PARAGRAPH.JUSTIFY,
    line: float | None = LINE,
    indent_chars: int = 0,
    keep_next: bool = False,
    before: float = 0,
    after: float = 0,
    base: str | None = None,
    kind: WD_STYLE_TYPE = WD_STYLE_TYPE.PARAGRAPH,
    outline: int | None = None,
) -> BaseStyle:
    """Create or reset a style with explicit CJK and Latin fonts (样式)."""
    try:
        style = doc.styles[name]
        _clear(style)
    except KeyError:
        style = doc.styles.add_style(name, kind)
    style.hidden = False
    style.quick_style = True
    if base:
        style.base_style = doc.styles[base]
    rpr = style.element.get_or_add_rPr()
    set_fonts(rpr, east, latin)
    style.font.size = Pt(size)
    style.font.bold = bold
    style.font.italic = False
    if kind == WD_STYLE_TYPE.CHARACTER:
        return style
    fmt = style.paragraph_format  # type: ignore[attr-defined]
    fmt.alignment = align
    fmt.space_before = Pt(before)
    fmt.space_after = Pt(after)
    if line is None:
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    else:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line)
    fmt.keep_with_next = keep_next
    ppr = style.element.get_or_add_pPr()
    if indent_chars:
        fmt.first_line_indent = Pt(size * indent_chars)
        ppr.get_or_add_ind().set(qn("w:firstLineChars"), str(indent_chars * 100))
    if outline is not None:
        level = OxmlElement("w:outlineLvl")
        level.set(qn("w:val"), str(outline))
        ppr.append(level)
    return style


def _defaults(doc: DocumentObject) -> None:
    """Document defaults (文档默认格式): 仿宋_GB2312 三号, Chinese language, no paragraph spacing."""
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    set_fonts(rpr, BODY_FONT, LATIN)
    for tag, value in (("w:sz", "32"), ("w:szCs", "32")):
        rpr.find(qn(tag)).set(qn("w:val"), value)
    lang = rpr.find(qn("w:lang"))
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    spacing = defaults.find(qn("w:pPrDefault")).find(qn("w:pPr")).find(qn("w:spacing"))
    spacing.set(qn("w:after"), "0")
    spacing.set(qn("w:line"), "240")


def _styles(doc: DocumentObject) -> None:
    """All styles the report uses; a user restyles the report by changing these in Word."""
    _defaults(doc)
    center, left, right = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.LEFT, WD_ALIGN_PARAGRAPH.RIGHT
    _style(doc, "Normal", east=BODY_FONT)
    _style(doc, "Title", east=TITLE_FONT, latin=TITLE_FONT, size=SIZE_2, align=center, line=36, base="Normal")
    _style(
        doc,
        "Heading 1",
        east=H1_FONT,
        latin=H1_FONT,
        indent_chars=2,
        keep_next=True,
        base="Normal",
        outline=0,
    )
    _style(
        doc,
        "Heading 2",
        east=H2_FONT,
        latin=H2_FONT,
        indent_chars=2,
        keep_next=True,
        base="Normal",
        outline=1,
    )
    _style(
        doc, "Heading 3", east=BODY_FONT, bold=True, indent_chars=2, keep_next=True, base="Normal", outline=2
    )
    _style(
        doc, "Header", east=PAGE_FONT, latin=PAGE_FONT, size=SIZE_4, align=center, line=None, base="Normal"
    )
    _style(doc, "Footer", east=PAGE_FONT, latin=PAGE_FONT, size=SIZE_4, align=right, line=None, base="Normal")
    _style(doc, "报告副标题", east=H2_FONT, latin=H2_FONT, align=center, after=LINE / 2, base="Normal")
    _style(doc, "报告正文", east=BODY_FONT, indent_chars=2, base="Normal")
    _style(doc, "报告小标题", east=BODY_FONT, bold=True, indent_chars=2, keep_next=True, base="Normal")
    _style(
        doc,
        "表题",
        east=H1_FONT,
        latin=H1_FONT,
        size=SIZE_S4,
        align=center,
        keep_next=True,
        before=6,
        base="Normal",
    )
    _style(
        doc,
        "表注",
        east=BODY_FONT,
        size=SIZE_5,
        align=right,
        line=None,
        keep_next=True,
        after=3,
        base="Normal",
    )
    _style(doc, "图片", east=BODY_FONT, align=center, line=None, keep_next=True, before=6, base="Normal")
    _style(doc, "图题", east=H1_FONT, latin=H1_FONT, size=SIZE_S4, align=center, after=6, base="Normal")
    _style(doc, "表头", east=H1_FONT, latin=H1_FONT, size=SIZE_5, align=center, line=None, base="Normal")
    _style(doc, "表格文字", east=BODY_FONT, size=SIZE_5, align=center, line=None, base="Normal")
    _style(doc, "表格正文", east=BODY_FONT, size=SIZE_5, align=left, line=None, base="Normal")
    _style(doc, "表格数字", east=BODY_FONT, size=SIZE_5, align=right, line=None, base="Normal")
    _style(doc, "表格合计", east=BODY_FONT, size=SIZE_5, bold=True, align=center, line=None, base="Normal")
    _style(doc, "附件标记", east=H1_FONT, latin=H1_FONT, align=left, base="Normal")
    _style(doc, "模板说明", east=BODY_FONT, size=SIZE_5, align=left, line=None, base="Normal")
    _style(doc, "指标名称", east=BODY_FONT, bold=True, kind=WD_STYLE_TYPE.CHARACTER)
    _style(doc, "扣分", east=BODY_FONT, bold=True, kind=WD_STYLE_TYPE.CHARACTER)
    doc.styles["模板说明"].font.color.rgb = RGBColor(0x80, 0x80, 0x80)
    _prune_styles(doc)


def _prune_styles(doc: DocumentObject) -> None:
    """Remove the python-docx sample styles nobody uses, so the style list in Word stays short."""
    root = doc.styles.element
    keep_ids = set()
    for style in root.findall(qn("w:style")):
        name = style.find(qn("w:name"))
        label = name.get(qn("w:val")) if name is not None else ""
        ui_name = {"heading 1": "Heading 1", "heading 2": "Heading 2", "heading 3": "Heading 3"}.get(
            label, label
        )
        custom = style.get(qn("w:customStyle")) == "1"
        if ui_name in KEEP_STYLES or ui_name.lower() in {k.lower() for k in KEEP_STYLES} or custom:
            keep_ids.add(style.get(qn("w:styleId")))
        else:
            root.remove(style)
    for style in root.findall(qn("w:style")):
        for tag in ("w:basedOn", "w:next", "w:link"):
            ref = style.find(qn(tag))
            if ref is not None and ref.get(qn("w:val")) not in keep_ids:
                style.remove(ref)


# --------------------------------------------------------------------------------------------
# package parts: fonts, settings, section, footer
# --------------------------------------------------------------------------------------------


def _font_table(doc: DocumentObject) -> None:
    """fontTable.xml naming each font with its substitute (altName) and GB2312 charset."""
    part = next(p for p in doc.part.package.parts if p.partname == "/word/fontTable.xml")
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    lines = [
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>",
        f'<w:fonts xmlns:w="{w}">',
    ]
    for name, alt, charset, family, pitch in FONT_TABLE:
        lines.append(f'<w:font w:name="{name}">')
        if alt:
            lines.append(f'<w:altName w:val="{alt}"/>')
        lines.append(f'<w:charset w:val="{charset}"/><w:family w:val="{family}"/><w:pitch w:val="{pitch}"/>')
        lines.append("</w:font>")
    lines.append("</w:fonts>")
    part._blob = "".join(lines).encode("utf-8")


def _drop_parts(doc: DocumentObject) -> None:
    """Drop python-docx's sample thumbnail, stylesWithEffects, customXml and numbering parts."""
    unwanted = {RT.THUMBNAIL, RT.CUSTOM_XML, RT.NUMBERING, STYLES_WITH_EFFECTS}
    for rels in (doc.part.package.rels, doc.part.rels):
        for rid in [rid for rid, rel in rels.items() if rel.reltype in unwanted]:
            del rels[rid]


def _settings(doc: DocumentObject) -> None:
    """Different odd/even footers (奇偶页不同) and Chinese as the East Asian language."""
    doc.settings.odd_and_even_pages_header_footer = True
    root = doc.settings.element
    theme_lang = root.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:eastAsia"), "zh-CN")
    for tag in ("w:rsids",):
        for child in root.findall(qn(tag)):
            root.remove(child)


def _page_number(paragraph: Paragraph) -> None:
    """``— 1 —`` with a PAGE field (页码)."""
    for text, kind in (("— ", "text"), ("begin", "fld"), (" PAGE ", "instr"), ("separate", "fld"), ("1", "text"),
                       ("end", "fld"), (" —", "text")):  # fmt: skip
        run = paragraph.add_run()
        if kind == "text":
            run.text = text
        elif kind == "instr":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), text)
            run._r.append(fld)


def _section(doc: DocumentObject, header: str = "") -> None:
    """A4 portrait, GB/T 9704 margins, page numbers right on odd and left on even pages; ``header``
    (a template expression such as the 征求意见稿 mark) on every page."""
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = A4
    section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
    section.header_distance, section.footer_distance = Cm(1.5), Cm(2.5)
    section.gutter = Cm(0)
    odd = section.footer.paragraphs[0]
    odd.style = doc.styles["Footer"]
    odd.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    odd.paragraph_format.right_indent = Pt(SIZE_4)
    _page_number(odd)
    even = section.even_page_footer.paragraphs[0]
    even.style = doc.styles["Footer"]
    even.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    even.paragraph_format.left_indent = Pt(SIZE_4)
    _page_number(even)
    if header:
        for part in (section.header, section.even_page_header):
            paragraph = part.paragraphs[0]
            paragraph.style = doc.styles["Header"]
            paragraph.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            paragraph.add_run(header)


def _landscape_section(doc: DocumentObject) -> None:
    """Start a landscape A4 section (横向页面) for the wide appendix tables; footers continue."""
    section = doc.add_section(WD_SECTION.NEW_PAGE)
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = A4[1], A4[0]
    section.top_margin, section.bottom_margin = LANDSCAPE_MARGINS["top"], LANDSCAPE_MARGINS["bottom"]
    section.left_margin, section.right_margin = LANDSCAPE_MARGINS["left"], LANDSCAPE_MARGINS["right"]


# --------------------------------------------------------------------------------------------
# content helpers
# --------------------------------------------------------------------------------------------


class _Builder:
    """Writes paragraphs and tables of the template in order."""

    def __init__(self, doc: DocumentObject) -> None:
        self.doc = doc

    def p(self, text: str = "", style: str = "报告正文") -> Paragraph:
        """A paragraph with one run (so a Jinja tag is never split)."""
        paragraph = self.doc.add_paragraph(style=style)
        if text:
            paragraph.add_run(text)
        return paragraph

    def runs(self, parts: Sequence[tuple[str, str | None]], style: str = "报告正文") -> Paragraph:
        """A paragraph of several runs, each with an optional character style."""
        paragraph = self.doc.add_paragraph(style=style)
        for text, char_style in parts:
            run = paragraph.add_run(text)
            if char_style:
                run.style = self.doc.styles[char_style]
        return paragraph

    def tag(self, text: str) -> Paragraph:
        """A paragraph holding only a docxtpl paragraph tag (removed in the output), shown small and grey."""
        return self.p(text, "模板说明")

    def h1(self, text: str) -> Paragraph:
        return self.p(text, "Heading 1")

    def h2(self, text: str) -> Paragraph:
        return self.p(text, "Heading 2")

    def h3(self, text: str) -> Paragraph:
        return self.p(text, "Heading 3")

    def narrative(self, expr: str) -> Paragraph:
        """The unit's own text (单位填写的文字), paragraph by paragraph, via the ``narrative`` macro."""
        return self.tag(f"{{{{p narrative({expr}) }}}}")

    def table(
        self,
        columns: Sequence[tuple[str, float, str]],
        rows: Sequence[tuple[str, Sequence[str]]],
        *,
        caption: str | None = None,
        row_height_cm: float | None = None,
    ) -> Table:
        """A bordered table (表格): ``columns`` are (表头, 宽度 cm, 对齐 c/l/r); ``rows`` are (kind, cells).

        kind ``tag`` puts a docxtpl row tag in the first cell, ``data`` writes cells aligned per column,
        ``total`` writes a bold 合计 row.  The header row repeats on every page.
        """
        table = self.doc.add_table(rows=1 + len(rows), cols=len(columns))
        table.style = self.doc.styles["Table Grid"]
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        _table_properties(table, [w for _, w, _ in columns], caption)
        header = table.rows[0]
        _row_properties(header, header=True)
        for cell, (title, _, _) in zip(header.cells, columns, strict=True):
            _cell_text(cell, title, "表头")
        aligned = {"c": "表格文字", "l": "表格正文", "r": "表格数字"}
        for row, (kind, cells) in zip(table.rows[1:], rows, strict=True):
            _row_properties(row, header=False, height_cm=row_height_cm if kind == "data" else None)
            for index, cell in enumerate(row.cells):
                text = cells[index] if index < len(cells) else ""
                style = "表格合计" if kind == "total" else aligned[columns[index][2]]
                if kind == "tag":
                    style = "表格正文"
                _cell_text(cell, text, style)
        for row in table.rows:
            for cell, (_, width, _) in zip(row.cells, columns, strict=True):
                cell.width = Cm(width)
        for row, (kind, cells) in zip(table.rows[1:], rows, strict=True):
            if kind == "tag" and len(columns) > 1:
                row.cells[0].merge(row.cells[-1])  # the tag gets the full width; the row is removed anyway
            elif kind == "total":
                blanks = next((i for i, text in enumerate(cells[1:], 1) if text), len(cells)) - 1
                if blanks:
                    row.cells[0].merge(row.cells[blanks])  # 合计 spans the empty label columns
        return table


def _cell_text(cell: object, text: str, style: str) -> None:
    paragraph = cell.paragraphs[0]  # type: ignore[attr-defined]
    paragraph.style = paragraph.part.document.styles[style]
    if text:
        paragraph.add_run(text)
    tc_pr = cell._tc.get_or_add_tcPr()  # type: ignore[attr-defined]
    v_align = OxmlElement("w:vAlign")
    v_align.set(qn("w:val"), "center")
    tc_pr.append(v_align)


def _row_properties(row: object, *, header: bool, height_cm: float | None = None) -> None:
    tr_pr = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    cant_split = OxmlElement("w:cantSplit")
    tr_pr.append(cant_split)
    if height_cm:
        height = OxmlElement("w:trHeight")
        height.set(qn("w:val"), str(round(height_cm * 567)))
        height.set(qn("w:hRule"), "atLeast")
        tr_pr.append(height)
    if header:
        repeat = OxmlElement("w:tblHeader")
        tr_pr.append(repeat)


_TBL_PR_ORDER = (
    "tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize", "tblW", "jc",
    "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar", "tblLook", "tblCaption",
    "tblDescription",
)  # fmt: skip


def _table_properties(table: Table, widths_cm: Sequence[float], caption: str | None) -> None:
    tbl_pr = table._tbl.tblPr
    new: dict[str, object] = {}
    width = OxmlElement("w:tblW")
    width.set(qn("w:w"), str(round(sum(widths_cm) * 567)))
    width.set(qn("w:type"), "dxa")
    new["tblW"] = width
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        border = OxmlElement(f"w:{edge}")
        border.set(qn("w:val"), "single")
        border.set(qn("w:sz"), "8" if edge in ("top", "bottom", "left", "right") else "4")
        border.set(qn("w:space"), "0")
        border.set(qn("w:color"), "000000")
        borders.append(border)
    new["tblBorders"] = borders
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    new["tblLayout"] = layout
    margins = OxmlElement("w:tblCellMar")
    for edge, twips in (("left", "85"), ("right", "85")):
        margin = OxmlElement(f"w:{edge}")
        margin.set(qn("w:w"), twips)
        margin.set(qn("w:type"), "dxa")
        margins.append(margin)
    new["tblCellMar"] = margins
    if caption:
        element = OxmlElement("w:tblCaption")
        element.set(qn("w:val"), caption)
        new["tblCaption"] = element
    children = {child.tag.rsplit("}", 1)[-1]: child for child in tbl_pr}
    children.update(new)
    for child in list(tbl_pr):
        tbl_pr.remove(child)
    for tag in _TBL_PR_ORDER:
        if tag in children:
            tbl_pr.append(children[tag])
    grid = table._tbl.tblGrid
    for col, width_cm in zip(grid.findall(qn("w:gridCol")), widths_cm, strict=True):
        col.set(qn("w:w"), str(round(width_cm * 567)))


# --------------------------------------------------------------------------------------------
# the report
# --------------------------------------------------------------------------------------------


def _narrative_macro(b: _Builder) -> None:
    """The ``narrative`` macro: the unit's paragraphs, a numbered lead in bold, short numbered lines as sub-headings."""
    b.tag("{%p macro narrative(items) %}")
    b.tag("{%p for para in items %}")
    b.tag("{%p if para.heading %}")
    b.p("{{ para.lead }}", "报告小标题")
    b.tag("{%p else %}")
    b.runs([("{{ para.lead }}", "指标名称"), ("{{ para.text }}", None)])
    b.tag("{%p endif %}")
    b.tag("{%p endfor %}")
    b.tag("{%p endmacro %}")


BLANK = "本部分内容待补充。"  # a section the outline requires whose text cells are blank


def _content(b: _Builder) -> None:
    b.p(
        "{#p 【模板说明】本文件是 xlperf 的报告模板，可在 Word 中修改文字和样式（报告正文、标题 1、表格文字等）。"
        "双花括号和花括号百分号之间是数据占位符，请勿拆开或删除；以 p、tr 标记开头的段落和表格行在生成报告时自动删除。"
        "本段不会出现在生成的报告中。 #}",
        "模板说明",
    )
    _narrative_macro(b)

    b.tag("{%p if draft %}")
    b.p("征求意见稿", "报告副标题")
    b.tag("{%p endif %}")
    b.p("{{ unit }}", "Title")
    b.p("{{ year }}年度部门整体支出绩效自评报告", "Title")
    b.p("", "Normal")
    b.p(
        "按照预算绩效管理的有关规定，遵循“科学性、规范性、客观性和公正性”的原则，{{ unit }}对{{ year }}年度部门整体支出"
        "实施了绩效自评，形成本报告。金额单位为万元。"
    )

    # 一、部门基本情况
    b.h1("一、部门基本情况")
    b.tag("{%p if has.duties %}")
    b.h2("（一）部门职责")
    b.narrative("text.duties")
    b.tag("{%p endif %}")
    b.h2("（{{ '二' if has.duties else '一' }}）机构设置")
    b.p(
        "{{ unit }}是独立核算单位{% if nature %}，单位性质为{{ nature }}{% endif %}"
        "{% if funding_type %}，经费性质为{{ funding_type }}{% endif %}。"
        "{% if departments %}内设机构{{ departments_count }}个：{{ departments | join('、') }}。{% endif %}"
    )
    b.h2("（{{ '三' if has.duties else '二' }}）人员情况")
    b.tag("{%p if sentences.staff %}")
    b.p("{{ sentences.staff }}")
    b.tag("{%p else %}")
    b.p(BLANK)
    b.tag("{%p endif %}")
    b.h2("（{{ '四' if has.duties else '三' }}）资产情况")
    b.tag("{%p if sentences.assets %}")
    b.p("{{ sentences.assets }}")
    b.tag("{%p else %}")
    b.p(BLANK)
    b.tag("{%p endif %}")

    # 二、部门收支预算情况
    b.h1("二、部门收支预算情况")
    b.h2("（一）预算情况")
    b.tag("{%p if sentences.budget_income or sentences.budget_expense %}")
    b.tag("{%p if sentences.budget_income %}")
    b.p("{{ sentences.budget_income }}")
    b.tag("{%p endif %}")
    b.tag("{%p if sentences.budget_expense %}")
    b.p("{{ sentences.budget_expense }}")
    b.tag("{%p endif %}")
    b.tag("{%p else %}")
    b.p(BLANK)
    b.tag("{%p endif %}")
    b.h2("（二）决算情况")
    b.tag("{%p if sentences.final_income or sentences.final_expense %}")
    b.tag("{%p if sentences.final_income %}")
    b.p("{{ sentences.final_income }}")
    b.tag("{%p endif %}")
    b.tag("{%p if sentences.final_expense %}")
    b.p("{{ sentences.final_expense }}")
    b.tag("{%p endif %}")
    b.tag("{%p else %}")
    b.p(BLANK)
    b.tag("{%p endif %}")
    b.h2("（三）结转结余情况")
    b.tag("{%p if sentences.carryover %}")
    b.p("{{ sentences.carryover }}")
    b.tag("{%p else %}")
    b.p(BLANK)
    b.tag("{%p endif %}")
    b.p("表1  收支预算与决算情况", "表题")
    b.p("单位：万元", "表注")
    b.table(
        [("项目", 8.2, "l"), ("预算数", 3.7, "r"), ("决算数", 3.7, "r")],
        [
            ("tag", ["{%tr for r in money_rows %}"]),
            ("data", ["{{ r.label }}", "{{ r.budget }}", "{{ r.final }}"]),
            ("tag", ["{%tr endfor %}"]),
        ],
    )
    b.h2("（四）预算执行主要指标")
    b.p("表2  预算执行主要指标", "表题")
    b.table(
        [
            ("指标", 4.1, "l"),
            ("计算公式", 9.1, "l"),
            ("计算结果", 2.4, "r"),
        ],  # 指标 fits "支出进度达标季度数"
        [
            ("tag", ["{%tr for m in metrics %}"]),
            ("data", ["{{ m.label }}", "{{ m.formula }}", "{{ m.value }}"]),
            ("tag", ["{%tr endfor %}"]),
        ],
    )
    b.tag("{%p if quarters %}")
    b.p("表3  分季度支出进度", "表题")
    b.table(
        [
            ("季度", 3.0, "c"),
            ("累计支出（万元）", 3.6, "r"),
            ("支出进度", 3.0, "r"),
            ("序时进度", 3.0, "r"),
            ("是否达到", 3.0, "c"),
        ],
        [
            ("tag", ["{%tr for q in quarters %}"]),
            (
                "data",
                [
                    "{{ q.quarter }}",
                    "{{ q.cumulative }}",
                    "{{ q.progress }}",
                    "{{ q.schedule }}",
                    "{{ q.met }}",
                ],
            ),
            ("tag", ["{%tr endfor %}"]),
        ],
    )
    b.tag("{%p endif %}")

    # 三、绩效目标
    b.h1("三、部门整体支出绩效目标、指标")
    b.narrative("text.overall_goal")
    b.tag("{%p if goals %}")
    b.p("表{{ 4 if quarters else 3 }}  绩效目标及指标完成情况", "表题")
    b.table(
        [
            ("绩效目标", 2.8, "l"),  # text columns wrap; the figures' columns fit "≥4.612万亩", "233.33%"
            ("指标", 3.0, "l"),
            ("目标值", 2.9, "r"),
            ("完成值", 2.5, "r"),
            ("完成率", 2.1, "r"),
            ("偏差原因", 2.3, "l"),
        ],
        [
            ("tag", ["{%tr for g in goals %}"]),
            (
                "data",
                [
                    "{{ g.goal }}",
                    "{{ g.indicator }}",
                    "{{ g.direction }}{{ g.target }}",
                    "{{ g.actual }}",
                    "{{ g.completion }}",
                    "{{ g.reason }}",
                ],
            ),
            ("tag", ["{%tr endfor %}"]),
        ],
    )
    b.tag("{%p elif not has.overall_goal %}")
    b.p(BLANK)
    b.tag("{%p endif %}")

    # 四、当年预算执行及绩效管理中存在问题、原因及改进措施
    b.h1("四、当年预算执行及绩效管理中存在问题、原因及改进措施")
    b.tag("{%p if has.budget_issues %}")
    b.narrative("text.budget_issues")
    b.tag("{%p else %}")
    b.p(BLANK)
    b.tag("{%p endif %}")

    # 五、自评工作开展情况
    b.h1("五、自评工作开展情况")
    b.tag("{%p if has.evaluation_org %}")
    b.h2("（一）自评的组织工作")
    b.narrative("text.evaluation_org")
    b.tag("{%p endif %}")
    b.tag("{%p if has.evaluation_method or has.evaluation_process %}")
    b.h2("（{{ '二' if has.evaluation_org else '一' }}）自评的方法及过程")
    b.tag("{%p if has.evaluation_method %}")
    b.h3("1.评价方法")
    b.narrative("text.evaluation_method")
    b.tag("{%p endif %}")
    b.tag("{%p if has.evaluation_process %}")
    b.h3("{{ '2' if has.evaluation_method else '1' }}.评价过程")
    b.narrative("text.evaluation_process")
    b.tag("{%p endif %}")
    b.tag("{%p elif not has.evaluation_org %}")
    b.p(BLANK)
    b.tag("{%p endif %}")

    # 六、指标分析
    b.h1("六、部门整体支出绩效目标实现情况及指标分析")
    b.tag("{%p if has.goal_achievement %}")
    b.h2("（一）总体绩效目标实现情况")
    b.narrative("text.goal_achievement")
    b.tag("{%p endif %}")
    b.h2("（{{ '二' if has.goal_achievement else '一' }}）分项绩效目标实现情况及指标分析")
    b.tag("{%p for s in analysis %}")
    b.h3("{{ s.ordinal }}{{ s.title }}（分值{{ s.maximum }}分，得分{{ s.score }}分）")
    b.tag("{%p if s.chart %}")
    b.p("{{ s.chart }}", "图片")
    b.p("图{{ s.figure }}  {{ s.title }}各项得分{{ s.caption_note }}", "图题")
    b.tag("{%p endif %}")
    b.tag("{%p for g in s.groups %}")
    b.tag("{%p if g.name %}")
    b.p("{{ g.ordinal }}{{ g.name }}（分值{{ g.maximum }}分，得分{{ g.score }}分）", "报告小标题")
    b.tag("{%p endif %}")
    b.tag("{%p for it in g.entries %}")
    b.runs([("{{ it.ordinal }}{{ it.name }}", "指标名称"), ("（分值{{ it.maximum }}分）", None)])
    b.tag("{%p for line in it.prose %}")
    b.p("{{ line }}")
    b.tag("{%p endfor %}")
    b.tag("{%p endfor %}")
    b.tag("{%p endfor %}")
    b.tag("{%p endfor %}")

    # 七、评价结论
    b.h1("七、评价结论和评价等级")
    b.p(
        "经自评，{{ unit }}{{ year }}年度部门整体支出绩效自评得分为{{ total }}分，"
        "评价等级为“{{ grade }}”。各一级指标得分见图{{ overview.figure }}，逐项得分见附件。"
    )
    b.tag("{%p if year_over_year %}")
    b.p("{{ year_over_year|join('') }}")  # 与上年对比
    b.tag("{%p endif %}")
    b.tag("{%p if overview.chart %}")
    b.p("{{ overview.chart }}", "图片")
    b.p("图{{ overview.figure }}  一级指标得分{{ overview.caption_note }}", "图题")
    b.tag("{%p endif %}")

    # 八、问题与措施
    b.h1("八、存在的问题及改进措施")
    b.tag("{%p if has.problems %}")
    b.h2("（一）存在的问题")
    b.narrative("text.problems")
    b.tag("{%p endif %}")
    b.tag("{%p if has.measures %}")
    b.h2("（{{ '二' if has.problems else '一' }}）改进措施")
    b.narrative("text.measures")
    b.tag("{%p elif not has.problems %}")
    b.p(BLANK)
    b.tag("{%p endif %}")

    # 九、名单
    b.h1("九、评价工作组人员名单及签字")
    b.tag("{%p if team %}")
    b.table(
        [
            ("序号", 1.2, "c"),
            ("姓名", 2.2, "c"),
            ("工作单位", 4.0, "c"),
            ("职务", 3.0, "c"),
            ("组内分工", 2.2, "c"),
            ("签字", 3.0, "c"),
        ],
        [
            ("tag", ["{%tr for t in team %}"]),
            (
                "data",
                ["{{ loop.index }}", "{{ t.name }}", "{{ t.employer }}", "{{ t.title }}", "{{ t.role }}", ""],
            ),
            ("tag", ["{%tr endfor %}"]),
        ],
        row_height_cm=SIGNING_ROW_CM,
    )
    b.tag("{%p else %}")
    b.p(BLANK)
    b.tag("{%p endif %}")

    # 附件：自评表（横向）
    _landscape_section(b.doc)
    b.p("附件", "附件标记")
    b.p("{{ unit }}{{ year }}年度部门整体支出绩效自评表", "Title")
    b.table(
        [
            ("一级指标", 1.9, "c"),
            ("二级指标", 3.9, "c"),  # fits a nine-character name such as "绩效目标指标管理"
            ("三级指标", 5.7, "l"),
            ("分值", 1.3, "c"),
            ("得分", 1.3, "c"),
            ("扣分原因", WIDE_WIDTH_CM - 14.1, "l"),
        ],
        [
            ("tag", ["{%tr for r in score_rows %}"]),
            (
                "data",
                [
                    "{{ r.level1 }}{#vmerge r.span1 #}",  # merged down over r.span1 rows (纵向合并)
                    "{{ r.level2 }}{#vmerge r.span2 #}",
                    "{{ r.level3 }}",
                    "{{ r.maximum }}",
                    "{{ r.score }}",
                    "{{ r.deduction }}",
                ],
            ),
            ("tag", ["{%tr endfor %}"]),
            ("total", ["合计", "", "", "{{ score_total.maximum }}", "{{ total }}", "评价等级：{{ grade }}"]),
        ],
        caption=SCORE_TABLE_CAPTION,
    )
    b.p("", "Normal")  # the body ends with a paragraph, never with a table


def _review_content(b: _Builder) -> None:
    b.p(
        "{#p 【模板说明】本文件是 xlperf 的复核意见模板（财政部门对单位自评的复核意见），可在 Word 中修改文字和样式。"
        "双花括号和花括号百分号之间是数据占位符，请勿拆开或删除；以 p、tr 标记开头的段落和表格行在生成时自动删除。 #}",
        "模板说明",
    )
    b.p("{{ unit }}", "Title")
    b.p("{{ year }}年度部门整体支出绩效自评复核意见", "Title")
    b.p("", "Normal")
    b.p("{{ unit }}：", "Normal")
    b.p(
        "你单位报送的{{ year }}年度部门整体支出绩效自评材料已收悉。我们按评分办法，对自评工作簿中的填报数据逐项进行了复核，"
        "意见如下。"
    )
    b.h1("一、复核结论")
    b.p("{{ conclusion }}")
    b.tag("{%p if differing %}")
    b.h1("二、自评得分与数据不符的指标")
    b.table(
        [
            ("指标", 4.2, "l"),
            ("分值", 1.3, "c"),
            ("自评得分", 1.6, "c"),
            ("数据支持得分", 1.9, "c"),
            ("依据", 6.6, "l"),
        ],
        [
            ("tag", ["{%tr for d in differing %}"]),
            (
                "data",
                [
                    "{{ d.code }} {{ d.name }}",
                    "{{ d.maximum }}",
                    "{{ d.self_score }}",
                    "{{ d.score }}",
                    "{{ d.reason }}",
                ],
            ),
            ("tag", ["{%tr endfor %}"]),
        ],
    )
    b.tag("{%p endif %}")
    columns = [("序号", 1.1, "c"), ("问题及数据", 6.6, "l"), ("位置", 4.3, "l"), ("整改要求", 3.6, "l")]
    for key, title, none in (
        ("errors", "须更正的问题", "未发现须更正的问题。"),
        ("warnings", "须核实或说明的事项", "未发现须核实或说明的事项。"),
    ):
        number = (
            "{{ '三' if differing else '二' }}" if key == "errors" else "{{ '四' if differing else '三' }}"
        )
        b.h1(f"{number}、{title}")
        b.tag(f"{{%p if {key} %}}")
        b.table(
            columns,
            [
                ("tag", [f"{{%tr for f in {key} %}}"]),
                (
                    "data",
                    [
                        "{{ f.no }}",
                        "{{ f.message }}{% if f.figures %}（数据：{{ f.figures }}）{% endif %}",
                        "{% for p in f.places %}{% if p.sheet %}「{{ p.sheet }}」{% endif %}{{ p.label }}"
                        "{% if p.cell %}（{{ p.cell }}）{% endif %}{% if not loop.last %}；{% endif %}{% endfor %}",
                        "{{ f.request }}",
                    ],
                ),
                ("tag", ["{%tr endfor %}"]),
            ],
        )
        b.tag("{%p else %}")
        b.p(none)
        b.tag("{%p endif %}")
    b.h1("{{ '五' if differing else '四' }}、整改要求")
    b.p(
        "请对照上述问题逐项更正自评工作簿中的数据或自评得分；无法更正的，书面说明原因并附佐证材料。更正后重新生成自评报告"
        "{% if not passed %}（更正前生成的报告标有“征求意见稿”）{% endif %}，连同工作簿一并报送。"
    )
    b.p(
        "位置一栏列出工作表、数据项名称，括号内为单元格地址。", "表注"
    ).paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    b.p("", "Normal")


# The Word templates this module builds (模板): file name → (content, header, title, subject).
TEMPLATES = {
    "report.docx": (_content, "{% if draft %}征求意见稿{% endif %}", "部门整体支出绩效自评报告"),
    "review.docx": (_review_content, "", "部门整体支出绩效自评复核意见"),
}


def build_document(name: str = "report.docx") -> DocumentObject:
    """Build the Word template ``name`` (模板文档: report.docx or review.docx) as a python-docx document."""
    content, header, kind = TEMPLATES[name]
    doc = Document()
    _drop_parts(doc)
    _styles(doc)
    _font_table(doc)
    _settings(doc)
    body = doc.element.body
    for child in list(body):
        if child.tag != qn("w:sectPr"):
            body.remove(child)
    _section(doc, header)
    content(_Builder(doc))
    props = doc.core_properties
    props.title = "{{ title }}"  # rendered: the output names this unit's document, not the template
    props.subject = f"{{{{ unit }}}}{{{{ year }}}}年度{kind}"
    props.author = "xlperf"
    props.last_modified_by = "xlperf"
    # the text names the builder's old module on purpose: the committed templates stay byte-identical
    props.comments = f"{kind}模板，由 tools.template_builder 生成（python -m tools.template_builder）；可在 Word 中修改样式和文字。"
    props.keywords = "绩效自评"
    props.category = ""
    props.revision = 1
    props.created = FIXED_TIME.replace(tzinfo=None)
    props.modified = FIXED_TIME.replace(tzinfo=None)
    return doc


def template_bytes(name: str = "report.docx") -> bytes:
    """The Word template ``name`` as bytes, with fixed zip timestamps so rebuilding gives the same file."""
    raw = io.BytesIO()
    build_document(name).save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in sorted(src.infolist(), key=lambda i: (i.filename != "[Content_Types].xml", i.filename)):
            fixed = zipfile.ZipInfo(info.filename, date_time=(2025, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def build_templates(folder: Path) -> list[Path]:
    """Write every Word template (生成 Word 模板) into ``folder`` atomically; returns their paths."""

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TEMPLATES:
        atomic_write_bytes(folder / name, template_bytes(name))
        paths.append(folder / name)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tools.template_builder [FOLDER]`` (默认 templates/): report.docx and review.docx."""
    args = list(sys.argv[1:] if argv is None else argv)
    for path in build_templates(Path(args[0]) if args else Path("templates")):
        print(f"已生成模板：{path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
