"""Nothing a user made is replaced without asking (不覆盖用户文件).

Before a command writes its outputs, :func:`guard_outputs` looks at every target that already
exists.  A file xlperf itself wrote there earlier, from the same input and unchanged since, is
replaced (running ``xlperf build`` again after an edit is the normal workflow; a workbook is
known by its file name, like its built copy in the output folder).  Anything else —
a file the user made, an output the user edited afterwards, or an output of a *different*
workbook of the same unit and year — stops the command with a Chinese message and exit code 2
before anything is written; with ``--force`` each such file is first copied to a backup
(:func:`xlperf.io.atomic.backup_file`).

What xlperf wrote is recorded per output folder in :data:`LEDGER` (file name → source workbook
and SHA-256 of the bytes written) by :func:`record_outputs`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import OutputError
from .atomic import TEMP_MARKER, atomic_write_bytes, backup_file

LEDGER = ".xlperf-outputs.json"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ledger(folder: Path) -> dict[str, dict[str, str]]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads((folder / LEDGER).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if isinstance(v, dict)}
    return {}


def _source_key(source: Path | None) -> str:
    """A source workbook is known by its file name, as its built copy in the output folder is."""
    return source.name if source is not None else ""


def _objection(target: Path, source: Path | None) -> str | None:
    """Why ``target`` may not simply be replaced (不能直接覆盖的原因), or None when it may."""
    if not target.exists():
        return None
    entry = _ledger(target.parent).get(target.name)
    if entry is None:
        return "已存在（可能含有您填写或修改的内容）"
    try:
        unchanged = entry.get("sha256") == _digest(target)
    except OSError:
        unchanged = False
    if not unchanged:
        return "由 xlperf 生成后又被修改过"
    if entry.get("source", "") != _source_key(source):
        return f"是由另一个工作簿「{entry.get('source', '')}」生成的（同一单位、同一年度）"
    return None


def guard_outputs(targets: Iterable[Path], source: Path | None, *, force: bool) -> list[Path]:
    """Check every output before anything is written (覆盖检查); returns the backups made with ``force``.

    Raises :class:`~xlperf.errors.OutputError` (exit code 2) naming each file that would be lost
    when ``force`` is False; the files are then untouched.
    """
    objections = [(t, why) for t in targets if (why := _objection(t, source)) is not None]
    if not objections:
        return []
    if not force:
        listed = "；".join(f"「{t}」{why}" for t, why in objections)
        raise OutputError(
            f"为避免覆盖，本次没有写出任何文件：{listed}。请用 -o 换一个输出位置，"
            "或确认后加 --force（会先把原文件备份为 .bak 文件）"
        )
    return [backup_file(t) for t, _ in objections]


def record_outputs(paths: Iterable[Path], source: Path | None) -> None:
    """Remember the files just written and their source workbook (记录输出), one ledger per folder."""
    by_folder: dict[Path, list[Path]] = {}
    for path in paths:
        by_folder.setdefault(path.parent, []).append(path)
    for folder, written in by_folder.items():
        ledger = _ledger(folder)
        for path in written:
            ledger[path.name] = {"source": _source_key(source), "sha256": _digest(path)}
        with contextlib.suppress(OSError):  # the ledger is a convenience; a read-only folder still works
            atomic_write_bytes(folder / LEDGER, json.dumps(ledger, ensure_ascii=False, indent=1).encode())


@contextlib.contextmanager
def staging(folder: Path) -> Iterator[Path]:
    """A temporary folder inside ``folder`` for outputs not yet published (暂存输出), removed afterwards;
    ``folder`` itself is removed again when this created it and nothing was published."""
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"无法创建输出目录：{exc.strerror or exc}", path=str(folder)) from None
    tmp: Path | None = None
    try:
        tmp = Path(tempfile.mkdtemp(dir=folder, prefix=f"{TEMP_MARKER}staging-"))
        yield tmp
    finally:
        if tmp is not None:
            _remove_folder(tmp)
        if created:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty


def _remove_folder(path: Path) -> None:
    """Remove the staging folder ``path`` whole (删除暂存文件夹), even if Ctrl+C comes again while it
    is being removed; that interrupt goes on afterwards."""
    interrupted: KeyboardInterrupt | None = None
    while path.exists():
        try:
            shutil.rmtree(path, ignore_errors=True)
            break
        except KeyboardInterrupt as exc:
            interrupted = exc
    if interrupted is not None:
        raise interrupted


def publish(staged: Iterable[Path], folder: Path, source: Path | None, *, force: bool) -> list[Path]:
    """Move staged outputs into ``folder`` after :func:`guard_outputs` (发布输出); returns the backups."""
    moves = [(path, folder / path.name) for path in staged]
    backups = guard_outputs([target for _, target in moves], source, force=force)
    for path, target in moves:
        os.replace(path, target)
    record_outputs([target for _, target in moves], source)
    return backups
