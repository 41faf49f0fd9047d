"""Read a prepared workbook's inputs (读取工作簿) by defined names and table headers.

Nothing here knows a cell address: fields are found through their defined names, tables through
their display names and column headers.  Damage — a missing sheet, name or column, a broken
reference — is collected as :attr:`Locator.problems` (Chinese) instead of raising, so a build can
still report everything else.  Cells that hold a formula the user typed are read through their
cached value, cells xlperf computes are skipped.  The package itself is decoded by
:mod:`xlperf.workbook.decoder`; where things are is kept in :class:`~xlperf.workbook.locator.Locator`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from ..core.fields import FIELDS, MONEY_KEYS, Field
from ..core.model import ClassRow, GoalRow, IndicatorRow, QuarterRow, Ref, TeamRow, UnitData
from ..io.cellref import column_letters as get_column_letter
from ..io.cellref import range_boundaries
from . import contract as c
from .decoder import Book, guarded, open_book
from .locator import Locator, TablePos

__all__ = [
    "MAX_NAME_PROBLEMS",
    "Locator",
    "TablePos",
    "WorkbookInputs",
    "contract_inputs",
    "count_finding_rows",
    "is_own_formula",
    "place_table",
    "read_book",
    "read_workbook",
]


@dataclass
class WorkbookInputs:
    """A workbook's inputs and where they are (工作簿输入)."""

    data: UnitData
    locator: Locator
    values: dict[tuple[str, str], object]


# 'Sheet'!$B$5 or Sheet!$B$5:$B$8 — one area, the only shape a contract name has.
_ONE_AREA = re.compile(
    r"(?:'((?:[^']|'')+)'|([^\W\d][\w.]*))!(\$?[A-Z]{1,3}\$?[1-9]\d*(?::\$?[A-Z]{1,3}\$?[1-9]\d*)?)"
)


def _destinations(text: str) -> list[tuple[str, str]]:
    """Where a defined name points (名称指向): (sheet, cells) per area, as openpyxl's tokenizer finds them."""
    match = _ONE_AREA.fullmatch(text)
    if match:
        return [(match[1] if match[1] is not None else match[2], match[3])]
    if text and "!" not in text:
        return []  # a constant (the layout version) or a formula with no sheet reference: no destination
    from openpyxl.workbook.defined_name import DefinedName  # unusual text: let openpyxl tokenize it

    return list(DefinedName("name", attr_text=text).destinations)


# --------------------------------------------------------------------------------------------
# Reading the contract
# --------------------------------------------------------------------------------------------


#: Broken defined names listed one by one (逐条列出的失效名称数); the rest are counted in one line.
MAX_NAME_PROBLEMS = 20


def _locate_names(book: Book, loc: Locator) -> None:
    broken: list[str] = []
    for name, text in book.defined_names.items():
        if "#REF!" in text:
            broken.append(f"名称 {name} 指向的单元格已被删除（#REF!），请运行 xlperf upgrade 修复")
            continue
        try:
            destinations = _destinations(text)
        except Exception:  # constants such as the layout version have no destination
            continue
        if len(destinations) == 1:
            sheet, ref = destinations[0]
            if sheet not in book.sheetnames:
                broken.append(f"名称 {name} 指向的工作表「{sheet}」不存在")
                continue
            loc.names[name] = (sheet, ref.replace("$", ""))
    loc.problems.extend((message, None) for message in broken[:MAX_NAME_PROBLEMS])
    if len(broken) > MAX_NAME_PROBLEMS:
        loc.problems.append(
            (
                f"另有 {len(broken) - MAX_NAME_PROBLEMS:,} 个名称指向已删除的单元格或不存在的工作表，未逐一列出",
                None,
            )
        )


def _locate_tables(book: Book, loc: Locator) -> None:
    found = book.tables()
    for spec in c.TABLES:
        if spec.name not in found:
            loc.problems.append(
                (f"缺少表格「{spec.caption}」（{spec.name}），请运行 xlperf upgrade 修复", None)
            )
            continue
        title, ref = found[spec.name]
        sheet = book.sheet(title)
        assert sheet is not None
        place_table(loc, spec, title, ref, sheet.value)


def place_table(
    loc: Locator, spec: c.TableSpec, sheet: str, ref: str, cell: Callable[[int, int], object]
) -> None:
    """Record where a contract table is (表格定位): its columns by header, missing columns, rows left below it.

    ``cell(row, column)`` reads the sheet holding the table (any reader: the file or an open workbook).
    """
    min_col, min_row, max_col, max_row = range_boundaries(ref)
    headers = {}
    for col in range(min_col, max_col + 1):
        value = cell(min_row, col)
        if value is not None:
            headers[str(value).strip()] = get_column_letter(col)
    for column in spec.columns:
        if column.header not in headers:
            loc.problems.append(
                (f"表格「{spec.caption}」缺少列「{column.header}」（工作表「{sheet}」第{min_row}行）", None)
            )
    loc.tables[spec.name] = TablePos(spec, sheet, min_row, min_row + 1, max(max_row, min_row + 1), headers)
    below = [cell(max_row + 1, col) for col in range(min_col, max_col + 1)]
    if spec.name != c.TEAM.name and any(v not in (None, "") for v in below):
        loc.problems.append(
            (
                f"表格「{spec.caption}」下方第{max_row + 1}行还有数据，但不在表格范围内，未被读取；"
                "请在 Excel 中把该行纳入表格（或运行 xlperf upgrade）",
                None,
            )
        )


def count_finding_rows(loc: Locator, cell: Callable[[str, int, int], object]) -> int:
    """How many rows of earlier findings sit under the 校验结果 header (已有校验结果行数)."""
    anchor = loc.names.get(c.FINDINGS_NAME)
    if anchor is None:
        return 0
    col, row = range_boundaries(anchor[1])[:2]
    count = 0
    while cell(anchor[0], row + count + 1, col) not in (None, ""):
        count += 1
    return count


def read_workbook(path: Path) -> WorkbookInputs:
    """Read inputs into :class:`UnitData` with a :class:`Locator` (读取输入); raises only if unreadable."""
    book = open_book(path)
    try:
        return read_book(book)
    finally:
        book.close()


def read_book(book: Book) -> WorkbookInputs:
    """:func:`read_workbook` of a workbook already opened (读取已打开的工作簿), e.g. to patch it next.

    Damage met on the way — a part or cell that cannot be decoded — is an ``UnreadableFileError``
    (:func:`~xlperf.workbook.decoder.guarded`), one guard for the whole read.
    """
    return guarded(book, lambda: _read(book))


def _read(book: Book) -> WorkbookInputs:
    loc = Locator(sheets=list(book.sheetnames))
    for sheet in c.SHEETS:
        if sheet not in book.sheetnames:
            loc.problems.append(
                (f"缺少工作表「{sheet}」（可能被改名或删除），请运行 xlperf upgrade 修复", None)
            )
    _locate_names(book, loc)
    _locate_tables(book, loc)
    _check_version(book, loc)
    loc.finding_rows = count_finding_rows(loc, _sheet_cell(book))
    values: dict[tuple[str, str], object] = {}

    def value(sheet: str, address: str, ref: Ref) -> object:
        found = book.sheet(sheet)
        raw = found.value_at(address) if found is not None else None
        if isinstance(raw, str) and raw.startswith("=") and found is not None and found.formula_at(address):
            loc.formula_cells.add((sheet, address))
            if is_own_formula(raw):
                loc.own_formula_cells.add((sheet, address))
                raw = None
            else:  # a formula the user typed: its saved result
                formula, raw = raw, found.cached_at(address)
                if raw is None:
                    loc.problems.append(
                        (
                            f"单元格 {sheet}!{address} 含公式「{formula}」，但文件中没有保存它的计算结果；"
                            "请在 Excel 或 WPS 中打开、保存后再处理",
                            ref,
                        )
                    )
        elif (
            ref.table is None and _typed_percent(raw, ref) and found is not None and found.percent_at(address)
        ):
            raw = f"{format((Decimal(repr(raw)) * 100).normalize(), 'f')}%"  # "12%" typed into a 万元 cell: as shown
        values[(sheet, address)] = raw
        return raw

    data = contract_inputs(loc, value, lambda f, where: _check_label(book, loc, f, where))
    return WorkbookInputs(data, loc, values)


CellReader = Callable[[str, str, Ref], object]

#: The :class:`Ref` of a place read (读取位置), one shared instance per place: a batch reads the same
#: places in every unit, and a frozen dataclass costs five times the look-up to build.
_place = functools.lru_cache(maxsize=8192)(Ref)


def _typed_percent(raw: object, ref: Ref) -> bool:
    """A number in a 万元 field, which may have been typed as a percent (金额栏中的数字)."""
    return ref.key in MONEY_KEYS and type(raw) in (int, float)


def contract_inputs(
    loc: Locator, value: CellReader, on_field: Callable[[Field, tuple[str, str]], None] | None = None
) -> UnitData:
    """Every field and table row of the contract, read through ``value(sheet, address, ref)`` (约定输入).

    Shared by the file reader and the open-workbook reader (xlwings); ``on_field`` sees each located field.
    """
    fields: dict[str, object] = {}
    for f in FIELDS:
        where = loc.names.get(f.key)
        if where is None:
            if loc.layout_version < c.ADDED_IN_LAYOUT.get(f.key, 0):
                continue  # newer than the workbook: blank, and the layout-version problem says to upgrade
            loc.problems.append((f"缺少名称 {f.key}（{f.label}），请运行 xlperf upgrade 修复", Ref(f.key)))
            continue
        fields[f.key] = value(*where, _place(f.key))
        if on_field is not None:
            on_field(f, where)

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
                    ref = _place(column.header, spec.caption, index)
                    kwargs[column.attr] = value(pos.sheet, address, ref) if address else None
            result.append(cls(**kwargs))
        return tuple(result)

    return UnitData(
        fields=fields,
        classes=rows(c.CLASSES, ClassRow),
        quarters=rows(c.QUARTERS, QuarterRow),
        goals=rows(c.GOALS, GoalRow),
        indicators=rows(c.RUBRIC, IndicatorRow),
        team=rows(c.TEAM, TeamRow),
    )


def _sheet_cell(book: Book) -> Callable[[str, int, int], object]:
    def cell(title: str, row: int, column: int) -> object:
        sheet = book.sheet(title)
        return sheet.value(row, column) if sheet is not None else None

    return cell


def _check_version(book: Book, loc: Locator) -> None:
    """The layout version the workbook was generated with (布局版本) against this xlperf's."""
    text = book.defined_names.get(c.VERSION_NAME, "").strip()
    version = int(text) if text.isdigit() else 0
    loc.layout_version = version
    if version < c.LAYOUT_VERSION:
        loc.outdated = (
            f"工作簿由旧版 xlperf 生成（布局版本 {version}，当前 {c.LAYOUT_VERSION}），新增的填报项按未填写处理；"
            "请运行 xlperf upgrade 升级后补填"
        )
    elif version > c.LAYOUT_VERSION:
        loc.problems.append(
            (
                f"工作簿由更新版本的 xlperf 生成（布局版本 {version}，本程序支持 {c.LAYOUT_VERSION}），"
                "请升级 xlperf 后再处理",
                None,
            )
        )


@functools.lru_cache(maxsize=1024)
def _around(address: str) -> tuple[str | None, str, str]:
    """The cells left of (None in column A), at and right of ``address``'s top-left cell (左右相邻单元格);
    kept, since every unit of a batch has its fields in the same cells."""
    col, row = range_boundaries(address)[:2]
    left = f"{get_column_letter(col - 1)}{row}" if col > 1 else None
    return left, f"{get_column_letter(col)}{row}", f"{get_column_letter(col + 1)}{row}"


def _check_label(book: Book, loc: Locator, f: Field, where: tuple[str, str]) -> None:
    """A field's name must still sit between its label and its unit (名称与标签一致); else the name is stale."""
    sheet = book.sheet(where[0])
    if sheet is None:
        return
    left, at, right = _around(where[1])
    beside = sheet.value_at(left) if left else None
    after = sheet.value_at(right)
    moved = sheet.value_at(at) is None and after not in (None, "", f.unit)  # value pushed right
    if (beside is not None and str(beside).strip() != f.label) or moved:
        found = beside if beside is not None and str(beside).strip() != f.label else after
        loc.problems.append(
            (
                f"名称 {f.key}（{f.label}）指向的单元格 {where[0]}!{where[1]} 旁边是「{found}」："
                "名称已过期（行列被移动），读取的数据可能错位，请运行 xlperf upgrade 修复",
                Ref(f.key),
            )
        )


def is_own_formula(text: str) -> bool:
    """True for a formula xlperf writes into a computed cell (本工具公式)."""
    from ..core.functions import FUNCTIONS

    head = text.lstrip("=").strip().removeprefix("IFERROR(")  # an empty result's guard (cells.py)
    return head.startswith(c.RATE_PREFIX) or head.split("(", 1)[0].upper() in FUNCTIONS
