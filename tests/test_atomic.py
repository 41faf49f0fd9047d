"""Tests for :mod:`xlperf.io.atomic`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from xlperf.errors import OutputError
from xlperf.io import atomic
from xlperf.io.atomic import atomic_output, atomic_write_bytes, backup_file


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if atomic.TEMP_MARKER in p.name)


def test_atomic_write_bytes_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "out.xlsx"
    atomic_write_bytes(target, b"first")
    assert target.read_bytes() == b"first"
    atomic_write_bytes(target, b"second, longer content")
    assert target.read_bytes() == b"second, longer content"
    assert leftovers(tmp_path) == []


def test_temp_file_is_next_to_target_and_hidden(tmp_path: Path) -> None:
    target = tmp_path / "报告.xlsx"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path
        assert tmp.name.startswith(".报告.xlsx.xlperf-tmp-")
        assert tmp.exists() and not target.exists()
        tmp.write_bytes(b"data")
    assert target.read_bytes() == b"data"
    assert not tmp.exists()


@pytest.mark.parametrize("exc_type", [RuntimeError, KeyboardInterrupt, SystemExit])
def test_exception_keeps_old_file_and_removes_temp(tmp_path: Path, exc_type: type[BaseException]) -> None:
    target = tmp_path / "model.xlsx"
    target.write_bytes(b"precious original")
    with pytest.raises(exc_type):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"half-writ")
            raise exc_type()
    assert target.read_bytes() == b"precious original"
    assert leftovers(tmp_path) == []


def test_exception_with_no_previous_file_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "new.xlsx"
    with pytest.raises(ValueError):
        with atomic_output(target) as tmp:
            tmp.write_bytes(b"x")
            raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []


def test_block_that_writes_nothing_gives_an_empty_file(tmp_path: Path) -> None:
    target = tmp_path / "empty.bin"
    with atomic_output(target):
        pass
    assert target.read_bytes() == b""


def test_failed_replace_raises_output_error_and_cleans_up(tmp_path: Path, monkeypatch) -> None:
    target = tmp_path / "locked.xlsx"
    target.write_bytes(b"open in Excel")

    def locked(src, dst):
        raise PermissionError(13, "The process cannot access the file")

    monkeypatch.setattr(atomic.os, "replace", locked)
    with pytest.raises(OutputError) as info:
        atomic_write_bytes(target, b"new")
    assert "Excel" in str(info.value) and str(target) in str(info.value)
    assert target.read_bytes() == b"open in Excel"
    assert leftovers(tmp_path) == []


def test_missing_directory_raises_output_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="临时文件"):
        atomic_write_bytes(tmp_path / "no" / "such" / "dir.xlsx", b"x")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_permissions_of_existing_file_are_kept(tmp_path: Path) -> None:
    target = tmp_path / "shared.xlsx"
    target.write_bytes(b"old")
    os.chmod(target, 0o640)
    atomic_write_bytes(target, b"new")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_new_file_gets_umask_default_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "fresh.xlsx", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "fresh.xlsx").st_mode) == 0o644


def test_backup_names_never_clobber(tmp_path: Path) -> None:
    source = tmp_path / "model.xlsx"
    source.write_bytes(b"v1")
    first = backup_file(source)
    assert first == tmp_path / "model.bak.xlsx" and first.read_bytes() == b"v1"
    source.write_bytes(b"v2")
    second = backup_file(source)
    assert second == tmp_path / "model.bak2.xlsx" and second.read_bytes() == b"v2"
    source.write_bytes(b"v3")
    third = backup_file(source)
    assert third == tmp_path / "model.bak3.xlsx" and third.read_bytes() == b"v3"
    assert first.read_bytes() == b"v1" and second.read_bytes() == b"v2"  # older backups untouched
    assert source.read_bytes() == b"v3"
    assert leftovers(tmp_path) == []


def test_backup_skips_names_taken_by_other_files(tmp_path: Path) -> None:
    source = tmp_path / "绩效.xlsm"
    source.write_bytes(b"macro workbook")
    (tmp_path / "绩效.bak.xlsm").write_bytes(b"someone else's")
    backup = backup_file(source)
    assert backup.name == "绩效.bak2.xlsm"  # real extension stays last
    assert (tmp_path / "绩效.bak.xlsm").read_bytes() == b"someone else's"
    assert backup.read_bytes() == b"macro workbook"


def test_backup_keeps_mtime(tmp_path: Path) -> None:
    source = tmp_path / "old.xlsx"
    source.write_bytes(b"x")
    os.utime(source, (1_600_000_000, 1_600_000_000))
    backup = backup_file(source)
    assert int(os.stat(backup).st_mtime) == 1_600_000_000


def test_backup_without_suffix_and_missing_source(tmp_path: Path) -> None:
    plain = tmp_path / "README"
    plain.write_bytes(b"r")
    assert backup_file(plain).name == "README.bak"
    with pytest.raises(OutputError):
        backup_file(tmp_path / "missing.xlsx")


def test_failed_backup_copy_releases_the_name(tmp_path: Path, monkeypatch) -> None:
    source = tmp_path / "model.xlsx"
    source.write_bytes(b"x")

    def interrupted(src, dst, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(atomic.shutil, "copyfile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        backup_file(source)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.xlsx"]


def test_without_fsync_still_replaces_whole_files_but_skips_fsync(tmp_path: Path, monkeypatch) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    target = tmp_path / "报告.docx"
    with atomic.without_fsync():
        atomic_write_bytes(target, b"staged")
        with pytest.raises(RuntimeError), atomic_output(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("boom")
    assert target.read_bytes() == b"staged" and leftovers(tmp_path) == [] and synced == []
    atomic_write_bytes(target, b"durable")  # outside the block every write is synced again
    assert target.read_bytes() == b"durable" and len(synced) >= 1


def test_into_staging_writes_under_the_final_name_and_removes_a_failed_file(
    tmp_path: Path, monkeypatch
) -> None:
    def no_temporary_file(*args: object, **kwargs: object) -> None:
        raise AssertionError("a temporary file was made inside into_staging")

    synced: list[int] = []
    monkeypatch.setattr(atomic.tempfile, "mkstemp", no_temporary_file)
    monkeypatch.setattr(atomic.os, "fsync", synced.append)
    staging = tmp_path / "staging"
    staging.mkdir()
    with atomic.into_staging():
        with atomic_output(staging / "报告.html") as path:
            assert path == staging / "报告.html"
            path.write_bytes(b"<html>")
        atomic_write_bytes(staging / "校验结果.json", b"{}")
        with pytest.raises(RuntimeError), atomic_output(staging / "报告.docx") as path:
            path.write_bytes(b"half")
            raise RuntimeError("boom")
        with pytest.raises(OutputError, match="磁盘空间已满"), atomic_output(staging / "表.xlsx") as path:
            path.write_bytes(b"PK")
            raise OSError(28, os.strerror(28))
    assert sorted(p.name for p in staging.iterdir()) == ["报告.html", "校验结果.json"] and synced == []
    assert stat.S_IMODE((staging / "报告.html").stat().st_mode) == 0o666 & ~atomic._current_umask()
    monkeypatch.undo()
    atomic_write_bytes(staging / "报告.html", b"again")  # outside the block: a temporary file again
    assert (staging / "报告.html").read_bytes() == b"again" and leftovers(staging) == []
