"""Files other programs write, built for the tests (外部程序的文件): an OLE2 compound file (old .xls,
encrypted workbooks) and the owner file Excel leaves beside an open workbook, built byte by byte, and a
user's own Word report template, written by python-docx."""

from __future__ import annotations

import struct
from pathlib import Path

ENDOFCHAIN = 0xFFFFFFFE
FREESECT = 0xFFFFFFFF
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
SECTOR = 512


def make_cfb(path: Path, streams: dict[str, bytes]) -> Path:
    """Write a minimal valid Compound File Binary (OLE2, version 3) holding ``streams``.

    Layout: 512-byte header, one FAT sector (sector 0), directory sectors, then each stream in
    consecutive sectors.  Streams are padded to 4096 bytes so they live in the regular FAT (no
    mini stream needed).  The root's children form a sorted chain of right siblings.
    """
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    data = {n: streams[n].ljust(4096, b"\0") for n in names}
    n_entries = 1 + len(names)
    dir_sectors = -(-n_entries // 4)
    fat = [FATSECT]
    first_dir = len(fat)
    for i in range(dir_sectors):
        fat.append(first_dir + i + 1 if i < dir_sectors - 1 else ENDOFCHAIN)
    starts = {}
    for n in names:
        count = -(-len(data[n]) // SECTOR)
        starts[n] = len(fat)
        for i in range(count):
            fat.append(len(fat) + 1 if i < count - 1 else ENDOFCHAIN)
    assert len(fat) <= 128, "test builder supports one FAT sector only"
    fat += [FREESECT] * (128 - len(fat))

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return struct.pack(
            "<64sHBBIII16sIQQIQ",
            raw,
            len(raw),
            kind,
            1,
            NOSTREAM,
            right,
            child,
            b"\0" * 16,
            0,
            0,
            0,
            start,
            size,
        )

    entries = [entry("Root Entry", 5, NOSTREAM, 1 if names else NOSTREAM, ENDOFCHAIN, 0)]
    for i, n in enumerate(names, start=1):
        right = i + 1 if i < len(names) else NOSTREAM
        entries.append(entry(n, 2, right, NOSTREAM, starts[n], len(data[n])))
    empty = struct.pack(
        "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, b"\0" * 16, 0, 0, 0, 0, 0
    )
    entries += [empty] * (dir_sectors * 4 - len(entries))

    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"\0" * 16,
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        b"\0" * 6,
        0,
        1,
        first_dir,
        0,
        4096,
        ENDOFCHAIN,
        0,
        ENDOFCHAIN,
        0,
    )
    header += struct.pack("<109I", 0, *([FREESECT] * 108))
    assert len(header) == SECTOR
    body = struct.pack("<128I", *fat) + b"".join(entries)
    body += b"".join(data[n].ljust(-(-len(data[n]) // SECTOR) * SECTOR, b"\0") for n in names)
    path.write_bytes(header + body)
    return path


def excel_lock_bytes(name: str) -> bytes:
    """An Excel owner file (~$book.xlsx) as MS Office writes it (165 bytes)."""
    ansi = name.encode("gbk", "replace")[:52]
    data = bytes([len(ansi)]) + ansi
    data = data.ljust(55, b" ")
    data += struct.pack("<H", len(name)) + name.encode("utf-16-le")
    while len(data) < 165:
        data += b" \0"
    return data[:165]


def paragraph_template(folder: Path, *paragraphs: str) -> Path:
    """A user's own Word report template (用户的 Word 模板): ``folder/report.docx`` with one paragraph
    per text, as python-docx writes it; returns ``folder``, to pass as ``templates``."""
    from docx import Document

    folder.mkdir(parents=True, exist_ok=True)
    doc = Document()
    for text in paragraphs:
        doc.add_paragraph(text)
    doc.save(str(folder / "report.docx"))
    return folder
