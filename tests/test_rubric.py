"""The indicator tree: packaged rubrics, broken rubrics named by node and column, subtotals (rubric.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from xlperf.core.model import RUBRIC, IndicatorRow, Ref
from xlperf.core.rubric import build_rubric, parent_code, source_kind, subtotal, subtotals, table_shape
from xlperf.core.rules import Checklist, Deduct, Goal, Qualitative, Quarterly, Tiers
from xlperf.errors import RubricError
from xlperf.rubrics import PACKAGED, packaged_goals, packaged_rows

R = IndicatorRow


def _valid() -> list[IndicatorRow]:
    """A minimal valid rubric: 投入 40 (1.1 40) and 过程 60 (2.1 60)."""
    return [
        R("1", "投入", 40),
        R("1.1", "目标", 40, "自评"),
        R("2", "过程", 60),
        R("2.1", "执行", 60, "自评"),
    ]


def _problems(rows: list[IndicatorRow]) -> list[tuple[str, Ref]]:
    rubric, problems = build_rubric(rows)
    assert (rubric is None) == bool(problems)
    return [(p.message, p.ref) for p in problems]


# --- packaged rubrics ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PACKAGED))
def test_packaged_rubrics_build_without_problems(name: str) -> None:
    rubric, problems = build_rubric(packaged_rows(name))
    assert problems == []
    assert rubric is not None
    assert sum(root.maximum for root in rubric.roots) == 100
    for node in rubric.nodes:
        if node.children:
            assert node.rule is None
            assert sum(c.maximum for c in node.children) == pytest.approx(node.maximum)
        else:
            assert node.rule is not None and node.rule.maximum == node.maximum


def test_reference_tree_maxima() -> None:
    rubric, _ = build_rubric(packaged_rows("reference"))
    assert rubric is not None
    maxima = {n.code: (n.name, n.maximum) for n in rubric.nodes}
    # the report: 投入 20 / 过程 40 / 产出 25 / 效果 15
    assert [(r.name, r.maximum) for r in rubric.roots] == [
        ("投入", 20),
        ("过程", 40),
        ("产出", 25),
        ("效果", 15),
    ]
    # 过程 40 = 预算执行 25 + 预算管理 7 + 绩效评价 8; 产出 25 = 数量 10 + 质量 10 + 时效 5
    assert (
        maxima["2.1"] == ("预算执行", 25)
        and maxima["2.2"] == ("预算管理", 7)
        and maxima["2.3"] == ("绩效评价", 8)
    )
    assert [maxima[c][1] for c in ("3.1", "3.2", "3.3")] == [10, 10, 5]
    # 投入: 绩效目标指标管理 10 = 7 + 3 (the report's scores); 预算编制 10 = 2 + 6 + 2
    assert [maxima[c][1] for c in ("1.1", "1.1.1", "1.1.2")] == [10, 7, 3]
    assert [maxima[c][1] for c in ("1.2", "1.2.1", "1.2.2", "1.2.3")] == [10, 2, 6, 2]
    assert maxima["4.1"] == ("履职效益", 15)
    assert len(rubric.leaves) == 31
    rules = {n.code: n.rule for n in rubric.leaves}
    assert isinstance(rules["2.1.1"], Deduct) and isinstance(rules["2.1.2"], Tiers)
    assert isinstance(rules["2.1.3"], Quarterly) and isinstance(rules["2.1.8"], Checklist)
    assert isinstance(rules["1.1.1"], Qualitative)


def test_caiyu2020_weights() -> None:
    rubric, _ = build_rubric(packaged_rows("caiyu2020"))
    assert rubric is not None
    # 10号 self-evaluation: 预算执行率 10 / 产出 50 / 效益 30 / 满意度 10
    assert [(r.name, r.maximum) for r in rubric.roots] == [
        ("预算执行", 10),
        ("产出", 50),
        ("效益", 30),
        ("满意度", 10),
    ]
    execution = next(n for n in rubric.leaves if n.name == "预算执行率")
    assert (
        execution.source == "预算执行率" and execution.rule is not None and execution.rule.label == "比例计分"
    )
    goals = [n for n in rubric.leaves if isinstance(n.rule, Goal)]
    assert [n.rule.goal_ids for n in goals] == [("G1",), ("G2",), ("G3",)]  # type: ignore[union-attr]
    assert [g.goal_id for g in packaged_goals("caiyu2020")] == ["G1", "G2", "G3"]
    assert source_kind(goals[0].rule, goals[0].source) == "goals"  # type: ignore[arg-type]


def test_unknown_packaged_rubric() -> None:
    with pytest.raises(RubricError, match="未知的内置评分体系「nope」，可用：reference、caiyu2020"):
        packaged_rows("nope")


# --- broken rubrics ----------------------------------------------------------------------------------


def test_children_do_not_add_up_to_parent() -> None:
    rows = _valid()
    rows[1] = replace(rows[1], maximum=30)
    assert _problems(rows) == [
        ("1 投入 的分值为 40，下级指标分值之和为 30 = 30，不相等", Ref("分值", RUBRIC, 0)),
    ]


def test_total_is_not_100() -> None:
    rows = _valid()
    rows[2], rows[3] = replace(rows[2], maximum=50), replace(rows[3], maximum=50)
    assert _problems(rows) == [
        ("一级指标合计 的分值为 100，下级指标分值之和为 40 + 50 = 90，不相等", Ref("分值", RUBRIC, 0)),
    ]


def test_unknown_rule_names_the_rule_column() -> None:
    rows = _valid()
    rows[1] = replace(rows[1], rule="乱写")
    [(message, ref)] = _problems(rows)
    assert message.startswith("指标 1.1 目标：未知的规则「乱写」，可用规则：比例计分")
    assert ref == Ref("规则", RUBRIC, 1)


def test_bad_parameter_names_the_parameter_column() -> None:
    rows = _valid()
    rows[3] = replace(rows[3], rule="扣分", params="阈值=abc")
    assert _problems(rows) == [
        ("指标 2.1 执行：参数「阈值」应为数字或百分比，实际为「abc」", Ref("参数", RUBRIC, 3)),
    ]


def test_duplicate_code() -> None:
    rows = _valid()
    rows.insert(2, R("1.1", "重复", 40, "自评"))
    assert _problems(rows) == [("指标编号 1.1 重复（目标、重复）", Ref("编号", RUBRIC, 2))]


def test_missing_parent() -> None:
    rows = _valid()
    rows[3] = replace(rows[3], code="3.1")
    problems = _problems(rows)
    assert ("指标 3.1 执行 的上级指标 3 不存在", Ref("编号", RUBRIC, 3)) in problems


def test_leaf_without_rule_and_parent_with_rule() -> None:
    rows = _valid()
    rows[1] = replace(rows[1], rule=None)
    assert _problems(rows) == [("末级指标 1.1 目标 没有填写规则", Ref("规则", RUBRIC, 1))]
    rows = _valid()
    rows[0] = replace(rows[0], rule="自评")
    assert _problems(rows) == [("指标 1 投入 有下级指标，不应填写规则「自评」", Ref("规则", RUBRIC, 0))]


@pytest.mark.parametrize(
    ("maximum", "why"),
    [("x", "无法识别为数字：「x」"), (None, "为空")],
)
def test_bad_maximum_names_the_score_column(maximum: object, why: str) -> None:
    rows = _valid()
    rows[1] = replace(rows[1], maximum=maximum)
    problems = _problems(rows)
    assert problems[0] == (f"指标 1.1 目标 的分值{why}，应为不小于0的数字", Ref("分值", RUBRIC, 1))


def test_bad_code() -> None:
    problems = _problems([R("1.a", "投入", 100, "自评")])
    assert problems == [
        ("指标「投入」的编号「1.a」应写作 1、1.2、1.2.3 这样的层级编号", Ref("编号", RUBRIC, 0)),
        ("指标评分表中没有任何指标", Ref("编号", RUBRIC, 0)),
    ]


def test_empty_rubric() -> None:
    assert _problems([]) == [("指标评分表中没有任何指标", Ref("编号", RUBRIC, 0))]
    assert _problems([R(None, None, None)]) == [("指标评分表中没有任何指标", Ref("编号", RUBRIC, 0))]


def test_unknown_and_unused_sources() -> None:
    rows = _valid()
    rows[1] = replace(rows[1], source="不存在")
    [(message, ref)] = _problems(rows)
    assert message.startswith("指标 1.1 目标 的数据来源「不存在」未知，可用：收入预算完成率、预算执行率")
    assert ref == Ref("数据来源", RUBRIC, 1)
    rows = _valid()
    rows[1] = replace(rows[1], source="预算调整率")
    assert _problems(rows) == [
        ("指标 1.1 目标 的规则「自评」不使用数据来源「预算调整率」", Ref("数据来源", RUBRIC, 1))
    ]
    # a checklist may count something a metric counts (a count, not a percentage)
    rows = _valid()
    rows[1] = replace(rows[1], rule="清单", params="项数=4", source="支出进度达标季度数")
    assert _problems(rows) == []


def test_numeric_codes_and_blank_rows_are_accepted() -> None:
    rows = [
        R(1, "投入", 40),
        R(1.1, "目标", 40, "自评"),
        R(None, None, None),
        R(2, "过程", 60),
        R(2.1, "执行", 60, "自评"),
    ]
    rubric, problems = build_rubric(rows)
    assert problems == [] and rubric is not None
    assert [n.code for n in rubric.nodes] == ["1", "1.1", "2", "2.1"]
    assert [n.level for n in rubric.nodes] == [1, 2, 1, 2]
    assert rubric.nodes[1].title == "1.1 目标"


def test_fractional_maxima_add_up() -> None:
    # 2.5 × 4 = 10 and 59.995 + 0.005 = 60 within the 0.005 tolerance
    rows = [R("1", "产出", 40), R("1.1", "数量", 10)]
    rows += [R(f"1.1.{i}", f"d{i}", 2.5, "自评") for i in range(1, 5)]
    rows += [
        R("1.2", "其他", 30, "自评"),
        R("2", "过程", 60),
        R("2.1", "a", 59.995, "自评"),
        R("2.2", "b", 0.005, "自评"),
    ]
    assert _problems(rows) == []


# --- subtotal, table_shape, parent_code ------------------------------------------------------------------


CODES = ["1", "1.1", "1.1.1", "1.1.2", "1.2", "2", "2.1"]


def test_subtotal_sums_direct_children() -> None:
    values = [None, None, 7, 3, 10, None, 60]
    assert subtotal("1.1", CODES, values) == 10.0  # 7 + 3
    # 1.1 + 1.2 = 10 + 10; the grandchildren 1.1.1 and 1.1.2 are not added again
    assert subtotal("1", CODES, [None, 10, 7, 3, 10, None, 60]) == 20.0
    assert subtotal("", CODES, [20, 10, 7, 3, 10, 60, 60]) == 80.0  # the 一级指标: 20 + 60
    assert subtotal("2", CODES, [None] * 7) is None  # every child blank → blank
    assert subtotal("1.1", CODES, [None, None, 7, None, 10, None, 60]) == 7.0  # a blank child counts 0
    assert subtotal("9", CODES, [1] * 7) is None  # no children at all


def test_subtotal_rounds_and_accepts_ranges() -> None:
    # Excel passes ranges as nested lists (rows of one cell); 0.1 + 0.2 = 0.30000000000000004 → 0.3
    assert subtotal("1", [["1"], ["1.1"], ["1.2"]], [[None], [0.1], [0.2]]) == 0.3
    assert subtotal("1", ["1.1", "1.2"], ["2.675", 0]) == 2.68  # text number, rounded half up
    assert subtotal(2, ["2.1", 2.2], [1, 2]) == 3.0  # numeric codes
    assert subtotal("", "1", 5) == 5.0  # a single cell


def test_every_subtotal_at_once() -> None:
    """Each parent that has a child row, with what :func:`subtotal` gives it; rows whose 编号 is not
    one (blank, text) belong to no parent."""
    codes = [*CODES, "", "x", " 2.2 "]
    values = [20, 10, 7, 3, None, 60, 60, 5, 5, "1.5"]
    assert subtotals(codes, values) == {"": 80.0, "1": 10.0, "1.1": 10.0, "2": 61.5}
    assert subtotals([["1.1"], ["1.2"]], [[None], [None]]) == {"1": None}  # every child blank


def test_table_shape_and_parent_code() -> None:
    rows = [R(c, c, 1) for c in ["1", "1.1", "1.1", "x", "1.2", "2"]]
    # first-seen valid codes only; a leaf is a code no other code names as parent
    assert table_shape(rows) == [(0, "1", False), (1, "1.1", True), (4, "1.2", True), (5, "2", True)]
    assert parent_code("2.1.3") == "2.1" and parent_code("2.1") == "2" and parent_code("2") == ""
