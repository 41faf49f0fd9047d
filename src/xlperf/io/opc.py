"""Open Packaging Conventions (OPC 包结构): parts, relationships, content types and the sheet map.

An .xlsx/.xlsm or .docx is a zip of parts; ``_rels/*.rels`` parts say which part refers to which
(relationships), ``[Content_Types].xml`` what each part is.  The workbook reader, the XML patcher, the
macro workbook builder and the Word renderer all find their parts through this module: relationship
parts and targets (:func:`rels_part`, :func:`resolve_target`, :func:`relationships`), a new
relationship (:func:`add_relationships`), content types (:func:`content_type`,
:func:`with_content_types`) and a workbook's sheets (:func:`sheet_map`).  :class:`Package` reads a zip
in memory, part names case-insensitive as OPC says.  All XML goes through :mod:`xlperf.io.safexml`.
"""

from __future__ import annotations

import functools
import io
import itertools
import posixpath
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import unquote

from isal import isal_zlib
from lxml import etree

from xlperf.errors import UnreadableFileError
from xlperf.io.safexml import STREAM_ABOVE, iter_xml, parse_xml

__all__ = [
    "CONTENT_TYPES",
    "LOCAL_HEADER",
    "OFFICE_DOCUMENT",
    "KeptReader",
    "Package",
    "Relationship",
    "SheetEntry",
    "add_relationships",
    "content_type",
    "localname",
    "main_part",
    "raw_name",
    "read_kept",
    "rels_part",
    "relationships",
    "resolve_target",
    "serialize",
    "sheet_map",
    "with_content_types",
]

PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
OFFICE_DOCUMENT = f"{REL_NS}/officeDocument"
CONTENT_TYPES = "[Content_Types].xml"
DECLARATION = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'

_RELATIONSHIP = f"{{{PKG_REL_NS}}}Relationship"
_OVERRIDE, _DEFAULT = f"{{{CT_NS}}}Override", f"{{{CT_NS}}}Default"


@dataclass(frozen=True, slots=True)
class Relationship:
    """One relationship of a part (部件关系): its type, its target part (resolved) and whether it is external."""

    id: str
    type: str
    target: str
    external: bool


@dataclass(frozen=True, slots=True)
class SheetEntry:
    """One ``<sheet>`` of workbook.xml (工作表目录项): its title and the relationship to its part (None
    when the relationship is missing)."""

    title: str
    rel_id: str
    rel: Relationship | None

    @property
    def part(self) -> str | None:
        """The sheet's part name, None for a missing or external relationship."""
        return None if self.rel is None or self.rel.external else self.rel.target

    @property
    def kind(self) -> str:
        """``worksheet``, ``chartsheet``, ``dialogsheet`` … (the relationship type's last word)."""
        return self.rel.type.rsplit("/", 1)[-1] if self.rel is not None else ""


def rels_part(source: str) -> str:
    """The relationships part of ``source`` (``""`` for the package): ``xl/_rels/workbook.xml.rels``."""
    folder, name = posixpath.split(source)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def resolve_target(source: str, target: str) -> str:
    """A relationship's ``Target`` of part ``source`` as a part name (目标部件名), e.g. ``xl/worksheets/sheet1.xml``."""
    target = unquote(target).replace("\\", "/")
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source), target))


def relationships(data: bytes | None, source: str, *, path: str | None = None) -> dict[str, Relationship]:
    """The relationships of part ``source`` by id, from its rels part's bytes (None: it has none)."""
    if data is None:
        return {}
    return dict(read_kept(_kept_relationships, data, source, _KEEP_RELS, path))  # a copy: ours is kept


def _read_relationships(data: bytes, source: str) -> dict[str, Relationship]:
    return _relationships_in(parse_xml(data, part=rels_part(source)), source)


#: The relationships of the last rels parts met, by content and source (按内容保留): the units of a
#: batch come from one template, so theirs are nearly always the same bytes.  Only a part of ordinary
#: size is kept (a real one is under 4 KB), so at most 64 × 64 KB of keys are held.
_kept_relationships = functools.lru_cache(maxsize=64)(_read_relationships)
_KEEP_RELS = 64 * 2**10

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class KeptReader(Protocol[T_co]):
    """A reader of a part's facts kept by content: ``functools.lru_cache`` of ``read(data, name)``."""

    def __call__(self, data: bytes, name: str, /) -> T_co: ...

    @property
    def __wrapped__(self) -> Callable[[bytes, str], T_co]: ...


def read_kept(read: KeptReader[T], data: bytes, name: str, limit: int, path: str | None) -> T:
    """What ``read`` finds in a part's bytes ``data`` (``name``: the part, or the part it belongs to),
    kept by content (按内容保留) when it is at most ``limit`` bytes, else read anew: the units of a
    batch come from one template, so their small parts are nearly always the same bytes.  Damage is
    never kept, and is named with the file at ``path``."""
    try:
        return read(data, name) if len(data) <= limit else read.__wrapped__(data, name)
    except UnreadableFileError as exc:
        raise UnreadableFileError(exc.message, path=path) from None


def _relationships_in(root: etree._Element, source: str) -> dict[str, Relationship]:
    found: dict[str, Relationship] = {}
    for rel in root.iter(_RELATIONSHIP):
        rel_id, target = rel.get("Id"), rel.get("Target")
        if rel_id and target is not None:
            external = rel.get("TargetMode", "").lower() == "external"
            found[rel_id] = Relationship(
                rel_id, rel.get("Type", ""), target if external else resolve_target(source, target), external
            )
    return found


def main_part(rels: Mapping[str, Relationship]) -> str | None:
    """The package's main part (主文档部件: workbook.xml, document.xml) from the package relationships."""
    return next(
        (rel.target for rel in rels.values() if rel.type == OFFICE_DOCUMENT and not rel.external), None
    )


def add_relationships(
    data: bytes | None, source: str, added: Iterable[tuple[str | None, str, str]], *, path: str | None = None
) -> tuple[bytes, list[str]]:
    """The rels part of ``source`` with ``(id or None, type, target part)`` relationships added (添加部件关系),
    and their ids; a None id becomes the first free ``rIdN``."""
    if data is None:
        root = etree.Element(f"{{{PKG_REL_NS}}}Relationships", nsmap={None: PKG_REL_NS})
    else:
        root = parse_xml(data, path=path, part=rels_part(source))
    taken = {rel.get("Id") for rel in root}
    ids = []
    for rel_id, rel_type, target in added:
        if rel_id is None:
            rel_id = next(f"rId{n}" for n in itertools.count(1) if f"rId{n}" not in taken)
        taken.add(rel_id)
        ids.append(rel_id)
        relative = posixpath.relpath(target, posixpath.dirname(source) or ".")
        etree.SubElement(root, _RELATIONSHIP, {"Id": rel_id, "Type": rel_type, "Target": relative})
    return serialize(root), ids


def content_type(types: etree._Element, part: str) -> str | None:
    """The content type of ``part`` (内容类型): its Override, else the Default of its extension."""
    wanted = f"/{part}".lower()
    for override in types.iter(_OVERRIDE):
        if override.get("PartName", "").lower() == wanted:
            return override.get("ContentType")
    _, dot, extension = posixpath.basename(part).rpartition(".")
    extension = extension.lower() if dot else ""
    for default in types.iter(_DEFAULT):
        if default.get("Extension", "").lower() == extension:
            return default.get("ContentType")
    return None


def parts_of_type(types: etree._Element) -> dict[str, str]:
    """Content type → part name of every Override (the first one listed wins)."""
    return {
        o.get("ContentType", ""): o.get("PartName", "").lstrip("/")
        for o in reversed(list(types.iter(_OVERRIDE)))
    }


def with_content_types(
    data: bytes,
    overrides: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
    *,
    path: str | None = None,
) -> bytes:
    """``[Content_Types].xml`` with part ``overrides`` set and extension ``defaults`` added where missing
    (内容类型表); the bytes unchanged when nothing changes."""
    types = parse_xml(data, path=path, part=CONTENT_TYPES)
    changed = False
    present = {d.get("Extension", "").lower() for d in types.iter(_DEFAULT)}
    for extension, kind in (defaults or {}).items():
        if extension.lower() not in present:
            types.insert(0, etree.Element(_DEFAULT, Extension=extension, ContentType=kind))
            changed = True
    known = {item.get("PartName"): item for item in types.iter(_OVERRIDE)}
    for part, kind in (overrides or {}).items():
        override = known.get(f"/{part}")
        if override is None:
            override = etree.SubElement(types, _OVERRIDE, {"PartName": f"/{part}"})
        override.set("ContentType", kind)
        changed = True
    return serialize(types) if changed else data


def sheet_map(workbook: etree._Element, rels: Mapping[str, Relationship]) -> list[SheetEntry]:
    """The sheets of a parsed workbook.xml in tab order (工作表目录), each with its relationship."""
    entries = []
    for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet"):
        rel_id = sheet.get(f"{{{REL_NS}}}id") or next(
            (value for key, value in sheet.attrib.items() if key.endswith("}id")), ""
        )
        entries.append(SheetEntry(sheet.get("name", ""), rel_id, rels.get(rel_id)))
    return entries


def localname(element: etree._Element) -> str:
    """An element's tag without its namespace (本地名), ``""`` for a comment or processing instruction."""
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def serialize(root: etree._Element) -> bytes:
    """UTF-8 XML with the declaration Office itself writes (序列化部件)."""
    return DECLARATION + etree.tostring(root, encoding="UTF-8", xml_declaration=False)


#: A zip entry's local file header (本地文件头), before its name and extra field.
LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_FLAG_ENCRYPTED, _FLAG_UTF8 = 0x01, 0x800


def raw_name(info: zipfile.ZipInfo) -> bytes:
    """An entry's name as its headers spell it (条目名原始字节)."""
    return info.orig_filename.encode("utf-8" if info.flag_bits & _FLAG_UTF8 else "cp437")


#: How much XML one package keeps parsed, all parts together (保留的已解析部件上限): twenty times what a
#: real self-evaluation workbook holds; past it a part is parsed for each caller, as a large part is,
#: so that a file of many parts just under the streaming threshold never holds all their trees at once.
KEEP_BYTES = 4 * 2**20


class Package:
    """A zip package read into memory (压缩包), parts found case-insensitively, each read on request.

    Damage — not a zip, two parts of one name, a part over ``max_part`` bytes or one that fails its
    CRC — raises :class:`UnreadableFileError` naming ``path``.  A small part (up to
    :data:`~xlperf.io.safexml.STREAM_ABOVE` bytes, :data:`KEEP_BYTES` in all) is parsed once and its
    tree kept, so that one build's reader and XML patcher share every parse (:meth:`xml`,
    :meth:`elements`, :meth:`take_xml`).
    """

    def __init__(self, blob: bytes, *, path: str | None = None, max_part: int = 512 * 2**20) -> None:
        self.blob = memoryview(blob)
        self.path = path
        self.max_part = max_part
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(self.blob))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
            raise UnreadableFileError(
                "不是有效的 .xlsx/.xlsm 文件（可能已损坏、已加密或是旧版 .xls）", path=path
            ) from exc
        self.infos = self.zip.infolist()
        self.by_name: dict[str, zipfile.ZipInfo] = {}
        for info in self.infos:
            key = info.filename.lower()
            if key in self.by_name:
                raise UnreadableFileError(f"压缩包中有重复的部件 {info.filename}", path=path)
            self.by_name[key] = info
        self._trees: dict[str, tuple[etree._Element, bytes]] = {}  # small parts parsed, with their bytes
        self._kept = 0  # bytes of the parts in _trees

    @classmethod
    def open(cls, path: Path, *, max_part: int = 512 * 2**20) -> Package:
        """The package in file ``path``; a missing or unreadable file is an :class:`UnreadableFileError`."""
        try:
            blob = path.read_bytes()
        except FileNotFoundError as exc:
            raise UnreadableFileError("文件不存在", path=str(path)) from exc
        except OSError as exc:
            raise UnreadableFileError(f"无法读取文件（{exc.strerror or exc}）", path=str(path)) from exc
        return cls(blob, path=str(path), max_part=max_part)

    def find(self, name: str) -> zipfile.ZipInfo | None:
        """The entry of part ``name`` (OPC part names are case-insensitive), None when absent."""
        return self.by_name.get(name.lower())

    def read(self, name: str | zipfile.ZipInfo) -> bytes:
        """The bytes of a part; missing, oversized or damaged is an :class:`UnreadableFileError`.

        A stored or deflated part (every part Office writes) is inflated straight from the file's bytes
        by ISA-L, never past its declared size, and its size and CRC checked, as zipfile checks them;
        anything else (another method, encryption) goes through zipfile."""
        info = self.find(name) if isinstance(name, str) else name
        if info is None:
            raise UnreadableFileError(f"缺少部件 {name}", path=self.path)
        if info.file_size > self.max_part:
            raise UnreadableFileError(
                f"部件 {info.filename} 解压后超过 {self.max_part // 2**20} MB，拒绝处理", path=self.path
            )
        if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) and not (
            info.flag_bits & _FLAG_ENCRYPTED
        ):
            return self._inflate(info)
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as exc:
            raise UnreadableFileError(f"部件 {info.filename} 已损坏（{exc}）", path=self.path) from exc

    def _inflate(self, info: zipfile.ZipInfo) -> bytes:
        _, data = self.raw(info)
        if info.compress_type == zipfile.ZIP_STORED:
            content = bytes(data)
        else:
            try:  # one byte more than declared: a part that inflates past its size is damage
                content = isal_zlib.decompressobj(-15).decompress(data, info.file_size + 1)
            except isal_zlib.error as exc:  # type: ignore[misc]  # the stub declares an instance, not the class
                raise UnreadableFileError(f"部件 {info.filename} 已损坏（{exc}）", path=self.path) from None
        if len(content) != info.file_size or isal_zlib.crc32(content) != info.CRC:
            raise UnreadableFileError(
                f"部件 {info.filename} 已损坏（解压后的大小或 CRC 校验值与压缩包目录不符）", path=self.path
            )
        return content

    def raw(self, info: zipfile.ZipInfo) -> tuple[bytes, memoryview]:
        """The local extra field and the compressed bytes of entry ``info``, exactly as stored (原始条目)."""
        offset = info.header_offset
        header = bytes(self.blob[offset : offset + LOCAL_HEADER.size])
        if len(header) != LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise UnreadableFileError(f"部件 {info.filename} 的本地文件头已损坏", path=self.path)
        name_len, extra_len = LOCAL_HEADER.unpack(header)[9:11]
        pos = offset + LOCAL_HEADER.size
        name = bytes(self.blob[pos : pos + name_len])
        extra = bytes(self.blob[pos + name_len : pos + name_len + extra_len])
        start = pos + name_len + extra_len
        data = self.blob[start : start + info.compress_size]
        if name != raw_name(info) or len(data) != info.compress_size:
            raise UnreadableFileError(f"部件 {info.filename} 的本地文件头与目录不一致", path=self.path)
        return extra, data

    def _parsed(self, name: str | zipfile.ZipInfo) -> tuple[etree._Element, bytes]:
        info = self.find(name) if isinstance(name, str) else name
        if info is None:
            raise UnreadableFileError(f"缺少部件 {name}", path=self.path)
        kept = self._trees.get(info.filename)
        if kept is None:
            data = self.read(info)
            kept = (parse_xml(data, path=self.path, part=info.filename), data)
            if len(data) <= STREAM_ABOVE and self._kept + len(data) <= KEEP_BYTES:
                self._trees[info.filename] = kept
                self._kept += len(data)
        return kept

    def xml(self, name: str | zipfile.ZipInfo) -> etree._Element:
        """Part ``name`` parsed (解析部件) by :func:`~xlperf.io.safexml.parse_xml`; a small part only once,
        every caller getting the same tree, which it must not change (:meth:`take_xml` for that)."""
        return self._parsed(name)[0]

    def take_xml(self, name: str | zipfile.ZipInfo) -> tuple[etree._Element, bytes]:
        """Part ``name`` parsed for a caller that changes it (取出部件以修改), with the part's bytes: the
        kept tree when there is one, no longer kept (a later :meth:`xml` parses the part anew)."""
        info = self.find(name) if isinstance(name, str) else name
        kept = self._parsed(name)
        if self._trees.pop(info.filename if info is not None else "", None) is not None:
            self._kept -= len(kept[1])
        return kept

    def elements(self, name: str | zipfile.ZipInfo, tags: Sequence[str]) -> Iterator[etree._Element]:
        """The elements named ``tags`` of part ``name`` in document order (部件元素): from its kept tree when
        it is small, streamed by :func:`~xlperf.io.safexml.iter_xml` above ``STREAM_ABOVE`` (no tree kept)."""
        info = self.find(name) if isinstance(name, str) else name
        if info is not None and info.file_size > STREAM_ABOVE:
            return iter_xml(self.read(info), tags, path=self.path, part=info.filename)
        return self.xml(name).iter(*tags)

    def close(self) -> None:
        """Close the zip and let go of the kept trees (关闭); the package cannot be read afterwards."""
        self._trees.clear()
        self._kept = 0
        self.zip.close()

    def relationships(self, source: str) -> dict[str, Relationship]:
        """The relationships of part ``source`` (``""``: the package's) by id, kept by content
        (:func:`relationships`), not as a tree."""
        info = self.find(rels_part(source))
        return relationships(self.read(info), source, path=self.path) if info is not None else {}

    def main_part(self) -> str | None:
        """The main part named by the package relationships, None when there is none."""
        return main_part(self.relationships(""))
