"""The batch's worker processes (工作进程池): they live only as long as the run that started them.

A worker whose main process is gone — killed with ``kill -9``, ended by the task manager, crashed —
must not live on: it would keep building units nobody collects and hold files in the output
folder.  Each worker therefore ends itself as soon as its parent dies: at once through
``PR_SET_PDEATHSIG`` on Linux, and everywhere through a watchdog thread that waits on the parent
(the parent's process handle on Windows, a change of parent on POSIX) and ends the worker within
:data:`WATCH_INTERVAL` seconds.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from multiprocessing.connection import Connection, wait

__all__ = ["WATCH_INTERVAL", "beside", "fewer_collections", "worker_pool"]

WATCH_INTERVAL = 0.5  # seconds between a worker's checks that its parent is alive
WORKER_GC_THRESHOLDS = (20_000, 20, 20)  # gc.set_threshold in pool workers (Python: 700, 10, 10)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _orphaned(parent: int) -> bool:
    """Whether the process that started this worker has ended (父进程已退出)."""
    if sys.platform != "win32" and os.getppid() != parent:  # POSIX re-parents an orphan
        return True
    process = multiprocessing.parent_process()
    return process is not None and not process.is_alive()


def _watch(parent: int) -> None:
    """Watchdog thread: end this worker, without cleanup, as soon as its parent is gone."""
    process = multiprocessing.parent_process()
    sentinel = [process.sentinel] if process is not None and process.sentinel is not None else []
    pause = threading.Event()
    while not _orphaned(parent):
        if sentinel:
            wait(sentinel, timeout=WATCH_INTERVAL)
        else:
            pause.wait(WATCH_INTERVAL)
    os._exit(1)


def die_with_parent(parent: int) -> None:
    """Make this process end when ``parent`` ends (随父进程退出): the kernel's parent-death signal
    where Linux offers it, and a watchdog thread on every system."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
            pass
    if _orphaned(parent):  # the parent died before the signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="xlperf-watchdog", daemon=True).start()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Inside the block, garbage collection runs as in the workers (少做垃圾回收): the objects alive
    at its start (xlperf and its libraries) are left out of it, and it runs less often — the run's
    records, kept to the end, made every full collection longer.  Restored after the block."""
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _init_worker(parent: int) -> None:
    """Prepare a pool worker (工作进程): it ends with ``parent`` and on SIGTERM; Ctrl+C is left to the main process,
    which lets the worker finish the unit in hand; the objects it starts with (xlperf and its
    libraries, inherited at the fork) are frozen out of garbage collection and collections run less
    often — they found almost nothing and cost a few milliseconds a unit."""
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGTERM"):  # the main process's handler, inherited at the fork, is not ours
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    gc.freeze()
    gc.set_threshold(*WORKER_GC_THRESHOLDS)


def _forks() -> bool:
    """Whether workers are forked from this process (Linux), not spawned afresh."""
    return "fork" in multiprocessing.get_all_start_methods() and sys.platform.startswith("linux")


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of ``jobs`` worker processes tied to this one (工作进程池): forked on Linux (xlperf
    imported once, inherited), spawned elsewhere."""
    if _forks():
        from .. import report  # noqa: F401 - imported once here, inherited by the forked workers
        from ..workbook import build  # noqa: F401

        context: multiprocessing.context.BaseContext = multiprocessing.get_context("fork")
    else:
        context = multiprocessing.get_context("spawn")
    return ProcessPoolExecutor(
        max_workers=jobs, mp_context=context, initializer=_init_worker, initargs=(os.getpid(),)
    )


def _run_beside(parent: int, send: Connection, func: Callable[..., object], args: tuple[object, ...]) -> None:
    """The forked process of :func:`beside`: run ``func`` and send back None or what it raised."""
    _init_worker(parent)
    outcome: BaseException | None = None
    try:
        func(*args)
    except Exception as exc:
        outcome = exc
    try:
        send.send(outcome)
    except Exception:  # an exception that cannot be pickled: its words still reach the parent
        send.send(RuntimeError(str(outcome)))


@contextlib.contextmanager
def beside(func: Callable[..., object], *args: object) -> Iterator[None]:
    """Run ``func(*args)`` in a second process while the block runs (并行执行), then wait for it and
    raise what it raised; the two use two cores.

    The process is forked, so it takes ``args`` as they are, nothing copied; it is tied to this
    process as the pool's workers are, and ended if the block raises.  Should it end without a word
    (killed, out of memory), ``func`` runs here after all.  Where processes are not forked
    (Windows, macOS) ``func`` simply runs after the block.
    """
    if not _forks():
        yield
        func(*args)
        return
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=_run_beside, args=(os.getpid(), send, func, args), daemon=True)
    process.start()
    send.close()
    try:
        try:
            yield
        except BaseException:
            process.kill()
            raise
        try:
            outcome: BaseException | None = receive.recv()
        except EOFError:  # it ended without a word (killed, out of memory): run it here
            outcome = None
            func(*args)
    finally:
        process.join()
        receive.close()
    if outcome is not None:
        raise outcome
