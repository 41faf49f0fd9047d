"""The report's content (报告内容): everything the Word/HTML templates print, as plain data.

Numbers are formatted here once — amounts in 万元 with two decimals and thousands separators,
rates as percentages with two decimals, scores without trailing zeros — so every renderer prints
the same text.  Narrative paragraphs come from the workbook's text cells; no number in a sentence
is typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .evaluate import Evaluation
from .fields import INCOME_SOURCES, THREE_PUBLIC_COLUMNS, THREE_PUBLIC_ITEMS
from .findings import SEVERITY_LABELS
from .metrics import METRICS
from .numbers import fmt_money, fmt_rate, fmt_score, parse_number, parse_text
from .rates import given_total, total

ORDINALS = "一二三四五六七八九十"


def chinese_ordinal(n: int) -> str:
    """1 → 一, 12 → 十二, 20 → 二十 (中文序号), for headings up to 99."""
    if n <= 10:
        return ORDINALS[n - 1]
    tens, ones = divmod(n, 10)
    return (ORDINALS[tens - 1] if tens > 1 else "") + "十" + (ORDINALS[ones - 1] if ones else "")


def paragraphs(text: object) -> list[str]:
    """Split a text cell into paragraphs (段落), dropping blank lines."""
    return [line.strip() for line in parse_text(text).splitlines() if line.strip()]


def _money(value: object) -> str:
    parsed = parse_number(value).value
    return fmt_money(parsed) if parsed is not None else "—"


def _count(value: object) -> str:
    parsed = parse_number(value).value
    return fmt_score(parsed) if parsed is not None else "—"


@dataclass
class IndicatorLine:
    """One line of the indicator analysis and the scoring table (指标分析行)."""

    code: str
    name: str
    level: int
    maximum: str
    score: str
    self_score: str
    reason: str
    heading: str
    level1: str = ""
    level2: str = ""
    lost: bool = False
    children: list[IndicatorLine] = field(default_factory=list)


def _heading(level: int, index: int) -> str:
    return {1: f"{chinese_ordinal(index)}、", 2: f"（{chinese_ordinal(index)}）"}.get(level, f"{index}.")


def _indicator_tree(ev: Evaluation) -> list[IndicatorLine]:
    lines: dict[str, IndicatorLine] = {}
    roots: list[IndicatorLine] = []
    counters: dict[str, int] = {}
    for s in ev.scores.values():
        parent = s.code.rsplit(".", 1)[0] if "." in s.code else ""
        counters[parent] = counters.get(parent, 0) + 1
        line = IndicatorLine(
            s.code,
            s.name,
            s.level,
            fmt_score(s.maximum),
            fmt_score(s.score),
            fmt_score(s.self_score) if s.self_score is not None else "—",
            s.reason,
            _heading(s.level, counters[parent]),
            lost=s.score < s.maximum - 0.005,
        )
        lines[s.code] = line
        if parent in lines:
            lines[parent].children.append(line)
        else:
            roots.append(line)
    for root in roots:
        for child in root.children:
            child.level1 = root.name
            for leaf in child.children:
                leaf.level1, leaf.level2 = root.name, child.name
    return roots


def scoring_rows(ev: Evaluation) -> list[dict[str, str]]:
    """The 自评表 rows (部门整体支出绩效自评表): 一级/二级/三级指标, 分值, 自评得分, 核定得分, 扣分原因."""
    rows = []
    for root in _indicator_tree(ev):
        for child in root.children or [root]:
            for leaf in child.children or [child]:
                rows.append(
                    {
                        "level1": root.name,
                        "level2": child.name if child is not root else "",
                        "level3": leaf.name if leaf is not child else "",
                        "maximum": leaf.maximum,
                        "self_score": leaf.self_score,
                        "score": leaf.score,
                        "reason": leaf.reason,
                    }
                )
    return rows


def report_context(ev: Evaluation, findings: list | None = None, locate: object = None) -> dict[str, object]:
    """Build the template context (报告上下文) from an evaluation and its findings (with locations)."""
    data = ev.data
    all_findings = findings if findings is not None else ev.findings
    where = locate if callable(locate) else (lambda finding: "")
    unit = parse_text(data.get("unit_name")) or "（未填单位名称）"
    year = parse_text(data.get("year"))
    quota_admin, quota_inst = (
        parse_number(data.get("staff_quota_admin")).value,
        parse_number(data.get("staff_quota_inst")).value,
    )
    metrics = [
        {
            "label": m.label,
            "value": (fmt_rate(r.value) if m.percent else fmt_score(r.value))
            if r.value is not None
            else "无法计算",
            "formula": r.formula,
            "note": r.reason,
        }
        for m in METRICS
        for r in [ev.metrics[m.key]]
    ]
    finding_rows = [
        {
            "severity": f.severity,
            "severity_label": SEVERITY_LABELS[f.severity],
            "check": f.check,
            "message": f.message,
            "where": where(f),
        }
        for f in all_findings
    ]
    claimed = parse_number(data.get("claimed_total")).value
    return {
        "unit": unit,
        "year": year,
        "title": f"{unit} {year}年度部门整体支出绩效自评报告".strip(),
        "nature": parse_text(data.get("unit_nature")),
        "funding_type": parse_text(data.get("funding_type")),
        "duties": paragraphs(data.get("duties")),
        "departments": [
            d for p in paragraphs(data.get("departments")) for d in p.replace("，", "、").split("、") if d
        ],
        "departments_stated": _count(data.get("departments_stated")),
        "staff": {
            "quota_admin": _count(quota_admin),
            "quota_inst": _count(quota_inst),
            "quota_total": fmt_score((quota_admin or 0) + (quota_inst or 0))
            if quota_admin is not None or quota_inst is not None
            else _count(data.get("staff_quota_total")),
            "actual": _count(data.get("staff_actual")),
            "control_rate": ev.metrics["staff_control"].text(),
        },
        "vehicles": _count(data.get("vehicles")),
        "fixed_assets": _money(data.get("fixed_assets_total")),
        "budget": _stage(data, "budget"),
        "final": _stage(data, "final"),
        "classes": [
            {
                "code": parse_text(c.code),
                "name": parse_text(c.name),
                "budget": _money(c.budget),
                "final": _money(c.final),
            }
            for c in data.classes
            if parse_text(c.code) or parse_text(c.name)
        ],
        "three_public": _three_public(data),
        "carryover_begin": _money(data.get("carryover_begin")),
        "carryover_end": _money(data.get("carryover_end")),
        "metrics": metrics,
        "quarters": [
            {
                "quarter": parse_text(q.quarter) or f"第{i + 1}季度",
                "cumulative": _money(q.cumulative),
                "progress": p.rate.text() if p.rate.ok else "—",
                "schedule": fmt_rate(p.target),
                "met": {True: "是", False: "否", None: "—"}[p.met],
            }
            for i, (q, p) in enumerate(zip(data.quarters, ev.quarters, strict=False))
        ],
        "overall_goal": paragraphs(data.get("overall_goal")),
        "goal_achievement": paragraphs(data.get("goal_achievement")),
        "goals": [
            {
                "id": parse_text(g.goal_id),
                "goal": parse_text(g.goal),
                "category": parse_text(g.category),
                "indicator": parse_text(g.indicator),
                "direction": parse_text(g.direction) or "≥",
                "target": _goal_value(g.target, g.unit),
                "actual": _goal_value(g.actual, g.unit),
                "completion": r.text() if r.ok else "—",
                "reason": parse_text(g.deviation_reason),
            }
            for g, r in zip(data.goals, ev.goal_rates, strict=False)
            if parse_text(g.indicator) or parse_text(g.goal)
        ],
        "evaluation_org": paragraphs(data.get("evaluation_org")),
        "evaluation_method": paragraphs(data.get("evaluation_method")),
        "evaluation_process": paragraphs(data.get("evaluation_process")),
        "indicators": _indicator_tree(ev),
        "scoring_rows": scoring_rows(ev),
        "total": fmt_score(ev.total),
        "grade": ev.grade,
        "self_total": fmt_score(ev.self_total),
        "self_grade": ev.self_grade,
        "claimed_total": fmt_score(claimed) if claimed is not None else "",
        "claimed_grade": parse_text(data.get("claimed_grade")),
        "problems": paragraphs(data.get("problems")),
        "measures": paragraphs(data.get("measures")),
        "team": [
            {
                "name": parse_text(t.name),
                "employer": parse_text(t.employer),
                "title": parse_text(t.title),
                "role": parse_text(t.role),
            }
            for t in data.team
            if parse_text(t.name)
        ],
        "findings": finding_rows,
        "errors": [f for f in finding_rows if f["severity"] == "error"],
        "counts": {
            label: sum(1 for f in all_findings if f.severity == key) for key, label in SEVERITY_LABELS.items()
        },
        "chart": [{"name": r.name, "maximum": r.maximum, "score": r.score} for r in ev.roots],
    }


def _goal_value(value: object, unit: object) -> str:
    parsed = parse_number(value).value
    if parsed is None:
        return "—"
    unit_text = parse_text(unit)
    if unit_text == "%":
        return fmt_rate(parsed)
    return f"{fmt_score(parsed)}{unit_text}"


def _stage(data: object, stage: str) -> dict[str, object]:
    get = data.get  # type: ignore[attr-defined]
    return {
        "income_total": _money(get(f"{stage}_income_total")),
        "income": [
            {"label": label, "amount": _money(get(f"{stage}_income_{key}"))} for key, label in INCOME_SOURCES
        ],
        "exp_total": _money(get(f"{stage}_exp_total")),
        "basic": _money(get(f"{stage}_exp_basic")),
        "personnel": _money(get(f"{stage}_exp_personnel")),
        "public": _money(get(f"{stage}_exp_public")),
        "project": _money(get(f"{stage}_exp_project")),
    }


def _three_public(data: object) -> dict[str, object]:
    """“三公经费” as given (三公经费): the four items only when the unit split them, and the totals.

    A unit that gives only totals gets no item rows, rather than a total shown under one item.
    """
    get = data.get  # type: ignore[attr-defined]
    items = [
        {"label": label, **{col: _money(get(f"tp_{key}_{col}")) for col, _ in THREE_PUBLIC_COLUMNS}}
        for key, label in THREE_PUBLIC_ITEMS
        if any(not parse_number(get(f"tp_{key}_{col}")).blank for col, _ in THREE_PUBLIC_COLUMNS)
    ]
    totals = {
        col: fmt_money(
            total(
                given_total([get(f"tp_{k}_{col}") for k, _ in THREE_PUBLIC_ITEMS], get(f"tp_total_{col}"))
            ).value
        )
        for col, _ in THREE_PUBLIC_COLUMNS
    }
    return {"items": items, "total": totals}
