"""Tests of the bad-input tools themselves (坏输入测试工具的测试): :mod:`helpers_bad_input`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import load_workbook

from helpers_bad_input import Date, Err, Form, Text, example_copy, field_cell, locate_inputs, write_cells
from xlperf.core.fields import FIELDS

# --------------------------------------------------------------------------------------------
# tests of the tools
# --------------------------------------------------------------------------------------------


def test_every_kind_of_value_is_written_as_a_real_cell(tmp_path: Path) -> None:
    book = example_copy(tmp_path)
    where = {
        "text": field_cell(book, "unit_name"),
        "error": field_cell(book, "final_income_total"),
        "formula": field_cell(book, "budget_income_total"),
        "nocache": field_cell(book, "carryover_end"),
        "date": field_cell(book, "year"),
    }
    out = write_cells(
        book,
        tmp_path / "kinds.xlsx",
        {
            where["text"]: Text("=1+2"),
            where["error"]: Err("#DIV/0!"),
            where["formula"]: Form("4000+419.16", 4419.16),
            where["nocache"]: Form("1+1", has_cache=False),
            where["date"]: Date(dt.datetime(2024, 3, 1)),
        },
    )
    wb = load_workbook(out)
    cell = wb[where["text"][0]][where["text"][1]]
    assert (cell.value, cell.data_type) == ("=1+2", "s")
    cell = wb[where["error"][0]][where["error"][1]]
    assert (cell.value, cell.data_type) == ("#DIV/0!", "e")
    cell = wb[where["formula"][0]][where["formula"][1]]
    assert (cell.value, cell.data_type) == ("=4000+419.16", "f")
    assert load_workbook(out, data_only=True)[where["formula"][0]][where["formula"][1]].value == 4419.16
    assert load_workbook(out, data_only=True)[where["nocache"][0]][where["nocache"][1]].value is None
    assert wb[where["date"][0]][where["date"][1]].value == dt.datetime(2024, 3, 1)


def test_the_input_locator_covers_every_field_and_table(tmp_path: Path) -> None:
    cells = locate_inputs(example_copy(tmp_path))
    assert {i.what for i in cells if i.what.startswith("field:")} == {f"field:{f.key}" for f in FIELDS}
    tables = {i.what.split(":")[1] for i in cells if i.what.startswith("table:")}
    assert tables == {"tbl_team", "tbl_classes", "tbl_quarters", "tbl_goals", "tbl_rubric"}
    assert len({(i.sheet, i.coord) for i in cells}) == len(cells)
