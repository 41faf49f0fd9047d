"""Bundled example units (示例单位): 高邑镇 2024 from ``shared/reference``, as :class:`UnitData`."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources

from ..core.model import ClassRow, GoalRow, QuarterRow, TeamRow, UnitData
from ..errors import XlperfError
from ..rubrics import packaged_goals, packaged_rows

EXAMPLES = {"gaoyi2024": "高邑县高邑镇人民政府 2024年度"}


def example_data(name: str = "gaoyi2024") -> UnitData:
    """The inputs of a bundled example unit (示例数据), rubric rows merged with the unit's entries."""
    if name not in EXAMPLES:
        raise XlperfError(f"未知的示例「{name}」，可用：{'、'.join(EXAMPLES)}")
    raw = json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8"))
    entries = {row["code"]: row for row in raw["indicators"]}
    indicators = tuple(
        replace(row, **{k: v for k, v in entries.get(str(row.code), {}).items() if k != "code"})
        for row in packaged_rows(raw["rubric"])
    )
    goals = tuple(GoalRow(**g) for g in raw["goals"]) or tuple(packaged_goals(raw["rubric"]))
    return UnitData(
        fields=raw["fields"],
        classes=tuple(ClassRow(**c) for c in raw["classes"]),
        quarters=tuple(QuarterRow(**q) for q in raw["quarters"]),
        goals=goals,
        indicators=indicators,
        team=tuple(TeamRow(**t) for t in raw["team"]),
    )
