"""Cell addresses (单元格地址): ``"C7"`` ↔ (row, column), column letters, ``"A1:C5"`` ranges.

The one place xlperf turns A1 addresses into numbers and back (the XML patcher, the direct xlsx
writer, the Excel actions, the bureau summary).  Limits are Excel's: 1,048,576 rows, 16,384 columns.
"""

from __future__ import annotations

import functools
import re

__all__ = [
    "MAX_COL",
    "MAX_ROW",
    "column_index",
    "column_letters",
    "parse_address",
    "parse_range",
    "range_boundaries",
]

MAX_ROW = 1_048_576
MAX_COL = 16_384

_ADDRESS = re.compile(r"\$?([A-Za-z]{1,3})\$?([0-9]{1,7})")


@functools.lru_cache(maxsize=4096)
def column_index(letters: str) -> int:
    """``"C"`` -> 3, ``"AA"`` -> 27 (列号); case-insensitive, no range check."""
    index = 0
    for char in letters.upper():
        index = index * 26 + (ord(char) - 64)
    return index


@functools.lru_cache(maxsize=4096)
def column_letters(index: int) -> str:
    """3 -> ``"C"``, 27 -> ``"AA"`` (列字母); kept, as :func:`column_index` is: a sheet uses a few columns."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@functools.lru_cache(maxsize=4096)
def parse_address(address: str) -> tuple[int, int] | None:
    """``"C7"`` -> ``(7, 3)`` (row, column), or None when it is not a valid single-cell address; kept
    for the next call, since a batch writes the same cells in every unit."""
    match = _ADDRESS.fullmatch(address.strip())
    if not match:
        return None
    col, row = column_index(match.group(1)), int(match.group(2))
    if not (1 <= row <= MAX_ROW and 1 <= col <= MAX_COL):
        return None
    return row, col


def parse_range(ref: str) -> tuple[int, int, int, int] | None:
    """``"A1:C5"`` or ``"B2"`` -> ``(row1, col1, row2, col2)``."""
    first, _, last = ref.strip().partition(":")
    start = parse_address(first)
    end = parse_address(last) if last else start
    if start is None or end is None:
        return None
    return min(start[0], end[0]), min(start[1], end[1]), max(start[0], end[0]), max(start[1], end[1])


def range_boundaries(ref: str) -> tuple[int, int, int, int]:
    """``"A1:C5"`` -> ``(min_col, min_row, max_col, max_row)``, openpyxl's order (单元格范围);
    ValueError when ``ref`` is not a cell or a range of cells."""
    bounds = parse_range(ref)
    if bounds is None:
        raise ValueError(f"{ref} is not a cell range")
    return bounds[1], bounds[0], bounds[3], bounds[2]
