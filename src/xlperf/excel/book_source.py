"""Read the inputs of an open workbook through xlwings (读取打开的工作簿): the same contract as a file.

:func:`read_book` is :func:`xlperf.workbook.read.read_workbook` for an ``xw.Book`` — desktop Excel
(COM), xlwings Server's Office.js payload, or the calamine reader — and returns the same
:class:`~xlperf.workbook.read.WorkbookInputs`: fields through their defined names (``book.names``),
tables through ``sheet.tables`` or, for an engine without tables, by finding the header row, and
the damage it finds as Chinese :attr:`Locator.problems`.

Cells holding xlperf's own formulas are read as blank, as in a file.  Desktop Excel reports
formulas; Office.js and calamine report values only, so there the cells xlperf owns are told
apart by the contract instead: a parent row's 自评得分 and a leaf's 实际值 drawn from a rate or
from the 绩效目标 table.  (A number typed over such a formula is therefore read as blank there
too; the next 重新计算 restores the formula either way.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from openpyxl.utils import get_column_letter, range_boundaries

from ..core.evaluate import actual_kind
from ..core.model import IndicatorRow, Ref
from ..core.rubric import table_shape
from ..workbook import contract as c
from ..workbook.read import (
    Locator,
    TablePos,
    WorkbookInputs,
    contract_inputs,
    count_finding_rows,
    is_own_formula,
    place_table,
)

_REFERENCE = re.compile(
    r"=?(?:'(?P<quoted>(?:[^']|'')+)'|(?P<plain>[^'!\[\]():,=+*/^&<>\"%{}-]+))!"
    r"(?P<address>\$?[A-Za-z]{1,3}\$?\d+(?::\$?[A-Za-z]{1,3}\$?\d+)?)"
)


def parse_reference(refers_to: str) -> tuple[str, str] | None:
    """``(sheet, "B4:B7")`` for a name's single-area reference such as ``='预算收支'!$B$4:$B$7`` (解析引用)."""
    match = _REFERENCE.fullmatch(refers_to.strip())
    if match is None:
        return None
    sheet = match["quoted"].replace("''", "'") if match["quoted"] else match["plain"]
    return sheet, match["address"].replace("$", "").upper()


@dataclass
class _Sheet:
    """One sheet's cells from A1 to its last used cell: values, and formulas where the engine has them."""

    values: list[list[object]]
    formulas: list[list[str]] | None

    def value(self, row: int, col: int) -> object:
        if 0 < row <= len(self.values) and 0 < col <= len(self.values[row - 1]):
            return self.values[row - 1][col - 1]
        return None

    def formula(self, row: int, col: int) -> str | None:
        if self.formulas and 0 < row <= len(self.formulas) and 0 < col <= len(self.formulas[row - 1]):
            text = self.formulas[row - 1][col - 1]
            return text if isinstance(text, str) and text.startswith("=") else None
        return None


def _grid(data: Any, width: int) -> list[list[Any]]:
    if not isinstance(data, list | tuple):
        return [[data]]
    rows = [list(row) if isinstance(row, list | tuple) else [row] for row in data]
    return [row + [None] * (width - len(row)) for row in rows]


@dataclass
class _Cells:
    """Lazy per-sheet reads of an ``xw.Book`` (按需读取工作表)."""

    book: Any
    sheets: dict[str, _Sheet] = field(default_factory=dict)
    formulas_known: bool = True

    def sheet(self, name: str) -> _Sheet:
        if name not in self.sheets:
            sheet = self.book.sheets[name]
            last = sheet.used_range.last_cell
            rows, cols = max(last.row, 1), max(last.column, 1)
            block = sheet.range((1, 1), (rows, cols))
            values = _grid(block.options(ndim=2, err_to_str=True).value, cols)
            formulas = None
            if self.formulas_known:
                try:
                    formulas = _grid(block.formula, cols)
                except (NotImplementedError, AttributeError):
                    self.formulas_known = False  # Office.js and calamine send values only
            self.sheets[name] = _Sheet(values, formulas)
        return self.sheets[name]


def _locate_names(book: Any, loc: Locator) -> None:
    for item in book.names:
        name = item.name
        if "!" in name:  # sheet-scoped; the contract's names are workbook-wide
            continue
        text = item.refers_to or ""
        if "#REF!" in text:
            loc.problems.append(
                (f"名称 {name} 指向的单元格已被删除（#REF!），请运行 xlperf upgrade 修复", None)
            )
            continue
        parsed = parse_reference(text)
        if parsed is None:  # a constant such as the layout version, or several areas
            continue
        sheet, address = parsed
        if sheet not in loc.sheets:
            loc.problems.append((f"名称 {name} 指向的工作表「{sheet}」不存在", None))
            continue
        loc.names[name] = (sheet, address)


def _book_tables(book: Any) -> dict[str, tuple[str, str]] | None:
    """Table name → (sheet, range) through the engine's tables, or None if it has no tables API."""
    found: dict[str, tuple[str, str]] = {}
    try:
        for sheet in book.sheets:
            for table in sheet.tables:
                found[table.name] = (sheet.name, table.range.address.replace("$", ""))
    except (NotImplementedError, AttributeError):
        return None
    return found


def _find_header_row(spec: c.TableSpec, cells: _Cells, loc: Locator) -> tuple[str, str] | None:
    """Search the spec's sheet for the row holding all its headers side by side (按表头查找表格).

    The table ends where a named column range of it ends (``rubric_codes``…), otherwise at the
    last row with a value in any of its columns.
    """
    if spec.sheet not in loc.sheets:
        return None
    named_ends = [
        range_boundaries(loc.names[name][1])[3]
        for name, (table, _header) in c.COLUMN_NAMES.items()
        if table is spec and name in loc.names and loc.names[name][0] == spec.sheet
    ]
    grid = cells.sheet(spec.sheet)
    wanted = [column.header for column in spec.columns]
    for row_index, row in enumerate(grid.values, 1):
        texts = [str(v).strip() if v is not None else "" for v in row]
        for start in range(len(texts) - len(wanted) + 1):
            if texts[start : start + len(wanted)] == wanted:
                first, last_col = start + 1, start + len(wanted)
                last_row = row_index
                while any(
                    grid.value(last_row + 1, col) not in (None, "") for col in range(first, last_col + 1)
                ):
                    last_row += 1
                last_row = max([last_row, *named_ends])
                return spec.sheet, (
                    f"{get_column_letter(first)}{row_index}:{get_column_letter(last_col)}{last_row}"
                )
    return None


def _locate_tables(book: Any, loc: Locator, cells: _Cells) -> None:
    found = _book_tables(book)
    for spec in c.TABLES:
        where = found.get(spec.name) if found is not None else _find_header_row(spec, cells, loc)
        if where is None:
            loc.problems.append(
                (f"缺少表格「{spec.caption}」（{spec.name}），请运行 xlperf upgrade 修复", None)
            )
            continue
        sheet, ref = where
        place_table(loc, spec, sheet, ref, cells.sheet(sheet).value)


def _owned_rubric_cells(pos: TablePos, rows: tuple[IndicatorRow, ...]) -> set[tuple[str, str]]:
    """The input-column cells of the rubric that hold xlperf's formulas (本工具公式所在单元格)."""
    owned = set()
    for index, _code, leaf in table_shape(rows):
        if not leaf:
            address = pos.cell("自评得分", index)
        elif actual_kind(rows[index]) in ("metric", "goals"):
            address = pos.cell("实际值", index)
        else:
            continue
        if address:
            owned.add((pos.sheet, address))
    return owned


def read_book(book: Any) -> WorkbookInputs:
    """Read an open workbook's inputs into :class:`UnitData` with a :class:`Locator` (读取输入).

    *book* is an ``xw.Book`` of any engine; nothing is written.  Equal to
    :func:`~xlperf.workbook.read.read_workbook` of the same file.
    """
    loc = Locator(sheets=[sheet.name for sheet in book.sheets])
    for sheet in c.SHEETS:
        if sheet not in loc.sheets:
            loc.problems.append(
                (f"缺少工作表「{sheet}」（可能被改名或删除），请运行 xlperf upgrade 修复", None)
            )
    cells = _Cells(book)
    _locate_names(book, loc)
    _locate_tables(book, loc, cells)
    loc.finding_rows = count_finding_rows(loc, lambda sheet, row, col: cells.sheet(sheet).value(row, col))
    values: dict[tuple[str, str], object] = {}

    def value(sheet: str, address: str, ref: Ref | None = None) -> object:
        col, row = range_boundaries(address)[:2]
        grid = cells.sheet(sheet)
        raw = grid.value(row, col)
        formula = grid.formula(row, col)
        if formula is not None:
            loc.formula_cells.add((sheet, address))
            if is_own_formula(formula):
                loc.own_formula_cells.add((sheet, address))
                raw = None
        values[(sheet, address)] = raw
        return raw

    data = contract_inputs(loc, value)
    rubric = loc.tables.get(c.RUBRIC.name)
    if not cells.formulas_known and rubric is not None:
        data = replace(data, indicators=_blank_owned(rubric, data.indicators, loc, values))
    return WorkbookInputs(data, loc, values)


def _blank_owned(
    pos: TablePos, rows: tuple[IndicatorRow, ...], loc: Locator, values: dict[tuple[str, str], object]
) -> tuple[IndicatorRow, ...]:
    """Values-only engines: blank the rubric cells whose content xlperf computes (清空计算单元格)."""
    owned = _owned_rubric_cells(pos, rows)
    loc.formula_cells |= owned
    loc.own_formula_cells |= owned
    result = []
    for index, row in enumerate(rows):
        changes: dict[str, object] = {}
        for header, attr in (("实际值", "actual"), ("自评得分", "self_score")):
            address = pos.cell(header, index)
            if address and (pos.sheet, address) in owned:
                changes[attr] = None
                values[(pos.sheet, address)] = None
        result.append(IndicatorRow(**{**_fields(row), **changes}) if changes else row)
    return tuple(result)


def _fields(row: IndicatorRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in IndicatorRow.__slots__}
