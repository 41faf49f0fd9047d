"""Hostile workbooks (恶意构造的工作簿): memory and time of ``xlperf build`` / ``upgrade`` on each.

Run from the repository root::

    PYTHONPATH=src:tests python bench/bench_hostile.py [--only NAME] [--command build|upgrade]

Each file is the 高邑镇 2024 example with one part blown up (a million tiny rows in a sheet, three
such sheets, 2.5 million ``<definedName>`` entries, …).  Every command runs in a fresh child
process; the script prints its exit code, wall seconds, peak RSS (``RUSAGE_CHILDREN``) and the
first line of what it said.  The goal (issue 14): any input up to 50 MB is processed within
500 MB and 10 s, or refused with a Chinese reason naming the user's file.  The clean example is
measured in the same run as the baseline.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from hostile_files import HOSTILE, example_master

MEASURE = r"""
import json, resource, subprocess, sys, time
started = time.perf_counter()
run = subprocess.run(sys.argv[1:], capture_output=True)
print(json.dumps({
    "code": run.returncode,
    "stderr": run.stderr.decode("utf-8", "replace"),
    "seconds": time.perf_counter() - started,
    "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def measure(*args: str) -> dict[str, object]:
    """``python -m xlperf.cli ARGS`` in a fresh process: exit code, stderr, seconds, peak RSS."""
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, sys.executable, "-m", "xlperf.cli", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(run.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="one hostile file by name")
    parser.add_argument("--command", default="build", choices=("build", "upgrade"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = {"clean example": lambda dst: dst.write_bytes(example_master().read_bytes())}
        cases.update(HOSTILE)
        for name, make in cases.items():
            if args.only and name != args.only and name != "clean example":
                continue
            book = folder / f"{name.replace(' ', '_')}.xlsx"
            make(book)
            out = folder / f"out-{book.stem}"
            extra = (
                ["-o", str(out), "--no-report"] if args.command == "build" else ["-o", str(out / book.name)]
            )
            result = measure(args.command, str(book), *extra)
            said = next((line for line in str(result["stderr"]).splitlines() if line.strip()), "")
            print(
                f"{name:28} {book.stat().st_size / 2**20:6.1f} MB  exit {result['code']}  "
                f"{float(result['seconds']):6.2f} s  {float(result['rss_mb']):7.0f} MB RSS  {said[:110]}"
            )


if __name__ == "__main__":
    main()
