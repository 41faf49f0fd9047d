"""The Word report (Word 报告): the docxtpl template rendered with the context, charts as PNG.

Values are data, never template: docxtpl renders Jinja only in the template's own text, and with
autoescape every ``<``, ``&`` a unit typed is XML-escaped, so ``{{ 7*7 }}`` in a cell prints as is.
After rendering, the 一级/二级 cells of the 自评表 (the table whose 可选文字标题 is ``自评表``) that
repeat the row above are merged vertically.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import jinja2
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage

from ..core.evaluate import Evaluation
from ..io.atomic import atomic_output
from .charts import chart_png, overview_bars, section_bars
from .render import TEMPLATE_FILES, ReportError, template_error, template_file
from .template_builder import SCORE_TABLE_CAPTION, TEXT_WIDTH_CM

MERGED_COLUMNS = 2  # 一级指标, 二级指标


def _load(user_dir: Path | None) -> tuple[DocxTemplate, str]:
    source, shown = template_file(TEMPLATE_FILES["docx"], user_dir)
    try:
        tpl = DocxTemplate(io.BytesIO(source.read_bytes()))
        tpl.init_docx()  # opens the package now, so a damaged file is reported as such
        return tpl, shown
    except (OSError, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ReportError(
            f"报告模板「{Path(shown).name}」无法打开，不是有效的 Word 文档（.docx）：{exc}",
            path=shown if Path(shown).is_absolute() else None,
        ) from None


class _CompilingOnce(jinja2.Environment):
    """A Jinja environment that compiles each distinct template text once per process (模板编译缓存).

    docxtpl hands the document XML to ``from_string`` on every render; the XML of a given template
    is the same each time, so its compiled form is reused (a batch renders hundreds of reports).
    """

    def from_string(  # type: ignore[override]
        self,
        source: str | jinja2.nodes.Template,
        globals: dict | None = None,
        template_class: type | None = None,
    ) -> jinja2.Template:
        if globals or template_class or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        compiled = _COMPILED.get(source)
        if compiled is None:
            compiled = _COMPILED[source] = super().from_string(source)
            if len(_COMPILED) > 64:
                _COMPILED.pop(next(iter(_COMPILED)))
        return compiled


_COMPILED: dict[str, jinja2.Template] = {}
_ENVIRONMENT = _CompilingOnce(autoescape=True, undefined=jinja2.StrictUndefined)


def _environment() -> jinja2.Environment:
    return _ENVIRONMENT


def _image(tpl: DocxTemplate, png: bytes, width_mm: float) -> InlineImage:
    return InlineImage(tpl, io.BytesIO(png), width=Mm(width_mm))


def _set_vmerge(tc: object, value: str) -> None:
    tc_pr = tc.get_or_add_tcPr()  # type: ignore[attr-defined]
    for old in tc_pr.findall(qn("w:vMerge")):
        tc_pr.remove(old)
    merge = OxmlElement("w:vMerge")
    merge.set(qn("w:val"), value)
    # schema order: tcW, gridSpan, hMerge, vMerge, tcBorders, shd, noWrap, tcMar, textDirection, …, vAlign
    successors = {qn(f"w:{t}") for t in ("tcBorders", "shd", "noWrap", "tcMar", "textDirection", "tcFitText",
                                          "vAlign", "hideMark")}  # fmt: skip
    anchor = next((child for child in tc_pr if child.tag in successors), None)
    if anchor is not None:
        anchor.addprevious(merge)
    else:
        tc_pr.append(merge)


def _clear_text(tc: object) -> None:
    for paragraph in tc.findall(qn("w:p")):  # type: ignore[attr-defined]
        for run in paragraph.findall(qn("w:r")):
            paragraph.remove(run)


def merge_score_table(document: object) -> int:
    """Merge repeated 一级/二级 cells of the 自评表 vertically (纵向合并); returns merged cell count."""
    merged = 0
    for table in document.tables:  # type: ignore[attr-defined]
        caption = table._tbl.tblPr.find(qn("w:tblCaption"))
        if caption is None or caption.get(qn("w:val")) != SCORE_TABLE_CAPTION:
            continue
        body = [
            row for row in table.rows if row._tr.trPr is None or row._tr.trPr.find(qn("w:tblHeader")) is None
        ]
        keys = [[cell.text.strip() for cell in row.cells[:MERGED_COLUMNS]] for row in body]
        for column in range(MERGED_COLUMNS):
            start = 0
            while start < len(body):
                end = start + 1
                while (
                    end < len(body)
                    and keys[start][column]
                    and keys[end][: column + 1] == keys[start][: column + 1]
                ):
                    end += 1
                if end - start > 1:
                    _set_vmerge(body[start].cells[column]._tc, "restart")
                    for row in body[start + 1 : end]:
                        tc = row.cells[column]._tc
                        _set_vmerge(tc, "continue")
                        _clear_text(tc)
                        merged += 1
                start = end
    return merged


def render_docx(
    ev: Evaluation,
    ctx: dict[str, object],
    path: Path,
    user_dir: Path | None = None,
    *,
    font_path: str | None = None,
) -> Path:
    """Render the Word report (Word 报告) to ``path`` atomically; charts are drawn as PNG."""
    tpl, shown = _load(user_dir)
    context = dict(ctx)
    width = min(TEXT_WIDTH_CM * 10, 150.0)
    sections = []
    for section in ctx["analysis"]:  # type: ignore[attr-defined]
        bars = section_bars(ev, section["code"])
        chart = _image(tpl, chart_png(bars, font_path=font_path), width) if bars else None
        sections.append({**section, "chart": chart})
    context["analysis"] = sections
    bars = overview_bars(ev)
    context["overview"] = {
        **ctx["overview"],  # type: ignore[dict-item]
        "chart": _image(tpl, chart_png(bars, font_path=font_path), width) if bars else None,
    }
    try:
        tpl.render(context, _environment(), autoescape=True)
    except Exception as exc:
        lines = None
        try:
            xml = tpl.patch_xml(tpl.get_xml())
            lines = re.sub(r"<w:p([ >])", r"\n<w:p\1", xml).splitlines()
        except Exception:
            lines = None
        raise template_error(exc, shown, lines) from None
    merge_score_table(tpl.docx)
    with atomic_output(path) as tmp:
        tpl.save(tmp)
    return path
