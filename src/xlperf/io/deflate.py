"""Deflating zip entries (压缩部件): one function for every part xlperf writes itself.

:func:`deflate` compresses with ISA-L at its level 1 — as small as zlib's level 1, four times as
fast — unless a zlib ``level`` is asked for (a file written once for many readers, a template, takes
6).  :func:`pack` prepares one part as a zip entry stores it: pictures as they are (compressed
already), the rest deflated; :func:`pack_repeated` once for a part that comes back unchanged in
package after package.  :func:`xlperf.io.zipcopy.zip_package` lays packed entries out as a
zip file.
"""

from __future__ import annotations

import functools
import zipfile
import zlib
from dataclasses import dataclass

from isal import isal_zlib

__all__ = ["Packed", "deflate", "pack", "pack_repeated"]

_STORED_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")


def deflate(data: bytes, level: int | None = None) -> bytes:
    """``data`` as a raw deflate stream (压缩), as a zip entry holds it: ISA-L at its level 1, or zlib
    at ``level`` (1–9) when one is given."""
    compressor = (
        isal_zlib.compressobj(1, isal_zlib.DEFLATED, -15)
        if level is None
        else zlib.compressobj(level, zlib.DEFLATED, -15)
    )
    return compressor.compress(data) + compressor.flush()


@dataclass(frozen=True)
class Packed:
    """A zip entry's payload as written (压缩后的部件): method, CRC-32, size and the (deflated) bytes."""

    method: int
    crc: int
    size: int
    payload: bytes


def pack(name: str, data: bytes) -> Packed:
    """``data`` as the entry ``name`` stores it: pictures stored, everything else deflated."""
    if name.lower().endswith(_STORED_SUFFIXES):
        return Packed(zipfile.ZIP_STORED, zlib.crc32(data), len(data), data)
    return Packed(zipfile.ZIP_DEFLATED, zlib.crc32(data), len(data), deflate(data))


@functools.lru_cache(maxsize=64)
def pack_repeated(name: str, data: bytes) -> Packed:
    """:func:`pack` for a small part that most packages written repeat (relationships, content types,
    styles, a template's headers): deflated once, then found by its bytes."""
    return pack(name, data)
