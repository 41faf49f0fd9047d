"""Work beside the main process (并行执行): the dashboard is written in a second process while the
main one writes 汇总.xlsx, so the end of a batch uses both cores.

:func:`xlperf.batch.pool.beside` must do the work in another process, bring back what it raised
(a full disk reads the same in Chinese), end that process when the main one is interrupted, and do
the work itself when the process died without a word.
"""

from __future__ import annotations

import errno
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from xlperf.batch.pool import beside
from xlperf.errors import OutputError
from xlperf.io.atomic import atomic_write_bytes

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forked on Linux only")


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


def test_the_work_is_done_in_a_second_process_while_the_block_runs(tmp_path: Path) -> None:
    with beside(write_pid, tmp_path / "pid"):
        here = os.getpid()
    assert int((tmp_path / "pid").read_text()) != here


def test_what_the_work_raised_is_raised_here_with_its_words(tmp_path: Path) -> None:
    with pytest.raises(OutputError) as caught, beside(fill_the_disk, tmp_path / "汇总.html"):
        pass
    assert "磁盘空间已满" in str(caught.value) and str(tmp_path / "汇总.html") in str(caught.value)


def test_an_interrupted_block_ends_the_second_process(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt), beside(linger, tmp_path / "pid"):
        while not (tmp_path / "pid").exists():
            time.sleep(0.01)
        raise KeyboardInterrupt
    assert not _running(int((tmp_path / "pid").read_text())) and time.monotonic() - started < 10


def test_work_whose_process_died_is_done_here(tmp_path: Path) -> None:
    (tmp_path / "pid").write_text(str(os.getpid()))
    with beside(die, tmp_path / "pid"):
        pass
    assert int((tmp_path / "pid.done").read_text()) == os.getpid()
