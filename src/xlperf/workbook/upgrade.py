"""Repair a damaged or outdated workbook (升级与修复工作簿): ``xlperf upgrade``.

Finance staff rename sheets, delete names, insert rows and columns with tools that do not update
references, and keep workbooks made by older xlperf versions.  :func:`diagnose_workbook` finds that
damage and explains it in Chinese; :func:`upgrade_workbook` repairs it by generating a fresh workbook
from the contract (:func:`xlperf.workbook.create.new_workbook`) and carrying over every user input.

Inputs are found by what the user sees, not only by defined names: a field by its label in the
sheet (the name is checked against the label and used only when they agree or the label was
edited), a table by its header row (the Excel table's range only when it still matches), a sheet by
its content when it was renamed.  Values keep their exact type (text stays text, an error stays an
error, a formula stays a formula with its cached result); comments and the formats a user added to
input cells are kept; sheets the user added are copied; every other cell the user typed on a
contract sheet that has no place in the new layout is kept on the sheet 「升级前其他内容」.  Nothing a
user typed is dropped silently: the report (Chinese) lists what was changed and what needs a hand.

The input file is never changed unless ``in_place`` is asked, and then only after a backup; the new
workbook is written to a temporary file next to the target and moved into place, and only after it
was re-read and every carried input compared with the original.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import unicodedata
import zipfile
import zlib
from collections.abc import Sequence
from copy import copy
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from ..core.fields import DEFAULT_SETTINGS, FIELDS, Field
from ..core.metrics import METRICS
from ..core.model import ClassRow, GoalRow, IndicatorRow, QuarterRow, TeamRow, UnitData
from ..core.rubric import build_rubric
from ..errors import OutputError, UnreadableFileError, WorkbookStructureError, XlperfError
from ..io.atomic import backup_file
from ..io.safety import (
    MAX_MERGED_CELLS,
    MAX_UPGRADE_ELEMENTS,
    inspect_workbook_file,
    merged_area,
    part_limit,
)
from ..io.xlsxpatch import EXCEL_ERROR_CODES, ExcelError, Formula, patch_workbook
from . import contract as c
from .build import build_workbook
from .create import blank_data, new_workbook
from .read import is_own_formula

__all__ = [
    "OTHER_SHEET",
    "UpgradeResult",
    "diagnose_workbook",
    "format_report",
    "main",
    "upgrade_command",
    "upgrade_workbook",
]

#: The sheet that keeps every cell of a contract sheet that has no place in the new layout.
OTHER_SHEET = "升级前其他内容"
#: At most this many such cells are kept there (可保留的其他内容上限): each takes a row of about ten XML
#: elements, and the sheet must stay within io.safety's worksheet limit, or xlperf could not read the
#: upgraded workbook.  More is refused before anything is written.
MAX_OTHER_CELLS = 20_000
_SCAN_ROWS = 3000  # rows of a contract sheet searched for labels and header rows
_ROW_CLASSES = {
    c.TEAM.name: TeamRow,
    c.CLASSES.name: ClassRow,
    c.QUARTERS.name: QuarterRow,
    c.GOALS.name: GoalRow,
    c.RUBRIC.name: IndicatorRow,
}
_DATA_ATTRS = {
    c.TEAM.name: "team",
    c.CLASSES.name: "classes",
    c.QUARTERS.name: "quarters",
    c.GOALS.name: "goals",
    c.RUBRIC.name: "indicators",
}
_INPUT_SHEETS = {c.SECTION_SHEETS[f.section] for f in FIELDS} | {
    t.sheet for t in c.TABLES if t.name in _ROW_CLASSES
}


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


@dataclass
class UpgradeResult:
    """What ``xlperf upgrade`` found and did (升级结果); every list holds Chinese sentences.

    ``problems`` is the damage found; ``changes`` what the new workbook does differently;
    ``attention`` what a person must do (inputs that could not be recovered, macros not carried …).
    ``output`` is ``None`` when nothing was written (nothing to repair, or only a diagnosis).
    """

    source: Path
    version: int
    problems: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    carried: int = 0
    output: Path | None = None
    backup: Path | None = None

    @property
    def needs_upgrade(self) -> bool:
        """True when the structure is damaged or the layout is older than this xlperf's (需要升级)."""
        return bool(self.problems)

    @property
    def exit_code(self) -> int:
        """0 repaired (or nothing to repair), 1 something needs a person (需要人工处理)."""
        return 1 if self.attention else 0


class UpgradeRefused(WorkbookStructureError):
    """The repair is not safe; nothing was written (无法安全修复)."""


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def _norm(value: object) -> str:
    """Text as compared with the contract: NFKC, stripped; non-text gives ``""``."""
    if not isinstance(value, str):
        return ""
    return unicodedata.normalize("NFKC", value).strip()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _where(ws: Worksheet | str, coord: str) -> str:
    title = ws if isinstance(ws, str) else ws.title
    return f"{title}!{coord}"


def _show(value: object, limit: int = 40) -> str:
    """A cell value for a message: text cut to ``limit`` characters."""
    if isinstance(value, dt.datetime | dt.date):
        text = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _is_formula(cell: Cell) -> bool:
    return cell.data_type == "f"


def _formula_text(cell: Cell) -> str:
    value = cell.value
    return value if isinstance(value, str) else str(getattr(value, "text", "") or "")


def _own_formula(cell: Cell) -> bool:
    return _is_formula(cell) and is_own_formula(_formula_text(cell))


@lru_cache(maxsize=1)
def _reference_texts() -> dict[str, frozenset[str]]:
    """Every text a fresh, empty workbook shows on each contract sheet (约定文字): titles, labels …."""
    wb = new_workbook(UnitData(fields={}))
    texts: dict[str, frozenset[str]] = {}
    for ws in wb.worksheets:
        found = {_norm(v) for row in ws.iter_rows(values_only=True) for v in row if _norm(v)}
        texts[ws.title] = frozenset(found)
    return texts


def _contract_names() -> set[str]:
    names = {f.key for f in FIELDS} | {c.rate_name(m.key) for m in METRICS}
    names |= {n for n, _, _ in c.SUMMARY_NAMES} | set(c.COLUMN_NAMES) | set(c.group_names())
    return names | {c.FINDINGS_NAME, c.VERSION_NAME}


# --------------------------------------------------------------------------------------------
# Opening the file
# --------------------------------------------------------------------------------------------


_DTD_MARKUP = tuple(
    token.encode(encoding)
    for token in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("ascii", "utf-16-le", "utf-16-be")
)


def _check_parts(path: Path) -> None:
    """Before openpyxl: refuse an XML part that declares a DTD (entity expansion, external entities) —
    openpyxl would fail with an English message.  Sizes and element counts were checked by
    :func:`~xlperf.io.safety.inspect_workbook_file` against ``PART_LIMITS`` already."""
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if part_limit(info.filename) is None:
                    continue
                data = zf.read(info)
                if any(token in data for token in _DTD_MARKUP):
                    raise UnreadableFileError(
                        f"其中的「{info.filename}」部分包含 DOCTYPE/ENTITY 声明，正常的 Excel 文件不会有这种内容；"
                        "该文件可能是恶意构造的（XML 实体攻击），已拒绝处理。",
                        path=str(path),
                    )
                if merged_area(data) > MAX_MERGED_CELLS:
                    raise UnreadableFileError(
                        f"其中的「{info.filename}」部分的合并单元格覆盖超过 {MAX_MERGED_CELLS:,} 个单元格，"
                        "远超绩效自评工作簿所需；文件可能已损坏或是恶意构造的，请取消不需要的合并单元格后再处理。",
                        path=str(path),
                    )
    except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as exc:  # accepted by inspect_workbook_file
        raise UnreadableFileError(f"文件已损坏，无法读取其中的部件（{exc}）", path=str(path)) from None


def _open(path: Path) -> tuple[Workbook, list[str]]:
    """Check the file, then load it with openpyxl (formulas; cached values are loaded when needed)."""
    report = inspect_workbook_file(path, max_elements=MAX_UPGRADE_ELEMENTS)
    _check_parts(path)
    try:
        wb = load_workbook(path, data_only=False, keep_links=False)
    except XlperfError:
        raise
    except Exception as exc:  # openpyxl raises many types on damaged files
        raise UnreadableFileError(
            f"无法作为 Excel 工作簿打开（{type(exc).__name__}: {_show(exc, 120)}）", path=str(path)
        ) from None
    warnings = list(report.warnings)
    if report.has_macros:
        warnings.append("工作簿含宏（VBA）；xlperf 不运行也不读取宏代码。")
    return wb, warnings


def layout_version(wb: Workbook) -> int | None:
    """The layout version the workbook declares (布局版本): 0 without the name, None if unreadable."""
    defined = wb.defined_names.get(c.VERSION_NAME)
    if defined is None:
        return 0
    try:
        number = float(str(defined.attr_text).strip().strip('"'))
    except ValueError:
        return None
    return int(number) if number.is_integer() and number >= 0 else None


# --------------------------------------------------------------------------------------------
# Recovery: where every input is in the old workbook
# --------------------------------------------------------------------------------------------


@dataclass
class _Table:
    """A contract table found in the old workbook: header row, columns by header, data rows."""

    spec: c.TableSpec
    ws: Worksheet
    header_row: int
    columns: dict[str, int]
    rows: list[int]

    def cell(self, header: str, index: int) -> Cell | None:
        col = self.columns.get(header)
        return self.ws.cell(self.rows[index], col) if col else None

    @property
    def span(self) -> tuple[int, int]:
        cols = list(self.columns.values())
        return min(cols), max(cols)


@dataclass
class _Recovery:
    """Everything found in the old workbook (恢复结果)."""

    wb: Workbook
    path: Path
    version: int
    sheets: dict[str, Worksheet | None] = field(default_factory=dict)
    fields: dict[str, Cell | None] = field(default_factory=dict)
    labels: dict[str, Cell] = field(default_factory=dict)
    tables: dict[str, _Table | None] = field(default_factory=dict)
    consumed: set[tuple[str, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    _cached: Workbook | None = None

    @property
    def cached(self) -> Workbook:
        """The workbook's cached formula results (openpyxl ``data_only``), loaded on first use."""
        if self._cached is None:
            try:
                self._cached = load_workbook(self.path, data_only=True, keep_links=False)
            except Exception as exc:  # it loaded a moment ago without data_only
                raise UnreadableFileError(
                    f"无法读取公式的计算结果（{type(exc).__name__}）", path=str(self.path)
                ) from None
        return self._cached

    def take(self, ws: Worksheet, coord: str) -> None:
        self.consumed.add((ws.title, coord))


def _strings(ws: Worksheet, rows: int = 300, cols: int = 30) -> set[str]:
    return {
        _norm(v)
        for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, rows), max_col=cols, values_only=True)
        for v in row
        if _norm(v)
    }


def _similarity(wb: Workbook, ws: Worksheet, title: str) -> float:
    """How much ``ws`` looks like the contract sheet ``title`` (0 … 2)."""
    expected = _reference_texts().get(title, frozenset())
    score = len(expected & _strings(ws)) / len(expected) if expected else 0.0
    if any(t.name in ws.tables for t in c.TABLES if t.sheet == title):
        score += 0.5
    keys = [f.key for f in c.fields_on(title)]
    if keys:
        pointing = 0
        for key in keys:
            defined = wb.defined_names.get(key)
            if defined is not None and ws.title in str(defined.attr_text):
                pointing += 1
        score += 0.5 * pointing / len(keys)
    return score


def _match_sheets(rec: _Recovery) -> None:
    """Map each contract sheet to a worksheet: same title, else the one sheet that looks like it."""
    wb = rec.wb
    for title in c.SHEETS:
        rec.sheets[title] = wb[title] if title in wb.sheetnames else None
    spare = [ws for ws in wb.worksheets if ws.title not in c.SHEETS]
    for title in c.SHEETS:
        if rec.sheets[title] is not None:
            continue
        scored = sorted(((_similarity(wb, ws, title), index) for index, ws in enumerate(spare)), reverse=True)
        if not scored or scored[0][0] < 0.5:
            rec.problems.append(f"缺少工作表「{title}」（已被删除，或改名后内容也已改变）")
            continue
        best, index = scored[0]
        if len(scored) > 1 and scored[1][0] > best - 0.25:
            names = "、".join(f"「{spare[i].title}」" for _, i in scored[:3])
            rec.problems.append(f"缺少工作表「{title}」，有多张工作表与它相似（{names}）")
            rec.unsafe.append(
                f"无法确定哪一张工作表是改名后的「{title}」（{names}都像）；请把其中正确的一张改回「{title}」后再运行"
            )
            continue
        ws = spare.pop(index)
        rec.sheets[title] = ws
        rec.problems.append(f"工作表「{title}」被改名为「{ws.title}」")
        rec.changes.append(f"工作表「{ws.title}」恢复为约定名称「{title}」")


def _named_cell(rec: _Recovery, key: str) -> tuple[Worksheet | None, int, int, str]:
    """Where the defined name ``key`` points (sheet, row, column) and, if broken, why (Chinese)."""
    defined = rec.wb.defined_names.get(key)
    if defined is None:
        return None, 0, 0, f"缺少名称 {key}"
    text = str(defined.attr_text or "")
    if "#REF!" in text:
        return None, 0, 0, f"名称 {key} 指向的单元格已被删除（#REF!）"
    try:
        destinations = list(defined.destinations)
    except Exception:  # a constant or a formula, not a range
        return None, 0, 0, f"名称 {key} 不是单元格引用（{_show(text)}）"
    if len(destinations) != 1:
        return None, 0, 0, f"名称 {key} 的引用无法识别（{_show(text)}）"
    sheet, ref = destinations[0]
    ws = rec.wb[sheet] if sheet in rec.wb.sheetnames else rec.sheets.get(sheet)
    if ws is None:
        return None, 0, 0, f"名称 {key} 指向的工作表「{sheet}」不存在"
    try:
        min_col, min_row = range_boundaries(ref.replace("$", ""))[:2]
    except ValueError:
        return None, 0, 0, f"名称 {key} 的引用无法识别（{_show(text)}）"
    return ws, min_row or 1, min_col or 1, ""


def _label_positions(ws: Worksheet) -> dict[str, list[tuple[int, int]]]:
    found: dict[str, list[tuple[int, int]]] = {}
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, _SCAN_ROWS), max_col=12):
        for cell in row:
            text = _norm(cell.value)
            if text:
                found.setdefault(text, []).append((cell.row, cell.column))
    return found


def _value_offset(ws: Worksheet, fields: Sequence[Field], labels: dict[str, list[tuple[int, int]]]) -> int:
    """Columns between a field's label and its value (1 in the contract; more after inserted columns).

    Decided by where the unit texts (万元, 人 …) are, which sit just right of the value cells.
    """
    votes = dict.fromkeys((1, 2, 3, 4), 0)
    for f in fields:
        places = labels.get(_norm(f.label), [])
        if f.unit and len(places) == 1:
            row, col = places[0]
            for offset in votes:
                if _norm(ws.cell(row, col + offset + 1).value) == _norm(f.unit):
                    votes[offset] += 1
    best = max(votes, key=lambda k: (votes[k], -k))
    return best if votes[best] else 1


def _locate_fields(rec: _Recovery) -> None:
    """Find every field by its label (and check its defined name against it)."""
    all_labels = {_norm(f.label) for f in FIELDS}
    for title in dict.fromkeys(c.SECTION_SHEETS.values()):
        ws = rec.sheets.get(title)
        fields = c.fields_on(title)
        if ws is None:
            for f in fields:
                rec.fields[f.key] = None
            continue
        labels = _label_positions(ws)
        offset = _value_offset(ws, fields, labels)
        for f in fields:
            rec.fields[f.key] = _locate_field(rec, ws, f, labels.get(_norm(f.label), []), offset, all_labels)


def _locate_field(
    rec: _Recovery,
    ws: Worksheet,
    f: Field,
    places: list[tuple[int, int]],
    offset: int,
    all_labels: set[str],
) -> Cell | None:
    named_ws, row, col, broken = _named_cell(rec, f.key)
    if named_ws is not None and named_ws is not ws:
        broken = f"名称 {f.key} 指向另一张工作表「{named_ws.title}」"
        named_ws = None
    if named_ws is not None and (row, col - offset) in places:
        rec.labels[f.key] = ws.cell(row, col - offset)
        return ws.cell(row, col)
    if places:
        if len(places) > 1:
            rec.changes.append(
                f"标签「{f.label}」在工作表「{ws.title}」出现 {len(places)} 次，取第一处（第{places[0][0]}行）"
            )
        label_row, label_col = places[0]
        found = ws.cell(label_row, label_col + offset)
        rec.labels[f.key] = ws.cell(label_row, label_col)
        if named_ws is None:
            rec.problems.append(f"{broken}（{f.label}）")
            rec.changes.append(f"名称 {f.key} 已重建，按标签「{f.label}」指向 {_where(ws, found.coordinate)}")
        else:
            old = ws.cell(row, col)
            shown = ws.cell(row, max(col - offset, 1)).value
            there = _norm(shown)
            if row == label_row:
                rec.problems.append(
                    f"名称 {f.key}（{f.label}）指向 {_where(ws, old.coordinate)}，但数值在 "
                    f"{_where(ws, found.coordinate)}——名称已过期（可能插入或删除了列）"
                )
            else:
                rec.problems.append(
                    f"名称 {f.key}（{f.label}）指向 {_where(ws, old.coordinate)}，但那一行是「{_show(shown or '') or '空白'}」"
                    "——名称已过期（可能插入或删除了行）"
                )
            rec.changes.append(
                f"名称 {f.key} 由 {_where(ws, old.coordinate)} 改为按标签找到的 {_where(ws, found.coordinate)}"
            )
        return found
    if named_ws is not None:
        shown = ws.cell(row, max(col - offset, 1)).value
        there = _norm(shown)
        if there in all_labels:
            rec.problems.append(
                f"名称 {f.key}（{f.label}）指向 {_where(ws, ws.cell(row, col).coordinate)}，那是「{_show(shown)}」的位置，"
                f"且工作表中找不到标签「{f.label}」"
            )
            return None
        rec.changes.append(
            f"找不到标签「{f.label}」（可能被修改为「{_show(shown or '') or '空白'}」），按名称 {f.key} 读取 "
            f"{_where(ws, ws.cell(row, col).coordinate)}；新工作簿恢复约定的标签"
        )
        rec.labels[f.key] = ws.cell(row, max(col - offset, 1))
        return ws.cell(row, col)
    rec.problems.append(f"{broken or f'缺少名称 {f.key}'}，且工作表「{ws.title}」中找不到标签「{f.label}」")
    return None


def _header_row(ws: Worksheet, spec: c.TableSpec, hint: int | None) -> tuple[int, dict[str, int]] | None:
    """The row holding most of ``spec``'s headers (the hint row wins ties) and their columns."""
    wanted = {_norm(col.header): col.header for col in spec.columns}
    need = max(2, (len(wanted) + 1) // 2)
    best: tuple[int, int, dict[str, int]] | None = None
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, _SCAN_ROWS)):
        columns: dict[str, int] = {}
        for cell in row:
            text = _norm(cell.value)
            if text in wanted and wanted[text] not in columns:
                columns[wanted[text]] = cell.column
        if len(columns) < need:
            continue
        number = row[0].row
        rank = (len(columns), 1 if number == hint else 0)
        if best is None or rank > (best[0], 1 if best[1] == hint else 0):
            best = (len(columns), number, columns)
    return (best[1], best[2]) if best else None


def _rename_by_position(
    rec: _Recovery, ws: Worksheet, spec: c.TableSpec, header_row: int, columns: dict[str, int]
) -> None:
    """A header the user renamed: the one unknown header between its neighbours takes its place."""
    headers = [col.header for col in spec.columns]
    for index, header in enumerate(headers):
        if header in columns:
            continue
        before = next((columns[h] for h in reversed(headers[:index]) if h in columns), None)
        after = next((columns[h] for h in headers[index + 1 :] if h in columns), None)
        if before is not None and after is not None and after - before == 2:
            candidate = before + 1
        elif before is not None and after is None:
            candidate = before + 1
        elif after is not None and before is None and after > 1:
            candidate = after - 1
        else:
            continue
        text = _norm(ws.cell(header_row, candidate).value)
        if text and text not in {_norm(h) for h in headers} and candidate not in columns.values():
            columns[header] = candidate
            rec.problems.append(f"表格「{spec.caption}」的列「{header}」被改名为「{text}」")
            rec.changes.append(f"表格「{spec.caption}」的列「{text}」按位置视为「{header}」，恢复约定列名")


@lru_cache(maxsize=1)
def _stop_texts() -> frozenset[str]:
    """Texts that start something else on a sheet (a section, a caption, a field label): a table ends there."""
    texts = {_norm(f.section) for f in FIELDS} | {_norm(t.caption) for t in c.TABLES}
    return frozenset(texts | {_norm(f.label) for f in FIELDS})


def _locate_table(rec: _Recovery, spec: c.TableSpec) -> _Table | None:
    """Find a table by its header row; use the Excel table's range only where it still fits."""
    obj_ws, obj_ref = None, None
    for ws in rec.wb.worksheets:
        if spec.name in ws.tables:
            obj_ws, obj_ref = ws, ws.tables[spec.name].ref
            break
    ws = rec.sheets.get(spec.sheet)
    if ws is None and obj_ws is not None:
        ws = obj_ws
    if ws is None:
        return None
    bounds = range_boundaries(obj_ref) if obj_ref and obj_ws is ws else None
    hint = bounds[1] if bounds else None
    found = _header_row(ws, spec, hint)
    if found is None:
        if obj_ref is None:
            rec.problems.append(f"缺少表格「{spec.caption}」，工作表「{ws.title}」中也找不到它的表头行")
        else:
            rec.problems.append(
                f"表格「{spec.caption}」（{_where(ws, obj_ref)}）的表头行已找不到（表头被改写或删除）"
            )
        return None
    header_row, columns = found
    _rename_by_position(rec, ws, spec, header_row, columns)
    for column in spec.columns:
        if column.header not in columns:
            rec.problems.append(
                f"表格「{spec.caption}」缺少列「{column.header}」（工作表「{ws.title}」第{header_row}行）"
            )
    table = _Table(spec, ws, header_row, columns, [])
    first, last = table.span
    stops = _stop_texts()

    def blank_row(row: int) -> bool:
        return all(_blank(ws.cell(row, col).value) for col in range(first, last + 1))

    def stop_row(row: int) -> bool:
        return any(_norm(ws.cell(row, col).value) in stops for col in range(1, first + 1))

    end = header_row
    if bounds is not None and bounds[1] == header_row:
        end = max(bounds[3], header_row)
    while end < ws.max_row and not blank_row(end + 1) and not stop_row(end + 1):
        end += 1
    table.rows = list(range(header_row + 1, end + 1))
    if obj_ref is None:
        rec.problems.append(
            f"缺少 Excel 表格「{spec.caption}」（{spec.name}），已按表头在第{header_row}行找到数据"
        )
    else:
        expected = (
            f"{get_column_letter(first)}{header_row}:{get_column_letter(last)}{max(end, header_row + 1)}"
        )
        rows_differ = bounds is None or (bounds[1], bounds[3]) != (header_row, max(end, header_row + 1))
        if obj_ws is not ws or rows_differ or first < bounds[0] or last > bounds[2]:  # type: ignore[index]
            rec.problems.append(
                f"表格「{spec.caption}」的范围 {_where(obj_ws or ws, obj_ref)} 已过期，数据实际在 {_where(ws, expected)}"
                "（可能插入或删除了行，或用不更新引用的工具编辑过）"
            )
    rec.take(ws, ws.cell(header_row, first).coordinate)
    for col in columns.values():
        rec.take(ws, ws.cell(header_row, col).coordinate)
    for row in table.rows:  # only the contract's columns: a column the user added is kept elsewhere
        for col in columns.values():
            rec.take(ws, ws.cell(row, col).coordinate)
    return table


def _locate_computed(rec: _Recovery) -> None:
    """Cells xlperf writes (rates, totals, 校验结果 rows): consumed, and their names checked."""
    rates = rec.sheets.get(c.S_RATES)
    if rates is not None:
        labels = _label_positions(rates)
        for metric in METRICS:
            for row, col in labels.get(_norm(metric.label), [])[:1]:
                for offset in (1, 2):
                    rec.take(rates, rates.cell(row, col + offset).coordinate)
                _check_name(rec, c.rate_name(metric.key), rates, row, col + 1)
    summary = rec.sheets.get(c.S_SUMMARY)
    if summary is not None:
        labels = _label_positions(summary)
        for name, label, _ in c.SUMMARY_NAMES:
            for row, col in labels.get(_norm(label), [])[:1]:
                rec.take(summary, summary.cell(row, col + 1).coordinate)
                _check_name(rec, name, summary, row, col + 1)
    findings = rec.sheets.get(c.S_FINDINGS)
    if findings is not None:
        header = None
        for row in findings.iter_rows(min_row=1, max_row=min(findings.max_row, 50)):
            texts = [_norm(cell.value) for cell in row[: len(c.FINDING_HEADERS)]]
            if tuple(texts) == tuple(_norm(h) for h in c.FINDING_HEADERS):
                header = row[0].row
                break
        if header is None:
            rec.problems.append(
                f"工作表「{findings.title}」缺少校验结果的表头（{'、'.join(c.FINDING_HEADERS)}）"
            )
        else:
            _check_name(rec, c.FINDINGS_NAME, findings, header, 1)
            for row in range(header + 1, findings.max_row + 1):
                for col in range(1, len(c.FINDING_HEADERS) + 1):
                    rec.take(findings, findings.cell(row, col).coordinate)


def _check_name(rec: _Recovery, name: str, ws: Worksheet, row: int, col: int) -> None:
    named_ws, named_row, named_col, broken = _named_cell(rec, name)
    if broken:
        rec.problems.append(broken)
    elif named_ws is not ws or (named_row, named_col) != (row, col):
        rec.problems.append(
            f"名称 {name} 指向 {_where(named_ws or ws, get_column_letter(named_col) + str(named_row))}，"
            f"应为 {_where(ws, get_column_letter(col) + str(row))}（名称已过期）"
        )


def _check_range_names(rec: _Recovery) -> None:
    """Names over table columns and field groups cover exactly what they should."""
    for name, (spec, header) in c.COLUMN_NAMES.items():
        table = rec.tables.get(spec.name)
        if table is None or header not in table.columns or not table.rows:
            continue
        col = get_column_letter(table.columns[header])
        expected = f"{col}{table.rows[0]}:{col}{table.rows[-1]}"
        _check_range(rec, name, table.ws, expected)
    for name, keys in c.group_names().items():
        cells = [rec.fields.get(k) for k in keys]
        if any(cell is None for cell in cells):
            continue
        first, last = cells[0], cells[-1]
        assert first is not None and last is not None
        _check_range(rec, name, first.parent, f"{first.coordinate}:{last.coordinate}")


def _check_range(rec: _Recovery, name: str, ws: Worksheet, expected: str) -> None:
    defined = rec.wb.defined_names.get(name)
    if defined is None:
        rec.problems.append(f"缺少名称 {name}")
        return
    try:
        destinations = list(defined.destinations)
    except Exception:
        destinations = []
    if len(destinations) != 1:
        rec.problems.append(f"名称 {name} 的引用无法识别（{_show(defined.attr_text)}）")
        return
    sheet, ref = destinations[0]
    if sheet not in rec.wb.sheetnames or rec.wb[sheet] is not ws:
        rec.problems.append(f"名称 {name} 指向工作表「{sheet}」，应为「{ws.title}」")
    elif ref.replace("$", "") != expected:
        rec.problems.append(
            f"名称 {name} 指向 {_where(ws, ref.replace('$', ''))}，应为 {_where(ws, expected)}（已过期）"
        )


def _recover(path: Path) -> tuple[_Recovery, list[str]]:
    wb, warnings = _open(path)
    version = layout_version(wb)
    if version is None:
        version = 0
        warnings.append(f"名称 {c.VERSION_NAME} 的值无法识别，按旧版（布局版本 0）处理")
    if version > c.LAYOUT_VERSION:
        raise UpgradeRefused(
            f"此工作簿由更新版本的 xlperf 生成（布局版本 {version}，本程序只认识到版本 {c.LAYOUT_VERSION}），"
            "请先升级 xlperf 再处理；文件未被修改",
            path=str(path),
        )
    rec = _Recovery(wb, path, version)
    if version < c.LAYOUT_VERSION:
        rec.problems.append(
            f"工作簿的布局版本为 {version}（{'缺少名称 ' + c.VERSION_NAME if version == 0 else '旧版'}），"
            f"当前版本为 {c.LAYOUT_VERSION}"
        )
    _match_sheets(rec)
    _locate_fields(rec)
    for spec in c.TABLES:
        rec.tables[spec.name] = _locate_table(rec, spec)
    _locate_computed(rec)
    _check_range_names(rec)
    for cell in rec.fields.values():
        if cell is not None:
            rec.take(cell.parent, cell.coordinate)
    for label in rec.labels.values():
        rec.take(label.parent, label.coordinate)
    return rec, warnings


# --------------------------------------------------------------------------------------------
# The new workbook
# --------------------------------------------------------------------------------------------


@dataclass
class _Carry:
    """One input carried from an old cell to a new one."""

    what: str
    source: Cell
    target_sheet: str = ""
    target: str = ""


def _cached_value(rec: _Recovery, cell: Cell) -> object:
    title = cell.parent.title
    if title not in rec.cached.sheetnames:
        return None
    return rec.cached[title][cell.coordinate].value


def _layout_value(rec: _Recovery, cell: Cell | None) -> object:
    """The value a cell shows (a formula's cached result), for laying out the new workbook."""
    if cell is None or isinstance(cell, MergedCell):
        return None
    if _is_formula(cell):
        return None if _own_formula(cell) else _cached_value(rec, cell)
    return cell.value


def _data(rec: _Recovery) -> tuple[UnitData, list[_Carry]]:
    """Recovered inputs as :class:`UnitData` (for the layout) and the cells to copy exactly."""
    carries: list[_Carry] = []
    fields: dict[str, object] = {}
    old_layout = rec.version < c.LAYOUT_VERSION
    for f in FIELDS:
        cell = rec.fields.get(f.key)
        title = c.SECTION_SHEETS[f.section]
        if cell is None:
            default = DEFAULT_SETTINGS.get(f.key)
            if rec.sheets.get(title) is None:
                continue  # reported once per sheet below
            if old_layout:
                shown = f"（默认值 {default}）" if default is not None else ""
                rec.changes.append(f"新增填报项「{f.label}」{shown}")
            else:
                rec.attention.append(
                    f"找不到「{f.label}」的填报值（名称 {f.key} 和标签都已丢失），新工作簿中此项"
                    f"{'为默认值 ' + str(default) if default is not None else '为空'}，请核对后重新填写"
                )
            if default is not None:
                fields[f.key] = default
            continue
        fields[f.key] = _layout_value(rec, cell)
        if not isinstance(cell, MergedCell) and not _own_formula(cell):
            carries.append(_Carry(f"「{f.label}」", cell))
    tables: dict[str, tuple[object, ...]] = {}
    for spec_name, cls in _ROW_CLASSES.items():
        spec = next(t for t in c.TABLES if t.name == spec_name)
        table = rec.tables.get(spec_name)
        if table is None:
            if spec is c.QUARTERS:
                tables[spec_name] = tuple(blank_data("", 2024).quarters)
                rec.changes.append("季度支出表按模板恢复了四个季度及序时进度，请填写累计支出")
            else:
                tables[spec_name] = ()
            if rec.sheets.get(spec.sheet) is not None:
                rec.attention.append(f"表格「{spec.caption}」找不到，新工作簿中为空表，请重新填写")
            continue
        rows = []
        for index in range(len(table.rows)):
            kwargs: dict[str, object] = {}
            for column in spec.columns:
                if not column.attr:
                    continue
                cell = table.cell(column.header, index)
                kwargs[column.attr] = _layout_value(rec, cell) if column.role != c.COMPUTED else None
                if cell is not None and not isinstance(cell, MergedCell) and not _own_formula(cell):
                    carries.append(_Carry(f"「{spec.caption}」第{index + 1}行「{column.header}」", cell))
            rows.append(cls(**kwargs))
        tables[spec_name] = tuple(rows)
        _manual_overrides(rec, table)
    for title in _INPUT_SHEETS:
        if rec.sheets.get(title) is None:
            rec.attention.append(
                f"工作表「{title}」已被删除，其中的填报内容无法恢复，新工作簿中已重建该表，请重新填写"
            )
    data = UnitData(
        fields=fields,
        **{_DATA_ATTRS[name]: rows for name, rows in tables.items()},  # type: ignore[arg-type]
    )
    return data, carries


def _manual_overrides(rec: _Recovery, table: _Table) -> None:
    """Values typed over computed cells: the new workbook computes them again; say so."""
    for column in table.spec.columns:
        if column.role != c.COMPUTED or column.header not in table.columns:
            continue
        for index in range(len(table.rows)):
            cell = table.cell(column.header, index)
            if cell is None or isinstance(cell, MergedCell) or _blank(cell.value) or _own_formula(cell):
                continue
            if column.header == "扣分原因" and not _is_formula(cell):
                continue  # written by the build as plain text in older layouts
            rec.changes.append(
                f"{_where(table.ws, cell.coordinate)}（「{table.spec.caption}」第{index + 1}行「{column.header}」）"
                f"原为手工填写的「{_show(cell.value)}」，新工作簿恢复为计算公式"
            )


def _new_places(
    wb: Workbook,
) -> tuple[dict[str, tuple[str, str]], dict[str, tuple[str, int, dict[str, int]]]]:
    """Where fields and table rows are in the freshly laid-out workbook."""
    names: dict[str, tuple[str, str]] = {}
    for f in FIELDS:
        sheet, ref = next(iter(wb.defined_names[f.key].destinations))
        names[f.key] = (sheet, ref.replace("$", ""))
    tables: dict[str, tuple[str, int, dict[str, int]]] = {}
    for ws in wb.worksheets:
        for table in ws.tables.values():
            min_col, min_row, max_col, _ = range_boundaries(table.ref)
            headers = {str(ws.cell(min_row, col).value): col for col in range(min_col, max_col + 1)}
            tables[table.displayName] = (ws.title, min_row, headers)
    return names, tables


def _write_exact(target: Cell, source: Cell) -> None:
    """Copy a value with its type: text stays text (even ``=…``), an error stays an error."""
    value = source.value
    target.value = value
    if source.data_type in ("s", "e", "f") and isinstance(value, str):
        target.data_type = source.data_type
    elif source.data_type == "f":
        target.value = value  # array / data-table formula objects


def _fill_key(fill: object) -> tuple[object, ...]:
    color = getattr(getattr(fill, "fgColor", None), "rgb", None)
    return (getattr(fill, "fill_type", None), color if isinstance(color, str) else None)


def _font_key(font: object) -> tuple[object, ...]:
    color = getattr(getattr(font, "color", None), "rgb", None)
    return tuple(getattr(font, a, None) for a in ("name", "sz", "b", "i", "u", "strike")) + (
        color if isinstance(color, str) else None,
    )


def _copy_user_style(target: Cell, source: Cell) -> bool:
    """Keep what a user changed on an input cell: fill, font, number format where they differ from
    what the contract gives the same cell (用户格式); True if anything was copied."""
    changed = False
    if _fill_key(source.fill) != _fill_key(target.fill) and _fill_key(source.fill)[0] is not None:
        target.fill = copy(source.fill)
        changed = True
    if _font_key(source.font) != _font_key(target.font):
        target.font = copy(source.font)
        changed = True
    if source.number_format != target.number_format and source.number_format not in ("General", None):
        target.number_format = source.number_format
        changed = True
    return changed


def _copy_comment(target: Cell, source: Cell) -> bool:
    if source.comment is None:
        return False
    target.comment = Comment(source.comment.text, source.comment.author or "xlperf")
    return True


def _place(
    rec: _Recovery,
    new: Workbook,
    carries: list[_Carry],
) -> tuple[dict[tuple[str, str], tuple[str, str]], int, int]:
    """Write every carried input into the new workbook; return the cell mapping and counts."""
    names, tables = _new_places(new)
    mapping: dict[tuple[str, str], tuple[str, str]] = {}
    key_of = {id(cell): key for key, cell in rec.fields.items() if cell is not None}
    table_of: dict[int, tuple[str, int, str]] = {}
    for spec_name, table in rec.tables.items():
        if table is None or spec_name not in _ROW_CLASSES:
            continue
        for index, row in enumerate(table.rows):
            for header, col in table.columns.items():
                table_of[id(table.ws.cell(row, col))] = (spec_name, index, header)
    for carry in carries:
        source = carry.source
        if id(source) in key_of:
            carry.target_sheet, carry.target = names[key_of[id(source)]]
        else:
            spec_name, index, header = table_of[id(source)]
            sheet, header_row, headers = tables[spec_name]
            carry.target_sheet = sheet
            carry.target = f"{get_column_letter(headers[header])}{header_row + 1 + index}"
        mapping[(source.parent.title, source.coordinate)] = (carry.target_sheet, carry.target)
    # labels and headers (for comments)
    for key, label in rec.labels.items():
        sheet, coord = names[key]
        col, row = range_boundaries(coord)[:2]
        mapping.setdefault(
            (label.parent.title, label.coordinate), (sheet, f"{get_column_letter(col - 1)}{row}")
        )
    for spec_name, table in rec.tables.items():
        if table is None or spec_name not in tables:
            continue
        sheet, header_row, headers = tables[spec_name]
        for header, col in table.columns.items():
            if header in headers:
                mapping.setdefault(
                    (table.ws.title, table.ws.cell(table.header_row, col).coordinate),
                    (sheet, f"{get_column_letter(headers[header])}{header_row}"),
                )
    styles = 0
    for carry in carries:
        target = new[carry.target_sheet][carry.target]
        _write_exact(target, carry.source)
        styles += _copy_user_style(target, carry.source)
    comments = 0
    for (title, coord), (sheet, target) in mapping.items():
        comments += _copy_comment(new[sheet][target], rec.wb[title][coord])
    return mapping, styles, comments


def _merges(rec: _Recovery, new: Workbook, mapping: dict[tuple[str, str], tuple[str, str]]) -> None:
    """Carry merged ranges whose cells all moved together (e.g. one goal over several indicators)."""
    for ws in rec.sheets.values():
        if ws is None:
            continue
        for merged in list(ws.merged_cells.ranges):
            min_col, min_row, max_col, max_row = merged.bounds
            targets = []
            for row in range(min_row, max_row + 1):
                for col in range(min_col, max_col + 1):
                    targets.append(mapping.get((ws.title, f"{get_column_letter(col)}{row}")))
            places = [t for t in targets if t is not None]
            if len(places) == len(targets) and len({sheet for sheet, _ in places}) == 1:
                bounds = [range_boundaries(coord)[:2] for _, coord in places]
                cols, rows = [b[0] for b in bounds], [b[1] for b in bounds]
                same_shape = (max(cols) - min(cols), max(rows) - min(rows)) == (
                    max_col - min_col,
                    max_row - min_row,
                )
                if same_shape and len(set(bounds)) == len(bounds):
                    target_ws = new[places[0][0]]
                    top_left = f"{get_column_letter(min(cols))}{min(rows)}"
                    bottom_right = f"{get_column_letter(max(cols))}{max(rows)}"
                    target_ws.merge_cells(f"{top_left}:{bottom_right}")
                    rec.changes.append(
                        f"保留合并单元格 {_where(ws, str(merged))} → {_where(target_ws, top_left + ':' + bottom_right)}"
                    )
                    continue
            rec.changes.append(
                f"未保留合并单元格 {_where(ws, str(merged))}（它会遮住填报单元格或跨越了不同的区域）"
            )


def _other_content(rec: _Recovery) -> list[tuple[Worksheet, Cell]]:
    """Cells of contract sheets that are neither inputs, computed cells nor contract texts."""
    found = []
    for title, ws in rec.sheets.items():
        if ws is None:
            continue
        known = _reference_texts().get(title, frozenset())
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell, MergedCell) or (ws.title, cell.coordinate) in rec.consumed:
                    continue
                empty = _blank(cell.value)
                if empty and cell.comment is None:
                    continue
                if not empty and (_own_formula(cell) or _norm(cell.value) in known) and cell.comment is None:
                    continue
                found.append((ws, cell))
    return found


def _write_other_content(rec: _Recovery, new: Workbook, cells: list[tuple[Worksheet, Cell]]) -> str:
    title = OTHER_SHEET
    number = 2
    while title in new.sheetnames:
        title, number = f"{OTHER_SHEET}{number}", number + 1
    ws = new.create_sheet(title)
    ws.append(["原工作表", "原单元格", "内容", "批注", "说明"])
    for col, width in zip("ABCDE", (14, 10, 50, 30, 30), strict=True):
        ws.column_dimensions[col].width = width
    for index, (sheet, cell) in enumerate(cells, 2):
        ws.cell(index, 1, sheet.title).data_type = "s"
        ws.cell(index, 2, cell.coordinate)
        target = ws.cell(index, 3)
        note = ""
        if _is_formula(cell):
            target.value = _formula_text(cell)
            target.data_type = "s"
            cached = _cached_value(rec, cell)
            note = f"原为公式，当时的结果为「{_show(cached)}」" if cached is not None else "原为公式"
        elif not _blank(cell.value):
            _write_exact(target, cell)
            if isinstance(cell.value, dt.datetime | dt.date | dt.time):
                target.number_format = cell.number_format
        if cell.comment is not None:
            ws.cell(index, 4, cell.comment.text).data_type = "s"
        ws.cell(index, 5, note)
    return title


def _copy_sheet(rec: _Recovery, source: Worksheet, new: Workbook) -> tuple[str, list[tuple[str, object]]]:
    """Copy a sheet the user added: values with their types, styles, sizes, merges, comments."""
    target = new.create_sheet(source.title)
    formulas: list[tuple[str, object]] = []
    for row in source.iter_rows():
        for cell in row:
            if isinstance(cell, MergedCell):
                continue
            if cell.value is None and not cell.has_style and cell.comment is None:
                continue
            out = target.cell(cell.row, cell.column)
            if cell.value is not None:
                _write_exact(out, cell)
                if _is_formula(cell) and isinstance(cell.value, str):
                    formulas.append((cell.coordinate, _cached_value(rec, cell)))
            if cell.has_style:
                out.font, out.fill, out.border = copy(cell.font), copy(cell.fill), copy(cell.border)
                out.alignment, out.protection = copy(cell.alignment), copy(cell.protection)
                out.number_format = cell.number_format
            _copy_comment(out, cell)
    for merged in source.merged_cells.ranges:
        target.merge_cells(str(merged))
    for key, dim in source.column_dimensions.items():
        if dim.width:
            target.column_dimensions[key].width = dim.width
        target.column_dimensions[key].hidden = dim.hidden
    for key, dim in source.row_dimensions.items():
        if dim.height:
            target.row_dimensions[key].height = dim.height
        target.row_dimensions[key].hidden = dim.hidden
    target.freeze_panes = source.freeze_panes
    target.sheet_state = source.sheet_state
    if source.sheet_properties.tabColor is not None:
        target.sheet_properties.tabColor = copy(source.sheet_properties.tabColor)
    for validation in source.data_validations.dataValidation:
        target.add_data_validation(copy(validation))
    lost = []
    for what, items, add in (
        ("图表", source._charts, target.add_chart),
        ("图片", source._images, target.add_image),
    ):
        for item in items:
            try:
                add(item, item.anchor) if what == "图片" else add(item)
            except Exception:  # openpyxl cannot always re-anchor a loaded drawing
                lost.append(what)
    if source.conditional_formatting:
        for rng in source.conditional_formatting:
            for rule in rng.rules:
                target.conditional_formatting.add(str(rng.sqref), copy(rule))
    if lost:
        rec.attention.append(
            f"工作表「{source.title}」中的 {len(lost)} 个{'、'.join(sorted(set(lost)))}未能搬移，请手工补回"
        )
    return target.title, formulas


def _user_names(rec: _Recovery, new: Workbook, copied: set[str]) -> None:
    contract = _contract_names()
    for name, defined in rec.wb.defined_names.items():
        if name in contract or name.startswith("_xlnm"):
            continue
        text = str(defined.attr_text or "")
        touches_contract = any(title in text for title in c.SHEETS) or any(
            ws is not None and ws.title in text for ws in rec.sheets.values()
        )
        if touches_contract:
            rec.attention.append(
                f"自定义名称 {name}（{_show(text)}）引用了约定工作表，位置可能已变化，未搬移，请手工重建"
            )
            continue
        if "!" in text and not any(title in text for title in copied):
            rec.attention.append(f"自定义名称 {name}（{_show(text)}）引用的工作表不存在，未搬移")
            continue
        new.defined_names[name] = DefinedName(name, attr_text=text)
        rec.changes.append(f"保留自定义名称 {name}")


def _excel_value(value: object) -> object:
    """A cached value as the patch writer takes it."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return to_excel(value)
    if isinstance(value, str) and value in EXCEL_ERROR_CODES:
        return ExcelError(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _verify(source: Path, built: Path, carries: list[_Carry]) -> None:
    """Re-read the new workbook and compare every carried input with the original (自检); refuse on any difference."""
    wanted: dict[str, set[str]] = {}
    for carry in carries:
        wanted.setdefault(carry.target_sheet, set()).add(carry.target)
    wb = load_workbook(built, read_only=True, data_only=False, keep_links=False)
    found: dict[tuple[str, str], object] = {}
    try:
        for title, coords in wanted.items():
            for row in wb[title].iter_rows():
                for cell in row:
                    coordinate = getattr(cell, "coordinate", None)
                    if coordinate in coords:
                        found[(title, coordinate)] = cell
    finally:
        wb.close()
    for carry in carries:
        new = found.get((carry.target_sheet, carry.target))
        old = carry.source
        if (new is None or new.value is None) and old.value is None:
            continue
        if new is None:
            raise UpgradeRefused(
                f"升级自检失败：{carry.what}（{_where(old.parent, old.coordinate)}）在新工作簿中找不到；"
                "为避免丢失数据，未写出任何文件。请将工作簿反馈给维护人员",
                path=str(source),
            )
        if new.value is None and old.value is None:
            continue
        same_type = new.data_type == old.data_type or {new.data_type, old.data_type} <= {"n", "d"}
        same_value = new.value == old.value or (
            _is_formula(old) and _formula_text(new).lstrip("=") == _formula_text(old).lstrip("=")
        )
        if not (same_type and same_value):
            raise UpgradeRefused(
                f"升级自检失败：{carry.what}（{_where(old.parent, old.coordinate)}）原为「{_show(old.value)}」，"
                f"新工作簿 {_where(carry.target_sheet, carry.target)} 为「{_show(new.value)}」；"
                "为避免丢失数据，未写出任何文件。请将工作簿反馈给维护人员",
                path=str(source),
            )


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def diagnose_workbook(path: Path) -> UpgradeResult:
    """Find structural damage and an outdated layout (诊断工作簿结构), without writing anything.

    ``problems`` lists the damage in Chinese (empty for a sound, current workbook); ``attention``
    what an upgrade could not repair.  Raises :class:`~xlperf.errors.XlperfError` if unreadable.
    """
    path = Path(path)
    rec, warnings = _recover(path)
    result = UpgradeResult(path, rec.version, rec.problems, rec.changes, rec.attention, warnings)
    result.attention.extend(rec.unsafe)
    return result


def _rubric_notes(data: UnitData) -> list[str]:
    if not data.indicators:
        return []
    _, problems = build_rubric(data.indicators)
    return [f"评分体系（未修改，请在「{c.S_RUBRIC}」中核对）：{p.message}" for p in problems]


def default_output(path: Path) -> Path:
    """Where ``xlperf upgrade BOOK`` writes without ``-o`` (默认输出): ``名称_已升级.xlsx`` beside it."""
    return path.with_name(f"{path.stem}_已升级.xlsx")


def upgrade_workbook(path: Path, output: Path | None = None, *, in_place: bool = False) -> UpgradeResult:
    """Repair ``path`` into a fresh workbook with every input carried over (升级并修复工作簿).

    Writes ``output`` (default :func:`default_output`), or replaces ``path`` after a backup when
    ``in_place``.  Nothing is written when the workbook needs no repair.  Raises
    :class:`~xlperf.errors.XlperfError` (Chinese) when the file is unreadable, the repair is not safe
    or the output cannot be written; the input is then unchanged.
    """
    path = Path(path)
    if in_place and output is not None:
        raise OutputError("-o 与 --in-place 不能同时使用", path=str(path))
    target = path if in_place else Path(output) if output is not None else default_output(path)
    if not in_place and target.resolve() == path.resolve():
        raise OutputError(
            "输出文件与输入文件相同；如需覆盖原文件请使用 --in-place（会先备份）", path=str(path)
        )
    if target.suffix.lower() != ".xlsx" and not (in_place and path.suffix.lower() == ".xlsx"):
        raise OutputError(
            "升级后的工作簿为不含宏的 .xlsx 文件，输出文件名必须以 .xlsx 结尾"
            + ("；原文件是 .xlsm，请用 -o 指定新的 .xlsx 文件，不能原地覆盖" if in_place else ""),
            path=str(target),
        )
    rec, warnings = _recover(path)
    result = UpgradeResult(path, rec.version, rec.problems, rec.changes, rec.attention, warnings)
    if rec.unsafe:
        raise UpgradeRefused("无法安全修复，未写出任何文件：" + "；".join(rec.unsafe), path=str(path))
    data, carries = _data(rec)
    result.attention.extend(_rubric_notes(data))
    if not rec.problems:
        result.changes = []
        return result
    with zipfile.ZipFile(path) as zf:
        has_macros = any(n.lower() == "xl/vbaproject.bin" for n in zf.namelist())
    if has_macros:
        result.attention.append(
            "原工作簿含宏（VBA），升级后的 .xlsx 不含宏；如需功能区按钮，请重新安装 xlperf 的 Excel 加载项"
        )

    new = new_workbook(data)
    mapping, styles, comments = _place(rec, new, carries)
    _merges(rec, new, mapping)
    others = _other_content(rec)
    if len(others) > MAX_OTHER_CELLS:
        raise UpgradeRefused(
            f"有 {len(others):,} 个单元格在新的布局中没有对应位置，超过可保留的 {MAX_OTHER_CELLS:,} 个"
            f"（它们会被保留在工作表「{OTHER_SHEET}」，过多时升级后的工作簿将超过读取上限）；"
            "请先删除或移走这些数据（如粘贴在约定工作表中的明细）后再升级；未写出任何文件",
            path=str(path),
        )
    if others:
        sheet = _write_other_content(rec, new, others)
        where = "、".join(_where(ws, cell.coordinate) for ws, cell in others[:8])
        more = f" 等 {len(others)} 处" if len(others) > 8 else ""
        rec.attention.append(
            f"{len(others)} 个单元格在新的布局中没有对应位置（{where}{more}），已原样保存在工作表「{sheet}」，请核对后移回"
        )
    spare = [ws for ws in rec.wb.worksheets if ws not in rec.sheets.values()]
    formula_cells: dict[tuple[str, str], object] = {}
    for carry in carries:
        if _is_formula(carry.source) and isinstance(carry.source.value, str):
            formula_cells[(carry.target_sheet, carry.target)] = Formula(
                carry.source.value, _excel_value(_cached_value(rec, carry.source))
            )
            if (carry.source.parent.title, carry.source.coordinate) != (carry.target_sheet, carry.target):
                rec.changes.append(
                    f"{carry.what}的公式 {carry.source.value} 已原样搬到 {_where(carry.target_sheet, carry.target)}，"
                    "其位置有变化，若公式引用了其他单元格请核对"
                )
    copied: set[str] = set()
    for ws in spare:
        title, formulas = _copy_sheet(rec, ws, new)
        copied.add(title)
        rec.changes.append(f"保留用户添加的工作表「{title}」")
        for coord, value in formulas:
            formula_cells[(title, coord)] = Formula(str(new[title][coord].value), _excel_value(value))
    _user_names(rec, new, copied)
    result.carried = len(carries)
    rec.changes.append(
        f"搬入填报值 {len(carries)} 项"
        + (f"，保留批注 {comments} 条" if comments else "")
        + (f"，保留单元格格式 {styles} 处" if styles else "")
    )
    rec.changes.append(f"按当前约定（布局版本 {c.LAYOUT_VERSION}）重建工作表、名称、表格、数据验证和计算公式")

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".xlperf-upgrade-") as tmp:
            skeleton = Path(tmp) / "skeleton.xlsx"
            new.save(skeleton)
            if formula_cells:
                patch_workbook(skeleton, skeleton, formula_cells)
            _verify(path, skeleton, carries)  # the build then changes computed cells only
            built = build_workbook(skeleton, Path(tmp) / "out")
            assert built.output is not None
            if in_place:
                result.backup = backup_file(path)
            os.replace(built.output, target)
    except XlperfError as exc:
        if exc.path is None or exc.path in (str(path), str(target)):
            raise
        # about the new workbook in the temporary folder, a path the user never gave: name theirs
        raise type(exc)(
            f"升级后的工作簿未能生成（{exc.message}）；未写出任何文件",
            path=str(path),
            sheet=exc.sheet,
            cell=exc.cell,
        ) from None
    except OSError as exc:
        raise OutputError(f"无法写入升级后的工作簿：{exc.strerror or exc}", path=str(target)) from None
    result.output = target
    return result


def format_report(result: UpgradeResult) -> str:
    """The Chinese report of an upgrade or diagnosis (升级报告), one item a line."""
    lines = [f"工作簿：{result.source}（布局版本 {result.version}，当前版本 {c.LAYOUT_VERSION}）"]
    lines += [f"注意：{w}" for w in result.warnings]
    if not result.problems:
        lines.append("结构完好，布局为最新版本，无需升级；未写出任何文件。")
    else:
        lines.append(f"发现的问题（{len(result.problems)} 项）：")
        lines += [f"  - {p}" for p in result.problems]
    if result.output is not None:
        lines.append(f"已做的修改（{len(result.changes)} 项）：")
        lines += [f"  - {ch}" for ch in result.changes]
    if result.attention:
        lines.append(f"需要人工处理（{len(result.attention)} 项）：")
        lines += [f"  - {a}" for a in result.attention]
    if result.output is not None:
        lines.append(f"已写出：{result.output}")
    if result.backup is not None:
        lines.append(f"原文件已备份为：{result.backup}")
    return "\n".join(lines)


def upgrade_command(book: Path, output: Path | None = None, *, in_place: bool = False) -> int:
    """The ``xlperf upgrade BOOK [-o OUT] [--in-place]`` command (升级命令): print the report, return the exit code.

    Exit codes: 0 repaired, or nothing to repair; 1 written (or sound) but something needs a person
    (listed under 需要人工处理); errors (:class:`~xlperf.errors.XlperfError`, exit code 2: unreadable
    file, newer layout, unsafe repair, unwritable output) propagate to the CLI, which prints them.
    """
    result = upgrade_workbook(Path(book), Path(output) if output else None, in_place=in_place)
    print(format_report(result))
    return result.exit_code


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m xlperf.workbook.upgrade BOOK [-o OUT] [--in-place]`` (独立入口): the same as ``xlperf upgrade``."""
    from ..cli import main as cli_main

    return cli_main(["upgrade", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
