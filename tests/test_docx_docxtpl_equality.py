"""The Word renderer equals ``DocxTemplate.render`` (与 docxtpl 渲染结果一致).

``report/docx_report.py`` prepares and renders templates with docxtpl's own functions (``patch_xml``,
``fix_tables``, ``resolve_listing``) but without python-docx's object model.  docxtpl is pinned in
pyproject to the versions this was tested with; this test renders the bundled Word templates — and a
copy LibreOffice re-saved, whose XML is written differently — both ways and compares what a reader
sees: every paragraph's text, every table cell, headers and footers.  The 自评表's merged 一级/二级
cells read as the cell they continue (python-docx), so they compare equal to docxtpl's repeated text.

LibreOffice (``soffice``) is needed: CI installs it; without it the test fails, never skips.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import jinja2
import pytest
from docxtpl import DocxTemplate

from xlperf.core.evaluate import evaluate
from xlperf.examples import example_data
from xlperf.report import presentation_context
from xlperf.report.docx_report import compile_template, render_package
from xlperf.report.render import review_context

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def _contexts() -> dict[str, dict[str, object]]:
    """The 高邑镇 example's report context (charts left out: docxtpl has no ChartImage) and its 复核意见."""
    ev = evaluate(example_data())
    report = presentation_context(ev)
    report["analysis"] = [{**section, "chart": None} for section in report["analysis"]]  # type: ignore[attr-defined]
    report["overview"] = {**report["overview"], "chart": None}  # type: ignore[dict-item]
    return {"report.docx": report, "review.docx": dict(review_context(ev))}


def _seen(data: bytes) -> dict[str, object]:
    """What a reader sees in a .docx: body paragraphs, table cells, header and footer text."""
    document = docx.Document(io.BytesIO(data))
    headers = [
        [p.text for p in part.paragraphs]
        for section in document.sections
        for part in (section.header, section.footer, section.first_page_header, section.first_page_footer)
        if not part.is_linked_to_previous
    ]
    return {
        "paragraphs": [p.text for p in document.paragraphs],
        "tables": [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables],
        "headers": headers,
        "title": document.core_properties.title,
    }


def _docxtpl(template: bytes, context: dict[str, object]) -> bytes:
    tpl = DocxTemplate(io.BytesIO(template))
    tpl.render(
        context, jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined), autoescape=True
    )
    out = io.BytesIO()
    tpl.save(out)
    return out.getvalue()


def _assert_same(template: bytes, context: dict[str, object], shown: str) -> dict[str, object]:
    ours = _seen(render_package(compile_template(template, shown), dict(context), shown))
    theirs = _seen(_docxtpl(template, context))
    assert ours["paragraphs"] == theirs["paragraphs"]
    assert ours["tables"] == theirs["tables"]
    assert ours["headers"] == theirs["headers"]
    assert ours["title"] == theirs["title"]
    # the comparison saw the document, not two empty ones
    assert len(ours["paragraphs"]) > 10  # type: ignore[arg-type]
    assert any("高邑镇" in text for text in ours["paragraphs"])  # type: ignore[union-attr]
    return ours


@pytest.mark.parametrize("name", ["report.docx", "review.docx"])
def test_bundled_template_renders_as_docxtpl(name: str) -> None:
    seen = _assert_same((TEMPLATES / name).read_bytes(), _contexts()[name], name)
    if name == "report.docx":  # the 自评表 and the money tables, merged cells included
        assert len(seen["tables"]) >= 3  # type: ignore[arg-type]


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.fail(
            "LibreOffice (soffice) is not installed; .ci/run installs it (apt-get install libreoffice-writer-nogui)"
        )
    return found


def test_libreoffice_resaved_template_renders_as_docxtpl(tmp_path: Path) -> None:
    source = tmp_path / "in" / "report.docx"
    source.parent.mkdir()
    shutil.copy(TEMPLATES / "report.docx", source)
    out = tmp_path / "out"
    profile = tmp_path / "profile"  # an own profile: no clash with another soffice on the machine
    subprocess.run(
        [_soffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "docx",
         "--outdir", str(out), str(source)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    resaved = (out / "report.docx").read_bytes()
    assert resaved != source.read_bytes()  # LibreOffice wrote it anew
    seen = _assert_same(resaved, _contexts()["report.docx"], "report.docx")
    assert len(seen["tables"]) >= 3  # type: ignore[arg-type]
    # the 自评表's merge marks ({#vmerge #}) survive the re-save: it is merged as the bundled one is
    assert compile_template(resaved, "report.docx").merges_itself
    bundled = _merges((TEMPLATES / "report.docx").read_bytes())
    assert _merges(resaved) == bundled and bundled.count("restart") >= 4 + 8


def _merges(template: bytes) -> list[str]:
    """The vertical merge marks (w:vMerge) of the report rendered from ``template``, in order."""
    package = render_package(compile_template(template, "report.docx"), _contexts()["report.docx"], "t")
    with zipfile.ZipFile(io.BytesIO(package)) as zf:
        return re.findall(r'<w:vMerge w:val="(\w+)"/>', zf.read("word/document.xml").decode("utf-8"))
