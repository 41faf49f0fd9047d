"""Grades (评价等级) from a total score, with the bands as data.

Default bands (财预〔2020〕10号; 财政部预算司 for 部门整体): [90, 100] 优, [80, 90) 良, [60, 80) 中, [0, 60) 差.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .numbers import round_half_up

GradeBands = Sequence[tuple[float, str]]
DEFAULT_BANDS: tuple[tuple[float, str], ...] = ((90.0, "优"), (80.0, "良"), (60.0, "中"), (0.0, "差"))


def grade(score: float | None, bands: GradeBands = DEFAULT_BANDS) -> str:
    """The grade for ``score`` (评价等级): the first band whose lower bound (含) the score reaches."""
    if score is None or math.isnan(score):
        return "—"
    rounded = round_half_up(score, 2)
    for lower, name in sorted(bands, key=lambda band: band[0], reverse=True):
        if rounded >= lower:
            return name
    return sorted(bands, key=lambda band: band[0])[0][1]


def parse_bands(text: str) -> tuple[tuple[float, str], ...]:
    """Parse bands written as ``优:90, 良:80, 中:60, 差:0`` (等级分档); raises ValueError in Chinese."""
    bands = []
    for part in text.replace("，", ",").replace("：", ":").split(","):
        if not part.strip():
            continue
        name, _, bound = part.partition(":")
        try:
            lower = float(bound)
        except ValueError:
            lower = math.nan
        if not math.isfinite(lower) or not name.strip():
            raise ValueError(f"等级分档「{part.strip()}」应写作 等级:下限分数，如 优:90")
        bands.append((lower, name.strip()))
    if not bands or min(b for b, _ in bands) > 0:
        raise ValueError("等级分档必须包含下限为0的一档，如 差:0")
    return tuple(bands)
