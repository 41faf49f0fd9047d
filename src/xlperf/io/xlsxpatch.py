"""Write results into an existing workbook by patching its sheet XML (XML 补丁写回).

openpyxl load + save drops x14 data validations, data-bar extensions, text boxes, sparklines and
every cached formula value (see ``shared/perf-notes.md`` §4).  :func:`patch_workbook` instead
edits only the ``<sheetData>`` (and ``<dimension>``) of the worksheets that receive values:

* a cell with a formula keeps the formula exactly; only its cached value ``<v>`` and type ``t``
  change (缓存值), so Excel, WPS, LibreOffice, openpyxl ``data_only=True`` and calamine read the
  result without recalculating;
* a cell without a formula gets a plain value (numbers, inline strings, booleans, errors);
* missing rows and cells are created in order.

Every other zip entry is copied as its raw compressed bytes: same order, names, compression
method, timestamps and attributes.  The output goes through :func:`xlperf.io.atomic.atomic_output`,
so the destination is never half-written, and ``src`` may equal ``dst``.

Values are encoded by :mod:`xlperf.io.xlsxvalues`, addresses by :mod:`xlperf.io.cellref`, the
package's parts and sheets found by :mod:`xlperf.io.opc`, its XML parsed by :mod:`xlperf.io.safexml`
and its entries copied by :mod:`xlperf.io.zipcopy`.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Mapping
from pathlib import Path

from lxml import etree

from xlperf.errors import OutputError, UnreadableFileError, WorkbookStructureError
from xlperf.io import opc
from xlperf.io.atomic import atomic_output
from xlperf.io.cellref import MAX_COL, MAX_ROW, column_index, column_letters, parse_range
from xlperf.io.opc import Package
from xlperf.io.safexml import parse_xml
from xlperf.io.xlsxvalues import (
    EMPTY_RESULT,
    EXCEL_ERROR_CODES,
    MAX_STRING_LENGTH,
    RESULT_TYPES,
    TRUNCATED,
    CellValue,
    ExcelError,
    Formula,
    Literal,
    fit_cell_text,
    format_number,
    group_values,
)
from xlperf.io.zipcopy import ZipWriter, copy_raw, write_new

# The value types are imported from here by callers that write a workbook (公式、错误值…).
__all__ = [
    "CURRENT_CALC_ID",
    "EXCEL_ERROR_CODES",
    "MAX_STRING_LENGTH",
    "TRUNCATED",
    "ExcelError",
    "Formula",
    "Literal",
    "fit_cell_text",
    "patch_workbook",
]

MAX_PART_BYTES = 512 * 2**20  # an XML part we parse may not declare more than this uncompressed


# --------------------------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------------------------

_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_XML_DECLARATION = re.compile(rb"<\?xml[^>]*\?>\s*")


def _serialize_xml(root: etree._Element, original: bytes) -> bytes:
    tree = root.getroottree()
    body = etree.tostring(tree, encoding="UTF-8", xml_declaration=False)
    encoding = (tree.docinfo.encoding or "UTF-8").upper().replace("-", "")
    match = _XML_DECLARATION.match(original)
    if match and encoding == "UTF8":
        return match.group(0) + body  # keep the original declaration, quotes and newline
    standalone = ' standalone="yes"' if tree.docinfo.standalone else ""
    return f'<?xml version="1.0" encoding="UTF-8"{standalone}?>\r\n'.encode("ascii") + body


def _namespace(element: etree._Element) -> str:
    return etree.QName(element).namespace or ""


def _find_child(parent: etree._Element, localname: str) -> etree._Element | None:
    for child in parent:
        if opc.localname(child) == localname:
            return child
    return None


def _sheet_parts(package: Package, workbook_part: str, workbook: etree._Element) -> dict[str, str | None]:
    """Sheet title -> worksheet part name (None for chart sheets, dialog sheets and the like)."""
    if _find_child(workbook, "sheets") is None:
        raise WorkbookStructureError("workbook.xml 中没有 <sheets>，工作簿已损坏", path=package.path)
    return {
        entry.title: entry.part if entry.kind == "worksheet" else None
        for entry in opc.sheet_map(workbook, package.relationships(workbook_part))
    }


def _lookup_sheet(parts: Mapping[str, str | None], title: str, src: Path) -> str:
    if title in parts:
        found = title
    else:  # Excel compares sheet titles case-insensitively
        matches = [name for name in parts if name.casefold() == title.casefold()]
        if len(matches) != 1:
            existing = "、".join(f"「{name}」" for name in parts) or "（无）"
            raise WorkbookStructureError(
                f"找不到该工作表（现有工作表：{existing}）", path=str(src), sheet=title
            )
        found = matches[0]
    part = parts[found]
    if part is None:
        raise WorkbookStructureError(
            "该工作表不是普通工作表（如图表工作表），不能写入单元格", path=str(src), sheet=title
        )
    return part


# Children of <workbook> that come before <calcPr> (CT_Workbook sequence).
_BEFORE_CALCPR = frozenset(
    {
        "fileVersion", "fileSharing", "workbookPr", "AlternateContent", "workbookProtection",
        "bookViews", "sheets", "functionGroups", "externalReferences", "definedNames",
    }
)  # fmt: skip


#: ``calcPr/@calcId`` of the current Excel engine (Microsoft 365).  ECMA-376 Part 1 §18.2.2: a
#: workbook whose calcId is older than the application's engine is recalculated in full on open,
#: which in an Excel without the xlperf add-in turns every xlperf formula into #NAME?; with the
#: current id and no fullCalcOnLoad, Excel shows the stored results (docs/excel.md).
CURRENT_CALC_ID = "191029"


def _apply_calc_pr(workbook: etree._Element, full_calc_on_load: bool) -> bool:
    """Set or remove ``calcPr/@fullCalcOnLoad``; True when the XML changed.

    Removing it also raises an older ``calcId`` to :data:`CURRENT_CALC_ID`, so that Excel keeps
    the stored results on open instead of recalculating everything (缓存值优先).
    """
    calc_pr = _find_child(workbook, "calcPr")
    if not full_calc_on_load:
        if calc_pr is None:
            return False
        changed = calc_pr.attrib.pop("fullCalcOnLoad", None) is not None
        calc_id = calc_pr.get("calcId", "")
        if not calc_id.isdigit() or int(calc_id) < int(CURRENT_CALC_ID):
            calc_pr.set("calcId", CURRENT_CALC_ID)
            changed = True
        return changed
    if calc_pr is None:
        calc_pr = etree.SubElement(workbook, f"{{{_namespace(workbook)}}}calcPr")
        position = 0
        for index, child in enumerate(workbook):
            if opc.localname(child) in _BEFORE_CALCPR:
                position = index + 1
        workbook.insert(position, calc_pr)
    elif calc_pr.get("fullCalcOnLoad") in ("1", "true"):
        return False
    calc_pr.set("fullCalcOnLoad", "1")
    return True


# --------------------------------------------------------------------------------------------
# Sheet patching
# --------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8192)
def _cell_reference(ref: str) -> tuple[int, str]:
    """A cell's ``r`` as (column number, row digits), the column 0 unless it is all ASCII letters; kept,
    since every unit of a batch has the same cells."""
    letters = ref.rstrip("0123456789")
    return (column_index(letters) if letters.isalpha() and letters.isascii() else 0), ref[len(letters) :]


class _SheetPatcher:
    """Applies cell values to one parsed worksheet; :attr:`changed` tells whether the XML changed at all.

    Every edit goes through the few methods that set :attr:`changed` (:meth:`_set`, :meth:`_drop`,
    :meth:`_set_text`, :meth:`_remove`, :meth:`_new_child`, new rows and cells), and each leaves alone
    what already holds its value: rebuilding a workbook that already holds its results edits nothing,
    and its sheets are copied as stored without being serialised.
    """

    def __init__(self, root: etree._Element, where: str, src: Path, title: str) -> None:
        self.root = root
        self.src = src
        self.title = title
        ns = _namespace(root)
        self.tag_row, self.tag_c, self.tag_f = f"{{{ns}}}row", f"{{{ns}}}c", f"{{{ns}}}f"
        self.tag_v, self.tag_is, self.tag_t = f"{{{ns}}}v", f"{{{ns}}}is", f"{{{ns}}}t"
        sheet_data = _find_child(root, "sheetData")
        if sheet_data is None:
            raise WorkbookStructureError(f"{where} 缺少 <sheetData>", path=str(src), sheet=title)
        self.sheet_data = sheet_data
        self.row_numbers: list[int] = []
        self.row_elements: list[etree._Element] = []
        previous = 0
        for row in sheet_data.iterchildren(self.tag_row):
            number = self._index_attr(row, previous, MAX_ROW, "行号")
            if number <= previous:
                raise UnreadableFileError(
                    f"{where} 的行顺序错误（第 {number} 行）", path=str(src), sheet=title
                )
            self.row_numbers.append(number)
            self.row_elements.append(row)
            previous = number
        self.had_cells = any(True for _ in sheet_data.iter(self.tag_c))
        self._array_ranges: list[tuple[int, int, int, int]] | None = None
        self._column_styles: list[tuple[int, int, str]] | None = None
        self.new_cells: list[tuple[int, int]] = []
        self.changed = False

    def _fail(self, message: str) -> UnreadableFileError:
        return UnreadableFileError(message, path=str(self.src), sheet=self.title)

    def _index_attr(self, row: etree._Element, previous: int, limit: int, what: str) -> int:
        raw = row.get("r")
        if raw is None:  # r is optional in the schema: implicit "previous + 1"
            number = previous + 1
            self._set(row, "r", str(number))
            return number
        if not raw.isdigit() or not 1 <= int(raw) <= limit:
            raise self._fail(f"无效的{what} r={raw!r}")
        return int(raw)

    # -- lookups ---------------------------------------------------------------------------

    def _cells_of(self, row: etree._Element, row_number: int) -> tuple[list[int], list[etree._Element]]:
        columns: list[int] = []
        cells: list[etree._Element] = []
        previous = 0
        digits = str(row_number)
        for cell in row.iterchildren(self.tag_c):
            ref = cell.get("r")
            if ref is None:
                column = previous + 1
                self._set(cell, "r", f"{column_letters(column)}{digits}")
            else:
                column, row_text = _cell_reference(ref)
                if not 1 <= column <= MAX_COL or row_text != digits:
                    raise self._fail(f"第 {row_number} 行中的单元格引用 {ref!r} 无效")
            if column <= previous:
                raise self._fail(f"第 {row_number} 行的单元格顺序错误（{cell.get('r')}）")
            columns.append(column)
            cells.append(cell)
            previous = column
        return columns, cells

    def _in_array_formula(self, row: int, column: int) -> bool:
        if self._array_ranges is None:
            self._array_ranges = []
            for formula in self.sheet_data.iter(self.tag_f):
                if formula.get("t") in ("array", "dataTable") and formula.get("ref"):
                    parsed = parse_range(formula.get("ref", ""))
                    if parsed is not None:
                        self._array_ranges.append(parsed)
        return any(r1 <= row <= r2 and c1 <= column <= c2 for r1, c1, r2, c2 in self._array_ranges)

    def _default_style(self, row: etree._Element, column: int) -> str | None:
        """The style Excel gives a new cell: the row's if it is formatted, else the column's."""
        if row.get("customFormat") in ("1", "true") and row.get("s"):
            return row.get("s")
        if self._column_styles is None:
            self._column_styles = []
            cols = _find_child(self.root, "cols")
            for col in cols if cols is not None else ():
                low, high, style = col.get("min", ""), col.get("max", ""), col.get("style")
                if style and low.isdigit() and high.isdigit():
                    self._column_styles.append((int(low), int(high), style))
        for low, high, style in self._column_styles:
            if low <= column <= high:
                return style if style != "0" else None
        return None

    # -- edits -----------------------------------------------------------------------------

    def _set(self, element: etree._Element, name: str, value: str) -> None:
        """Set an attribute, unless it already has that value."""
        if element.get(name) != value:
            element.set(name, value)
            self.changed = True

    def _drop(self, element: etree._Element, name: str) -> None:
        """Remove an attribute if it is there (without building lxml's attribute view when it is not)."""
        if element.get(name) is not None:
            del element.attrib[name]
            self.changed = True

    def _set_text(self, element: etree._Element, text: str | None) -> None:
        """Set an element's text; a change only if it held another (``<v/>`` holds what ``<v></v>`` holds)."""
        if element.text != text:
            self.changed = self.changed or (element.text or "") != (text or "")
            element.text = text

    def _remove(self, parent: etree._Element, child: etree._Element) -> None:
        parent.remove(child)
        self.changed = True

    def _new_child(self, parent: etree._Element, tag: str, index: int) -> etree._Element:
        child = etree.SubElement(parent, tag)  # created in the parent's namespace context
        parent.insert(index, child)
        self.changed = True
        return child

    def _row(self, number: int) -> etree._Element:
        pos = bisect.bisect_left(self.row_numbers, number)
        if pos < len(self.row_numbers) and self.row_numbers[pos] == number:
            return self.row_elements[pos]
        row = etree.SubElement(self.sheet_data, self.tag_row)
        row.set("r", str(number))
        self.changed = True
        if pos < len(self.row_elements):
            self.row_elements[pos].addprevious(row)
        self.row_numbers.insert(pos, number)
        self.row_elements.insert(pos, row)
        return row

    def _insert_cell(self, row: etree._Element, number: int, column: int, columns: list[int],
                     cells: list[etree._Element]) -> etree._Element:  # fmt: skip
        pos = bisect.bisect_left(columns, column)
        cell = etree.SubElement(row, self.tag_c)
        cell.set("r", f"{column_letters(column)}{number}")
        self.changed = True
        style = self._default_style(row, column)
        if style is not None:
            cell.set("s", style)
        if pos < len(cells):
            cells[pos].addprevious(cell)
        else:  # after the last cell, but before a row-level extLst if there is one
            last = cells[-1] if cells else None
            if last is not None:
                last.addnext(cell)
            else:
                row.insert(0, cell)
        columns.insert(pos, column)
        cells.insert(pos, cell)
        self._widen_spans(row, column)
        self.new_cells.append((number, column))
        return cell

    @staticmethod
    def _widen_spans(row: etree._Element, column: int) -> None:
        spans = row.get("spans")
        if spans is None:
            return
        low, _, high = spans.partition(":")
        if low.isdigit() and high.isdigit():
            row.set("spans", f"{min(int(low), column)}:{max(int(high), column)}")
        else:  # several spans or garbage: spans is only an optimisation hint
            del row.attrib["spans"]

    def _set_value(self, cell: etree._Element, value: CellValue, row: int, column: int) -> None:
        formula = old_v = old_is = None
        stale: list[etree._Element] = []
        for child in cell:  # one pass; faster than find()/findall() on lxml
            tag = child.tag
            if tag == self.tag_f:
                formula = child
            elif tag == self.tag_v and old_v is None:
                old_v = child
            elif tag == self.tag_is and old_is is None:
                old_is = child
            elif tag == self.tag_v or tag == self.tag_is:
                stale.append(child)
        self._drop(cell, "vm")  # value metadata describes the old (rich) value
        if value.literal and formula is not None and formula.get("t") not in ("shared", "array", "dataTable"):
            self._remove(cell, formula)
            formula = None
        elif value.formula is not None:
            formula = self._set_formula(cell, formula, value.formula)
        is_result = formula is not None or self._in_array_formula(row, column)
        if value.kind == "none" and is_result:
            value = EMPTY_RESULT  # an empty result is stored as Excel stores it: t="str", <v></v>
        inline = value.kind == "s" and not is_result
        text = self._plain_text(old_is) if inline and old_is is not None else None
        if text is None and old_is is not None:
            stale.append(old_is)
        for child in stale:
            self._remove(cell, child)
        if value.kind == "none":
            if old_v is not None:
                self._remove(cell, old_v)
            self._drop(cell, "t")
            return
        if inline:
            if old_v is not None:
                self._remove(cell, old_v)
            self._set(cell, "t", "inlineStr")
            if text is None:  # no formula here (not a result): the new <is> goes first
                text = self._new_child(self._new_child(cell, self.tag_is, 0), self.tag_t, 0)
            self._set(text, _XML_SPACE, "preserve")
            self._set_text(text, value.text)
            return
        if value.kind == "n":
            self._drop(cell, "t")
        else:
            self._set(cell, "t", RESULT_TYPES[value.kind] if is_result else value.kind)
        if old_v is None:
            old_v = self._new_child(cell, self.tag_v, cell.index(formula) + 1 if formula is not None else 0)
        self._set_text(old_v, value.text)

    def _plain_text(self, inline: etree._Element) -> etree._Element | None:
        """The ``<t>`` of an ``<is>`` that holds just one plain ``<t>`` (纯文本), to take a new text in
        place: the same XML as a new ``<is>`` without building one; None for rich text or phonetics."""
        if len(inline) != 1 or inline.text or inline.attrib:
            return None
        text = inline[0]
        if text.tag != self.tag_t or text.tail or len(text) or any(key != _XML_SPACE for key in text.attrib):
            return None
        return text

    def _set_formula(self, cell: etree._Element, formula: etree._Element | None, text: str) -> etree._Element:
        if formula is None:
            formula = self._new_child(cell, self.tag_f, 0)
        elif formula.get("t") in ("shared", "array", "dataTable"):
            return formula  # keep Excel's shared/array form; only the cached value changes
        self._set_text(formula, text)
        return formula

    def set_heights(self, heights: Mapping[int, float | None]) -> None:
        """Give rows a fixed height in points, or (None) the default height again (行高)."""
        for number, height in heights.items():
            pos = bisect.bisect_left(self.row_numbers, number)
            exists = pos < len(self.row_numbers) and self.row_numbers[pos] == number
            if height is None:
                if exists:
                    for attribute in ("ht", "customHeight"):
                        self._drop(self.row_elements[pos], attribute)
                continue
            row = self._row(number)
            self._set(row, "ht", format_number(float(height)))
            self._set(row, "customHeight", "1")

    def apply(self, values: Mapping[tuple[int, int], CellValue]) -> None:
        by_row: dict[int, list[tuple[int, CellValue]]] = {}
        for (row, column), value in values.items():
            by_row.setdefault(row, []).append((column, value))
        for number in sorted(by_row):
            targets = sorted(by_row[number], key=lambda item: item[0])
            pos = bisect.bisect_left(self.row_numbers, number)
            exists = pos < len(self.row_numbers) and self.row_numbers[pos] == number
            if not exists and all(value.kind == "none" and value.formula is None for _, value in targets):
                continue  # clearing cells that do not exist: nothing to do
            row = self._row(number)
            columns, cells = self._cells_of(row, number)
            for column, value in targets:
                cpos = bisect.bisect_left(columns, column)
                if cpos < len(columns) and columns[cpos] == column:
                    cell = cells[cpos]
                elif value.kind == "none" and value.formula is None:
                    continue
                else:
                    cell = self._insert_cell(row, number, column, columns, cells)
                self._set_value(cell, value, number, column)
        self._update_dimension()

    def _update_dimension(self) -> None:
        if not self.new_cells:
            return
        dimension = _find_child(self.root, "dimension")
        if dimension is None:
            return  # optional element; readers fall back to scanning
        rows = [row for row, _ in self.new_cells]
        cols = [col for _, col in self.new_cells]
        r1, c1, r2, c2 = min(rows), min(cols), max(rows), max(cols)
        current = parse_range(dimension.get("ref", ""))
        if current is not None and self.had_cells:
            r1, c1 = min(r1, current[0]), min(c1, current[1])
            r2, c2 = max(r2, current[2]), max(c2, current[3])
        start, end = f"{column_letters(c1)}{r1}", f"{column_letters(c2)}{r2}"
        self._set(dimension, "ref", start if start == end else f"{start}:{end}")


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def patch_workbook(
    src: Path,
    dst: Path,
    values: Mapping[tuple[str, str], object],
    *,
    full_calc_on_load: bool | None = None,
    row_heights: Mapping[tuple[str, int], float | None] | None = None,
    package: Package | None = None,
) -> None:
    """Write ``values`` into a copy of workbook ``src`` saved as ``dst`` (写回结果到工作簿).

    ``values`` maps ``(sheet title, "C7")`` to an int/float, str, bool, None or :class:`ExcelError`.
    Formula cells (including shared-formula children and array formulas) keep their formula and
    get the value as their cached value (缓存值); other cells get a plain value (strings as inline
    strings, so a text starting with ``=`` stays text); None clears the value (a formula cell stores an empty
    result, ``t="str"`` with ``<v></v>``, as Excel does) but keeps the cell and
    its style.  Missing rows and cells are created in order.

    ``row_heights`` maps ``(sheet title, row number)`` to a height in points, or None for the
    default height (so that wrapped text shows in full where applications do not fit rows).

    ``full_calc_on_load``: None leaves ``<calcPr>`` alone, False removes ``fullCalcOnLoad`` (Excel
    then shows the cached values), True sets it to ``"1"``.

    ``package``: ``src`` already opened (the reader's, in a build), so that the file is not read and
    its small parts not parsed a second time; the trees patched are taken out of it.

    Every other zip entry is copied byte for byte, and so is a patched part that comes out as it was.  ``dst`` is written atomically and may be
    ``src``.  Raises :class:`~xlperf.errors.WorkbookStructureError` for an unknown sheet,
    :class:`~xlperf.errors.UnreadableFileError` for a damaged file,
    :class:`~xlperf.errors.OutputError` when ``dst`` cannot be written, and ``ValueError`` /
    ``TypeError`` for values Excel cannot hold (NaN, unsupported types, bad addresses).
    """
    src, dst = Path(src), Path(dst)
    grouped = group_values(values)
    heights: dict[str, dict[int, float | None]] = {}
    for (sheet, number), height in (row_heights or {}).items():
        heights.setdefault(sheet, {})[number] = height
        grouped.setdefault(sheet, {})
    if package is None:
        package = Package.open(src, max_part=MAX_PART_BYTES)

    workbook_part = package.main_part() or "xl/workbook.xml"
    workbook_info = package.find(workbook_part)
    if workbook_info is None:
        raise UnreadableFileError("找不到 workbook.xml，不是有效的 Excel 工作簿", path=str(src))
    workbook, workbook_xml = package.take_xml(workbook_info)

    replacements: dict[str, bytes | None] = {}
    if grouped:
        parts = _sheet_parts(package, workbook_info.filename, workbook)
        for title, cells in grouped.items():
            part = _lookup_sheet(parts, title, src)
            info = package.find(part)
            if info is None:
                raise WorkbookStructureError(
                    f"工作表的部件 {part} 不存在，工作簿已损坏", path=str(src), sheet=title
                )
            if info.filename in replacements:
                raise ValueError(f"工作表「{title}」以不同写法出现了两次（same sheet given twice）")
            root, original = package.take_xml(info)
            patcher = _SheetPatcher(root, info.filename, src, title)
            patcher.apply(cells)
            patcher.set_heights(heights.get(title, {}))
            replacements[info.filename] = (
                _changed(_serialize_xml(root, original), original) if patcher.changed else None
            )

    if full_calc_on_load is not None and _apply_calc_pr(workbook, full_calc_on_load):
        replacements[workbook_info.filename] = _changed(_serialize_xml(workbook, workbook_xml), workbook_xml)
    _write_package(package, dst, replacements)


def _changed(content: bytes, original: bytes) -> bytes | None:
    """``content``, or None when it is the part as it was (a rebuild with the same results): such a
    part is copied as stored, not deflated anew (未改变的部件原样复制)."""
    return content if content != original else None


def reencode_utf8(path: Path) -> None:
    """Re-write, in place, the XML parts of workbook ``path`` that spell characters as references
    (``&#22522;``) in UTF-8 (改为 UTF-8 编码): openpyxl writes its worksheets in ASCII, and xlperf's own
    workbooks would otherwise be twice as large in those parts and twice as slow to parse for every unit.

    The XML is the same document (same elements, attributes and text); every other part is copied byte
    for byte.
    """
    package = Package.open(path, max_part=MAX_PART_BYTES)
    try:
        replacements: dict[str, bytes] = {}
        for info in package.infos:
            if info.filename.endswith((".xml", ".rels")) and b"&#" in (data := package.read(info)):
                root = parse_xml(data, path=package.path, part=info.filename)
                replacements[info.filename] = _serialize_xml(root, data)
        if replacements:
            _write_package(package, path, replacements, level=6)  # written once, read by every unit
    finally:
        package.close()


def _write_package(
    package: Package, dst: Path, replacements: Mapping[str, bytes | None], level: int | None = None
) -> None:
    """``package`` written to ``dst`` atomically, the parts in ``replacements`` with their new bytes
    (deflated as :func:`~xlperf.io.zipcopy.write_new` does at ``level``; None: copied as stored)."""
    with atomic_output(dst) as tmp:
        try:
            with open(tmp, "wb") as handle:
                writer = ZipWriter(handle, dst)
                for info in package.infos:
                    content = replacements.get(info.filename)
                    if content is None:
                        copy_raw(writer, package, info)
                    else:
                        write_new(writer, package, info, content, level)
                writer.close(package.zip.comment)
        except OSError as exc:  # disk full, quota, I/O error
            raise OutputError(f"写入输出文件失败（{exc.strerror or exc}）", path=str(dst)) from exc
