"""Recovery (恢复): open an old or damaged workbook and find where every input is.

A field by its label, a table by its header row, a sheet by its content when it was renamed; the
damage found is described in Chinese (:func:`diagnose_workbook`).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from ...core.fields import FIELDS, Field
from ...core.metrics import METRICS
from ...core.model import UnitData
from ...errors import UnreadableFileError, XlperfError
from ...io.safety import (
    MAX_MERGED_CELLS,
    MAX_UPGRADE_ELEMENTS,
    inspect_workbook_file,
    merged_area,
    part_limit,
)
from .. import contract as c
from ..create import new_workbook
from ..read import is_own_formula
from .result import UpgradeRefused, UpgradeResult

_SCAN_ROWS = 3000  # rows of a contract sheet searched for labels and header rows
#: The contract tables that hold inputs (填报表格), in the order they are carried.
INPUT_TABLES = (c.TEAM.name, c.CLASSES.name, c.QUARTERS.name, c.GOALS.name, c.RUBRIC.name)
INPUT_SHEETS = {c.SECTION_SHEETS[f.section] for f in FIELDS} | {
    t.sheet for t in c.TABLES if t.name in INPUT_TABLES
}


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


def norm(value: object) -> str:
    """Text as compared with the contract: NFKC, stripped; non-text gives ``""``."""
    if not isinstance(value, str):
        return ""
    return unicodedata.normalize("NFKC", value).strip()


def blank(value: object) -> bool:
    """An empty or whitespace-only cell value (空白)."""
    return value is None or (isinstance(value, str) and not value.strip())


def where(ws: Worksheet | str, coord: str) -> str:
    """A cell address for a message (位置): ``工作表!A1``."""
    title = ws if isinstance(ws, str) else ws.title
    return f"{title}!{coord}"


def show(value: object, limit: int = 40) -> str:
    """A cell value for a message: text cut to ``limit`` characters."""
    if isinstance(value, dt.datetime | dt.date):
        text = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    else:
        text = str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_formula(cell: Cell) -> bool:
    """The cell holds a formula (公式单元格)."""
    return cell.data_type == "f"


def formula_text(cell: Cell) -> str:
    """A formula cell's text, also for an array formula (公式文本)."""
    value = cell.value
    return value if isinstance(value, str) else str(getattr(value, "text", "") or "")


def own_formula(cell: Cell) -> bool:
    """A formula xlperf itself writes (xlperf 的计算公式), not the user's."""
    return is_formula(cell) and is_own_formula(formula_text(cell))


@lru_cache(maxsize=1)
def reference_texts() -> dict[str, frozenset[str]]:
    """Every text a fresh, empty workbook shows on each contract sheet (约定文字): titles, labels …."""
    wb = new_workbook(UnitData(fields={}))
    texts: dict[str, frozenset[str]] = {}
    for ws in wb.worksheets:
        found = {norm(v) for row in ws.iter_rows(values_only=True) for v in row if norm(v)}
        texts[ws.title] = frozenset(found)
    return texts


def contract_names() -> set[str]:
    """Every defined name the contract owns (约定名称)."""
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
            f"无法作为 Excel 工作簿打开（{type(exc).__name__}: {show(exc, 120)}）", path=str(path)
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
class FoundTable:
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
class Recovery:
    """Everything found in the old workbook (恢复结果)."""

    wb: Workbook
    path: Path
    version: int
    sheets: dict[str, Worksheet | None] = field(default_factory=dict)
    fields: dict[str, Cell | None] = field(default_factory=dict)
    labels: dict[str, Cell] = field(default_factory=dict)
    tables: dict[str, FoundTable | None] = field(default_factory=dict)
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
        norm(v)
        for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, rows), max_col=cols, values_only=True)
        for v in row
        if norm(v)
    }


def _similarity(wb: Workbook, ws: Worksheet, title: str) -> float:
    """How much ``ws`` looks like the contract sheet ``title`` (0 … 2)."""
    expected = reference_texts().get(title, frozenset())
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


def _match_sheets(rec: Recovery) -> None:
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


def _named_cell(rec: Recovery, key: str) -> tuple[Worksheet | None, int, int, str]:
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
        return None, 0, 0, f"名称 {key} 不是单元格引用（{show(text)}）"
    if len(destinations) != 1:
        return None, 0, 0, f"名称 {key} 的引用无法识别（{show(text)}）"
    sheet, ref = destinations[0]
    ws = rec.wb[sheet] if sheet in rec.wb.sheetnames else rec.sheets.get(sheet)
    if ws is None:
        return None, 0, 0, f"名称 {key} 指向的工作表「{sheet}」不存在"
    try:
        min_col, min_row = range_boundaries(ref.replace("$", ""))[:2]
    except ValueError:
        return None, 0, 0, f"名称 {key} 的引用无法识别（{show(text)}）"
    return ws, min_row or 1, min_col or 1, ""


def _label_positions(ws: Worksheet) -> dict[str, list[tuple[int, int]]]:
    found: dict[str, list[tuple[int, int]]] = {}
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, _SCAN_ROWS), max_col=12):
        for cell in row:
            text = norm(cell.value)
            if text:
                found.setdefault(text, []).append((cell.row, cell.column))
    return found


def _value_offset(ws: Worksheet, fields: Sequence[Field], labels: dict[str, list[tuple[int, int]]]) -> int:
    """Columns between a field's label and its value (1 in the contract; more after inserted columns).

    Decided by where the unit texts (万元, 人 …) are, which sit just right of the value cells.
    """
    votes = dict.fromkeys((1, 2, 3, 4), 0)
    for f in fields:
        places = labels.get(norm(f.label), [])
        if f.unit and len(places) == 1:
            row, col = places[0]
            for offset in votes:
                if norm(ws.cell(row, col + offset + 1).value) == norm(f.unit):
                    votes[offset] += 1
    best = max(votes, key=lambda k: (votes[k], -k))
    return best if votes[best] else 1


def _locate_fields(rec: Recovery) -> None:
    """Find every field by its label (and check its defined name against it)."""
    all_labels = {norm(f.label) for f in FIELDS}
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
            rec.fields[f.key] = _locate_field(rec, ws, f, labels.get(norm(f.label), []), offset, all_labels)


def _locate_field(
    rec: Recovery,
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
            rec.changes.append(f"名称 {f.key} 已重建，按标签「{f.label}」指向 {where(ws, found.coordinate)}")
        else:
            old = ws.cell(row, col)
            shown = ws.cell(row, max(col - offset, 1)).value
            there = norm(shown)
            if row == label_row:
                rec.problems.append(
                    f"名称 {f.key}（{f.label}）指向 {where(ws, old.coordinate)}，但数值在 "
                    f"{where(ws, found.coordinate)}——名称已过期（可能插入或删除了列）"
                )
            else:
                rec.problems.append(
                    f"名称 {f.key}（{f.label}）指向 {where(ws, old.coordinate)}，但那一行是「{show(shown or '') or '空白'}」"
                    "——名称已过期（可能插入或删除了行）"
                )
            rec.changes.append(
                f"名称 {f.key} 由 {where(ws, old.coordinate)} 改为按标签找到的 {where(ws, found.coordinate)}"
            )
        return found
    if named_ws is not None:
        shown = ws.cell(row, max(col - offset, 1)).value
        there = norm(shown)
        if there in all_labels:
            rec.problems.append(
                f"名称 {f.key}（{f.label}）指向 {where(ws, ws.cell(row, col).coordinate)}，那是「{show(shown)}」的位置，"
                f"且工作表中找不到标签「{f.label}」"
            )
            return None
        rec.changes.append(
            f"找不到标签「{f.label}」（可能被修改为「{show(shown or '') or '空白'}」），按名称 {f.key} 读取 "
            f"{where(ws, ws.cell(row, col).coordinate)}；新工作簿恢复约定的标签"
        )
        rec.labels[f.key] = ws.cell(row, max(col - offset, 1))
        return ws.cell(row, col)
    rec.problems.append(f"{broken or f'缺少名称 {f.key}'}，且工作表「{ws.title}」中找不到标签「{f.label}」")
    return None


def _header_row(ws: Worksheet, spec: c.TableSpec, hint: int | None) -> tuple[int, dict[str, int]] | None:
    """The row holding most of ``spec``'s headers (the hint row wins ties) and their columns."""
    wanted = {norm(col.header): col.header for col in spec.columns}
    need = max(2, (len(wanted) + 1) // 2)
    best: tuple[int, int, dict[str, int]] | None = None
    for row in ws.iter_rows(min_row=1, max_row=min(ws.max_row, _SCAN_ROWS)):
        columns: dict[str, int] = {}
        for cell in row:
            text = norm(cell.value)
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
    rec: Recovery, ws: Worksheet, spec: c.TableSpec, header_row: int, columns: dict[str, int]
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
        text = norm(ws.cell(header_row, candidate).value)
        if text and text not in {norm(h) for h in headers} and candidate not in columns.values():
            columns[header] = candidate
            rec.problems.append(f"表格「{spec.caption}」的列「{header}」被改名为「{text}」")
            rec.changes.append(f"表格「{spec.caption}」的列「{text}」按位置视为「{header}」，恢复约定列名")


@lru_cache(maxsize=1)
def _stop_texts() -> frozenset[str]:
    """Texts that start something else on a sheet (a section, a caption, a field label): a table ends there."""
    texts = {norm(f.section) for f in FIELDS} | {norm(t.caption) for t in c.TABLES}
    return frozenset(texts | {norm(f.label) for f in FIELDS})


def _locate_table(rec: Recovery, spec: c.TableSpec) -> FoundTable | None:
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
                f"表格「{spec.caption}」（{where(ws, obj_ref)}）的表头行已找不到（表头被改写或删除）"
            )
        return None
    header_row, columns = found
    _rename_by_position(rec, ws, spec, header_row, columns)
    for column in spec.columns:
        if column.header not in columns:
            rec.problems.append(
                f"表格「{spec.caption}」缺少列「{column.header}」（工作表「{ws.title}」第{header_row}行）"
            )
    table = FoundTable(spec, ws, header_row, columns, [])
    first, last = table.span
    stops = _stop_texts()

    def blank_row(row: int) -> bool:
        return all(blank(ws.cell(row, col).value) for col in range(first, last + 1))

    def stop_row(row: int) -> bool:
        return any(norm(ws.cell(row, col).value) in stops for col in range(1, first + 1))

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
                f"表格「{spec.caption}」的范围 {where(obj_ws or ws, obj_ref)} 已过期，数据实际在 {where(ws, expected)}"
                "（可能插入或删除了行，或用不更新引用的工具编辑过）"
            )
    rec.take(ws, ws.cell(header_row, first).coordinate)
    for col in columns.values():
        rec.take(ws, ws.cell(header_row, col).coordinate)
    for row in table.rows:  # only the contract's columns: a column the user added is kept elsewhere
        for col in columns.values():
            rec.take(ws, ws.cell(row, col).coordinate)
    return table


def _locate_computed(rec: Recovery) -> None:
    """Cells xlperf writes (rates, totals, 校验结果 rows): consumed, and their names checked."""
    rates = rec.sheets.get(c.S_RATES)
    if rates is not None:
        labels = _label_positions(rates)
        for metric in METRICS:
            for row, col in labels.get(norm(metric.label), [])[:1]:
                for offset in (1, 2):
                    rec.take(rates, rates.cell(row, col + offset).coordinate)
                _check_name(rec, c.rate_name(metric.key), rates, row, col + 1)
    summary = rec.sheets.get(c.S_SUMMARY)
    if summary is not None:
        labels = _label_positions(summary)
        for name, label, _ in c.SUMMARY_NAMES:
            for row, col in labels.get(norm(label), [])[:1]:
                rec.take(summary, summary.cell(row, col + 1).coordinate)
                _check_name(rec, name, summary, row, col + 1)
    findings = rec.sheets.get(c.S_FINDINGS)
    if findings is not None:
        header = None
        for row in findings.iter_rows(min_row=1, max_row=min(findings.max_row, 50)):
            texts = [norm(cell.value) for cell in row[: len(c.FINDING_HEADERS)]]
            if tuple(texts) == tuple(norm(h) for h in c.FINDING_HEADERS):
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


def _check_name(rec: Recovery, name: str, ws: Worksheet, row: int, col: int) -> None:
    named_ws, named_row, named_col, broken = _named_cell(rec, name)
    if broken:
        rec.problems.append(broken)
    elif named_ws is not ws or (named_row, named_col) != (row, col):
        rec.problems.append(
            f"名称 {name} 指向 {where(named_ws or ws, get_column_letter(named_col) + str(named_row))}，"
            f"应为 {where(ws, get_column_letter(col) + str(row))}（名称已过期）"
        )


def _check_range_names(rec: Recovery) -> None:
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


def _check_range(rec: Recovery, name: str, ws: Worksheet, expected: str) -> None:
    defined = rec.wb.defined_names.get(name)
    if defined is None:
        rec.problems.append(f"缺少名称 {name}")
        return
    try:
        destinations = list(defined.destinations)
    except Exception:
        destinations = []
    if len(destinations) != 1:
        rec.problems.append(f"名称 {name} 的引用无法识别（{show(defined.attr_text)}）")
        return
    sheet, ref = destinations[0]
    if sheet not in rec.wb.sheetnames or rec.wb[sheet] is not ws:
        rec.problems.append(f"名称 {name} 指向工作表「{sheet}」，应为「{ws.title}」")
    elif ref.replace("$", "") != expected:
        rec.problems.append(
            f"名称 {name} 指向 {where(ws, ref.replace('$', ''))}，应为 {where(ws, expected)}（已过期）"
        )


def recover(path: Path) -> tuple[Recovery, list[str]]:
    """Open ``path`` and find every sheet, field and table of the contract in it (恢复), with the warnings."""
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
    rec = Recovery(wb, path, version)
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


def diagnose_workbook(path: Path) -> UpgradeResult:
    """Find structural damage and an outdated layout (诊断工作簿结构), without writing anything.

    ``problems`` lists the damage in Chinese (empty for a sound, current workbook); ``attention``
    what an upgrade could not repair.  Raises :class:`~xlperf.errors.XlperfError` if unreadable.
    """
    path = Path(path)
    rec, warnings = recover(path)
    result = UpgradeResult(path, rec.version, rec.problems, rec.changes, rec.attention, warnings)
    result.attention.extend(rec.unsafe)
    return result
