"""The command line: exit codes, messages and JSON, run as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

from helpers_bad_input import xlperf

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "workbook/examples/高邑镇2024.xlsx"


def test_build_prints_the_summary_and_writes_the_copy(tmp_path: Path) -> None:
    run = xlperf("build", str(EXAMPLE), "-o", str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert "核定总分：80 分，等级：良（自评合计 94.75 分，优）" in run.stdout
    assert (
        "报告所写总分 95.75 分，但各项自评得分相加为 94.75 分；按数据和评分规则核定为 80 分（良）（汇总!"
        in run.stdout
    )
    assert (tmp_path / EXAMPLE.name).is_file()


def test_check_is_a_ci_gate_with_json_locations() -> None:
    run = xlperf("check", str(EXAMPLE), "--json")
    assert run.returncode == 1
    payload = json.loads(run.stdout)
    assert payload["total"] == 80 and payload["counts"]["error"] >= 10
    double = next(f for f in payload["findings"] if f["check"] == "sum.double_count")
    assert {"sheet": "预算收支"}.items() <= double["cells"][0].items()
    assert double["figures"]["重复金额"] == "7.00 万元"


def test_clean_workbook_exits_zero(tmp_path: Path) -> None:
    book = tmp_path / "blank.xlsx"
    assert xlperf("new", "--unit", "某某镇", "--year", "2025", "-o", str(book)).returncode == 0
    assert xlperf("check", str(book)).returncode == 0


def test_unreadable_input_exits_two_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "报表.xlsx"
    bad.write_text("单位,金额\n高邑镇,1\n", encoding="gbk")
    run = xlperf("check", str(bad))
    assert run.returncode == 2
    assert "Traceback" not in run.stderr and "报表.xlsx" in run.stderr
    missing = xlperf("build", str(tmp_path / "nope.xlsx"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_argument_errors_are_chinese_only() -> None:
    import re

    for argv, expected in (
        (["build", "a.xlsx", "--jobs", "2"], "无法识别的参数：--jobs 2"),
        (["batch", "inbox", "--jobs", "x"], "参数 --jobs：「x」不是有效的整数"),
    ):
        done = xlperf(*argv)
        assert done.returncode == 2
        assert expected in done.stderr, done.stderr
        assert not re.search(r"unrecognized|invalid|\bint\b", done.stderr), done.stderr
