"""Numbers as finance staff type them and as Excel's ROUND rounds them (numbers.py)."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from xlperf.core.numbers import (
    BLANK,
    Parsed,
    failure_text,
    fmt_money,
    fmt_rate,
    fmt_score,
    parse_number,
    parse_text,
    percent_points,
    round_half_up,
)


def _positive_zero(value: float) -> bool:
    return value == 0 and math.copysign(1.0, value) == 1.0


# --- round_half_up: Excel's ROUND, half away from zero on the 15-significant-digit value ---------


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [
        # 2.675 is stored as 2.67499999999999982236431605997495353221893310546875; Excel shows
        # 2.675 (15 digits) and ROUND(2.675,2) = 2.68, while Python's round() gives 2.67.
        (2.675, 2, 2.68),
        # 1.005 is stored as 1.00499999999999989341858963598497211933135986328125 → Excel 1.01.
        (1.005, 2, 1.01),
        (-1.005, 2, -1.01),  # half away from zero: ROUND(-1.005,2) = -1.01
        (0.285, 2, 0.29),  # stored 0.284999999999999975575093458246556110680103302001953125
        (2.5, 0, 3.0),  # ROUND(2.5,0) = 3, banker's round() would give 2
        (-2.5, 0, -3.0),
        (0.5, 0, 1.0),
        (1.5, 0, 2.0),
        (4419.155, 2, 4419.16),  # a 万元 amount on the half
        (196.6516261, 2, 196.65),  # 收入预算完成率 in percentage points, not on a half
        (-62.0761362, 2, -62.08),  # 结转结余变动率 in percentage points
        (94.75, 1, 94.8),  # a score rounded to one decimal: 94.75 is exact in binary, half → up
        (0.30000000000000004, 2, 0.3),  # 1325.748/4419.16 as computed in floating point
        (1234.5678, -2, 1200.0),  # negative digits round to hundreds, like ROUND(x,-2)
        (1250.0, -2, 1300.0),
    ],
)
def test_round_half_up_matches_excel_round(value: float, digits: int, expected: float) -> None:
    assert round_half_up(value, digits) == expected


def test_python_round_would_be_wrong_here() -> None:
    # The reason round_half_up exists: Python rounds 2.675 down and 2.5 to even.
    assert round(2.675, 2) == 2.67 and round(2.5) == 2
    assert round_half_up(2.675, 2) == 2.68 and round_half_up(2.5, 0) == 3.0


@pytest.mark.parametrize("value", [-0.004, -0.0049999999999, -1e-300, -0.0, -0.001, -0.4])
def test_tiny_negatives_round_to_positive_zero(value: float) -> None:
    # -0.004 rounds to 0.00, and must print as "0.00", never "-0.00" (neither path may keep the sign)
    digits = 0 if value == -0.4 else 2
    result = round_half_up(value, digits)
    assert _positive_zero(result), repr(result)


def test_negative_half_rounds_away_from_zero() -> None:
    assert round_half_up(-0.005, 2) == -0.01  # -0.005 is on the half (15 digits) → -0.01


def test_large_values() -> None:
    # 123456789012.3449 has 16 significant digits; Excel sees the 15-digit value 123456789012.345,
    # which is on the half and rounds up to .35 (plain float rounding of the stored value gives .34).
    assert round_half_up(123456789012.3449, 2) == 123456789012.35
    assert round_half_up(123456789012.344, 2) == 123456789012.34  # 15 digits, below the half
    assert round_half_up(1e20, 2) == 1e20  # beyond 1e15 scaled: the Decimal path, unchanged
    # 9999999999999.995 has 16 significant digits; its 15-digit value is 9999999999999.99 (Excel
    # cannot hold the last 5), so ROUND(…,2) keeps .99 rather than carrying to 10000000000000.
    assert round_half_up(9_999_999_999_999.995, 2) == 9_999_999_999_999.99
    assert round_half_up(999_999_999_999.995, 2) == 1_000_000_000_000.0  # 15 digits, on the half → up
    assert round_half_up(1e300, 2) == 1e300  # absurd magnitude: returned as is, never raises


def test_non_finite_values_pass_through() -> None:
    assert round_half_up(math.inf, 2) == math.inf
    assert round_half_up(-math.inf, 2) == -math.inf
    assert math.isnan(round_half_up(math.nan, 2))


def test_percent_points_compares_rates_at_two_decimals() -> None:
    # 预算调整 1325.748 of 4419.16: 1325.748 / 4419.16 = 0.30000000000000004 in floating point,
    # exactly 30.00 percentage points once rounded — on the 30% threshold, not above it.
    assert 1325.748 / 4419.16 != 0.3
    assert percent_points(1325.748 / 4419.16) == 30.0
    assert percent_points(0.31) == 31.0
    assert percent_points(8690.35 / 4419.16) == 196.65  # 1.966516… → 196.65


# --- parse_number: every form a finance officer types --------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (4419.16, 4419.16),
        (78, 78.0),
        (0, 0.0),
        (-298.15, -298.15),
        ("1,234.50", 1234.5),  # thousands separator
        ("１，２３４", 1234.0),  # full-width digits and comma (NFKC)
        ("１２３", 123.0),
        ("12%", 0.12),  # a typed percentage is a fraction
        ("１２％", 0.12),
        ("12 %", 0.12),
        ("-5%", -0.05),
        ("4419.16万元", 4419.16),  # amounts are in 万元 already
        ("12.5 万元", 12.5),
        ("4419.16万", 4419.16),  # the short form of 万元
        (" 12 ", 12.0),
        ("\t12\n", 12.0),
        ("1e3", 1000.0),
        ("-0.5", -0.5),
    ],
)
def test_parse_number_accepts(raw: object, expected: float) -> None:
    parsed = parse_number(raw)
    assert parsed == Parsed(expected)
    assert not parsed.blank


@pytest.mark.parametrize("raw", [None, "", "   ", "\u3000"])
def test_parse_number_blank(raw: object) -> None:
    parsed = parse_number(raw)
    assert parsed is BLANK or parsed == BLANK
    assert parsed.blank and parsed.value is None and parsed.problem is None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("一千", "请用阿拉伯数字填写，实际为中文数字「一千」"),
        ("壹佰", "请用阿拉伯数字填写，实际为中文数字「壹佰」"),
        ("12元", "金额应以万元为单位填写数字，实际为「12元」"),
        ("1.2亿元", "金额应以万元为单位填写数字，实际为「1.2亿元」"),
        ("1.2亿", "金额应以万元为单位填写数字，实际为「1.2亿」"),
        ("#DIV/0!", "单元格为错误值 #DIV/0!，应为数字"),
        ("#n/a", "单元格为错误值 #N/A，应为数字"),
        ("#VALUE!", "单元格为错误值 #VALUE!，应为数字"),
        ("=A1", "应为数字，实际为未计算的公式文本「=A1」"),
        ("=SUM(B2:B5)", "应为数字，实际为未计算的公式文本「=SUM(B2:B5)」"),
        ("NaN", "应为有限的数字，实际为「NaN」"),
        ("inf", "应为有限的数字，实际为「inf」"),
        ("abc", "无法识别为数字：「abc」"),
        ("(12)", "无法识别为数字：「(12)」"),
        ("%", "无法识别为数字：「%」"),
        (True, "应为数字，实际为逻辑值 TRUE"),
        (False, "应为数字，实际为逻辑值 FALSE"),
        (math.nan, "应为有限的数字，实际为无穷大或非数字"),
        (math.inf, "应为有限的数字，实际为无穷大或非数字"),
        (-math.inf, "应为有限的数字，实际为无穷大或非数字"),
        (10**400, "应为有限的数字，实际为无穷大或非数字"),  # an int too large for a float
        (dt.date(2024, 12, 31), "应为数字，实际为日期/时间「2024-12-31」"),
        (dt.datetime(2024, 1, 1, 8, 30), "应为数字，实际为日期/时间「2024-01-01 08:30:00」"),
        (dt.time(8, 30), "应为数字，实际为日期/时间「08:30:00」"),
        ([1, 2], "应为数字，实际为「[1, 2]」"),
    ],
)
def test_parse_number_explains_what_it_cannot_read(raw: object, problem: str) -> None:
    parsed = parse_number(raw)
    assert parsed.value is None
    assert parsed.problem == problem
    assert not parsed.blank


def test_negative_zero_is_zero() -> None:
    parsed = parse_number(-0.0)
    assert parsed.value == 0 and math.copysign(1.0, parsed.value) == 1.0


def test_numpy_like_float_subclass_is_a_number() -> None:
    class Float(float):
        pass

    assert parse_number(Float(2.5)) == Parsed(2.5)
    assert parse_number(Float("nan")).problem == "应为有限的数字，实际为无穷大或非数字"


# --- failure_text, parse_text ----------------------------------------------------------------------


def test_failure_text_is_a_computed_reason_not_an_excel_error() -> None:
    reason = "无法计算预算调整率：缺少预算调整数"
    assert failure_text(f" {reason} ") == reason
    assert failure_text("#DIV/0!") is None  # an Excel error is not a reason
    assert failure_text("12") is None  # a number is not a failure
    assert failure_text("") is None and failure_text(None) is None and failure_text(3.0) is None


@pytest.mark.parametrize(
    ("raw", "text"),
    [(None, ""), (" 投入 ", "投入"), (2024.0, "2024"), (1.5, "1.5"), (7, "7"), ("1.1", "1.1")],
)
def test_parse_text(raw: object, text: str) -> None:
    assert parse_text(raw) == text


# --- formatting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (4419.16, "4,419.16"),
        (1234.5, "1,234.50"),
        (4419.155, "4,419.16"),  # on the half → up (Python's format would give 4,419.15)
        (-1234.565, "-1,234.57"),
        (113.07000000000062, "113.07"),  # 298.15 + 8690.35 − 8875.43 in floating point
        (0, "0.00"),
        (-0.004, "0.00"),  # not "-0.00"
        (1e9, "1,000,000,000.00"),
        (None, "—"),
    ],
)
def test_fmt_money(value: float | None, text: str) -> None:
    assert fmt_money(value) == text


@pytest.mark.parametrize(
    ("rate", "text"),
    [
        (0.31, "31.00%"),
        (8690.35 / 4419.16, "196.65%"),  # 收入预算完成率
        (78 / 79, "98.73%"),  # 在职人员控制率 0.98734…
        ((113.07 - 298.15) / 298.15, "-62.08%"),  # 结转结余变动率 −0.620761…
        (0.0, "0.00%"),
        (-0.00001, "0.00%"),  # −0.001 percentage points → 0.00%, not "-0.00%"
        (0.026750, "2.68%"),  # 2.675 percentage points → half up
        (None, "—"),
    ],
)
def test_fmt_rate(rate: float | None, text: str) -> None:
    assert fmt_rate(rate) == text


@pytest.mark.parametrize(
    ("score", "text"),
    [
        (2.0, "2"),
        (3.75, "3.75"),
        (10.5, "10.5"),
        (100.0, "100"),
        (94.75, "94.75"),
        (0.1 + 0.2, "0.3"),  # 0.30000000000000004 → 0.3
        (2.675, "2.68"),
        (-0.001, "0"),  # not "-0"
        (0.0, "0"),
        (None, "—"),
    ],
)
def test_fmt_score(score: float | None, text: str) -> None:
    assert fmt_score(score) == text
