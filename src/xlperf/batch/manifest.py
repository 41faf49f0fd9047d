"""The batch's manifest (处理记录): one record per source file, and the unit folders they own.

``OUT/.xlperf-batch/units/<id>.json`` holds the recorded result of every source file; a unit is
skipped when its record still matches (:meth:`Manifest.current`), folders are renamed and settled from
all records (:func:`final_names`), and a reviewer's edited folder is kept, never deleted.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import time
from collections.abc import Iterable
from pathlib import Path

from ..errors import OutputError
from ..io.atomic import atomic_write_all, os_error_text
from .inbox import BATCH_DIR, SUMMARY_XLSX, Source
from .unit import (
    UnitRecord,
    UnitTask,
    failed_record,
    folder_base,
)

SUMMARY_HTML = "汇总.html"
KEPT_DIR = "已替换的旧输出"  # unit folders with a reviewer's changes, moved here instead of being deleted
RESERVED = frozenset(name.casefold() for name in (BATCH_DIR, SUMMARY_XLSX, SUMMARY_HTML, KEPT_DIR))
TAIL_CHECKED = 1024  # bytes read from the end of an output to see that it was written to the end
GROUP_UNITS = 16  # finished units whose records are made durable together
GROUP_SECONDS = 1.0  # and the longest a finished unit waits for its group


def copies_of(sources: Iterable[Source]) -> dict[str, Source]:
    """Files identical to an earlier one (重复报送), by key: each maps to the first file (in key
    order) with the same content, which alone is processed."""
    first: dict[str, Source] = {}
    copies: dict[str, Source] = {}
    for source in sorted(sources, key=lambda s: s.key):
        if source.path is None or source.problem:
            continue
        original = first.setdefault(source.digest, source)
        if original is not source:
            copies[source.key] = original
    return copies


def _record_id(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def final_names(records: Iterable[UnitRecord], reserved: set[str]) -> dict[str, str]:
    """Output folder of every rebuilt unit (输出文件夹名), by source key, independent of processing order.

    When the units state several 评价年度, each name ends with its year (``名称2025``).  Units sharing
    a (sanitised, case-folded) name are ordered by source key: the first gets the bare name, the
    others ``名称（2）``, ``名称（3）`` …; ``reserved`` (case-folded) names are never used.
    """
    records = sorted(records, key=lambda r: r.key)
    with_year = len({r.year for r in records if r.unit and r.year}) > 1
    bases = {r.key: folder_base(r, with_year=with_year) for r in records}  # sanitised once per unit
    groups: dict[str, list[UnitRecord]] = {}
    for record in records:
        groups.setdefault(bases[record.key].casefold(), []).append(record)
    taken = set(reserved)
    names: dict[str, str] = {}
    later: list[UnitRecord] = []
    for folded in sorted(groups):
        first, *rest = groups[folded]
        if folded in taken:
            later.append(first)
        else:
            names[first.key] = bases[first.key]
            taken.add(folded)
        later += rest
    for record in later:
        base, number = bases[record.key], 2
        while f"{base}（{number}）".casefold() in taken:
            number += 1
        names[record.key] = f"{base}（{number}）"
        taken.add(names[record.key].casefold())
    return names


class Manifest:
    """The recorded results in ``OUT/.xlperf-batch`` and the unit folders they own (处理记录).

    ``claims`` maps each (case-folded) folder name to the source key whose record names it, whether
    or not the folder exists yet: a name a record holds is never given to another unit, and a unit
    only ever deletes the folder it holds.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.units = out / BATCH_DIR / "units"
        self.incoming = out / BATCH_DIR / "incoming"
        try:
            shutil.rmtree(self.incoming, ignore_errors=True)  # half-written units of an interrupted run
            self.units.mkdir(parents=True, exist_ok=True)
            self.incoming.mkdir(parents=True, exist_ok=True)
            entries = os.listdir(out)
        except OSError as exc:
            raise OutputError(f"无法使用输出文件夹：{os_error_text(exc)}", path=str(out)) from None
        self.records: dict[str, UnitRecord] = {}
        self.claims: dict[str, str] = {}
        self.kept: list[Path] = []  # folders moved into KEPT_DIR by this run
        self.pending: list[UnitRecord] = []  # units taken, their records and folders not yet stored
        self._waiting_since = 0.0
        loaded = []
        for path in sorted(self.units.glob("*.json")):
            try:
                record = UnitRecord.from_json(path.read_bytes())
            except (OSError, ValueError, KeyError, TypeError):
                record = None
            if record is None or path.stem != _record_id(record.key):
                path.unlink(missing_ok=True)  # unreadable: the unit is simply rebuilt
                continue
            loaded.append(record)
        for record in sorted(loaded, key=lambda r: r.key):
            folded = record.folder.casefold() if record.folder else None
            if folded is not None and folded in self.claims:  # two records, one folder: rebuild the later
                self._record_path(record.key).unlink(missing_ok=True)
                continue
            self.records[record.key] = record
            if folded is not None:
                self.claims[folded] = record.key
        self.taken = {name.casefold() for name in entries} | set(self.claims)
        self._years = self._recorded_years()

    def _recorded_years(self) -> set[str]:
        """The 评价年度 the recorded units state (已登记的年度): with two of them folder names end with
        the year, so a folder is first named as :func:`final_names` will most likely name it."""
        return {r.year for r in self.records.values() if r.ok and r.unit and r.year}

    def staging(self, key: str) -> Path:
        """Where a worker writes the unit's files (暂存文件夹)."""
        return self.incoming / _record_id(key)

    def current(self, source: Source, recipe: str, copy_of: str = "") -> UnitRecord | None:
        """The unit's record if it is up to date (无需重做): same content, same recipe, and every
        output file still as written (:func:`output_intact`); for an identical copy of the file
        ``copy_of``, a record saying so."""
        record = self.records.get(source.key)
        if record is None or record.digest != source.digest or record.recipe != recipe or record.retry:
            return None
        if record.duplicate or copy_of:
            return record if record.duplicate and record.copy_of == copy_of else None
        if source.problem:  # refused while taking it out of its zip: up to date if refused the same way
            return record if not record.ok and record.reason == source.problem else None
        if record.ok:
            folder = self.out / (record.folder or "")
            recorded = self._recorded_at(record.key)
            if (
                recorded is None
                or not record.folder
                or not all(
                    output_intact(folder / name, record.sizes.get(kind), recorded)
                    for kind, name in record.files.items()
                )
            ):
                return None
        return record

    def _record_path(self, key: str) -> Path:
        return self.units / f"{_record_id(key)}.json"

    def _recorded_at(self, key: str) -> int | None:
        """When the unit's record was written (登记时间, ns), or None if it is gone."""
        try:
            return self._record_path(key).stat().st_mtime_ns
        except OSError:
            return None

    def _save_all(self, records: list[UnitRecord]) -> None:
        """Write ``records`` and make them durable as one group (成组保存)."""
        atomic_write_all({self._record_path(r.key): r.to_json() for r in records})

    def _claim(self, key: str, name: str) -> None:
        self.claims[name.casefold()] = key
        self.taken.add(name.casefold())

    def _unclaim(self, name: str) -> None:
        self.claims.pop(name.casefold(), None)
        self.taken.discard(name.casefold())

    def _release(self, record: UnitRecord) -> None:
        """Remove the folder ``record`` holds, if it holds one (移除旧输出): deleted when it holds only
        what the batch wrote, else moved whole into ``KEPT_DIR`` — a reviewer's work is never deleted."""
        name = record.folder
        if not name or self.claims.get(name.casefold()) != record.key:
            return
        path = self.out / name
        if path.parent == self.out and path.is_dir() and not path.is_symlink():
            if self._changed_by_someone(record, path):
                kept = self.out / KEPT_DIR / f"{name}（{time.strftime('%Y%m%d-%H%M%S')}）"
                number = 2
                while kept.exists():
                    kept, number = (
                        kept.with_name(f"{name}（{time.strftime('%Y%m%d-%H%M%S')}-{number}）"),
                        number + 1,
                    )
                kept.parent.mkdir(exist_ok=True)
                os.replace(path, kept)
                self.kept.append(kept)
            else:
                shutil.rmtree(path)
        self._unclaim(name)

    def _changed_by_someone(self, record: UnitRecord, folder: Path) -> bool:
        """Whether ``folder`` holds a file the batch did not write, or one changed after the record."""
        recorded = self._recorded_at(record.key) or 0  # no record time: every file counts as changed
        ours = set(record.files.values())
        for path in folder.rglob("*"):
            if path.is_dir() and not path.is_symlink():
                continue
            if path.parent != folder or path.name not in ours or path.lstat().st_mtime_ns > recorded:
                return True
        return False

    def _free_name(self, base: str) -> str:
        name, number = base, 2
        while name.casefold() in self.taken or name.casefold() in RESERVED:
            name, number = f"{base}（{number}）", number + 1
        return name

    def install(self, record: UnitRecord) -> None:
        """Take a finished unit (登记结果): its old folder is released and a folder name is claimed at
        once; its record and its folder follow with the next :meth:`commit`."""
        old = self.records.get(record.key)
        if old is not None:
            self._release(old)
        if record.ok:
            if record.unit and record.year:
                self._years.add(record.year)
            record.folder = self._free_name(folder_base(record, with_year=len(self._years) > 1))
            self._claim(record.key, record.folder)
        self.records[record.key] = record
        if not self.pending:
            self._waiting_since = time.monotonic()
        self.pending.append(record)

    def due(self) -> bool:
        """Whether the units taken are to be committed now (该提交了): ``GROUP_UNITS`` of them, or
        the first taken ``GROUP_SECONDS`` ago."""
        return len(self.pending) >= GROUP_UNITS or (
            bool(self.pending) and time.monotonic() - self._waiting_since >= GROUP_SECONDS
        )

    def commit(self) -> list[UnitRecord]:
        """Store the records of the units taken since the last commit, then move their folders into
        place (提交); returns the records as stored.

        The records are written and made durable as one group (:func:`atomic_write_all`) before any
        folder moves: after a crash in between, a record names a folder that is missing and the
        unit is simply rebuilt — a unit folder without a record, which would take its name, never
        exists.  A crash before the commit loses only the units taken since the last one: their
        folders are still in ``incoming`` and are rebuilt by the next run.
        """
        if not self.pending:
            return []
        self._save_all(self.pending)
        stored: list[UnitRecord] = []
        while self.pending:
            record = self.pending[0]
            if record.ok:
                record = self._move_into_place(record)
            stored.append(record)
            self.pending.pop(0)
        return stored

    def _move_into_place(self, record: UnitRecord) -> UnitRecord:
        """Move a unit's staging folder to its folder; if that fails, the record says why."""
        staging, folder = self.staging(record.key), str(record.folder)
        try:
            os.replace(staging, self.out / folder)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            self._unclaim(folder)
            record = failed_record(
                UnitTask(record.key, record.source, "", "", record.digest, record.recipe, (), record.name),
                f"无法写入输出文件夹「{self.out / folder}」：{os_error_text(exc)}",
                retry=True,
            )
            self._save_all([record])
            self.records[record.key] = record
        return record

    def forget_missing(self, keys: set[str]) -> int:
        """Delete the records and folders of units whose files left the inbox (清理); returns how many."""
        gone = [key for key in self.records if key not in keys]
        for key in gone:
            self._release(self.records.pop(key))
            self._record_path(key).unlink(missing_ok=True)
        self._years = self._recorded_years()
        return len(gone)

    def settle_names(self, keys: list[str]) -> None:
        """Rename unit folders to their final names (确定文件夹名), parking moved ones first."""
        rebuilt = [self.records[key] for key in keys if self.records[key].ok]
        reserved = (self.taken - set(self.claims)) | RESERVED
        targets = final_names(rebuilt, reserved)
        moves = [(r, targets[r.key]) for r in rebuilt if r.folder != targets[r.key]]
        for record, _ in moves:
            os.replace(self.out / str(record.folder), self.staging(record.key))
            self._unclaim(str(record.folder))
        for record, target in moves:
            record.folder = target
            self._claim(record.key, target)
        self._save_all([record for record, _ in moves])  # records first, as in commit()
        for record, target in moves:
            os.replace(self.staging(record.key), self.out / target)


def output_intact(path: Path, size: int | None, recorded: int) -> bool:
    """Whether a unit's output file can be kept (输出完好): present, and either changed by someone
    after its record was written (a reviewer's edits are theirs, kept), or as the batch wrote it.

    The batch writes outputs without ``fsync``; after a power cut a file can be short, or of full
    length but zero-filled at its end (NTFS, some Linux modes).  So a file the batch wrote must have
    its recorded size and a real end: a .docx/.xlsx its zip directory, any other file a non-zero tail.
    """
    try:
        info = path.stat()
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    if info.st_mtime_ns > recorded:
        return True
    if info.st_size != size:
        return False
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, info.st_size - TAIL_CHECKED))
            tail = handle.read()
    except OSError:
        return False
    if path.suffix.lower() in (".docx", ".xlsx", ".xlsm"):
        return b"PK\x05\x06" in tail
    return tail.strip(b"\x00") != b"" or info.st_size == 0
