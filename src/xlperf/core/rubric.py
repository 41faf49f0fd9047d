"""The rubric (评分体系): an indicator tree 一级 → 二级 → 三级 with maxima and, per leaf, a rule.

The tree is given as rows whose 编号 encodes the hierarchy (``2`` → ``2.1`` → ``2.1.3``), exactly
as the workbook's 指标评分 table holds it.  :func:`build_rubric` checks that it adds up — every
parent's 分值 equals the sum of its children's, the top level sums to 100, each leaf has a known
rule with valid parameters — and names the node of every problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..errors import RubricError
from .metrics import GOAL_SOURCE, METRIC_BY_LABEL
from .model import RUBRIC, IndicatorRow, Ref
from .numbers import fmt_score, parse_number, parse_text, round_half_up
from .rules import Checklist, Goal, Manual, Qualitative, Rule, make_rule

TOTAL = 100.0
_CODE = re.compile(r"^\d+(\.\d+)*$")


@dataclass(frozen=True, slots=True)
class Problem:
    """A rubric problem (评分体系问题) at a row and column of the rubric table."""

    message: str
    ref: Ref


@dataclass
class Node:
    """An indicator (指标): a parent with children or a leaf with a rule."""

    code: str
    name: str
    maximum: float
    row: int
    rule: Rule | None = None
    source: str = ""
    children: list[Node] = field(default_factory=list)
    broken: bool = False

    @property
    def level(self) -> int:
        """Depth in the tree: 1 for 一级指标 (层级)."""
        return self.code.count(".") + 1

    @property
    def leaf(self) -> bool:
        """True for a scored indicator without children (末级指标)."""
        return not self.children

    @property
    def title(self) -> str:
        """``编号 名称`` for messages."""
        return f"{self.code} {self.name}"


@dataclass
class Rubric:
    """A validated indicator tree (评分体系); ``nodes`` in table order."""

    nodes: list[Node]

    @property
    def roots(self) -> list[Node]:
        """The 一级指标."""
        return [n for n in self.nodes if n.level == 1]

    @property
    def leaves(self) -> list[Node]:
        """The scored indicators in table order (末级指标)."""
        return [n for n in self.nodes if n.leaf]


def _ref(row: int, column: str) -> Ref:
    return Ref(column, RUBRIC, row)


def source_kind(rule: Rule, source: str) -> str:
    """How a leaf's 实际值 is obtained (实际值来源): ``metric``, ``goals`` or ``typed``."""
    if isinstance(rule, Goal):
        return "goals"
    return "metric" if source in METRIC_BY_LABEL else "typed"


def _parse_row(index: int, row: IndicatorRow, problems: list[Problem]) -> Node | None:
    code = parse_text(row.code)
    name = parse_text(row.name)
    if not code and not name:
        return None
    if not _CODE.match(code):
        problems.append(
            Problem(f"指标「{name}」的编号「{code}」应写作 1、1.2、1.2.3 这样的层级编号", _ref(index, "编号"))
        )
        return None
    maximum = parse_number(row.maximum)
    if maximum.value is None or maximum.value < 0:
        why = maximum.problem or ("为负数" if maximum.value is not None else "为空")
        problems.append(Problem(f"指标 {code} {name} 的分值{why}，应为不小于0的数字", _ref(index, "分值")))
        return Node(code, name, 0.0, index, source=parse_text(row.source), broken=True)
    return Node(code, name, maximum.value, index, source=parse_text(row.source))


def _attach_rule(node: Node, row: IndicatorRow, problems: list[Problem]) -> None:
    if node.broken:
        return
    rule_name = parse_text(row.rule)
    if not node.leaf:
        if rule_name:
            problems.append(
                Problem(f"指标 {node.title} 有下级指标，不应填写规则「{rule_name}」", _ref(node.row, "规则"))
            )
        return
    if not rule_name:
        problems.append(Problem(f"末级指标 {node.title} 没有填写规则", _ref(node.row, "规则")))
        return
    try:
        node.rule = make_rule(rule_name, parse_text(row.params), node.maximum)
    except RubricError as exc:
        column = "规则" if exc.message.startswith("未知的规则") else "参数"
        problems.append(Problem(f"指标 {node.title}：{exc.message}", _ref(node.row, column)))
        return
    if node.source and node.source not in METRIC_BY_LABEL and node.source != GOAL_SOURCE:
        problems.append(
            Problem(
                f"指标 {node.title} 的数据来源「{node.source}」未知，可用：{'、'.join(METRIC_BY_LABEL)}"
                f"、{GOAL_SOURCE}，或留空表示手工填报实际值",
                _ref(node.row, "数据来源"),
            )
        )
    if isinstance(node.rule, Manual | Qualitative | Checklist) and node.source in METRIC_BY_LABEL:
        if not isinstance(node.rule, Checklist) or METRIC_BY_LABEL[node.source].percent:
            problems.append(
                Problem(
                    f"指标 {node.title} 的规则「{node.rule.label}」不使用数据来源「{node.source}」",
                    _ref(node.row, "数据来源"),
                )
            )


def build_rubric(rows: Sequence[IndicatorRow], total: float = TOTAL) -> tuple[Rubric | None, list[Problem]]:
    """Build and validate the indicator tree (构建评分体系); returns the rubric or ``None`` and the problems."""
    problems: list[Problem] = []
    nodes: list[Node] = []
    by_code: dict[str, Node] = {}
    for index, row in enumerate(rows):
        node = _parse_row(index, row, problems)
        if node is None:
            continue
        if node.code in by_code:
            problems.append(
                Problem(
                    f"指标编号 {node.code} 重复（{by_code[node.code].name}、{node.name}）",
                    _ref(index, "编号"),
                )
            )
            continue
        by_code[node.code] = node
        nodes.append(node)
    for node in nodes:
        if node.level > 1:
            parent = by_code.get(node.code.rsplit(".", 1)[0])
            if parent is None:
                problems.append(
                    Problem(
                        f"指标 {node.title} 的上级指标 {node.code.rsplit('.', 1)[0]} 不存在",
                        _ref(node.row, "编号"),
                    )
                )
                continue
            parent.children.append(node)
            if node.row < parent.row:
                problems.append(
                    Problem(
                        f"下级指标 {node.title} 应排在上级指标 {parent.title} 之后", _ref(node.row, "编号")
                    )
                )
    for node, row in ((n, rows[n.row]) for n in nodes):
        _attach_rule(node, row, problems)
    for node in nodes:
        if node.children and not node.broken and not any(child.broken for child in node.children):
            _check_sum(node.title, node.maximum, node.children, _ref(node.row, "分值"), problems)
    roots = [n for n in nodes if n.level == 1]
    if not roots:
        problems.append(Problem("指标评分表中没有任何指标", _ref(0, "编号")))
    elif not any(root.broken for root in roots):
        _check_sum("一级指标合计", total, roots, _ref(roots[0].row, "分值"), problems)
    return (None if problems else Rubric(nodes)), problems


def _check_sum(title: str, expected: float, children: list[Node], ref: Ref, problems: list[Problem]) -> None:
    actual = round_half_up(sum(c.maximum for c in children), 4)
    if abs(actual - expected) > 0.005:
        parts = " + ".join(fmt_score(c.maximum) for c in children)
        problems.append(
            Problem(
                f"{title} 的分值为 {fmt_score(expected)}，下级指标分值之和为 {parts} = "
                f"{fmt_score(actual)}，不相等",
                ref,
            )
        )


def table_shape(rows: Sequence[IndicatorRow]) -> list[tuple[int, str, bool]]:
    """Rows with a valid, first-seen 编号 as ``(row index, code, is_leaf)`` (表结构): a leaf has no child row."""
    seen: dict[str, int] = {}
    for index, row in enumerate(rows):
        code = parse_text(row.code)
        if _CODE.match(code) and code not in seen:
            seen[code] = index
    parents = {parent_code(code) for code in seen}
    return [(index, code, code not in parents) for code, index in seen.items()]


def parent_code(code: str) -> str:
    """The parent's 编号 (上级编号): ``"2.1"`` for ``"2.1.3"``, ``""`` for a 一级指标."""
    return code.rsplit(".", 1)[0] if "." in code else ""


def sum_present(values: Iterable[object]) -> float | None:
    """The subtotal rule (小计规则): Σ of the values present, rounded to two decimals; all blank → ``None``."""
    found = [number for number in (parse_number(v).value for v in values) if number is not None]
    return round_half_up(sum(found), 2) if found else None


def subtotal(parent: object, codes: object, values: object) -> float | None:
    """小计 = Σ values of the rows whose 编号 is a direct child of ``parent`` (``""`` for the 一级指标).

    Blank values are skipped; when every child is blank the subtotal is blank (``None``).
    """
    return subtotals(codes, values).get(parse_text(parent))


def subtotals(codes: object, values: object) -> dict[str, float | None]:
    """Every parent's :func:`subtotal` at once (全部小计), by the parent's 编号; a 编号 without a child row
    is absent (its subtotal is blank)."""
    flat_codes = _flatten(codes if isinstance(codes, list | tuple) else [codes])
    flat_values = _flatten(values if isinstance(values, list | tuple) else [values])
    children: dict[str, list[object]] = {}
    for code, value in zip(flat_codes, flat_values, strict=False):
        if _CODE.match(text := parse_text(code)):
            children.setdefault(parent_code(text), []).append(value)
    return {parent: sum_present(found) for parent, found in children.items()}


def _flatten(items: list | tuple) -> list[object]:
    return [x for item in items for x in (_flatten(item) if isinstance(item, list | tuple) else [item])]
