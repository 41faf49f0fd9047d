"""Benchmark start-up (启动耗时基准): ``xlperf check`` and ``xlperf build`` as whole processes.

    python bench/bench_start.py [--repeat 15] [--book workbook/examples/高邑镇2024.xlsx]

A clerk runs one command on one workbook, so what counts is the whole process: the interpreter,
the imports and the work.  Each round runs, one after another, ``python -c pass`` (the floor: an
interpreter that does nothing), ``xlperf check BOOK`` and ``xlperf build BOOK -o TMP --force`` with
the same interpreter (``python -m xlperf.cli``, so the console-script wrapper does not count).  It prints
the median and minimum of each in ms and each command's median as a ratio to the floor; on this
2-core VM the goals are check ≤ 300 ms and build ≤ 500 ms.  ``--imports`` also prints the slowest
imports of both commands (``python -X importtime``).  ``--baseline SRC`` adds both commands run from
another checkout's ``src`` folder (``git archive <commit> src templates | tar -x -C DIR``), in the
same rounds, for a before/after in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_ms(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one process in ms; it must exit 0 or 1 (1: findings at error level)."""
    start = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode not in (0, 1):
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr.decode(errors='replace')}")
    return elapsed


def slowest_imports(argv: list[str], top: int = 12) -> list[tuple[int, str]]:
    """The ``top`` top-level imports with the largest cumulative time (µs) of one run."""
    done = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True)
    found = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit() and not parts[2].startswith("   "):
            found.append((int(parts[1]), parts[2].strip()))
    return sorted(found, reverse=True)[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--book", type=Path, default=ROOT / "workbook" / "examples" / "高邑镇2024.xlsx")
    ap.add_argument("--imports", action="store_true", help="also list the slowest imports of each command")
    ap.add_argument("--baseline", type=Path, help="another checkout's src folder, timed in the same rounds")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "xlperf check": [sys.executable, "-m", "xlperf.cli", "check", str(args.book)],
            "xlperf build": [
                sys.executable,
                "-m",
                "xlperf.cli",
                "build",
                str(args.book),
                "-o",
                tmp,
                "--force",
            ],
        }
        envs: dict[str, dict[str, str] | None] = dict.fromkeys(commands)
        if args.baseline:
            env = {**os.environ, "PYTHONPATH": str(args.baseline.resolve())}
            for name in ("xlperf check", "xlperf build"):
                commands[f"{name} (baseline)"], envs[f"{name} (baseline)"] = commands[name], env
        for name, argv in commands.items():
            run_ms(argv, envs[name])  # warm the file cache and the .pyc files
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):  # alternating, so all of them meet the same machine
            for name, argv in commands.items():
                times[name].append(run_ms(argv, envs[name]))
        floor = statistics.median(times["python -c pass"])
        print(f"{args.repeat} rounds, {args.book.name}")
        for name, values in times.items():
            median = statistics.median(values)
            print(
                f"  {name:25s} median {median:7.1f} ms   min {min(values):7.1f} ms   ×{median / floor:5.1f} of pass"
            )
        if args.imports:
            for name in ("xlperf check", "xlperf build"):
                print(f"slowest imports of {name} (cumulative ms):")
                for micros, module in slowest_imports(commands[name][1:]):
                    print(f"  {micros / 1000:7.1f}  {module}")


if __name__ == "__main__":
    main()
