"""Read a prepared workbook's inputs (读取工作簿) by defined names and table headers.

Nothing here knows a cell address: fields are found through their defined names, tables through
their display names and column headers.  Damage — a missing sheet, name or column, a broken
reference — is collected as :attr:`Locator.problems` (Chinese) instead of raising, so a build can
still report everything else.  Cells that hold a formula the user typed are read through their
cached value (python-calamine), cells xlperf computes are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook

from ..core.fields import FIELDS
from ..core.model import ClassRow, GoalRow, IndicatorRow, QuarterRow, Ref, TeamRow, UnitData
from ..errors import UnreadableFileError
from . import contract as c


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


@dataclass
class WorkbookInputs:
    """A workbook's inputs and where they are (工作簿输入)."""

    data: UnitData
    locator: Locator
    values: dict[tuple[str, str], object]


def _open(path: Path) -> Workbook:
    try:
        return load_workbook(path, data_only=False, keep_links=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise UnreadableFileError(
            f"无法作为 Excel 工作簿打开（{type(exc).__name__}: {exc}）", path=str(path)
        ) from None


def _locate_names(wb: Workbook, loc: Locator) -> None:
    for name, defined in wb.defined_names.items():
        text = defined.attr_text or ""
        if "#REF!" in text:
            loc.problems.append(
                (f"名称 {name} 指向的单元格已被删除（#REF!），请运行 xlperf upgrade 修复", None)
            )
            continue
        try:
            destinations = list(defined.destinations)
        except Exception:  # constants such as the layout version have no destination
            continue
        if len(destinations) == 1:
            sheet, ref = destinations[0]
            if sheet not in wb.sheetnames:
                loc.problems.append((f"名称 {name} 指向的工作表「{sheet}」不存在", None))
                continue
            loc.names[name] = (sheet, ref.replace("$", ""))


def _locate_tables(wb: Workbook, loc: Locator) -> None:
    found = {}
    for ws in wb.worksheets:
        for table in ws.tables.values():
            found[table.displayName] = (ws, table.ref)
    for spec in c.TABLES:
        if spec.name not in found:
            loc.problems.append(
                (f"缺少表格「{spec.caption}」（{spec.name}），请运行 xlperf upgrade 修复", None)
            )
            continue
        ws, ref = found[spec.name]
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        headers = {}
        for col in range(min_col, max_col + 1):
            value = ws.cell(min_row, col).value
            if value is not None:
                headers[str(value).strip()] = get_column_letter(col)
        for column in spec.columns:
            if column.header not in headers:
                loc.problems.append(
                    (
                        f"表格「{spec.caption}」缺少列「{column.header}」（工作表「{ws.title}」第{min_row}行）",
                        None,
                    )
                )
        loc.tables[spec.name] = TablePos(
            spec, ws.title, min_row, min_row + 1, max(max_row, min_row + 1), headers
        )


def read_workbook(path: Path) -> WorkbookInputs:
    """Read inputs into :class:`UnitData` with a :class:`Locator` (读取输入); raises only if unreadable."""
    wb = _open(path)
    loc = Locator(sheets=list(wb.sheetnames))
    for sheet in c.SHEETS:
        if sheet not in wb.sheetnames:
            loc.problems.append(
                (f"缺少工作表「{sheet}」（可能被改名或删除），请运行 xlperf upgrade 修复", None)
            )
    _locate_names(wb, loc)
    _locate_tables(wb, loc)
    loc.finding_rows = _count_finding_rows(wb, loc)
    values: dict[tuple[str, str], object] = {}
    cached = _CachedValues(path)

    def value(sheet: str, address: str) -> object:
        raw = wb[sheet][address].value
        if not isinstance(raw, str | int | float | bool) and raw is not None and hasattr(raw, "text"):
            raw = str(raw.text)  # array formula or rich text
        if isinstance(raw, str) and raw.startswith("="):
            loc.formula_cells.add((sheet, address))
            if is_own_formula(raw):
                loc.own_formula_cells.add((sheet, address))
                raw = None
            else:
                raw = cached.get(sheet, address)
        values[(sheet, address)] = raw
        return raw

    fields: dict[str, object] = {}
    for f in FIELDS:
        where = loc.names.get(f.key)
        if where is None:
            loc.problems.append((f"缺少名称 {f.key}（{f.label}），请运行 xlperf upgrade 修复", Ref(f.key)))
            continue
        fields[f.key] = value(*where)

    def rows(spec: c.TableSpec, cls: type) -> tuple:
        pos = loc.tables.get(spec.name)
        if pos is None:
            return ()
        result = []
        for index in range(pos.rows):
            kwargs = {}
            for column in spec.columns:
                if column.attr:
                    address = pos.cell(column.header, index)
                    kwargs[column.attr] = value(pos.sheet, address) if address else None
            result.append(cls(**kwargs))
        return tuple(result)

    data = UnitData(
        fields=fields,
        classes=rows(c.CLASSES, ClassRow),
        quarters=rows(c.QUARTERS, QuarterRow),
        goals=rows(c.GOALS, GoalRow),
        indicators=rows(c.RUBRIC, IndicatorRow),
        team=rows(c.TEAM, TeamRow),
    )
    return WorkbookInputs(data, loc, values)


def _count_finding_rows(wb: Workbook, loc: Locator) -> int:
    anchor = loc.names.get(c.FINDINGS_NAME)
    if anchor is None:
        return 0
    ws = wb[anchor[0]]
    col, row = range_boundaries(anchor[1])[:2]
    count = 0
    while ws.cell(row + count + 1, col).value not in (None, ""):
        count += 1
    return count


def is_own_formula(text: str) -> bool:
    """True for a formula xlperf writes into a computed cell (本工具公式)."""
    from ..core.functions import FUNCTIONS

    head = text.lstrip("=").strip()
    return head.startswith(c.RATE_PREFIX) or head.split("(", 1)[0].upper() in FUNCTIONS


class _CachedValues:
    """Cached results of formulas a user typed into input cells, read lazily with python-calamine (缓存值)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sheets: dict[str, list[list[object]]] = {}

    def get(self, sheet: str, address: str) -> object:
        if sheet not in self.sheets:
            from python_calamine import CalamineWorkbook

            try:
                self.sheets[sheet] = (
                    CalamineWorkbook.from_path(str(self.path))
                    .get_sheet_by_name(sheet)
                    .to_python(skip_empty_area=False)
                )
            except Exception:
                self.sheets[sheet] = []
        col, row = range_boundaries(address)[:2]
        grid = self.sheets[sheet]
        if row - 1 < len(grid) and col - 1 < len(grid[row - 1]):
            found = grid[row - 1][col - 1]
            return None if found == "" else found
        return None
