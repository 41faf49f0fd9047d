"""The Word report (Word 报告): the docxtpl-syntax template rendered with the context, charts as PNG.

The template is a .docx with docxtpl/Jinja tags.  Each template is prepared once per process
(:class:`CompiledTemplate`, keyed by its bytes): docxtpl's own ``patch_xml`` turns the Word XML of
the body, headers, footers and footnotes into Jinja source, which is compiled once, and the parts no
render changes are deflated once.  A render then only runs the compiled templates, finishes the body
and writes the package with the template's other parts copied as they are — no python-docx object
model on the way, which is what made rendering slow for a batch of hundreds of units.

Values are data, never template: with autoescape every ``<``, ``&`` a unit typed is XML-escaped, so
``{{ 7*7 }}`` in a cell prints as is; characters XML cannot hold are dropped from the rendered text.
The 一级/二级 cells of the 自评表 are merged vertically: the bundled template's cells marked
``{#vmerge r.span1 #}`` write their own ``w:vMerge`` from the rows' spans (:func:`_write_merge`, once
per template); in a template without the marks, the cells of the 自评表 (the table whose 可选文字标题
is ``自评表``) that repeat the row above are merged after rendering.

Finishing the body parses only the 自评表 (nothing when it merges itself) and the charts are
numbered as they are placed; a template that changes table columns or holds pictures of its own has
its whole body edited as a parsed tree (grid fixes, drawing ids renumbered, the merge), as docxtpl
does.  Parts, relationships and content types go through :mod:`xlperf.io.opc`, every parse through
:mod:`xlperf.io.safexml`.  docxtpl is pinned to the versions ``tests/test_docx_docxtpl_equality.py``
compares this renderer with.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import posixpath
import re
import struct
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.ext
from docxtpl import DocxTemplate
from jinja2.lexer import Token, TokenStream
from lxml import etree
from markupsafe import Markup

from ..core.evaluate import Evaluation
from ..errors import XlperfError
from ..io import opc
from ..io.atomic import atomic_output
from ..io.deflate import Packed, pack, pack_repeated
from ..io.safety import MAX_FILE_BYTES, check_package
from ..io.safexml import parse_xml
from ..io.zipcopy import zip_package
from .charts import chart_png, overview_bars, section_bars
from .templates import (
    REVIEW_FILES,
    TEMPLATE_FILES,
    ReportEnvironment,
    ReportError,
    rendered_text,
    template_error,
    template_file,
)
from .word_layout import SCORE_TABLE_CAPTION, TEXT_WIDTH_CM

MERGED_COLUMNS = 2  # 一级指标, 二级指标

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
CORE_PROPERTIES = "http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"
IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
RENDERED_RELS = {  # the parts docxtpl renders besides the body: headers, footers, footnotes
    f"http://schemas.openxmlformats.org/officeDocument/2006/relationships/{kind}"
    for kind in ("header", "footer", "footnotes")
}
EMU_PER_MM = 36000
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # same input, same bytes
_W = f"{{{W}}}"

# docxtpl's template preparation (patch_xml, resolve_listing, fix_tables) use no template state.
_DOCXTPL = DocxTemplate(io.BytesIO())
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_COLUMN_TAGS = re.compile(r"\{[%{]-?\s*(?:tc\s|colspan\b|hm\b)")
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", re.DOTALL)
_LISTED = "\t\a\n\f"
_LISTING = re.compile(f"[{_LISTED}]")
_RENDERED = re.compile(r"\{[{%#_]|_\}|docPr|[\t\a\n\f]")  # what a render changes in a part
SCORE_TABLE_HEADERS = ("一级指标", "二级指标")  # the first cells of the 自评表, if its caption was lost
_MERGE_MARK = re.compile(r"\{#\s*vmerge\s+(.+?)\s*#\}")  # {#vmerge r.span1 #}: the cell's rowspan


@dataclass(frozen=True)
class _Part:
    """One XML part of the template rendered through Jinja (模板部件)."""

    name: str
    template: jinja2.Template
    lines: tuple[str, ...]  # the Jinja source split at paragraphs, for error messages
    properties: bool = False  # docProps/core.xml: text only, no pictures
    own_drawings: bool = False  # the template's own pictures (wp:docPr): renumbered in the parsed part
    rel_ids: frozenset[str] = frozenset()  # the part's relationship ids in the template


@dataclass(frozen=True)
class CompiledTemplate:
    """A Word template prepared for rendering (已编译的 Word 模板): its parts and the compiled ones."""

    entries: tuple[tuple[str, bytes], ...]
    document: str
    parts: tuple[_Part, ...]
    fix_tables: bool  # the template changes table columns ({%tc %}, colspan, hm): fix the grids
    whole_tree: bool  # the body is finished as a parsed tree, not only its 自评表 (see _finish_document)
    merges_itself: bool  # the body's cells write their own vertical merges (``{#vmerge #}``): no merge pass
    packed: Mapping[str, Packed]  # the entries every render copies unchanged, compressed once


class _ParagraphLines(jinja2.ext.Extension):
    """Drops from the compiled text the line break :func:`_prepare` puts before each paragraph
    (so that a template error names its paragraph's line): once per template, not on every
    render.  Line numbers are counted before this, so they stay those of the prepared source."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        """The template's tokens, its text without the break before each ``<w:p``."""
        for token in stream:
            if token.type == "data" and "\n<w:p" in token.value:
                token = token._replace(value=token.value.replace("\n<w:p", "<w:p"))
            yield token


# The Word templates' Jinja environment: autoescape on, undefined names are errors.
_ENVIRONMENT = ReportEnvironment(
    autoescape=True, undefined=jinja2.StrictUndefined, extensions=[_ParagraphLines]
)
_COMPILED: dict[bytes, CompiledTemplate] = {}


def _relationships(entries: dict[str, bytes], part: str) -> list[opc.Relationship]:
    return list(opc.relationships(entries.get(opc.rels_part(part)), part).values())


def _prepare(data: bytes, name: str) -> str:
    """docxtpl's preparation of a Word XML part as Jinja source, one paragraph per line (line 1: the rest).

    The part is parsed and written out again first, as python-docx did for docxtpl: other programs
    (LibreOffice, WPS) write ``'`` as ``&apos;`` or ``“`` as ``&#x201C;``, which Jinja would not read
    inside a tag; blank text between elements is dropped as python-docx's parser does.
    """
    root = parse_xml(data, part=name)
    for element in root.iter():
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    for tc, span in _merge_marked_cells(root):
        _write_merge(tc, span)
    xml = _DECLARATION + etree.tostring(root, encoding="unicode")
    return re.sub(r"<w:p([ >])", r"\n<w:p\1", _DOCXTPL.patch_xml(xml))


def _merge_marked_cells(root: etree._Element) -> Iterator[tuple[etree._Element, str]]:
    """The table cells marked ``{#vmerge ROWSPAN #}`` and their rowspan expression: the cell spans
    ROWSPAN rows, 0 when the cell above covers it (as ``score_rows``' ``span1``/``span2``)."""
    for tc in root.iter(f"{_W}tc"):
        mark = _MERGE_MARK.search(_cell_text(tc))
        if mark is not None:
            yield tc, mark[1]


def _write_merge(tc: etree._Element, span: str) -> None:
    """Make a marked cell write its own merge mark (纵向合并) as :func:`merge_score_table` would set it:
    ``w:vMerge`` restart for a span over 1, continue for 0 with the cell's runs left out."""
    merge = _set_vmerge(tc, f"{{{{ 'restart' if {span} else 'continue' }}}}")
    _around(merge, f"{{% if {span} != 1 %}}", "{% endif %}")
    for paragraph in tc.iterchildren(f"{_W}p"):
        for run in paragraph.iterchildren(f"{_W}r"):
            _around(run, f"{{% if {span} %}}", "{% endif %}")


def _around(element: etree._Element, before: str, after: str) -> None:
    """Put the Jinja text ``before`` and ``after`` around ``element`` in the XML it serialises to."""
    previous, parent = element.getprevious(), element.getparent()
    if previous is not None:
        previous.tail = (previous.tail or "") + before
    elif parent is not None:
        parent.text = (parent.text or "") + before
    element.tail = after + (element.tail or "")


def compile_template(data: bytes, shown: str) -> CompiledTemplate:
    """Open and compile the Word template ``data`` (编译模板); cached per process by its bytes."""
    key = hashlib.sha1(data).digest()
    cached = _COMPILED.get(key)
    if cached is not None:
        return cached
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            check_package(zf)  # a zip bomb or a part over its limit, before any part is read
            entries = {info.filename: zf.read(info) for info in zf.infolist() if not info.is_dir()}
        document = opc.main_part(opc.relationships(entries.get(opc.rels_part("")), "")) or "word/document.xml"
        if document not in entries:
            raise KeyError(f"缺少 {document}")
        names = [document] + [r.target for r in _relationships(entries, document) if r.type in RENDERED_RELS]
        # document properties (标题、主题…) holding template tags are rendered too, as docxtpl does
        core = [
            name
            for r in _relationships(entries, "")
            if r.type == CORE_PROPERTIES
            and (name := r.target) in entries
            and re.search(rb"\{[{%]", entries[name])
        ]
        prepared = {
            name: _prepare(entries[name], name) for name in dict.fromkeys(names + core) if name in entries
        }
        # a header or footer without tags, pictures or breaks to resolve renders as itself: copied as it is
        sources = {
            name: source
            for name, source in prepared.items()
            if name == document or _RENDERED.search(source.replace("\n<w:p", "<w:p"))
        }
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, XlperfError) as exc:
        detail = exc.message if isinstance(exc, XlperfError) else exc
        raise ReportError(
            f"报告模板「{Path(shown).name}」无法打开，不是有效的 Word 文档（.docx）：{detail}",
            path=shown if Path(shown).is_absolute() else None,
        ) from None
    parts = []
    for name, source in sources.items():
        lines = tuple(source.splitlines())
        try:
            template = _ENVIRONMENT.from_string(source)
        except jinja2.TemplateError as exc:
            raise template_error(exc, shown, lines, None if name == document else name) from None
        rel_ids = frozenset(r.id for r in _relationships(entries, name))
        parts.append(_Part(name, template, lines, name in core, "docPr" in source, rel_ids))
    body = parse_xml(entries[document])
    fix = bool(_COLUMN_TAGS.search("".join(body.itertext())))
    # only the 自评表 is parsed after rendering when nothing else needs the tree: charts are numbered
    # as they are placed, and the tables are found in the text under a root written ``<w:document``
    own_drawings = next(part.own_drawings for part in parts if part.name == document)
    whole_tree = fix or own_drawings or body.tag != f"{_W}document" or body.prefix != "w"
    merges_itself = next(_merge_marked_cells(body), None) is not None
    packed = {name: pack(name, data) for name, data in entries.items() if name not in sources}
    compiled = CompiledTemplate(
        tuple(entries.items()), document, tuple(parts), fix, whole_tree, merges_itself, packed
    )
    _COMPILED[key] = compiled
    if len(_COMPILED) > 16:
        _COMPILED.pop(next(iter(_COMPILED)))
    return compiled


class _Media:
    """The images one part gets while it renders (插图): relationship id, part name and PNG bytes."""

    def __init__(self, part: str, taken: set[str], rel_ids: set[str], ids: Iterator[int]) -> None:
        self.part, self.taken, self.rel_ids = part, taken, rel_ids
        self.ids = ids  # the drawing ids (wp:docPr) of the pictures as they are placed
        self.images: dict[int, tuple[str, str, bytes]] = {}  # by id() of the PNG: one part per image

    def add(self, png: bytes) -> str:
        """The relationship id of ``png`` in this part, adding it the first time."""
        known = self.images.get(id(png))
        if known is not None:
            return known[0]
        stem = posixpath.splitext(posixpath.basename(self.part))[0]
        number = len(self.images) + 1
        while (rid := f"rIdXlperf{number}") in self.rel_ids or (
            name := f"word/media/xlperf-{stem}-{number}.png"
        ) in self.taken:
            number += 1
        self.rel_ids.add(rid)
        self.taken.add(name)
        self.images[id(png)] = (rid, name, png)
        return rid


class ChartImage:
    """A PNG chart placed inline where the template prints it (``{{ s.chart }}``), ``width_mm`` wide."""

    def __init__(self, png: bytes, width_mm: float, description: str = "") -> None:
        self.png, self.width_mm, self.description = png, width_mm, description
        self.media: _Media | None = None

    def __html__(self) -> str:
        if self.media is None:
            raise ReportError(
                "报告模板把图片放在了文档属性（标题、主题等）中，图片只能放在正文、页眉或页脚里"
            )
        rid = self.media.add(self.png)
        pixels_w, pixels_h = struct.unpack(">II", self.png[16:24])
        cx = round(self.width_mm * EMU_PER_MM)
        cy = round(cx * pixels_h / max(pixels_w, 1))
        descr = Markup.escape(self.description)
        return (
            '</w:t></w:r><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0" '
            f'xmlns:wp="{WP}"><wp:extent cx="{cx}" cy="{cy}"/>'
            f'<wp:docPr id="{next(self.media.ids)}" name="{rid}" descr="{descr}"/>'
            '<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"/></wp:cNvGraphicFramePr>'
            '<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
            '<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
            f'<pic:nvPicPr><pic:cNvPr id="0" name="{rid}.png" descr="{descr}"/><pic:cNvPicPr/></pic:nvPicPr>'
            f'<pic:blipFill><a:blip r:embed="{rid}" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"/>'
            "<a:stretch><a:fillRect/></a:stretch></pic:blipFill>"
            f'<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic>'
            '</wp:inline></w:drawing></w:r><w:r><w:t xml:space="preserve">'
        )

    __str__ = __html__


def _cell_text(tc: etree._Element) -> str:
    return "".join(t.text or "" for t in tc.iter(f"{_W}t")).strip()


def _child(element: etree._Element | None, *path: str) -> etree._Element | None:
    """The first ``w:`` child named ``path[0]``, its first named ``path[1]``, …, or None: a path
    ``find`` without ElementPath's per-call work (the 自评表 asks it a few hundred times)."""
    for tag in path:
        if element is None:
            return None
        element = next(element.iterchildren(f"{_W}{tag}"), None)
    return element


def _grid_cells(tr: etree._Element, count: int) -> list[etree._Element]:
    """The cells covering the first ``count`` grid columns of a row (a gridSpan cell repeats)."""
    cells: list[etree._Element] = []
    for tc in tr.iterchildren(f"{_W}tc"):
        span = _child(tc, "tcPr", "gridSpan")
        cells.extend([tc] * (int(span.get(f"{_W}val", "1")) if span is not None else 1))
        if len(cells) >= count:
            break
    return cells[:count]


# schema order: tcW, gridSpan, hMerge, vMerge, tcBorders, shd, noWrap, tcMar, textDirection, …, vAlign
_AFTER_VMERGE = frozenset(
    f"{_W}{t}"
    for t in ("tcBorders", "shd", "noWrap", "tcMar", "textDirection", "tcFitText", "vAlign", "hideMark")
)


def _set_vmerge(tc: etree._Element, value: str) -> etree._Element:
    tc_pr = _child(tc, "tcPr")
    if tc_pr is None:
        tc_pr = etree.SubElement(tc, f"{_W}tcPr")  # made in the document, then moved: cheaper
        tc.insert(0, tc_pr)
    for old in list(tc_pr.iterchildren(f"{_W}vMerge")):
        tc_pr.remove(old)
    anchor = next((child for child in tc_pr if child.tag in _AFTER_VMERGE), None)
    merge = etree.SubElement(tc_pr, f"{_W}vMerge", {f"{_W}val": value})
    if anchor is not None:
        anchor.addprevious(merge)
    return merge


def is_score_table(tbl: etree._Element) -> bool:
    """The 自评表 of a report: its 可选文字标题 is ``自评表`` or, in a template re-saved by a program
    that drops table captions (LibreOffice), its first row starts with 一级指标, 二级指标."""
    caption = tbl.find(f"{_W}tblPr/{_W}tblCaption")
    if caption is not None:
        return caption.get(f"{_W}val") == SCORE_TABLE_CAPTION
    first = tbl.find(f"{_W}tr")
    return first is not None and [_cell_text(tc) for tc in _grid_cells(first, MERGED_COLUMNS)] == list(
        SCORE_TABLE_HEADERS
    )


def merge_score_table(root: etree._Element) -> int:
    """Merge repeated 一级/二级 cells of the 自评表 vertically (纵向合并); returns merged cell count."""
    merged = 0
    for tbl in root.iter(f"{_W}tbl"):
        if not is_score_table(tbl):
            continue
        body = [
            cells
            for tr in tbl.iterchildren(f"{_W}tr")
            if _child(tr, "trPr", "tblHeader") is None
            and len(cells := _grid_cells(tr, MERGED_COLUMNS)) == MERGED_COLUMNS
        ]
        keys = [[_cell_text(tc) for tc in cells] for cells in body]
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
                    _set_vmerge(body[start][column], "restart")
                    for cells in body[start + 1 : end]:
                        tc = cells[column]
                        _set_vmerge(tc, "continue")
                        for paragraph in tc.iterchildren(f"{_W}p"):
                            for run in list(paragraph.iterchildren(f"{_W}r")):
                                paragraph.remove(run)
                        merged += 1
                start = end
    return merged


def _finish_document(xml: str, compiled: CompiledTemplate, ids: Iterator[int], name: str) -> bytes:
    """The rendered body as docxtpl leaves it: table grids fixed, drawing ids renumbered, the 自评表 merged.

    Unless the template needs the whole tree (:attr:`CompiledTemplate.whole_tree`), only the tables
    that may be the 自评表 are parsed and merged; the rest of the text is kept as rendered.
    """
    if not compiled.whole_tree:
        merged = xml if compiled.merges_itself else _merge_score_tables_in_text(xml, name)
        if merged is not None:
            return merged.encode("utf-8")
    if compiled.fix_tables:
        tree = _DOCXTPL.fix_tables(xml.encode("utf-8"))
    else:
        tree = parse_xml(xml.encode("utf-8"), part=name, recover=True)
    _renumber_drawings(tree, ids)
    if not compiled.merges_itself:
        merge_score_table(tree)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", standalone=True)


_TABLE_TAG = re.compile(r"w:tbl[ >/]")  # found by its name first: much faster than from every "<"
_DOCUMENT_START = re.compile(r"<w:document\b[^>]*>")


def _merge_score_tables_in_text(xml: str, name: str) -> str | None:
    """``xml`` with its 自评表 merged (:func:`merge_score_table`), parsing only the outermost tables
    that name it; None when the tables' tags do not pair up (the whole tree is parsed instead)."""
    if SCORE_TABLE_CAPTION not in xml and SCORE_TABLE_HEADERS[0] not in xml:
        return xml
    pieces: list[str] = []
    done = depth = start = 0
    document = None
    for match in _TABLE_TAG.finditer(xml):
        at = match.start()
        closing = xml[at - 2 : at] == "</"
        if not closing and xml[at - 1] != "<":
            continue  # "w:tbl" in a value
        end = xml.index(">", at) + 1
        if not closing:
            if xml[end - 2] != "/":  # not an empty <w:tbl/>
                depth += 1
                start = at - 1 if depth == 1 else start
            continue
        depth -= 1
        if depth < 0:
            return None
        table = xml[start:end]
        if depth or (SCORE_TABLE_CAPTION not in table and SCORE_TABLE_HEADERS[0] not in table):
            continue
        document = document or _DOCUMENT_START.search(xml)
        if document is None:
            return None
        # the table under the document's own root element, so every namespace prefix is declared
        root = parse_xml(f"{document[0]}{table}</w:document>".encode(), part=name, recover=True)
        if merge_score_table(root):
            text = etree.tostring(root, encoding="unicode")
            pieces += [xml[done:start], text[text.index(">") + 1 : text.rindex("</")]]
            done = end
    if depth:
        return None
    return "".join([*pieces, xml[done:]]) if pieces else xml


def _renumber_drawings(root: etree._Element, ids: Iterator[int]) -> None:
    """Give every drawing (``wp:docPr``) the next id: ids are unique across the document (docxtpl's
    ``fix_docpr_ids``)."""
    for doc_pr in root.iter(f"{{{WP}}}docPr"):
        doc_pr.set("id", str(next(ids)))


def _finish_part(xml: str, ids: Iterator[int], name: str) -> bytes:
    """A rendered header, footer or footnotes part with its drawings renumbered (the template's own
    pictures: the charts placed by :class:`ChartImage` are numbered already)."""
    tree = parse_xml(xml.encode("utf-8"), part=name, recover=True)
    _renumber_drawings(tree, ids)
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", standalone=True)


def _render_part(part: _Part, context: dict[str, Any], shown: str, is_document: bool) -> str:
    try:
        xml = part.template.render(context)
    except ReportError:
        raise
    except Exception as exc:
        raise template_error(exc, shown, part.lines, None if is_document else part.name) from None
    xml = rendered_text(part.template, xml)  # _prepare's break before each paragraph is gone already
    if "_" in xml and ("{_" in xml or "_}" in xml):  # one character is found fastest
        xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
    # tabs, line and page breaks typed in a value become Word runs (docxtpl's listing), paragraph by paragraph
    if not any(character in xml for character in _LISTED):
        return xml  # none typed: no paragraph to look at (one character at a time is found fastest)
    return _PARAGRAPH.sub(lambda m: _DOCXTPL.resolve_listing(m[0]) if _LISTING.search(m[0]) else m[0], xml)


def render_package(compiled: CompiledTemplate, context: dict[str, Any], shown: str) -> bytes:
    """Render ``compiled`` with ``context`` into the bytes of a .docx (渲染 Word 文档)."""
    entries = dict(compiled.entries)
    taken = set(entries)
    media: list[tuple[str, list[tuple[str, str, bytes]]]] = []
    images = _chart_images(context)
    ids = itertools.count(1001)
    for part in compiled.parts:
        rel_ids = set(part.rel_ids)
        # charts are numbered as they are placed, unless the parsed part is renumbered afterwards
        is_document = part.name == compiled.document
        renumbered = part.own_drawings or (is_document and compiled.whole_tree)
        placed_ids = itertools.repeat(1) if renumbered else ids
        collector = None if part.properties else _Media(part.name, taken, rel_ids, placed_ids)
        for image in images:
            image.media = collector
        xml = _render_part(part, context, shown, is_document)
        if is_document:
            entries[part.name] = _finish_document(xml, compiled, ids, part.name)
        elif part.own_drawings:
            entries[part.name] = _finish_part(xml, ids, part.name)
        else:
            entries[part.name] = xml.encode("utf-8")
        if collector is not None and collector.images:
            media.append((part.name, list(collector.images.values())))
    for image in images:
        image.media = None
    for part_name, added in media:
        rels = opc.rels_part(part_name)
        entries[rels] = _with_images(
            entries.get(rels), part_name, tuple((rid, name) for rid, name, _ in added)
        )
        for _rid, name, png in added:
            entries[name] = png
    if media and opc.CONTENT_TYPES in entries:
        entries[opc.CONTENT_TYPES] = _with_png_type(entries[opc.CONTENT_TYPES])
    return _zip(entries, compiled)


@functools.lru_cache(maxsize=32)  # a template's renders with as many charts add the same relationships
def _with_images(rels: bytes | None, part: str, added: tuple[tuple[str, str], ...]) -> bytes:
    """The relationships part ``rels`` of ``part`` with an image relationship per ``(id, media part)``."""
    return opc.add_relationships(rels, part, [(rid, IMAGE_REL, name) for rid, name in added])[0]


@functools.lru_cache(maxsize=16)
def _with_png_type(content_types: bytes) -> bytes:
    """``[Content_Types].xml`` knowing ``.png`` files (image/png)."""
    return opc.with_content_types(content_types, defaults={"png": "image/png"})


def _zip(entries: dict[str, bytes], compiled: CompiledTemplate) -> bytes:
    """The package's bytes: the template's unchanged entries as compressed when it was compiled."""
    original = dict(compiled.entries)

    def packed(name: str, data: bytes) -> Packed:
        known = compiled.packed.get(name)
        if known is not None and data is original[name]:
            return known
        # the body and the charts are the report's own; the other parts rendered or changed repeat
        own = name == compiled.document or name.startswith("word/media/")
        return (pack if own else pack_repeated)(name, data)

    return zip_package(((name, packed(name, data)) for name, data in entries.items()), _FIXED_TIME)


def _chart_images(context: dict[str, Any]) -> list[ChartImage]:
    found = [s.get("chart") for s in context.get("analysis", [])]
    found.append(context.get("overview", {}).get("chart"))
    return [c for c in found if isinstance(c, ChartImage)]


def word_template(
    user_dir: Path | None = None, name: str = TEMPLATE_FILES["docx"]
) -> tuple[CompiledTemplate, str]:
    """The compiled Word template ``name`` (Word 模板) and its display name, the user's if ``user_dir``
    has one; an unreadable or malformed template raises :class:`ReportError`."""
    source, shown = template_file(name, user_dir)
    try:
        if isinstance(source, Path) and source.stat().st_size > MAX_FILE_BYTES:
            raise ReportError(
                f"报告模板「{Path(shown).name}」超过 {MAX_FILE_BYTES // 2**20} MB，不像 Word 报告模板，请检查",
                path=shown if Path(shown).is_absolute() else None,
            )
        data = source.read_bytes()
    except OSError as exc:
        raise ReportError(
            f"报告模板「{Path(shown).name}」无法读取：{exc.strerror or exc}",
            path=shown if Path(shown).is_absolute() else None,
        ) from None
    return compile_template(data, shown), shown


def render_docx(
    ev: Evaluation,
    ctx: dict[str, object],
    path: Path,
    user_dir: Path | None = None,
    *,
    font_path: str | None = None,
) -> Path:
    """Render the Word report (Word 报告) to ``path`` atomically; charts are drawn as PNG."""
    compiled, shown = word_template(user_dir)
    context = dict(ctx)
    width = min(TEXT_WIDTH_CM * 10, 150.0)
    sections = []
    for section in ctx["analysis"]:  # type: ignore[attr-defined]
        bars = section_bars(ev, section["code"])
        title = f"图{section['figure']} {section['title']}得分"
        chart = ChartImage(chart_png(bars, font_path=font_path), width, title) if bars else None
        sections.append({**section, "chart": chart})
    context["analysis"] = sections
    bars = overview_bars(ev)
    overview = ctx["overview"]
    assert isinstance(overview, dict)
    context["overview"] = {
        **overview,
        "chart": ChartImage(
            chart_png(bars, font_path=font_path), width, f"图{overview['figure']} 一级指标得分"
        )
        if bars
        else None,
    }
    package = render_package(compiled, context, shown)
    with atomic_output(path) as tmp:
        tmp.write_bytes(package)
    return path


def render_review_docx(review: dict[str, object], path: Path, user_dir: Path | None = None) -> Path:
    """Render the 复核意见 as Word (Word 复核意见) to ``path`` atomically."""
    compiled, shown = word_template(user_dir, REVIEW_FILES["docx"])
    package = render_package(compiled, dict(review), shown)
    with atomic_output(path) as tmp:
        tmp.write_bytes(package)
    return path
