"""Build a source-only ``vbaProject.bin`` (VBA 工程) without Excel, and read one back with oletools.

The result is a Compound File (CFB v3, 512-byte sectors) holding, per MS-OVBA 2.3:

* ``PROJECT`` and ``PROJECTwm``: project properties and the module name map;
* ``VBA/dir``: the compressed project information, references and module records;
* ``VBA/_VBA_PROJECT``: the 7-byte version-independent header ``cc 61 ff ff 00 01 00`` (no p-code,
  so Excel compiles from source, as with the workbooks xlwings ships);
* ``VBA/<module>``: each module's compressed source, at text offset 0.

Everything is derived from the inputs (fixed GUID, seed and timestamps), so the same modules give
the same bytes.  VBA source is stored in the project code page (cp1252); it must be ASCII, because
Chinese Windows would read those bytes as cp936.  Chinese text belongs in customUI.xml or cells.
"""

from __future__ import annotations

import re
import struct
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from xlperf.excel.ovba import compress

ModuleKind = Literal["standard", "document", "class"]
Host = Literal["workbook", "worksheet", "chartsheet"]

CODEPAGE = 1252
_ENCODING = "cp1252"
_LCID = 0x0409
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,30}")
_VBA_PROJECT = bytes.fromhex("cc61ffff000100")
_NOT_PROTECTED, _NO_PASSWORD, _VISIBLE = bytes(4), b"\0", b"\xff"  # CMG, DPB and GC plaintexts
_HOST_BASES: dict[Host, str] = {
    "workbook": "0{00020819-0000-0000-C000-000000000046}",
    "worksheet": "0{00020820-0000-0000-C000-000000000046}",
    "chartsheet": "0{00020821-0000-0000-C000-000000000046}",
}


@dataclass(frozen=True)
class VbaReference:
    """A registered type-library reference (引用) as written in the ``dir`` stream."""

    name: str
    libid: str


STDOLE = VbaReference(
    "stdole",
    r"*\G{00020430-0000-0000-C000-000000000046}#2.0#0#C:\Windows\System32\stdole2.tlb#OLE Automation",
)
OFFICE = VbaReference(
    "Office",
    r"*\G{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52}#2.0#0#C:\Program Files\Common Files\Microsoft Shared"
    r"\OFFICE16\MSO.DLL#Microsoft Office 16.0 Object Library",
)


@dataclass(frozen=True)
class VbaModule:
    """One VBA module (模块): standard (.bas), document (ThisWorkbook/Sheet1…, named by codeName) or class.

    *source* may start with its own ``Attribute VB_Name`` header; otherwise the usual header for
    *kind* is prepended.  *host* picks a document module's ``VB_Base``; by default ``ThisWorkbook``
    is the workbook and any other document module a worksheet.
    """

    name: str
    source: str
    kind: ModuleKind
    host: Host | None = None

    @property
    def code(self) -> str:
        """The module text as stored in the project: header plus source, line endings untouched."""
        if self.source.startswith("Attribute VB_Name"):
            return self.source
        newline = "\n" if "\n" in self.source and "\r\n" not in self.source else "\r\n"
        lines = [f'Attribute VB_Name = "{self.name}"']
        if self.kind != "standard":
            host = self.host or ("workbook" if self.name == "ThisWorkbook" else "worksheet")
            document = self.kind == "document"
            base = _HOST_BASES[host] if document else "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"
            lines += [
                f'Attribute VB_Base = "{base}"',
                "Attribute VB_GlobalNameSpace = False",
                "Attribute VB_Creatable = False",
                f"Attribute VB_PredeclaredId = {document}",
                f"Attribute VB_Exposed = {document}",
                "Attribute VB_TemplateDerived = False",
                f"Attribute VB_Customizable = {document}",
            ]
        return "".join(line + newline for line in lines) + self.source


def build_vba_project(
    modules: Sequence[VbaModule],
    *,
    project_name: str = "xlperf",
    references: Sequence[VbaReference] = (STDOLE, OFFICE),
) -> bytes:
    """Return a complete ``vbaProject.bin`` (VBA 工程文件) holding *modules*, source only.

    Raises ``ValueError`` for a bad or duplicate name, a header naming another module, or
    non-ASCII source (VBA 源码须为 ASCII).
    """
    _check_identifier("project", project_name)
    seen = {"dir"}  # the dir stream shares the VBA storage with the module streams
    streams: dict[str, bytes] = {}
    for module in modules:
        _check_identifier("module", module.name)
        if module.name.lower() in seen:
            raise ValueError(f"duplicate or reserved VBA module name {module.name!r}")
        seen.add(module.name.lower())
        streams[module.name] = compress(_encode_source(module))
    project_id = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"xlperf:vba:{project_name}")).upper() + "}"
    vba = {"dir": compress(_dir_stream(project_name, modules, references)), "_VBA_PROJECT": _VBA_PROJECT}
    return _write_cfb(
        {
            "PROJECT": _project_stream(project_id, project_name, modules),
            "PROJECTwm": _name_map(modules),
            "VBA": vba | streams,
        }
    )


def read_vba_modules(vba_bin: bytes) -> dict[str, str]:
    """Read every module's stored text back with oletools (独立读取校验), keyed by module name."""
    from oletools.olevba import VBA_Parser  # test/verification dependency only

    parser = VBA_Parser("vbaProject.bin", data=vba_bin, relaxed=False)
    try:
        return {filename.rpartition(".")[0]: code for _, _, filename, code in parser.extract_macros()}
    finally:
        parser.close()


def _check_identifier(what: str, name: str) -> None:
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(
            f"VBA {what} name {name!r} must be an ASCII identifier of at most 31 characters "
            "(letter first, then letters, digits or _)"
        )


def _encode_source(module: VbaModule) -> bytes:
    code = module.code
    header = re.match(r'Attribute VB_Name = "([^"]*)"', code)
    if header is None or header[1] != module.name:
        raise ValueError(
            f'VBA module {module.name!r}: its first line must be Attribute VB_Name = "{module.name}"'
        )
    for number, line in enumerate(module.source.splitlines(), 1):
        bad = next((char for char in line if not char.isascii()), None)
        if bad is not None:
            raise ValueError(
                f"VBA module {module.name!r} line {number}: non-ASCII character {bad!r}. VBA source is "
                "stored in the ANSI code page, so keep Chinese text (中文) in customUI.xml or cells"
            )
    return code.encode(_ENCODING)


def _project_stream(project_id: str, name: str, modules: Sequence[VbaModule]) -> bytes:
    """The ``PROJECT`` stream (MS-OVBA 2.3.1): properties, host extender and workspace sections."""
    kinds = {"document": "Document={}/&H00000000", "standard": "Module={}", "class": "Class={}"}
    lines = [f'ID="{project_id}"', *(kinds[m.kind].format(m.name) for m in modules)]
    lines += [
        f'Name="{name}"',
        'HelpContextID="0"',
        'VersionCompatible32="393222000"',
        f'CMG="{_encrypt(project_id, _NOT_PROTECTED)}"',
        f'DPB="{_encrypt(project_id, _NO_PASSWORD)}"',
        f'GC="{_encrypt(project_id, _VISIBLE)}"',
        "",
        "[Host Extender Info]",
        "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
        "",
        "[Workspace]",
        *(f"{m.name}=0, 0, 0, 0, C" for m in modules),
    ]
    return "".join(line + "\r\n" for line in lines).encode(_ENCODING)


def _encrypt(project_id: str, data: bytes, seed: int = 0x8D) -> str:
    """MS-OVBA 2.4.3 data encryption with a fixed seed and zero ignored bytes, as hex."""
    key = sum(project_id.encode(_ENCODING)) & 0xFF
    out = bytearray([seed, seed ^ 2, seed ^ key])
    unencrypted, encrypted1, encrypted2 = key, out[2], out[1]
    for byte in bytes((seed & 6) // 2) + struct.pack("<I", len(data)) + data:
        out.append(byte ^ ((encrypted2 + unencrypted) & 0xFF))
        encrypted2, encrypted1, unencrypted = encrypted1, out[-1], byte
    return out.hex().upper()


def _name_map(modules: Sequence[VbaModule]) -> bytes:
    """The ``PROJECTwm`` stream: each name in MBCS and UTF-16, NUL-terminated."""
    entries = (m.name.encode(_ENCODING) + b"\0" + m.name.encode("utf-16-le") + b"\0\0" for m in modules)
    return b"".join(entries) + b"\0\0"


def _record(record_id: int, data: bytes = b"") -> bytes:
    return struct.pack("<HI", record_id, len(data)) + data


def _text_records(record_id: int, unicode_id: int, text: str) -> bytes:
    return _record(record_id, text.encode(_ENCODING)) + _record(unicode_id, text.encode("utf-16-le"))


def _dir_stream(name: str, modules: Sequence[VbaModule], references: Sequence[VbaReference]) -> bytes:
    """The decompressed ``dir`` stream (MS-OVBA 2.3.4.2)."""
    parts = [
        _record(0x01, struct.pack("<I", 3)),  # SYSKIND: 64-bit Windows, as in xlwings' shipped files
        _record(0x02, struct.pack("<I", _LCID)),
        _record(0x14, struct.pack("<I", _LCID)),
        _record(0x03, struct.pack("<H", CODEPAGE)),
        _record(0x04, name.encode(_ENCODING)),
        _text_records(0x05, 0x40, ""),  # doc string
        _text_records(0x06, 0x3D, ""),  # help file
        _record(0x07, bytes(4)),  # help context
        _record(0x08, bytes(4)),  # lib flags
        struct.pack("<HIIH", 0x09, 4, 1, 0),  # version 1.0
        _text_records(0x0C, 0x3C, ""),  # conditional-compilation constants
    ]
    for ref in references:
        libid = ref.libid.encode(_ENCODING)
        parts += [
            _text_records(0x16, 0x3E, ref.name),
            _record(0x0D, struct.pack("<I", len(libid)) + libid + bytes(6)),
        ]
    parts += [_record(0x0F, struct.pack("<H", len(modules))), _record(0x13, b"\xff\xff")]
    for module in modules:
        parts += [
            _record(0x19, module.name.encode(_ENCODING)),
            _record(0x47, module.name.encode("utf-16-le")),
            _text_records(0x1A, 0x32, module.name),  # stream name
            _text_records(0x1C, 0x48, ""),  # doc string
            _record(0x31, bytes(4)),  # source at offset 0: no p-code
            _record(0x1E, bytes(4)),  # help context
            _record(0x2C, b"\xff\xff"),  # cookie
            _record(0x21 if module.kind == "standard" else 0x22),
            _record(0x2B),
        ]
    parts.append(_record(0x10))
    return b"".join(parts)


# --- Compound File Binary (MS-CFB) writer, version 3 -------------------------------------------

_SECTOR, _MINI_SECTOR, _MINI_CUTOFF = 512, 64, 4096
_FREE, _END_OF_CHAIN, _FAT_SECTOR, _NO_STREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
_STORAGE, _STREAM, _ROOT = 1, 2, 5


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    left: int = _NO_STREAM
    right: int = _NO_STREAM
    child: int = _NO_STREAM
    red: bool = False
    start: int = _END_OF_CHAIN

    def pack(self) -> bytes:
        name = self.name.encode("utf-16-le") + b"\0\0" if self.name else b""
        size = len(self.data)
        return struct.pack(
            "<64sHBBIII16sIQQIQ", name, len(name), self.kind, 0 if self.red else 1,
            self.left, self.right, self.child, bytes(16), 0, 0, 0, self.start, size,
        )  # fmt: skip


def _write_cfb(tree: dict[str, bytes | dict]) -> bytes:
    """Serialise a tree of ``{name: bytes | dict}`` as a CFB file with a fixed sector layout."""
    entries = [_Entry("Root Entry", _ROOT)]
    _add_children(entries, 0, tree)
    small = [e for e in entries if e.kind == _STREAM and 0 < len(e.data) < _MINI_CUTOFF]
    large = [e for e in entries if e.kind == _STREAM and len(e.data) >= _MINI_CUTOFF]

    mini_fat: list[int] = []
    ministream = bytearray()
    for entry in small:
        entry.start = len(mini_fat)
        count = -(-len(entry.data) // _MINI_SECTOR)
        mini_fat += _chain(entry.start, count)
        ministream += entry.data.ljust(count * _MINI_SECTOR, b"\0")
    entries[0].data = bytes(ministream)

    def sectors(size: int) -> int:
        return -(-size // _SECTOR)

    # Layout: FAT | directory | mini FAT | mini stream | large streams.
    runs = [sectors(len(entries) * 128), sectors(len(mini_fat) * 4), sectors(len(ministream))]
    runs += [sectors(len(e.data)) for e in large]
    fat_count = 1
    while fat_count * _SECTOR // 4 < fat_count + sum(runs):
        fat_count += 1
    if fat_count > 109:
        raise ValueError("VBA project too large for a CFB file without DIFAT sectors (about 7 MB)")
    fat = [_FAT_SECTOR] * fat_count
    starts = []
    for count in runs:
        starts.append(len(fat) if count else _END_OF_CHAIN)
        fat += _chain(len(fat), count)
    directory_start, mini_fat_start, entries[0].start = starts[:3]
    for entry, start in zip(large, starts[3:], strict=True):
        entry.start = start

    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII", bytes.fromhex("d0cf11e0a1b11ae1"), bytes(16), 0x3E, 3, 0xFFFE, 9, 6,
        bytes(6), 0, fat_count, directory_start, 0, _MINI_CUTOFF, mini_fat_start, runs[1], _END_OF_CHAIN, 0,
    )  # fmt: skip
    header += struct.pack("<109I", *range(fat_count), *[_FREE] * (109 - fat_count))
    empty = _Entry("", 0, red=True, start=0).pack()
    body = [
        _padded(struct.pack(f"<{len(fat)}I", *fat), _FREE, fat_count),
        _padded(b"".join(e.pack() for e in entries), empty, runs[0]),
        _padded(struct.pack(f"<{len(mini_fat)}I", *mini_fat), _FREE, runs[1]),
        bytes(ministream).ljust(runs[2] * _SECTOR, b"\0"),
        *(e.data.ljust(sectors(len(e.data)) * _SECTOR, b"\0") for e in large),
    ]
    return header + b"".join(body)


def _add_children(entries: list[_Entry], parent: int, tree: dict[str, bytes | dict]) -> None:
    """Append *tree*'s entries and link them under *parent* as a balanced red-black tree."""
    ids = []
    for name, node in tree.items():
        ids.append(len(entries))
        if isinstance(node, dict):
            entries.append(_Entry(name, _STORAGE, start=0))
            _add_children(entries, ids[-1], node)
        else:
            entries.append(_Entry(name, _STREAM, node))
    ids.sort(key=lambda i: (len(entries[i].name), entries[i].name.upper()))
    deepest = len(ids).bit_length() - 1

    def link(low: int, high: int, depth: int) -> int:
        if low >= high:
            return _NO_STREAM
        middle = (low + high) // 2
        entry = entries[ids[middle]]
        entry.left, entry.right = link(low, middle, depth + 1), link(middle + 1, high, depth + 1)
        entry.red = 0 < depth == deepest  # the bottom level may be partial: red keeps black heights equal
        return ids[middle]

    entries[parent].child = link(0, len(ids), 0)


def _chain(first: int, count: int) -> list[int]:
    return [*range(first + 1, first + count), _END_OF_CHAIN] if count else []


def _padded(data: bytes, filler: int | bytes, sector_count: int) -> bytes:
    fill = struct.pack("<I", filler) if isinstance(filler, int) else filler
    missing = sector_count * _SECTOR - len(data)
    return data + fill * (missing // len(fill))
