"""Interrupt ``xlperf build`` mid-write, many times (中断测试): the previous outputs always survive.

The output folder first holds a complete build of workbook A (the last good outputs).  Then
``xlperf build`` of workbook B — same file name and unit, different figures — into the same folder
is killed (SIGKILL) or interrupted (SIGINT, as Ctrl-C), over and over.  Two runs in three wait
until xlperf has created its first temporary output file and signal within the write (a slow disk
is simulated: every zip entry and every final rename is delayed); the third signals after a random
delay over the whole run, as a user would.  Most runs are forked from this (already imported)
process and call the CLI's ``main``, so thirty runs stay cheap; every fifth is a fresh
``python -c … xlperf.cli`` process.  After every run:

* each output is complete: byte-identical to A's or to B's (the workbook and the HTML), or with
  the same content as one of them (the .docx and the 自评表 .xlsx carry a save timestamp);
* every output workbook opens with openpyxl and passes the zip CRC check;
* the only other files are xlperf's hidden temporaries (``.name.xlperf-tmp-…``), and only after a
  SIGKILL — Ctrl-C cleans up;
* the input workbooks are untouched, and Ctrl-C never prints a traceback.

``XLPERF_KILL_RUNS`` sets the number of runs (default 30; every fifth also writes the reports).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import traceback
import zipfile
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from helpers_bad_input import digest, env, example_copy, field_cell, write_cells
from xlperf.io.overwrite import LEDGER

RUNS = int(os.environ.get("XLPERF_KILL_RUNS", "30"))
TEMP_MARKER = ".xlperf-tmp-"
SLOW_DISK = 0.002
INSTRUMENT = r"""
import os, time, tempfile
def instrument(slow, marker):
    if marker:  # tell the test when the first temporary output file is created
        original_mkstemp = tempfile.mkstemp
        def mkstemp(*args, **kwargs):
            result = original_mkstemp(*args, **kwargs)
            if ".xlperf-tmp-" in str(kwargs.get("prefix", "")) and not os.path.exists(marker):
                open(marker, "w").close()
            return result
        tempfile.mkstemp = mkstemp
    if slow:  # a slow disk: every zip entry and every final rename takes a while
        import xlperf.io.xlsxpatch as xp
        writer = getattr(xp, "_ZipWriter", None)
        if writer is not None and hasattr(writer, "add"):
            original_add = writer.add
            def add(self, *args, **kwargs):
                time.sleep(slow)
                return original_add(self, *args, **kwargs)
            writer.add = add
        original_replace = os.replace
        def replace(*args, **kwargs):
            time.sleep(slow * 5)
            return original_replace(*args, **kwargs)
        os.replace = replace
"""
SUBPROCESS = (
    INSTRUMENT
    + r"""
import sys
instrument(float(os.environ.get("XLPERF_TEST_SLOW_DISK", "0")), os.environ.get("XLPERF_TEST_WRITE_MARKER"))
from xlperf.cli import main
sys.exit(main(sys.argv[1:]))
"""
)
_namespace: dict[str, object] = {}
exec(INSTRUMENT, _namespace)
instrument = _namespace["instrument"]


def _content(path: Path) -> object:
    """What a file says, ignoring save timestamps: bytes, or the text of a .docx / values of an .xlsx."""
    if path.suffix == ".docx":
        doc = Document(str(path))
        cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
        return ("docx", [p.text for p in doc.paragraphs], cells)
    if path.suffix == ".xlsx" and path.stem.endswith("自评表"):
        wb = load_workbook(path)
        return ("xlsx", [[c.value for c in row] for ws in wb.worksheets for row in ws.iter_rows()])
    return path.read_bytes()


def _snapshot(folder: Path) -> dict[str, object]:
    """The outputs in ``folder`` (xlperf's record of what it wrote there, ``LEDGER``, is not one)."""
    return {p.name: _content(p) for p in sorted(folder.iterdir()) if p.is_file() and p.name != LEDGER}


class _Child:
    """A running ``xlperf build``: a forked copy of this process, or a fresh Python process."""

    def __init__(self, args: list[str], *, fork: bool, slow: float, marker: Path | None, log: Path) -> None:
        self.log, self.proc, self.pid = log, None, 0
        if not fork:
            variables = {**env(), "XLPERF_TEST_SLOW_DISK": str(slow)}
            if marker is not None:
                variables["XLPERF_TEST_WRITE_MARKER"] = str(marker)
            with log.open("w") as err:
                self.proc = subprocess.Popen(
                    [sys.executable, "-c", SUBPROCESS, *args],
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    env=variables,
                )
            return
        self.pid = os.fork()
        if self.pid == 0:  # the child: never returns into pytest
            code = 98
            try:
                os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
                os.dup2(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                instrument(slow, str(marker) if marker else None)  # type: ignore[operator]
                from xlperf.cli import main

                code = main(args)
            except KeyboardInterrupt:
                code = 130  # the signal arrived after main() had returned
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)

    def poll(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is not None
        if self.pid and self.returncode is None:
            done, status = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode is not None

    returncode: int | None = None

    def signal(self, sig: signal.Signals) -> None:
        if self.proc is not None:
            self.proc.send_signal(sig)
        else:
            os.kill(self.pid, sig)

    def wait(self) -> int:
        if self.proc is not None:
            return self.proc.wait(timeout=120)
        if self.returncode is None:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode


@pytest.fixture(scope="module")
def books(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    import xlperf.cli
    import xlperf.report.docx_report
    import xlperf.report.html_report
    import xlperf.report.scoresheet
    import xlperf.workbook.build  # noqa: F401

    root = tmp_path_factory.mktemp("kill")
    a = example_copy(root / "a")
    b = example_copy(root / "b")
    write_cells(b, b, {field_cell(b, "final_income_total"): 8700.5, field_cell(b, "carryover_end"): 100.0})
    outputs: dict[str, object] = {"root": root, "a": a, "b": b}
    for mode, extra in (("plain", ["--no-report"]), ("reports", [])):
        for name, book in (("a", a), ("b", b)):
            folder = root / f"good-{mode}-{name}"
            started = time.perf_counter()
            child = _Child(
                ["build", str(book), "-o", str(folder), *extra],
                fork=True,
                slow=0,
                marker=None,
                log=root / "log",
            )
            assert child.wait() in (0, 1), (root / "log").read_text()
            outputs[f"{mode}-{name}"] = _snapshot(folder)
            outputs[f"{mode}-{name}-dir"] = folder
            outputs[f"{mode}-seconds"] = time.perf_counter() - started
    assert outputs["plain-a"] != outputs["plain-b"]
    return outputs


def _one_run(books: dict[str, object], index: int, rng: random.Random) -> dict[str, object]:
    mode = "reports" if index % 5 == 4 else "plain"
    sig = signal.SIGINT if index % 3 == 2 else signal.SIGKILL
    targeted = index % 3 != 0
    fork = index % 5 != 0
    slow = SLOW_DISK if targeted or index % 2 else 0.0
    root = Path(books["root"])  # type: ignore[arg-type]
    folder = root / f"run{index}"
    shutil.copytree(books[f"{mode}-a-dir"], folder)  # type: ignore[arg-type]
    marker = root / f"marker{index}" if targeted else None
    extra = ["--no-report"] if mode == "plain" else []
    child = _Child(
        ["build", str(books["b"]), "-o", str(folder), *extra],
        fork=fork,
        slow=slow,
        marker=marker,
        log=root / f"err{index}",
    )
    if marker is not None:
        deadline = time.monotonic() + 60
        while not marker.exists() and not child.poll() and time.monotonic() < deadline:
            time.sleep(0.001)
        delay = rng.uniform(0.0, 0.15)
    else:
        seconds = float(books[f"{mode}-seconds"])  # type: ignore[arg-type]
        start_up = 0.0 if fork else 0.45  # a fresh interpreter: Ctrl-C only after start-up (see report)
        delay = rng.uniform(start_up + 0.2 * seconds, start_up + 1.05 * seconds)
    time.sleep(delay)
    finished = child.poll()
    if not finished:
        child.signal(sig)
    code = child.wait()
    return {
        "index": index,
        "mode": mode,
        "signal": sig.name,
        "fork": fork,
        "targeted": targeted,
        "slow": bool(slow),
        "delay": round(delay, 3),
        "finished": finished,
        "code": code,
        "stderr": (root / f"err{index}").read_text(encoding="utf-8", errors="replace"),
        "folder": folder,
    }


def test_killing_build_mid_write_never_damages_the_previous_outputs(books: dict[str, object]) -> None:
    rng = random.Random(int(os.environ.get("XLPERF_KILL_SEED", "7")))
    input_digests = {name: digest(Path(books[name])) for name in ("a", "b")}  # type: ignore[arg-type]
    stats = {
        "runs": 0,
        "interrupted": 0,
        "finished_first": 0,
        "temp_left": 0,
        "mixed_old_new": 0,
        "new_complete": 0,
    }
    for index in range(RUNS):
        run = _one_run(books, index, random.Random(rng.random()))
        stats["runs"] += 1
        folder: Path = run["folder"]  # type: ignore[assignment]
        old, new = books[f"{run['mode']}-a"], books[f"{run['mode']}-b"]
        stats["interrupted"] += not run["finished"]
        stats["finished_first"] += bool(run["finished"])
        leftovers = [p.name for p in folder.iterdir() if p.name not in old and p.name != LEDGER]  # type: ignore[operator]
        assert all(n.startswith(".") and TEMP_MARKER in n for n in leftovers), (run, leftovers)
        if leftovers:
            stats["temp_left"] += 1
            assert run["signal"] == "SIGKILL", f"Ctrl-C left temporary files behind: {leftovers} ({run})"
        sources = set()
        for name, previous in old.items():  # type: ignore[union-attr]
            path = folder / name
            assert path.is_file(), (run, name)
            now = _content(path)
            assert now in (previous, new[name]), f"{name} is neither the previous nor the new output ({run})"  # type: ignore[index]
            sources.add("old" if now == previous else "new")
            if name.endswith(".xlsx"):
                load_workbook(path).close()
                with zipfile.ZipFile(path) as zf:
                    assert zf.testzip() is None
        stats["mixed_old_new"] += len(sources) == 2
        stats["new_complete"] += sources == {"new"}
        assert "Traceback" not in str(run["stderr"]), run["stderr"]
        if run["signal"] == "SIGINT" and not run["finished"]:
            assert run["code"] in (0, 1, 130, -signal.SIGINT), run  # -2: the signal came while exiting
        shutil.rmtree(folder)
    for name, value in input_digests.items():
        assert digest(Path(books[name])) == value, f"input {name} changed"  # type: ignore[arg-type]
    print(f"\nkill: {json.dumps(stats)}")
    if os.environ.get("XLPERF_KILL_STATS"):
        Path(os.environ["XLPERF_KILL_STATS"]).write_text(json.dumps(stats), encoding="utf-8")
    assert stats["interrupted"] >= RUNS // 2, stats
