"""Benchmark the pure-Python engine: one full evaluation of the 高邑镇 2024 example (评价计算耗时基准).

Run from the repository root::

    PYTHONPATH=src python bench/bench_engine.py [--runs 300] [--profile]

Times, per evaluation (median and minimum of ``--runs`` single calls with the garbage collector paused,
after a warm-up so the rule and number caches are as in a long-running Excel/server session):

* ``evaluate(example_data())`` — metrics, goals, quarters, rubric, scores, totals, grade and checks;
* the scoring part alone — ``compute_metrics`` + ``goal_completion_rates`` + ``build_rubric`` +
  ``score_rows`` + the total and grade, and each of those separately;
* the checks alone — ``run_checks`` on a finished evaluation.

Two baselines measured in the same run put the figures in proportion: constructing the example's
``UnitData`` from its already-loaded JSON (dataclass construction of every row), and a trivial loop
that reads each cell of every rubric row once with ``parse_number``.  ``--profile`` adds a cProfile
listing of where ``evaluate`` spends its time.  The target is well under 1 ms per evaluation; it is
judged on the minimum, the cost without interference from other processes (on a shared two-core CI
machine the median mostly measures the load), and the ratios are of the minima.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import resources

from xlperf.core.checks import run_checks
from xlperf.core.evaluate import evaluate, score_rows
from xlperf.core.grades import grade
from xlperf.core.metrics import compute_metrics, goal_completion_rates
from xlperf.core.model import ClassRow, GoalRow, QuarterRow, TeamRow, UnitData
from xlperf.core.numbers import parse_number
from xlperf.core.rubric import build_rubric, subtotal
from xlperf.examples import example_data
from xlperf.rubrics import packaged_rows

TARGET_MS = 1.0


def per_call_ms(func: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median and minimum milliseconds of ``runs`` single calls (after 20 warm-up calls).

    The garbage collector is paused while timing, as :mod:`timeit` does, so a collection triggered
    by earlier allocations is not charged to whichever call happens to run into it.
    """
    for _ in range(20):
        func()
    times = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter_ns()
            func()
            times.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    return statistics.median(times) / 1e6, min(times) / 1e6


def construct_unit(raw: dict) -> Callable[[], UnitData]:
    """Baseline 1: build the example's UnitData from the already-parsed JSON (no file access)."""
    rows = packaged_rows(raw["rubric"])
    entries = {row["code"]: row for row in raw["indicators"]}

    def build() -> UnitData:
        indicators = tuple(
            replace(row, **{k: v for k, v in entries.get(str(row.code), {}).items() if k != "code"})
            for row in rows
        )
        return UnitData(
            fields=dict(raw["fields"]),
            classes=tuple(ClassRow(**c) for c in raw["classes"]),
            quarters=tuple(QuarterRow(**q) for q in raw["quarters"]),
            goals=tuple(GoalRow(**g) for g in raw["goals"]),
            indicators=indicators,
            team=tuple(TeamRow(**t) for t in raw["team"]),
        )

    return build


def touch_rows(data: UnitData) -> Callable[[], int]:
    """Baseline 2: read every cell of every rubric row once (the least any scoring must do)."""

    def loop() -> int:
        found = 0
        for row in data.indicators:
            for cell in (row.maximum, row.actual, row.stated, row.self_score):
                if parse_number(cell).value is not None:
                    found += 1
        return found

    return loop


def scoring(data: UnitData) -> Callable[[], object]:
    """The scoring part of :func:`evaluate`, without the checks."""

    def run() -> object:
        metrics = compute_metrics(data)
        goal_rates = goal_completion_rates(data)
        build_rubric(data.indicators)
        scores = score_rows(data, metrics, goal_rates)
        codes = list(scores)
        total = subtotal("", codes, [s.score for s in scores.values()])
        subtotal("", codes, [s.self_score for s in scores.values()])
        return grade(total)

    return run


def main() -> None:
    """Run the benchmark and print ms per evaluation and the ratio to the baselines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300, help="timed calls per measurement (median)")
    parser.add_argument("--profile", action="store_true", help="print a cProfile listing of evaluate()")
    args = parser.parse_args()

    raw = json.loads(
        resources.files("xlperf.examples").joinpath("gaoyi2024.json").read_text(encoding="utf-8")
    )
    data = example_data()
    ev = evaluate(data)
    metrics, goal_rates = compute_metrics(data), goal_completion_rates(data)

    rows = [
        ("baseline: construct UnitData", construct_unit(raw)),
        ("baseline: parse every rubric cell", touch_rows(data)),
        ("evaluate (scoring + checks)", lambda: evaluate(data)),
        ("scoring part", scoring(data)),
        ("  compute_metrics", lambda: compute_metrics(data)),
        ("  goal_completion_rates", lambda: goal_completion_rates(data)),
        ("  build_rubric", lambda: build_rubric(data.indicators)),
        ("  score_rows", lambda: score_rows(data, metrics, goal_rates)),
        ("checks (run_checks)", lambda: run_checks(ev)),
    ]
    results = {name: per_call_ms(func, args.runs) for name, func in rows}
    base_construct = results["baseline: construct UnitData"][1]
    base_loop = results["baseline: parse every rubric cell"][1]

    leaves = sum(1 for row in data.indicators if row.rule)
    print(f"高邑镇 2024: {len(data.indicators)} rubric rows ({leaves} scored), {len(ev.findings)} findings")
    print(
        f"median of {args.runs} calls each, ms per evaluation; ratios (of the minima) against the two baselines\n"
    )
    print(f"{'measurement':36} {'median ms':>10} {'min ms':>8} {'× construct':>12} {'× cell loop':>12}")
    for name, (median, minimum) in results.items():
        print(
            f"{name:36} {median:10.3f} {minimum:8.3f} {minimum / base_construct:12.1f} {minimum / base_loop:12.1f}"
        )

    # the minimum is the cost without interference from other processes; the median shows the load
    (full, full_min), (score_only, score_min) = (
        results["evaluate (scoring + checks)"],
        results["scoring part"],
    )
    verdict = "met" if full_min < TARGET_MS else "NOT met"
    print(
        f"\ntarget: one evaluation well under {TARGET_MS:g} ms — {verdict}: evaluate {full_min:.3f} ms "
        f"(median {full:.3f}), scoring {score_min:.3f} ms (median {score_only:.3f})"
    )

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(200):
            evaluate(data)
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(20)
        print("\ncProfile of 200 × evaluate(), by own time:")
        print(out.getvalue())


if __name__ == "__main__":
    main()
