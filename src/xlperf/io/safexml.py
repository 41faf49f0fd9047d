"""The one parser for XML from users' files (用户文件中的 XML 一律由此解析).

:func:`parse_xml` (a whole part) and :func:`iter_xml` (a long part, streamed) are the only way xlperf
parses XML taken from a workbook, a Word template or any other file a user gave it: no DTDs, no
entities, no network, lxml's huge-tree limits on, so XXE and "billion laughs" are refused, and damage
is an :class:`~xlperf.errors.UnreadableFileError` with a Chinese message naming the part.
``tests/test_xml_parsers.py`` fails on any other XML parse in ``src/``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence

from lxml import etree

from xlperf.errors import UnreadableFileError

__all__ = ["GET_ORIGINAL", "STREAM_ABOVE", "iter_xml", "parse_xml", "safe_xml_parser"]

#: Parts larger than this are streamed by :func:`iter_xml`, never held as a tree (流式解析阈值).
STREAM_ABOVE = 2**20
#: What a user can do about a damaged file (重新索取原始文件).
GET_ORIGINAL = "请向报送单位重新索取原始文件"


def safe_xml_parser(*, recover: bool = False) -> etree.XMLParser:
    """THE lxml parser for XML from users' files (用户文件中的 XML 一律用此解析器).

    Every xlperf module that parses XML taken from a workbook (or any other user file) must
    use this parser, or :func:`parse_xml`, which also refuses DTDs outright.  Entities are not
    resolved, no DTD is loaded, nothing is fetched over the network and lxml's "huge tree"
    limits stay on.  A new parser is returned on each call: lxml parsers must not be shared
    between threads.  ``recover`` lets a stray tag through as Word and docxtpl do (a rendered
    Word document); it changes nothing else.
    """
    return etree.XMLParser(
        recover=recover,
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
    )


_DTD_TOKENS = ("<!DOCTYPE", "<!ENTITY")
_WIDE_ENCODINGS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")


def _has_dtd_markup(data: bytes) -> bool:
    """True if DOCTYPE/ENTITY markup appears in UTF-8 or (for wide-looking data) UTF-16/32."""
    if any(token.encode("ascii") in data for token in _DTD_TOKENS):
        return True
    if b"\x00" in data[:4] or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return any(token.encode(enc) in data for token in _DTD_TOKENS for enc in _WIDE_ENCODINGS)
    return False


def parse_xml(
    data: bytes, *, path: str | None = None, part: str | None = None, recover: bool = False
) -> etree._Element:
    """Parse untrusted XML with :func:`safe_xml_parser` (安全解析 XML), returning the root.

    Any DOCTYPE or ENTITY declaration is refused before parsing (XXE, "billion laughs"), and a
    DTD that slipped through in an exotic encoding is refused after parsing.  Malformed XML
    raises :class:`UnreadableFileError` with a Chinese message; ``path`` and ``part`` (e.g.
    ``xl/workbook.xml``) name the source in that message.  ``recover``: see :func:`safe_xml_parser`.
    """
    where = _refuse_dtd(data, path, part)
    try:
        root = etree.fromstring(data, safe_xml_parser(recover=recover))
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise _malformed(exc, where, path) from None
    if root is None:  # recover found nothing to keep
        raise _malformed(ValueError("没有可读的 XML 元素"), where, path)
    _refuse_doctype(root.getroottree().docinfo, where, path)
    return root


def iter_xml(
    data: bytes, tags: Sequence[str], *, path: str | None = None, part: str | None = None
) -> Iterator[etree._Element]:
    """Stream the elements named ``tags`` of untrusted XML (流式安全解析), each when it ends.

    The same refusals as :func:`parse_xml`, but no tree is kept: after the caller is done with an
    element it is cleared and removed with everything before it, so memory stays that of one
    element (a worksheet ``<row>``) however long the part is.
    """
    where = _refuse_dtd(data, path, part)
    if len(data) <= STREAM_ABOVE:  # a small part: one parse is faster, and its tree is small
        root = parse_xml(data, path=path, part=part)
        yield from root.iter(*tags)
        return
    events = etree.iterparse(
        io.BytesIO(data),
        events=("end",),
        tag=tuple(tags),
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
    )
    checked = False
    try:
        for _, element in events:
            if not checked:
                _refuse_doctype(element.getroottree().docinfo, where, path)
                checked = True
            yield element
            element.clear()
            parent = element.getparent()
            while parent is not None and element.getprevious() is not None:
                del parent[0]
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise _malformed(exc, where, path) from None
    if not checked:
        _refuse_doctype(events.root.getroottree().docinfo, where, path)


def _refuse_dtd(data: bytes, path: str | None, part: str | None) -> str:
    """Refuse DOCTYPE/ENTITY markup before parsing; returns how messages name the source."""
    where = f"其中的「{part}」部分" if part else "其中的 XML 内容"
    if _has_dtd_markup(data):
        raise UnreadableFileError(
            f"{where}包含 DOCTYPE/ENTITY 声明（DTD），正常的 Excel 文件不会有这种内容；"
            "该文件可能是恶意构造的（XML 实体攻击），已拒绝处理。",
            path=path,
        )
    return where


def _refuse_doctype(docinfo: etree.DocInfo, where: str, path: str | None) -> None:
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnreadableFileError(
            f"{where}包含 DOCTYPE 声明（DTD），正常的 Excel 文件不会有这种内容；该文件可能是恶意构造的，已拒绝处理。",
            path=path,
        )


def _malformed(exc: Exception, where: str, path: str | None) -> UnreadableFileError:
    if isinstance(exc, etree.XMLSyntaxError):
        line, column = exc.position if exc.position else (exc.lineno, 0)
        return UnreadableFileError(
            f"{where}已损坏，无法解析（第 {line} 行第 {column} 列附近；技术信息：{exc.msg}）；"
            + GET_ORIGINAL
            + "。",
            path=path,
        )
    return UnreadableFileError(f"{where}无法解析（{exc}）。", path=path)  # e.g. lxml refusing unusual input
