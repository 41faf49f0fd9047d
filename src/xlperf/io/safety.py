"""Input safety checks for untrusted workbooks (输入文件安全检查).

Finance staff mail workbooks around, and a county bureau may run hundreds it has received.
Before xlperf's reader or openpyxl touches a file, :func:`inspect_workbook_file` refuses bad
files cleanly, quickly and with bounded memory, raising
:class:`~xlperf.errors.UnreadableFileError` with a Chinese message a finance officer can act on:
empty or oversized files, legacy ``.xls`` and password-protected workbooks (OLE2 compound
files), CSV/PDF/HTML files renamed to ``.xlsx``, truncated downloads, zip bombs, Word and
PowerPoint files in disguise, and unsupported extensions.  Nothing is decompressed before the
zip bomb checks, which are decided from the central directory alone; afterwards every XML part a
reader may parse is streamed once (never held whole) to verify its CRC and count its elements
against :data:`PART_LIMITS`, so no part can make a parser take gigabytes or minutes.

XML is parsed by :mod:`xlperf.io.safexml`, lock files are read by :mod:`xlperf.io.lockowner` and
output names made safe by :mod:`xlperf.io.filenames`.
"""

from __future__ import annotations

import functools
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from xlperf.errors import UnreadableFileError
from xlperf.io import opc
from xlperf.io.cellref import column_index
from xlperf.io.lockowner import UNKNOWN_USER, find_lock
from xlperf.io.safexml import GET_ORIGINAL as _GET_ORIGINAL
from xlperf.io.safexml import parse_xml

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_MERGED_CELLS",
    "MAX_TOTAL_ELEMENTS",
    "MAX_UPGRADE_ELEMENTS",
    "MAX_ZIP_ENTRIES",
    "PART_LIMITS",
    "FileReport",
    "PartLimit",
    "check_package",
    "check_part_elements",
    "inspect_workbook_file",
    "merged_area",
    "part_limit",
]

MiB = 2**20

#: More entries than any real workbook has; more means a damaged or hostile file.
MAX_ZIP_ENTRIES = 10_000
#: The largest file xlperf reads: a workbook, a Word template (文件大小上限).
MAX_FILE_BYTES = 50 * MiB


@dataclass(frozen=True)
class PartLimit:
    """How large one kind of XML part of a user's file may be (部件上限).

    ``what`` names the kind in Chinese messages; ``max_bytes`` caps its uncompressed size (decided
    from the zip directory, before anything is unpacked) and ``max_elements`` the XML elements it
    holds (rows, cells, names, styles …; counted while streaming, before any parser builds a tree).
    """

    what: str
    max_bytes: int
    max_elements: int


#: THE caps on every XML part xlperf (or openpyxl, for ``xlperf upgrade``) may parse from a user's
#: workbook (各类部件上限), by part name (lower case, first match wins).  They keep any accepted
#: workbook within about 500 MB and 10 s (measured by bench/bench_hostile.py) while a real
#: self-evaluation workbook uses a few per cent of each: the 高邑镇 example has 109 defined names,
#: about 6,000 cells and no part over 200 KB.  docs/limits.md lists them for users.
PART_LIMITS: tuple[tuple[re.Pattern[str], PartLimit], ...] = (
    (re.compile(r"xl/worksheets/[^/]+\.xml"), PartLimit("工作表", 32 * MiB, 250_000)),
    (re.compile(r"xl/sharedstrings\.xml"), PartLimit("共享字符串表", 32 * MiB, 250_000)),
    (re.compile(r"xl/workbook\.xml"), PartLimit("工作簿目录", 4 * MiB, 50_000)),
    (re.compile(r"xl/styles\.xml"), PartLimit("样式表", 8 * MiB, 200_000)),
    (re.compile(r"xl/tables/[^/]+\.xml"), PartLimit("表格定义", 1 * MiB, 20_000)),
    (re.compile(r"(?:.*/)?_rels/[^/]*\.rels"), PartLimit("部件关系表", 4 * MiB, 50_000)),
    (re.compile(r"\[content_types\]\.xml"), PartLimit("内容类型表", 2 * MiB, 2 * MAX_ZIP_ENTRIES)),
    (re.compile(r"word/[^/]+\.xml"), PartLimit("Word 文档", 16 * MiB, 300_000)),
    (re.compile(r".*\.(?:xml|rels|vml)"), PartLimit("其他", 16 * MiB, 300_000)),
)
#: All XML parts of one file together (整个文件的 XML 元素总数上限).
MAX_TOTAL_ELEMENTS = 1_000_000
#: The same for ``xlperf upgrade``, which loads the whole workbook with openpyxl (about ten times
#: slower per element than xlperf's own reader) (升级时的 XML 元素总数上限).
MAX_UPGRADE_ELEMENTS = 250_000
#: The cells merged ranges of one worksheet may cover together (合并单元格覆盖的单元格总数上限).
MAX_MERGED_CELLS = 200_000


#: What reading a damaged or hostile zip member can raise (损坏的压缩部件).
ZIP_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    struct.error,
    OSError,
)


@functools.lru_cache(maxsize=1024)
def part_limit(name: str) -> PartLimit | None:
    """The :data:`PART_LIMITS` entry for a part name (部件上限), None for a part xlperf never parses;
    kept per name, since every unit of a batch has the same parts."""
    key = name.lower()
    return next((limit for pattern, limit in PART_LIMITS if pattern.fullmatch(key)), None)


#: Entries at most this large are never flagged for their compression ratio.
RATIO_EXEMPT_BYTES = 1 * MiB

OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ACCEPTED_KINDS = {".xlsx": "xlsx", ".xlsm": "xlsm", ".xltx": "xltx", ".xltm": "xltm"}
_MACRO_KINDS = {"xlsm", "xltm"}

_SAVE_AS_XLSX = "请在 Excel 或 WPS 中打开，选择“另存为”Excel 工作簿 (*.xlsx) 后再处理"


@dataclass(frozen=True)
class FileReport:
    """What :func:`inspect_workbook_file` found in an accepted workbook (文件检查结果).

    ``locked_by`` is ``None`` when no Office/WPS/LibreOffice lock file sits next to the
    workbook; otherwise it is the owner name read from the lock file, or ``"未知用户"`` when the
    name cannot be read.  ``lock_file`` is the lock file's path.  A lock is a warning only.
    ``has_macros`` means VBA (``xl/vbaProject.bin``) or Excel 4.0 macro sheets are present:
    xlperf never runs macros, it only keeps them.  ``uncompressed_bytes`` is the total size
    the zip directory declares; ``kind`` is ``"xlsx"``, ``"xlsm"``, ``"xltx"`` or ``"xltm"``.
    """

    path: Path
    size_bytes: int
    kind: str
    has_macros: bool = False
    locked_by: str | None = None
    lock_file: Path | None = None
    uncompressed_bytes: int = 0
    warnings: tuple[str, ...] = ()


class _Refusal(Exception):
    """Internal: carries a Chinese refusal message to the single place that raises."""


# --------------------------------------------------------------------------------------------
# Workbook file inspection
# --------------------------------------------------------------------------------------------


def inspect_workbook_file(
    path: Path | str,
    *,
    max_bytes: int = MAX_FILE_BYTES,
    max_uncompressed: int = 300 * MiB,
    max_ratio: float = 200.0,
    max_elements: int = MAX_TOTAL_ELEMENTS,
) -> FileReport:
    """Check a workbook file before any library opens it (打开前检查工作簿文件).

    Raises :class:`UnreadableFileError` (with ``path`` set and a Chinese message) for a
    missing, empty, oversized, legacy/encrypted, non-zip, truncated, zip-bomb, non-Excel or
    wrongly-named file.  Returns a :class:`FileReport` otherwise.  Memory use is bounded:
    only the file head, the zip directory and a few small parts are read.
    """
    path = Path(path)
    try:
        return _inspect(
            path,
            max_bytes=max_bytes,
            max_uncompressed=max_uncompressed,
            max_ratio=max_ratio,
            max_elements=max_elements,
        )
    except _Refusal as refusal:
        raise UnreadableFileError(str(refusal), path=str(path)) from None
    except OSError as exc:  # an I/O error half-way (network drive dropped, USB stick pulled)
        raise UnreadableFileError(
            f"读取文件时出错（{exc.strerror or exc}），请稍后重试。", path=str(path)
        ) from None


def _inspect(
    path: Path, *, max_bytes: int, max_uncompressed: int, max_ratio: float, max_elements: int
) -> FileReport:
    # 1. exists, regular file, not empty, not too big -------------------------------------
    try:
        st = path.stat()
    except FileNotFoundError:
        raise _Refusal("找不到该文件，请确认文件路径和文件名是否正确。") from None
    except OSError as exc:
        raise _Refusal(f"无法访问该文件（{exc.strerror or exc}），请确认文件路径和访问权限。") from None
    if stat.S_ISDIR(st.st_mode):
        raise _Refusal("这是一个文件夹，不是 Excel 文件；请指定文件夹中的 .xlsx 工作簿。")
    if not stat.S_ISREG(st.st_mode):
        raise _Refusal("这不是普通文件（可能是设备或管道），请指定 .xlsx 工作簿文件。")
    size = st.st_size
    if size == 0:
        raise _Refusal("文件是空的（0 字节），可能在复制、下载或邮件传输时中断；" + _GET_ORIGINAL + "。")
    if size > max_bytes:
        raise _Refusal(
            f"文件大小为 {_size(size)}，超过了允许的上限 {_size(max_bytes)}；"
            "请确认是否选错了文件，或删除工作簿中不需要的工作表和图片后再试。"
        )

    try:
        fh = path.open("rb")
    except PermissionError:
        raise _Refusal("没有读取该文件的权限，或文件正被其他程序独占打开；请关闭相关程序后重试。") from None
    except OSError as exc:
        raise _Refusal(f"无法打开该文件（{exc.strerror or exc}）。") from None

    with fh:
        try:
            head = fh.read(8192)
        except OSError as exc:
            raise _Refusal(f"读取文件时出错（{exc.strerror or exc}）。") from None

        # 2. OLE2 compound file: legacy .xls, encrypted OOXML, or something else ----------
        if head.startswith(OLE2_MAGIC):
            raise _Refusal(_describe_ole(path))

        # 3. not a zip at all --------------------------------------------------------------
        if not _looks_like_zip(head):
            if path.name.startswith("~$"):
                raise _Refusal(
                    "这是 Excel/WPS 打开工作簿时自动生成的临时锁文件（文件名以 ~$ 开头），"
                    "不是工作簿本身；请忽略该文件，选择不带 ~$ 的 .xlsx 文件。"
                )
            what, hint = _sniff_non_zip(head)
            space = " " if what[0].isascii() else ""
            raise _Refusal(
                f"文件内容不是 Excel 工作簿（.xlsx 文件实际是 ZIP 压缩格式），看起来是{space}{what}；{hint}。"
            )

        # 4. truncated / corrupt zip; entry count decided before zipfile parses anything ----
        _scan_central_directory(fh, size)
        try:
            zf = zipfile.ZipFile(fh)
        except (zipfile.BadZipFile, ValueError, EOFError, struct.error, NotImplementedError, OSError):
            raise _Refusal(_corrupt("压缩包目录无法读取")) from None

        with zf:
            infos = zf.infolist()
            # 5. zip bombs, from the central directory only -------------------------------
            total = _check_bomb(infos, max_uncompressed=max_uncompressed, max_ratio=max_ratio)

            by_name: dict[str, zipfile.ZipInfo] = {}
            for info in infos:
                key = info.filename.lower()
                if key in by_name:
                    raise _Refusal(_corrupt(f"压缩包中有重复的部件「{info.filename}」"))
                by_name[key] = info

            # 6. missing OOXML parts / other Office formats in disguise --------------------
            _check_parts(zf, by_name, path)

            # 7. elements of every part a reader may parse (streamed; verifies their CRC) --
            check_part_elements(zf, infos, max_elements)

            has_macros = "xl/vbaproject.bin" in by_name or any(
                k.startswith("xl/macrosheets/") for k in by_name
            )

    # 8. the extension ----------------------------------------------------------------------
    kind = _check_extension(path, has_macros)

    warnings: list[str] = []
    if has_macros and kind not in _MACRO_KINDS:
        warnings.append(
            f"文件扩展名为 .{kind}，但其中包含宏（VBA 代码），通常应为 .xlsm；xlperf 不会运行宏。"
        )
    lock_file, locked_by = find_lock(path)
    if lock_file is not None:
        who = f"「{locked_by}」" if locked_by != UNKNOWN_USER else "其他用户"
        warnings.append(
            f"该工作簿似乎正被{who}在 Excel/WPS 中打开（发现锁文件「{lock_file.name}」）；"
            "读取到的是最后一次保存的内容，未保存的修改不会包含在内。"
            "如已确认关闭 Excel/WPS，可删除该锁文件。"
        )
    return FileReport(
        path=path,
        size_bytes=size,
        kind=kind,
        has_macros=has_macros,
        locked_by=locked_by,
        lock_file=lock_file,
        uncompressed_bytes=total,
        warnings=tuple(warnings),
    )


def check_package(
    zf: zipfile.ZipFile, *, max_uncompressed: int = 300 * MiB, max_ratio: float = 200.0
) -> None:
    """The zip bomb and :data:`PART_LIMITS` checks for any other package of a user's (压缩包检查),
    e.g. a bureau's Word template: raises :class:`UnreadableFileError` (no path; the caller names the
    file) before any part is read whole."""
    infos = zf.infolist()
    try:
        _check_bomb(infos, max_uncompressed=max_uncompressed, max_ratio=max_ratio)
        check_part_elements(zf, infos)
    except _Refusal as refusal:
        raise UnreadableFileError(str(refusal)) from None


def _size(n: float) -> str:
    """A byte count for messages: ``12.3 MB``, ``300 MB``, ``4.5 KB`` or ``800 字节``."""
    if n >= MiB:
        value = n / MiB
        return f"{value:.0f} MB" if value >= 100 or value == int(value) else f"{value:.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n:.0f} 字节"


def _corrupt(detail: str) -> str:
    return (
        f"文件不完整或已损坏（{detail}），可能是下载、复制或邮件附件传输时中断；"
        f"{_GET_ORIGINAL}，或在 Excel 中打开确认能否正常显示后另存一份。"
    )


# --- OLE2 ----------------------------------------------------------------------------------


def _describe_ole(path: Path) -> str:
    """Chinese refusal for an OLE2 compound file: encrypted OOXML, .xls, .doc, .ppt, ..."""
    try:
        import olefile
    except ImportError:  # pragma: no cover - olefile ships with oletools
        return (
            "这是旧版 Excel 97-2003 (.xls) 文件或设置了打开密码的加密文件，xlperf 无法读取；"
            "如有密码请先取消密码，" + _SAVE_AS_XLSX + "。"
        )
    try:
        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(entry).lower() for entry in ole.listdir(streams=True, storages=False)}
    except Exception:  # untrusted input: olefile may raise anything on a damaged file
        return (
            "文件开头像旧版 Office 97-2003 文件（如 .xls），但内容已损坏，无法识别；" + _GET_ORIGINAL + "。"
        )
    if "encryptedpackage" in streams and "encryptioninfo" in streams:
        return (
            "文件设置了打开密码（已加密），xlperf 无法读取。请在 Excel 中打开后点击"
            "“文件 → 信息 → 保护工作簿 → 用密码进行加密”，清空密码并保存（WPS：“文件 → 文档加密 → "
            "密码加密”，清除打开密码），然后再处理。"
        )
    if "workbook" in streams or "book" in streams:
        return "这是旧版 Excel 97-2003 (.xls) 文件，" + _SAVE_AS_XLSX + "。"
    if "worddocument" in streams:
        return "这是旧版 Word 97-2003 (.doc) 文档，不是 Excel 工作簿；请选择正确的 .xlsx 文件。"
    if "powerpoint document" in streams:
        return "这是旧版 PowerPoint 97-2003 (.ppt) 演示文稿，不是 Excel 工作簿；请选择正确的 .xlsx 文件。"
    return (
        "这是 Office 97-2003 格式的复合文档，但不是 Excel 工作簿（找不到工作簿数据）；"
        "请选择正确的 .xlsx 文件。"
    )


# --- not a zip -----------------------------------------------------------------------------

_BINARY_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF", "PDF 文档", "PDF 无法转换回表格数据，" + _GET_ORIGINAL + "（.xlsx 格式）"),
    (b"{\\rtf", "RTF 文档（写字板/Word 格式）", _GET_ORIGINAL + "（.xlsx 格式）"),
    (b"\x89PNG", "PNG 图片", _GET_ORIGINAL + "（.xlsx 格式）"),
    (b"\xff\xd8\xff", "JPEG 图片", _GET_ORIGINAL + "（.xlsx 格式）"),
    (b"GIF8", "GIF 图片", _GET_ORIGINAL + "（.xlsx 格式）"),
    (b"Rar!", "RAR 压缩包", "请先解压，再选择其中的 .xlsx 文件"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包", "请先解压，再选择其中的 .xlsx 文件"),
    (b"\x1f\x8b", "gzip 压缩包", "请先解压，再选择其中的 .xlsx 文件"),
    (b"MZ", "Windows 可执行程序", "请勿打开来历不明的程序文件，" + _GET_ORIGINAL),
)


def _looks_like_zip(head: bytes) -> bool:
    """A zip local header, empty-archive or spanning marker (or a file cut inside one)."""
    if not head.startswith(b"PK"):
        return False
    return len(head) < 4 or head[2:4] in (b"\x03\x04", b"\x05\x06", b"\x07\x08")


def _sniff_non_zip(head: bytes) -> tuple[str, str]:
    """A Chinese description of what a non-zip file looks like, and what to do about it."""
    for magic, what, hint in _BINARY_SIGNATURES:
        if head.startswith(magic):
            return what, hint
    text = _decode_text(head)
    if text is None:
        return "一种无法识别的格式", _SAVE_AS_XLSX
    probe = text.lstrip().lower()
    if probe.startswith("mime-version:") or "content-type: multipart/related" in probe[:2000]:
        return "网页存档 (.mht)（有些系统导出的“Excel”其实是网页）", _SAVE_AS_XLSX
    if probe.startswith(("<!doctype html", "<html")) or "<html" in probe[:2000] or "<table" in probe[:2000]:
        return "网页 (HTML) 文件（有些系统导出的“Excel”其实是网页）", _SAVE_AS_XLSX
    if probe.startswith("<?xml") or probe.startswith("<"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in probe or "excel.sheet" in probe:
            return "Excel 2003 XML 表格", _SAVE_AS_XLSX
        return "XML 文本文件", _SAVE_AS_XLSX
    first_line = probe.split("\n", 1)[0]
    if "," in first_line or "\t" in first_line or "，" in first_line:
        return "CSV 或制表符分隔的文本文件", "请用 Excel 打开后“另存为”Excel 工作簿 (*.xlsx) 再处理"
    return "纯文本文件", _SAVE_AS_XLSX


def _decode_text(head: bytes) -> str | None:
    """Decode a file head as text (UTF-8/UTF-16/GB18030) if it looks like text, else None."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates: tuple[str, ...] = ("utf-16",)
    else:
        if b"\x00" in head:
            return None
        candidates = ("utf-8-sig", "gb18030")
    for encoding in candidates:
        # A multi-byte character may be cut at the end of the head: ignore the last few bytes.
        for cut in range(4):
            try:
                text = head[: len(head) - cut].decode(encoding)
            except UnicodeDecodeError:
                continue
            printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
            if text and printable >= 0.95 * len(text):
                return text
            break
    return None


# --- zip structure -------------------------------------------------------------------------

_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record, 22 bytes
_EOCD64_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes
_EOCD64 = struct.Struct("<4sQ2H2L4Q")  # 56 bytes
_CDH_SIZE = 46  # fixed part of a central directory file header


def _scan_central_directory(fh: BinaryIO, size: int) -> int:
    """Locate and walk the zip central directory without decompressing anything.

    Returns the number of entries.  Refuses a truncated file (no end-of-directory record, a
    directory pointing outside the file or malformed headers) and more than
    :data:`MAX_ZIP_ENTRIES` entries -- before :mod:`zipfile` would build a ``ZipInfo`` per
    entry, so memory stays bounded whatever the directory claims.
    """
    tail_len = min(size, _EOCD.size + 0xFFFF)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    record = None
    while pos >= 0:
        if pos + _EOCD.size <= len(tail):
            candidate = _EOCD.unpack_from(tail, pos)
            if pos + _EOCD.size + candidate[7] <= len(tail):
                record = candidate
                break
        pos = tail.rfind(b"PK\x05\x06", 0, pos)
    if record is None:
        raise _Refusal(_corrupt("找不到压缩包目录，文件末尾缺失"))
    eocd_at = size - tail_len + pos
    _sig, disk, cd_disk, _n_disk, n_total, cd_size, cd_offset, _comment = record
    directory_end = eocd_at
    if n_total == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF:
        locator_at = eocd_at - _EOCD64_LOCATOR.size
        record64_at = locator_at - _EOCD64.size
        if record64_at < 0:
            raise _Refusal(_corrupt("压缩包目录不完整"))
        fh.seek(record64_at)
        raw = fh.read(_EOCD64.size + _EOCD64_LOCATOR.size)
        if (
            len(raw) < _EOCD64.size + _EOCD64_LOCATOR.size
            or raw[:4] != b"PK\x06\x06"
            or raw[_EOCD64.size : _EOCD64.size + 4] != b"PK\x06\x07"
        ):
            raise _Refusal(_corrupt("压缩包目录不完整"))
        fields = _EOCD64.unpack_from(raw, 0)
        disk, cd_disk, n_total, cd_size, cd_offset = fields[4], fields[5], fields[7], fields[8], fields[9]
        directory_end = record64_at
    if disk != 0 or cd_disk != 0:
        raise _Refusal("这是分卷压缩文件的一部分，不是完整的 Excel 工作簿；" + _GET_ORIGINAL + "。")
    if n_total > MAX_ZIP_ENTRIES:
        raise _Refusal(_too_many_entries(n_total))
    directory_start = directory_end - cd_size
    if directory_start < 0 or cd_offset > directory_start:
        raise _Refusal(_corrupt("压缩包目录指向文件之外，文件不完整"))

    count = 0
    at = directory_start
    fh.seek(at)
    while at < directory_end:
        header = fh.read(_CDH_SIZE)
        if len(header) < _CDH_SIZE or header[:4] != b"PK\x01\x02":
            raise _Refusal(_corrupt("压缩包目录损坏"))
        name_len, extra_len, comment_len = struct.unpack_from("<3H", header, 28)
        at += _CDH_SIZE + name_len + extra_len + comment_len
        count += 1
        if count > MAX_ZIP_ENTRIES:
            raise _Refusal(_too_many_entries(count, at_least=True))
        fh.seek(at)
    if at != directory_end:
        raise _Refusal(_corrupt("压缩包目录损坏"))
    fh.seek(0)
    return count


def _too_many_entries(n: int, *, at_least: bool = False) -> str:
    amount = f"超过 {MAX_ZIP_ENTRIES:,} 个" if at_least else f"{n:,} 个"
    return (
        f"文件中包含{amount}部件，而正常工作簿最多只有几百个（上限 {MAX_ZIP_ENTRIES:,} 个）；"
        "文件可能已损坏或是恶意构造的，已拒绝处理。"
    )


def _check_bomb(infos: list[zipfile.ZipInfo], *, max_uncompressed: int, max_ratio: float) -> int:
    """Refuse zip bombs using the sizes declared in the central directory; return the total."""
    if len(infos) > MAX_ZIP_ENTRIES:  # already refused by the directory scan; kept as a guard
        raise _Refusal(_too_many_entries(len(infos)))
    total = sum(info.file_size for info in infos)
    if total > max_uncompressed:
        raise _Refusal(
            f"文件解压后的总大小为 {_size(total)}，超过了允许的上限 {_size(max_uncompressed)}；"
            "正常的绩效自评工作簿远小于此，文件可能已损坏或是恶意构造的“压缩炸弹”，已拒绝处理。"
        )
    for info in infos:
        if info.file_size > RATIO_EXEMPT_BYTES and info.file_size > max_ratio * max(info.compress_size, 1):
            ratio = info.file_size / max(info.compress_size, 1)
            raise _Refusal(
                f"文件中的部件「{info.filename}」压缩比异常：{_size(info.compress_size)} 解压后为 "
                f"{_size(info.file_size)}（约 {ratio:,.0f} 倍，上限 {max_ratio:,.0f} 倍）；"
                "文件可能是恶意构造的“压缩炸弹”，已拒绝处理。"
            )
        limit = part_limit(info.filename)
        if limit is not None and info.file_size > limit.max_bytes:
            raise _Refusal(
                f"{limit.what}部件「{info.filename}」解压后为 {_size(info.file_size)}，超过允许的 "
                f"{_size(limit.max_bytes)}；{_TOO_BIG_HINT}"
            )
    return total


_TOO_BIG_HINT = "绩效自评工作簿的任何部件通常不足 1 MB，请删除大量无关数据（如整列公式、成片的空行或格式、粘贴的明细）后再处理。"


_MERGE_REF = re.compile(
    rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=[\"']([A-Za-z$]{1,4}\d{1,7}):([A-Za-z$]{1,4}\d{1,7})[\"']"
)
_ADDRESS = re.compile(rb"\$?([A-Za-z]{1,3})\$?(\d+)")


def merged_area(data: bytes) -> int:
    """How many cells the merged ranges of a worksheet's XML cover together (合并单元格覆盖的单元格数).

    openpyxl makes an object for every covered cell, so ``xlperf upgrade`` compares this with
    :data:`MAX_MERGED_CELLS` before it loads a workbook; found with a regular expression, no parse.
    """
    total = 0
    for match in _MERGE_REF.finditer(data):
        first, last = _ADDRESS.fullmatch(match[1]), _ADDRESS.fullmatch(match[2])
        if first is None or last is None:
            continue
        columns = abs(column_index(last[1].decode("ascii")) - column_index(first[1].decode("ascii"))) + 1
        total += columns * (abs(int(last[2]) - int(first[2])) + 1)
    return total


def check_part_elements(
    zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], max_elements: int = MAX_TOTAL_ELEMENTS
) -> None:
    """Count the XML elements of every part :data:`PART_LIMITS` covers, streamed (XML 元素计数).

    Raises :class:`_Refusal` for a part over its ``max_elements`` or a file over ``max_elements``
    in all.  Nothing is kept: each part is read in 1 MB pieces, and reading it to the end also
    verifies its CRC.  An element is counted at each ``<`` that does not open an end tag, so
    comments and processing instructions count too (an upper bound).

    A part holds at most as many elements as bytes, and zipfile never returns more bytes than the
    directory declares: when the declared sizes already keep every part and the total within the
    limits (any ordinary workbook), only the parts that identify a workbook are read, for their CRC.
    """
    limited = [(info, limit) for info in infos if (limit := part_limit(info.filename)) is not None]
    if sum(info.file_size for info, _ in limited) <= max_elements and all(
        info.file_size <= limit.max_elements for info, limit in limited
    ):
        limited = [(info, limit) for info, limit in limited if info.filename.lower() in _KEY_PARTS]
    total = 0
    for info, limit in limited:
        count = _count_elements(zf, info)
        total += count
        if count > limit.max_elements:
            title = _sheet_title(zf, info.filename) if limit is PART_LIMITS[0][1] else None
            what = (
                f"工作表「{title}」（部件 {info.filename}）"
                if title
                else f"{limit.what}部件「{info.filename}」"
            )
            raise _Refusal(
                f"{what}含约 {count:,} 个 XML 元素（行、单元格、名称、样式等），"
                f"超过允许的 {limit.max_elements:,} 个；{_TOO_BIG_HINT}"
            )
        if total > max_elements:
            raise _Refusal(
                f"文件中的 XML 元素（行、单元格、名称、样式等）超过 {max_elements:,} 个"
                f"（读到「{info.filename}」时）；{_TOO_BIG_HINT}"
            )


def _sheet_title(zf: zipfile.ZipFile, part: str) -> str | None:
    """The title a user sees for a worksheet part (工作表名称), from workbook.xml; None if unknown.

    Only called for a refusal, and only reads workbook.xml and its relationships when both are small."""
    workbook, rels = "xl/workbook.xml", opc.rels_part("xl/workbook.xml")
    try:
        if any(zf.getinfo(name).file_size > 256 * 1024 for name in (workbook, rels)):
            return None
        relationships = opc.relationships(zf.read(rels), workbook)
        sheets = opc.sheet_map(parse_xml(zf.read(workbook)), relationships)
    except (KeyError, UnreadableFileError, zipfile.BadZipFile, zlib.error, OSError, ValueError):
        return None
    return next((sheet.title for sheet in sheets if sheet.part == part), None)


# Parts whose CRC is always verified (streamed, never held whole); they are small in any real workbook.
_KEY_PARTS = ("[content_types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels")


def _count_elements(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    if info.flag_bits & 0x1:
        raise _Refusal(_corrupt(f"部件「{info.filename}」被 ZIP 密码加密"))
    count, previous = 0, b""
    try:
        with zf.open(info) as part:
            while chunk := part.read(MiB):
                count += chunk.count(b"<") - (previous + chunk).count(b"</")
                previous = chunk[-1:]
    except ZIP_DAMAGE:
        raise _Refusal(_corrupt(f"部件「{info.filename}」校验失败")) from None
    return count


def _check_parts(zf: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo], path: Path) -> None:
    """Refuse zips that are not SpreadsheetML packages, naming what they are if possible."""
    ext = path.suffix or "（无扩展名）"
    if "mimetype" in by_name and "content.xml" in by_name:
        mimetype = _read_small(zf, by_name["mimetype"], 200).decode("ascii", "replace")
        if "opendocument.spreadsheet" in mimetype:
            raise _Refusal(
                "这是 OpenDocument 表格 (.ods，WPS/LibreOffice 格式)，xlperf 只能读取 .xlsx；"
                + _SAVE_AS_XLSX
                + "。"
            )
        if "opendocument.text" in mimetype:
            raise _Refusal("这是 OpenDocument 文本文档 (.odt)，不是 Excel 工作簿；请选择正确的 .xlsx 文件。")
        raise _Refusal("这是 OpenDocument 格式的文件，不是 Excel 工作簿；请选择正确的 .xlsx 文件。")
    if "word/document.xml" in by_name:
        raise _Refusal(
            f"这是 Word 文档 (.docx)，只是扩展名为「{ext}」，不是 Excel 工作簿；请选择正确的 .xlsx 文件。"
        )
    if "ppt/presentation.xml" in by_name:
        raise _Refusal(
            f"这是 PowerPoint 演示文稿 (.pptx)，只是扩展名为「{ext}」，不是 Excel 工作簿；"
            "请选择正确的 .xlsx 文件。"
        )
    if "xl/workbook.bin" in by_name:
        raise _Refusal("这是 Excel 二进制工作簿 (.xlsb)，xlperf 无法读取；" + _SAVE_AS_XLSX + "。")
    if "[content_types].xml" not in by_name:
        raise _Refusal(
            "文件是 ZIP 压缩包，但缺少 Excel 工作簿必需的 [Content_Types].xml，不是有效的 .xlsx 文件"
            "（可能是普通压缩包被改了扩展名，或文件已损坏）；" + _GET_ORIGINAL + "。"
        )
    if "xl/workbook.xml" not in by_name:
        raise _Refusal(
            "文件是 Office 文档压缩包，但缺少工作簿主体 xl/workbook.xml，不是有效的 Excel 工作簿"
            "（可能是其他类型的 Office 文件，或文件已损坏）；" + _GET_ORIGINAL + "。"
        )


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """Read at most ``limit`` bytes of a part; damage is a refusal."""
    try:
        with zf.open(info) as part:
            return part.read(limit)
    except ZIP_DAMAGE:
        raise _Refusal(_corrupt(f"部件「{info.filename}」无法读取")) from None


# --- extension -----------------------------------------------------------------------------


def _check_extension(path: Path, has_macros: bool) -> str:
    """The workbook kind from the extension; refuse extensions downstream readers reject."""
    suffix = path.suffix.lower()
    if suffix in ACCEPTED_KINDS:
        return ACCEPTED_KINDS[suffix]
    if suffix == ".xlam":
        raise _Refusal(
            "这是 Excel 加载项 (.xlam)，其中只有宏和功能区代码，不是填报数据的工作簿；"
            "请选择 .xlsx 或 .xlsm 工作簿。"
        )
    if suffix == ".xlsb":
        raise _Refusal("这是 Excel 二进制工作簿 (.xlsb)，xlperf 无法读取；" + _SAVE_AS_XLSX + "。")
    if suffix == ".ods":
        raise _Refusal("扩展名为 .ods（OpenDocument 表格），xlperf 只能读取 .xlsx；" + _SAVE_AS_XLSX + "。")
    right = ".xlsm" if has_macros else ".xlsx"
    shown = f"「{path.suffix}」" if path.suffix else "空的（文件名没有扩展名）"
    raise _Refusal(
        f"文件内容是 Excel 工作簿，但扩展名是{shown}，而 xlperf 只接受 .xlsx、.xlsm、.xltx、.xltm；"
        f"请把扩展名改为 {right}（或在 Excel 中另存为 {right}）后再处理。"
    )
