"""The JSON an Office.js client sends for a workbook (Office.js 请求数据), built from an .xlsx file.

xlwings Server's task-pane client (``getBookData`` in xlwings-server's ``custom-scripts/index.js``)
posts the whole workbook with every script call: per sheet the values of ``A1`` to the last used
cell (empty cells ``""``, error cells as their text, date-formatted numbers as ISO strings), the
tables with their addresses, and every defined name with its formula.  :func:`book_payload`
produces the same structure from a file's cached values, so scripts and the functions behind
the ribbon buttons can be exercised on Linux exactly as Excel would call them, and
:func:`custom_function_body` gives the body of one custom-function call.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

OFFICEJS_CLIENT = "Office.js"


def _officejs_value(value: object) -> object:
    """A cell as ``Range.values`` reports it: ``""`` for empty, ISO text for dates."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    if isinstance(value, dt.date):
        return f"{value.isoformat()}T00:00:00.000Z"
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    return value


def _unqualified(ref: str) -> str:
    return ref.replace("$", "")


def book_payload(path: Path, *, version: str | None = None) -> dict[str, object]:
    """The body of ``POST /xlwings/custom-scripts-call/<script>`` for *path* (脚本请求数据).

    Values are the cached results stored in the file (what Excel shows), so a formula cell
    arrives as its value, as it does from Office.js.
    """
    import xlwings

    wb = load_workbook(path, data_only=True)
    sheets = []
    positions = {ws.title: index for index, ws in enumerate(wb.worksheets)}
    for ws in wb.worksheets:
        cells = [(cell.row, cell.column) for row in ws.iter_rows() for cell in row if cell.value is not None]
        last_row = max((r for r, _ in cells), default=1)
        last_col = max((c for _, c in cells), default=1)
        values = [
            [_officejs_value(ws.cell(r, c).value) for c in range(1, last_col + 1)]
            for r in range(1, last_row + 1)
        ]
        first_row = min((r for r, _ in cells), default=1)
        first_col = min((c for _, c in cells), default=1)
        used = f"{get_column_letter(first_col)}{first_row}:{get_column_letter(last_col)}{last_row}"
        tables = []
        for table in ws.tables.values():
            min_col, min_row, max_col, max_row = range_boundaries(table.ref)
            left, right = get_column_letter(min_col), get_column_letter(max_col)
            style = table.tableStyleInfo
            tables.append(
                {
                    "name": table.displayName,
                    "range_address": _unqualified(table.ref),
                    "row_count": max_row - min_row + 1,
                    "column_count": max_col - min_col + 1,
                    "columns": [column.name for column in table.tableColumns],
                    "header_row_range_address": f"{left}{min_row}:{right}{min_row}",
                    "data_body_range_address": f"{left}{min_row + 1}:{right}{max_row}",
                    "total_row_range_address": None,
                    "show_headers": True,
                    "show_totals": False,
                    "table_style": style.name if style else None,
                    "show_autofilter": True,
                    "show_table_style_first_column": bool(style and style.showFirstColumn),
                    "show_table_style_last_column": bool(style and style.showLastColumn),
                    "show_table_style_row_stripes": bool(style and style.showRowStripes),
                    "show_table_style_column_stripes": bool(style and style.showColumnStripes),
                }
            )
        sheets.append(
            {
                "name": ws.title,
                "visibility": "Visible" if ws.sheet_state == "visible" else "Hidden",
                "show_gridlines": bool(ws.sheet_view.showGridLines is not False),
                "print_area": None,
                "notes": [],
                "notes_supported": True,
                "used_range_address": used,
                "used_range_row_count": last_row - first_row + 1,
                "used_range_column_count": last_col - first_col + 1,
                "values": values,
                "pictures": [],
                "shapes": [],
                "charts": [],
                "tables": tables,
                "pivot_tables": [],
            }
        )
    names = []
    for name, defined in wb.defined_names.items():
        text = defined.attr_text or ""
        entry = {
            "name": name,
            "refers_to": f"={text}",
            "type": "Range",
            "sheet_index": None,
            "address": None,
            "scope_sheet_name": None,
            "scope_sheet_index": None,
            "book_scope": True,
        }
        try:
            destinations = list(defined.destinations)
        except Exception:  # constants (the layout version) have no destination
            destinations = []
        if len(destinations) == 1 and destinations[0][0] in positions:
            sheet, ref = destinations[0]
            entry.update(sheet_index=positions[sheet], address=_unqualified(ref))
        elif "#REF!" in text:
            entry["type"] = "Error"
        elif not destinations:
            entry["type"] = "Integer" if text.isdigit() else "String"
        names.append(entry)
    return {
        "client": OFFICEJS_CLIENT,
        "version": version or xlwings.__version__,
        "book": {
            "name": path.name,
            "active_sheet_index": wb.index(wb.active) if wb.active is not None else 0,
            "selection": "A1",
            "calculation": "Automatic",
        },
        "names": names,
        "sheets": sheets,
    }


def custom_function_body(
    func_name: str, args: list[object], *, caller: str = "[Book1.xlsx]Sheet1!A1", runtime: str = "1.4"
) -> dict[str, object]:
    """The body of ``POST /xlwings/custom-functions-call`` (函数调用请求): every argument a 2-D
    matrix, an omitted optional argument ``None``, as ``custom-functions-code.js`` sends it."""
    import xlwings

    return {
        "client": OFFICEJS_CLIENT,
        "func_name": func_name,
        "args": args,
        "caller_address": caller,
        "session_id": "00000000-0000-4000-8000-000000000000",
        "culture_info_name": "zh-CN",
        "date_format": "yyyy/m/d",
        "version": xlwings.__version__,
        "runtime": runtime,
    }
