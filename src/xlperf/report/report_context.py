"""The 自评报告's content (报告内容): everything the Word/HTML templates print, as plain data.

The report is the unit's own (单位口吻): one score — the 计算得分 the workbook's 汇总 shows as its
评价结果 — and no finding, check id or cell address; what the checks find goes to the 复核意见
(:mod:`.review_context`).  Numbers are formatted here once — amounts in 万元 with two decimals and
no thousands separators as the reference prints them, rates as percentages with two decimals,
scores without trailing zeros, goal targets at the precision entered — so every renderer prints
the same text.  Narrative paragraphs come from the workbook's text cells, their pasted numbering
renumbered to the report's outline (:func:`outline`); no number in a sentence is typed by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.fields import INCOME_SOURCES, THREE_PUBLIC_COLUMNS, THREE_PUBLIC_ITEMS
from ..core.findings import ERROR
from ..core.metrics import METRIC_BY_LABEL, METRICS
from ..core.numbers import fmt_amount, fmt_entered, fmt_money, fmt_rate, fmt_score, parse_number, parse_text
from ..core.rates import QuarterProgress, given_total, total
from ..core.results import Evaluation, NodeScore
from ..core.rules import OK

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


# Outline numbering (标题序号) of a report: 一、 （一） 1. （1）, level 1 to 4.
_CN = "[一二三四五六七八九十]{1,3}"
_MARKS = (
    ("cn", re.compile(rf"^{_CN}\s*[、.．]\s*")),
    ("paren_cn", re.compile(rf"^[（(]\s*{_CN}\s*[)）]\s*[、.．]?\s*")),
    ("arabic", re.compile(r"^\d{1,2}\s*[、.．](?!\d)\s*")),
    ("paren_arabic", re.compile(r"^[（(]\s*\d{1,2}\s*[)）]\s*[、.．]?\s*")),
)
_MARK_STARTS = frozenset(ORDINALS + "（(")  # the first character of every mark but a digit's
_LEAD = re.compile(r"^(.{1,30}?[。：:])(?=.)")


def outline_mark(level: int, index: int) -> str:
    """The number of the ``index``-th item at outline ``level`` (标题序号): 一、 （一） 1. （1）."""
    if level == 1:
        return f"{chinese_ordinal(index)}、"
    if level == 2:
        return f"（{chinese_ordinal(index)}）"
    if level == 3:
        return f"{index}."
    return f"（{index}）"


def _number_value(mark: str) -> int:
    """The value of a numbering mark (序号值): ``（3）`` → 3, ``十二、`` → 12."""
    digits = "".join(ch for ch in mark if ch.isdigit())
    if digits:
        return int(digits)
    chinese = "".join(ch for ch in mark if ch in ORDINALS)
    tens, _, ones = chinese.rpartition("十")
    if "十" not in chinese:
        return ORDINALS.index(chinese) + 1 if chinese else 0
    return (ORDINALS.index(tens) + 1 if tens else 1) * 10 + (ORDINALS.index(ones) + 1 if ones else 0)


def _numbering(text: str) -> tuple[str, int, str]:
    """The numbering style a pasted paragraph starts with, its number and its text without it
    (``""`` style when unnumbered)."""
    first = text[:1]
    if not (first in _MARK_STARTS or first.isdecimal()):  # no mark starts here (re's \d is isdecimal)
        return "", 0, text
    for style, pattern in _MARKS:
        match = pattern.match(text)
        if match and match.end() < len(text):
            return style, _number_value(match[0]), text[match.end() :].lstrip("、.．,，:： ")
    return "", 0, text


_LABEL = re.compile(r"^([^，。；：:]{2,8})[：:]")


def _unnumbered_headings(parsed: list[tuple[str, int, str]]) -> list[tuple[str, int, str]]:
    """Give a pasted heading that lost its number the numbering of its siblings (补全标题序号).

    Where the numbered headings of one style are followed by a labelled paragraph ("绩效目标：…"),
    a short unnumbered line followed by the same label is a heading of that style, numbered after
    the one before it.
    """
    label_style: dict[str, str] = {}
    for (style, _, _), (after, _, text) in zip(parsed, parsed[1:], strict=False):
        label = _LABEL.match(text)
        if style and not after and label:
            label_style.setdefault(label[1], style)
    out = list(parsed)
    last: dict[str, int] = {}
    for index, (style, number, text) in enumerate(parsed):
        if style:
            last[style] = number
            continue
        label = _LABEL.match(parsed[index + 1][2]) if index + 1 < len(parsed) else None
        short = len(text) <= 40 and not _LABEL.match(text) and not any(p in text[:-1] for p in "。；;")
        if label and short and not parsed[index + 1][0] and label[1] in label_style:
            style = label_style[label[1]]
            last[style] = last.get(style, 0) + 1
            out[index] = (style, last[style], text)
    return out


def outline(paragraphs: list[str], level: int, heading: str = "") -> list[dict[str, object]]:
    """The unit's paragraphs renumbered under a heading of outline ``level`` (段落编号规范化).

    Text pasted from an older report keeps its own numbering ("(一)、", "1、", "（1）"); the styles
    nest in the order they first appear (a style first met at a number past 1 continues the level
    it interrupts), and are renumbered one level below the heading, so the
    report's levels follow 一、（一）1.（1） without clashes.  A numbered paragraph becomes
    ``{lead, text, heading}``: the number and a short title (up to the first 。 or ：) in ``lead``,
    printed bold; a short numbered line with no sentence after it is a sub-heading on its own.
    Levels deeper than 4 keep their text without a number.  A first line repeating ``heading``
    (the report's own heading above the text) is dropped.  A short unnumbered line followed by the
    label that follows the numbered headings ("绩效目标：") is one of those headings whose number
    was lost in pasting (:func:`_unnumbered_headings`).
    """
    if paragraphs and heading:
        bare = _numbering(paragraphs[0])[2].rstrip("：:。 ")
        if bare == heading or bare.removesuffix("情况") == heading.removesuffix("情况"):
            paragraphs = paragraphs[1:]
    depth_of: dict[str, int] = {}
    counters: list[int] = []
    items: list[dict[str, object]] = []
    for style, number, bare in _unnumbered_headings([_numbering(text) for text in paragraphs]):
        text = bare
        if not style:
            items.append({"lead": "", "text": text, "heading": False})
            continue
        if style not in depth_of:
            # a style first met at a number past 1 continues the current level in another dress ("（3）" among "（一）")
            depth_of[style] = len(counters) - 1 if number > 1 and counters else len(counters)
        depth = depth_of[style]
        del counters[depth + 1 :]
        counters += [0] * (depth + 1 - len(counters))
        counters[depth] += 1
        target = level + 1 + depth
        mark = outline_mark(target, counters[depth]) if target <= 4 else ""
        short_line = (
            len(bare) <= 30 and not any(p in bare[:-1] for p in "。；;：:") and bare[-1] not in "：:，,；;"
        )
        if short_line:
            items.append({"lead": mark + bare, "text": "", "heading": True})
            continue
        lead = _LEAD.match(bare)
        head, rest = (lead[1], bare[lead.end() :]) if lead else ("", bare)
        items.append({"lead": mark + head, "text": rest, "heading": False})
    return items


def _money(value: object) -> str:
    return fmt_amount(parse_number(value).value)


def _count(value: object) -> str:
    parsed = parse_number(value).value
    return fmt_score(parsed) if parsed is not None else "—"


_QUARTERS = "一二三四"


def _quarter_names(numbers: list[int]) -> str:
    """[2, 3, 4] → 第二、三、四季度 (季度名称)."""
    return "第" + "、".join(_QUARTERS[n - 1] if 0 < n <= 4 else str(n) for n in numbers) + "季度"


def _basis(node: NodeScore, quarters: list[QuarterProgress]) -> str:
    """What the score of one indicator rests on, in plain words (得分依据), without the rule's notation."""
    if node.status != OK:
        reason = node.reason.removesuffix("，本项不得分")
        head, sep, missing = reason.partition("：")
        return f"因{missing}，{head}" if sep else f"因{reason}"
    metric = METRIC_BY_LABEL.get(node.source)
    value = parse_number(node.actual).value
    if node.rule == "季度进度":
        met = [q.quarter for q in quarters if q.met]
        missed = [q.quarter for q in quarters if q.met is False]
        parts = []
        if met:
            parts.append(f"{_quarter_names(met)}支出进度{'均' if len(met) > 1 else ''}达到序时进度")
        if missed:
            parts.append(f"{_quarter_names(missed)}支出进度未达到序时进度")
        return "，".join(parts)
    if node.rule == "定性分档":
        return f"此项评定为“{parse_text(node.actual)}”"
    if node.rule == "清单":
        return node.reason.split("，")[0]
    if node.rule == "目标完成" and value is not None:
        return f"关联绩效目标的平均完成率为{fmt_rate(value)}"
    if metric is not None and value is not None:
        return f"{metric.label}为{fmt_rate(value) if metric.percent else fmt_score(value)}"
    if value is not None and node.rule in ("比例计分", "分档计分", "扣分"):
        return f"{node.name}为{fmt_rate(value)}"
    return ""


def indicator_prose(node: NodeScore, evidence: list[str], quarters: list[QuarterProgress]) -> list[str]:
    """The analysis of one indicator in the unit's voice (指标分析), as the reference writes it.

    "经自评，收入预算完成率为196.65%，超过100.00%，扣2分，故此项得0分。" — the actual figure, the
    limit of the rubric rule that fired in plain words where points are lost, the score.  A
    qualitative indicator with the unit's own 说明/佐证 uses that text.
    """
    score = f"故此项得{fmt_score(node.score)}分。"
    lost = node.lost > 0.005
    if evidence and node.status == OK and node.rule in ("定性分档", "自评", "清单", ""):
        body = [p.rstrip("。；;，,") for p in evidence]
        if not body[0].startswith("经自评"):
            body[0] = "经自评，" + body[0]
        deduction = f"，扣{fmt_score(node.lost)}分" if lost else ""
        body[-1] = f"{body[-1]}{deduction}，{score}"
        return body
    basis = _basis(node, quarters)
    if lost and node.status == OK:
        why = f"，{node.short}" if node.short else ""
        basis = f"{basis}{why}，扣{fmt_score(node.lost)}分" if basis else f"扣{fmt_score(node.lost)}分"
    return [f"经自评，{basis}，{score}" if basis else f"经自评，{score}"]


@dataclass
class IndicatorLine:
    """One line of the indicator analysis and the scoring table (指标分析行)."""

    code: str
    name: str
    level: int
    maximum: str
    score: str
    prose: list[str] = field(default_factory=list)
    level1: str = ""
    level2: str = ""
    lost: bool = False
    children: list[IndicatorLine] = field(default_factory=list)
    lost_points: str = ""


def _evidence(ev: Evaluation, node: NodeScore) -> list[str]:
    rows = ev.data.indicators
    return paragraphs(rows[node.row].evidence) if node.leaf and node.row < len(rows) else []


def _indicator_tree(ev: Evaluation) -> list[IndicatorLine]:
    lines: dict[str, IndicatorLine] = {}
    roots: list[IndicatorLine] = []
    for s in ev.scores.values():
        parent = s.code.rsplit(".", 1)[0] if "." in s.code else ""
        line = IndicatorLine(
            s.code,
            s.name,
            s.level,
            fmt_score(s.maximum),
            fmt_score(s.score),
            indicator_prose(s, _evidence(ev, s), ev.quarters) if s.leaf else [],
            lost=s.score < s.maximum - 0.005,
            lost_points=fmt_score(s.lost),
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


def _deduction(line: IndicatorLine) -> str:
    """The reason points were lost, for the 自评表's 扣分原因 (扣分说明): the prose without its frame,
    ending with the points lost ("因缺少社会公众满意度的实际值，扣2分。")."""
    text = re.sub(r"，?故此项得[\d.]+分。$", "", "".join(line.prose).removeprefix("经自评，"))
    if not text:
        return ""
    return text + "。" if "扣" in text else f"{text}，扣{line.lost_points}分。"


def scoring_rows(ev: Evaluation, tree: list[IndicatorLine] | None = None) -> list[dict[str, str]]:
    """The 自评表 rows (部门整体支出绩效自评表): 一级/二级/三级指标, 分值, 得分, 扣分原因 (only where points are lost).

    ``tree`` is the indicator tree of ``ev`` when the caller has it already (it is built with the prose)."""
    rows = []
    for root in _indicator_tree(ev) if tree is None else tree:
        for child in root.children or [root]:
            for leaf in child.children or [child]:
                rows.append(
                    {
                        "level1": root.name,
                        "level2": child.name if child is not root else "",
                        "level3": leaf.name if leaf is not child else "",
                        "maximum": leaf.maximum,
                        "score": leaf.score,
                        "reason": _deduction(leaf) if leaf.lost else "",
                    }
                )
    return rows


# Narrative text cells (报告文字) in the report's order: the outline level and text of the heading above each.
NARRATIVES = {
    "duties": (2, "部门职责"),
    "overall_goal": (1, "部门整体支出绩效目标、指标"),
    "budget_issues": (1, "当年预算执行及绩效管理中存在问题、原因及改进措施"),
    "evaluation_org": (2, "自评的组织工作"),
    "evaluation_method": (3, "评价方法"),
    "evaluation_process": (3, "评价过程"),
    "goal_achievement": (2, "总体绩效目标实现情况"),
    "problems": (2, "存在的问题"),
    "measures": (2, "改进措施"),
}


# What the report does where a text cell is blank (未填写时报告的处理), by narrative key.
_OMITTED = "报告中省略「{}」一小节"
_SHARED = "报告中省略「{}」，同一节各项都未填写时该节写明“本部分内容待补充”"
BLANK_EFFECT = {
    "duties": _OMITTED.format("部门职责"),
    "overall_goal": "报告该节只列绩效目标表；没有绩效目标时写明“本部分内容待补充”",
    "budget_issues": "报告第四节写明“本部分内容待补充”",
    "evaluation_org": "报告按评价工作组名单写组织工作；没有名单时" + _SHARED.format("自评的组织工作"),
    "evaluation_method": _SHARED.format("评价方法"),
    "evaluation_process": _SHARED.format("评价过程"),
    "goal_achievement": _OMITTED.format("总体绩效目标实现情况"),
    "problems": _SHARED.format("存在的问题"),
    "measures": _SHARED.format("改进措施"),
}


def blank_narratives(ev: Evaluation) -> list[str]:
    """The keys of the report's text cells left blank (未填写的报告文字), in the report's order."""
    return [key for key in NARRATIVES if not paragraphs(ev.data.get(key))]


def report_context(ev: Evaluation, findings: list | None = None) -> dict[str, object]:
    """Build the 自评报告's template context (报告上下文) from an evaluation.

    ``findings`` only help decide ``draft`` (征求意见稿, :func:`draft_reasons`); their text never
    enters the report.
    """
    data = ev.data
    all_findings = findings if findings is not None else ev.findings
    tree = _indicator_tree(ev)
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
    departments = [
        d for p in paragraphs(data.get("departments")) for d in p.replace("，", "、").split("、") if d
    ]
    text = {
        key: outline(paragraphs(data.get(key)), level, heading)
        for key, (level, heading) in NARRATIVES.items()
    }
    organised = team_sentence(data)
    if not text["evaluation_org"] and organised:  # 组织工作 from the team the workbook lists
        text["evaluation_org"] = [{"lead": "", "text": organised, "heading": False}]
    ctx: dict[str, object] = {
        "unit": unit,
        "year": year,
        "title": f"{unit}{year}年度部门整体支出绩效自评报告".strip(),
        "draft": bool(draft_reasons(ev, all_findings)),
        "nature": parse_text(data.get("unit_nature")),
        "funding_type": parse_text(data.get("funding_type")),
        "text": text,
        "departments": departments,
        "departments_count": str(len(departments)),
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
        "indicators": tree,
        "scoring_rows": scoring_rows(ev, tree),
        "total": fmt_score(ev.total),
        "grade": ev.grade,
        "team": team_members(data),
        "chart": [{"name": r.name, "maximum": r.maximum, "score": r.score} for r in ev.roots],
    }
    ctx["sentences"] = sentences(ctx)
    return ctx


# The team fields of 基本信息 (评价工作组) and the role each gives its people, in the reference's order.
TEAM_ROLES = (("team_leader", "组长"), ("team_deputies", "副组长"), ("team_members", "成员"))


def _names(value: object) -> list[str]:
    """Names typed in one cell, split at 、，, ; or spaces (人员名单)."""
    return [n for n in re.split(r"[、，,;；\s]+", parse_text(value)) if n]


def team_members(data: object) -> list[dict[str, str]]:
    """The evaluation team's signing rows (评价工作组人员名单): the 评价工作组 table, else the people
    named in 评价工作组组长/副组长/成员, one row each."""
    rows = [
        {
            "name": parse_text(t.name),
            "employer": parse_text(t.employer),
            "title": parse_text(t.title),
            "role": parse_text(t.role),
        }
        for t in data.team  # type: ignore[attr-defined]
        if parse_text(t.name)
    ]
    if rows:
        return rows
    unit = parse_text(data.get("unit_name"))  # type: ignore[attr-defined]
    return [
        {"name": name, "employer": unit, "title": "", "role": role}
        for key, role in TEAM_ROLES
        for name in _names(data.get(key))  # type: ignore[attr-defined]
    ]


def team_sentence(data: object) -> str:
    """The 组织 sentence as the reference writes it (自评的组织工作): "成立了绩效评价工作小组，张三为组长，
    李四、王五为成员，负责绩效评价的组织管理和实施工作。"; "" when no one is named."""
    by_role: dict[str, list[str]] = {}
    for row in team_members(data):
        role = row["role"] or "成员"
        by_role.setdefault(role if role in ("组长", "副组长") else "成员", []).append(row["name"])
    parts = [f"{'、'.join(by_role[role])}为{role}" for _, role in TEAM_ROLES if by_role.get(role)]
    if not parts:
        return ""
    return f"为保证绩效评价工作顺利开展，成立了绩效评价工作小组，{'，'.join(parts)}，负责绩效评价的组织管理和实施工作。"


def _clauses(*parts: str) -> str:
    """The clauses whose figures are given, joined by ，(从句): a clause holding "—" is left out."""
    return "，".join(p for p in parts if p and "—" not in p)


def _staff_sentence(staff: dict[str, str], rate: str) -> str:
    """人员情况 as one sentence of the figures given, "" when none is (人员情况句)."""
    quota = _clauses(
        f"行政编制{staff['quota_admin']}人",
        f"事业编制{staff['quota_inst']}人",
        f"共计{staff['quota_total']}人",
    )
    actual = _clauses(f"实有在职人员{staff['actual']}人", f"在职人员控制率为{rate}" if rate else "")
    text = "；".join(p for p in (quota, actual) if p)
    return f"{text}。" if text else ""


def _assets_sentence(year: str, vehicles: str, assets: str, use_rate: str) -> str:
    """资产情况 as one sentence of the figures given (资产情况句)."""
    text = _clauses(
        f"共有车辆{vehicles}辆",
        f"固定资产总额{assets}万元",
        f"固定资产利用率为{use_rate}" if use_rate else "",
    )
    return f"截至{year}年底，{text}。" if text else ""


def _income_sentence(year: str, name: str, stage: dict[str, object]) -> str:
    """预算/决算收入 as one sentence: the total and the sources given (收入句)."""
    listed = _clauses(*(f"{i['label']}{i['amount']}万元" for i in stage["income"]))  # type: ignore[attr-defined]
    total_text = f"{year}年{name}{stage['income_total']}万元"
    if "—" not in total_text:
        return f"{total_text}，其中：{listed}。" if listed else f"{total_text}。"
    return f"{year}年{name}中，{listed}。" if listed else ""


def _expense_sentence(year: str, name: str, stage: dict[str, object], classes: list[str]) -> str:
    """预算/决算支出 as one sentence: the total, 基本支出 with its parts, 项目支出, 功能分类 (支出句)."""
    parts = _clauses(f"人员经费{stage['personnel']}万元", f"日常公用经费{stage['public']}万元").replace(
        "，", "、"
    )
    basic = f"基本支出{stage['basic']}万元" if "—" not in str(stage["basic"]) else ""
    if basic and parts:
        basic += f"（{parts}）"
    elif not basic and parts:
        basic = f"基本支出中{parts}"
    details = _clauses(
        basic,
        f"项目支出{stage['project']}万元",
        f"按功能分类为{'、'.join(classes)}" if classes else "",
    )
    total_text = f"{year}年{name}{stage['exp_total']}万元"
    if "—" not in total_text:
        return f"{total_text}，其中：{details}。" if details else f"{total_text}。"
    return f"{year}年{name}中，{details}。" if details else ""


def _carryover_sentence(begin: str, end: str, rate: str) -> str:
    """结转结余 as one sentence of the figures given (结转结余句)."""
    text = _clauses(
        f"年初结转结余{begin}万元", f"年末结转结余{end}万元", f"结转结余率为{rate}" if rate else ""
    )
    return f"{text}。" if text else ""


def sentences(ctx: dict[str, object]) -> dict[str, str]:
    """The report's fact sentences (基本情况语句), each built only from the figures given.

    A clause whose input is blank is left out and a sentence with no figure at all is ``""``, so
    the report never prints "—" or a note on why a rate cannot be computed in running text.
    """
    year = str(ctx["year"])
    rates = {m["label"]: m["value"] for m in ctx["metrics"] if m["value"] != "无法计算"}  # type: ignore[attr-defined]
    staff = ctx["staff"]
    assert isinstance(staff, dict)
    out = {
        "staff": _staff_sentence(staff, rates.get("在职人员控制率", "")),
        "assets": _assets_sentence(
            year, str(ctx["vehicles"]), str(ctx["fixed_assets"]), rates.get("固定资产利用率", "")
        ),
        "carryover": _carryover_sentence(
            str(ctx["carryover_begin"]), str(ctx["carryover_end"]), rates.get("结转结余率", "")
        ),
    }
    for stage, income, expense in (("budget", "预算收入", "支出预算"), ("final", "决算收入", "决算支出")):
        data = ctx[stage]
        assert isinstance(data, dict)
        classes = [
            f"{c['name']}{c[stage]}万元"
            for c in ctx["classes"]  # type: ignore[attr-defined]
            if c[stage] != "—" and c["name"]
        ]
        out[f"{stage}_income"] = _income_sentence(year, income, data)
        out[f"{stage}_expense"] = _expense_sentence(year, expense, data, classes)
    return out


def missing_inputs(ev: Evaluation) -> list[str]:
    """What a workbook lacks entirely (缺少的基本数据): every self-score, every budget/final amount."""
    missing = []
    if ev.leaves and all(s.self_score is None for s in ev.leaves):
        missing.append("未填写任何指标的自评得分")
    if not has_amounts(ev):
        missing.append("未填写预算数和决算数")
    return missing


def draft_reasons(ev: Evaluation, findings: list) -> list[str]:
    """Why the report is only a draft (征求意见稿原因): error-level findings left, and
    :func:`missing_inputs`.  Empty for a report the unit can submit."""
    errors = sum(1 for f in findings if f.severity == ERROR)
    return ([f"校验发现 {errors} 条错误"] if errors else []) + missing_inputs(ev)


STAGE_AMOUNTS = (
    "income_total",
    *(f"income_{key}" for key, _ in INCOME_SOURCES),
    "exp_total",
    "exp_basic",
    "exp_personnel",
    "exp_public",
    "exp_project",
)


def has_amounts(ev: Evaluation) -> bool:
    """Whether any budget or final amount (预算数、决算数) is given."""
    keys = [f"{stage}_{key}" for stage in ("budget", "final") for key in STAGE_AMOUNTS]
    return any(parse_number(ev.data.get(k)).value is not None for k in keys) or any(
        parse_number(c.budget).value is not None or parse_number(c.final).value is not None
        for c in ev.data.classes
    )


def _goal_value(value: object, unit: object) -> str:
    parsed = parse_number(value).value
    if parsed is None:
        return "—"
    unit_text = parse_text(unit)
    if unit_text == "%":
        return fmt_entered(round(parsed * 100, 6)) + "%"
    return f"{fmt_entered(parsed)}{unit_text}"


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
