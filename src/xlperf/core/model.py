"""What one unit's evaluation is made of (评价数据): scalar inputs plus five tables.

Values are kept *raw*, as typed in the workbook; the core parses them, so a text number,
a blank or an error cell is judged the same way in Excel, headless and in the report.
A :class:`Ref` points back at the cell a value came from, so findings name sheet and cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

# Table names (表名) — also the Chinese captions the workbook shows.
CLASSES, QUARTERS, GOALS, RUBRIC, TEAM = "功能分类", "季度支出", "绩效目标", "指标评分", "评价工作组"
TABLE_CONTENTS = {  # what a table holds and what it must add up to (表格内容), for docs/workbook.md
    CLASSES: "本表按支出功能分类科目（类、款、项）列示**项目支出**：「预算数」各行之和应等于预算项目支出"
    "（`budget_exp_project`），「决算数」各行之和应等于决算项目支出（`final_exp_project`）。"
    "同时列出某科目及其下级科目（如 201 与 2010308）时，下级金额已含在上级中，核对时只计一次。"
    "若本表按功能分类列示的是**全部支出**（含基本支出），其合计应等于支出合计（`budget_exp_total` / "
    "`final_exp_total`）：校验会识别这种填法并按支出合计核对，不报项目支出不符。",
    RUBRIC: "「单位自述值」填报告写明的数：比率（如 95% 或 0.95；填 100 按 100% 理解），或比率所依据的金额"
    "（写作「1270.57万元」，如执行数），校验分别与计算值、应等于的金额核对；比率按各合法口径（年初/调整后预算，"
    "支出预算数/决算支出数）比对，与另一口径相符时提示所用口径而不报错误。",
}


@dataclass(frozen=True, slots=True)
class Ref:
    """Where a value lives: a field (``table is None``) or a table column at a 0-based row (数据位置)."""

    key: str
    table: str | None = None
    row: int | None = None


@dataclass(frozen=True, slots=True)
class ClassRow:
    """A project-spending line by 功能分类 code (项目支出功能分类)."""

    code: object
    name: object
    budget: object
    final: object


@dataclass(frozen=True, slots=True)
class QuarterRow:
    """Cumulative spending at the end of a quarter and its 序时进度 (季度累计支出)."""

    quarter: object
    cumulative: object
    schedule: object


@dataclass(frozen=True, slots=True)
class GoalRow:
    """A performance goal's indicator with target and actual (绩效目标及指标)."""

    goal_id: object
    goal: object
    category: object
    indicator: object
    direction: object
    target: object
    actual: object
    unit: object
    deviation_reason: object


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    """One row of the rubric table (指标评分表): a node of the indicator tree plus the unit's entries."""

    code: object
    name: object
    maximum: object
    rule: object = None
    params: object = None
    source: object = None
    actual: object = None
    stated: object = None
    self_score: object = None
    evidence: object = None


@dataclass(frozen=True, slots=True)
class TeamRow:
    """A member of the evaluation team as in the signature table (评价工作组人员名单)."""

    name: object
    employer: object
    title: object
    role: object = None


@dataclass(frozen=True)
class UnitData:
    """All inputs of one unit's self-evaluation (单位自评数据)."""

    fields: Mapping[str, object]
    classes: tuple[ClassRow, ...] = ()
    quarters: tuple[QuarterRow, ...] = ()
    goals: tuple[GoalRow, ...] = ()
    indicators: tuple[IndicatorRow, ...] = ()
    team: tuple[TeamRow, ...] = ()
    extra: Mapping[str, object] = field(default_factory=dict)

    def get(self, key: str) -> object:
        """The raw value of a field, ``None`` when absent (字段值)."""
        return self.fields.get(key)
