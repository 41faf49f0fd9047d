"""Carry over (搬入): the recovered inputs as :class:`~xlperf.core.model.UnitData`, placed with their
exact values, formats, comments and merges into a fresh workbook; other content and the user's own
sheets and names kept."""

from __future__ import annotations

import datetime as dt
from copy import copy
from dataclasses import dataclass, replace

from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.comments import Comment
from openpyxl.utils import get_column_letter, range_boundaries
from openpyxl.utils.datetime import to_excel
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from ...core.fields import DEFAULT_SETTINGS, FIELDS
from ...core.model import Ref, UnitData
from ...io.xlsxpatch import EXCEL_ERROR_CODES, ExcelError
from .. import contract as c
from ..create import blank_data
from ..read import Locator, TablePos, contract_inputs
from .recover import (
    INPUT_SHEETS,
    INPUT_TABLES,
    FoundTable,
    Recovery,
    blank,
    contract_names,
    formula_text,
    is_formula,
    norm,
    own_formula,
    reference_texts,
    show,
    where,
)
from .result import OTHER_SHEET


@dataclass
class Carry:
    """One input carried from an old cell to a new one."""

    what: str
    source: Cell
    target_sheet: str = ""
    target: str = ""


def cached_value(rec: Recovery, cell: Cell) -> object:
    """The cached result of a formula cell in the old workbook (公式的缓存结果)."""
    title = cell.parent.title
    if title not in rec.cached.sheetnames:
        return None
    return rec.cached[title][cell.coordinate].value


def _layout_value(rec: Recovery, cell: Cell | None) -> object:
    """The value a cell shows (a formula's cached result), for laying out the new workbook."""
    if cell is None or isinstance(cell, MergedCell):
        return None
    if is_formula(cell):
        return None if own_formula(cell) else cached_value(rec, cell)
    return cell.value


def recovered_data(rec: Recovery) -> tuple[UnitData, list[Carry]]:
    """Recovered inputs as :class:`UnitData` (for the layout) and the cells to copy exactly.

    The values are read by the contract reader (:func:`xlperf.workbook.read.contract_inputs`) through a
    :class:`~xlperf.workbook.read.Locator` of where recovery found each field and table; a formula cell
    gives its cached result, a computed column nothing.
    """
    carries: list[Carry] = []
    defaults: dict[str, object] = {}
    found = Locator()
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
                defaults[f.key] = default
            continue
        found.names[f.key] = (cell.parent.title, cell.coordinate)
        if not isinstance(cell, MergedCell) and not own_formula(cell):
            carries.append(Carry(f"「{f.label}」", cell))
    quarters = None  # the template's four quarters, when the table is lost
    for spec_name in INPUT_TABLES:
        spec = next(t for t in c.TABLES if t.name == spec_name)
        table = rec.tables.get(spec_name)
        if table is None:
            if spec is c.QUARTERS:
                quarters = blank_data("", 2024).quarters
                rec.changes.append("季度支出表按模板恢复了四个季度及序时进度，请填写累计支出")
            if rec.sheets.get(spec.sheet) is not None:
                rec.attention.append(f"表格「{spec.caption}」找不到，新工作簿中为空表，请重新填写")
            continue
        letters = {header: get_column_letter(col) for header, col in table.columns.items()}
        first = table.header_row + 1
        found.tables[spec_name] = TablePos(
            spec, table.ws.title, table.header_row, first, first + len(table.rows) - 1, letters
        )
        for index in range(len(table.rows)):
            for column in spec.columns:
                cell = table.cell(column.header, index)
                if (
                    column.attr
                    and cell is not None
                    and not isinstance(cell, MergedCell)
                    and not own_formula(cell)
                ):
                    carries.append(Carry(f"「{spec.caption}」第{index + 1}行「{column.header}」", cell))
        _manual_overrides(rec, table)
    for title in INPUT_SHEETS:
        if rec.sheets.get(title) is None:
            rec.attention.append(
                f"工作表「{title}」已被删除，其中的填报内容无法恢复，新工作簿中已重建该表，请重新填写"
            )

    def value(sheet: str, address: str, ref: Ref) -> object:
        if ref.table is not None and c.TABLE_BY_CAPTION[ref.table].column(ref.key).role == c.COMPUTED:
            return None
        return _layout_value(rec, rec.wb[sheet][address])

    data = contract_inputs(found, value)
    read = {**data.fields, **defaults}
    fields = {f.key: read[f.key] for f in FIELDS if f.key in read}
    return replace(data, fields=fields, quarters=data.quarters if quarters is None else quarters), carries


def _manual_overrides(rec: Recovery, table: FoundTable) -> None:
    """Values typed over computed cells: the new workbook computes them again; say so."""
    for column in table.spec.columns:
        if column.role != c.COMPUTED or column.header not in table.columns:
            continue
        for index in range(len(table.rows)):
            cell = table.cell(column.header, index)
            if cell is None or isinstance(cell, MergedCell) or blank(cell.value) or own_formula(cell):
                continue
            if column.header == "扣分原因" and not is_formula(cell):
                continue  # written by the build as plain text in older layouts
            rec.changes.append(
                f"{where(table.ws, cell.coordinate)}（「{table.spec.caption}」第{index + 1}行「{column.header}」）"
                f"原为手工填写的「{show(cell.value)}」，新工作簿恢复为计算公式"
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


def place_inputs(
    rec: Recovery,
    new: Workbook,
    carries: list[Carry],
) -> tuple[dict[tuple[str, str], tuple[str, str]], int, int]:
    """Write every carried input into the new workbook; return the cell mapping and counts."""
    names, tables = _new_places(new)
    mapping: dict[tuple[str, str], tuple[str, str]] = {}
    key_of = {id(cell): key for key, cell in rec.fields.items() if cell is not None}
    table_of: dict[int, tuple[str, int, str]] = {}
    for spec_name, table in rec.tables.items():
        if table is None or spec_name not in INPUT_TABLES:
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


def carry_merges(rec: Recovery, new: Workbook, mapping: dict[tuple[str, str], tuple[str, str]]) -> None:
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
                        f"保留合并单元格 {where(ws, str(merged))} → {where(target_ws, top_left + ':' + bottom_right)}"
                    )
                    continue
            rec.changes.append(
                f"未保留合并单元格 {where(ws, str(merged))}（它会遮住填报单元格或跨越了不同的区域）"
            )


def other_content(rec: Recovery) -> list[tuple[Worksheet, Cell]]:
    """Cells of contract sheets that are neither inputs, computed cells nor contract texts."""
    found = []
    for title, ws in rec.sheets.items():
        if ws is None:
            continue
        known = reference_texts().get(title, frozenset())
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell, MergedCell) or (ws.title, cell.coordinate) in rec.consumed:
                    continue
                empty = blank(cell.value)
                if empty and cell.comment is None:
                    continue
                if not empty and (own_formula(cell) or norm(cell.value) in known) and cell.comment is None:
                    continue
                found.append((ws, cell))
    return found


def write_other_content(rec: Recovery, new: Workbook, cells: list[tuple[Worksheet, Cell]]) -> str:
    """Keep cells that have no place in the new layout on the sheet 「升级前其他内容」; returns its title."""
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
        if is_formula(cell):
            target.value = formula_text(cell)
            target.data_type = "s"
            cached = cached_value(rec, cell)
            note = f"原为公式，当时的结果为「{show(cached)}」" if cached is not None else "原为公式"
        elif not blank(cell.value):
            _write_exact(target, cell)
            if isinstance(cell.value, dt.datetime | dt.date | dt.time):
                target.number_format = cell.number_format
        if cell.comment is not None:
            ws.cell(index, 4, cell.comment.text).data_type = "s"
        ws.cell(index, 5, note)
    return title


def copy_sheet(rec: Recovery, source: Worksheet, new: Workbook) -> tuple[str, list[tuple[str, object]]]:
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
                if is_formula(cell) and isinstance(cell.value, str):
                    formulas.append((cell.coordinate, cached_value(rec, cell)))
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


def user_names(rec: Recovery, new: Workbook, copied: set[str]) -> None:
    """Carry the user's own defined names (用户名称) that still point somewhere."""
    contract = contract_names()
    for name, defined in rec.wb.defined_names.items():
        if name in contract or name.startswith("_xlnm"):
            continue
        text = str(defined.attr_text or "")
        touches_contract = any(title in text for title in c.SHEETS) or any(
            ws is not None and ws.title in text for ws in rec.sheets.values()
        )
        if touches_contract:
            rec.attention.append(
                f"自定义名称 {name}（{show(text)}）引用了约定工作表，位置可能已变化，未搬移，请手工重建"
            )
            continue
        if "!" in text and not any(title in text for title in copied):
            rec.attention.append(f"自定义名称 {name}（{show(text)}）引用的工作表不存在，未搬移")
            continue
        new.defined_names[name] = DefinedName(name, attr_text=text)
        rec.changes.append(f"保留自定义名称 {name}")


def excel_value(value: object) -> object:
    """A cached value as the patch writer takes it."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return to_excel(value)
    if isinstance(value, str) and value in EXCEL_ERROR_CODES:
        return ExcelError(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)
