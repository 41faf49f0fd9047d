"""Test session setup (测试环境).

xlwings picks its function decorators and engines when it is first imported, so the variables
that select xlwings Server's Office.js machinery must be set before any test module imports it:
``XLWINGS_ON_SERVER=true`` (``@func``/``@script`` register Office.js metadata instead of being
inert on Linux) and ``XLWINGS_LICENSE_KEY=noncommercial`` (xlwings PRO's remote and calamine
engines; PolyForm Noncommercial, which covers use by a government institution).
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator

import pytest

os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")


# A test that is skipped because something it needs is not installed tests nothing, yet a skip
# looks green: such skips fail the run instead (缺少测试依赖即失败).  The reasons matched are
# pytest.importorskip's ("could not import 'x'") and this suite's own ("… is not installed").
_MISSING_DEPENDENCY = re.compile(r"could not import|is not installed|not found")


def _fail_missing_dependency(report: pytest.CollectReport | pytest.TestReport) -> None:
    if not report.skipped or not isinstance(report.longrepr, tuple):
        return
    reason = str(report.longrepr[2])
    if _MISSING_DEPENDENCY.search(reason):
        report.outcome = "failed"
        report.longrepr = f"测试依赖缺失，测试未运行（请安装 .[test,server] 中的全部依赖）：{reason}"


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    _fail_missing_dependency(report)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    _fail_missing_dependency(report)
    return report
