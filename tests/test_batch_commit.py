"""The batch stores finished units in groups (成组提交): one sync for several records, folders after.

Every record must be on disk before its unit's folder moves into place (a folder without a record
would take its name for good), yet one ``fsync`` pass per unit cost the main process about as much
as a unit's reports.  The records of several finished units are therefore written and synced as
one group, then their folders moved; the order is checked here on a real run by watching the
manifest's writes and moves.  Folder names carry the 评价年度 as soon as a second year appears, so
the end of a run moves only the folders named before that.
"""

from __future__ import annotations

import io
import os
import signal
import threading
from pathlib import Path

import pytest

from helpers_batch import summary_contents, unit_folders
from tools.generate import generate_workbooks
from xlperf.batch import manifest, run_batch
from xlperf.batch.run import BATCH_DIR, UNITS_PER_TASK
from xlperf.io import atomic
from xlperf.io.atomic import atomic_write_all
from xlperf.io.xlsxpatch import patch_workbook
from xlperf.workbook.read import read_workbook

UNITS = 20


def _set_year(path: Path, year: int) -> None:
    patch_workbook(path, path, {read_workbook(path).locator.names["year"]: year})


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twenty units of 2024 but the second (in key order), which is of 2023."""
    box = tmp_path_factory.mktemp("commit") / "收件箱"
    paths = sorted(generate_workbooks(box, UNITS), key=lambda p: p.relative_to(box).as_posix())
    for number, path in enumerate(paths):
        _set_year(path, 2023 if number == 1 else 2024)
    return box


def test_records_are_synced_in_groups_before_their_folders_move(
    inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "输出"
    stored: set[str] = set()  # record files written and synced so far
    groups: list[int] = []
    moved: list[str] = []  # staging folders moved into place, each with its record already stored
    parked = []

    def write_all(files: dict[Path, bytes]) -> None:
        atomic_write_all(files)
        groups.append(len(files))
        assert files, "an empty group was written"
        stored.update(path.stem for path in files)

    real_replace = os.replace

    def replace(src: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> None:
        src, dst = Path(src), Path(dst)
        if src.parent.name == "incoming":  # a unit's folder moves into place: its record is stored
            assert src.name in stored, f"folder {dst.name} moved before its record was synced"
            moved.append(src.name)
        elif dst.parent.name == "incoming":
            parked.append(src.name)
        real_replace(src, dst)

    monkeypatch.setattr(manifest, "atomic_write_all", write_all)
    monkeypatch.setattr(manifest.os, "replace", replace)
    result = run_batch(inbox, out, jobs=2, formats=("html",), stream=io.StringIO())

    assert result.built == UNITS
    assert not result.failed, [(r.source, r.reason) for r in result.failed]  # why, if it ever fails
    assert len(set(moved)) == UNITS
    assert len(groups) < UNITS and max(groups) <= manifest.GROUP_UNITS  # fewer syncs than units
    assert sum(groups) >= UNITS
    records = sorted((out / BATCH_DIR / "units").glob("*.json"))
    assert {p.stem for p in records} == stored and len(records) == UNITS
    # Two years: every folder ends with its year; only those named before the 2023 unit finished moved.
    assert all(r.folder and r.folder.endswith(r.year) for r in result.records)
    # Named before it: about the units in hand when it finished (a worker is handed several at a time).
    assert len(parked) <= 2 * UNITS_PER_TASK
    assert sorted(p.name for p in out.iterdir() if p.name != BATCH_DIR and p.is_dir()) == sorted(
        r.folder for r in result.records if r.folder
    )


def test_a_group_write_syncs_every_file_before_any_rename_and_each_folder_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(
        atomic.os,
        "replace",
        lambda src, dst: events.append(f"rename {Path(dst).name}") or real_replace(src, dst),
    )
    (tmp_path / "b").mkdir()
    files = {tmp_path / "1.json": b"one", tmp_path / "2.json": b"two", tmp_path / "b" / "3.json": b"three"}
    atomic_write_all(files)
    assert {path.read_bytes() for path in files} == {b"one", b"two", b"three"}
    renames = [i for i, e in enumerate(events) if e.startswith("rename")]
    assert events[: renames[0]] == ["fsync"] * 3  # every file synced before the first rename
    assert events[renames[-1] + 1 :] == ["fsync"] * 2  # then each of the two folders once
    assert not [p for p in tmp_path.rglob("*") if atomic.TEMP_MARKER in p.name]


def test_a_group_is_synced_at_once_not_one_file_after_the_other(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The files of a group are synced at the same time, so the file system can write them in one
    journal commit: each ``fsync`` here waits until all three have begun, which one ``fsync``
    after the other never reaches."""
    real_fsync = os.fsync
    together = threading.Barrier(3, timeout=10)
    files = {tmp_path / f"{n}.json": str(n).encode() for n in range(3)}

    def fsync(fd: int) -> None:
        if os.fstat(fd).st_size == 1:  # a file of the group, not a folder
            together.wait()
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    atomic_write_all(files)
    assert {path.read_bytes() for path in files} == {b"0", b"1", b"2"}
    assert not [p for p in tmp_path.iterdir() if atomic.TEMP_MARKER in p.name]


def test_the_sync_threads_are_started_once_and_a_forked_child_starts_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group after group is synced by the same threads (starting them per group cost more than the
    syncs while a pool's workers held the cores); a forked process, which has none of its parent's
    threads, starts its own and writes its group whole."""
    real_fsync = os.fsync
    synced_by: set[int] = set()

    def fsync(fd: int) -> None:
        if os.fstat(fd).st_size == 1:  # a file of the group, not a folder
            synced_by.add(threading.get_ident())
        real_fsync(fd)

    def sync_threads() -> set[threading.Thread]:
        return {t for t in threading.enumerate() if t.name.startswith("xlperf-sync")}

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    kept: list[set[threading.Thread]] = []
    for group in range(3):
        atomic_write_all({tmp_path / f"{group}-{n}.json": str(n).encode() for n in range(8)})
        kept.append(sync_threads())
    assert kept[0] and kept[0] <= kept[1] <= kept[2] and len(kept[2]) <= atomic.SYNC_THREADS
    assert synced_by <= {t.ident for t in kept[2]}
    if not hasattr(os, "fork") or os.name == "nt":
        return
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which reports by its exit status
        try:
            atomic_write_all({tmp_path / f"child-{n}.json": b"c" for n in range(4)})
            status = 0
        except BaseException:
            status = 1
        os._exit(status)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [(tmp_path / f"child-{n}.json").read_bytes() for n in range(4)] == [b"c"] * 4


def test_a_failed_group_write_leaves_no_temporary_file_and_the_old_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "1.json").write_bytes(b"old")
    real_fsync = os.fsync
    calls: list[int] = []

    def fsync(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 2:
            raise OSError(28, os.strerror(28))  # the disk fills up at the second file
        real_fsync(fd)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    with pytest.raises(atomic.OutputError, match="磁盘空间已满"):
        atomic_write_all({tmp_path / "1.json": b"new", tmp_path / "2.json": b"two"})
    assert (tmp_path / "1.json").read_bytes() == b"old" and not (tmp_path / "2.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["1.json"]


@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name == "nt", reason="POSIX signals")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupt_in_the_middle_of_a_commit_waits_until_the_commit_is_whole(
    inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: int
) -> None:
    """SIGTERM or Ctrl+C arriving between two folder moves of a group does not cut the group: every
    folder moved has its record, none is moved twice, and the next run ends as a clean run does."""
    clean = tmp_path / "一次完成"
    run_batch(inbox, clean, jobs=1, formats=("html",), stream=io.StringIO())
    out = tmp_path / "输出"
    real_replace = os.replace
    moves: list[str] = []

    def replace(src: os.PathLike[str] | str, dst: os.PathLike[str] | str) -> None:
        real_replace(src, dst)
        if Path(src).parent.name == "incoming":
            moves.append(Path(dst).name)
            if len(moves) == 3:  # the signal comes while the first group's folders move
                os.kill(os.getpid(), sig)

    monkeypatch.setattr(manifest.os, "replace", replace)
    first = run_batch(inbox, out, jobs=1, formats=("html",), stream=io.StringIO())
    monkeypatch.setattr(manifest.os, "replace", real_replace)

    assert first.interrupted and len(moves) == len(set(moves)) >= 3
    assert not [r for r in first.records if r.failed], "a unit was recorded as failed by the interrupt"
    records = {r.folder for r in first.records if r.ok}
    assert set(moves) <= unit_folders(out) and unit_folders(out) == records  # each folder has its record
    second = run_batch(inbox, out, jobs=1, formats=("html",), stream=io.StringIO())
    assert not second.interrupted and second.skipped == len(moves)
    assert unit_folders(out) == unit_folders(clean)
    assert summary_contents(out) == summary_contents(clean)
