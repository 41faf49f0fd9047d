"""A batch over several years of the same units: paired by unit and year, the change shown per unit."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import lxml.html

from tools.generate import generate_workbooks
from xlperf.batch import run_batch
from xlperf.batch.run import SUMMARY_HTML
from xlperf.batch.unit import UnitRecord
from xlperf.batch.years import year_changes
from xlperf.io.xlsxpatch import patch_workbook
from xlperf.workbook.carryover import carry_over
from xlperf.workbook.read import read_workbook


def _set(path: Path, dst: Path, **values: object) -> None:
    names = read_workbook(path).locator.names
    patch_workbook(path, dst, {names[key]: value for key, value in values.items()})


def test_two_years_per_unit_show_each_units_change_in_score_and_grade(tmp_path: Path) -> None:
    first, second, alone = generate_workbooks(tmp_path / "generated", 3)
    box = tmp_path / "收件箱"
    units = {}
    for path, folder in ((first, "甲"), (second, "乙")):
        (box / folder).mkdir(parents=True)
        _set(path, box / folder / "2024.xlsx", year=2024)
        units[folder] = read_workbook(box / folder / "2024.xlsx").data.get("unit_name")
    _set(box / "甲" / "2024.xlsx", box / "甲" / "2025.xlsx", year=2025)  # the same figures again
    carry_over(box / "乙" / "2024.xlsx", box / "乙" / "2025.xlsx")  # a new year not filled in yet
    shutil.copy(alone, box / "丙2024.xlsx")

    result = run_batch(box, tmp_path / "输出", jobs=1, formats=("html",), stream=io.StringIO())
    changes = {c.unit: c for c in year_changes(result.records)}
    assert set(changes) == {units["甲"], units["乙"]}  # 丙 has one year only
    same, dropped = changes[units["甲"]], changes[units["乙"]]
    assert (same.year, same.previous.year, same.change, same.change_text) == (2025, "2024", 0.0, "持平")
    assert same.grade_text == f"{same.current.grade}（未变）"
    assert dropped.previous.total and dropped.change == -dropped.previous.total
    assert dropped.grade_text == f"{dropped.previous.grade} → 差"
    # A path named inside a submitted workbook is never opened by the batch, not even the inbox's own.
    _set(box / "乙" / "2025.xlsx", box / "乙" / "2025.xlsx", previous_file="../甲/2024.xlsx")
    again = run_batch(box, tmp_path / "输出", jobs=1, formats=("html",), stream=io.StringIO())
    carried = next(r for r in again.records if r.source.endswith("乙/2025.xlsx"))
    assert carried.ok and not [f for f in carried.findings if f.check.startswith("previous.")]

    page = lxml.html.fromstring((tmp_path / "输出" / SUMMARY_HTML).read_text(encoding="utf-8"))
    rows = [
        [td.text_content().strip() for td in tr.xpath("td")]
        for tr in page.xpath("//section[@id='changes']//tbody/tr")
    ]
    assert rows == sorted(
        [
            [
                units["甲"],
                "2024 → 2025",
                f"{same.previous.total:g}",
                f"{same.current.total:g}",
                "持平",
                same.grade_text,
            ],
            [
                units["乙"],
                "2024 → 2025",
                f"{dropped.previous.total:g}",
                "0",
                dropped.change_text,
                dropped.grade_text,
            ],
        ]
    )


def test_pairing_skips_gaps_copies_and_units_without_a_year() -> None:
    def record(key: str, unit: str, year: str, total: float, digest: str = "") -> UnitRecord:
        return UnitRecord(key, key, digest or key, "", "ok", unit=unit, year=year, total=total, grade="良")

    records = [
        record("a1", "甲", "2022", 80),
        record("a2", "甲", "2024", 85),  # 2023 missing: nothing to compare 2024 with
        record("a3", "甲", "2025", 90.5),
        record("a4", "甲", "2025", 90.5, digest="a3"),  # an identical copy, not counted twice
        record("b1", "乙", "", 70),
        record("b2", "乙", "2025", 75),
    ]
    changes = year_changes(records)
    assert [(c.unit, c.year, c.change_text) for c in changes] == [("甲", 2025, "+5.5")]
