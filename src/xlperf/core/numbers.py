"""Numbers as finance staff type them and as Excel rounds them (数值解析与舍入).

* :func:`round_half_up` rounds like Excel's ``ROUND`` (half away from zero on the
  15-significant-digit value), not like Python's banker's ``round``.
* :func:`parse_number` accepts what people type into cells — ``"1,234.50"``, ``"12%"``,
  full-width ``"１２３"``, ``"4419.16万元"`` (or ``"4419.16万"``), ``" 12 "`` — and explains in
  Chinese what it cannot accept.
"""

from __future__ import annotations

import datetime as _dt
import math
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache

EXCEL_ERRORS = frozenset(
    {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!", "#GETTING_DATA", "#SPILL!", "#CALC!"}
)
_CHINESE_NUMERALS = set("零〇一二三四五六七八九十百千万亿壹贰叁肆伍陆柒捌玖拾佰仟")


_POW10 = tuple(10.0**d for d in range(10))


def round_half_up(value: float, digits: int = 2) -> float:
    """Round like Excel's ROUND (四舍五入): half away from zero, on the 15-digit value.

    ``round_half_up(2.675, 2) == 2.68`` and ``round_half_up(-1.005, 2) == -1.01``.
    """
    if not math.isfinite(value):
        return value
    scale = _POW10[digits] if 0 <= digits < 10 else 10.0**digits
    scaled = abs(value) * scale
    fraction = scaled % 1.0  # exact: scaled − fraction is floor(scaled)
    # Fast path when the 15-digit value cannot sit on the half: its distance from .5 exceeds both
    # float noise and what trimming to 15 significant digits can move it (< scaled × 5e-15).
    if scaled < 1e15 and abs(fraction - 0.5) > 1e-6 + scaled * 1e-14:
        return math.copysign(scaled - fraction + (fraction > 0.5), value) / scale + 0.0
    exact = Decimal(format(value, ".15g"))
    quantum = Decimal(1).scaleb(-digits)
    try:
        return float(exact.quantize(quantum, rounding=ROUND_HALF_UP)) + 0.0  # + 0.0: never -0.0
    except InvalidOperation:  # pragma: no cover - only for absurd magnitudes
        return value


@dataclass(frozen=True, slots=True)
class Parsed:
    """A parsed cell value: ``value`` when usable, else ``problem`` (Chinese) or both ``None`` for blank."""

    value: float | None
    problem: str | None = None

    @property
    def blank(self) -> bool:
        """True when the cell was empty (空白)."""
        return self.value is None and self.problem is None


BLANK = Parsed(None)


_NOT_FINITE = Parsed(None, "应为有限的数字，实际为无穷大或非数字")


@lru_cache(maxsize=4096)
def _parsed_number(value: float) -> Parsed:
    """One shared :class:`Parsed` per number: an evaluation parses the same 分值 and amounts many times,
    and building a frozen dataclass costs three times the lookup.  ``+ 0.0`` turns −0.0 into 0.0."""
    return Parsed(value + 0.0)


def _finite(raw: object) -> Parsed:
    try:
        number = float(raw)  # type: ignore[arg-type]  # only ever an int or float
    except OverflowError:  # an int beyond 1.8e308
        return _NOT_FINITE
    return _parsed_number(number) if math.isfinite(number) else _NOT_FINITE


def parse_number(raw: object) -> Parsed:
    """Parse a typed cell into a number (数值解析); 万元 suffix, commas, % and full-width digits allowed."""
    kind = type(raw)
    if kind is float or kind is int:
        return _finite(raw)
    if raw is None:
        return BLANK
    if isinstance(raw, bool):
        return Parsed(None, f"应为数字，实际为逻辑值 {'TRUE' if raw else 'FALSE'}")
    if isinstance(raw, int | float):
        return _finite(raw)
    if isinstance(raw, _dt.date | _dt.datetime | _dt.time | _dt.timedelta):
        return Parsed(None, f"应为数字，实际为日期/时间「{raw}」")
    if not isinstance(raw, str):
        return Parsed(None, f"应为数字，实际为「{raw!r}」")
    return _parse_str(raw)


@lru_cache(maxsize=4096)
def _parse_str(raw: str) -> Parsed:
    text = unicodedata.normalize("NFKC", raw).strip()
    if not text:
        return BLANK
    if text.upper() in EXCEL_ERRORS:
        return Parsed(None, f"单元格为错误值 {text.upper()}，应为数字")
    if text.startswith("="):
        return Parsed(None, f"应为数字，实际为未计算的公式文本「{text}」")
    compact = text.replace(" ", "").replace(",", "").replace("，", "")
    percent = False
    if compact.endswith("万元"):
        compact = compact[:-2]
    elif compact.endswith("万") and compact[-2:-1].isdigit():  # "4419.16万" is 4419.16 万元 too
        compact = compact[:-1]
    elif compact.endswith("%"):
        percent, compact = True, compact[:-1]
    elif compact.endswith("元"):
        return Parsed(None, f"金额应以万元为单位填写数字，实际为「{raw}」")
    try:
        value = float(compact)
    except ValueError:
        if compact[-1:] in ("亿", "千", "百") and compact[-2:-1].isdigit():
            return Parsed(None, f"金额应以万元为单位填写数字，实际为「{raw}」")
        if any(ch in _CHINESE_NUMERALS for ch in compact):
            return Parsed(None, f"请用阿拉伯数字填写，实际为中文数字「{raw}」")
        return Parsed(None, f"无法识别为数字：「{raw}」")
    if not math.isfinite(value):
        return Parsed(None, f"应为有限的数字，实际为「{raw}」")
    return Parsed(value / 100 if percent else value)


def failure_text(raw: object) -> str | None:
    """The text of a cell holding a computed failure reason rather than a number (失败说明), else None."""
    if (
        isinstance(raw, str)
        and raw.strip()
        and parse_number(raw).problem
        and raw.strip().upper() not in EXCEL_ERRORS
    ):
        return raw.strip()
    return None


def parse_text(raw: object) -> str:
    """Normalise a text cell (文本): ``None`` → ``""``, numbers without a trailing ``.0``, stripped."""
    if type(raw) is str:
        return raw.strip()
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def fmt_money(value: float | None) -> str:
    """Format an amount in 万元 with two decimals and thousands separators (金额格式)."""
    if value is None:
        return "—"
    return f"{round_half_up(value, 2):,.2f}"


def fmt_amount(value: float | None) -> str:
    """An amount in 万元 as running text prints it (正文金额): two decimals, no thousands separators,
    zero as ``0`` — ``4419.16``, ``0``."""
    if value is None:
        return "—"
    rounded = round_half_up(value, 2)
    return "0" if rounded == 0 else f"{rounded:.2f}"


def fmt_entered(value: float | None) -> str:
    """A number at the precision it was entered (录入精度): ``4.612`` → ``4.612``, ``22731.0`` → ``22731``."""
    if value is None:
        return "—"
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fmt_rate(rate: float | None) -> str:
    """Format a fraction as a percentage with two decimals (百分比格式), ``0.31`` → ``31.00%``."""
    if rate is None:
        return "—"
    return f"{round_half_up(rate * 100, 2):.2f}%"


def fmt_score(score: float | None) -> str:
    """Format a score without superfluous zeros (分值格式): ``2.0`` → ``2``, ``3.75`` → ``3.75``."""
    if score is None:
        return "—"
    text = f"{round_half_up(score, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def more_or_less(gap: float, unit: str = "万元", fmt: Callable[[float], str] = fmt_money) -> str:
    """A difference said by its direction (差额方向): ``13.07`` → ``多 13.07 万元``, ``-2`` → ``少 2 人``."""
    return f"{'多' if gap > 0 else '少'} {fmt(abs(gap))} {unit}"


def money_figure(value: float | None) -> str:
    """An amount as a finding's figure carries it (数据栏金额): ``7.00 万元``."""
    return f"{fmt_money(value)} 万元"


def count_figure(value: float | None, unit: str) -> str:
    """A score or head-count as a finding's figure carries it (数据栏计数): ``94.75 分``, ``46 人``."""
    return f"{fmt_score(value)} {unit}"


def percent_points(rate: float) -> float:
    """A rate as percentage points rounded to two decimals (百分点), the figure rules compare."""
    return round_half_up(rate * 100, 2)


def percent_text(raw: object) -> bool:
    """A cell typed as a percent, ``"12%"`` (百分数文本): never an amount in 万元."""
    return isinstance(raw, str) and raw.strip().endswith(("%", "％"))
