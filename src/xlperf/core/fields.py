"""The input contract (输入项): every scalar a unit types, with its Chinese label and unit.

The workbook adapter lays these out as defined names (``budget_income_total`` …) and
``docs/workbook.md`` is generated from this table, so other systems can write to the same
names.  Tables (功能分类, 季度支出, 绩效目标, 指标评分, 评价工作组) are described in :mod:`.model`.
"""

from __future__ import annotations

from dataclasses import dataclass

MONEY, COUNT, TEXT, LONGTEXT, CHOICE, RATE, SCORE = "万元", "数量", "文本", "长文本", "选项", "百分比", "分"


@dataclass(frozen=True, slots=True)
class Field:
    """One named input cell (输入项): ``key`` is the defined name, ``label`` what the user reads."""

    key: str
    label: str
    kind: str
    section: str
    unit: str = ""
    choices: tuple[str, ...] = ()
    note: str = ""


BUDGET_BASES = ("年初预算", "调整后预算")
CARRYOVER_BASES = ("支出预算数", "决算支出数")
THREE_PUBLIC_ITEMS = (
    ("abroad", "因公出国（境）费"),
    ("reception", "公务接待费"),
    ("vehicle_purchase", "公务用车购置费"),
    ("vehicle_operation", "公务用车运行维护费"),
)
THREE_PUBLIC_COLUMNS = (("budget", "预算数"), ("actual", "实际支出数"), ("last", "上年实际支出数"))
INCOME_SOURCES = (
    ("general", "一般公共预算拨款收入"),
    ("fund", "政府性基金预算拨款收入"),
    ("soe", "国有资本经营预算拨款收入"),
    ("special", "财政专户管理资金收入"),
    ("other", "其他来源收入"),
)
EXPENSE_PARTS = (
    ("basic", "基本支出"),
    ("personnel", "其中：人员经费"),
    ("public", "其中：日常公用经费"),
    ("project", "项目支出"),
)


def _unit_fields() -> list[Field]:
    s = "单位概况"
    return [
        Field("unit_name", "单位名称", TEXT, s),
        Field("year", "评价年度", COUNT, s, "年"),
        Field("unit_nature", "单位性质", CHOICE, s, choices=("行政", "事业", "参公事业")),
        Field("funding_type", "经费性质", TEXT, s, note="如：财政拨款"),
        Field("staff_quota_admin", "行政编制数", COUNT, s, "人"),
        Field("staff_quota_inst", "事业编制数", COUNT, s, "人"),
        Field(
            "staff_quota_total",
            "编制数合计（单位填报）",
            COUNT,
            s,
            "人",
            note="单位在报告中写明的合计数，用于核对",
        ),
        Field("staff_actual", "实有在职人数", COUNT, s, "人"),
        Field("vehicles", "车辆数", COUNT, s, "辆"),
        Field("fixed_assets_total", "固定资产总额", MONEY, s, "万元"),
        Field("fixed_assets_in_use", "在用固定资产", MONEY, s, "万元"),
        Field("departments_stated", "内设机构数（单位填报）", COUNT, s, "个"),
        Field("departments", "内设机构名称", LONGTEXT, s, note="每行一个，或用顿号分隔"),
        Field("duties", "部门职责", LONGTEXT, s),
    ]


NARRATIVE_SECTION = "报告文字"  # the report's own words; a workbook older than one of them reads it as blank


def _narrative_fields() -> list[Field]:
    s = NARRATIVE_SECTION
    return [
        Field("overall_goal", "部门整体支出绩效目标", LONGTEXT, s),
        Field(
            "budget_issues",
            "当年预算执行及绩效管理中存在问题、原因及改进措施",
            LONGTEXT,
            s,
            note="报告第四部分；每段一行",
        ),
        Field("goal_achievement", "总体绩效目标实现情况", LONGTEXT, s),
        Field("evaluation_org", "自评的组织工作", LONGTEXT, s),
        Field("evaluation_method", "自评的方法", LONGTEXT, s),
        Field("evaluation_process", "自评的过程", LONGTEXT, s),
        Field("problems", "存在的问题", LONGTEXT, s),
        Field("measures", "改进措施", LONGTEXT, s),
        Field("team_leader", "评价工作组组长", TEXT, s),
        Field("team_deputies", "评价工作组副组长", TEXT, s, note="多人用顿号分隔"),
        Field("team_members", "评价工作组成员", TEXT, s, note="多人用顿号分隔"),
    ]


def _staged(stage_label: str, label: str) -> str:
    """预算 + 基本支出 → 预算基本支出; 其中：人员经费 → 其中：预算人员经费."""
    head, sep, rest = label.partition("其中：")
    return f"{head}{sep}{stage_label}{rest}" if sep else f"{stage_label}{label}"


def _budget_fields() -> list[Field]:
    fields: list[Field] = []
    for stage, stage_label, section in (("budget", "预算", "预算（年初）"), ("final", "决算", "决算")):
        fields.append(Field(f"{stage}_income_total", f"{stage_label}收入合计", MONEY, section, "万元"))
        fields += [
            Field(f"{stage}_income_{key}", f"{stage_label}{label}", MONEY, section, "万元")
            for key, label in INCOME_SOURCES
        ]
        fields.append(Field(f"{stage}_exp_total", f"{stage_label}支出合计", MONEY, section, "万元"))
        fields += [
            Field(f"{stage}_exp_{key}", _staged(stage_label, label), MONEY, section, "万元")
            for key, label in EXPENSE_PARTS
        ]
    s = "预算调整与结转结余"
    fields += [
        Field("budget_adjusted_total", "调整后预算数", MONEY, s, "万元"),
        Field(
            "budget_adjustment",
            "预算调整数",
            MONEY,
            s,
            "万元",
            note="本年追加、追减及结构调整的合计（绝对值）",
        ),
        Field(
            "budget_adjustment_excluded",
            "其中：政策性、不可抗力及上级交办调整",
            MONEY,
            s,
            "万元",
            note="计算预算调整率时剔除",
        ),
        Field("budget_basis", "预算完成率、执行率的预算口径", CHOICE, s, choices=BUDGET_BASES),
        Field("carryover_begin", "年初结转结余", MONEY, s, "万元"),
        Field("carryover_end", "年末结转结余", MONEY, s, "万元"),
        Field("carryover_basis", "结转结余率的分母", CHOICE, s, choices=CARRYOVER_BASES),
    ]
    s = "“三公经费”"
    for col, col_label in THREE_PUBLIC_COLUMNS:  # column-major: each column is one contiguous range
        fields += [
            Field(f"tp_{key}_{col}", f"{label}{col_label}", MONEY, s, "万元")
            for key, label in THREE_PUBLIC_ITEMS
        ]
    fields += [
        Field(
            f"tp_total_{col}",
            f"“三公经费”{col_label}合计",
            MONEY,
            s,
            "万元",
            note="报告只给合计、未分四项时填写；四项也填写时用于核对",
        )
        for col, col_label in THREE_PUBLIC_COLUMNS
    ]
    s = "政府采购与重点支出"
    fields += [
        Field("procurement_budget", "政府采购预算数", MONEY, s, "万元"),
        Field("procurement_actual", "实际政府采购金额", MONEY, s, "万元"),
        Field("key_project_exp", "重点项目支出", MONEY, s, "万元"),
    ]
    return fields


def _claim_fields() -> list[Field]:
    s = "单位自述结论"
    return [
        Field("claimed_total", "自评报告所写总分", SCORE, s, "分", note="单位在报告中写明的总分，用于核对"),
        Field("claimed_grade", "自评报告所写等级", TEXT, s),
    ]


PREVIOUS_SECTION = "上年情况"


def _previous_fields() -> list[Field]:
    """Last year's figures (上年情况): filled by ``xlperf new --from``, compared by the previous-year checks."""
    s = PREVIOUS_SECTION
    return [
        Field(
            "previous_file",
            "上年自评工作簿",
            TEXT,
            s,
            note="上年工作簿的文件路径（相对本工作簿所在文件夹）；填写后计算时与上年核对",
        ),
        Field("prev_total_score", "上年核定总分", SCORE, s, "分"),
        Field("prev_grade", "上年核定等级", TEXT, s),
        Field(
            "change_note",
            "与上年相比的变化说明",
            LONGTEXT,
            s,
            note="单位名称、编制数与上年不同时说明原因",
        ),
    ]


SETTINGS_SECTION = "校验参数"


def _setting_fields() -> list[Field]:
    s = SETTINGS_SECTION
    return [
        Field("tolerance_money", "金额核对容差", MONEY, s, "万元", note="默认0.01"),
        Field(
            "tolerance_rate",
            "比率核对容差",
            RATE,
            s,
            "百分点",
            note="单位自述比率与计算值相差超过此值即报告，默认0.1个百分点",
        ),
        Field("grade_bands", "等级分档", TEXT, s, note="如 优:90,良:80,中:60,差:0"),
        Field(
            "goal_excess", "目标超额提示阈值", RATE, s, note="完成率超过此值提示目标可能设定偏低，默认150%"
        ),
    ]


FIELDS: tuple[Field, ...] = tuple(
    _unit_fields()
    + _budget_fields()
    + _claim_fields()
    + _narrative_fields()
    + _previous_fields()
    + _setting_fields()
)
FIELD_BY_KEY: dict[str, Field] = {f.key: f for f in FIELDS}
MONEY_KEYS = tuple(f.key for f in FIELDS if f.kind == MONEY and f.section != SETTINGS_SECTION)  # 金额输入项
DEFAULT_SETTINGS: dict[str, object] = {
    "tolerance_money": 0.01,
    "tolerance_rate": 0.001,
    "grade_bands": "优:90,良:80,中:60,差:0",
    "goal_excess": 1.5,
    "budget_basis": BUDGET_BASES[0],
    "carryover_basis": CARRYOVER_BASES[0],
}
