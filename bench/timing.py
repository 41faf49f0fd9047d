"""Timing helpers shared by the benchmark scripts (计时): medians, and two things timed alternately.

Importing it also puts the repository root on ``sys.path``, so a script run as
``python bench/NAME.py`` can import :mod:`tools` (build and test helpers, not installed with xlperf).
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def median_ms(func: Callable[[], object], repeat: int, *, warm_up: bool = False) -> float:
    """The median of ``repeat`` runs of ``func`` in milliseconds; ``warm_up`` runs it once first."""
    if warm_up:
        func()  # imports, template compilation caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def paired_ms(first: Callable[[], object], second: Callable[[], object], repeat: int) -> tuple[float, ...]:
    """Median and minimum ms of ``first`` and of ``second``, run alternately so both meet the same
    machine: this VM's speed drifts by tens of per cent from minute to minute."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for func, sink in zip((first, second), times, strict=True):
            start = time.perf_counter()
            func()
            sink.append((time.perf_counter() - start) * 1000)
    return (statistics.median(times[0]), min(times[0]), statistics.median(times[1]), min(times[1]))
