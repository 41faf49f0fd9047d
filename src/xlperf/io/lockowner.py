"""Who has a workbook open (锁文件用户): Office/WPS and LibreOffice lock files beside a workbook.

Excel and WPS write ``~$book.xlsx`` while a workbook is open, LibreOffice ``.~lock.book.xlsx#``;
:func:`find_lock` finds either and reads the owner's name from it, so a warning can say who.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

__all__ = ["UNKNOWN_USER", "find_lock"]

#: The owner shown when a lock file's name cannot be read (锁文件用户未知).
UNKNOWN_USER = "未知用户"


def find_lock(path: Path) -> tuple[Path | None, str | None]:
    """The Office/WPS (``~$name``) or LibreOffice (``.~lock.name#``) lock file beside ``path`` and its
    owner (锁文件及其用户): ``(None, None)`` without one, :data:`UNKNOWN_USER` when the name is unreadable."""
    for lock, reader in (
        (path.with_name("~$" + path.name), _read_office_owner),
        (path.with_name(".~lock." + path.name + "#"), _read_libreoffice_owner),
    ):
        try:
            if not lock.is_file():
                continue
        except OSError:
            continue
        try:
            with lock.open("rb") as fh:
                data = fh.read(1024)
        except OSError:
            data = b""
        return lock, reader(data) or UNKNOWN_USER
    return None, None


def _plausible_name(name: str) -> str | None:
    name = name.strip(" \x00")
    if not name or any(unicodedata.category(ch)[0] == "C" for ch in name):
        return None
    return name


def _read_office_owner(data: bytes) -> str | None:
    """Owner name from an MS Office/WPS owner file (``~$book.xlsx``); None if unreadable.

    Layout (reverse-engineered, 162/165 bytes): byte 0 is the length of the name in the ANSI
    code page, which follows; from offset 55 (Excel/PowerPoint) or 54 (Word) a 2-byte length
    and the same name in UTF-16-LE.  The UTF-16 copy is preferred (Chinese names survive).
    """
    for offset in (55, 54):
        if len(data) < offset + 2:
            continue
        n = int.from_bytes(data[offset : offset + 2], "little")
        if not 0 < n <= 64 or len(data) < offset + 2 + 2 * n:
            continue
        try:
            name = _plausible_name(data[offset + 2 : offset + 2 + 2 * n].decode("utf-16-le"))
        except UnicodeDecodeError:
            continue
        if name:
            return name
    if data:
        n = data[0]
        raw = data[1 : 1 + n] if 0 < n < len(data) else b""
        for encoding in ("utf-8", "gb18030", "cp1252"):
            try:
                name = _plausible_name(raw.decode(encoding))
            except UnicodeDecodeError:
                continue
            if name:
                return name
    return None


def _read_libreoffice_owner(data: bytes) -> str | None:
    """Owner name from a LibreOffice lock file: ``Full Name,login,host,date,url;``."""
    text = data.decode("utf-8", "replace")
    fields = text.split(",")
    for field in fields[:2]:
        name = _plausible_name(field)
        if name and "\ufffd" not in name:
            return name
    return None
