"""Fuzz the input cells (输入单元格模糊测试): random values of every kind in random input cells, then build.

Each example writes 1–6 values — blank, 0, negatives, huge numbers, numbers typed as text in every
way finance staff type them, free text (Chinese, control characters, ``=…``), dates, booleans, real
Excel error cells, formulas with and without a cached result, merged cells — into random named
fields and table cells of the example workbook, then runs the headless build.  Properties:

* nothing but an :class:`~xlperf.errors.XlperfError` escapes, and the build finishes in bounded time;
* the source file is byte-identical afterwards;
* every input cell of the output workbook is the source's cell, byte for byte (a cell of a *mixed*
  column that held or now holds xlperf's own formula belongs to the build, as the contract says);
* no message in a finding carries a traceback or a Python repr.

``XLPERF_FUZZ_EXAMPLES`` sets the number of examples (default 40 for CI); ``XLPERF_FUZZ_STATS``
names a JSON file that receives the counts (tried / with findings naming a fuzzed cell / refused /
raised / hung / changed).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from helpers_bad_input import (
    MAIN_NS,
    Date,
    Err,
    Form,
    Merge,
    Text,
    cell_elements,
    digest,
    example_copy,
    locate_inputs,
    write_cells,
)
from xlperf.core.functions import FUNCTIONS
from xlperf.errors import XlperfError
from xlperf.workbook import contract as c
from xlperf.workbook.build import build_workbook

EXAMPLES = int(os.environ.get("XLPERF_FUZZ_EXAMPLES", "40"))
BUILD_SECONDS = 20
ERRORS = ("#DIV/0!", "#REF!", "#NAME?", "#N/A", "#VALUE!", "#NUM!", "#NULL!")
TYPED_NUMBERS = (
    "一千",
    "1,234.50",
    "12%",
    "１２３",
    "4419.16万元",
    " 12 ",
    "1 234",
    "12.5%",
    "-0",
    "1e5",
    "+5",
)
ODD_TEXT = ("=1+2", "=SUM(A1:A3)", "+1", "-x", "@foo", "=INDICATOR_SCORE(1)", "=rate_budget_adj", "#DIV/0!")


def _text() -> st.SearchStrategy[Text]:
    alphabet = st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF),
        st.characters(min_codepoint=0x20, max_codepoint=0x7E),
        st.sampled_from(["\n", "\t", "\x01", "\u3000", "，", "：", "、", "\ufeff", "&", "<", ">", '"', "_"]),
    )
    return st.one_of(
        st.sampled_from(TYPED_NUMBERS + ODD_TEXT + ("_x0041_ 字面量",)).map(Text),
        st.text(alphabet, max_size=40).map(Text),
        st.just(Text("長" * 5000)),
    )


def _number() -> st.SearchStrategy[object]:
    return st.one_of(
        st.just(0),
        st.integers(-(10**12), 10**12),
        st.floats(-1e9, 1e9, allow_nan=False, allow_infinity=False),
        st.sampled_from([1e300, -1e300, 1.7976931348623157e308, 5e-324, 0.1 + 0.2, 2.675]),
    )


def _cached() -> st.SearchStrategy[object]:
    return st.one_of(
        st.none(), _number(), st.sampled_from(["文本", "", "12%"]), st.sampled_from(ERRORS).map(Err)
    )


VALUES = st.one_of(
    st.none(),
    _number(),
    _text(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(2099, 12, 31)).map(Date),
    st.booleans(),
    st.sampled_from(ERRORS).map(Err),
    st.builds(
        Form, st.sampled_from(["1+2", "SUM(1,2)", "A1*2", "1/0", '"文本"', "B4", "TODAY()"]), _cached()
    ),
    st.builds(Form, st.sampled_from(["1+2", 'B4&"x"', "NOW()"]), st.none(), st.just(False)),
    st.just(Merge(1)),
)


def _own_formula(element: bytes) -> bool:
    """True if a serialised ``<c>`` holds a formula xlperf writes itself."""
    formula = etree.fromstring(element).find(f"{{{MAIN_NS}}}f")
    if formula is None or not formula.text:
        return False
    head = formula.text.lstrip("=").strip()
    return head.startswith(c.RATE_PREFIX) or head.split("(", 1)[0].upper() in FUNCTIONS


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise _Timeout


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    folder = tmp_path_factory.mktemp("fuzz")
    master = example_copy(folder / "master")
    return folder, locate_inputs(master)


def test_random_values_in_random_input_cells_never_break_the_build(workspace: tuple[Path, list]) -> None:
    folder, inputs = workspace
    master = folder / "master" / "高邑镇2024.xlsx"
    stats = {"tried": 0, "with_findings": 0, "refused": 0, "raised": 0, "hung": 0, "changed": 0}
    slowest = [0.0]
    input_places = {(i.sheet, i.coord): i for i in inputs}

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        st.lists(st.tuples(st.sampled_from(inputs), VALUES), min_size=1, max_size=6, unique_by=lambda t: t[0])
    )
    def one_case(chosen: list) -> None:
        stats["tried"] += 1
        source = write_cells(master, folder / "case.xlsx", {(i.sheet, i.coord): v for i, v in chosen})
        before_digest = digest(source)
        before_cells = cell_elements(source)
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(BUILD_SECONDS * 3)
        started = time.perf_counter()
        try:
            result = build_workbook(source, folder / "out")
        except XlperfError as exc:
            stats["refused"] += 1
            assert "Traceback" not in str(exc)
            assert digest(source) == before_digest
            return
        except _Timeout:
            stats["hung"] += 1
            raise AssertionError(f"build did not finish in {BUILD_SECONDS * 3} s: {chosen!r}") from None
        except Exception:
            stats["raised"] += 1
            raise
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        elapsed = time.perf_counter() - started
        slowest[0] = max(slowest[0], elapsed)
        if elapsed > BUILD_SECONDS:
            stats["hung"] += 1
        assert elapsed < BUILD_SECONDS, (elapsed, chosen)
        if digest(source) != before_digest:
            stats["changed"] += 1
            raise AssertionError(f"the source workbook was modified: {chosen!r}")
        after_cells = cell_elements(result.output)
        changed = []
        for place, cell in input_places.items():
            old, new = before_cells.get(place), after_cells.get(place)
            if old == new or (cell.mixed and any(e is not None and _own_formula(e) for e in (old, new))):
                continue
            if (
                old is None
                and new is not None
                and b"<v" not in new
                and b"<f" not in new
                and b"<is" not in new
            ):
                continue  # an empty styled cell created in a row the build touched
            changed.append((place, old, new))
        if changed:
            stats["changed"] += 1
        assert not changed, (changed[:3], chosen)
        fuzzed = {f"{i.sheet}!{i.coord}" for i, _ in chosen}
        named = [f for f in result.findings if fuzzed & set(result.where(f).split("、"))]
        stats["with_findings"] += bool(named)
        for finding in result.findings:
            assert "Traceback" not in finding.message and "datetime.datetime(" not in finding.message
            assert "object at 0x" not in finding.message, finding.message

    try:
        one_case()
    finally:
        stats["slowest_build_s"] = round(slowest[0], 2)
        print(f"\nfuzz: {json.dumps(stats, ensure_ascii=False)}")
        if os.environ.get("XLPERF_FUZZ_STATS"):
            Path(os.environ["XLPERF_FUZZ_STATS"]).write_text(json.dumps(stats), encoding="utf-8")
    assert stats["tried"] >= min(EXAMPLES, 10)
    assert stats["raised"] == stats["hung"] == stats["changed"] == 0
