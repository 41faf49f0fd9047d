"""Copying a zip package entry by entry (原样复制压缩包部件): unchanged parts as their raw compressed
bytes (same order, names, method, timestamps, attributes), changed parts deflated anew.

:class:`ZipWriter` is a minimal writer that can append already-compressed entries (no zip64): the XML
patcher copies a workbook this way, an order of magnitude faster than unpacking and packing it, and
:func:`zip_package` lays out the packages xlperf writes whole (the Word reports, its own workbooks).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import cast

from xlperf.errors import OutputError, UnreadableFileError
from xlperf.io.deflate import Packed, deflate
from xlperf.io.opc import LOCAL_HEADER, Package, raw_name

__all__ = ["ZipWriter", "copy_raw", "write_new", "zip_package"]

_CENTRAL_HEADER = struct.Struct("<4sBBBBHHHHIIIHHHHHII")
_END_RECORD = struct.Struct("<4sHHHHIIH")
_FLAG_ENCRYPTED = 0x01
_FLAG_LEVEL_BITS = 0x06
_FLAG_DATA_DESCRIPTOR = 0x08
_ZIP32_LIMIT = 0xFFFFFFFF


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


class ZipWriter:
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
        name = raw_name(info)
        central_extra = _strip_zip64_extra(info.extra)
        local_extra = _strip_zip64_extra(local_extra)
        self._check(self.offset, len(payload), size, 0 if len(self.central) < 0xFFFF else _ZIP32_LIMIT)
        dos_time, dos_date = _dos_datetime(info.date_time)
        header = LOCAL_HEADER.pack(
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


def copy_raw(writer: ZipWriter, package: Package, info: zipfile.ZipInfo) -> None:
    if info.flag_bits & _FLAG_ENCRYPTED:
        raise UnreadableFileError(f"部件 {info.filename} 已加密，无法处理", path=package.path)
    local_extra, data = package.raw(info)
    writer.add(
        info,
        flags=info.flag_bits & ~_FLAG_DATA_DESCRIPTOR,
        method=info.compress_type,
        crc=info.CRC,
        payload=data,
        size=info.file_size,
        local_extra=local_extra,
    )


def write_new(
    writer: ZipWriter, package: Package, info: zipfile.ZipInfo, content: bytes, level: int | None = None
) -> None:
    """Entry ``info`` of ``package`` with new ``content``, deflated unless it was stored.

    Deflated by :func:`xlperf.io.deflate.deflate`: ISA-L by default (a rebuilt example workbook's
    sheets in a quarter of zlib level 1's time, 1 % larger), zlib at ``level`` when one is given.
    """
    local_extra, _ = package.raw(info)
    if info.compress_type == zipfile.ZIP_STORED:
        method, payload = zipfile.ZIP_STORED, content
    else:  # deflate: anything else Excel could not open anyway
        method, payload = zipfile.ZIP_DEFLATED, deflate(content, level)
    writer.add(
        info,
        flags=info.flag_bits & ~(_FLAG_DATA_DESCRIPTOR | _FLAG_LEVEL_BITS),
        method=method,
        crc=zlib.crc32(content),
        payload=payload,
        size=len(content),
        local_extra=local_extra,
    )


def zip_package(
    entries: Iterable[tuple[str, Packed]],
    date_time: tuple[int, int, int, int, int, int],
    *,
    external_attr: int = 0,
) -> bytes:
    """The bytes of a zip file holding ``entries`` in order, each dated ``date_time`` (打包)."""
    out = io.BytesIO()
    writer = ZipWriter(cast(io.BufferedWriter, out), Path("package.zip"))  # the name is only for zip64
    for name, entry in entries:
        info = zipfile.ZipInfo(name, date_time)
        info.flag_bits = flags = 0 if name.isascii() else 0x800  # 0x800: the name is UTF-8
        info.external_attr = external_attr
        writer.add(
            info, flags=flags, method=entry.method, crc=entry.crc, payload=entry.payload,
            size=entry.size, local_extra=b"",
        )  # fmt: skip
    writer.close(b"")
    return out.getvalue()
