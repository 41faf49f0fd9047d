"""Where contract items are in one workbook (位置表): defined names and tables as sheet and cell.

:class:`Locator` is what reading a workbook finds besides the values — every field's cell, every
table's header row and columns, the problems met — and what writing back, the checks' cell references
and the Excel layer use to find a cell again.  Nothing here reads a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core.model import Ref
from . import contract as c

__all__ = ["Locator", "TablePos"]


@dataclass
class TablePos:
    """Where a contract table is (表格位置): sheet, header row, data rows and column letters by header."""

    spec: c.TableSpec
    sheet: str
    header_row: int
    first_row: int
    last_row: int
    columns: dict[str, str]

    def cell(self, header: str, index: int) -> str | None:
        """The A1 address of ``header`` in data row ``index`` (0-based), or None if the column is missing."""
        letter = self.columns.get(header)
        return f"{letter}{self.first_row + index}" if letter else None

    @property
    def rows(self) -> int:
        """Number of data rows (数据行数)."""
        return self.last_row - self.first_row + 1


@dataclass
class Locator:
    """Where every contract item lives in one workbook (位置表)."""

    names: dict[str, tuple[str, str]] = field(default_factory=dict)
    tables: dict[str, TablePos] = field(default_factory=dict)
    problems: list[tuple[str, Ref | None]] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    formula_cells: set[tuple[str, str]] = field(default_factory=set)
    own_formula_cells: set[tuple[str, str]] = field(default_factory=set)
    finding_rows: int = 0
    layout_version: int = c.LAYOUT_VERSION
    outdated: str = ""  # an older layout's notice: its newer names read as blank until upgraded

    def locate(self, ref: Ref) -> tuple[str, str] | None:
        """The (sheet, cell) a core :class:`Ref` points at (定位), or None."""
        if ref.table is None:
            return self.names.get(ref.key)
        spec = c.TABLE_BY_CAPTION.get(ref.table)
        pos = self.tables.get(spec.name) if spec else None
        if pos is None or ref.row is None:
            return None
        address = pos.cell(ref.key, ref.row)
        return (pos.sheet, address) if address else None

    def describe(self, ref: Ref) -> str:
        """``工作表!单元格`` for messages (位置描述)."""
        found = self.locate(ref)
        return f"{found[0]}!{found[1]}" if found else ""
