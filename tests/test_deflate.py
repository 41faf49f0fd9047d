"""Packing zip entries (:mod:`xlperf.io.deflate`): a repeated part is deflated once and still comes
back as written."""

from __future__ import annotations

import zipfile
import zlib

from xlperf.io.deflate import pack, pack_repeated


def test_a_repeated_part_is_packed_once_and_inflates_to_its_own_bytes() -> None:
    rels = b'<?xml version="1.0"?><Relationships>' + b"<Relationship/>" * 40 + b"</Relationships>"
    other = rels.replace(b"<Relationship/>", b"<Relationship Id='x'/>", 1)
    first = pack_repeated("word/_rels/document.xml.rels", rels)
    assert pack_repeated("word/_rels/document.xml.rels", bytes(rels)) is first  # found by its bytes
    again = pack_repeated("word/_rels/document.xml.rels", other)
    assert again is not first
    for packed, data in ((first, rels), (again, other)):
        assert packed == pack("word/_rels/document.xml.rels", data)
        assert packed.method == zipfile.ZIP_DEFLATED and packed.crc == zlib.crc32(data)
        assert zlib.decompress(packed.payload, -15) == data
