"""The result types of one unit's evaluation (评价结果): :class:`Evaluation`, :class:`NodeScore`, :class:`Settings`.

Their own module so that :mod:`.evaluate` (which computes them) and :mod:`.checks` (which reads them)
both import them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .fields import DEFAULT_SETTINGS
from .findings import Finding, count_by_severity
from .grades import DEFAULT_BANDS, grade, parse_bands
from .model import UnitData
from .numbers import parse_number, parse_text, round_half_up
from .rates import QuarterProgress, Rate
from .rubric import Problem, Rubric
from .rules import OK


@dataclass(slots=True)
class NodeScore:
    """The result of one indicator (指标结果), leaf or parent."""

    code: str
    name: str
    level: int
    maximum: float
    score: float
    self_score: float | None
    leaf: bool
    row: int
    reason: str = ""
    status: str = OK
    actual: object = None
    rule: str = ""
    source: str = ""
    short: str = ""  # the limit missed in plain words where points are lost (未达标说明)

    @property
    def lost(self) -> float:
        """Points deducted (扣分)."""
        return round_half_up(self.maximum - self.score, 2)


@dataclass
class Settings:
    """Tolerances and bands read from the workbook's 校验参数 (校验参数)."""

    tolerance_money: float = 0.01
    tolerance_rate: float = 0.001
    bands: tuple[tuple[float, str], ...] = DEFAULT_BANDS
    goal_excess: float = 1.5
    problems: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def from_data(cls, data: UnitData) -> Settings:
        """Read settings, falling back to defaults and recording unreadable ones (读取参数)."""
        settings = cls()
        for key, attr in (
            ("tolerance_money", "tolerance_money"),
            ("tolerance_rate", "tolerance_rate"),
            ("goal_excess", "goal_excess"),
        ):
            parsed = parse_number(data.get(key))
            if parsed.value is not None and parsed.value >= 0:
                setattr(settings, attr, parsed.value)
            elif parsed.problem or (parsed.value is not None and parsed.value < 0):
                settings.problems.append(
                    (key, f"{parsed.problem or '不能为负数'}，已使用默认值{DEFAULT_SETTINGS[key]}")
                )
        bands_text = parse_text(data.get("grade_bands"))
        if bands_text:
            try:
                settings.bands = parse_bands(bands_text)
            except ValueError as exc:
                settings.problems.append(("grade_bands", f"{exc}，已使用默认分档"))
        return settings


@dataclass
class Evaluation:
    """Everything computed for one unit (评价结果)."""

    data: UnitData
    settings: Settings
    metrics: dict[str, Rate]
    goal_rates: list[Rate]
    quarters: list[QuarterProgress]
    rubric: Rubric | None
    rubric_problems: list[Problem]
    scores: dict[str, NodeScore]
    total: float | None
    self_total: float | None
    grade: str
    findings: list[Finding] = field(default_factory=list)
    previous: Evaluation | None = None  # last year's evaluation, see :mod:`.previous` (上年评价)
    #: What the balance identities derive and find, worked out once (:func:`.balances.known_values`).
    balances: tuple[dict[str, float], list[Finding]] | None = field(default=None, repr=False, compare=False)

    @property
    def self_grade(self) -> str:
        """The grade the self-scores would give (自评等级)."""
        return grade(self.self_total, self.settings.bands)

    @property
    def leaves(self) -> list[NodeScore]:
        """Scores of the scored indicators in table order (末级指标得分)."""
        return [s for s in self.scores.values() if s.leaf]

    @property
    def roots(self) -> list[NodeScore]:
        """Scores of the 一级指标."""
        return [s for s in self.scores.values() if s.level == 1]

    def counts(self) -> dict[str, int]:
        """Findings by severity (按级别计数)."""
        return count_by_severity(self.findings)

    def errors(self) -> list[Finding]:
        """Findings at error level (错误)."""
        return [f for f in self.findings if f.severity == "error"]
