"""``docs/workbook.md``: the workbook contract as a document (工作簿约定说明), generated from code.

Run ``python -m xlperf.workbook.docs > docs/workbook.md``; a test keeps the file in sync.
"""

from __future__ import annotations

from ..core.fields import FIELDS
from ..core.functions import FUNCTIONS
from ..core.metrics import METRICS
from ..core.model import TABLE_CONTENTS
from ..core.rules import RULES
from . import contract as c


def contract_markdown() -> str:
    """The contract of every defined name, table and column, in Markdown (约定文档)."""
    out = [
        "# 工作簿约定（workbook contract）",
        "",
        "本文件由 `python -m xlperf.workbook.docs` 生成，请勿手工修改。xlperf 只通过下列**定义名称**和**表格（Excel 表）**",
        "访问单元格，从不使用固定的单元格地址；其他系统（如省级预算一体化平台的导出程序）按这些名称写入数据即可。",
        f"版本：名称 `{c.VERSION_NAME}` = {c.LAYOUT_VERSION}。",
        "",
        "金额单位为万元；比率为小数（0.31 即 31%），单元格格式显示为百分比。数值单元格也接受“1,234.50”“12%”“4419.16万元”等文本。",
        "",
        "## 工作表",
        "",
        *[f"- {name}" for name in c.SHEETS],
        "",
        "## 填报项（定义名称，单个单元格）",
        "",
        "| 名称 | 含义 | 类型 | 单位 | 工作表 | 说明 |",
        "|---|---|---|---|---|---|",
    ]
    for f in FIELDS:
        choices = f"可选：{'、'.join(f.choices)}" if f.choices else ""
        note = "；".join(filter(None, (f.note, choices)))
        out.append(
            f"| `{f.key}` | {f.label} | {f.kind} | {f.unit} | {c.SECTION_SHEETS[f.section]} | {note} |"
        )
    out += ["", "## 区域名称（多个单元格）", "", "| 名称 | 范围 |", "|---|---|"]
    for name, keys in c.group_names().items():
        out.append(f"| `{name}` | {'、'.join(f'`{k}`' for k in keys)}（相邻单元格） |")
    for name, (spec, header) in c.COLUMN_NAMES.items():
        out.append(f"| `{name}` | 表格 `{spec.name}` 的「{header}」列数据区 |")
    out.append(
        f"| `{c.FINDINGS_NAME}` | 「{c.S_FINDINGS}」表头（{'、'.join(c.FINDING_HEADERS)}），结果写在其下方 |"
    )
    out += ["", "## 计算结果（定义名称，公式单元格）", "", "| 名称 | 含义 | 公式 |", "|---|---|---|"]
    for metric in METRICS:
        args = ",".join(a if isinstance(a, str) else a.name for a in metric.args)
        out.append(f"| `{c.rate_name(metric.key)}` | {metric.label} | `={metric.udf}({args})` |")
    for name, label, _ in c.SUMMARY_NAMES:
        out.append(f"| `{name}` | {label} | |")
    out += ["", "## 表格", ""]
    for spec in c.TABLES:
        out += [f"### `{spec.name}`：{spec.caption}（工作表「{spec.sheet}」）", ""]
        if spec.caption in TABLE_CONTENTS:
            out += [TABLE_CONTENTS[spec.caption], ""]
        out += [
            "| 列 | 角色 | 格式 |",
            "|---|---|---|",
        ]
        roles = {c.INPUT: "填报", c.COMPUTED: "计算", c.MIXED: "填报或计算（见说明）"}
        for column in spec.columns:
            out.append(f"| {column.header} | {roles[column.role]} | `{column.number_format}` |")
        out.append("")
    out += [
        "「指标评分」表的「实际值」：数据来源为比率名称时为公式（引用上表的计算结果），规则为「目标完成」时为",
        "`=GOALS_COMPLETION(参数,goal_ids,goal_rates)`，否则由单位填写（清单类填满足项数，定性分档填档次，其他填百分比）。",
        "「自评得分」：末级指标由单位填写，上级指标为小计公式。编号写作 1、1.2、1.2.3，编号即层级。",
        "",
        "## 评分规则",
        "",
        *[f"- **{label}**：{(cls.__doc__ or '').strip().splitlines()[0]}" for label, cls in RULES.items()],
        "",
        "## 工作表函数",
        "",
        "| 函数 | 说明 | 参数 |",
        "|---|---|---|",
        *[
            f"| `{f.name}` | {f.description} | {'、'.join(p for p, _ in f.params)} |"
            for f in FUNCTIONS.values()
        ],
        "",
        *_next_year_lines(),
        "## 没有加载项时",
        "",
        "计算单元格保存了最近一次计算的结果（公式的缓存值），并去掉了“打开时全部重算”标志，因此在 WPS、未安装 xlperf",
        "加载项的 Excel 以及预览中，打开即可看到填报数据和计算结果，而不是 `#NAME?`。修改数据后如需更新结果，",
        "运行 `xlperf build`（或安装加载项后点功能区「重新计算」）。",
        "",
    ]
    return "\n".join(out)


def _next_year_lines() -> list[str]:
    """结转下年与上年核对: what ``xlperf new --from`` carries and which names the previous-year checks read."""
    from ..core.fields import FIELD_BY_KEY, PREVIOUS_SECTION
    from ..core.previous import FROM_LAST_YEAR, STABLE_FIELDS
    from .carryover import CARRIED_FIELDS, CARRIED_TABLES

    def name(key: str) -> str:
        return f"`{key}`（{FIELD_BY_KEY[key].label}）"

    previous = [f.key for f in FIELDS if f.section == PREVIOUS_SECTION]
    return [
        "## 结转下年与上年核对",
        "",
        "`xlperf new --from 上年.xlsx -o 本年.xlsx` 读取上年工作簿（按本约定），生成当前版式的本年工作簿：",
        "",
        "- 评价年度：上年 `year` + 1。",
        "- 沿用上年（原样复制）：" + "、".join(name(k) for k in CARRIED_FIELDS) + "，以及「校验参数」各项。",
        *[f"- 表格 {line}" for line in CARRIED_TABLES],
        "- 由上年实际数填入（本年名称 ← 上年名称）："
        + "；".join(f"`{here}` ← `{there}`" for here, there in FROM_LAST_YEAR)
        + "；`prev_total_score`、`prev_grade` ← 上年核定总分、等级；`previous_file` ← 上年工作簿相对本工作簿的路径。",
        "- 其余金额、实有在职人数、车辆数、完成值、自评得分、佐证材料和报告文字留空。命令列出结转的每一项。",
        "",
        f"「{PREVIOUS_SECTION}」各项（{'、'.join(f'`{k}`' for k in previous)}）在工作表「{c.SECTION_SHEETS[PREVIOUS_SECTION]}」。",
        "给出上年工作簿时（`xlperf build|check|report 本年.xlsx --previous 上年.xlsx`，或填写 `previous_file`，",
        "相对路径以本工作簿所在文件夹为准），校验增加「与上年核对」（检查项 `previous.*`），读取以下名称：",
        "",
        "| 检查项 | 本年名称 | 上年工作簿名称 | 级别 |",
        "|---|---|---|---|",
        "| `previous.carryover` | `carryover_begin` | `carryover_end` | 两者都填且不等为错误（列出两个数）；一方空白为提示 |",
        "| `previous.three_public` | "
        + "、".join(f"`{h}`" for h, _ in FROM_LAST_YEAR[1:])
        + " | "
        + "、".join(f"`{t}`" for _, t in FROM_LAST_YEAR[1:])
        + " | 同上 |",
        "| `previous.changed` | "
        + "、".join(f"`{k}`" for k in STABLE_FIELDS)
        + " | 同名 | 与上年不同且 `change_note` 为空时为警告 |",
        "| `previous.year` | `year` | `year` | 不是上一年度时为警告 |",
        "| `previous.score` | `prev_total_score`、`prev_grade` | 上年核定总分、等级（由上年工作簿计算） | 不一致为警告 |",
        "| `previous.file` | `previous_file` | — | 填写的上年工作簿无法读取时为警告 |",
        "",
        "自评报告在「评价结论和评价等级」中加一段与上年的对比（得分、等级及预算执行率等主要比率），",
        "HTML 报告另附历年得分图；没有上年数据时不出现。",
        "",
    ]


if __name__ == "__main__":  # pragma: no cover
    print(contract_markdown(), end="")
