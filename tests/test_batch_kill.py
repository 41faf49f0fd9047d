"""Kill a running ``xlperf batch`` (中断批量处理): nothing it leaves behind blocks or changes the next run.

``xlperf batch INBOX -o OUT --jobs 2`` runs as its own process (in its own session, so its workers
can be found by process group) and only the main process is signalled — SIGKILL as the task
manager or ``kill -9`` does, SIGTERM as ``kill`` or a stopping service does, SIGINT as Ctrl+C — at several points: as
soon as its temporary folder exists, after the first unit is built, and half-way through.
Then, within seconds, no process of that run is left (the pool workers end with it); the next run
takes the output folder at once (no lock is left), removes the killed run's temporary folder and
writes a 汇总 identical to a clean run's.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from helpers_batch import summary_contents, unit_folders
from tools.generate import generate_workbooks
from xlperf.batch import run_batch
from xlperf.batch.pool import WATCH_INTERVAL
from xlperf.batch.run import BATCH_DIR, SUMMARY_XLSX, TEMP_PREFIX

ROOT = Path(__file__).resolve().parents[1]
UNITS = 24
EXIT_SECONDS = 5.0  # all processes of the killed run must be gone within this


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("kill")
    paths = generate_workbooks(root / "收件箱", UNITS)
    with zipfile.ZipFile(root / "收件箱" / "各单位.zip", "w") as zf:  # zip members use the temp folder
        for path in paths[:2]:
            zf.write(path, f"压缩包/{path.name}")
    return root / "收件箱"


@pytest.fixture(scope="module")
def clean(inbox: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "输出"
    run_batch(inbox, out, jobs=2, formats=("html",), stream=io.StringIO())
    return out


def _alive(group: int) -> bool:
    """Whether any process of the process group is still running (zombies count as gone)."""
    try:
        listing = subprocess.run(
            ["ps", "-o", "stat=", "-g", str(group)], capture_output=True, text=True, check=False
        ).stdout.split()
    except OSError:  # pragma: no cover - no ps
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True
    return any(not state.startswith("Z") for state in listing)


def _members(group: int) -> int:
    """The running (not zombie) processes of the process group."""
    listing = subprocess.run(["ps", "-o", "stat=", "-g", str(group)], capture_output=True, text=True).stdout
    return sum(not state.startswith("Z") for state in listing.split())


POINTS = {
    "temp": lambda out, tmp: any(tmp.glob(TEMP_PREFIX + "*")),
    # The two zip members repeat two workbooks: their records come first, then the first group built.
    "first": lambda out, tmp: len(list((out / BATCH_DIR / "units").glob("*.json"))) >= 3,
    "half": lambda out, tmp: len(list((out / BATCH_DIR / "units").glob("*.json"))) >= UNITS // 2,
}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals; Windows has no SIGKILL to send")
@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["SIGKILL", "SIGTERM", "SIGINT"]
)
@pytest.mark.parametrize("point", list(POINTS))
def test_a_killed_batch_leaves_nothing_that_blocks_or_changes_the_next_run(
    inbox: Path, clean: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: int, point: str
) -> None:
    out, tmp = tmp_path / "输出", tmp_path / "临时"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TMPDIR": str(tmp)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "xlperf.cli", "batch", str(inbox), "-o", str(out), "--jobs", "2"]
        + ["--format", "html"],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and not POINTS[point](out, tmp) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the batch finished before it could be signalled"
    group_size = _members(proc.pid)
    os.kill(proc.pid, sig)  # the main process only, as kill or the task manager would
    killed = time.monotonic()
    proc.wait(timeout=60)
    while _alive(proc.pid) and time.monotonic() - killed < 30:
        time.sleep(0.02)
    seconds = time.monotonic() - killed
    left = _members(proc.pid)
    print(f"{point} {signal.Signals(sig).name}: {group_size} processes, {left} left after {seconds:.2f} s")
    assert not _alive(proc.pid), f"{left} processes of the killed run still running"
    assert seconds < EXIT_SECONDS
    if sig != signal.SIGKILL:  # a graceful interruption: exit code 130, temporary files removed
        message = proc.stderr.read().decode("utf-8", "replace")
        assert proc.returncode == 130 and "Traceback" not in message, message
        assert not list(tmp.glob(TEMP_PREFIX + "*"))
    proc.stderr.close()

    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    started = time.monotonic()
    result = run_batch(inbox, out, jobs=2, formats=("html",), stream=io.StringIO())
    assert not result.interrupted and result.built + result.skipped == UNITS + 2
    assert summary_contents(out) == summary_contents(clean)
    assert unit_folders(out) == unit_folders(clean)
    assert not list(tmp.glob(TEMP_PREFIX + "*")), "the killed run's temporary folder was left"
    assert time.monotonic() - started < 60 and (out / SUMMARY_XLSX).is_file()


def test_a_live_runs_temporary_folder_is_kept_and_a_dead_ones_removed(
    inbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xlperf.batch.run import TEMP_OWNER
    from xlperf.io.lock import hold

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    live, dead, old = (tmp_path / f"{TEMP_PREFIX}{name}" for name in ("live", "dead", "old"))
    for folder in (live, dead, old):
        folder.mkdir()
        (folder / "1").mkdir()
        (folder / "1" / "财政局.xlsx").write_bytes(b"PK")
    (dead / TEMP_OWNER).write_bytes(b"")
    os.utime(old, (time.time() - 3600, time.time() - 3600))  # never got its owner lock, long ago
    box = tmp_path / "收件箱"
    box.mkdir()
    shutil.copy(next(inbox.rglob("*.xlsx")), box)
    with hold(live / TEMP_OWNER):  # a run still going
        run_batch(box, tmp_path / "输出", jobs=1, formats=("html",), stream=io.StringIO())
    assert live.is_dir() and not dead.exists() and not old.exists()
    assert sorted(p.name for p in tmp_path.glob(TEMP_PREFIX + "*")) == [live.name]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_does_not_keep_its_parents_lock(tmp_path: Path) -> None:
    from xlperf.io.lock import LockHeld, hold, is_held

    path = tmp_path / "lock"
    with hold(path):
        assert is_held(path)
        with pytest.raises(LockHeld), hold(path):
            pass
        child = os.fork()
        if child == 0:  # pragma: no cover - the child only waits to be killed
            time.sleep(30)
            os._exit(0)
    try:
        assert not is_held(path)  # released by the parent although the child lives on
    finally:
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)


def _running(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return not stat.read().rsplit(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, ProcessLookupError):
        return False


ORPHAN = r"""
import multiprocessing, os, sys, time

def child(parent, platform):
    from xlperf.batch.pool import die_with_parent

    sys.platform = platform  # no PR_SET_PDEATHSIG: the watchdog alone must end this process
    die_with_parent(parent)
    time.sleep(60)

if __name__ == "__main__":
    process = multiprocessing.get_context(sys.argv[1]).Process(target=child, args=(os.getpid(), sys.argv[2]))
    process.start()
    print(process.pid, flush=True)
    time.sleep(60)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("platform", ["posix", "win32"], ids=["parent-pid", "parent-handle"])
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_the_watchdog_alone_ends_a_worker_whose_parent_died(
    tmp_path: Path, method: str, platform: str
) -> None:
    """Where the kernel offers no parent-death signal (Windows, macOS) the watchdog thread ends the
    worker: by its change of parent on POSIX, by its parent's handle (sentinel) as on Windows."""
    script = tmp_path / "orphan.py"
    script.write_text(ORPHAN, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    parent = subprocess.Popen(
        [sys.executable, str(script), method, platform], env=env, stdout=subprocess.PIPE, text=True
    )
    child = int(parent.stdout.readline())
    time.sleep(0.5 if method == "fork" else 2.0)  # the child has armed its watchdog
    assert _running(child), "the child ended before its parent"
    parent.kill()
    parent.wait(timeout=30)
    parent.stdout.close()
    killed = time.monotonic()
    while _running(child) and time.monotonic() - killed < 10:
        time.sleep(0.02)
    seconds = time.monotonic() - killed
    alive = _running(child)
    if alive:
        os.kill(child, signal.SIGKILL)
    assert not alive and seconds < 3 * WATCH_INTERVAL + 1, seconds
