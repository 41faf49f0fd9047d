"""The workbook contract (工作簿约定): sheet names, defined names, tables and their columns.

Code reaches every cell through a defined name (a field key such as ``budget_income_total`` or a
computed name such as ``rate_budget_adj``) or through an Excel table and a column header — never
through a fixed address.  ``docs/workbook.md`` is generated from this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import model
from ..core.fields import FIELDS, PREVIOUS_SECTION, Field
from ..core.metrics import METRICS, Group

LAYOUT_VERSION = 2  # 2: “三公经费” totals, 基本支出执行率 and 项目支出执行率, 存在问题 text, 上年情况
VERSION_NAME = "xlperf_layout_version"
ADDED_IN_LAYOUT = {
    **dict.fromkeys(("tp_total_budget", "tp_total_actual", "tp_total_last", "budget_issues"), 2),
    **{f.key: 2 for f in FIELDS if f.section == PREVIOUS_SECTION},
}
"""Fields a workbook of an older layout cannot have (新增填报项): blank there, and the upgrade adds them."""

S_README, S_UNIT, S_BUDGET, S_PROGRESS, S_GOALS, S_RATES, S_RUBRIC, S_SUMMARY, S_FINDINGS = (
    "说明",
    "基本信息",
    "预算收支",
    "支出进度",
    "绩效目标",
    "比率",
    "指标评分",
    "汇总",
    "校验结果",
)
SHEETS = (S_README, S_UNIT, S_BUDGET, S_PROGRESS, S_GOALS, S_RATES, S_RUBRIC, S_SUMMARY, S_FINDINGS)

# Which sheet each field section lives on (字段所在工作表).
SECTION_SHEETS = {
    "单位概况": S_UNIT,
    "报告文字": S_UNIT,
    "上年情况": S_UNIT,
    "预算（年初）": S_BUDGET,
    "决算": S_BUDGET,
    "预算调整与结转结余": S_BUDGET,
    "“三公经费”": S_BUDGET,
    "政府采购与重点支出": S_BUDGET,
    "单位自述结论": S_SUMMARY,
    "校验参数": S_SUMMARY,
}

INPUT, COMPUTED, MIXED = "input", "computed", "mixed"


@dataclass(frozen=True, slots=True)
class TableColumn:
    """A column of an Excel table (表格列): header text, role, width and number format."""

    header: str
    role: str = INPUT
    width: float = 12
    number_format: str = "General"
    attr: str = ""


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An Excel table of the contract (表格): display name, caption, sheet and columns."""

    name: str
    caption: str
    sheet: str
    columns: tuple[TableColumn, ...]

    def column(self, header: str) -> TableColumn:
        """The column with this header (按表头取列)."""
        return next(c for c in self.columns if c.header == header)


MONEY_FMT, RATE_FMT, SCORE_FMT, COUNT_FMT, TEXT_FMT = "#,##0.00", "0.00%", "0.00", "0", "@"

TEAM = TableSpec(
    "tbl_team",
    model.TEAM,
    S_UNIT,
    (
        TableColumn("姓名", width=12, attr="name"),
        TableColumn("工作单位", width=24, attr="employer"),
        TableColumn("职务", width=16, attr="title"),
        TableColumn("组内分工", width=12, attr="role"),
    ),
)
CLASSES = TableSpec(
    "tbl_classes",
    model.CLASSES,
    S_BUDGET,
    (
        TableColumn("功能分类代码", width=14, number_format=TEXT_FMT, attr="code"),
        TableColumn("科目名称", width=24, attr="name"),
        TableColumn("预算数", width=14, number_format=MONEY_FMT, attr="budget"),
        TableColumn("决算数", width=14, number_format=MONEY_FMT, attr="final"),
    ),
)
QUARTERS = TableSpec(
    "tbl_quarters",
    model.QUARTERS,
    S_PROGRESS,
    (
        TableColumn("季度", width=12, attr="quarter"),
        TableColumn("累计支出", width=16, number_format=MONEY_FMT, attr="cumulative"),
        TableColumn("序时进度", width=12, number_format=RATE_FMT, attr="schedule"),
        TableColumn("支出进度", COMPUTED, 14, RATE_FMT),
        TableColumn("是否达到序时进度", COMPUTED, 18),
    ),
)
GOALS = TableSpec(
    "tbl_goals",
    model.GOALS,
    S_GOALS,
    (
        TableColumn("编号", width=8, number_format=TEXT_FMT, attr="goal_id"),
        TableColumn("绩效目标", width=30, attr="goal"),
        TableColumn("指标类型", width=10, attr="category"),
        TableColumn("指标名称", width=30, attr="indicator"),
        TableColumn("方向", width=6, attr="direction"),
        TableColumn("指标值", width=12, attr="target"),
        TableColumn("完成值", width=12, attr="actual"),
        TableColumn("计量单位", width=10, attr="unit"),
        TableColumn("完成率", COMPUTED, 12, RATE_FMT),
        TableColumn("偏差原因", width=30, attr="deviation_reason"),
    ),
)
RUBRIC = TableSpec(
    "tbl_rubric",
    model.RUBRIC,
    S_RUBRIC,
    (
        TableColumn("编号", width=8, number_format=TEXT_FMT, attr="code"),
        TableColumn("指标名称", width=18, attr="name"),  # narrow, wrapped: prints legibly on landscape A4
        TableColumn("分值", width=7, number_format="0.##", attr="maximum"),
        TableColumn("规则", width=10, attr="rule"),
        TableColumn("参数", width=22, attr="params"),
        TableColumn("数据来源", width=12, attr="source"),
        TableColumn("实际值", MIXED, 11, attr="actual"),
        TableColumn("单位自述值", width=11, attr="stated"),
        TableColumn("计算得分", COMPUTED, 9, SCORE_FMT),
        TableColumn("自评得分", MIXED, 9, SCORE_FMT, attr="self_score"),
        TableColumn("扣分原因", COMPUTED, 30),
        TableColumn("佐证材料", width=14, attr="evidence"),
    ),
)
SUMMARY = TableSpec(
    "tbl_summary",
    "一级指标汇总",
    S_SUMMARY,
    (
        TableColumn("编号", COMPUTED, 8, TEXT_FMT),
        TableColumn("一级指标", COMPUTED, 16),
        TableColumn("分值", COMPUTED, 8, "0.##"),
        TableColumn("计算得分", COMPUTED, 10, SCORE_FMT),
        TableColumn("自评得分", COMPUTED, 10, SCORE_FMT),
    ),
)
TABLES = (TEAM, CLASSES, QUARTERS, GOALS, RUBRIC, SUMMARY)
TABLE_BY_CAPTION = {t.caption: t for t in TABLES}
FINDING_HEADERS = ("级别", "检查项", "说明", "位置")
FINDINGS_NAME = "findings_header"

# Computed named cells (计算结果名称).
RATE_PREFIX = "rate_"
SUMMARY_NAMES = (
    ("total_score", "核定总分", SCORE_FMT),
    ("total_grade", "核定等级", "General"),
    ("self_total", "自评总分", SCORE_FMT),
    ("self_grade", "自评等级", "General"),
    ("finding_errors", "校验错误数", COUNT_FMT),
    ("finding_warnings", "校验警告数", COUNT_FMT),
)
# Ranges over table columns that formulas use (表格列区域名称).
COLUMN_NAMES = {
    "q_cumulative": (QUARTERS, "累计支出"),
    "q_schedule": (QUARTERS, "序时进度"),
    "goal_ids": (GOALS, "编号"),
    "goal_rates": (GOALS, "完成率"),
    "rubric_codes": (RUBRIC, "编号"),
    "rubric_maxima": (RUBRIC, "分值"),
    "rubric_scores": (RUBRIC, "计算得分"),
    "rubric_selfs": (RUBRIC, "自评得分"),
}


def rate_name(metric_key: str) -> str:
    """The defined name of a computed rate cell (比率名称), e.g. ``rate_budget_adj``."""
    return RATE_PREFIX + metric_key


def group_names() -> dict[str, tuple[str, ...]]:
    """Named ranges over several adjacent fields (字段区域名称), e.g. ``tp_budget``."""
    groups: dict[str, tuple[str, ...]] = {}
    for metric in METRICS:
        for arg in metric.args:
            if isinstance(arg, Group):
                groups[arg.name] = arg.keys
    return groups


def fields_on(sheet: str) -> list[Field]:
    """The fields laid out on ``sheet`` in contract order (工作表字段)."""
    return [f for f in FIELDS if SECTION_SHEETS[f.section] == sheet]
