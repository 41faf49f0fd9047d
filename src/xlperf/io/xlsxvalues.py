"""Cell values as the XML patcher writes them (单元格值编码): Excel errors, formulas with their cached
value, plain literals, numbers and strings encoded for SpreadsheetML.

A value is checked once here — an unsupported type, NaN, a number out of range or a text over Excel's
32,767-character limit raises ``ValueError``/``TypeError`` naming the sheet and cell — and then written
by :mod:`xlperf.io.xlsxpatch` without further checks.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal as TypingLiteral

from xlperf.io.cellref import parse_address

__all__ = [
    "EXCEL_ERROR_CODES",
    "MAX_STRING_LENGTH",
    "TRUNCATED",
    "CellValue",
    "ExcelError",
    "Formula",
    "Literal",
    "encode_value",
    "excel_string",
    "fit_cell_text",
    "format_number",
    "group_values",
]

#: Error codes every reader in the project understands.  Newer codes (#SPILL!, #CALC!,
#: #GETTING_DATA, ...) are refused: python-calamine 0.9 fails on the whole sheet when it meets one.
EXCEL_ERROR_CODES = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"})

MAX_STRING_LENGTH = 32767  # Excel's limit on a cell's text, in UTF-16 code units


class ExcelError(str):
    """An Excel error value such as ``ExcelError("#DIV/0!")`` (错误值).

    Written with ``t="e"``.  Only the seven classic codes are accepted: ``#NULL!``, ``#DIV/0!``,
    ``#VALUE!``, ``#REF!``, ``#NAME?``, ``#NUM!``, ``#N/A`` (case-insensitive on input).
    """

    __slots__ = ()

    def __new__(cls, code: str) -> ExcelError:
        normalized = str(code).strip().upper()
        if normalized not in EXCEL_ERROR_CODES:
            known = "、".join(sorted(EXCEL_ERROR_CODES))
            raise ValueError(f"不支持的 Excel 错误值 {code!r}（unsupported error code; use one of {known}）")
        return super().__new__(cls, normalized)

    def __repr__(self) -> str:
        return f"ExcelError({str(self)!r})"


@dataclass(frozen=True, slots=True)
class Formula:
    """A formula (text without ``=``) with its computed value, written together (公式及缓存值).

    A cell without a formula, or with a plain formula of different text, gets this formula; a
    cell whose formula is shared or an array formula keeps it (Excel stores a column of
    same-shaped formulas that way) and only its cached value changes.
    """

    text: str
    value: object


@dataclass(frozen=True, slots=True)
class Literal:
    """A plain value that replaces whatever formula the cell had (清除公式后写入的值)."""

    value: object


Kind = TypingLiteral["n", "s", "b", "e", "none"]


@dataclass(slots=True)  # not frozen: a frozen dataclass is slower to create, and one is made per cell
class CellValue:
    """A value encoded for a ``<c>`` (编码后的值): its ``t`` kind, ``<v>`` text, formula and whether it
    replaces a formula."""

    kind: Kind
    text: str | None = None
    formula: str | None = None
    literal: bool = False


NONE = CellValue("none")
EMPTY_RESULT = CellValue("s", "")
RESULT_TYPES = {"s": "str", "b": "b", "e": "e"}  # t= of a formula's cached value
_ILLEGAL_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPE_LOOKALIKE = re.compile("_(x[0-9A-Fa-f]{4}_)")


TRUNCATED = "……（内容过长，已截断）"  # ends a text cut to fit Excel's cell limit


def fit_cell_text(text: str) -> str:
    """``text`` cut to Excel's 32,767-character cell limit (单元格文本上限), counted in UTF-16 units as
    Excel counts, ending with :data:`TRUNCATED` when cut; never splits a surrogate pair."""
    if len(text) <= MAX_STRING_LENGTH // 2 or len(text.encode("utf-16-le")) // 2 <= MAX_STRING_LENGTH:
        return text
    room = MAX_STRING_LENGTH - len(TRUNCATED)
    kept = text.encode("utf-16-le")[: 2 * room].decode("utf-16-le", errors="ignore")
    return kept + TRUNCATED


def excel_string(text: str) -> str:
    """Escape text as an OOXML ``ST_Xstring``: ``_xHHHH_`` for characters XML cannot carry, and
    ``_x005F_`` before a literal ``_xHHHH_`` so that Excel does not decode it."""
    if "_x" in text:  # nearly no text has one: no pattern run for it
        text = _ESCAPE_LOOKALIKE.sub(r"_x005F_\1", text)
    return _ILLEGAL_XML_CHARS.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def format_number(number: float) -> str:
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number).replace("e", "E")


def _number_text(value: object, sheet: str, address: str) -> str:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (OverflowError, ValueError) as exc:
        raise ValueError(
            f"{where(sheet, address)}：数值 {value!r} 超出 Excel 可表示的范围（number out of range）"
        ) from exc
    if not math.isfinite(number):
        raise ValueError(
            f"{where(sheet, address)}：数值 {value!r} 不能写入 Excel（NaN/Inf；请改用 ExcelError）"
        )
    return format_number(number)


def where(sheet: str, address: str) -> str:
    return f"工作表「{sheet}」单元格 {address}"


def encode_value(value: object, sheet: str, address: str) -> CellValue:
    if isinstance(value, Formula):
        kind, text = _encode_plain(value.value, sheet, address)
        return CellValue(kind, text, formula=value.text.removeprefix("="))
    if isinstance(value, Literal):
        kind, text = _encode_plain(value.value, sheet, address)
        return CellValue(kind, text, literal=True)
    if value is None:
        return NONE
    return CellValue(*_encode_plain(value, sheet, address))


def _encode_plain(value: object, sheet: str, address: str) -> tuple[Kind, str | None]:
    """The ``t`` kind and ``<v>`` text of a value that is neither a formula nor a literal."""
    kind = type(value)
    if kind is float or kind is int:  # the common case first: isinstance on ABCs is slow
        return "n", _number_text(value, sheet, address)
    if value is None:
        return "none", None
    if isinstance(value, bool):
        return "b", "1" if value else "0"
    if isinstance(value, ExcelError):
        return "e", str(value)
    if isinstance(value, str):
        if len(value) > MAX_STRING_LENGTH // 2 and len(value.encode("utf-16-le")) // 2 > MAX_STRING_LENGTH:
            raise ValueError(
                f"{where(sheet, address)}：文本超过 Excel 单元格上限 {MAX_STRING_LENGTH} 个字符（string too long）"
            )
        return "s", excel_string(value)
    if isinstance(value, numbers.Real | Decimal):
        return "n", _number_text(value, sheet, address)
    raise TypeError(
        f"{where(sheet, address)}：不支持的值类型 {type(value).__name__}"
        "（expected int, float, str, bool, None or ExcelError）"
    )


def group_values(values: Mapping[tuple[str, str], object]) -> dict[str, dict[tuple[int, int], CellValue]]:
    """``(sheet, "C7")`` → value as ``{sheet: {(row, column): encoded}}`` (按工作表分组); bad keys raise."""
    grouped: dict[str, dict[tuple[int, int], CellValue]] = {}
    for key, value in values.items():
        if not (
            isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], str) and isinstance(key[1], str)
        ):
            raise TypeError(
                f"键必须是 (工作表名, 单元格地址) 元组（key must be (sheet, address)），得到 {key!r}"
            )
        sheet, address = key
        position = parse_address(address)
        if position is None:
            raise ValueError(
                f"{where(sheet, address)}：不是有效的单元格地址（expected an A1 address like 'C7'）"
            )
        cells = grouped.setdefault(sheet, {})
        if position in cells:
            raise ValueError(
                f"{where(sheet, address)}：同一单元格出现了两次（duplicate cell after normalising the address）"
            )
        cells[position] = encode_value(value, sheet, address)
    return grouped
