"""Read a prepared workbook's inputs (读取工作簿) by defined names and table headers.

Nothing here knows a cell address: fields are found through their defined names, tables through
their display names and column headers.  Damage — a missing sheet, name or column, a broken
reference — is collected as :attr:`Locator.problems` (Chinese) instead of raising, so a build can
still report everything else.  Cells that hold a formula the user typed are read through their
cached value (python-calamine), cells xlperf computes are skipped.

The package is read directly (zipfile + the safe lxml parser), not through ``openpyxl.load_workbook``:
only ``workbook.xml``, the relationships, the styles' number formats, the shared strings, the table
parts and the worksheets that hold named cells are parsed, and only the cells asked for are decoded.
Worksheets are streamed row by row and only their filled cells kept, so memory follows the data, not
the file (every part was already checked against ``io.safety.PART_LIMITS``).
Each cell decodes to exactly what openpyxl's ``load_workbook`` (formulas, not cached values) gives —
ints and floats as written, dates through the cell's number format, ``"=…"`` for formulas — so the
results equal those of the openpyxl reader this replaced, about ten times faster.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TypeVar

from lxml import etree
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.cell import column_index_from_string
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel, from_ISO8601

from ..core.fields import FIELDS, MONEY_KEYS, Field
from ..core.model import ClassRow, GoalRow, IndicatorRow, QuarterRow, Ref, TeamRow, UnitData
from ..errors import UnreadableFileError, XlperfError
from ..io import opc
from ..io.safety import MAX_MERGED_CELLS, part_limit
from ..io.safexml import iter_xml, parse_xml
from . import contract as c

T = TypeVar("T")


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


@dataclass
class WorkbookInputs:
    """A workbook's inputs and where they are (工作簿输入)."""

    data: UnitData
    locator: Locator
    values: dict[tuple[str, str], object]


# --------------------------------------------------------------------------------------------
# The package: parts, relationships, styles, shared strings
# --------------------------------------------------------------------------------------------

_MAIN, _REL = opc.MAIN_NS, opc.REL_NS
_WORKBOOK_TYPES = (  # .xltm, .xltx, .xlsm, .xlsx: the first one present is the workbook part
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
_SHARED_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
_TABLE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/table"
_ROW, _C, _F, _V, _IS = (f"{{{_MAIN}}}{tag}" for tag in ("row", "c", "f", "v", "is"))
_MERGE, _TABLE_PART, _T = f"{{{_MAIN}}}mergeCell", f"{{{_MAIN}}}tablePart", f"{{{_MAIN}}}t"
# Global names openpyxl files under the sheets, not the workbook.
_SHEET_SCOPED = ("_xlnm.Print_Titles", "_xlnm.Print_Area", "_xlnm._FilterDatabase")
_COORD = re.compile(r"([A-Za-z]{1,3})(\d+)")
_CANONICAL = re.compile(r"[A-Z]{1,3}[1-9][0-9]*")  # an A1 address as Excel writes it
# 'Sheet'!$B$5 or Sheet!$B$5:$B$8 — one area, the only shape a contract name has.
_ONE_AREA = re.compile(
    r"(?:'((?:[^']|'')+)'|([^\W\d][\w.]*))!(\$?[A-Z]{1,3}\$?[1-9]\d*(?::\$?[A-Z]{1,3}\$?[1-9]\d*)?)"
)


class _Damaged(Exception):
    """Internal: the package is not a readable workbook; carries the technical reason."""


def _localname(element: etree._Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _text_content(element: etree._Element) -> str:
    """Plain text of a ``<si>``/``<is>`` element: its ``<t>`` plus every run's ``<t>``, phonetics left out."""
    if len(element) == 1 and element[0].tag == _T:  # what nearly every cell holds: one <t>
        return element[0].text or ""
    plain: str | None = None
    runs: list[str] = []
    for child in element:
        name = _localname(child)
        if name == "t":
            plain = child.text
        elif name == "r":
            text = None
            for part in child:
                if _localname(part) == "t":
                    text = part.text
            if text is not None:
                runs.append(text)
    return (plain or "") + "".join(runs)


def _cast_number(text: str) -> int | float:
    return float(text) if "." in text or "E" in text or "e" in text else int(text)


class _Package:
    """The parts of an .xlsx that reading inputs needs (工作簿部件), parsed on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.package = opc.Package(path.read_bytes(), path=str(path))
        except UnreadableFileError as exc:
            raise _Damaged(exc.message) from None
        types = self.xml(opc.CONTENT_TYPES)
        overrides = opc.parts_of_type(types)
        workbook_part = next((overrides[t] for t in _WORKBOOK_TYPES if t in overrides), None)
        if workbook_part is None:
            defaults = {d.get("ContentType") for d in types.iter(f"{{{opc.CT_NS}}}Default")}
            if not defaults & set(_WORKBOOK_TYPES):
                raise _Damaged("找不到工作簿主体部件（workbook.xml）")
            workbook_part = "xl/workbook.xml"
        self.workbook_part = workbook_part
        self.strings_part = overrides.get(_SHARED_STRINGS_TYPE) or None
        self._strings: list[str] | None = None
        self.date_styles, self.timedelta_styles = self._number_styles()
        self._percent_styles: set[int] | None = None

    def has(self, part: str) -> bool:
        """Whether the package holds ``part``."""
        return self.package.find(part) is not None

    def read(self, part: str) -> bytes:
        """The bytes of ``part``; over its size limit it is damage (inspect_workbook_file refused it first)."""
        info = self.package.find(part)
        if info is None:
            raise _Damaged(f"缺少部件 {part}")
        limit = part_limit(part)
        if limit is not None and info.file_size > limit.max_bytes:
            raise _Damaged(f"部件 {part} 过大")
        return self.package.read(info)

    def xml(self, part: str) -> etree._Element:
        return parse_xml(self.read(part), path=str(self.path), part=part)

    def relationships(self, part: str) -> dict[str, opc.Relationship]:
        """Id → relationship of ``part``'s internal relationships; empty when it has none."""
        rels_part = opc.rels_part(part)
        data = self.read(rels_part) if self.has(rels_part) else None
        return {
            rel_id: rel
            for rel_id, rel in opc.relationships(data, part, path=str(self.path)).items()
            if not rel.external
        }

    def _number_styles(self) -> tuple[set[int], set[int]]:
        """Indices of the cell styles whose number format shows a date / a duration (日期格式)."""
        if not self.has("xl/styles.xml"):
            return set(), set()
        root = self.xml("xl/styles.xml")
        custom = {
            int(fmt.get("numFmtId", "-1")): fmt.get("formatCode") for fmt in root.iter(f"{{{_MAIN}}}numFmt")
        }
        xfs = root.find(f"{{{_MAIN}}}cellXfs")
        dates, durations = set(), set()
        for index, xf in enumerate(xfs.iter(f"{{{_MAIN}}}xf") if xfs is not None else ()):
            number = int(xf.get("numFmtId", "0"))
            code = custom[number] if number in custom else BUILTIN_FORMATS.get(number)
            if is_date_format(code):
                dates.add(index)
            if is_timedelta_format(code):
                durations.add(index)
        return dates, durations

    def percent_styles(self) -> set[int]:
        """Indices of the cell styles whose number format shows a percent (百分比格式), parsed on first use."""
        if self._percent_styles is None:
            self._percent_styles = set()
            if self.has("xl/styles.xml"):
                root = self.xml("xl/styles.xml")
                custom = {
                    int(f.get("numFmtId", "-1")): f.get("formatCode") or ""
                    for f in root.iter(f"{{{_MAIN}}}numFmt")
                }
                xfs = root.find(f"{{{_MAIN}}}cellXfs")
                for index, xf in enumerate(xfs.iter(f"{{{_MAIN}}}xf") if xfs is not None else ()):
                    number = int(xf.get("numFmtId", "0"))
                    code = custom[number] if number in custom else BUILTIN_FORMATS.get(number) or ""
                    if "%" in code:
                        self._percent_styles.add(index)
        return self._percent_styles

    def shared_string(self, index: int) -> str:
        if self._strings is None:
            self._strings = []
            if self.strings_part is not None:
                root = self.xml(self.strings_part)
                self._strings = [
                    _text_content(si).replace("x005F_", "") for si in root.iter(f"{{{_MAIN}}}si")
                ]
        return self._strings[index]


# --------------------------------------------------------------------------------------------
# Worksheets: cells decoded as openpyxl does
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)  # not frozen: a frozen dataclass is five times slower to create
class _Cell:
    """What reading needs of one ``<c>`` (单元格记录), kept instead of the XML tree: the first ``<f>``,
    ``<v>`` and ``<is>`` as find() would give them, and the shared formula it belongs to."""

    r: str | None
    kind: str
    style: str | None
    value: str | None
    formula: str | None  # the text of <f>, "" when it has none; None without <f>
    inline: str | None  # the text of <is>, None without it
    shared: tuple[str, str | None] | None  # (master formula, master address) for a shared-formula cell


def _cell_record(cell: etree._Element, masters: dict[str | None, tuple[str, str | None]]) -> _Cell:
    formula = value = inline = None
    for child in cell:  # the first <f>, <v> and <is>, as find() would give, without its cost
        tag = child.tag
        if tag == _F:
            formula = child if formula is None else formula
        elif tag == _V:
            value = child if value is None else value
        elif tag == _IS:
            inline = child if inline is None else inline
    shared = None
    # Shared formulas: the first cell of a group holds the text, the others refer to it (共享公式).
    if formula is not None and formula.get("t") == "shared" and cell.tag == _C:
        key = formula.get("si")
        if key in masters:
            shared = masters[key]
        elif formula.text:
            masters[key] = ("=" + formula.text, cell.get("r"))
    return _Cell(
        cell.get("r"),
        cell.get("t", "n"),
        cell.get("s"),
        value.text if value is not None else None,
        (formula.text or "") if formula is not None else None,
        _text_content(inline) if inline is not None else None,
        shared,
    )


class _Sheet:
    """One worksheet's cells by address, decoded on request (工作表单元格).

    The sheet is streamed row by row (:func:`~xlperf.io.safexml.iter_xml`): each cell that holds
    anything is kept as a small :class:`_Cell` and the XML is dropped at once, so empty rows cost
    nothing and memory grows with the filled cells only, never with the size of the tree.
    """

    def __init__(self, book: _Book, title: str, part: str) -> None:
        self.book, self.title = book, title
        package = book.package
        self.cells: dict[str, _Cell] = {}
        self.table_ids: list[str] = []
        merges: list[str] = []
        masters: dict[str | None, tuple[str, str | None]] = {}
        row_number = 0
        elements = iter_xml(
            package.read(part), (_ROW, _MERGE, _TABLE_PART), path=str(package.path), part=part
        )
        for element in elements:
            if element.tag == _MERGE:
                merges.append(element.get("ref", ""))
            elif element.tag == _TABLE_PART:
                self.table_ids.append(element.get(f"{{{_REL}}}id", ""))
            else:
                row_number = self._read_row(element, row_number, masters)
        # Merged cells: every covered cell reads the value of the range's top-left cell (合并单元格),
        # as a user sees it — e.g. one 绩效目标 merged over the indicators under it.
        self.merged: dict[str, str] = {}
        covered = 0
        for ref in merges:
            try:
                min_col, min_row, max_col, max_row = range_boundaries(ref)
            except (TypeError, ValueError):
                continue
            area = (max_col - min_col + 1) * (max_row - min_row + 1)
            if area > 10_000:
                continue  # a whole-column merge: nothing a table row would read
            covered += area
            if covered > MAX_MERGED_CELLS:
                raise UnreadableFileError(
                    f"合并单元格覆盖的单元格超过 {MAX_MERGED_CELLS:,} 个，远超绩效自评工作簿所需；"
                    "文件可能已损坏或是恶意构造的，请取消不需要的合并单元格后再处理",
                    path=str(package.path),
                    sheet=title,
                )
            anchor = f"{get_column_letter(min_col)}{min_row}"
            for row in range(min_row, max_row + 1):
                for col in range(min_col, max_col + 1):
                    self.merged.setdefault(f"{get_column_letter(col)}{row}", anchor)

    def _read_row(
        self, row: etree._Element, row_number: int, masters: dict[str | None, tuple[str, str | None]]
    ) -> int:
        """Keep the cells of one ``<row>``, addressed as openpyxl counts them; returns the row's number.

        A cell's own ``r`` (what Excel writes) is its address; a row or cell without one follows the
        previous, and an oddly spelt address (``a01``) is normalised.
        """
        r = row.get("r")
        if r is None:
            row_number += 1
        else:
            try:
                row_number = int(r)
            except ValueError:
                number = float(r)
                if not number.is_integer():
                    raise _Damaged(f"工作表「{self.title}」的行号 {r} 无效") from None
                row_number = int(number)
        column = 0
        previous: str | None = None  # an address whose column is not computed yet
        for cell in row:
            tag = cell.tag
            if tag != _C and (not isinstance(tag, str) or tag.endswith("}extLst")):
                continue  # comments, processing instructions and extensions are not cells
            coordinate = cell.get("r")
            if coordinate and _CANONICAL.fullmatch(coordinate):
                address, previous = coordinate, coordinate
            elif coordinate:
                match = _COORD.fullmatch(coordinate)
                if match is None:
                    raise _Damaged(f"工作表「{self.title}」的单元格地址 {coordinate} 无效")
                column, previous = column_index_from_string(match[1]), None
                address = f"{get_column_letter(column)}{int(match[2])}"
            else:
                if previous is not None:
                    column, previous = column_index_from_string(_COORD.fullmatch(previous)[1]), None  # type: ignore[index]
                column += 1
                address = f"{get_column_letter(column)}{row_number}"
            if len(cell):
                self.cells[address] = _cell_record(cell, masters)
            else:  # an empty <c/> reads as None: nothing to keep, but it replaces an earlier one
                self.cells.pop(address, None)
        return row_number

    def value(self, row: int, column: int) -> object:
        """The cell's value as openpyxl's ``load_workbook`` gives it: ``"=…"`` for a formula (单元格值)."""
        return self.value_at(f"{get_column_letter(column)}{row}")

    def value_at(self, address: str) -> object:
        """The value of the top-left cell of ``address`` (``A1`` or ``A1:B2``)."""
        key = address.split(":", 1)[0]
        key = self.merged.get(key, key)
        cell = self.cells.get(key)
        if cell is None and not _CANONICAL.fullmatch(key):
            col, row = range_boundaries(address)[:2]
            key = f"{get_column_letter(col)}{row}"
            cell = self.cells.get(key)
        if cell is None:
            return None
        try:
            return self._decode(cell)
        except (IndexError, ValueError, OverflowError, TypeError) as exc:
            raise UnreadableFileError(
                f"单元格内容已损坏，无法读取（{type(exc).__name__}: {exc}）",
                path=str(self.book.package.path),
                sheet=self.title,
                cell=key,
            ) from None

    def percent_at(self, address: str) -> bool:
        """Whether the number in ``address`` is shown as a percent (以百分比显示), i.e. typed as ``12%``."""
        cell = self.cells.get(self.merged.get(address, address))
        style = cell.style if cell is not None else None
        return bool(style) and int(style or 0) in self.book.package.percent_styles()

    def cached_at(self, address: str) -> object:
        """The saved result of the formula in ``address`` (公式缓存值), None when there is none."""
        cell = self.cells.get(address)
        return self._decode(cell, cached=True) if cell is not None else None

    def _decode(self, cell: _Cell, *, cached: bool = False) -> object:
        if cell.formula is not None and not cached:
            if cell.shared is not None:
                from openpyxl.formula.translate import Translator

                text, origin = cell.shared
                return Translator(text, origin).translate_formula(cell.r)
            return "=" + cell.formula
        kind = cell.kind
        if kind == "inlineStr":
            return cell.inline
        text = cell.value
        if not text:
            return None
        if kind == "n":
            number = _cast_number(text)
            style = cell.style
            style_id = 0 if style is None else int(style) if style else -1
            package = self.book.package
            if style_id in package.date_styles:
                try:
                    return from_excel(number, self.book.epoch, timedelta=style_id in package.timedelta_styles)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if kind == "s":
            return self.book.package.shared_string(int(text))
        if kind == "b":
            return bool(int(text))
        if kind == "d":
            return from_ISO8601(text)
        return text  # "str" (a formula's text result), "e" (an error code)


class _Book:
    """The sheets of a workbook in tab order, worksheets parsed on first use (工作簿)."""

    def __init__(self, path: Path) -> None:
        self.package = package = _Package(path)
        root = package.xml(package.workbook_part)
        properties = root.find(f"{{{_MAIN}}}workbookPr")
        date1904 = properties.get("date1904") if properties is not None else None
        self.epoch = CALENDAR_MAC_1904 if date1904 not in (None, "false", "f", "0") else WINDOWS_EPOCH
        rels = package.relationships(package.workbook_part)
        self.sheetnames: list[str] = []
        self.worksheet_parts: dict[str, str] = {}
        for entry in opc.sheet_map(root, rels):
            if not entry.rel_id:
                continue
            if entry.rel is None:
                raise _Damaged(f"工作表「{entry.title}」的关系 {entry.rel_id} 不存在")
            target = entry.rel.target
            if not package.has(target):
                continue
            self.sheetnames.append(entry.title)
            if "chartsheet" not in entry.rel.type:
                self.worksheet_parts[entry.title] = target
        self.defined_names: dict[str, str] = {}
        for defined in root.iter(f"{{{_MAIN}}}definedName"):
            name = defined.get("name", "")
            if defined.get("localSheetId") is None and name not in _SHEET_SCOPED:
                self.defined_names[name] = defined.text or ""
        self._sheets: dict[str, _Sheet] = {}

    def sheet(self, title: str) -> _Sheet | None:
        """The worksheet called ``title`` (exact match), or None for a chart sheet or an unknown title."""
        part = self.worksheet_parts.get(title)
        if part is None:
            return None
        if title not in self._sheets:
            self._sheets[title] = _Sheet(self, title, part)
        return self._sheets[title]

    def value(self, sheet: str, address: str) -> object:
        """The value of ``sheet!address``; None where there is no such worksheet."""
        found = self.sheet(sheet)
        return found.value_at(address) if found is not None else None

    def tables(self) -> dict[str, tuple[str, str]]:
        """Display name → (sheet, ref) of every table; a later sheet wins, as in openpyxl."""
        found: dict[str, tuple[str, str]] = {}
        seen: set[str] = set()
        for title, part in self.worksheet_parts.items():
            rels = self.package.relationships(part)
            if not any(rel.type == _TABLE_REL for rel in rels.values()):
                continue
            sheet = self.sheet(title)
            assert sheet is not None
            for rel_id in sheet.table_ids:
                if rel_id not in rels:
                    raise _Damaged(f"工作表「{title}」的表格关系 {rel_id} 不存在")
                table = self.package.xml(rels[rel_id].target)
                display, ref = table.get("displayName"), table.get("ref")
                name = table.get("name") or display
                if not name or not ref:
                    raise _Damaged(f"工作表「{title}」中的表格缺少名称或区域")
                if name.lower() in seen:
                    raise _Damaged(f"表格名称 {name} 重复")
                seen.add(name.lower())
                found[display or ""] = (title, ref)
        return found


def _open(path: Path) -> _Book:
    try:
        return _Book(path)
    except XlperfError:
        raise
    except (_Damaged, zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        detail = str(exc) if isinstance(exc, _Damaged) else f"{type(exc).__name__}: {exc}"
        raise UnreadableFileError(f"无法作为 Excel 工作簿打开（{detail}）", path=str(path)) from None


def _destinations(text: str) -> list[tuple[str, str]]:
    """Where a defined name points (名称指向): (sheet, cells) per area, as openpyxl's tokenizer finds them."""
    match = _ONE_AREA.fullmatch(text)
    if match:
        return [(match[1] if match[1] is not None else match[2], match[3])]
    from openpyxl.workbook.defined_name import DefinedName  # unusual text: let openpyxl tokenize it

    return list(DefinedName("name", attr_text=text).destinations)


# --------------------------------------------------------------------------------------------
# Reading the contract
# --------------------------------------------------------------------------------------------


#: Broken defined names listed one by one (逐条列出的失效名称数); the rest are counted in one line.
MAX_NAME_PROBLEMS = 20


def _locate_names(book: _Book, loc: Locator) -> None:
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


def _locate_tables(book: _Book, loc: Locator) -> None:
    found = _guarded(book, book.tables)
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


def _guarded(book: _Book, read: Callable[[], T]) -> T:
    """Run a step that parses more parts, turning damage into :class:`UnreadableFileError`."""
    try:
        return read()
    except XlperfError:
        raise
    except (_Damaged, KeyError, ValueError, zipfile.BadZipFile, OSError, EOFError) as exc:
        detail = str(exc) if isinstance(exc, _Damaged) else f"{type(exc).__name__}: {exc}"
        raise UnreadableFileError(
            f"无法作为 Excel 工作簿打开（{detail}）", path=str(book.package.path)
        ) from None


def read_workbook(path: Path) -> WorkbookInputs:
    """Read inputs into :class:`UnitData` with a :class:`Locator` (读取输入); raises only if unreadable."""
    book = _open(path)
    try:
        return _read(book, path)
    finally:
        book.package.package.zip.close()


def _read(book: _Book, path: Path) -> WorkbookInputs:
    loc = Locator(sheets=list(book.sheetnames))
    for sheet in c.SHEETS:
        if sheet not in book.sheetnames:
            loc.problems.append(
                (f"缺少工作表「{sheet}」（可能被改名或删除），请运行 xlperf upgrade 修复", None)
            )
    _locate_names(book, loc)
    _locate_tables(book, loc)
    _check_version(book, loc)
    loc.finding_rows = _guarded(book, lambda: count_finding_rows(loc, _sheet_cell(book)))
    values: dict[tuple[str, str], object] = {}

    def value(sheet: str, address: str, ref: Ref) -> object:
        raw = _guarded(book, lambda: book.value(sheet, address))
        if isinstance(raw, str) and raw.startswith("="):
            loc.formula_cells.add((sheet, address))
            if is_own_formula(raw):
                loc.own_formula_cells.add((sheet, address))
                raw = None
            else:  # a formula the user typed: its saved result
                formula, raw = raw, _guarded(book, lambda: book.sheet(sheet).cached_at(address))  # type: ignore[union-attr]
                if raw is None:
                    loc.problems.append(
                        (
                            f"单元格 {sheet}!{address} 含公式「{formula}」，但文件中没有保存它的计算结果；"
                            "请在 Excel 或 WPS 中打开、保存后再处理",
                            ref,
                        )
                    )
        elif ref.table is None and _typed_percent(raw, ref) and book.sheet(sheet).percent_at(address):  # type: ignore[union-attr]
            raw = f"{format((Decimal(repr(raw)) * 100).normalize(), 'f')}%"  # "12%" typed into a 万元 cell: as shown
        values[(sheet, address)] = raw
        return raw

    data = contract_inputs(loc, value, lambda f, where: _check_label(book, loc, f, where))
    return WorkbookInputs(data, loc, values)


CellReader = Callable[[str, str, Ref], object]


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
        fields[f.key] = value(*where, Ref(f.key))
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
                    ref = Ref(column.header, spec.caption, index)
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


def _sheet_cell(book: _Book) -> Callable[[str, int, int], object]:
    def cell(title: str, row: int, column: int) -> object:
        sheet = book.sheet(title)
        return sheet.value(row, column) if sheet is not None else None

    return cell


def _check_version(book: _Book, loc: Locator) -> None:
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


def _check_label(book: _Book, loc: Locator, f: Field, where: tuple[str, str]) -> None:
    """A field's name must still sit between its label and its unit (名称与标签一致); else the name is stale."""
    sheet = book.sheet(where[0])
    if sheet is None:
        return
    col, row = range_boundaries(where[1])[:2]
    beside = sheet.value(row, col - 1) if col > 1 else None
    after = sheet.value(row, col + 1)
    moved = sheet.value(row, col) is None and after not in (None, "", f.unit)  # value pushed right
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
