"""The Open Packaging layer (io/opc.py) on real packages: a workbook openpyxl wrote and a Word file."""

from __future__ import annotations

import io
import struct
import sys
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest

from xlperf.errors import UnreadableFileError
from xlperf.io import opc
from xlperf.io.safexml import parse_xml


def _workbook(path: Path) -> Path:
    wb = openpyxl.Workbook()
    wb.active.title = "基本信息"
    wb.create_sheet("项目")
    wb.create_chartsheet("图表")
    wb.save(path)
    return path


def test_sheet_map_and_main_part_of_a_real_workbook(tmp_path: Path) -> None:
    package = opc.Package.open(_workbook(tmp_path / "book.xlsx"))
    workbook = package.main_part()
    assert workbook == "xl/workbook.xml"
    sheets = opc.sheet_map(parse_xml(package.read(workbook)), package.relationships(workbook))
    assert [(s.title, s.kind) for s in sheets] == [
        ("基本信息", "worksheet"),
        ("项目", "worksheet"),
        ("图表", "chartsheet"),
    ]
    assert all(s.part is not None and package.find(s.part) is not None for s in sheets)
    assert package.find("XL/WORKBOOK.XML") is package.find("xl/workbook.xml")  # names are case-insensitive
    types = parse_xml(package.read(opc.CONTENT_TYPES))
    assert opc.content_type(types, "xl/workbook.xml") == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
    )
    assert opc.content_type(types, "xl/_rels/workbook.xml.rels") == (
        "application/vnd.openxmlformats-package.relationships+xml"
    )  # from the extension's Default
    assert opc.content_type(types, "xl/unknown.bin") is None


def test_targets_resolve_relative_absolute_and_escaped() -> None:
    assert opc.rels_part("") == "_rels/.rels"
    assert opc.rels_part("word/document.xml") == "word/_rels/document.xml.rels"
    assert opc.resolve_target("xl/workbook.xml", "worksheets/sheet1.xml") == "xl/worksheets/sheet1.xml"
    assert opc.resolve_target("xl/worksheets/sheet1.xml", "../tables/table1.xml") == "xl/tables/table1.xml"
    assert (
        opc.resolve_target("xl/workbook.xml", "/xl/worksheets/sheet%202.xml") == "xl/worksheets/sheet 2.xml"
    )
    assert opc.resolve_target("", "xl\\workbook.xml") == "xl/workbook.xml"


def test_added_relationships_and_content_types_read_back_in_python_docx() -> None:
    buffer = io.BytesIO()
    docx.Document().save(buffer)
    with zipfile.ZipFile(buffer) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    rels = opc.rels_part("word/document.xml")
    before = opc.relationships(parts[rels], "word/document.xml")
    image = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"
    parts[rels], ids = opc.add_relationships(
        parts[rels],
        "word/document.xml",
        [(None, image, "word/media/a.png"), ("rIdMine", image, "word/media/b.png")],
    )
    assert ids[0] not in before and ids[1] == "rIdMine"
    after = opc.relationships(parts[rels], "word/document.xml")
    assert {after[i].target for i in ids} == {"word/media/a.png", "word/media/b.png"}
    parts[opc.CONTENT_TYPES] = opc.with_content_types(parts[opc.CONTENT_TYPES], defaults={"png": "image/png"})
    assert (
        opc.with_content_types(parts[opc.CONTENT_TYPES], defaults={"PNG": "image/png"})
        == parts[opc.CONTENT_TYPES]
    )
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
    parts["word/media/a.png"] = parts["word/media/b.png"] = png
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    document = docx.Document(io.BytesIO(out.getvalue()))  # python-docx reads the package we changed
    assert {document.part.rels[i].target_ref for i in ids} == {"media/a.png", "media/b.png"}


def test_damaged_packages_are_refused_in_chinese(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFileError, match="不是有效的"):
        opc.Package(b"not a zip", path="x.xlsx")
    with pytest.raises(UnreadableFileError, match="文件不存在"):
        opc.Package.open(tmp_path / "missing.xlsx")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("a.xml", "<a/>")
        zf.writestr("A.xml", "<b/>")
    with pytest.raises(UnreadableFileError, match="重复的部件"):
        opc.Package(buffer.getvalue())
    with pytest.raises(UnreadableFileError, match="缺少部件"):
        opc.Package(_workbook(tmp_path / "b.xlsx").read_bytes()).read("xl/none.xml")
    small = opc.Package((tmp_path / "b.xlsx").read_bytes(), max_part=10)
    with pytest.raises(UnreadableFileError, match="解压后超过"):
        small.read("xl/workbook.xml")


def _zip(method: int, parts: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def _entry(blob: bytes, name: str) -> tuple[zipfile.ZipInfo, int]:
    """The directory entry of ``name`` and where its compressed bytes start."""
    info = zipfile.ZipFile(io.BytesIO(blob)).getinfo(name)
    name_len, extra_len = struct.unpack_from("<HH", blob, info.header_offset + 26)
    return info, info.header_offset + 30 + name_len + extra_len


PART = ("<sheetData>" + "<row><c><v>12345</v></c></row>" * 200 + "</sheetData>").encode()


@pytest.mark.parametrize(
    "method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA]
)
def test_parts_read_as_zipfile_reads_them(method: int) -> None:
    """Stored and deflated parts are inflated from the file's bytes; other methods go through zipfile."""
    parts = {"xl/a.xml": PART, "xl/empty.xml": b"", "xl/名字.xml": "<a>中文</a>".encode()}
    package = opc.Package(_zip(method, parts), path="m.xlsx")
    assert {name: package.read(name) for name in parts} == parts


def test_damaged_parts_are_refused_however_they_are_damaged() -> None:
    """A deflated part whose bytes, CRC or declared size do not hold is damage naming the part, and a
    part that inflates past its declared size is never inflated further (解压不超过声明的大小)."""
    blob = _zip(zipfile.ZIP_DEFLATED, {"xl/a.xml": PART, "xl/b.xml": b"<b/>"})
    info, start = _entry(blob, "xl/a.xml")
    central = blob.rindex(b"PK\x01\x02", 0, blob.rindex(b"PK\x01\x02"))  # xl/a.xml's directory entry
    assert blob[central + 46 : central + 46 + 8] == b"xl/a.xml"

    def damaged(offset: int, value: bytes) -> opc.Package:
        data = bytearray(blob)
        data[offset : offset + len(value)] = value
        return opc.Package(bytes(data), path="d.xlsx")

    flipped = bytes([blob[start + info.compress_size // 2] ^ 0xFF])
    for package in (
        damaged(start + info.compress_size // 2, flipped),  # the deflate stream
        damaged(central + 16, struct.pack("<I", info.CRC ^ 1)),  # the CRC in the directory
        damaged(central + 24, struct.pack("<I", len(PART) - 100)),  # declares less than it holds
        damaged(central + 24, struct.pack("<I", len(PART) + 100)),  # declares more than it holds
    ):
        with pytest.raises(UnreadableFileError, match="部件 xl/a.xml 已损坏") as caught:
            package.read("xl/a.xml")
        assert caught.value.path == "d.xlsx"
        assert package.read("xl/b.xml") == b"<b/>"
    with pytest.raises(UnreadableFileError, match="本地文件头"):
        damaged(info.header_offset, b"XXXX").read("xl/a.xml")


def test_small_parts_are_parsed_once_and_a_taken_tree_is_no_longer_shared(tmp_path: Path) -> None:
    package = opc.Package.open(_workbook(tmp_path / "book.xlsx"))
    workbook = package.xml("xl/workbook.xml")
    assert package.xml("XL/workbook.xml") is workbook  # kept: the same tree for every reader
    assert (
        list(package.elements("xl/workbook.xml", (f"{{{opc.MAIN_NS}}}sheet",)))[0].get("name") == "基本信息"
    )
    taken, data = package.take_xml("xl/workbook.xml")
    assert taken is workbook and data == package.read("xl/workbook.xml")
    taken.clear()  # the taker may change it; the next reader parses the part again
    again = package.xml("xl/workbook.xml")
    assert again is not taken and len(again) > 0
    held = sys.getrefcount(again)
    package.close()  # lets go of the kept trees at once, not when a cycle collection finds the package
    assert sys.getrefcount(again) == held - 1


def test_large_parts_are_streamed_and_never_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opc, "STREAM_ABOVE", 100)  # every part of this workbook counts as large
    package = opc.Package.open(_workbook(tmp_path / "book.xlsx"))
    assert package.xml("xl/workbook.xml") is not package.xml("xl/workbook.xml")
    names = [e.get("name") for e in package.elements("xl/workbook.xml", (f"{{{opc.MAIN_NS}}}sheet",))]
    assert names == ["基本信息", "项目", "图表"]


def test_a_package_keeps_at_most_keep_bytes_of_parsed_parts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = opc.Package.open(_workbook(tmp_path / "book.xlsx"))
    workbook = package.find("xl/workbook.xml")
    assert workbook is not None
    monkeypatch.setattr(opc, "KEEP_BYTES", workbook.file_size)  # room for workbook.xml only
    assert package.xml(workbook) is package.xml(workbook)
    sheet = "xl/worksheets/sheet1.xml"
    assert package.xml(sheet) is not package.xml(sheet)  # over the budget: parsed for each caller
    package.take_xml(workbook)  # taken out: its room is free again
    assert package.xml(sheet) is package.xml(sheet)
