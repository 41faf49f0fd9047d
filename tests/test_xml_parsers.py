"""Every XML parse in xlperf goes through io/safexml (一个解析器), and that parser stays hardened."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from xlperf.errors import UnreadableFileError
from xlperf.io.safexml import parse_xml

SRC = Path(__file__).resolve().parents[1] / "src" / "xlperf"
THE_PARSER = SRC / "io" / "safexml.py"

#: Ways to parse XML without io/safexml: lxml's entry points, the standard library's and aliases of them.
OTHER_PARSERS = re.compile(
    r"\betree\s*\.\s*(?:fromstring|fromstringlist|XML|XMLID|parse|iterparse|XMLParser|XMLPullParser|"
    r"HTMLParser|ETCompatXMLParser)\b"
    r"|\biterparse\b"
    r"|\bfrom\s+lxml\.etree\s+import\b"
    r"|\bfrom\s+lxml\s+import\s+etree\s+as\b"
    r"|\bimport\s+lxml\.etree\s+as\b"
    r"|\bxml\.(?:etree|dom|sax|parsers)\b"
    r"|\bfrom\s+xml\b"
    r"|\bminidom\b|\bexpatbuilder\b"
)


def _offending_lines(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [
        f"{path.relative_to(SRC.parent)}:{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if OTHER_PARSERS.search(line)
    ]


def test_no_xml_is_parsed_outside_io_safexml() -> None:
    sources = sorted(SRC.rglob("*.py"))
    assert THE_PARSER in sources and len(sources) > 50  # the scan really looked at the package
    found = [line for path in sources if path != THE_PARSER for line in _offending_lines(path)]
    assert found == [], "XML parsed outside xlperf.io.safexml:\n" + "\n".join(found)


def test_the_scan_catches_each_way_of_parsing(tmp_path: Path) -> None:
    """The pattern is not vacuous: each spelling that would bypass the hardened parser is caught."""
    for line in (
        "root = etree.fromstring(data)",
        "parser = etree.XMLParser(recover=True)",
        "tree = etree.parse(handle)",
        "for _, el in etree.iterparse(stream):",
        "from lxml.etree import fromstring",
        "import xml.etree.ElementTree as ET",
        "from xml.dom import minidom",
    ):
        assert OTHER_PARSERS.search(line), line
    for line in ("root = parse_xml(data)", "etree.tostring(root)", "etree.SubElement(root, tag)"):
        assert not OTHER_PARSERS.search(line), line
    assert "etree.fromstring" in THE_PARSER.read_text(encoding="utf-8")


@pytest.mark.parametrize("recover", [False, True])
def test_the_parser_refuses_entities_even_when_recovering(recover: bool) -> None:
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<r>&a;&x;</r>"
    )
    with pytest.raises(UnreadableFileError, match="DOCTYPE"):
        parse_xml(evil, part="word/document.xml", recover=recover)


def test_recover_keeps_a_document_with_a_stray_tag() -> None:
    """A rendered Word body with a stray end tag still parses (as Word and docxtpl take it); strictly it
    is refused with a Chinese message naming the part."""
    stray = b'<w:document xmlns:w="urn:w"><w:body><w:p><w:t>\xe8\x87\xaa\xe8\xaf\x84</w:t></w:p></w:r></w:body></w:document>'
    root = parse_xml(stray, part="word/document.xml", recover=True)
    assert "".join(root.itertext()) == "自评"
    with pytest.raises(UnreadableFileError, match="word/document.xml"):
        parse_xml(stray, part="word/document.xml")
    with pytest.raises(UnreadableFileError):
        parse_xml(b"\x00\x01 not xml at all", recover=True)
