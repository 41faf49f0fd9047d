"""Packaged rubrics (内置评分体系), stored as JSON rows of the 指标评分 table.

* ``reference`` — the tree and maxima of the 高邑镇 2024 report (投入20/过程40/产出25/效果15) with the
  default rules of ``shared/domain.md`` §1.4.
* ``caiyu2020`` — 财预〔2020〕10号 self-evaluation weights (预算执行率10/产出50/效益30/满意度10).
"""

from __future__ import annotations

import json
from importlib import resources

from ..core.model import GoalRow, IndicatorRow
from ..errors import RubricError

PACKAGED = {
    "reference": "高邑镇2024格式（投入20/过程40/产出25/效果15）",
    "caiyu2020": "财预〔2020〕10号（执行率10/产出50/效益30/满意度10）",
}


def _load(name: str) -> dict:
    if name not in PACKAGED:
        raise RubricError(f"未知的内置评分体系「{name}」，可用：{'、'.join(PACKAGED)}")
    return json.loads(resources.files(__package__).joinpath(f"{name}.json").read_text(encoding="utf-8"))


def packaged_rows(name: str) -> list[IndicatorRow]:
    """The indicator rows of a packaged rubric (内置指标行)."""
    return [IndicatorRow(**row) for row in _load(name)["rows"]]


def packaged_goals(name: str) -> list[GoalRow]:
    """Placeholder goal rows a packaged rubric's 目标完成 rules refer to (内置目标行)."""
    return [GoalRow(**row) for row in _load(name).get("goals", [])]
