"""A batch over several years of the same units: paired by unit and year, the change shown per unit."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import lxml.html
from openpyxl import load_workbook

from tools.generate import generate_workbooks
from xlperf.batch import run_batch
from xlperf.batch.run import SUMMARY_HTML, SUMMARY_XLSX
from xlperf.batch.unit import UnitRecord
from xlperf.batch.years import year_changes
from xlperf.core.numbers import fmt_score, round_half_up
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


def test_several_years_get_year_named_folders_and_statistics_per_year(tmp_path: Path) -> None:
    first, second = generate_workbooks(tmp_path / "generated", 2)
    box = tmp_path / "收件箱"
    box.mkdir()
    _set(first, box / "甲2024.xlsx", year=2024)
    carry_over(box / "甲2024.xlsx", box / "甲2025.xlsx")  # `xlperf new --from`: the same unit, next year
    _set(second, box / "乙2025.xlsx", year=2025)
    out = tmp_path / "输出"
    result = run_batch(box, out, jobs=1, formats=("html",), stream=io.StringIO())
    by_file = {r.source: r for r in result.records}
    unit_a, unit_b = by_file["甲2024.xlsx"].unit, by_file["乙2025.xlsx"].unit
    assert {r.folder for r in result.records} == {f"{unit_a}2024", f"{unit_a}2025", f"{unit_b}2025"}
    assert {p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")} == {
        f"{unit_a}2024",
        f"{unit_a}2025",
        f"{unit_b}2025",
    }  # never “（2）” for the same unit's other year
    assert [r.year for r in result.records] == ["2025", "2025", "2024"]  # the latest year first

    rows = list(load_workbook(out / SUMMARY_XLSX)["汇总"].iter_rows(values_only=True))
    ranked = {(row[1], row[2]): row[0] for row in rows[1:]}
    assert ranked[(unit_a, 2024)] == 1  # ranked within its own year
    assert sorted(ranked[(u, 2025)] for u in (unit_a, unit_b)) in ([1, 2], [1, 1])

    page = lxml.html.fromstring((out / SUMMARY_HTML).read_text(encoding="utf-8"))
    bars = page.xpath("//section[@id='grades']//div[@class='bars']/span[contains(., '个（')]")
    assert sum(int(b.text_content().split(" ")[0]) for b in bars) == 2  # 2025's units, each once
    latest = [r.total for r in result.records if r.year == "2025" and r.total is not None]
    mean = round_half_up(sum(latest) / len(latest), 2)
    card = next(c for c in page.xpath("//div[@class='card']") if "平均核定总分" in c.text_content())
    assert "2025 年度" in card.text_content() and card.xpath("b")[0].text_content() == fmt_score(mean)
    notes = [li.text_content() for li in page.xpath("//section[@id='notes']//li")]
    assert any("2024、2025" in n and "只统计最新的 2025 年度" in n for n in notes)


def test_one_year_keeps_plain_folder_names(tmp_path: Path) -> None:
    (only,) = generate_workbooks(tmp_path / "generated", 1)
    box = tmp_path / "收件箱"
    box.mkdir()
    _set(only, box / "甲2025.xlsx", year=2025)
    result = run_batch(box, tmp_path / "输出", jobs=1, formats=("html",), stream=io.StringIO())
    assert [r.folder for r in result.records] == [result.records[0].unit]
