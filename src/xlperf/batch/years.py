"""Several years of the same units in one inbox (多年度对比): pair each unit's years, show the change.

A unit is known by its 单位名称 and its 评价年度, as the workbooks state them.  Each year is paired
with the unit's previous year when the inbox holds it; identical copies are left out as in the
rest of the summary (:func:`.summary.counted`), and of two different workbooks for the same unit
and year the first by path is compared (the summary already asks the bureau which one counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..core.numbers import fmt_score, parse_number, round_half_up
from .summary import counted
from .unit import UnitRecord


@dataclass(frozen=True, slots=True)
class YearChange:
    """One unit's year against its previous year (与上年比较): scores, grades and the change."""

    unit: str
    year: int
    current: UnitRecord
    previous: UnitRecord

    @property
    def change(self) -> float | None:
        """核定总分 this year minus last year (得分变化), ``None`` when either is missing."""
        if self.current.total is None or self.previous.total is None:
            return None
        return round_half_up(self.current.total - self.previous.total, 2)

    @property
    def change_text(self) -> str:
        """``+2.5`` / ``-3`` / ``持平`` / ``—`` (变化)."""
        change = self.change
        if change is None:
            return "—"
        return "持平" if change == 0 else f"{'+' if change > 0 else '-'}{fmt_score(abs(change))}"

    @property
    def grade_text(self) -> str:
        """``良 → 优`` or ``良（未变）`` (等级变化)."""
        before, now = self.previous.grade or "—", self.current.grade or "—"
        return f"{now}（未变）" if before == now else f"{before} → {now}"


def _year(record: UnitRecord) -> int | None:
    value = parse_number(record.year).value
    return int(value) if value is not None and value.is_integer() else None


def year_changes(records: Sequence[UnitRecord]) -> list[YearChange]:
    """Every unit-year whose previous year is also in the batch (按单位和年度配对), by unit then year."""
    by_unit: dict[str, dict[int, UnitRecord]] = {}
    for record in sorted(counted(records), key=lambda r: r.key):
        year = _year(record)
        if record.unit and year is not None:
            by_unit.setdefault(record.unit, {}).setdefault(year, record)
    return [
        YearChange(unit, year, years[year], years[year - 1])
        for unit, years in sorted(by_unit.items())
        for year in sorted(years)
        if year - 1 in years
    ]
