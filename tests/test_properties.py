"""Property tests (hypothesis): scores stay in [0, 分值], totals are the sum of their parts, grades are
monotone, rates never raise, and round_half_up is Decimal ROUND_HALF_UP on the 15-digit value.

Example counts are modest: CI runs on two cores.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from xlperf.core import rates
from xlperf.core.evaluate import evaluate
from xlperf.core.grades import DEFAULT_BANDS, grade, parse_bands
from xlperf.core.metrics import METRIC_BY_LABEL, METRICS
from xlperf.core.numbers import fmt_money, fmt_rate, fmt_score, parse_number, round_half_up
from xlperf.core.rubric import subtotal
from xlperf.core.rules import Outcome
from xlperf.core.scoring import indicator_outcome
from xlperf.examples import example_data

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- what a cell may hold ----------------------------------------------------------------------------

TYPED = st.sampled_from(
    ["", " ", "12%", "1,234.50", "一千", "12元", "#DIV/0!", "=A1", "4419.16万元", "abc", "-5%", "１２３", "达成",
     "部分达成", "未达成", "NaN", "inf", "1e400", "-0", "0.30000000000000004", "无法计算：缺少预算数"]
)  # fmt: skip
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1e4, max_value=1e4),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.integers(),  # unbounded: 10**400 does not fit a float
    st.sampled_from([0, 1, 0.3, 1.0, 2.5, 4, 100, -1, 1e-300, 1e300]),
)
CELL = st.one_of(
    st.none(),
    NUMBERS,
    TYPED,
    st.text(max_size=8),
    st.booleans(),
    st.dates().map(dt.date.isoformat),
    st.dates(),
)
RANGE = st.lists(st.one_of(st.none(), NUMBERS, TYPED), max_size=5)
ARG = st.one_of(CELL, RANGE)

# --- random valid rules --------------------------------------------------------------------------------


def _pct(x: float) -> str:
    return f"{x * 100:.4f}%"


SHARES = st.floats(min_value=0, max_value=1)
BOUNDS = st.floats(min_value=-0.5, max_value=3)


@st.composite
def proportional(draw: st.DrawFn) -> tuple[str, str]:
    full = draw(st.floats(min_value=0.0001, max_value=3))
    direction = draw(st.sampled_from(["", "; 方向=越高越好", "; 方向=越低越好"]))
    return "比例计分", f"满分值={_pct(full)}{direction}"


@st.composite
def tiers(draw: st.DrawFn) -> tuple[str, str]:
    bands = draw(st.lists(st.tuples(BOUNDS, SHARES), min_size=1, max_size=5))
    text = ",".join(f"{_pct(b)}:{_pct(s)}" for b, s in bands)
    if draw(st.booleans()):
        text += f",其他:{_pct(draw(SHARES))}"
    return "分档计分", f"档次={text}; 比较={draw(st.sampled_from(['不高于', '不低于']))}"


@st.composite
def deduct(draw: st.DrawFn) -> tuple[str, str]:
    params = [
        f"阈值={_pct(draw(BOUNDS))}",
        f"方向={draw(st.sampled_from(['高于', '低于', '偏离']))}",
        f"每={_pct(draw(st.floats(min_value=0.0001, max_value=0.5)))}",
        draw(
            st.one_of(
                st.floats(0, 10).map(lambda x: f"扣={x:.4f}"), SHARES.map(lambda x: f"扣比例={_pct(x)}")
            )
        ),
        f"取整={draw(st.sampled_from(['不取整', '向上']))}",
    ]
    return "扣分", "; ".join(params)


@st.composite
def checklist(draw: st.DrawFn) -> tuple[str, str]:
    params = [f"项数={draw(st.integers(1, 12))}", f"方式={draw(st.sampled_from(['得分', '扣分']))}"]
    if draw(st.booleans()):
        params.append(f"每项={draw(st.floats(0, 5)):.4f}")
    return "清单", "; ".join(params)


@st.composite
def quarterly(draw: st.DrawFn) -> tuple[str, str]:
    return "季度进度", f"季度数={draw(st.integers(1, 6))}"


@st.composite
def qualitative(draw: st.DrawFn) -> tuple[str, str]:
    if draw(st.booleans()):
        return "定性分档", ""
    spans = draw(st.lists(st.tuples(SHARES, SHARES).map(sorted), min_size=1, max_size=3))
    return "定性分档", "档次=" + ",".join(f"档{i}:{_pct(lo)}-{_pct(hi)}" for i, (lo, hi) in enumerate(spans))


RULES = st.one_of(
    proportional(),
    tiers(),
    deduct(),
    checklist(),
    quarterly(),
    qualitative(),
    st.just(("目标完成", "目标=G1,G2")),
    st.just(("自评", "")),
)
MAXIMA = st.one_of(
    st.sampled_from([0, 1, 2, 2.5, 3, 4, 5, 7, 10, 20, 3.333, 2.675, 16.667]),
    st.floats(min_value=0, max_value=100),
)
SOURCES = st.sampled_from(["", "绩效目标", *METRIC_BY_LABEL])


# actual values that land on full, partial and zero scores as often as junk does
ACTUAL = st.one_of(
    CELL, st.sampled_from([1.0, 0.0, 0.5, 1, 2, 3, 4, 8, 1.2, "达成", "部分达成", "未达成", "100%"])
)


@FAST
@given(rule=RULES, maximum=MAXIMA, actual=ACTUAL, source=SOURCES, data=st.data())
def test_score_between_zero_and_maximum(
    rule: tuple[str, str], maximum: float, actual: object, source: str, data: st.DataObject
) -> None:
    name, params = rule
    # self-scores around the maximum (the 自评 and 定性分档 rules keep them), or any cell
    self_score = data.draw(st.one_of(CELL, st.floats(-1, maximum * 1.2 + 1), st.just(maximum)))
    outcome = indicator_outcome(name, params, maximum, actual, self_score, source, "指标")
    assert isinstance(outcome, Outcome)
    assert outcome.status in ("ok", "missing", "invalid")
    assert not math.isnan(outcome.score)
    assert 0.0 <= outcome.score <= maximum, (name, params, maximum, actual, self_score, outcome)
    assert outcome.score == round_half_up(outcome.score, 2) or outcome.score == maximum
    assert outcome.reason  # every score says why
    if outcome.score < maximum and outcome.status == "ok":
        assert "扣" in outcome.reason or "不得分" in outcome.reason or "按" in outcome.reason


@FAST
@given(rule=st.text(max_size=6), params=st.text(max_size=30), maximum=CELL, actual=CELL, self_score=CELL)
def test_any_rule_text_never_raises(
    rule: str, params: str, maximum: object, actual: object, self_score: object
) -> None:
    outcome = indicator_outcome(rule, params, maximum, actual, self_score)
    max_value = parse_number(maximum).value
    assert outcome.score >= 0.0
    if max_value is not None and max_value >= 0:
        assert outcome.score <= max_value


# --- rates ----------------------------------------------------------------------------------------------

RATE_FUNCTIONS = [
    (rates.budget_completion_rate, 2),
    (rates.revenue_completion_rate, 4),
    (rates.budget_exec_rate, 4),
    (rates.budget_adj_rate, 4),
    (rates.payment_progress_rate, 2),
    (rates.carryover_change_rate, 2),
    (rates.public_expense_control_rate, 2),
    (rates.three_public_control_rate, 4),
    (rates.three_public_change_rate, 4),
    (rates.procurement_exec_rate, 2),
    (rates.staff_control_rate, 3),
    (rates.basic_exec_rate, 2),
    (rates.project_exec_rate, 2),
    (rates.key_expenditure_rate, 2),
    (rates.fixed_asset_utilization_rate, 2),
    (rates.output_completion_rate, 3),
    (rates.spending_progress, 4),
    (rates.quarters_on_schedule, 5),
    (rates.goals_completion, 3),
]


@FAST
@given(index=st.integers(0, len(RATE_FUNCTIONS) - 1), args=st.lists(ARG, min_size=5, max_size=5))
def test_rates_never_raise(index: int, args: list[object]) -> None:
    func, arity = RATE_FUNCTIONS[index]
    rate = func(*args[:arity])
    assert isinstance(rate, rates.Rate)
    if rate.value is None:
        assert rate.reason  # a defined reason, never a silent 0
        assert isinstance(rate.cell(), str)
    else:
        assert math.isfinite(rate.value)
        assert fmt_rate(rate.value).endswith("%")


@FAST
@given(
    args=st.lists(ARG, min_size=4, max_size=4),
    basis=st.one_of(st.sampled_from(rates.CARRYOVER_BASES), st.text(max_size=4)),
)
def test_carryover_rate_never_raises(args: list[object], basis: str) -> None:
    rate = rates.carryover_rate(args[0], args[1], args[2], basis)
    assert rate.value is None or math.isfinite(rate.value)
    assert rate.value is not None or rate.reason


@FAST
@given(raw=st.one_of(CELL, RANGE, st.builds(object), st.text()))
def test_parse_number_never_raises(raw: object) -> None:
    parsed = parse_number(raw)
    assert parsed.value is None or math.isfinite(parsed.value)
    assert not (parsed.value is not None and parsed.problem)
    for shown in (fmt_money(parsed.value), fmt_score(parsed.value), fmt_rate(parsed.value)):
        assert not shown.startswith("-0") or shown.strip("-0.%") != ""


@FAST
@given(progress=CELL, target=CELL)
def test_on_schedule_answers(progress: object, target: object) -> None:
    assert rates.on_schedule(progress, target) in ("是", "否", "—")


# --- rounding ---------------------------------------------------------------------------------------------


def _excel_round(value: float, digits: int) -> float:
    exact = Decimal(format(value, ".15g"))
    return float(exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


@settings(max_examples=400, deadline=None)
@given(
    value=st.one_of(
        st.floats(min_value=-1e13, max_value=1e13, allow_nan=False),
        st.integers(-(10**9), 10**9).map(lambda n: n / 1000),  # values on a half at 2 digits: x.xx5
        st.integers(-(10**9), 10**9).map(lambda n: n / 200),
    ),
    digits=st.integers(0, 4),
)
def test_round_half_up_is_decimal_half_up_on_15_digits(value: float, digits: int) -> None:
    result = round_half_up(value, digits)
    assert result == _excel_round(value, digits)
    if result == 0:
        assert math.copysign(1.0, result) == 1.0  # never -0.0
    assert abs(result - value) <= 0.5 * 10.0**-digits * (1 + 1e-9) + abs(value) * 1e-14


# --- totals -----------------------------------------------------------------------------------------------


@st.composite
def trees(draw: st.DrawFn) -> tuple[list[str], list[object]]:
    codes: list[str] = []
    for top in range(1, draw(st.integers(1, 4)) + 1):
        codes.append(str(top))
        for mid in range(1, draw(st.integers(0, 3)) + 1):
            codes.append(f"{top}.{mid}")
            codes += [f"{top}.{mid}.{leaf}" for leaf in range(1, draw(st.integers(0, 3)) + 1)]
    values = draw(
        st.lists(st.one_of(st.none(), st.floats(-100, 100), TYPED), min_size=len(codes), max_size=len(codes))
    )
    return codes, values


@FAST
@given(tree=trees())
def test_subtotal_is_the_sum_of_direct_children(tree: tuple[list[str], list[object]]) -> None:
    codes, values = tree
    for parent in ["", *codes]:
        children = [
            v for c, v in zip(codes, values, strict=True) if c.rsplit(".", 1)[0] == parent and c != parent
        ]
        if parent == "":
            children = [v for c, v in zip(codes, values, strict=True) if "." not in c]
        numbers = [parse_number(v).value for v in children]
        present = [n for n in numbers if n is not None]
        expected = round_half_up(sum(present), 2) if present else None
        assert subtotal(parent, codes, values) == expected


EXAMPLE = example_data()
LEAF_INDEXES = [i for i, row in enumerate(EXAMPLE.indicators) if row.rule]


@SLOW
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(LEAF_INDEXES), CELL, CELL),
        max_size=8,
    ),
    revenue=st.one_of(st.none(), st.floats(0, 20000)),
)
def test_evaluation_totals_equal_the_sum_of_their_parts(
    changes: list[tuple[int, object, object]], revenue: float | None
) -> None:
    indicators = list(EXAMPLE.indicators)
    for index, actual, self_score in changes:
        indicators[index] = replace(indicators[index], actual=actual, self_score=self_score)
    data = replace(
        EXAMPLE, indicators=tuple(indicators), fields={**EXAMPLE.fields, "final_income_total": revenue}
    )
    ev = evaluate(data)
    for node in ev.scores.values():
        assert 0.0 <= node.score <= node.maximum + 1e-9
        children = [
            s for s in ev.scores.values() if s.code.rsplit(".", 1)[0] == node.code and s.code != node.code
        ]
        if children:
            assert node.score == round_half_up(sum(c.score for c in children), 2)
    assert ev.total == round_half_up(sum(r.score for r in ev.roots), 2)
    assert ev.total is not None and 0.0 <= ev.total <= 100.0
    assert ev.grade == grade(ev.total)


# --- grades ----------------------------------------------------------------------------------------------


@st.composite
def bands(draw: st.DrawFn) -> tuple[tuple[float, str], ...]:
    lowers = draw(st.lists(st.floats(1, 100), min_size=0, max_size=4, unique=True))
    text = ",".join(f"G{i}:{b}" for i, b in enumerate(lowers)) + ",G_last:0"
    return parse_bands(text)


@FAST
@given(a=st.floats(-10, 110), b=st.floats(-10, 110), table=st.one_of(st.just(DEFAULT_BANDS), bands()))
def test_grade_is_monotone(a: float, b: float, table: tuple[tuple[float, str], ...]) -> None:
    low, high = sorted((a, b))
    rank = {name: lower for lower, name in table}
    assert rank[grade(low, table)] <= rank[grade(high, table)]


def test_metric_functions_are_all_covered() -> None:
    covered = {f for f, _ in RATE_FUNCTIONS} | {rates.carryover_rate}
    assert {m.func for m in METRICS} <= covered
