"""The inbox (收件箱): every workbook under a folder and inside its .zip files, each with a fingerprint.

A *source* is one submitted file.  Its ``key`` — the path inside the inbox, with ``/`` and, for a
member of a zip, the zip's key in front (``县/各单位.zip/财政局.xlsx``) — names it across runs; its
``digest`` (SHA-256 of the content) tells whether it changed since its outputs were written.

Zip files come from strangers, so members are never extracted under their own names: each goes to
``<temp>/<n>/<sanitised name>`` in a temporary directory, streamed with a running size check (the
sizes a zip declares are not trusted), so path traversal (``../``, absolute paths, drive letters),
symlinks and zip bombs cannot write outside it.  Encrypted, oversized, nested-zip and damaged
members are kept as sources with a Chinese ``problem`` so the summary lists them.

Every file the inbox holds is listed: one that is not a workbook (.rar, .7z, .csv, .pdf, an .xlsx
renamed .zip …) is a source with the reason it was not processed.  Only system files (Office lock
files, hidden files, ``Thumbs.db``) and xlperf's own outputs are left out, with a note: a previous
batch's output folder (its ``.xlperf-batch`` folder, or — copied without it — its 汇总.xlsx) or one
unit's folder of it (its 校验结果.json), an ``xlperf build`` output folder (its ``.xlperf-outputs.json``
ledger, or the default ``xlperf-output`` name), and any file xlperf wrote (:func:`written_by_xlperf`:
汇总.xlsx, 自评表, reports).
An archive lists at most :data:`MAX_LISTED_MEMBERS` members, then one source for the rest.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..io.atomic import os_error_text
from ..io.filenames import safe_output_name
from ..io.overwrite import LEDGER
from ..io.safety import MAX_ZIP_ENTRIES
from ..workbook.contract import VERSION_NAME
from .unit import FINDINGS_FILE

MiB = 2**20
#: Suffixes taken as workbooks; the file checks refuse the ones xlperf cannot read, with the reason.
WORKBOOK_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xltx", ".xltm", ".xls", ".xlsb", ".xlt", ".et", ".ods"})
ZIP_SUFFIX = ".zip"
MAX_MEMBER_BYTES = 50 * MiB  # the file checks' limit for one workbook
MAX_ZIP_BYTES = 2048 * MiB  # everything extracted from one inbox
MAX_RATIO = 200.0  # compression ratio above which a member larger than 1 MiB is a bomb
MAX_LISTED_MEMBERS = 200  # members of one archive listed one by one; the rest is one source
_CHUNK = 1 * MiB
BATCH_DIR = ".xlperf-batch"  # the batch's own folder inside its output: marks a batch output folder
BUILD_OUTPUT = "xlperf-output"  # xlperf build's default output folder
SUMMARY_XLSX = "汇总.xlsx"  # the batch's summary: marks a batch output folder copied without BATCH_DIR
_MARK_BYTES = 64 * 1024  # how much of a part or page is read to find xlperf's mark
#: xlperf's mark in what it writes: the .xlsx files' ``<Application>``, the reports' ``dc:creator``
#: (.docx) and ``<meta name="generator">`` (.html).
_MARKS = {
    ".docx": ("docProps/core.xml", re.compile(rb"<dc:creator>\s*xlperf\s*</dc:creator>")),
    ".xlsx": ("docProps/app.xml", re.compile(rb"<Application>\s*xlperf\s*</Application>")),
}
_CONTRACT_BYTES = 4 * MiB  # how much of workbook.xml is searched for the layout-version name
_HTML_MARK = re.compile(rb"<meta\s+name=\"generator\"\s+content=\"xlperf\"", re.IGNORECASE)
ARCHIVES = frozenset({".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".cab", ".arj", ".lzh"})
TEXTS = frozenset({".csv", ".txt", ".tsv", ".json", ".xml"})
DOCUMENTS = frozenset({".pdf", ".doc", ".docx", ".wps", ".ofd", ".rtf", ".odt", ".html", ".htm"})
IMAGES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".heic"})


@dataclass(frozen=True)
class Source:
    """One submitted file (报送文件): stable ``key``, ``label`` for people, the file to read and its digest.

    ``problem`` is a Chinese reason when the file could not even be taken out of its zip.
    """

    key: str
    label: str
    path: Path | None
    digest: str
    problem: str = ""

    @property
    def stem(self) -> str:
        """The file name without suffix (文件名), for units whose workbook names no unit."""
        return PurePosixPath(self.key).stem


@dataclass
class Inbox:
    """What was found in the inbox (收件箱内容): the sources in key order, notes on what was skipped,
    and how many of the files are workbooks or .zip files (``workbooks``)."""

    sources: list[Source] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    workbooks: int = 0


def _fingerprint(path: Path) -> tuple[str, bool]:
    """A workbook's digest and whether xlperf wrote it (:func:`written_by_xlperf`), the file read once;
    one larger than any workbook the file checks accept is hashed in chunks and looked at again."""
    with path.open("rb") as handle:
        if os.fstat(handle.fileno()).st_size <= MAX_MEMBER_BYTES:
            data = handle.read()
            return hashlib.sha256(data).hexdigest(), written_by_xlperf(path, data)
        sha = hashlib.sha256()
        while chunk := handle.read(_CHUNK):
            sha.update(chunk)
    return sha.hexdigest(), written_by_xlperf(path)


def _skipped_name(name: str) -> bool:
    """Lock files of open workbooks, hidden files and macOS resource forks are not submissions."""
    return name.startswith(("~$", ".", "._")) or name in ("Thumbs.db", "desktop.ini")


def not_a_workbook(name: str) -> str:
    """Why a file that is neither a workbook nor a .zip was not processed (非工作簿文件), in Chinese."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in ARCHIVES:
        kind = f"{suffix[1:].upper()} 压缩包，xlperf 只能展开 ZIP 格式；请解压后把其中的工作簿放入收件箱，或改用 ZIP 格式打包"
    elif suffix in TEXTS:
        kind = f"文本文件（{suffix[1:].upper()}），不是工作簿；请报送 .xlsx 格式的绩效自评工作簿"
    elif suffix in DOCUMENTS:
        kind = f"{suffix[1:].upper()} 文档，不是工作簿；报告类材料不参与计算，请同时报送 .xlsx 格式的绩效自评工作簿"
    elif suffix in IMAGES:
        kind = "图片，不是工作簿；请报送 .xlsx 格式的绩效自评工作簿"
    else:
        kind = "不是工作簿（.xlsx / .xlsm）也不是 ZIP 压缩包"
    return kind


def written_by_xlperf(path: Path, data: bytes | None = None) -> bool:
    """Whether xlperf itself wrote this file (xlperf 生成的文件), by its content, not its name: the
    mark in a .xlsx/.docx's document properties, or in an .html page's ``generator``.  A workbook
    that holds the contract's layout-version name is a unit's workbook, whoever wrote it.  ``data``
    is the file's content when the caller has already read it."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".html", ".htm"):
            if data is not None:
                return bool(_HTML_MARK.search(data, 0, _MARK_BYTES))
            with path.open("rb") as handle:
                return bool(_HTML_MARK.search(handle.read(_MARK_BYTES)))
        if suffix not in _MARKS:
            return False
        part, mark = _MARKS[suffix]
        with zipfile.ZipFile(path if data is None else io.BytesIO(data)) as zf:
            with contextlib.suppress(KeyError), zf.open(part) as handle:
                if not mark.search(handle.read(_MARK_BYTES)):
                    return False
                if suffix == ".docx":
                    return True
                with zf.open("xl/workbook.xml") as book:
                    return VERSION_NAME.encode() not in book.read(_CONTRACT_BYTES)
    except (OSError, zipfile.BadZipFile, ValueError, EOFError, NotImplementedError, RuntimeError):
        return False
    return False


def _own_output(folder: Path, name: str) -> bool:
    """Whether ``folder`` is one xlperf wrote (xlperf 的输出文件夹): a batch's (its own folder, or its
    汇总.xlsx), one unit's folder of a batch (its 校验结果.json), or xlperf build's (its ledger of
    outputs, or its default name)."""
    return (
        name == BUILD_OUTPUT
        or (folder / BATCH_DIR).is_dir()
        or (folder / FINDINGS_FILE).is_file()
        or (folder / LEDGER).is_file()
        or ((folder / SUMMARY_XLSX).is_file() and written_by_xlperf(folder / SUMMARY_XLSX))
    )


def _walk(inbox: Path, exclude: Path | None, outputs: list[str]) -> Iterator[Path]:
    """Files under ``inbox`` in a stable order, without descending into ``exclude``, hidden folders
    or xlperf's own output folders (whose keys go to ``outputs``)."""
    for folder, dirs, files in os.walk(inbox):
        here = Path(folder)
        kept = []
        for d in sorted(dirs):
            if (
                d.startswith(".")
                or d == "__MACOSX"
                or (exclude is not None and (here / d).resolve() == exclude)
            ):
                continue
            if _own_output(here / d, d):
                outputs.append((here / d).relative_to(inbox).as_posix())
                continue
            kept.append(d)
        dirs[:] = kept
        for name in sorted(files):
            yield here / name


def collect(inbox: Path, workdir: Path, *, exclude: Path | None = None) -> Inbox:
    """Every workbook under ``inbox`` and in its .zip files (收集工作簿); zip members go to ``workdir``.

    ``exclude`` is a folder not to look into (the output folder when it lies inside the inbox).
    """
    found = Inbox()
    outputs: list[str] = []
    own: list[str] = []  # files xlperf wrote, lying loose in the inbox
    locks = 0
    exclude = exclude.resolve() if exclude is not None else None
    for path in _walk(inbox, exclude, outputs):
        key = path.relative_to(inbox).as_posix()
        suffix = path.suffix.lower()
        if _skipped_name(path.name):
            locks += path.name.startswith("~$")
            continue
        if suffix == ZIP_SUFFIX:
            found.workbooks += 1
            found.sources += _zip_sources(path, key, workdir, own)
        elif suffix in WORKBOOK_SUFFIXES:
            try:
                digest, ours = _fingerprint(path)
            except OSError as exc:
                found.workbooks += 1
                found.sources.append(Source(key, key, None, "", f"无法读取该文件：{os_error_text(exc)}"))
                continue
            if ours:
                own.append(key)
                continue
            found.workbooks += 1
            found.sources.append(Source(key, key, path, digest))
        elif written_by_xlperf(path):
            own.append(key)
        else:
            found.sources.append(Source(key, key, None, "", not_a_workbook(path.name)))
    if locks:
        found.notes.append(f"跳过了 {locks} 个 Excel/WPS 临时锁文件（~$ 开头，工作簿正被打开时产生）")
    if outputs:
        found.notes.append(
            f"跳过了 xlperf 以前生成的输出文件夹「{'」「'.join(outputs)}」：其中的汇总表和各单位输出不是报送材料"
        )
    if own:
        found.notes.append(
            f"跳过了 {len(own)} 个 xlperf 生成的文件（汇总表、自评表或报告，不是报送材料）：「{'」「'.join(own)}」"
        )
    found.sources.sort(key=lambda s: s.key)
    return found


def _member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its author saw it (文件名编码).

    Without the UTF-8 flag, zipfile decodes names as CP437; tools on Linux and macOS write UTF-8
    anyway, and Chinese Windows writes GBK.  Valid UTF-8 is taken as UTF-8, then GBK is tried.
    """
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _unsafe_path(name: str) -> bool:
    parts = name.replace("\\", "/").split("/")
    return name.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts


def _zip_sources(path: Path, key: str, workdir: Path, own: list[str]) -> list[Source]:
    """The sources in one .zip (压缩包中的文件); members xlperf wrote go to ``own`` instead."""

    def refuse_archive(reason: str) -> list[Source]:
        return [Source(key, key, None, "", reason)]

    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return refuse_archive("压缩包已损坏或不是 ZIP 格式，无法打开；请重新打包或向报送单位重新索取")
    sources: list[Source] = []
    with zf:
        infos = zf.infolist()
        if "[Content_Types].xml" in zf.namelist() and any(
            n.lower() in ("xl/workbook.xml", "xl/workbook.bin") for n in zf.namelist()
        ):
            return refuse_archive(
                "该文件其实是 Excel 工作簿，扩展名被改成了 .zip；请把扩展名改回 .xlsx 后重新放入收件箱"
            )
        if len(infos) > MAX_ZIP_ENTRIES:
            return refuse_archive(f"压缩包中有 {len(infos)} 个文件，超过上限 {MAX_ZIP_ENTRIES}，未处理")
        total = 0
        seen: set[str] = set()
        members = [
            (number, info, name, PurePosixPath(name.replace("\\", "/")).name)
            for number, info in enumerate(infos)
            for name in (_member_name(info),)
        ]
        members = [
            m
            for m in members
            if not (
                m[1].is_dir() or not m[3] or _skipped_name(m[3]) or "__MACOSX/" in m[2].replace("\\", "/")
            )
        ]
        # Workbooks first, so that a cut never leaves one out for the sake of other files.
        members.sort(key=lambda m: PurePosixPath(m[3]).suffix.lower() not in WORKBOOK_SUFFIXES)
        if len(members) > MAX_LISTED_MEMBERS:
            rest = len(members) - MAX_LISTED_MEMBERS
            members = members[:MAX_LISTED_MEMBERS]
            sources.append(
                Source(
                    f"{key}/…",
                    f"{key} › 其余 {rest} 个文件",
                    None,
                    "",
                    f"压缩包中共有 {rest + MAX_LISTED_MEMBERS} 个文件，只处理了前 {MAX_LISTED_MEMBERS} 个，"
                    f"其余 {rest} 个未处理；请把各单位的工作簿分成几个压缩包报送",
                )
            )
        for number, info, name, base in members:
            suffix = PurePosixPath(base).suffix.lower()
            member_key = f"{key}/{name}"
            if member_key in seen:
                member_key = f"{member_key}#{number}"
            seen.add(member_key)
            member_label = f"{key} › {name}"

            def refused(reason: str, member_key: str = member_key, member_label: str = member_label) -> None:
                sources.append(Source(member_key, member_label, None, "", reason))

            if suffix not in WORKBOOK_SUFFIXES and suffix != ZIP_SUFFIX:
                refused(not_a_workbook(base))
            elif _unsafe_path(name):
                refused("压缩包中该文件的路径指向压缩包以外（含 .. 或绝对路径），出于安全考虑未解压")
            elif stat.S_ISLNK(info.external_attr >> 16):
                refused("压缩包中该文件是符号链接，出于安全考虑未解压")
            elif info.flag_bits & 0x1:
                refused("压缩包中该文件设置了密码（加密压缩），无法解压；请向报送单位索取未加密的压缩包")
            elif suffix == ZIP_SUFFIX:
                refused("压缩包中嵌套的压缩包不会展开；请先解压，再把其中的工作簿放入收件箱")
            elif info.file_size > MAX_MEMBER_BYTES:
                refused(
                    f"文件解压后为 {info.file_size / MiB:.1f} MB，超过单个工作簿上限 {MAX_MEMBER_BYTES // MiB} MB"
                )
            elif info.file_size > MiB and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                refused("压缩比异常（疑似“压缩炸弹”），出于安全考虑未解压")
            elif total + info.file_size > MAX_ZIP_BYTES:
                refused(f"收件箱中的压缩包解压后超过 {MAX_ZIP_BYTES // MiB} MB，其余文件未解压")
            else:
                extracted = _extract(zf, info, Path(tempfile.mkdtemp(dir=workdir)), base)
                if isinstance(extracted, str):
                    refused(extracted)
                elif written_by_xlperf(extracted[0]):
                    own.append(member_label)
                else:
                    total += extracted[2]
                    sources.append(Source(member_key, member_label, extracted[0], extracted[1]))
    if not sources:
        return refuse_archive("压缩包是空的，其中没有任何文件")
    return sources


def _extract(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, folder: Path, base: str
) -> tuple[Path, str, int] | str:
    """Stream one member into ``folder`` under a sanitised name: (path, digest, size), or a Chinese reason."""
    stem, suffix = os.path.splitext(base)
    target = folder / (safe_output_name(stem, default="工作簿") + suffix.lower())
    sha = hashlib.sha256()
    size = 0
    try:
        with zf.open(info) as src, target.open("xb") as dst:
            while chunk := src.read(_CHUNK):
                size += len(chunk)
                if size > MAX_MEMBER_BYTES or size > info.file_size:
                    raise ValueError("larger than declared")
                sha.update(chunk)
                dst.write(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError, RuntimeError) as exc:
        target.unlink(missing_ok=True)
        if isinstance(exc, NotImplementedError):
            return "压缩包中该文件使用了不支持的压缩方式，无法解压；请用常见的 ZIP 格式重新打包"
        return "压缩包中该文件已损坏（校验失败或数据不完整），无法解压；请重新打包或向报送单位重新索取"
    return target, sha.hexdigest(), size
