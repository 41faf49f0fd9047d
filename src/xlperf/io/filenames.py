"""Safe output file names (安全的输出文件名): a unit name (单位名称) as one file or folder name."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["safe_output_name"]

_FORBIDDEN_CHARS = re.compile(r'[<>:"|?*]')
_SEPARATORS = re.compile(r"[/\\]")
_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"{dev}{n}" for dev in ("COM", "LPT") for n in "0123456789¹²³"}
)
#: Longest name we derive: file systems allow 255 bytes (ext4, APFS), and a report adds a suffix
#: ("-自评表.xlsx") and atomic writes a temporary marker (".NAME.xlperf-tmp-XXXXXXXX") to it.
_MAX_NAME_BYTES = 180
_DROP_CATEGORIES = {"Cc", "Cf", "Cs"}
_SPACE_CATEGORIES = {"Zs", "Zl", "Zp"}


def safe_output_name(name: str, *, default: str = "未命名单位", max_len: int = 80) -> str:
    """Sanitise a unit name (单位名称) into a single safe file/folder name component.

    Chinese text is kept (NFC-normalised).  Path separators become ``_`` (and ``.``/``..``
    segments are dropped), control and format characters are removed, ``<>:"|?*`` become
    ``_``, runs of dots and spaces collapse, leading/trailing dots and spaces go, Windows
    reserved device names (``CON``, ``con.txt``, ``COM1``...) get a ``_`` prefix, and the
    result is cut to ``max_len`` characters (and at most 180 UTF-8 bytes).  An empty result
    becomes ``default`` (itself sanitised).
    """
    if max_len < 1:
        raise ValueError("max_len must be at least 1")
    result = _sanitise(name, max_len)
    if result:
        return result
    fallback = _sanitise(default, max_len)
    return fallback or "未命名"[:max_len]


def _sanitise(name: str, max_len: int) -> str:
    text = unicodedata.normalize("NFC", str(name).encode("utf-8", "replace").decode("utf-8"))
    segments = [s for s in _SEPARATORS.split(text) if s.strip(" \t.") != ""]
    text = "_".join(segments)
    chars: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85" or category in _SPACE_CATEGORIES:
            chars.append(" ")
        elif category not in _DROP_CATEGORIES:
            chars.append(ch)
    text = _FORBIDDEN_CHARS.sub("_", "".join(chars))
    text = re.sub(r" {2,}", " ", text)
    text = re.sub(r"\.{2,}", ".", text)
    text = _fit(text.strip(" ."), max_len)
    if text.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_RESERVED:
        text = _fit("_" + text, max_len)
    return text


def _fit(text: str, max_len: int) -> str:
    """Cut to ``max_len`` characters and 180 UTF-8 bytes, then drop trailing dots/spaces."""
    text = text[:max_len]
    while len(text.encode("utf-8")) > _MAX_NAME_BYTES:
        text = text[:-1]
    return text.rstrip(" .")
