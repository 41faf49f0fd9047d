"""The reader's number-format rules (数字格式) answer as openpyxl's, which the reader no longer imports."""

from __future__ import annotations

import subprocess
import sys

import pytest
from openpyxl.styles import numbers as openpyxl_numbers
from openpyxl.utils import datetime as openpyxl_datetime

from xlperf.workbook import numfmt

CODES = [
    *openpyxl_numbers.BUILTIN_FORMATS.values(),
    "yyyy年m月d日",
    'yyyy"年"m"月"d"日"',
    '0.00"万元"',
    "[Red]0.00",
    "[$-804]yyyy/m/d",
    "[h]:mm",
    "[mm]:ss",
    "[ss].00",
    "0.00%;[Red]-0.00%",
    r"0\d",
    "_d0",
    "@",
    "",
    None,
]


def test_builtin_formats_are_openpyxls() -> None:
    assert numfmt.BUILTIN_FORMATS == openpyxl_numbers.BUILTIN_FORMATS


@pytest.mark.parametrize("code", CODES)
def test_date_and_duration_rules_are_openpyxls(code: str | None) -> None:
    assert numfmt.is_date_format(code) == openpyxl_numbers.is_date_format(code)
    assert numfmt.is_timedelta_format(code) == openpyxl_numbers.is_timedelta_format(code)


def test_epochs_are_openpyxls() -> None:
    assert numfmt.WINDOWS_EPOCH == openpyxl_datetime.WINDOWS_EPOCH
    assert numfmt.MAC_EPOCH == openpyxl_datetime.CALENDAR_MAC_1904


@pytest.mark.parametrize("command", ["check", "build"])
def test_check_and_build_do_not_import_openpyxl(tmp_path, command: str) -> None:
    """`xlperf check` and `xlperf build` read, evaluate and write without openpyxl, numpy or pandas
    (≈150 ms of start-up together); bench/bench_start.py times both as whole processes."""
    from xlperf.examples import example_data
    from xlperf.workbook.create import create_workbook

    book = tmp_path / "单位.xlsx"
    create_workbook(example_data("gaoyi2024"), book)
    argv = [command, str(book)] + (["-o", str(tmp_path / "out")] if command == "build" else [])
    code = (
        "import sys; from xlperf.cli import main; main(sys.argv[1:]); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('openpyxl', 'numpy', 'pandas')))"
    )
    run = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=False)
    assert "核定总分" in run.stdout, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"
    if command == "build":
        assert sorted(p.suffix for p in (tmp_path / "out").iterdir()) == [
            ".docx",
            ".html",
            ".json",
            ".xlsx",
            ".xlsx",
        ]
