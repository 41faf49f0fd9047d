"""One unit's evaluation (评价计算): metrics, indicator scores, totals, grade and findings.

:func:`evaluate` follows the workbook's own dataflow cell by cell — each rate is a metric
function of input cells, each indicator score is :func:`.scoring.indicator_outcome` of its
row's cells — so the headless result equals what the workbook's formulas compute.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .fields import DEFAULT_SETTINGS
from .findings import SEVERITY_ORDER, Finding, count_by_severity
from .grades import DEFAULT_BANDS, grade, parse_bands
from .metrics import GOAL_SOURCE, METRIC_BY_LABEL, compute_metrics, goal_completion_rates
from .model import UnitData
from .numbers import parse_number, parse_text, round_half_up
from .rates import QuarterProgress, Rate, goals_completion, quarterly_progress
from .rubric import Node, Problem, Rubric, build_rubric
from .rules import OK
from .scoring import indicator_outcome


@dataclass
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


def leaf_actual(
    node: Node, data: UnitData, metric_cells: dict[str, object], goal_cells: list[object]
) -> object:
    """The value of a leaf's 实际值 cell (实际值单元格): a metric, the linked goals, or what was typed."""
    row = data.indicators[node.row]
    metric = METRIC_BY_LABEL.get(node.source)
    if metric is not None:
        return metric_cells[metric.key]
    if node.source == GOAL_SOURCE or (node.rule is not None and node.rule.kind == "goal"):
        ids = [g.goal_id for g in data.goals]
        return goals_completion(row.params, ids, goal_cells).cell()
    return row.actual


def _score_tree(
    rubric: Rubric, data: UnitData, metrics: dict[str, Rate], goal_rates: list[Rate]
) -> dict[str, NodeScore]:
    metric_cells = {key: rate.cell() for key, rate in metrics.items()}
    goal_cells = [rate.cell() for rate in goal_rates]
    scores: dict[str, NodeScore] = {}
    for node in reversed(rubric.nodes):  # children before parents
        row = data.indicators[node.row]
        if node.leaf:
            actual = leaf_actual(node, data, metric_cells, goal_cells)
            outcome = indicator_outcome(
                row.rule, row.params, node.maximum, actual, row.self_score, node.source, node.name
            )
            self_value = parse_number(row.self_score).value
            scores[node.code] = NodeScore(
                node.code,
                node.name,
                node.level,
                node.maximum,
                outcome.score,
                self_value,
                True,
                node.row,
                outcome.reason,
                outcome.status,
                actual,
                parse_text(row.rule),
                node.source,
            )
        else:
            children = [scores[c.code] for c in node.children]
            selfs = [c.self_score for c in children if c.self_score is not None]
            scores[node.code] = NodeScore(
                node.code,
                node.name,
                node.level,
                node.maximum,
                round_half_up(sum(c.score for c in children), 2),
                round_half_up(sum(selfs), 2) if selfs else None,
                False,
                node.row,
            )
    return {node.code: scores[node.code] for node in rubric.nodes}


def evaluate(data: UnitData) -> Evaluation:
    """Evaluate one unit (计算评价): rates, scores, total, grade (等级) and all checks."""
    from .checks import run_checks

    settings = Settings.from_data(data)
    metrics = compute_metrics(data)
    goal_rates = goal_completion_rates(data)
    quarters = quarterly_progress(
        [q.cumulative for q in data.quarters],
        [q.schedule for q in data.quarters],
        data.get("budget_exp_total"),
        data.get("budget_adjusted_total"),
        data.get("budget_basis"),
    )
    rubric, problems = build_rubric(data.indicators)
    scores = _score_tree(rubric, data, metrics, goal_rates) if rubric else {}
    roots = [s for s in scores.values() if s.level == 1]
    total = round_half_up(sum(s.score for s in roots), 2) if rubric else None
    selfs = [s.self_score for s in scores.values() if s.leaf and s.self_score is not None]
    self_total = round_half_up(sum(selfs), 2) if selfs else None
    evaluation = Evaluation(
        data,
        settings,
        metrics,
        goal_rates,
        quarters,
        rubric,
        problems,
        scores,
        total,
        self_total,
        grade(total, settings.bands),
    )
    evaluation.findings = sorted(run_checks(evaluation), key=lambda f: SEVERITY_ORDER[f.severity])
    return evaluation
