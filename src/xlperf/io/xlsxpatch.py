"""Write results into an existing workbook by patching its sheet XML (XML 补丁写回).

openpyxl load + save drops x14 data validations, data-bar extensions, text boxes, sparklines and
every cached formula value (see ``shared/perf-notes.md`` §4).  :func:`patch_workbook` instead
edits only the ``<sheetData>`` (and ``<dimension>``) of the worksheets that receive values:

* a cell with a formula keeps the formula exactly; only its cached value ``<v>`` and type ``t``
  change (缓存值), so Excel, WPS, LibreOffice, openpyxl ``data_only=True`` and calamine read the
  result without recalculating;
* a cell without a formula gets a plain value (numbers, inline strings, booleans, errors);
* missing rows and cells are created in order.

Every other zip entry is copied as its raw compressed bytes: same order, names, compression
method, timestamps and attributes.  The output goes through :func:`xlperf.io.atomic.atomic_output`,
so the destination is never half-written, and ``src`` may equal ``dst``.

XML comes from strangers, so it is parsed with entity resolution, network access and huge trees
disabled, and a part that declares a DTD is refused.
"""

from __future__ import annotations

import bisect
import functools
import io
import math
import numbers
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Literal as TypingLiteral
from urllib.parse import unquote

from lxml import etree

from xlperf.errors import OutputError, UnreadableFileError, WorkbookStructureError
from xlperf.io.atomic import atomic_output

__all__ = ["ExcelError", "excel_string", "patch_workbook"]

# --------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------

#: Error codes every reader in the project understands.  Newer codes (#SPILL!, #CALC!,
#: #GETTING_DATA, ...) are refused: python-calamine 0.9 fails on the whole sheet when it meets one.
EXCEL_ERROR_CODES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})

MAX_STRING_LENGTH = 32767  # Excel's limit on a cell's text, in UTF-16 code units
MAX_ROW = 1_048_576
MAX_COL = 16_384
MAX_PART_BYTES = 512 * 2**20  # an XML part we parse may not declare more than this uncompressed


class ExcelError(str):
    """An Excel error value such as ``ExcelError("#DIV/0!")`` (错误值).

    Written with ``t="e"``.  Only the seven classic codes are accepted: ``#NULL!``, ``#DIV/0!``,
    ``#VALUE!``, ``#REF!``, ``#NAME?``, ``#NUM!``, ``#N/A`` (case-insensitive on input).
    """

    __slots__ = ()

    def __new__(cls, code: str) -> ExcelError:
        normalized = str(code).strip().upper()
        if normalized not in EXCEL_ERROR_CODES:
            known = "、".join(sorted(EXCEL_ERROR_CODES))
            raise ValueError(f"不支持的 Excel 错误值 {code!r}（unsupported error code; use one of {known}）")
        return super().__new__(cls, normalized)

    def __repr__(self) -> str:
        return f"ExcelError({str(self)!r})"


@dataclass(frozen=True, slots=True)
class Formula:
    """A formula (text without ``=``) with its computed value, written together (公式及缓存值).

    A cell without a formula, or with a plain formula of different text, gets this formula; a
    cell whose formula is shared or an array formula keeps it (Excel stores a column of
    same-shaped formulas that way) and only its cached value changes.
    """

    text: str
    value: object


@dataclass(frozen=True, slots=True)
class Literal:
    """A plain value that replaces whatever formula the cell had (清除公式后写入的值)."""

    value: object


Kind = TypingLiteral["n", "s", "b", "e", "none"]


@dataclass(frozen=True, slots=True)
class _Value:
    kind: Kind
    text: str | None = None
    formula: str | None = None
    literal: bool = False


_NONE = _Value("none")
_EMPTY_RESULT = _Value("s", "")
_RESULT_TYPES = {"s": "str", "b": "b", "e": "e"}  # t= of a formula's cached value
_ILLEGAL_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPE_LOOKALIKE = re.compile("_(x[0-9A-Fa-f]{4}_)")


TRUNCATED = "……（内容过长，已截断）"  # ends a text cut to fit Excel's cell limit


def fit_cell_text(text: str) -> str:
    """``text`` cut to Excel's 32,767-character cell limit (单元格文本上限), counted in UTF-16 units as
    Excel counts, ending with :data:`TRUNCATED` when cut; never splits a surrogate pair."""
    if len(text) <= MAX_STRING_LENGTH // 2 or len(text.encode("utf-16-le")) // 2 <= MAX_STRING_LENGTH:
        return text
    room = MAX_STRING_LENGTH - len(TRUNCATED)
    kept = text.encode("utf-16-le")[: 2 * room].decode("utf-16-le", errors="ignore")
    return kept + TRUNCATED


def excel_string(text: str) -> str:
    """Escape text as an OOXML ``ST_Xstring``: ``_xHHHH_`` for characters XML cannot carry, and
    ``_x005F_`` before a literal ``_xHHHH_`` so that Excel does not decode it."""
    text = _ESCAPE_LOOKALIKE.sub(r"_x005F_\1", text)
    return _ILLEGAL_XML_CHARS.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def _format_number(number: float) -> str:
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number).replace("e", "E")


def _encode_number(value: object, sheet: str, address: str) -> _Value:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (OverflowError, ValueError) as exc:
        raise ValueError(
            f"{_where(sheet, address)}：数值 {value!r} 超出 Excel 可表示的范围（number out of range）"
        ) from exc
    if not math.isfinite(number):
        raise ValueError(
            f"{_where(sheet, address)}：数值 {value!r} 不能写入 Excel（NaN/Inf；请改用 ExcelError）"
        )
    return _Value("n", _format_number(number))


def _where(sheet: str, address: str) -> str:
    return f"工作表「{sheet}」单元格 {address}"


def _encode_value(value: object, sheet: str, address: str) -> _Value:
    if isinstance(value, Formula):
        inner = _encode_value(value.value, sheet, address)
        return _Value(inner.kind, inner.text, formula=value.text.removeprefix("="))
    if isinstance(value, Literal):
        inner = _encode_value(value.value, sheet, address)
        return _Value(inner.kind, inner.text, literal=True)
    kind = type(value)
    if kind is float or kind is int:  # the common case first: isinstance on ABCs is slow
        return _encode_number(value, sheet, address)
    if value is None:
        return _NONE
    if isinstance(value, bool):
        return _Value("b", "1" if value else "0")
    if isinstance(value, ExcelError):
        return _Value("e", str(value))
    if isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH // 2 and len(value.encode("utf-16-le")) // 2 > MAX_STRING_LENGTH:
            raise ValueError(
                f"{_where(sheet, address)}：文本超过 Excel 单元格上限 {MAX_STRING_LENGTH} 个字符（string too long）"
            )
        return _Value("s", excel_string(value))
    if isinstance(value, numbers.Real | Decimal):
        return _encode_number(value, sheet, address)
    raise TypeError(
        f"{_where(sheet, address)}：不支持的值类型 {type(value).__name__}"
        "（expected int, float, str, bool, None or ExcelError）"
    )


_ADDRESS = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


@functools.lru_cache(maxsize=4096)
def _column_index(letters: str) -> int:
    index = 0
    for char in letters.upper():
        index = index * 26 + (ord(char) - 64)
    return index


def column_letters(index: int) -> str:
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def parse_address(address: str) -> tuple[int, int] | None:
    """``"C7"`` -> ``(7, 3)`` (row, column), or None when it is not a valid single-cell address."""
    match = _ADDRESS.fullmatch(address.strip())
    if not match:
        return None
    col, row = _column_index(match.group(1)), int(match.group(2))
    if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
        return None
    return row, col


def parse_range(ref: str) -> tuple[int, int, int, int] | None:
    """``"A1:C5"`` or ``"B2"`` -> ``(row1, col1, row2, col2)``."""
    first, _, last = ref.strip().partition(":")
    start = parse_address(first)
    end = parse_address(last) if last else start
    if start is None or end is None:
        return None
    return min(start[0], end[0]), min(start[1], end[1]), max(start[0], end[0]), max(start[1], end[1])


# --------------------------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------------------------

_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_XML_DECLARATION = re.compile(rb"<\?xml[^>]*\?>\s*")


def _parse_xml(data: bytes, part: str, src: Path) -> etree._Element:
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_blank_text=False,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise UnreadableFileError(f"部件 {part} 不是合法的 XML（{exc}）", path=str(src)) from exc
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None:
        raise UnreadableFileError(f"部件 {part} 含有 DTD 声明，出于安全原因拒绝处理", path=str(src))
    return root


def _serialize_xml(root: etree._Element, original: bytes) -> bytes:
    tree = root.getroottree()
    body = etree.tostring(tree, encoding="UTF-8", xml_declaration=False)
    encoding = (tree.docinfo.encoding or "UTF-8").upper().replace("-", "")
    match = _XML_DECLARATION.match(original)
    if match and encoding == "UTF8":
        return match.group(0) + body  # keep the original declaration, quotes and newline
    standalone = ' standalone="yes"' if tree.docinfo.standalone else ""
    return f'<?xml version="1.0" encoding="UTF-8"{standalone}?>\r\n'.encode("ascii") + body


def _namespace(element: etree._Element) -> str:
    return etree.QName(element).namespace or ""


def _local(element: etree._Element) -> str | None:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else None


# --------------------------------------------------------------------------------------------
# Package (zip) reading and writing
# --------------------------------------------------------------------------------------------

_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_CENTRAL_HEADER = struct.Struct("<4sBBBBHHHHIIIHHHHHII")
_END_RECORD = struct.Struct("<4sHHHHIIH")
_FLAG_ENCRYPTED = 0x01
_FLAG_LEVEL_BITS = 0x06
_FLAG_DATA_DESCRIPTOR = 0x08
_FLAG_UTF8 = 0x800
_ZIP32_LIMIT = 0xFFFFFFFF


def _raw_name(info: zipfile.ZipInfo) -> bytes:
    return info.orig_filename.encode("utf-8" if info.flag_bits & _FLAG_UTF8 else "cp437")


def _strip_zip64_extra(extra: bytes) -> bytes:
    """Drop the zip64 extra field (we write no zip64 records); keep every other extra field."""
    kept = bytearray()
    pos = 0
    while pos + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, pos)
        if header_id != 0x0001:
            kept += extra[pos : pos + 4 + size]
        pos += 4 + size
    return bytes(kept + extra[pos:]) if pos < len(extra) else bytes(kept)


def _dos_datetime(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


class _Package:
    """A source .xlsx/.xlsm held in memory."""

    def __init__(self, src: Path) -> None:
        self.src = src
        try:
            self.blob = memoryview(src.read_bytes())
        except FileNotFoundError as exc:
            raise UnreadableFileError("文件不存在", path=str(src)) from exc
        except OSError as exc:
            raise UnreadableFileError(f"无法读取文件（{exc.strerror or exc}）", path=str(src)) from exc
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(self.blob))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError) as exc:
            raise UnreadableFileError(
                "不是有效的 .xlsx/.xlsm 文件（可能已损坏、已加密或是旧版 .xls）", path=str(src)
            ) from exc
        self.infos = self.zip.infolist()
        self.by_name: dict[str, zipfile.ZipInfo] = {}
        for info in self.infos:
            key = info.filename.lower()
            if key in self.by_name:
                raise UnreadableFileError(f"压缩包中有重复的部件 {info.filename}", path=str(src))
            self.by_name[key] = info

    def find(self, name: str) -> zipfile.ZipInfo | None:
        """Part names are case-insensitive in OPC."""
        return self.by_name.get(name.lower())

    def read(self, info: zipfile.ZipInfo) -> bytes:
        if info.file_size > MAX_PART_BYTES:
            raise UnreadableFileError(
                f"部件 {info.filename} 解压后超过 {MAX_PART_BYTES // 2**20} MB，拒绝处理", path=str(self.src)
            )
        try:
            return self.zip.read(info)
        except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as exc:
            raise UnreadableFileError(f"部件 {info.filename} 已损坏（{exc}）", path=str(self.src)) from exc

    def raw_entry(self, info: zipfile.ZipInfo) -> tuple[bytes, memoryview]:
        """The local extra field and the compressed bytes of ``info``, exactly as stored."""
        offset = info.header_offset
        header = bytes(self.blob[offset : offset + _LOCAL_HEADER.size])
        if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise UnreadableFileError(f"部件 {info.filename} 的本地文件头已损坏", path=str(self.src))
        name_len, extra_len = _LOCAL_HEADER.unpack(header)[9:11]
        pos = offset + _LOCAL_HEADER.size
        name = bytes(self.blob[pos : pos + name_len])
        extra = bytes(self.blob[pos + name_len : pos + name_len + extra_len])
        start = pos + name_len + extra_len
        data = self.blob[start : start + info.compress_size]
        if name != _raw_name(info) or len(data) != info.compress_size:
            raise UnreadableFileError(f"部件 {info.filename} 的本地文件头与目录不一致", path=str(self.src))
        return extra, data


class _ZipWriter:
    """Minimal zip writer that can append already-compressed entries (no zip64)."""

    def __init__(self, out: io.BufferedWriter, dst: Path) -> None:
        self.out = out
        self.dst = dst
        self.offset = 0
        self.central: list[bytes] = []

    def _check(self, *sizes: int) -> None:
        if any(size >= _ZIP32_LIMIT for size in sizes):
            raise OutputError(
                "工作簿超过 4 GB 或 65535 个部件，不支持写回（zip64 not supported）", path=str(self.dst)
            )

    def add(
        self,
        info: zipfile.ZipInfo,
        *,
        flags: int,
        method: int,
        crc: int,
        payload: bytes | memoryview,
        size: int,
        local_extra: bytes,
    ) -> None:
        name = _raw_name(info)
        central_extra = _strip_zip64_extra(info.extra)
        local_extra = _strip_zip64_extra(local_extra)
        self._check(self.offset, len(payload), size, 0 if len(self.central) < 0xFFFF else _ZIP32_LIMIT)
        dos_time, dos_date = _dos_datetime(info.date_time)
        header = _LOCAL_HEADER.pack(
            b"PK\x03\x04", info.extract_version, flags, method, dos_time, dos_date,
            crc, len(payload), size, len(name), len(local_extra),
        )  # fmt: skip
        self.central.append(
            _CENTRAL_HEADER.pack(
                b"PK\x01\x02",
                info.create_version,
                info.create_system,
                info.extract_version,
                info.reserved,
                flags,
                method,
                dos_time,
                dos_date,
                crc,
                len(payload),
                size,
                len(name),
                len(central_extra),
                len(info.comment),
                0,
                info.internal_attr,
                info.external_attr,
                self.offset,
            )  # fmt: skip
            + name
            + central_extra
            + info.comment
        )
        self.out.write(header)
        self.out.write(name)
        self.out.write(local_extra)
        self.out.write(payload)
        self.offset += len(header) + len(name) + len(local_extra) + len(payload)

    def close(self, comment: bytes) -> None:
        directory = b"".join(self.central)
        self._check(self.offset, len(directory))
        count = len(self.central)
        self.out.write(directory)
        self.out.write(
            _END_RECORD.pack(b"PK\x05\x06", 0, 0, count, count, len(directory), self.offset, len(comment))
            + comment
        )


def _copy_raw(writer: _ZipWriter, package: _Package, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & _FLAG_ENCRYPTED:
        raise UnreadableFileError(f"部件 {info.filename} 已加密，无法处理", path=str(package.src))
    local_extra, data = package.raw_entry(info)
    writer.add(
        info,
        flags=info.flag_bits & ~_FLAG_DATA_DESCRIPTOR,
        method=info.compress_type,
        crc=info.CRC,
        payload=data,
        size=info.file_size,
        local_extra=local_extra,
    )


def _write_new(writer: _ZipWriter, package: _Package, info: zipfile.ZipInfo, content: bytes) -> None:
    local_extra, _ = package.raw_entry(info)
    if info.compress_type == zipfile.ZIP_STORED:
        method, payload = zipfile.ZIP_STORED, content
    else:  # deflate (anything else Excel could not open anyway)
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        method, payload = zipfile.ZIP_DEFLATED, compressor.compress(content) + compressor.flush()
    writer.add(
        info,
        flags=info.flag_bits & ~(_FLAG_DATA_DESCRIPTOR | _FLAG_LEVEL_BITS),
        method=method,
        crc=zlib.crc32(content),
        payload=payload,
        size=len(content),
        local_extra=local_extra,
    )


# --------------------------------------------------------------------------------------------
# Workbook structure: sheet titles -> worksheet parts
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Relationship:
    type: str
    target: str
    external: bool


def _rels_part(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", f"{name}.rels")


def _resolve_target(source_part: str, target: str) -> str:
    target = unquote(target).replace("\\", "/")
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(source_part), target))


def _read_relationships(package: _Package, part: str) -> dict[str, _Relationship]:
    info = package.find(_rels_part(part))
    if info is None:
        return {}
    root = _parse_xml(package.read(info), info.filename, package.src)
    relationships: dict[str, _Relationship] = {}
    for rel in root:
        if _local(rel) != "Relationship":
            continue
        rel_id, target = rel.get("Id"), rel.get("Target")
        if rel_id and target is not None:
            relationships[rel_id] = _Relationship(
                rel.get("Type", ""), target, rel.get("TargetMode", "").lower() == "external"
            )
    return relationships


def _workbook_part(package: _Package) -> str:
    for rel in _read_relationships(package, "").values():
        if rel.type.endswith("/officeDocument") and not rel.external:
            return _resolve_target("", rel.target)
    return "xl/workbook.xml"


def _find_child(parent: etree._Element, localname: str) -> etree._Element | None:
    for child in parent:
        if _local(child) == localname:
            return child
    return None


def _sheet_parts(package: _Package, workbook_part: str, workbook: etree._Element) -> dict[str, str | None]:
    """Sheet title -> worksheet part name (None for chart sheets, dialog sheets and the like)."""
    rels = _read_relationships(package, workbook_part)
    sheets = _find_child(workbook, "sheets")
    if sheets is None:
        raise WorkbookStructureError("workbook.xml 中没有 <sheets>，工作簿已损坏", path=str(package.src))
    parts: dict[str, str | None] = {}
    for sheet in sheets:
        if _local(sheet) != "sheet":
            continue
        title = sheet.get("name", "")
        rel_id = next(
            (
                value
                for key, value in sheet.attrib.items()
                if etree.QName(key).localname == "id" and "}" in key
            ),
            None,
        )
        rel = rels.get(rel_id or "")
        if rel is None or rel.external or not rel.type.endswith("/worksheet"):
            parts[title] = None
        else:
            parts[title] = _resolve_target(workbook_part, rel.target)
    return parts


def _lookup_sheet(parts: Mapping[str, str | None], title: str, src: Path) -> str:
    if title in parts:
        found = title
    else:  # Excel compares sheet titles case-insensitively
        matches = [name for name in parts if name.casefold() == title.casefold()]
        if len(matches) != 1:
            existing = "、".join(f"「{name}」" for name in parts) or "（无）"
            raise WorkbookStructureError(
                f"找不到该工作表（现有工作表：{existing}）", path=str(src), sheet=title
            )
        found = matches[0]
    part = parts[found]
    if part is None:
        raise WorkbookStructureError(
            "该工作表不是普通工作表（如图表工作表），不能写入单元格", path=str(src), sheet=title
        )
    return part


# Children of <workbook> that come before <calcPr> (CT_Workbook sequence).
_BEFORE_CALCPR = frozenset(
    {
        "fileVersion", "fileSharing", "workbookPr", "AlternateContent", "workbookProtection",
        "bookViews", "sheets", "functionGroups", "externalReferences", "definedNames",
    }
)  # fmt: skip


#: ``calcPr/@calcId`` of the current Excel engine (Microsoft 365).  ECMA-376 Part 1 §18.2.2: a
#: workbook whose calcId is older than the application's engine is recalculated in full on open,
#: which in an Excel without the xlperf add-in turns every xlperf formula into #NAME?; with the
#: current id and no fullCalcOnLoad, Excel shows the stored results (docs/excel.md).
CURRENT_CALC_ID = "191029"


def _apply_calc_pr(workbook: etree._Element, full_calc_on_load: bool) -> bool:
    """Set or remove ``calcPr/@fullCalcOnLoad``; True when the XML changed.

    Removing it also raises an older ``calcId`` to :data:`CURRENT_CALC_ID`, so that Excel keeps
    the stored results on open instead of recalculating everything (缓存值优先).
    """
    calc_pr = _find_child(workbook, "calcPr")
    if not full_calc_on_load:
        if calc_pr is None:
            return False
        changed = calc_pr.attrib.pop("fullCalcOnLoad", None) is not None
        calc_id = calc_pr.get("calcId", "")
        if not calc_id.isdigit() or int(calc_id) < int(CURRENT_CALC_ID):
            calc_pr.set("calcId", CURRENT_CALC_ID)
            changed = True
        return changed
    if calc_pr is None:
        calc_pr = etree.SubElement(workbook, f"{{{_namespace(workbook)}}}calcPr")
        position = 0
        for index, child in enumerate(workbook):
            if _local(child) in _BEFORE_CALCPR:
                position = index + 1
        workbook.insert(position, calc_pr)
    elif calc_pr.get("fullCalcOnLoad") in ("1", "true"):
        return False
    calc_pr.set("fullCalcOnLoad", "1")
    return True


# --------------------------------------------------------------------------------------------
# Sheet patching
# --------------------------------------------------------------------------------------------


class _SheetPatcher:
    """Applies cell values to one parsed worksheet."""

    def __init__(self, root: etree._Element, where: str, src: Path, title: str) -> None:
        self.root = root
        self.src = src
        self.title = title
        ns = _namespace(root)
        self.tag_row, self.tag_c, self.tag_f = f"{{{ns}}}row", f"{{{ns}}}c", f"{{{ns}}}f"
        self.tag_v, self.tag_is, self.tag_t = f"{{{ns}}}v", f"{{{ns}}}is", f"{{{ns}}}t"
        sheet_data = _find_child(root, "sheetData")
        if sheet_data is None:
            raise WorkbookStructureError(f"{where} 缺少 <sheetData>", path=str(src), sheet=title)
        self.sheet_data = sheet_data
        self.row_numbers: list[int] = []
        self.row_elements: list[etree._Element] = []
        previous = 0
        for row in sheet_data.iterchildren(self.tag_row):
            number = self._index_attr(row, previous, MAX_ROW, "行号")
            if number <= previous:
                raise UnreadableFileError(
                    f"{where} 的行顺序错误（第 {number} 行）", path=str(src), sheet=title
                )
            self.row_numbers.append(number)
            self.row_elements.append(row)
            previous = number
        self.had_cells = any(True for _ in sheet_data.iter(self.tag_c))
        self._array_ranges: list[tuple[int, int, int, int]] | None = None
        self._column_styles: list[tuple[int, int, str]] | None = None
        self.new_cells: list[tuple[int, int]] = []

    def _fail(self, message: str) -> UnreadableFileError:
        return UnreadableFileError(message, path=str(self.src), sheet=self.title)

    def _index_attr(self, row: etree._Element, previous: int, limit: int, what: str) -> int:
        raw = row.get("r")
        if raw is None:  # r is optional in the schema: implicit "previous + 1"
            number = previous + 1
            row.set("r", str(number))
            return number
        if not raw.isdigit() or not 1 <= int(raw) <= limit:
            raise self._fail(f"无效的{what} r={raw!r}")
        return int(raw)

    # -- lookups ---------------------------------------------------------------------------

    def _cells_of(self, row: etree._Element, row_number: int) -> tuple[list[int], list[etree._Element]]:
        columns: list[int] = []
        cells: list[etree._Element] = []
        previous = 0
        for cell in row.iterchildren(self.tag_c):
            ref = cell.get("r")
            if ref is None:
                column = previous + 1
                cell.set("r", f"{column_letters(column)}{row_number}")
            else:
                letters = ref.rstrip("0123456789")
                column = _column_index(letters) if letters.isalpha() and letters.isascii() else 0
                if not 1 <= column <= MAX_COL or ref[len(letters) :] != str(row_number):
                    raise self._fail(f"第 {row_number} 行中的单元格引用 {ref!r} 无效")
            if column <= previous:
                raise self._fail(f"第 {row_number} 行的单元格顺序错误（{cell.get('r')}）")
            columns.append(column)
            cells.append(cell)
            previous = column
        return columns, cells

    def _in_array_formula(self, row: int, column: int) -> bool:
        if self._array_ranges is None:
            self._array_ranges = []
            for formula in self.sheet_data.iter(self.tag_f):
                if formula.get("t") in ("array", "dataTable") and formula.get("ref"):
                    parsed = parse_range(formula.get("ref", ""))
                    if parsed is not None:
                        self._array_ranges.append(parsed)
        return any(r1 <= row <= r2 and c1 <= column <= c2 for r1, c1, r2, c2 in self._array_ranges)

    def _default_style(self, row: etree._Element, column: int) -> str | None:
        """The style Excel gives a new cell: the row's if it is formatted, else the column's."""
        if row.get("customFormat") in ("1", "true") and row.get("s"):
            return row.get("s")
        if self._column_styles is None:
            self._column_styles = []
            cols = _find_child(self.root, "cols")
            for col in cols if cols is not None else ():
                low, high, style = col.get("min", ""), col.get("max", ""), col.get("style")
                if style and low.isdigit() and high.isdigit():
                    self._column_styles.append((int(low), int(high), style))
        for low, high, style in self._column_styles:
            if low <= column <= high:
                return style if style != "0" else None
        return None

    # -- edits -----------------------------------------------------------------------------

    def _new_child(self, parent: etree._Element, tag: str, index: int) -> etree._Element:
        child = etree.SubElement(parent, tag)  # created in the parent's namespace context
        parent.insert(index, child)
        return child

    def _row(self, number: int) -> etree._Element:
        pos = bisect.bisect_left(self.row_numbers, number)
        if pos < len(self.row_numbers) and self.row_numbers[pos] == number:
            return self.row_elements[pos]
        row = etree.SubElement(self.sheet_data, self.tag_row)
        row.set("r", str(number))
        if pos < len(self.row_elements):
            self.row_elements[pos].addprevious(row)
        self.row_numbers.insert(pos, number)
        self.row_elements.insert(pos, row)
        return row

    def _insert_cell(self, row: etree._Element, number: int, column: int, columns: list[int],
                     cells: list[etree._Element]) -> etree._Element:  # fmt: skip
        pos = bisect.bisect_left(columns, column)
        cell = etree.SubElement(row, self.tag_c)
        cell.set("r", f"{column_letters(column)}{number}")
        style = self._default_style(row, column)
        if style is not None:
            cell.set("s", style)
        if pos < len(cells):
            cells[pos].addprevious(cell)
        else:  # after the last cell, but before a row-level extLst if there is one
            last = cells[-1] if cells else None
            if last is not None:
                last.addnext(cell)
            else:
                row.insert(0, cell)
        columns.insert(pos, column)
        cells.insert(pos, cell)
        self._widen_spans(row, column)
        self.new_cells.append((number, column))
        return cell

    @staticmethod
    def _widen_spans(row: etree._Element, column: int) -> None:
        spans = row.get("spans")
        if spans is None:
            return
        low, _, high = spans.partition(":")
        if low.isdigit() and high.isdigit():
            row.set("spans", f"{min(int(low), column)}:{max(int(high), column)}")
        else:  # several spans or garbage: spans is only an optimisation hint
            del row.attrib["spans"]

    def _set_value(self, cell: etree._Element, value: _Value, row: int, column: int) -> None:
        formula = old_v = None
        stale: list[etree._Element] = []
        for child in cell:  # one pass; faster than find()/findall() on lxml
            tag = child.tag
            if tag == self.tag_f:
                formula = child
            elif tag == self.tag_v and old_v is None:
                old_v = child
            elif tag == self.tag_v or tag == self.tag_is:
                stale.append(child)
        for child in stale:
            cell.remove(child)
        cell.attrib.pop("vm", None)  # value metadata describes the old (rich) value
        if value.literal and formula is not None and formula.get("t") not in ("shared", "array", "dataTable"):
            cell.remove(formula)
            formula = None
        elif value.formula is not None:
            formula = self._set_formula(cell, formula, value.formula)
        if value.kind == "none" and (formula is not None or self._in_array_formula(row, column)):
            value = _EMPTY_RESULT  # an empty result is stored as Excel stores it: t="str", <v></v>
        if value.kind == "none":
            if old_v is not None:
                cell.remove(old_v)
            cell.attrib.pop("t", None)
            return
        is_result = formula is not None or self._in_array_formula(row, column)
        if value.kind == "s" and not is_result:
            if old_v is not None:
                cell.remove(old_v)
            cell.set("t", "inlineStr")
            index = cell.index(formula) + 1 if formula is not None else 0
            text = self._new_child(self._new_child(cell, self.tag_is, index), self.tag_t, 0)
            text.set(_XML_SPACE, "preserve")
            text.text = value.text
            return
        if value.kind == "n":
            cell.attrib.pop("t", None)
        else:
            cell.set("t", _RESULT_TYPES[value.kind] if is_result else value.kind)
        if old_v is None:
            old_v = self._new_child(cell, self.tag_v, cell.index(formula) + 1 if formula is not None else 0)
        old_v.text = value.text

    def _set_formula(self, cell: etree._Element, formula: etree._Element | None, text: str) -> etree._Element:
        if formula is None:
            formula = self._new_child(cell, self.tag_f, 0)
        elif formula.get("t") in ("shared", "array", "dataTable"):
            return formula  # keep Excel's shared/array form; only the cached value changes
        formula.text = text
        return formula

    def set_heights(self, heights: Mapping[int, float | None]) -> None:
        """Give rows a fixed height in points, or (None) the default height again (行高)."""
        for number, height in heights.items():
            pos = bisect.bisect_left(self.row_numbers, number)
            exists = pos < len(self.row_numbers) and self.row_numbers[pos] == number
            if height is None:
                if exists:
                    for attribute in ("ht", "customHeight"):
                        self.row_elements[pos].attrib.pop(attribute, None)
                continue
            row = self._row(number)
            row.set("ht", _format_number(float(height)))
            row.set("customHeight", "1")

    def apply(self, values: Mapping[tuple[int, int], _Value]) -> None:
        by_row: dict[int, list[tuple[int, _Value]]] = {}
        for (row, column), value in values.items():
            by_row.setdefault(row, []).append((column, value))
        for number in sorted(by_row):
            targets = sorted(by_row[number], key=lambda item: item[0])
            pos = bisect.bisect_left(self.row_numbers, number)
            exists = pos < len(self.row_numbers) and self.row_numbers[pos] == number
            if not exists and all(value.kind == "none" and value.formula is None for _, value in targets):
                continue  # clearing cells that do not exist: nothing to do
            row = self._row(number)
            columns, cells = self._cells_of(row, number)
            for column, value in targets:
                cpos = bisect.bisect_left(columns, column)
                if cpos < len(columns) and columns[cpos] == column:
                    cell = cells[cpos]
                elif value.kind == "none" and value.formula is None:
                    continue
                else:
                    cell = self._insert_cell(row, number, column, columns, cells)
                self._set_value(cell, value, number, column)
        self._update_dimension()

    def _update_dimension(self) -> None:
        if not self.new_cells:
            return
        dimension = _find_child(self.root, "dimension")
        if dimension is None:
            return  # optional element; readers fall back to scanning
        rows = [row for row, _ in self.new_cells]
        cols = [col for _, col in self.new_cells]
        r1, c1, r2, c2 = min(rows), min(cols), max(rows), max(cols)
        current = parse_range(dimension.get("ref", ""))
        if current is not None and self.had_cells:
            r1, c1 = min(r1, current[0]), min(c1, current[1])
            r2, c2 = max(r2, current[2]), max(c2, current[3])
        start, end = f"{column_letters(c1)}{r1}", f"{column_letters(c2)}{r2}"
        dimension.set("ref", start if start == end else f"{start}:{end}")


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def _group_values(values: Mapping[tuple[str, str], object]) -> dict[str, dict[tuple[int, int], _Value]]:
    grouped: dict[str, dict[tuple[int, int], _Value]] = {}
    for key, value in values.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(part, str) for part in key)):
            raise TypeError(
                f"键必须是 (工作表名, 单元格地址) 元组（key must be (sheet, address)），得到 {key!r}"
            )
        sheet, address = key
        position = parse_address(address)
        if position is None:
            raise ValueError(
                f"{_where(sheet, address)}：不是有效的单元格地址（expected an A1 address like 'C7'）"
            )
        cells = grouped.setdefault(sheet, {})
        if position in cells:
            raise ValueError(
                f"{_where(sheet, address)}：同一单元格出现了两次（duplicate cell after normalising the address）"
            )
        cells[position] = _encode_value(value, sheet, address)
    return grouped


def patch_workbook(
    src: Path,
    dst: Path,
    values: Mapping[tuple[str, str], object],
    *,
    full_calc_on_load: bool | None = None,
    row_heights: Mapping[tuple[str, int], float | None] | None = None,
) -> None:
    """Write ``values`` into a copy of workbook ``src`` saved as ``dst`` (写回结果到工作簿).

    ``values`` maps ``(sheet title, "C7")`` to an int/float, str, bool, None or :class:`ExcelError`.
    Formula cells (including shared-formula children and array formulas) keep their formula and
    get the value as their cached value (缓存值); other cells get a plain value (strings as inline
    strings, so a text starting with ``=`` stays text); None clears the value (a formula cell stores an empty
    result, ``t="str"`` with ``<v></v>``, as Excel does) but keeps the cell and
    its style.  Missing rows and cells are created in order.

    ``row_heights`` maps ``(sheet title, row number)`` to a height in points, or None for the
    default height (so that wrapped text shows in full where applications do not fit rows).

    ``full_calc_on_load``: None leaves ``<calcPr>`` alone, False removes ``fullCalcOnLoad`` (Excel
    then shows the cached values), True sets it to ``"1"``.

    Every other zip entry is copied byte for byte.  ``dst`` is written atomically and may be
    ``src``.  Raises :class:`~xlperf.errors.WorkbookStructureError` for an unknown sheet,
    :class:`~xlperf.errors.UnreadableFileError` for a damaged file,
    :class:`~xlperf.errors.OutputError` when ``dst`` cannot be written, and ``ValueError`` /
    ``TypeError`` for values Excel cannot hold (NaN, unsupported types, bad addresses).
    """
    src, dst = Path(src), Path(dst)
    grouped = _group_values(values)
    heights: dict[str, dict[int, float | None]] = {}
    for (sheet, number), height in (row_heights or {}).items():
        heights.setdefault(sheet, {})[number] = height
        grouped.setdefault(sheet, {})
    package = _Package(src)

    workbook_part = _workbook_part(package)
    workbook_info = package.find(workbook_part)
    if workbook_info is None:
        raise UnreadableFileError("找不到 workbook.xml，不是有效的 Excel 工作簿", path=str(src))
    workbook_xml = package.read(workbook_info)
    workbook = _parse_xml(workbook_xml, workbook_info.filename, src)

    replacements: dict[str, bytes] = {}
    if grouped:
        parts = _sheet_parts(package, workbook_info.filename, workbook)
        for title, cells in grouped.items():
            part = _lookup_sheet(parts, title, src)
            info = package.find(part)
            if info is None:
                raise WorkbookStructureError(
                    f"工作表的部件 {part} 不存在，工作簿已损坏", path=str(src), sheet=title
                )
            if info.filename in replacements:
                raise ValueError(f"工作表「{title}」以不同写法出现了两次（same sheet given twice）")
            original = package.read(info)
            root = _parse_xml(original, info.filename, src)
            patcher = _SheetPatcher(root, info.filename, src, title)
            patcher.apply(cells)
            patcher.set_heights(heights.get(title, {}))
            replacements[info.filename] = _serialize_xml(root, original)

    if full_calc_on_load is not None and _apply_calc_pr(workbook, full_calc_on_load):
        replacements[workbook_info.filename] = _serialize_xml(workbook, workbook_xml)

    with atomic_output(dst) as tmp:
        try:
            with open(tmp, "wb") as handle:
                writer = _ZipWriter(handle, dst)
                for info in package.infos:
                    content = replacements.get(info.filename)
                    if content is None:
                        _copy_raw(writer, package, info)
                    else:
                        _write_new(writer, package, info, content)
                writer.close(package.zip.comment)
        except OSError as exc:  # disk full, quota, I/O error
            raise OutputError(f"写入输出文件失败（{exc.strerror or exc}）", path=str(dst)) from exc
