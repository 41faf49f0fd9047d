"""Benchmark ``xlperf build`` (build_workbook) against a plain openpyxl load + save (构建耗时基准).

Run from the repository root::

    PYTHONPATH=src python bench/bench_build.py [--copies 200] [--repeat 9]

On the 高邑镇 2024 example it measures, in one process:

1. one workbook: ``build_workbook`` and ``openpyxl.load_workbook`` + ``save`` of the same file,
   each repeated ``--repeat`` times (median and min, ms);
2. the build's steps, timed separately around the same functions ``build_workbook`` calls:
   inspect (file checks), read (open the package once, inputs by defined names/tables), evaluate
   (core + findings), cells (formula text and values of every computed cell, row heights), patch
   (XML write of a copy, editing the trees the read parsed) — plus,
   for reference, what the read step costs in its parts (openpyxl full load, calamine read);
3. ``--copies`` copies of the workbook built one after another, and the same copies loaded and
   saved with openpyxl: total seconds and ms per workbook.

Each output is re-opened once at the end to check that the build really wrote its results.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from openpyxl import load_workbook

from xlperf.core.evaluate import evaluate
from xlperf.core.findings import SEVERITY_ORDER
from xlperf.examples import example_data
from xlperf.io.safety import inspect_workbook_file
from xlperf.io.xlsxpatch import patch_workbook
from xlperf.workbook.build import build_workbook, structure_findings
from xlperf.workbook.cells import computed_cells, finding_cells, finding_row_heights, rubric_row_heights
from xlperf.workbook.create import create_workbook
from xlperf.workbook.decoder import open_book
from xlperf.workbook.read import read_book

NAME = "高邑镇2024.xlsx"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def timed(func: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` calls."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return times


def openpyxl_roundtrip(src: Path, dst: Path) -> None:
    """The baseline: a plain openpyxl load + save of the same file."""
    load_workbook(src).save(dst)


def build_steps(src: Path, dst: Path) -> dict[str, float]:
    """One build, step by step, with the same calls as :func:`build_workbook` (seconds per step): the
    file is opened once, and the patch edits the trees the reader parsed."""
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    inspect_workbook_file(src)
    t1 = time.perf_counter()
    book = open_book(src)
    inputs = read_book(book)
    t2 = time.perf_counter()
    ev = evaluate(inputs.data)
    findings = sorted(
        structure_findings(inputs.locator) + ev.findings, key=lambda f: SEVERITY_ORDER[f.severity]
    )
    t3 = time.perf_counter()
    loc = inputs.locator
    cells = computed_cells(loc, ev)
    rows = finding_cells(loc, findings, loc.finding_rows)
    heights = finding_row_heights(loc, rows)
    heights.update(rubric_row_heights(loc, ev, cells))
    cells.update(rows)
    t4 = time.perf_counter()
    patch_workbook(
        src, dst, cells, full_calc_on_load=False, row_heights=heights, package=book.package.package
    )
    t5 = time.perf_counter()
    book.close()
    times.update(inspect=t1 - t0, read=t2 - t1, evaluate=t3 - t2, cells=t4 - t3, patch=t5 - t4, total=t5 - t0)
    return times


def read_parts(src: Path) -> dict[str, float]:
    """Reference read costs: openpyxl full load, and python-calamine reading every sheet's values."""
    times = {}
    start = time.perf_counter()
    load_workbook(src, data_only=False, keep_links=False)
    times["openpyxl load_workbook (full)"] = time.perf_counter() - start
    try:
        from python_calamine import CalamineWorkbook
    except (
        ImportError
    ):  # pragma: no cover - in the test extra (pip install -e .[test]), not a runtime dependency
        return times
    start = time.perf_counter()
    book = CalamineWorkbook.from_path(str(src))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()
    times["python-calamine open + all sheets"] = time.perf_counter() - start
    return times


def check_output(path: Path) -> float:
    """The total score the output shows (核定总分), read back with openpyxl."""
    wb = load_workbook(path, data_only=True)
    sheet, ref = next(iter(wb.defined_names["total_score"].destinations))
    return wb[sheet][ref.replace("$", "")].value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=200, help="workbooks in the batch run (default 200)")
    parser.add_argument("--repeat", type=int, default=9, help="repetitions of the single-workbook runs")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="xlperf-bench-") as tmp_name:
        tmp = Path(tmp_name)
        src = tmp / NAME
        create_workbook(example_data(), src)
        out_build, out_openpyxl, out_steps = tmp / "build", tmp / "openpyxl", tmp / "steps"
        for directory in (out_build, out_openpyxl, out_steps):
            directory.mkdir()
        print(f"workbook: {NAME} ({src.stat().st_size / 1024:.1f} KB), Python {sys.version.split()[0]}")

        # Warm-up: imports, caches.
        build_workbook(src, out_build)
        openpyxl_roundtrip(src, out_openpyxl / NAME)
        build_steps(src, out_steps / NAME)

        # 1. One workbook, repeated.
        build = timed(lambda: build_workbook(src, out_build), args.repeat)
        plain = timed(lambda: openpyxl_roundtrip(src, out_openpyxl / NAME), args.repeat)
        print(f"\n== one workbook, {args.repeat} runs each (ms) ==")
        print(f"{'':34}{'median':>8} {'min':>8}")
        print(f"{'xlperf build (build_workbook)':34}{ms(statistics.median(build))} {ms(min(build))}")
        print(f"{'openpyxl load + save':34}{ms(statistics.median(plain))} {ms(min(plain))}")
        print(f"ratio build / openpyxl: {statistics.median(build) / statistics.median(plain):.2f}")

        # 2. Breakdown of the build.
        runs = [build_steps(src, out_steps / NAME) for _ in range(args.repeat)]
        steps = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        total = steps["total"]
        print(f"\n== build steps, median of {args.repeat} (ms, share of the step total) ==")
        for key in ("inspect", "read", "evaluate", "cells", "patch"):
            print(f"{key:34}{ms(steps[key])}  {steps[key] / total:6.1%}")
        print(f"{'total':34}{ms(total)}")
        parts = [read_parts(src) for _ in range(args.repeat)]
        print("reference: other ways to read the same file (not part of the build):")
        for key in parts[0]:
            print(f"  {key:32}{ms(statistics.median(p[key] for p in parts))}")

        # 3. Batch of copies in one process.
        copies = tmp / "copies"
        copies.mkdir()
        files = []
        for index in range(args.copies):
            files.append(copies / f"高邑镇2024_{index:03d}.xlsx")
            shutil.copyfile(src, files[-1])
        batch_build, batch_plain = tmp / "batch_build", tmp / "batch_openpyxl"
        batch_plain.mkdir()
        start = time.perf_counter()
        for path in files:
            build_workbook(path, batch_build)
        build_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for path in files:
            openpyxl_roundtrip(path, batch_plain / path.name)
        plain_seconds = time.perf_counter() - start
        n = len(files)
        print(f"\n== {n} copies, one process, sequential ==")
        print(f"{'':34}{'total s':>8} {'ms/book':>8}")
        print(f"{'xlperf build (build_workbook)':34}{build_seconds:8.2f} {ms(build_seconds / n)}")
        print(f"{'openpyxl load + save':34}{plain_seconds:8.2f} {ms(plain_seconds / n)}")
        print(f"ratio build / openpyxl: {build_seconds / plain_seconds:.2f}")

        scores = {check_output(batch_build / files[0].name), check_output(batch_build / files[-1].name)}
        print(
            f"\ncheck: built copies show 核定总分 {sorted(scores)}; "
            f"openpyxl copy shows {check_output(batch_plain / files[0].name)!r} (cached values dropped)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
