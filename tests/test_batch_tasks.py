"""A pool worker is handed several units at a time (成批派发), each still with its own record.

The process pool's bookkeeping per task cost the batch's main process about half a millisecond, as
much as the rest of its work on a unit; so a worker takes up to ``UNITS_PER_TASK`` units at once.
What a unit's record says must not change: one record per unit, from the worker, and the units of a
worker that died are recorded as failed, to be redone by the next run.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ProcessPoolExecutor

import pytest

from xlperf.batch import run
from xlperf.batch.unit import UnitRecord, UnitTask, failed_record

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the stand-ins reach forked workers"
)


def _tasks(count: int) -> list[UnitTask]:
    return [
        UnitTask(f"{n:02}.xlsx", f"{n:02}.xlsx", "", "", "d", "r", ("html",), f"{n:02}") for n in range(count)
    ]


def _by_pid(task: UnitTask) -> UnitRecord:
    """A stand-in for build_unit that says which process built the unit."""
    return failed_record(task, str(os.getpid()))


def _dies_at_05(task: UnitTask) -> UnitRecord:
    """A stand-in for build_unit whose process dies at the unit 05 (killed, out of memory)."""
    if task.key == "05.xlsx":
        os._exit(9)
    return failed_record(task, "built")


def _counted_pool(submits: list[int]):  # type: ignore[no-untyped-def]
    real = run.worker_pool

    def pool(jobs: int) -> ProcessPoolExecutor:
        executor = real(jobs)
        submit = executor.submit

        def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
            submits.append(1)
            return submit(*args, **kwargs)

        executor.submit = counted  # type: ignore[method-assign]
        return executor

    return pool


def test_a_worker_takes_several_units_and_each_unit_has_its_own_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    submits: list[int] = []
    monkeypatch.setattr(run, "build_unit", _by_pid)
    monkeypatch.setattr(run, "worker_pool", _counted_pool(submits))
    records: list[UnitRecord] = []
    assert not run._execute(_tasks(16), 2, records.append, None)
    assert sorted(r.key for r in records) == [t.key for t in _tasks(16)]
    assert len(submits) == 16 // run.UNITS_PER_TASK
    by_key = {r.key: r.reason for r in records}
    assert str(os.getpid()) not in by_key.values()  # built in the workers
    for start in range(0, 16, run.UNITS_PER_TASK):  # the units of one task, in one worker
        assert len({by_key[f"{n:02}.xlsx"] for n in range(start, start + run.UNITS_PER_TASK)}) == 1


def test_few_units_are_shared_among_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    submits: list[int] = []
    monkeypatch.setattr(run, "build_unit", _by_pid)
    monkeypatch.setattr(run, "worker_pool", _counted_pool(submits))
    records: list[UnitRecord] = []
    assert run._execute(_tasks(5), 2, records.append, 3)  # stopped after 3 of the 5 units
    assert sorted(r.key for r in records) == ["00.xlsx", "01.xlsx", "02.xlsx"]
    assert len(submits) == 3  # one unit a task: each worker has some


def test_the_units_of_a_worker_that_died_are_failed_to_be_redone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "build_unit", _dies_at_05)
    records: list[UnitRecord] = []
    run._execute(_tasks(16), 2, records.append, None)
    assert sorted(r.key for r in records) == [t.key for t in _tasks(16)]  # every unit recorded once
    died = {r.key: r for r in records if r.reason != "built"}
    assert {"04.xlsx", "05.xlsx", "06.xlsx", "07.xlsx"} <= set(died)  # 05's task: the others with it
    assert all(r.retry and "进程意外退出" in r.reason for r in died.values())
