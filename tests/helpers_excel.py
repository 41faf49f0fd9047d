"""What Excel does around xlperf's add-in, emulated for the Excel-layer tests (Excel 行为模拟).

* :class:`Sheets` — a workbook as Office.js sees it: cell values, formulas, defined names;
  from a file (:meth:`Sheets.from_file`) or from a script's payload with its actions applied
  (:meth:`Sheets.from_payload` + :meth:`Sheets.apply`, as the task pane's ``runActions`` does).
* :class:`Recalc` — Excel's recalculation of such a workbook: every formula is evaluated, its
  arguments resolved to cells and ranges, and every xlperf function called through xlwings'
  ``custom_functions_call`` with the JSON ``custom-functions-code.js`` sends.

The tests compare what this produces with the headless build; the helpers' own tests are in
``test_excel_support.py``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import math
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

from tools.bookjson import custom_function_body
from xlperf.core.numbers import EXCEL_ERRORS
from xlperf.excel.server import skip_pyodide_probe

skip_pyodide_probe()  # as `xlperf serve` does: xlwings skips its failing per-cell Pyodide import

ROOT = Path(__file__).resolve().parents[1]
ERROR_TYPES = {
    "#DIV/0!": "Div0",
    "#N/A": "NotAvailable",
    "#NAME?": "Name",
    "#NULL!": "Null",
    "#NUM!": "Num",
    "#REF!": "Ref",
    "#VALUE!": "Value",
}
_CELL = re.compile(r"\$?([A-Z]{1,3})\$?(\d+)")


@functools.cache
def example_files() -> tuple[Path, Path]:
    """The example unit as ``xlperf new --example gaoyi2024`` writes it, and ``xlperf build``'s copy
    (built once per test session)."""
    from xlperf.examples import example_data
    from xlperf.workbook.build import build_workbook
    from xlperf.workbook.create import create_workbook

    folder = Path(tempfile.mkdtemp(prefix="xlperf-excel-tests-"))
    new = folder / "高邑镇2024.xlsx"
    create_workbook(example_data(), new)
    built = build_workbook(new, folder / "built").output
    assert built is not None
    return new, built


def error_value(text: str) -> dict[str, str]:
    """An error cell as Office.js passes it to a custom function (``Excel.ErrorCellValue``)."""
    return {
        "type": "Error",
        "basicType": "Error",
        "basicValue": text,
        "errorType": ERROR_TYPES.get(text, "Value"),
    }


def officejs_arg(value: object) -> object:
    """One cell of a custom-function argument as Office.js sends it."""
    if isinstance(value, str) and value.strip().upper() in EXCEL_ERRORS:
        return error_value(value.strip().upper())
    if isinstance(value, dt.datetime | dt.date):
        base = dt.datetime(1899, 12, 30)
        moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        return (moment - base).total_seconds() / 86400
    return None if value == "" else value


def cell_result(value: object) -> object:
    """A custom-function result cell as Excel shows it: Office.js errors as their text, '' as blank."""
    if isinstance(value, dict) and value.get("type") == "Error":
        return next((k for k, v in ERROR_TYPES.items() if v == value["errorType"]), "#VALUE!")
    return None if value == "" else value


def split_args(text: str) -> list[str]:
    """Top-level arguments of a formula call, respecting quotes and parentheses."""
    args, depth, quoted, current = [], 0, False, []
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            args.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    args.append("".join(current).strip())
    return [] if args == [""] else args


def parse_call(formula: str) -> tuple[str, list[str]] | None:
    """``NAME(arg,…)`` → (NAME, args); None for anything else (a bare reference)."""
    match = re.fullmatch(r"=?\s*([A-Za-z_][\w.]*)\((.*)\)\s*", formula, re.S)
    return (match[1].upper(), split_args(match[2])) if match else None


def address(row: int, col: int) -> str:
    return f"{get_column_letter(col)}{row}"


@dataclass
class Sheets:
    """A workbook's cells: (sheet, row, col) → value, or formula text starting with ``=``."""

    order: list[str]
    cells: dict[tuple[str, int, int], object]
    names: dict[str, tuple[str, str]]
    macros: list[list[object]] = field(default_factory=list)
    alerts: list[list[object]] = field(default_factory=list)
    written: dict[tuple[str, str], object] = field(default_factory=dict)

    @classmethod
    def from_file(cls, path: Path, *, formulas: bool) -> Sheets:
        """The file's formulas (``formulas=True``) or cached values."""
        wb = load_workbook(path, data_only=not formulas)
        cells = {
            (ws.title, cell.row, cell.column): cell.value
            for ws in wb.worksheets
            for row in ws.iter_rows()
            for cell in row
            if cell.value is not None
        }
        names = {}
        for name, defined in wb.defined_names.items():
            try:
                destinations = list(defined.destinations)
            except Exception:
                continue
            if len(destinations) == 1:
                names[name] = (destinations[0][0], destinations[0][1].replace("$", ""))
        return cls(list(wb.sheetnames), cells, names)

    @classmethod
    def from_payload(cls, payload: dict) -> Sheets:
        """The values an Office.js payload carries, and its defined names."""
        cells = {}
        for sheet in payload["sheets"]:
            for r, row in enumerate(sheet["values"], 1):
                for c, value in enumerate(row, 1):
                    if value != "":
                        cells[(sheet["name"], r, c)] = value
        positions = [sheet["name"] for sheet in payload["sheets"]]
        names = {
            n["name"]: (positions[n["sheet_index"]], n["address"])
            for n in payload["names"]
            if n["sheet_index"] is not None and n["book_scope"]
        }
        return cls(positions, cells, names)

    def apply(self, actions: list[dict]) -> Sheets:
        """Replay a script's actions as the task pane's ``runActions`` does (only those xlperf uses)."""
        for action in actions:
            func = action["func"]
            if func in ("setValues", "setFormula"):
                sheet = self.order[action["sheet_position"]]
                for dr, row in enumerate(action["values"]):
                    for dc, value in enumerate(row):
                        r, c = action["start_row"] + 1 + dr, action["start_column"] + 1 + dc
                        if value in ("", None):
                            self.cells.pop((sheet, r, c), None)
                        else:
                            self.cells[(sheet, r, c)] = value
                        self.written[(sheet, address(r, c))] = value
            elif func == "addSheet":
                self.order.insert(action["args"][0], action["args"][1])
            elif func == "runMacro":
                self.macros.append(action["args"])
            elif func == "alert":
                self.alerts.append(action["args"])
            else:
                raise AssertionError(f"unexpected action {func}")
        return self

    def value(self, sheet: str, cell: str) -> object:
        col, row = range_boundaries(cell)[:2]
        return self.cells.get((sheet, row, col))

    def block(self, sheet: str, ref: str) -> list[list[object]]:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        return [
            [self.cells.get((sheet, r, c)) for c in range(min_col, max_col + 1)]
            for r in range(min_row, max_row + 1)
        ]


class Recalc:
    """Excel's recalculation with xlperf's functions served by xlwings (``custom_functions_call``)."""

    def __init__(self, sheets: Sheets, runtime: str = "1.4") -> None:
        from xlperf.excel import udfs

        self.sheets, self.runtime, self.udfs = sheets, runtime, udfs
        self.memo: dict[tuple[str, int, int], object] = {}
        self.calls: dict[str, int] = {}
        self.computing: set[tuple[str, int, int]] = set()
        self.circular: set[tuple[str, str]] = set()
        self.loop = asyncio.new_event_loop()

    def close(self) -> None:
        self.loop.close()

    def call(self, name: str, args: list[object], caller: str) -> object:
        """One custom-function call with the exact body Office.js posts; returns the cell value."""
        import xlwings.server

        body = custom_function_body(name, args, caller=caller, runtime=self.runtime)
        result = self.loop.run_until_complete(xlwings.server.custom_functions_call(body, self.udfs))
        self.calls[name] = self.calls.get(name, 0) + 1
        assert isinstance(result, list) and len(result) == 1 and len(result[0]) == 1, result
        return cell_result(result[0][0])

    def value(self, sheet: str, row: int, col: int) -> object:
        """The cell's value; a formula reading its own cell (a circular reference, which Excel
        refuses to calculate) is recorded in :attr:`circular` and sees that cell as blank."""
        key = (sheet, row, col)
        if key in self.computing:
            self.circular.add((sheet, address(row, col)))
            return None
        if key not in self.memo:
            raw = self.sheets.cells.get(key)
            if isinstance(raw, str) and raw.startswith("="):
                self.computing.add(key)
                try:
                    raw = self.formula(sheet, raw, f"[Book.xlsx]{sheet}!{address(row, col)}")
                finally:
                    self.computing.discard(key)
            self.memo[key] = raw
        return self.memo[key]

    def matrix(self, sheet: str, ref: str) -> list[list[object]]:
        min_col, min_row, max_col, max_row = range_boundaries(ref)
        return [
            [officejs_arg(self.value(sheet, r, c)) for c in range(min_col, max_col + 1)]
            for r in range(min_row, max_row + 1)
        ]

    def argument(self, sheet: str, token: str) -> list[list[object]]:
        if token.startswith('"'):
            return [[token[1:-1].replace('""', '"')]]
        if token.upper() in EXCEL_ERRORS:
            return [[error_value(token.upper())]]
        if re.fullmatch(r"-?\d+(\.\d+)?", token):
            return [[float(token)]]
        if token in self.sheets.names:
            where, ref = self.sheets.names[token]
            return self.matrix(where, ref)
        if _CELL.fullmatch(token) or re.fullmatch(r"\$?[A-Z]{1,3}\$?\d+:\$?[A-Z]{1,3}\$?\d+", token):
            return self.matrix(sheet, token.replace("$", ""))
        raise AssertionError(f"cannot resolve argument {token!r}")

    def formula(self, sheet: str, text: str, caller: str) -> object:
        call = parse_call(text)
        if call is None:  # a bare reference such as =rate_budget_adj
            (only,) = self.argument(sheet, text.lstrip("="))[0]
            return cell_result(only) if isinstance(only, dict) else only
        name, tokens = call
        if name == "HYPERLINK":
            return tokens[1][1:-1].replace('""', '"')
        return self.call(name, [self.argument(sheet, token) for token in tokens], caller)


def same_cell(got: object, want: object) -> bool:
    """Two cell values equal as Excel shows them (numbers to 1e-12, blank == empty text)."""
    if isinstance(want, bool) or isinstance(got, bool):
        return got == want
    if isinstance(want, int | float) and isinstance(got, int | float):
        return math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-12)
    return (None if got == "" else got) == (None if want == "" else want)
