"""Run the batch (批量处理): rebuild every unit of an inbox with a process pool, then write the summary.

Layout of the output folder ``OUT``::

    OUT/汇总.xlsx, OUT/汇总.html          the summary and the dashboard, rebuilt at the end of every run
    OUT/<单位名称>/                        one folder per unit: rebuilt workbook, reports, 校验结果.json
    OUT/.xlperf-batch/units/<id>.json     the recorded result of every source file (the manifest)
    OUT/.xlperf-batch/incoming/           where workers write; a unit's folder appears whole or not at all

A unit is skipped when its record matches the file's SHA-256, this xlperf version and the report
formats, and its files are all still there; ``force`` rebuilds everything.  A unit whose file has left
the inbox has its folder and record deleted, so ``OUT`` always mirrors the inbox.  Records are written
in small groups as units finish (:meth:`Manifest.commit`: synced together, up to 16 units or a
second's worth), so an interrupted run loses at most the units in progress — and, for a killed process or a
power cut, those finished since the last commit — and the next run continues.  Folder names are
settled at the end from all records — the unit name, then ``（2）``, ``（3）`` … for units sharing
one, ordered by source path — so they, and the summary, do not depend on the order units finished in.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from .. import __version__
from ..errors import OutputError, XlperfError
from ..io.atomic import os_error_text
from ..io.lock import LockHeld, hold, is_held
from .inbox import BATCH_DIR, collect
from .manifest import KEPT_DIR, SUMMARY_HTML, SUMMARY_XLSX, Manifest, copies_of
from .pool import beside, fewer_collections, worker_pool
from .progress import Progress
from .unit import (
    RECORD_FORMAT,
    UnitRecord,
    UnitTask,
    build_unit,
    duplicate_record,
    failed_record,
)

REPORT_FORMATS = ("docx", "html", "xlsx", "review")

EXIT_OK, EXIT_ERRORS, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 130
INTERRUPT_GRACE = 10.0  # seconds an interrupted run waits for the units in hand
UNITS_PER_TASK = 4  # units a pool worker is handed at a time
IDLE_SECONDS = 0.5  # a pool run with no unit finished for this long commits the units it holds
LOCK_WAIT = 3.0  # seconds a run waits for another one to leave the output folder
TEMP_PREFIX, TEMP_OWNER = "xlperf-batch-", ".owner"  # a run's temporary folder, and its owner lock in it
STALE_AGE = 600.0  # seconds after which a temporary folder without an owner lock is a killed run's


@dataclass
class BatchResult:
    """What a batch run did (批量处理结果): the units in summary order and the files written.

    ``built`` counts units rebuilt in this run, ``skipped`` those up to date, ``removed`` units whose
    file has left the inbox (their outputs were deleted).  After an interruption ``interrupted`` is
    True and no summary was written; running again continues.
    """

    out: Path
    records: list[UnitRecord]
    built: int = 0
    skipped: int = 0
    removed: int = 0
    interrupted: bool = False
    summary: Path | None = None
    dashboard: Path | None = None
    notes: list[str] = field(default_factory=list)
    kept: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[UnitRecord]:
        """Files that could not be processed (处理失败的文件)."""
        return [r for r in self.records if r.failed]

    @property
    def duplicates(self) -> list[UnitRecord]:
        """Identical copies of another file, counted once (重复报送)."""
        return [r for r in self.records if r.duplicate]

    @property
    def with_errors(self) -> list[UnitRecord]:
        """Rebuilt units with findings at error level (有错误的单位); each unit once, as in the summary."""
        return [r for r in self.records if r.ok and r.counts.get("error", 0)]

    @property
    def exit_code(self) -> int:
        """130 interrupted, 2 some file could not be processed, 1 some unit has errors, else 0 (退出码)."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        if self.failed:
            return EXIT_FAILED
        return EXIT_ERRORS if self.with_errors else EXIT_OK

    def lines(self) -> list[str]:
        """The closing report for the terminal (结果摘要), in Chinese."""
        done = sum(r.ok for r in self.records)
        lines = list(self.notes)
        if self.interrupted:
            lines.append(
                f"已中断：本次已完成 {self.built} 个单位，结果已保存；再次运行同一命令将从中断处继续（未生成汇总）。"
            )
            return lines
        copies = f"重复报送 {len(self.duplicates)} 个（只计一次），" if self.duplicates else ""
        lines.append(
            f"共 {len(self.records)} 个文件：成功 {done} 个，{copies}无法处理 {len(self.failed)} 个"
            f"（本次处理 {self.built} 个，未变化跳过 {self.skipped} 个），用时 {self.seconds:.1f} 秒。"
        )
        if self.removed:
            lines.append(f"已移除 {self.removed} 个不再在收件箱中的单位的旧输出。")
        if self.kept:
            lines.append(
                f"{len(self.kept)} 个单位的旧输出文件夹中有人工修改或添加的文件，已整体移到「{KEPT_DIR}」："
                + "、".join(p.name for p in self.kept)
            )
        if self.with_errors:
            lines.append(f"{len(self.with_errors)} 个单位有“错误”级别的校验发现，详见汇总。")
        for record in self.failed:
            lines.append(f"  无法处理：{record.source}：{record.reason}")
        if self.summary and self.dashboard:
            lines.append(f"汇总表：{self.summary}")
            lines.append(f"汇总看板：{self.dashboard}")
        return lines


# --------------------------------------------------------------------------------------------
# Running the units
# --------------------------------------------------------------------------------------------


def _build_units(tasks: tuple[UnitTask, ...]) -> list[UnitRecord]:
    """A pool worker's task: build ``tasks`` one after the other (:func:`build_unit` never raises)."""
    return [build_unit(task) for task in tasks]


def _execute(
    tasks: list[UnitTask],
    jobs: int,
    done: Callable[[UnitRecord], None],
    stop_after: int | None,
    idle: Callable[[], None] = lambda: None,
    forked: Callable[[], None] = lambda: None,
) -> bool:
    """Build ``tasks`` (sequentially or in a pool), calling ``done`` per record, ``idle`` when no
    unit has finished for ``IDLE_SECONDS`` and ``forked`` once the pool's workers exist; True if
    stopped early.

    A pool worker is handed up to ``UNITS_PER_TASK`` units at a time (fewer when there are few, so
    every worker has some): the pool's bookkeeping per task cost the main process about 0.5 ms.
    Each unit still has its own record; the units of a worker that died are recorded as failed,
    to be redone by the next run."""
    limit = len(tasks) if stop_after is None else min(stop_after, len(tasks))
    if jobs <= 1 or limit <= 1:
        for task in tasks[:limit]:
            done(build_unit(task))
        return limit < len(tasks)
    size = max(1, min(UNITS_PER_TASK, limit // (jobs * 2)))
    queue = (tuple(tasks[start : min(start + size, limit)]) for start in range(0, limit, size))
    ahead = jobs * max(2, 4 // size)  # tasks handed out at a time: a worker never waits for its next
    running: dict[Future[list[UnitRecord]], tuple[UnitTask, ...]] = {}
    others = set(multiprocessing.active_children())
    with _uninterrupted():  # an interrupt inside the pool's set-up would leave its finalizers half made
        pool = worker_pool(min(jobs, limit))
    with pool:

        def finish(future: Future[list[UnitRecord]]) -> None:
            taken = running.pop(future)
            try:
                records = future.result()
            except Exception as exc:  # the worker process died (killed, out of memory)
                reason = f"处理该工作簿的进程意外退出（{type(exc).__name__}），请重新运行"
                records = [failed_record(task, reason, retry=True) for task in taken]
            for record in records:
                done(record)

        def collect() -> None:
            finished, _ = wait(running, timeout=IDLE_SECONDS, return_when=FIRST_COMPLETED)
            if not finished:
                idle()
            for future in finished:
                finish(future)

        try:
            for number, taken in enumerate(queue):
                while len(running) >= ahead:
                    collect()
                try:
                    with _uninterrupted():  # the first submit starts the workers
                        running[pool.submit(_build_units, taken)] = taken
                except BrokenProcessPool:  # a worker died; the units not yet started are redone next run
                    for task in taken:
                        done(
                            failed_record(
                                task, "处理进程意外退出，本次未能处理该工作簿，请重新运行", retry=True
                            )
                        )
                if number == 0:  # the first submit forks every worker
                    with _uninterrupted():
                        forked()
                _stop_if_terminated()
            while running:
                collect()
        except KeyboardInterrupt:
            for future in list(running):
                future.cancel()
            pool.shutdown(wait=False, cancel_futures=True)
            in_hand = [f for f in running if not f.cancelled()]
            wait(in_hand, timeout=INTERRUPT_GRACE)  # units in hand finish; their results are kept
            for future in [f for f in running if f.done() and not f.cancelled()]:
                finish(future)
            # Interrupted inside the pool's own start-up, a worker may never hear of the shutdown.
            for worker in set(multiprocessing.active_children()) - others:
                worker.kill()
            raise
    return limit < len(tasks)


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold a lock on ``OUT`` for the run (独占输出文件夹): two batches must not share one output folder.

    Only this process holds it (never its workers), and the system releases it when the process
    ends, however it ends, so a killed run leaves nothing that blocks the next one
    (:mod:`xlperf.io.lock`).  A run waits up to ``LOCK_WAIT`` seconds for another one to leave.
    """
    path = out / BATCH_DIR / "lock"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"无法使用输出文件夹：{os_error_text(exc)}", path=str(out)) from None
    deadline = time.monotonic() + LOCK_WAIT
    with contextlib.ExitStack() as stack:
        while True:
            try:
                stack.enter_context(hold(path))
                break
            except LockHeld:
                if time.monotonic() >= deadline:
                    raise OutputError(
                        "另一个批量处理正在使用该输出文件夹，请等它结束后再运行", path=str(out)
                    ) from None
                time.sleep(0.1)
            except OSError as exc:
                raise OutputError(f"无法使用输出文件夹：{os_error_text(exc)}", path=str(out)) from None
        yield


def _remove_stale_workdirs(parent: Path) -> None:
    """Remove the temporary folders of batches that were killed (清理残留的临时文件夹): those whose
    owner lock no live process holds, or that never got one and are older than ``STALE_AGE``."""
    try:
        entries = [p for p in parent.iterdir() if p.name.startswith(TEMP_PREFIX)]
    except OSError:
        return
    for folder in entries:
        owner = folder / TEMP_OWNER
        try:
            if folder.is_symlink() or not folder.is_dir():
                continue
            stale = not is_held(owner) if owner.exists() else time.time() - folder.stat().st_mtime > STALE_AGE
            if stale:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            continue


@contextlib.contextmanager
def _workdir() -> Iterator[Path]:
    """A temporary folder for the run's extracted zip members (临时文件夹), removed at the end; one
    left by a killed run is removed by the next (:func:`_remove_stale_workdirs`)."""
    parent = Path(tempfile.gettempdir())
    _remove_stale_workdirs(parent)
    with tempfile.TemporaryDirectory(prefix=TEMP_PREFIX) as tmp, hold(Path(tmp) / TEMP_OWNER):
        yield Path(tmp)


_TERMINATED = threading.Event()  # SIGTERM or Ctrl+C arrived during the run
_FORKING: list[bool] = [False]  # a worker is being forked: an exception raised now would be lost
_RECORDING: list[bool] = [False]  # the manifest is being changed: an interrupt waits until it is whole


def _forking(state: bool) -> Callable[[], None]:
    def mark() -> None:
        _FORKING[0] = state

    return mark


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_forking(True), after_in_parent=_forking(False), after_in_child=_forking(False)
    )


@contextlib.contextmanager
def _uninterrupted() -> Iterator[None]:
    """Inside the block SIGTERM and Ctrl+C are only noted (不可中断): the units taken, their records
    and folders, the pool and its workers being started are never left half-made; the run stops at
    its next :func:`_stop_if_terminated`."""
    _RECORDING[0] = True
    try:
        yield
    finally:
        _RECORDING[0] = False


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM (kill, a service stopping) interrupts the run as Ctrl+C does: units in
    hand finish, results are kept, temporary files removed.  Only from the main thread.

    While a worker is forked (Python would print the exception and go on) or the manifest is being
    changed (:func:`_uninterrupted`) the handler of either raises nothing; it always sets ``_TERMINATED``, which the run checks after every unit
    (:func:`_stop_if_terminated`).
    """
    _TERMINATED.clear()
    signals = [getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name)]
    if threading.current_thread() is not threading.main_thread():
        signals = []

    def interrupt(signum: int, frame: object) -> None:
        _TERMINATED.set()
        if not _FORKING[0] and not _RECORDING[0]:
            raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in signals}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _stop_if_terminated() -> None:
    """Raise KeyboardInterrupt if SIGTERM or Ctrl+C arrived, in case Python swallowed the first one."""
    if _TERMINATED.is_set():
        raise KeyboardInterrupt


class _SummaryImport:
    """The summary's modules (pandas and all) imported, and the dashboard's template compiled, in a
    thread while the units are built (预先导入汇总模块), not after the last one.  Started only once
    the pool's workers are forked, so no worker inherits a half-done import; :meth:`wait` before the
    next fork (:func:`.pool.beside`).  A failed import is left for the summary's own import to report."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin the import in a daemon thread."""
        self._thread = threading.Thread(target=self._load, name="xlperf-summary-import", daemon=True)
        self._thread.start()

    @staticmethod
    def _load() -> None:
        with contextlib.suppress(Exception):
            dashboard = importlib.import_module(f"{__package__}.dashboard")  # imports .summary and pandas
            dashboard.dashboard_template()

    def wait(self) -> None:
        """Wait until the import has ended, if it was started."""
        if self._thread is not None:
            self._thread.join()


def _recipe(formats: tuple[str, ...], templates: Path | None) -> str:
    """What the outputs are made with (处理方式): a record made otherwise is redone."""
    recipe = f"xlperf {__version__}; record {RECORD_FORMAT}; reports {','.join(formats)}"
    if templates is None:
        return recipe
    from ..report import USER_TEMPLATE_FILES

    digest = hashlib.sha1()
    for name in USER_TEMPLATE_FILES:
        path = Path(templates) / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"-") + b"\0")
    return f"{recipe}; templates {digest.hexdigest()[:16]}"


def default_jobs() -> int:
    """The number of cores this process may use (默认并行数)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def run_batch(
    inbox: Path,
    out: Path,
    *,
    jobs: int | None = None,
    force: bool = False,
    progress: bool | None = None,
    stream: TextIO | None = None,
    formats: tuple[str, ...] = REPORT_FORMATS,
    templates: Path | None = None,
    stop_after: int | None = None,
) -> BatchResult:
    """Rebuild every workbook under ``inbox`` into ``out`` and write 汇总.xlsx and 汇总.html (批量处理).

    ``jobs`` worker processes (default: the machine's cores); ``force`` rebuilds units that are up to
    date; ``progress`` True draws a bar, False prints a plain line per unit, None picks by whether
    ``stream`` (default stderr) is a terminal.  ``stop_after`` stops after that many units as an
    interruption would (for tests and trial runs).  Ctrl+C is caught: the result then has
    ``interrupted`` set.  ``templates`` is a folder of report templates used for every unit, as
    ``xlperf build --templates``; a changed template makes every unit be redone.  Raises
    :class:`XlperfError` only when the inbox, the output folder or the templates are unusable.
    """
    started = time.perf_counter()
    inbox, out = Path(inbox), Path(out)
    stream = stream if stream is not None else sys.stderr
    if not inbox.is_dir():
        raise XlperfError("收件箱文件夹不存在或不是文件夹", path=str(inbox))
    if out.exists() and not out.is_dir():
        raise OutputError("输出位置已存在且不是文件夹", path=str(out))
    if out.resolve() == inbox.resolve():
        raise OutputError(
            "输出文件夹不能与收件箱相同，请另选一个文件夹（可以在收件箱之外新建）", path=str(out)
        )
    unknown = [f for f in formats if f not in REPORT_FORMATS]
    if unknown or not formats:
        raise XlperfError(f"未知的报告格式「{'、'.join(unknown)}」，可选：{'、'.join(REPORT_FORMATS)}")
    if templates is not None:
        from ..report import check_templates

        check_templates(Path(templates), tuple(formats))  # a broken template stops the run before it starts
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"无法创建输出文件夹：{os_error_text(exc)}", path=str(out)) from None
    with _terminate_as_interrupt(), _exclusive(out), fewer_collections():
        try:
            result = _run(inbox, out, jobs, force, progress, stream, tuple(formats), templates, stop_after)
        except OSError as exc:  # the output folder: disk full, read-only, no permission
            raise OutputError(f"无法写入输出文件夹：{os_error_text(exc)}", path=str(out)) from None
    result.seconds = time.perf_counter() - started
    return result


def _run(
    inbox: Path,
    out: Path,
    jobs: int | None,
    force: bool,
    progress: bool | None,
    stream: TextIO,
    formats: tuple[str, ...],
    templates: Path | None,
    stop_after: int | None,
) -> BatchResult:
    jobs = default_jobs() if jobs is None else max(1, jobs)
    bar = stream.isatty() if progress is None else progress
    manifest = Manifest(out)
    recipe = _recipe(tuple(formats), templates)
    with _workdir() as tmp:
        found = collect(inbox, tmp, exclude=out)
        if not found.workbooks:
            raise XlperfError("收件箱中没有找到工作簿（.xlsx / .xlsm，或装有它们的 .zip）", path=str(inbox))
        keys = [s.key for s in found.sources]
        result = BatchResult(out, [], notes=found.notes)
        result.removed = manifest.forget_missing(set(keys))
        tasks: list[UnitTask] = []
        copies = copies_of(found.sources)
        for source in found.sources:
            original = copies.get(source.key)
            if not force and manifest.current(source, recipe, original.key if original else "") is not None:
                result.skipped += 1
                continue
            tasks.append(
                UnitTask(
                    source.key,
                    source.label,
                    str(source.path or ""),
                    str(manifest.staging(source.key)),
                    source.digest,
                    recipe,
                    tuple(formats),
                    source.stem,
                    str(templates or ""),
                )
            )
        problems = {s.key: s.problem for s in found.sources if s.problem}
        show = Progress(stream, bar=bar)
        show.start(len(tasks), result.skipped)
        importing = _SummaryImport()

        def commit() -> None:
            with _uninterrupted():
                stored = manifest.commit()
            for record in stored:
                show.advance(record)

        def done(record: UnitRecord) -> None:
            with _uninterrupted():
                manifest.install(record)
            result.built += 1
            if manifest.due():
                commit()
            _stop_if_terminated()

        def idle() -> None:
            commit()
            _stop_if_terminated()

        try:
            for task in tasks:
                if task.key in problems:
                    done(failed_record(task, problems[task.key]))
                elif task.key in copies:
                    original = copies[task.key]
                    done(duplicate_record(task, original.key, original.label))
            commit()  # the files refused and the copies are recorded before any unit is built
            todo = [t for t in tasks if t.key not in problems and t.key not in copies]
            result.interrupted = _execute(todo, jobs, done, stop_after, idle, importing.start)
            _stop_if_terminated()
        except KeyboardInterrupt:
            result.interrupted = True
        finally:
            commit()  # the units finished since the last commit, interrupted or not
            with contextlib.suppress(OSError):
                show.finish()
    if not result.interrupted:
        importing.wait()
        manifest.settle_names(keys)
        from .dashboard import write_dashboard
        from .summary import ordered, unit_table, write_summary

        result.records = ordered([manifest.records[key] for key in keys])
        table = unit_table(result.records)  # built once for 汇总.xlsx and 汇总.html
        with beside(write_dashboard, result.records, out / SUMMARY_HTML, result.notes, table):
            result.summary = write_summary(result.records, out / SUMMARY_XLSX, table)
        result.dashboard = out / SUMMARY_HTML
    else:
        result.records = [manifest.records[key] for key in keys if key in manifest.records]
    result.kept = manifest.kept
    return result
