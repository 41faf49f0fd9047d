"""The 复核意见's content (复核意见内容): a bureau's review of one unit's self-evaluation, as plain data.

Written in the bureau's voice for the unit: the score the unit wrote against the score its own data
supports under the rubric, every indicator whose self-score the data does not support, and every
finding with its figures, where it sits (sheet, the field's Chinese label, the cell beside it) and
what the unit must correct or explain.  Cells are found by the shell (``locate``): the core knows
fields and table rows, not addresses.
"""

from __future__ import annotations

from collections.abc import Callable

from ..core.fields import FIELD_BY_KEY
from ..core.findings import ERROR, INFO, WARNING, Finding, check_family
from ..core.model import Ref
from ..core.numbers import fmt_score, parse_number, parse_text
from ..core.results import Evaluation
from .report_context import missing_inputs

# What the unit is asked to do, by the family of the check (整改要求).
REQUESTS = {
    "sum": "请核对各项金额，更正合计或明细。",
    "identity": "请核对相关金额，使平衡关系成立，或说明原因。",
    "claim": "请按填报数据更正报告中所写的数字。",
    "score": "请按评分规则调整自评得分，或补充支撑该得分的数据和佐证材料。",
    "input": "请补填缺少的数据；无法提供的，按实际调整自评得分。",
    "goal": "请核实目标值和完成值，未达到或大幅超过目标的请说明原因。",
    "text": "请核对报告文字，使名称和数字前后一致。",
    "rubric": "请按评分办法更正评分规则设置。",
    "workbook": "请运行 xlperf upgrade 修复工作簿后重新生成。",
    "info": "请补充计算该比率所需的数据。",
}
DEFAULT_REQUEST = "请核实并说明。"
# Checks whose request differs from their family's (按检查项的整改要求).
CHECK_REQUESTS = {
    "score.self_missing": "请按评分规则逐项填写自评得分。",
}
ROWS_LISTED = 5  # more rows of one table column than this are named as one range (位置合并)

Locate = Callable[[Ref], "tuple[str, str] | None"]


def ref_label(ref: Ref, ev: Evaluation) -> str:
    """The Chinese name of what a :class:`Ref` points at (数据项名称): a field's label, or a table row's column.

    ``Ref("claimed_total")`` → 自评报告所写总分; a row of 指标评分 → 指标2.1.1 收入预算完成率的「自评得分」.
    """
    if ref.table is None:
        known = FIELD_BY_KEY.get(ref.key)
        return known.label if known else ref.key
    row = (ref.row or 0) + 1
    if ref.table == "指标评分" and ref.row is not None and ref.row < len(ev.data.indicators):
        indicator = ev.data.indicators[ref.row]
        name = " ".join(filter(None, (parse_text(indicator.code), parse_text(indicator.name))))
        return f"指标{name}的「{ref.key}」" if name else f"第{row}行「{ref.key}」"
    if ref.table == "绩效目标" and ref.row is not None and ref.row < len(ev.data.goals):
        goal = ev.data.goals[ref.row]
        name = " ".join(filter(None, (parse_text(goal.goal_id), parse_text(goal.indicator))))
        return f"目标{name}的「{ref.key}」" if name else f"第{row}行「{ref.key}」"
    return f"「{ref.table}」第{row}行的「{ref.key}」"


def _places(finding: Finding, ev: Evaluation, locate: Locate | None) -> list[dict[str, str]]:
    """Where a finding sits (位置); many rows of one table column are named once, as a range."""
    columns: dict[tuple[str | None, str], list[Ref]] = {}
    for ref in finding.refs:
        columns.setdefault((ref.table, ref.key), []).append(ref)
    places, merged = [], set()
    for ref in finding.refs:
        rows = columns[(ref.table, ref.key)]
        if ref.table is not None and len(rows) > ROWS_LISTED:
            if (ref.table, ref.key) not in merged:
                merged.add((ref.table, ref.key))
                places.append(_column_place(ref.table, ref.key, rows, locate))
            continue
        found = locate(ref) if locate is not None else None
        sheet, cell = found if found else ("", "")
        places.append({"sheet": sheet, "label": ref_label(ref, ev), "cell": cell})
    return places


def _column_place(table: str, key: str, rows: list[Ref], locate: Locate | None) -> dict[str, str]:
    """Several rows of one column as one place (列区域): ``「自评得分」列共 31 行`` and ``J5:J40``."""
    found = [f for f in (locate(r) if locate is not None else None for r in rows) if f]
    sheet = found[0][0] if found else ""
    cell = f"{found[0][1]}:{found[-1][1]}" if len(found) > 1 else (found[0][1] if found else "")
    where = "" if sheet else f"「{table}」表"  # the located sheet is printed before the label
    return {"sheet": sheet, "label": f"{where}「{key}」列共 {len(rows)} 行", "cell": cell}


def _finding_row(number: int, finding: Finding, ev: Evaluation, locate: Locate | None) -> dict[str, object]:
    family = finding.check.split(".", 1)[0]
    return {
        "no": number,
        "severity": finding.severity,
        "severity_label": finding.severity_label,
        "family": check_family(finding.check),
        "message": finding.message,
        "figures": "；".join(f"{k}{v}" for k, v in finding.figures.items()),
        "places": _places(finding, ev, locate),
        "request": CHECK_REQUESTS.get(finding.check) or REQUESTS.get(family, DEFAULT_REQUEST),
    }


def review_context(
    ev: Evaluation, findings: list[Finding] | None = None, locate: Locate | None = None
) -> dict[str, object]:
    """Build the 复核意见's template context (复核意见上下文) from an evaluation and its findings.

    ``locate(ref)`` gives the ``(工作表, 单元格)`` of a finding's cells, or None.
    """
    data = ev.data
    all_findings = list(ev.findings if findings is None else findings)
    claimed = parse_number(data.get("claimed_total")).value
    unit = parse_text(data.get("unit_name")) or "（未填单位名称）"
    year = parse_text(data.get("year"))
    rows = {
        severity: [
            _finding_row(n, f, ev, locate)
            for n, f in enumerate((f for f in all_findings if f.severity == severity), 1)
        ]
        for severity in (ERROR, WARNING, INFO)
    }
    differing = [
        {
            "code": s.code,
            "name": s.name,
            "maximum": fmt_score(s.maximum),
            "self_score": fmt_score(s.self_score),
            "score": fmt_score(s.score),
            "reason": s.reason,
        }
        for s in ev.leaves
        if s.self_score is not None and abs(s.self_score - s.score) > 0.005
    ]
    missing = missing_inputs(ev)
    self_total = fmt_score(ev.self_total) if ev.self_total is not None else ""
    maximum = fmt_score(sum(r.maximum for r in ev.roots)) if ev.roots else "—"
    claimed_grade = parse_text(data.get("claimed_grade"))
    stated = ""
    if claimed is not None:
        grade_text = f"、等级为“{claimed_grade}”" if claimed_grade else ""
        stated = f"你单位自评报告所写总分为{fmt_score(claimed)}分{grade_text}，"
    own = f"各项自评得分合计为{self_total}分；" if self_total else ""
    lacking = f"工作簿{'、'.join(missing)}，无法完整复核；" if missing else ""
    if rows[ERROR]:
        verdict = (
            f"{lacking}复核发现错误{len(rows[ERROR])}条，须更正后重新报送；"
            f"另有需要核实或说明的事项{len(rows[WARNING])}条。"
        )
    elif missing:
        verdict = f"{lacking}须补全后重新报送。"
    else:
        verdict = "复核未发现需要更正的错误。"
    conclusion = (
        f"{stated}{own}按填报数据和评分办法计算，得分为{fmt_score(ev.total)}分（满分{maximum}分），"
        f"等级为“{ev.grade}”。{verdict}"
    )
    return {
        "unit": unit,
        "year": year,
        "title": f"{unit}{year}年度部门整体支出绩效自评复核意见",
        "claimed_total": fmt_score(claimed) if claimed is not None else "",
        "claimed_grade": claimed_grade,
        "self_total": self_total,
        "self_grade": ev.self_grade,
        "total": fmt_score(ev.total),
        "grade": ev.grade,
        "maximum": maximum,
        "differing": differing,
        "errors": rows[ERROR],
        "warnings": rows[WARNING],
        "infos": rows[INFO],
        "n_errors": len(rows[ERROR]),
        "n_warnings": len(rows[WARNING]),
        "passed": not rows[ERROR] and not missing,
        "missing": missing,
        "conclusion": conclusion,
    }
