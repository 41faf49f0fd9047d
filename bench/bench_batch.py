"""Benchmark ``xlperf batch`` (批量处理基准): one unit's whole rebuild, then 1,000 varied workbooks.

Run from the repository root::

    PYTHONPATH=src python bench/bench_batch.py [--count 1000] [--jobs 2] [--repeat 15] [--formats docx,html,xlsx]

1. One workbook (the 高邑镇 2024 example), in one process on one core, ``--repeat`` times each:
   the whole rebuild as the batch does it (``build_unit``: rebuilt workbook, every report format,
   校验结果.json, the record) against a plain ``openpyxl.load_workbook`` + ``save`` of the same
   file, the two run alternately; then where the time goes — file checks, read, compute, write
   workbook, docx, html, 自评表 xlsx — and the reader before this change (openpyxl
   ``load_workbook``, the bulk of the old read step).
2. ``--count`` generated workbooks (varied units; see :mod:`tools.generate`) in nested
   folders, with ``run_batch(jobs=--jobs)`` between two runs of a plain pool of ``build_unit`` of the
   same size (the floor: no inbox, manifest, progress or summary): wall time, time per workbook, the
   batch's own cost against the plain pool (wall; the main process's CPU; the CPU of every process,
   which the other work on a shared machine does not change as it changes wall time), the resident memory
   (RSS) of every pool worker sampled through ``/proc`` while the run goes — its peak and its value
   at 10 %, 50 % and 100 % of the units, to show it does not grow with the number of workbooks —
   then the re-run (every unit unchanged, so skipped), and the same files loaded and saved with
   openpyxl in a pool of the same size for comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TypeVar

from openpyxl import load_workbook

from timing import median_ms, paired_ms
from tools.generate import generate_workbooks, make_template
from xlperf.batch import run as batch_run
from xlperf.batch import run_batch
from xlperf.batch.pool import worker_pool
from xlperf.batch.run import BATCH_DIR, REPORT_FORMATS
from xlperf.batch.unit import UnitTask, build_unit
from xlperf.core.evaluate import evaluate
from xlperf.core.findings import SEVERITY_ORDER
from xlperf.io.atomic import into_staging
from xlperf.io.safety import inspect_workbook_file
from xlperf.io.xlsxpatch import patch_workbook
from xlperf.report import render_reports
from xlperf.workbook.build import BuildResult, structure_findings
from xlperf.workbook.cells import computed_cells, finding_cells
from xlperf.workbook.read import read_workbook

T = TypeVar("T")


def openpyxl_roundtrip(job: tuple[Path, Path]) -> None:
    """The baseline: a plain openpyxl load + save of the same file."""
    load_workbook(job[0]).save(job[1])


def stages(src: Path, out: Path, formats: tuple[str, ...], repeat: int) -> dict[str, float]:
    """Median ms of each stage of one rebuild, with the calls ``build_workbook``/``build_unit`` make."""
    result: dict[str, float] = {}
    result["file checks"] = median_ms(lambda: inspect_workbook_file(src), repeat)
    result["read (read_workbook)"] = median_ms(lambda: read_workbook(src), repeat)
    inputs = read_workbook(src)

    def compute() -> list:
        ev = evaluate(inputs.data)
        return sorted(
            structure_findings(inputs.locator) + ev.findings, key=lambda f: SEVERITY_ORDER[f.severity]
        )

    result["compute (evaluate + checks)"] = median_ms(compute, repeat)
    ev = evaluate(inputs.data)
    findings = compute()

    def write() -> None:
        cells = computed_cells(inputs.locator, ev)
        cells.update(finding_cells(inputs.locator, findings, inputs.locator.finding_rows))
        patch_workbook(src, out / src.name, cells, full_calc_on_load=False)

    result["write workbook (cells + XML patch)"] = median_ms(write, repeat)
    built = BuildResult(ev, findings, inputs.locator, out / src.name, inspect_workbook_file(src))
    for fmt in formats:
        label = {"docx": "docx report", "html": "html report", "xlsx": "xlsx 自评表"}.get(fmt, fmt)
        render_reports(ev, findings, out, formats=(fmt,), locate=built.locator.locate)  # warm-up
        result[label] = median_ms(
            lambda fmt=fmt: render_reports(ev, findings, out, formats=(fmt,), locate=built.locator.locate),
            repeat,
        )
    return result


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process in every thread (主进程), and by its children that
    have ended (the pool's workers once the pool is shut down, the summary's helper process)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def timed(func: Callable[[], T]) -> tuple[T, float, float, float]:
    """Run ``func``: its result, wall seconds, this process's CPU seconds and all processes' CPU
    seconds.  On a machine shared with other work the wall time drifts by tens of per cent; CPU
    seconds hardly do."""
    start, (me, children) = time.perf_counter(), cpu_seconds()
    result = func()
    seconds, (me_after, children_after) = time.perf_counter() - start, cpu_seconds()
    return result, seconds, me_after - me, me_after - me + children_after - children


class HelperCpu:
    """CPU seconds of the process that writes 汇总.html beside 汇总.xlsx (汇总辅助进程), so that the
    CPU of every process splits into main, pool workers and helper: the children's CPU across
    :func:`xlperf.batch.pool.beside`, which joins the helper before it returns (the pool's workers
    are joined before it starts)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Inside the block, the batch's ``beside`` adds its helper's CPU to ``seconds``."""
        real = batch_run.beside

        @contextlib.contextmanager
        def beside(*args: object) -> Iterator[None]:
            before = cpu_seconds()[1]
            with real(*args):  # type: ignore[arg-type]
                yield
            self.seconds += cpu_seconds()[1] - before

        batch_run.beside = beside  # type: ignore[assignment]
        try:
            yield
        finally:
            batch_run.beside = real


def plain_pool(
    files: list[Path], staging: Path, formats: tuple[str, ...], jobs: int
) -> tuple[float, float, float]:
    """The floor under the batch: ``build_unit`` of every file in a pool of the batch's size, and
    nothing else; returns :func:`timed`'s figures."""
    staging.mkdir()
    tasks = [
        UnitTask(str(n), path.name, str(path), str(staging / str(n)), "", "", formats, path.stem)
        for n, path in enumerate(files)
    ]

    def run() -> None:
        with worker_pool(jobs) as pool:
            list(pool.map(build_unit, tasks, chunksize=4))

    _, *figures = timed(run)
    shutil.rmtree(staging, ignore_errors=True)
    return figures[0], figures[1], figures[2]


def children_rss(parent: int) -> dict[int, int]:
    """RSS in KiB of every process whose parent is ``parent`` (the pool workers), from /proc."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                continue
            with open(f"/proc/{entry}/status", encoding="ascii") as handle:
                for line in handle:
                    if line.startswith("VmRSS:"):
                        found[int(entry)] = int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return found


class RssSampler:
    """Samples the pool workers' RSS and the number of finished units every ``interval`` seconds;
    a process started once every unit is recorded (the one writing 汇总.html) is not a worker."""

    def __init__(self, units_dir: Path, count: int, interval: float = 0.25) -> None:
        self.units_dir, self.count, self.interval = units_dir, count, interval
        self.samples: list[tuple[int, dict[int, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = os.getpid()
        workers: set[int] = set()  # children seen while units were still being built: the pool's
        while not self._stop.is_set():
            done = len(os.listdir(self.units_dir)) if self.units_dir.is_dir() else 0
            rss = children_rss(me)
            if done < self.count:
                workers.update(rss)
            rss = {pid: kib for pid, kib in rss.items() if pid in workers}  # not the summary's process
            if rss:
                self.samples.append((done, rss))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def at(self, done: int) -> int:
        """Largest worker RSS (KiB) in the first sample with at least ``done`` finished units."""
        for finished, rss in self.samples:
            if finished >= done:
                return max(rss.values())
        return max(self.samples[-1][1].values()) if self.samples else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--count", type=int, default=1000, help="generated workbooks in the batch (default 1000)"
    )
    parser.add_argument("--jobs", type=int, default=2, help="pool workers for the batch (default 2)")
    parser.add_argument("--repeat", type=int, default=15, help="repetitions of the single-workbook runs")
    parser.add_argument("--formats", default=",".join(REPORT_FORMATS), help="report formats (default all)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the openpyxl pass over the batch")
    args = parser.parse_args(argv)
    formats = tuple(f for f in args.formats.split(",") if f)

    with tempfile.TemporaryDirectory(prefix="xlperf-bench-batch-") as tmp_name:
        tmp = Path(tmp_name)
        src = make_template(tmp).path
        print(
            f"workbook: {src.name} ({src.stat().st_size / 1024:.1f} KB); Python {sys.version.split()[0]}; "
            f"{os.cpu_count()} cores; report formats: {', '.join(formats)}"
        )

        # 1. One workbook, one core.
        out = tmp / "one"
        out.mkdir()
        task = UnitTask("k", src.name, str(src), str(tmp / "staging"), "", "", formats, src.stem)
        build_unit(task)  # warm-up: imports, caches
        openpyxl_roundtrip((src, out / "openpyxl.xlsx"))
        whole, whole_min, plain, plain_min = paired_ms(
            lambda: build_unit(task), lambda: openpyxl_roundtrip((src, out / "openpyxl.xlsx")), args.repeat
        )
        old_read = median_ms(lambda: load_workbook(src, data_only=False, keep_links=False), args.repeat)
        with into_staging():  # written as build_unit writes them: no temporary file, no fsync
            parts = stages(src, out, formats, args.repeat)
        print(f"\n== one workbook, one core: median of {args.repeat} runs (ms), the two alternating ==")
        print(f"{'whole rebuild (build_unit, all outputs)':44}{whole:9.1f}   (fastest {whole_min:.1f})")
        print(
            f"{'openpyxl load_workbook + save':44}{plain:9.1f}   (fastest {plain_min:.1f}); "
            f"rebuild / openpyxl = {whole / plain:.2f}"
        )
        print("where the time goes:")
        total = sum(parts.values())
        for key, value in parts.items():
            print(f"  {key:42}{value:9.1f}  {value / total:6.1%}")
        print(f"  {'sum of the stages':42}{total:9.1f}")
        print(
            f"reference: the previous reader's openpyxl load_workbook alone: {old_read:.1f} ms "
            f"(read_workbook now {parts['read (read_workbook)']:.1f} ms, "
            f"{old_read / parts['read (read_workbook)']:.1f}× faster)"
        )

        # 2. Many generated workbooks with a pool.
        inbox, batch_out = tmp / "收件箱", tmp / "输出"
        start = time.perf_counter()
        files = generate_workbooks(inbox, args.count, jobs=args.jobs)
        generated = time.perf_counter() - start
        print(
            f"\n== {len(files)} generated workbooks (written in {generated:.1f} s with {args.jobs} processes) =="
        )
        before = plain_pool(files, tmp / "plain", formats, args.jobs)
        helper = HelperCpu()
        with RssSampler(batch_out / BATCH_DIR / "units", len(files)) as sampler, helper.watching():
            result, seconds, batch_cpu, batch_all = timed(
                lambda: run_batch(inbox, batch_out, jobs=args.jobs, formats=formats, stream=io.StringIO())
            )
        after = plain_pool(files, tmp / "plain", formats, args.jobs)  # the batch between two: fair to both
        plain_seconds, plain_cpu, plain_all = ((a + b) / 2 for a, b in zip(before, after, strict=True))
        grades: dict[str, int] = {}
        for record in result.records:
            grades[record.grade or "失败"] = grades.get(record.grade or "失败", 0) + 1
        errors = sum(1 for r in result.records if r.counts.get("error"))
        print(
            f"xlperf batch --jobs {args.jobs}: {seconds:.1f} s, {1000 * seconds / len(files):.1f} ms per workbook "
            f"(wall), exit code {result.exit_code}"
        )
        print(f"  units: {len(result.records)}; grades {grades}; {errors} with error-level findings")
        count = len(files)
        print(
            f"plain pool of build_unit, {args.jobs} processes (no inbox, manifest, progress or summary), "
            f"run before and after the batch: {before[0]:.1f} s and {after[0]:.1f} s, mean "
            f"{1000 * plain_seconds / count:.1f} ms per workbook (wall); batch / plain = {seconds / plain_seconds:.2f}"
        )
        print(
            f"  the batch's own cost: {1000 * (seconds - plain_seconds) / count:.1f} ms per workbook (wall); "
            f"main process CPU {1000 * batch_cpu / count:.2f} ms per workbook "
            f"(plain pool {1000 * plain_cpu / count:.2f})"
        )
        print(
            f"  CPU of every process (main, workers, helper): batch {1000 * batch_all / count:.1f} ms per workbook, "
            f"plain pool {1000 * plain_all / count:.1f}; batch / plain = {batch_all / plain_all:.3f}"
        )
        pool_workers = batch_all - batch_cpu - helper.seconds
        print(
            f"    batch: main {1000 * batch_cpu / count:.2f}, pool workers {1000 * pool_workers / count:.1f}, "
            f"汇总.html helper {1000 * helper.seconds / count:.2f}; plain pool workers "
            f"{1000 * (plain_all - plain_cpu) / count:.1f} ms per workbook"
        )
        if sampler.samples:
            workers = {pid for _, rss in sampler.samples for pid in rss}
            peak = max(max(rss.values()) for _, rss in sampler.samples)
            marks = ", ".join(
                f"{share:.0%}: {sampler.at(max(1, int(share * len(files)))) / 1024:.0f} MB"
                for share in (0.1, 0.5, 1.0)
            )
            print(
                f"  pool workers: {len(workers)}; peak RSS of a worker {peak / 1024:.0f} MB; "
                f"largest worker RSS at {marks} of the units"
            )
        print(f"  main process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        start = time.perf_counter()
        again = run_batch(inbox, batch_out, jobs=args.jobs, formats=formats, stream=io.StringIO())
        print(
            f"re-run, nothing changed: {time.perf_counter() - start:.1f} s "
            f"({again.skipped} skipped, {again.built} rebuilt; summary rebuilt from the records)"
        )
        if not args.no_baseline:
            plain_dir = tmp / "openpyxl"
            plain_dir.mkdir()
            jobs = [(path, plain_dir / f"{index}.xlsx") for index, path in enumerate(files)]
            start = time.perf_counter()
            with ProcessPoolExecutor(args.jobs) as pool:
                list(pool.map(openpyxl_roundtrip, jobs, chunksize=16))
            plain_seconds = time.perf_counter() - start
            print(
                f"openpyxl load + save of the same files, {args.jobs} processes: {plain_seconds:.1f} s, "
                f"{1000 * plain_seconds / len(files):.1f} ms per workbook (wall); "
                f"batch / openpyxl = {seconds / plain_seconds:.2f}"
            )
        shutil.rmtree(batch_out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
