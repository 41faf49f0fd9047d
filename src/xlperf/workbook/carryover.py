"""Next year's workbook from this year's (结转下年): ``xlperf new --from 2024.xlsx -o 2025.xlsx``.

Last year's workbook is read through the contract reader; what stays the same is carried over,
every 上年 field is filled from last year's actuals (:data:`xlperf.core.previous.FROM_LAST_YEAR`),
and the figures of the new year start blank.  The new workbook is then made by the ordinary
create path, in the current layout.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.evaluate import Evaluation, evaluate
from ..core.fields import FIELD_BY_KEY, SETTINGS_SECTION
from ..core.model import ClassRow, GoalRow, IndicatorRow, QuarterRow, UnitData
from ..core.numbers import fmt_score, parse_number, parse_text
from ..core.previous import FROM_LAST_YEAR
from ..errors import XlperfError
from ..io.safety import inspect_workbook_file
from .create import create_workbook
from .read import read_workbook

# Fields carried over unchanged (沿用上年): the unit's facts, duties, departments, team and the bureau's settings.
CARRIED_FIELDS = (
    "unit_name",
    "unit_nature",
    "funding_type",
    "staff_quota_admin",
    "staff_quota_inst",
    "staff_quota_total",
    "departments_stated",
    "departments",
    "duties",
    "team_leader",
    "team_deputies",
    "team_members",
    "budget_basis",
    "carryover_basis",
)
# What the new workbook's tables keep (表格沿用): structure and rubric edits, never last year's results.
CARRIED_TABLES = (
    "评价工作组：全部成员",
    "指标评分：编号、指标名称、分值、规则、参数、数据来源（实际值、自评得分、佐证材料留空）",
    "绩效目标：目标和指标；指标值先填上年的指标值（供参考，请按本年目标修改），完成值、偏差原因留空",
    "功能分类：代码和科目名称（金额留空）",
    "季度支出：季度和序时进度（累计支出留空）",
)

#: Makes the macro-enabled ``target`` from the .xlsx ``base`` (宏工作簿), keyword arguments as
#: :func:`xlperf.excel.addin.build_macro_workbook`.
MacroBook = Callable[..., object]


@dataclass
class CarryOver:
    """What ``new --from`` carried (结转内容): the new inputs and the Chinese lines listing them."""

    data: UnitData
    lines: list[str] = field(default_factory=list)


def _shown(value: object) -> str:
    text = " ".join(parse_text(value).split())
    return text if len(text) <= 20 else text[:19] + "…"


def next_year_data(last: UnitData, source: str, total: float | None, grade: str) -> CarryOver:
    """Next year's inputs from last year's (下年数据): carried facts, 上年 figures filled, new figures blank.

    ``source`` is what 上年自评工作簿 will name; ``total`` and ``grade`` are last year's 核定 result.
    """
    year = parse_number(last.get("year")).value
    fields: dict[str, object] = {key: last.get(key) for key in CARRIED_FIELDS if last.get(key) is not None}
    fields.update({f.key: last.get(f.key) for f in FIELD_BY_KEY.values() if f.section == SETTINGS_SECTION})
    fields["year"] = int(year) + 1 if year is not None else None
    lines = [f"评价年度：{fields['year'] or '（上年未填年度，请填写）'}"]
    lines += [
        f"沿用：{FIELD_BY_KEY[key].label} = {_shown(fields[key])}" for key in CARRIED_FIELDS if key in fields
    ]
    for key, source_key in FROM_LAST_YEAR:
        value = parse_number(last.get(source_key)).value
        if value is not None:
            fields[key] = value
            lines.append(
                f"上年数：{FIELD_BY_KEY[key].label} ← 上年{FIELD_BY_KEY[source_key].label} {value:.2f}"
            )
    fields["previous_file"] = source
    lines.append(f"上年数：上年自评工作簿 = {source}")
    if total is not None:
        fields["prev_total_score"], fields["prev_grade"] = total, grade
        lines.append(f"上年数：上年核定总分 {fmt_score(total)} 分，等级 {grade}")
    data = UnitData(
        fields,
        classes=tuple(ClassRow(r.code, r.name, None, None) for r in last.classes),
        quarters=tuple(QuarterRow(q.quarter, None, q.schedule) for q in last.quarters),
        goals=tuple(
            GoalRow(g.goal_id, g.goal, g.category, g.indicator, g.direction, g.target, None, g.unit, None)
            for g in last.goals
        ),
        indicators=tuple(
            IndicatorRow(r.code, r.name, r.maximum, r.rule, r.params, r.source) for r in last.indicators
        ),
        team=last.team,
    )
    lines += [f"表格：{line}" for line in CARRIED_TABLES]
    lines.append("本年金额、实有人数、车辆数、完成值、自评得分、报告文字均为空白，请按本年情况填写。")
    return CarryOver(data, lines)


def _source_name(last: Path, target: Path) -> str:
    """上年自评工作簿 as a path relative to the new workbook's folder when possible (相对路径)."""
    try:
        return Path(os.path.relpath(last.resolve(), target.resolve().parent)).as_posix()
    except ValueError:  # another drive on Windows
        return str(last.resolve())


def next_year_path(last: Path, year: object) -> Path:
    """Where next year's workbook goes by default (下年文件名): the year in the name moved on by one.

    ``高邑镇2024.xlsm`` → ``高邑镇2025.xlsm``; a name without the year gets ``_2025``.
    """
    parsed = parse_number(year).value
    if parsed is None:
        return last.with_name(f"{last.stem}_下年{last.suffix}")
    this, following = str(int(parsed)), str(int(parsed) + 1)
    head, found, tail = last.stem.rpartition(this)
    stem = f"{head}{following}{tail}" if found else f"{last.stem}_{following}"
    return last.with_name(stem + last.suffix)


def write_next_year(
    last_data: UnitData,
    last_ev: Evaluation,
    last: Path,
    target: Path,
    config: list[tuple[str, str]] | None = None,
    *,
    replace: bool = False,
    macro_book: MacroBook | None = None,
) -> list[str]:
    """Write next year's workbook ``target`` from last year's inputs (写出下年工作簿); returns what was carried.

    ``last`` is last year's file, compared in the new workbook's first build.  A ``.xlsm`` target is
    made macro-enabled with the ``xlwings.conf`` rows ``config`` by ``macro_book`` (the Excel layer's
    :func:`xlperf.excel.addin.build_macro_workbook`, passed in so this layer never imports it).  An existing file is replaced only
    with ``replace`` (the command line has then backed it up).
    """
    if target.exists() and not replace:
        raise XlperfError("文件已存在，未覆盖；请先改名或移走", path=str(target))
    carried = next_year_data(last_data, _source_name(last, target), last_ev.total, last_ev.grade)
    if target.suffix.lower() != ".xlsm":
        create_workbook(carried.data, target, previous=last)
        return carried.lines
    if macro_book is None:
        raise ValueError("a .xlsm target needs macro_book (xlperf.excel.addin.build_macro_workbook)")
    rows = dict(config or [])
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".xlperf-next-") as tmp:
        base = Path(tmp) / f"{target.stem}.xlsx"
        create_workbook(carried.data, base, previous=last)
        macro_book(
            target,
            base=base,
            interpreter=rows.get("INTERPRETER_WIN", ""),
            pythonpath=rows.get("PYTHONPATH", ""),
            previous=last,
        )
    return carried.lines


def carry_over(
    last: Path, target: Path, *, replace: bool = False, macro_book: MacroBook | None = None
) -> list[str]:
    """Create next year's workbook ``target`` from the file ``last`` (结转下年); returns what was carried.

    ``target`` ending in ``.xlsm`` gives the macro-enabled workbook with the 绩效自评 ribbon, made by
    ``macro_book`` (see :func:`write_next_year`).
    """
    if last.resolve() == target.resolve():
        raise XlperfError("新工作簿不能覆盖上年工作簿，请用 -o 指定另一个文件", path=str(target))
    inspect_workbook_file(last)
    inputs = read_workbook(last)
    notes = [
        f"注意：上年工作簿：{problem}（新工作簿已按当前版式生成，请核对结转内容）"
        for problem, _ in inputs.locator.problems
    ]  # an older layout simply lacks the newer names (contract.ADDED_IN_LAYOUT): nothing to note
    lines = write_next_year(
        inputs.data, evaluate(inputs.data), last, target, replace=replace, macro_book=macro_book
    )
    return lines + notes
