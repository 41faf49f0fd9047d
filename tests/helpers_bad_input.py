"""Shared tools for the bad-input tests (坏输入测试工具); their own tests are in ``test_bad_input_support.py``.

Workbooks are generated here from the example (高邑镇 2024) and damaged by code: values are written
with the project's XML patch writer (real error cells, formulas with or without a cached result,
inline strings that start with ``=``), dates and merged cells with openpyxl.  Cells are found
through the workbook's own defined names and Excel tables, read with openpyxl, independently of
``xlperf.workbook.read``, so these tests also check the reader.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lxml import etree
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter, range_boundaries

from xlperf import cli
from xlperf.core.fields import FIELDS
from xlperf.examples import example_data
from xlperf.io.xlsxpatch import ExcelError, Formula, Literal, patch_workbook
from xlperf.workbook import contract as c
from xlperf.workbook.create import create_workbook

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
#: Text a user may type that a spreadsheet would run as a formula if written carelessly.
INJECTIONS = ('=HYPERLINK("http://x","点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)")


# --------------------------------------------------------------------------------------------
# values a user can put in a cell
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A text cell (文本), whatever it looks like — ``=1+2`` typed as text stays text."""

    text: str


@dataclass(frozen=True)
class Err:
    """A real Excel error cell (错误值单元格), ``t="e"``."""

    code: str


@dataclass(frozen=True)
class Form:
    """A formula typed by a user, with the result Excel saved (``cached``) or none (``has_cache=False``)."""

    text: str
    cached: object = None
    has_cache: bool = True


@dataclass(frozen=True)
class Date:
    """A real date cell: a serial number with a date format (日期)."""

    value: dt.datetime


@dataclass(frozen=True)
class Merge:
    """Merge this cell with the ``rows`` cells below it (合并单元格); the value stays in the first."""

    rows: int = 1


def _patch_value(value: object) -> object:
    if isinstance(value, Text):
        return Literal(value.text)
    if isinstance(value, Err):
        return Literal(ExcelError(value.code))
    if isinstance(value, Form):
        cached = value.cached
        if isinstance(cached, Err):
            cached = ExcelError(cached.code)
        return Formula(value.text, cached if value.has_cache else None)
    return Literal(value)


def write_cells(src: Path, dst: Path, cells: dict[tuple[str, str], object]) -> Path:
    """Copy ``src`` to ``dst`` with ``cells`` written: plain values, :class:`Text`, :class:`Err`,
    :class:`Form` through the XML patch writer; :class:`Date` and :class:`Merge` with openpyxl."""
    patched = {k: _patch_value(v) for k, v in cells.items() if not isinstance(v, Date | Merge)}
    styled = {k: v for k, v in cells.items() if isinstance(v, Date | Merge)}
    if styled:
        wb = load_workbook(src)
        for (sheet, coord), value in styled.items():
            ws = wb[sheet]
            if isinstance(value, Date):
                ws[coord].value = value.value
                ws[coord].number_format = "yyyy-mm-dd"
            else:
                col, row = range_boundaries(coord)[:2]
                ws.merge_cells(f"{coord}:{get_column_letter(col)}{row + value.rows}")
        wb.save(dst)
        src = dst
    if patched or src != dst:
        patch_workbook(src, dst, patched)
    return dst


# --------------------------------------------------------------------------------------------
# the example workbook and where its inputs are
# --------------------------------------------------------------------------------------------


def scratch_dir(prefix: str) -> Path:
    """A temporary folder removed when the test session ends (临时目录)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    atexit.register(shutil.rmtree, folder, True)
    return folder


@lru_cache(maxsize=1)
def _example_master() -> Path:
    path = scratch_dir("xlperf-bad-input-") / "高邑镇2024.xlsx"
    create_workbook(example_data(), path)
    return path


def example_copy(directory: Path, name: str = "高邑镇2024.xlsx") -> Path:
    """A fresh copy of the built example workbook in ``directory`` (示例工作簿)."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    shutil.copyfile(_example_master(), target)
    return target


@dataclass(frozen=True)
class InputCell:
    """An input cell of the example (填报单元格): where it is and what it is."""

    sheet: str
    coord: str
    what: str  # e.g. "field:final_income_total" or "table:tbl_goals:完成值:0"
    kind: str  # MONEY / COUNT / TEXT … for fields, the column role and format for tables
    mixed: bool = False

    @property
    def where(self) -> str:
        return f"{self.sheet}!{self.coord}"


def locate_inputs(path: Path) -> list[InputCell]:
    """Every input cell of a contract workbook: fields by defined name, table cells by header."""
    wb = load_workbook(path)
    cells: list[InputCell] = []
    for f in FIELDS:
        sheet, ref = next(iter(wb.defined_names[f.key].destinations))
        cells.append(InputCell(sheet, ref.replace("$", ""), f"field:{f.key}", f.kind))
    for spec in c.TABLES:
        for ws in wb.worksheets:
            if spec.name not in ws.tables:
                continue
            min_col, min_row, max_col, max_row = range_boundaries(ws.tables[spec.name].ref)
            headers = {ws.cell(min_row, col).value: col for col in range(min_col, max_col + 1)}
            for column in spec.columns:
                if column.role == c.COMPUTED or not column.attr:
                    continue
                for row in range(min_row + 1, max_row + 1):
                    coord = f"{get_column_letter(headers[column.header])}{row}"
                    cells.append(
                        InputCell(
                            ws.title,
                            coord,
                            f"table:{spec.name}:{column.header}:{row - min_row - 1}",
                            column.number_format,
                            column.role == c.MIXED,
                        )
                    )
    return cells


def field_cell(path: Path, key: str) -> tuple[str, str]:
    """(sheet, cell) of the field ``key``."""
    return next((i.sheet, i.coord) for i in locate_inputs(path) if i.what == f"field:{key}")


def table_cell(path: Path, table: str, header: str, index: int) -> tuple[str, str]:
    """(sheet, cell) of data row ``index`` of a contract table column."""
    return next(
        (i.sheet, i.coord) for i in locate_inputs(path) if i.what == f"table:{table}:{header}:{index}"
    )


# --------------------------------------------------------------------------------------------
# the package, at the XML level
# --------------------------------------------------------------------------------------------


def sheet_parts(path: Path) -> dict[str, str]:
    """Sheet title → worksheet part name inside the zip."""
    with zipfile.ZipFile(path) as zf:
        workbook = etree.fromstring(zf.read("xl/workbook.xml"))
        rels = etree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in rels.iter(f"{{{PKG_REL_NS}}}Relationship")}
    parts = {}
    for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet"):
        target = targets[sheet.get(f"{{{REL_NS}}}id")].lstrip("/")
        parts[sheet.get("name")] = target if target.startswith("xl/") else "xl/" + target
    return parts


def cell_elements(path: Path) -> dict[tuple[str, str], bytes]:
    """Every ``<c>`` element of every sheet, serialised, keyed by (sheet, cell)."""
    found = {}
    with zipfile.ZipFile(path) as zf:
        for title, part in sheet_parts(path).items():
            root = etree.fromstring(zf.read(part))
            for cell in root.iter(f"{{{MAIN_NS}}}c"):
                found[(title, cell.get("r"))] = etree.tostring(cell, encoding="utf-8", with_tail=False)
    return found


def cells_with_text(path: Path, needle: str) -> list[tuple[str, str, bool]]:
    """Cells whose text, cached value or formula contains ``needle``: (sheet, cell, is_formula).

    Shared strings are resolved, so a payload stored in the string table is found too.
    """
    with zipfile.ZipFile(path) as zf:
        shared: list[str] = []
        if "xl/sharedStrings.xml" in zf.namelist():
            sst = etree.fromstring(zf.read("xl/sharedStrings.xml"))
            shared = ["".join(si.itertext()) for si in sst.iter(f"{{{MAIN_NS}}}si")]
        hits = []
        for title, part in sheet_parts(path).items():
            root = etree.fromstring(zf.read(part))
            for cell in root.iter(f"{{{MAIN_NS}}}c"):
                formula = cell.find(f"{{{MAIN_NS}}}f")
                texts = ["".join(cell.itertext())]
                if cell.get("t") == "s":
                    v = cell.find(f"{{{MAIN_NS}}}v")
                    if v is not None and v.text and v.text.isdigit() and int(v.text) < len(shared):
                        texts.append(shared[int(v.text)])
                if any(needle in t for t in texts):
                    hits.append((title, cell.get("r"), formula is not None))
    return hits


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------


def env() -> dict[str, str]:
    """Environment for a child ``python -m xlperf…``: the source tree first on the path."""
    result = dict(os.environ)
    result["PYTHONPATH"] = str(SRC) + (os.pathsep + result["PYTHONPATH"] if result.get("PYTHONPATH") else "")
    result.pop("XLPERF_DEBUG", None)
    return result


def xlperf(*args: str) -> subprocess.CompletedProcess[str]:
    """Run ``xlperf ARGS`` as a user would, in this process (:func:`xlperf.cli.main`).

    What it prints is captured; the exit code and both streams come back as a
    :class:`subprocess.CompletedProcess`.  Tests that need a real child process (a kill, resource
    limits) start one themselves.
    """
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(list(args))
        except SystemExit as exc:  # argparse's usage errors and --help end the process as sys.exit does
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(["xlperf", *args], code, out.getvalue(), err.getvalue())


def assert_clean_exit(run: subprocess.CompletedProcess[str], codes: tuple[int, ...] = (0, 1, 2)) -> None:
    """No traceback, no internal error, an expected exit code, messages in Chinese."""
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr
    assert "内部错误" not in run.stderr, run.stderr
    assert run.returncode in codes, (run.returncode, run.stdout[-2000:], run.stderr[-2000:])
    if run.returncode == 2:
        assert run.stderr.startswith("错误："), run.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# structural damage, generated by code
# --------------------------------------------------------------------------------------------


def _retarget_names(wb: object, old: str, new: str) -> None:
    """What Excel does when a sheet is renamed: every name follows it."""
    from openpyxl.utils import quote_sheetname

    for defined in wb.defined_names.values():  # type: ignore[attr-defined]
        text = str(defined.attr_text or "")
        for spelled in (quote_sheetname(old) + "!", old + "!"):
            if text.startswith(spelled):
                defined.attr_text = quote_sheetname(new) + "!" + text[len(spelled) :]


def _rename_like_excel(wb: object) -> None:
    wb["预算收支"].title = "预算收支表"  # type: ignore[index]
    _retarget_names(wb, "预算收支", "预算收支表")


def _rename_sheet_only(wb: object) -> None:
    wb["预算收支"].title = "2024预算"  # type: ignore[index]


def _delete_sheet(wb: object) -> None:
    wb.remove(wb["支出进度"])  # type: ignore[attr-defined,index]


def _delete_name(wb: object) -> None:
    del wb.defined_names["final_income_total"]  # type: ignore[attr-defined]


def _ref_name(wb: object) -> None:
    wb.defined_names["budget_exp_total"].attr_text = "#REF!"  # type: ignore[attr-defined]


def _insert_rows_in_fields(wb: object) -> None:
    wb["预算收支"].insert_rows(5, 2)  # type: ignore[index]  # openpyxl moves cells, not names or tables


def _insert_column_in_fields(wb: object) -> None:
    wb["预算收支"].insert_cols(2, 1)  # type: ignore[index]  # values move from B to C; names stay on B


def _insert_rows_in_table(wb: object) -> None:
    wb["绩效目标"].insert_rows(7, 3)  # type: ignore[index]  # pushes the last goal out of the table's range


def _insert_column_in_table(wb: object) -> None:
    wb["绩效目标"].insert_cols(3, 1)  # type: ignore[index]


def _insert_rows_above_table(wb: object) -> None:
    wb["指标评分"].insert_rows(2, 1)  # type: ignore[index]


def _old_layout(wb: object) -> None:
    del wb.defined_names[c.VERSION_NAME]  # type: ignore[attr-defined]


def _future_layout(wb: object) -> None:
    from openpyxl.workbook.defined_name import DefinedName

    wb.defined_names[c.VERSION_NAME] = DefinedName(c.VERSION_NAME, attr_text="99")  # type: ignore[attr-defined]


def _rubric_does_not_add_up(wb: object) -> None:
    ws = wb["指标评分"]  # type: ignore[index]
    for row in ws.iter_rows(min_row=5):
        if row[0].value == "2.2.1":
            row[2].value = 5  # 2.2 预算管理 is 7 = 2 + 2 + 1 + 2; now 10


def _delete_table(wb: object) -> None:
    del wb["绩效目标"].tables["tbl_goals"]  # type: ignore[index]


def _rename_header(wb: object) -> None:
    ws = wb["绩效目标"]  # type: ignore[index]
    for cell in ws[4]:
        if cell.value == "偏差原因":
            cell.value = "原因说明"


DAMAGES = {
    "rename_sheet_excel": _rename_like_excel,
    "rename_sheet_only": _rename_sheet_only,
    "delete_sheet": _delete_sheet,
    "delete_name": _delete_name,
    "ref_name": _ref_name,
    "insert_rows_fields": _insert_rows_in_fields,
    "insert_column_fields": _insert_column_in_fields,
    "insert_rows_table": _insert_rows_in_table,
    "insert_column_table": _insert_column_in_table,
    "insert_rows_above_table": _insert_rows_above_table,
    "old_layout": _old_layout,
    "future_layout": _future_layout,
    "rubric_sum": _rubric_does_not_add_up,
    "delete_table": _delete_table,
    "rename_header": _rename_header,
}


def damaged(src: Path, dst: Path, kind: str) -> Path:
    """``src`` with the damage ``kind`` (see :data:`DAMAGES`), saved as ``dst`` with openpyxl."""
    wb = load_workbook(src)
    DAMAGES[kind](wb)
    wb.save(dst)
    return dst


def non_blank_rows(rows: tuple) -> list:
    """Table rows that hold anything (空行除外)."""
    from dataclasses import astuple

    return [r for r in rows if any(v not in (None, "") for v in astuple(r))]
