"""The batch's main process (主进程): work beside it, and its garbage collection.

The dashboard is written in a second process while the main one writes 汇总.xlsx, so the end of a
batch uses both cores: :func:`xlperf.batch.pool.beside` must do the work in another process, bring
back what it raised (a full disk reads the same in Chinese), end that process when the main one is
interrupted, and do the work itself when the process died without a word.  During a run the main
process collects garbage as the workers do, and as before once the run is over.
"""

from __future__ import annotations

import errno
import gc
import io
import multiprocessing
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tools.generate import generate_workbooks
from xlperf.batch import pool, run, run_batch
from xlperf.batch.pool import beside
from xlperf.errors import OutputError
from xlperf.io.atomic import atomic_write_bytes

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked on Linux only")


def write_pid(path: Path) -> None:
    atomic_write_bytes(path, str(os.getpid()).encode())


def fill_the_disk(path: Path) -> None:
    raise OutputError(f"无法写入输出文件：{os.strerror(errno.ENOSPC)}（磁盘空间已满）", path=str(path))


def linger(path: Path) -> None:
    write_pid(path)
    time.sleep(60)


def die(path: Path) -> None:
    if os.getpid() != int(path.read_text()):  # the second process ends without a word
        os.kill(os.getpid(), signal.SIGKILL)
    write_pid(path.with_suffix(".done"))


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return not stat.read().rsplit(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return False


@linux
def test_the_work_is_done_in_a_second_process_while_the_block_runs(tmp_path: Path) -> None:
    with beside(write_pid, tmp_path / "pid"):
        here = os.getpid()
    assert int((tmp_path / "pid").read_text()) != here


@linux
def test_what_the_work_raised_is_raised_here_with_its_words(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as caught, beside(fill_the_disk, tmp_path / "汇总.html"):
        pass
    assert "磁盘空间已满" in str(caught.value) and str(tmp_path / "汇总.html") in str(caught.value)


@linux
def test_an_interrupted_block_ends_the_second_process(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), beside(linger, tmp_path / "pid"):
        while not (tmp_path / "pid").exists():
            time.sleep(0.01)
        raise KeyboardInterrupt
    assert not _running(int((tmp_path / "pid").read_text())) and time.monotonic() - started < 10


@linux
def test_work_whose_process_died_is_done_here(tmp_path: Path) -> None:
    (tmp_path / "pid").write_text(str(os.getpid()))
    with beside(die, tmp_path / "pid"):
        pass
    assert int((tmp_path / "pid.done").read_text()) == os.getpid()


def test_a_run_collects_garbage_as_its_workers_do_and_as_before_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    generate_workbooks(tmp_path / "收件箱", 1)
    before = gc.get_threshold()
    seen = []
    real = pool.beside

    def watch(*args: object):  # the summary is written inside the run: look at the collector then
        seen.append((gc.get_threshold(), gc.get_freeze_count()))
        return real(*args)

    monkeypatch.setattr("xlperf.batch.run.beside", watch)
    run_batch(tmp_path / "收件箱", tmp_path / "输出", jobs=1, formats=("html",), stream=io.StringIO())
    assert seen[0][0] == pool.WORKER_GC_THRESHOLDS and seen[0][1] > 1000  # xlperf's own objects frozen
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_summary_is_imported_while_the_units_are_built_once_the_workers_are_forked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    generate_workbooks(tmp_path / "收件箱", 3)
    workers_then: list[int] = []
    real = run._SummaryImport.start

    def start(self: run._SummaryImport) -> None:
        workers_then.append(len(multiprocessing.active_children()))
        real(self)

    monkeypatch.setattr(run._SummaryImport, "start", start)
    result = run_batch(
        tmp_path / "收件箱", tmp_path / "输出", jobs=jobs, formats=("html",), stream=io.StringIO()
    )
    # In a pool: once, after both workers were forked (none inherits a half-done import); alone: after the units.
    assert workers_then == ([2] if jobs == 2 and pool._forks() else [])
    assert result.summary is not None and result.summary.is_file() and result.dashboard is not None
    assert len(result.records) == 3 and all(r.ok for r in result.records)


@linux
def test_the_dashboard_template_is_compiled_while_the_units_are_built(tmp_path: Path) -> None:
    """The process that writes 汇总.html at the end inherits the template compiled, not compiling it
    after the last unit: the main process has it, though it never renders the dashboard itself."""
    from xlperf.batch import dashboard

    generate_workbooks(tmp_path / "收件箱", 3)
    dashboard.dashboard_template.cache_clear()
    result = run_batch(
        tmp_path / "收件箱", tmp_path / "输出", jobs=2, formats=("html",), stream=io.StringIO()
    )
    assert dashboard.dashboard_template.cache_info().currsize == 1
    page = result.dashboard.read_text(encoding="utf-8") if result.dashboard else ""
    assert all(r.display_name in page for r in result.records)
