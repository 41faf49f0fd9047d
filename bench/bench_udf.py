"""Per-call cost of an xlperf cell function through xlwings' machinery vs the core function (UDF 开销).

Run: ``PYTHONPATH=src python bench/bench_udf.py`` (add ``--quick`` for fewer repetitions).

Same process, same arguments, four ways:

1. the core function, ``FUNCTIONS[name](...)``;
2. the UDF wrapper of :mod:`xlperf.excel.udfs` called as a Python function (argument
   normalisation + error guard);
3. ``xlwings.server.custom_functions_call`` with the JSON body Office.js posts (argument
   conversion, result conversion, async dispatch) — what xlwings Server does per cell;
4. the same with :func:`xlperf.excel.server.skip_pyodide_probe`, as ``xlperf serve`` runs it;
5. the same over HTTP through xlwings Server's FastAPI app (Starlette TestClient, in-process
   ASGI, no sockets) — a lower bound for a real HTTPS round trip.

The classic Windows path (VBA → COM → ``xlwings.udfs.call_udf``) cannot run here; its cost is
dominated by COM marshalling, which only a Windows machine can measure.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from xlperf.excel import server

server.configure(report_dir=Path(tempfile.mkdtemp(prefix="xlperf-bench-")))  # before xlwings is imported
for _name in ("pyodide", "pyodide.ffi"):  # measure xlwings as shipped first; main() re-enables the skip
    sys.modules.pop(_name, None)

import xlwings  # noqa: E402
import xlwings.server  # noqa: E402

import timing  # noqa: E402, F401  (puts the repository root, with tools/, on the path)
from tools.bookjson import custom_function_body  # noqa: E402
from xlperf.core.functions import FUNCTIONS  # noqa: E402
from xlperf.excel import udfs  # noqa: E402

CASES = {
    "BUDGET_ADJ_RATE": [[[12.5]], [[None]], [[250.0]]],
    "INDICATOR_SCORE": [
        [["扣分"]],
        [["阈值=100%; 方向=偏离; 每=5%; 扣比例=25%"]],
        [[2.0]],
        [[0.9665]],
        [[2.0]],
        [["收入预算完成率"]],
        [["收入预算完成率"]],
    ],
    "RUBRIC_SUBTOTAL": [
        [[""]],
        [[f"{i // 10 + 1}.{i % 10 + 1}"] for i in range(40)],
        [[float(i % 5)] for i in range(40)],
    ],
}


def plain(matrix: list[list[object]]) -> object:
    """The value the core gets: a cell, or a flat list for a range."""
    values = [v for row in matrix for v in row]
    return values[0] if len(values) == 1 else values


def per_call(func: Callable[[], object], repeat: int, number: int) -> float:
    """Median seconds per call over *repeat* timings of *number* calls."""
    func()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


def main() -> int:
    quick = "--quick" in sys.argv
    repeat, number = (3, 200) if quick else (7, 1000)
    loop = asyncio.new_event_loop()
    client = None
    try:
        from fastapi.testclient import TestClient

        client = TestClient(server.create_app())
    except (ImportError, SystemExit):
        pass
    print(
        f"xlwings {xlwings.__version__}, Python {sys.version.split()[0]}; median of {repeat} × {number} calls"
    )
    print(
        f"{'function':<18}{'core µs':>9}{'wrapper µs':>12}{'xlwings µs':>12}{'+skip µs':>10}{'HTTP µs':>9}"
        f"{'xlwings/core':>14}{'+skip/core':>12}"
    )
    rows = []
    for name, args in CASES.items():
        core_args = [plain(a) for a in args]
        body = custom_function_body(name, args)
        expected = FUNCTIONS[name](*core_args)
        got = loop.run_until_complete(xlwings.server.custom_functions_call(body, udfs))[0][0]
        assert got == expected or (got == "" and expected is None), (name, got, expected)
        core = per_call(lambda f=FUNCTIONS[name], a=core_args: f(*a), repeat, number)
        udf = getattr(udfs, name)
        wrapper = per_call(lambda f=udf, a=core_args: f(*a), repeat, number)
        shipped = per_call(
            lambda b=body: loop.run_until_complete(xlwings.server.custom_functions_call(b, udfs)),
            repeat,
            number // 4,
        )
        rows.append([name, args, core_args, body, core, wrapper, shipped])
    server.skip_pyodide_probe()
    for row in rows:
        name, args, core_args, body, core, wrapper, shipped = row
        skipped = per_call(
            lambda b=body: loop.run_until_complete(xlwings.server.custom_functions_call(b, udfs)),
            repeat,
            number // 4,
        )
        http = float("nan")
        if client is not None:
            http = per_call(
                lambda b=body: client.post("/xlwings/custom-functions-call", json=b),
                max(3, repeat // 2),
                number // 20,
            )
        print(
            f"{name:<18}{core * 1e6:>9.1f}{wrapper * 1e6:>12.1f}{shipped * 1e6:>12.0f}{skipped * 1e6:>10.0f}"
            f"{http * 1e6:>9.0f}{shipped / core:>13.0f}×{skipped / core:>11.0f}×"
        )
    loop.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
