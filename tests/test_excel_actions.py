"""The ribbon's actions and the book reader, run through xlwings' own script machinery.

Each script is called as xlwings Server calls it — ``custom_scripts_call`` with an ``xw.Book``
built from the JSON the Office.js client posts — and the actions it answers with are replayed
like the task pane does; the result is compared with the headless build of the example.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import datetime as dt
from pathlib import Path

import pytest
import xlwings as xw
import xlwings.server
from docx import Document
from openpyxl import load_workbook

from helpers_excel import ROOT, Recalc, Sheets, example_files, parse_call, same_cell
from tools.bookjson import book_payload
from xlperf.core.findings import count_by_severity
from xlperf.excel import actions
from xlperf.excel.book_source import parse_reference, read_book
from xlperf.excel.server import make_scripts
from xlperf.io.xlsxpatch import Formula, Literal
from xlperf.workbook import contract as c
from xlperf.workbook.build import evaluate_workbook
from xlperf.workbook.cells import computed_cells, finding_cells
from xlperf.workbook.read import read_workbook

SCRIPTS = type("custom_scripts", (), make_scripts(xlwings.server.script))


def run_script(name: str, payload: dict) -> Sheets:
    """POST /xlwings/custom-scripts-call/<name> without HTTP: the script's actions, replayed."""
    book = xw.Book(json=copy.deepcopy(payload))
    book = asyncio.run(
        xlwings.server.custom_scripts_call(SCRIPTS, name, typehint_to_value={xw.Book: book}, args=[])
    )
    return Sheets.from_payload(payload).apply(book.json()["actions"])


def _edge_workbook(tmp_path: Path) -> Path:
    """The example with inputs typed the way people type them: text numbers, errors, dates, blanks."""
    new, _ = example_files()
    wb = load_workbook(new)
    reference = read_workbook(new).locator
    typed = {
        "budget_exp_total": "4,419.16",
        "budget_income_total": "１２３４",
        "final_exp_total": "#N/A",
        "tolerance_rate": "0.1%",
        "budget_adjustment": None,
        "year": dt.datetime(2024, 12, 31),
    }
    for key, value in typed.items():
        sheet, cell = reference.names[key]
        wb[sheet][cell] = value
    path = tmp_path / "typed.xlsx"
    wb.save(path)
    return path


@pytest.fixture(scope="module")
def example() -> tuple[Path, Path]:
    return example_files()


def _locator_view(loc: object) -> dict[str, object]:
    return {
        "names": loc.names,
        "tables": {
            k: (v.sheet, v.header_row, v.first_row, v.last_row, v.columns) for k, v in loc.tables.items()
        },
        "problems": sorted(p[0] for p in loc.problems),
        "finding_rows": loc.finding_rows,
        "own": loc.own_formula_cells,
    }


@pytest.mark.parametrize("which", ["new", "built", "template", "typed"])
def test_reading_the_open_book_gives_the_same_inputs_as_the_file(which: str, tmp_path: Path) -> None:
    new, built = example_files()
    path = {"new": new, "built": built, "template": ROOT / "workbook/绩效自评模板.xlsx"}.get(which)
    path = path or _edge_workbook(tmp_path)
    expected = read_workbook(path)
    got = read_book(xw.Book(json=book_payload(path)))
    assert got.data == expected.data
    assert _locator_view(got.locator) == _locator_view(expected.locator)
    if which == "typed":
        assert got.data.get("final_exp_total") == "#N/A" and got.data.get("budget_income_total") == "１２３４"


def _trim(rows: tuple) -> tuple:
    rows = list(rows)
    while rows and all(v is None for v in dataclasses.astuple(rows[-1])):
        rows.pop()
    return tuple(rows)


def test_an_engine_without_tables_finds_them_by_their_headers(example: tuple[Path, Path]) -> None:
    """calamine (xlwings' file reader) has names but no tables: the header rows are searched."""
    _, built = example
    expected = read_workbook(built).data
    got = read_book(xw.Book(built, mode="r")).data
    assert got.fields == expected.fields
    for table in ("classes", "quarters", "goals", "indicators", "team"):
        assert _trim(getattr(got, table)) == _trim(getattr(expected, table)), table


def test_damage_is_reported_like_the_file_reader(tmp_path: Path, example: tuple[Path, Path]) -> None:
    new, _ = example
    wb = load_workbook(new)
    del wb.defined_names["budget_exp_total"]
    wb[c.S_RATES].title = "比率（旧）"
    rubric = wb[c.S_RUBRIC]
    header = next(cell for cell in rubric[4] if cell.value == "分值")
    header.value = "分数"
    rubric.tables[c.RUBRIC.name].tableColumns[header.column - 1].name = "分数"
    path = tmp_path / "damaged.xlsx"
    wb.save(path)
    expected = read_workbook(path).locator.problems
    got = read_book(xw.Book(json=book_payload(path))).locator.problems
    assert sorted(p[0] for p in got) == sorted(p[0] for p in expected) and len(expected) >= 3


def test_references_parse_as_excel_writes_them() -> None:
    assert parse_reference("='预算收支'!$B$4:$B$7") == ("预算收支", "B4:B7")
    assert parse_reference("=基本信息!$B$4") == ("基本信息", "B4")
    assert parse_reference("='O''Brien'!A1") == ("O'Brien", "A1")
    assert parse_reference("=1") is None and parse_reference("=A!$A$1,A!$B$2") is None


@pytest.fixture(scope="module")
def headless(example: tuple[Path, Path]) -> tuple[dict, list]:
    """The build's computed cells and findings for the example (what ``xlperf build`` writes)."""
    new, _ = example
    inputs, ev, findings, _ = evaluate_workbook(new)
    return computed_cells(inputs.locator, ev), finding_cells(inputs.locator, findings, 0), findings


def test_recalculate_writes_what_the_build_writes_and_excel_recomputes_it(
    example: tuple[Path, Path], headless: tuple
) -> None:
    new, _ = example
    cells, finding_rows, findings = headless
    after = run_script("recalculate", book_payload(new))
    for (sheet, cell), value in cells.items():
        written = after.written[(sheet, cell)]
        if isinstance(value, Formula):
            assert written == "=" + value.text, (sheet, cell)
        else:
            plain = value.value if isinstance(value, Literal) else value
            assert same_cell(written, plain), (sheet, cell)
    for (sheet, cell), value in finding_rows.items():
        written = after.written[(sheet, cell)]
        link = parse_call(str(written)) if str(written).startswith("=") else None
        shown = link[1][1][1:-1].replace('""', '"') if link else written
        assert same_cell(shown, value), (sheet, cell, written)
    recalc = Recalc(after)
    try:
        for (sheet, cell), value in cells.items():
            if isinstance(value, Formula):
                col, row = _col_row(cell)
                assert same_cell(recalc.value(sheet, row, col), value.value), (sheet, cell, value.text)
    finally:
        recalc.close()
    assert after.macros[0][0] == "xlperfUnprotect" and after.macros[-1][0] == "xlperfProtect"
    assert set(after.macros[0][1:]) == {sheet for sheet, _ in after.written}
    (alert,) = after.alerts
    counts = count_by_severity(findings)
    assert alert[1] == "绩效自评 · 重新计算" and "核定总分 80 分（良）" in alert[0]
    assert f"错误 {counts['error']} 条" in alert[0] and alert[3] == "info"


def _col_row(cell: str) -> tuple[int, int]:
    from openpyxl.utils import range_boundaries

    return range_boundaries(cell)[:2]


def test_recalculate_can_write_values_instead_of_formulas(
    example: tuple[Path, Path], headless: tuple
) -> None:
    new, _ = example
    cells, _, _ = headless
    payload = book_payload(new)
    book = xw.Book(json=copy.deepcopy(payload))
    result = actions.recalculate(book, formulas=False)
    after = Sheets.from_payload(payload).apply(book.json()["actions"])
    assert result.ok and result.cells == len(after.written)
    for (sheet, cell), value in cells.items():
        want = value.value if isinstance(value, Formula | Literal) else value
        assert same_cell(after.written[(sheet, cell)], want), (sheet, cell)


def test_an_office_js_namespace_prefixes_every_function(example: tuple[Path, Path]) -> None:
    new, _ = example
    payload = book_payload(new)
    book = xw.Book(json=copy.deepcopy(payload))
    actions.recalculate(book, namespace="XLPERF")
    formulas = [v for v in Sheets.from_payload(payload).apply(book.json()["actions"]).written.values()]
    texts = [f for f in formulas if isinstance(f, str) and f.startswith("=")]
    assert any(f.startswith("=XLPERF.INDICATOR_SCORE(") for f in texts)
    assert not any(f.startswith(("=INDICATOR_SCORE(", "=RUBRIC_SUBTOTAL(")) for f in texts)
    assert actions.qualify("=HYPERLINK(A1,PERF_GRADE(B2))", "NS") == "=HYPERLINK(A1,NS.PERF_GRADE(B2))"


def test_validate_lists_findings_linked_to_their_cells(example: tuple[Path, Path], headless: tuple) -> None:
    new, _ = example
    _, finding_rows, findings = headless
    after = run_script("validate", book_payload(new))
    read = read_workbook(new).locator
    sheet, anchor = read.names[c.FINDINGS_NAME]
    first = int(anchor.split(":")[0][1:]) + 1
    links = 0
    for offset, finding in enumerate(findings):
        written = after.written[(sheet, f"D{first + offset}")]
        located = [read.locate(ref) for ref in finding.refs if read.locate(ref)]
        if located:
            name, args = parse_call(written)
            target_sheet, target_cell = located[0]
            assert name == "HYPERLINK" and args[0] == f"\"#'{target_sheet}'!{target_cell}\""
            links += 1
        assert after.written[(sheet, f"C{first + offset}")] == finding.message
    counts = count_by_severity(findings)
    assert after.written[tuple(read.names["finding_errors"])] == counts["error"]
    assert links >= 25 and set(after.written) >= set(finding_rows)
    assert {s for s, _ in after.written} == {sheet, read.names["finding_errors"][0]}
    assert after.alerts[0][0].startswith(f"校验完成：错误 {counts['error']} 条")


def test_validate_adds_the_findings_sheet_when_it_was_deleted(
    tmp_path: Path, example: tuple[Path, Path]
) -> None:
    new, _ = example
    wb = load_workbook(new)
    del wb[c.S_FINDINGS]
    del wb.defined_names[c.FINDINGS_NAME]
    path = tmp_path / "no-findings.xlsx"
    wb.save(path)
    payload = book_payload(path)
    book = xw.Book(json=copy.deepcopy(payload))
    result = actions.validate(book)
    after = Sheets.from_payload(payload).apply(book.json()["actions"])
    assert result.ok and after.order[-1] == c.S_FINDINGS
    assert [after.value(c.S_FINDINGS, f"{col}3") for col in "ABCD"] == list(c.FINDING_HEADERS)
    assert after.value(c.S_FINDINGS, "C4") == result.findings[0].message


@pytest.mark.parametrize(("name", "suffix"), [("word_report", ".docx"), ("html_report", ".html")])
def test_reports_are_written_on_the_server_with_a_link(
    name: str, suffix: str, example: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new, _ = example
    monkeypatch.setenv("XLPERF_REPORT_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("XLPERF_PUBLIC_URL", "https://perf.example.gov.cn")
    after = run_script(name, book_payload(new))
    (opened,) = [m for m in after.macros if m[0] == "xlperfOpenUrl"]
    link = opened[1]
    assert link.startswith("https://perf.example.gov.cn/xlperf/reports/") and link.endswith(suffix)
    assert link in after.alerts[0][0]
    path = tmp_path / "reports" / link.split("/xlperf/reports/")[1]
    assert path.is_file() and path.name == f"高邑镇2024{suffix}"
    text = (
        "\n".join(p.text for p in Document(str(path)).paragraphs)
        if suffix == ".docx"
        else path.read_text(encoding="utf-8")
    )
    assert "高邑县高邑镇人民政府" in text and "良" in text


def test_desktop_reports_go_next_to_the_workbook(tmp_path: Path, example: tuple[Path, Path]) -> None:
    new, _ = example

    class DesktopBook:
        """What the report action asks of a desktop workbook besides the cells."""

        def __init__(self, inner: object, fullname: Path) -> None:
            self._inner, self.fullname, self.name = inner, str(fullname), fullname.name

        def __getattr__(self, attr: str) -> object:
            return getattr(self._inner, attr)

    book = DesktopBook(xw.Book(json=book_payload(new)), tmp_path / "高邑镇2024.xlsm")
    result = actions.run(book, "html_report")
    assert result.ok, result.message
    assert result.outputs["html"] == tmp_path / "高邑镇2024.html" and result.outputs["html"].is_file()
    assert str(tmp_path / "高邑镇2024.html") in result.message


def test_failures_become_messages(
    tmp_path: Path, example: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    new, _ = example
    book = xw.Book(json=book_payload(new))
    unknown = actions.run(book, "delete_everything")
    assert not unknown.ok and "未知的操作" in unknown.message
    read_only = actions.run(xw.Book(new, mode="r"), "recalculate")
    assert not read_only.ok and "只读" in read_only.message
    blocked = tmp_path / "file-not-folder"
    blocked.write_text("x")
    report = actions.run(book, "word_report", out_dir=blocked / "sub")
    assert (
        not report.ok
        and report.message.startswith("生成Word报告未完成：")
        and "Traceback" not in report.message
    )

    def explode(book: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(actions.ACTIONS, "validate", explode)
    crashed = actions.run(book, "validate")
    assert not crashed.ok and "内部错误（RuntimeError: boom）" in crashed.message


def test_the_ribbon_entry_point_runs_on_the_calling_book(
    example: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``RunPython "...run_caller('validate')"``: the book is ``xw.Book.caller()``, the answer a message box."""
    new, _ = example
    payload = book_payload(new)
    book = xw.Book(json=copy.deepcopy(payload))
    monkeypatch.setattr(xw.Book, "caller", staticmethod(lambda: book))
    result = actions.run_caller("validate")
    after = Sheets.from_payload(payload).apply(book.json()["actions"])
    assert result.ok and after.alerts == [[result.message, "绩效自评 · 数据校验", "ok", "info", ""]]


class DesktopApp:
    """The app of a desktop stand-in: not xlwings Server's ``remote`` engine, the rest delegated."""

    engine = type("Engine", (), {"name": "desktop-stand-in"})()

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, attr: str) -> object:
        return getattr(self._inner, attr)


class DesktopBook:
    """An ``xw.Book`` as desktop Excel gives it: the cells plus the file it was opened from."""

    def __init__(self, inner: object, fullname: Path) -> None:
        self._inner, self.fullname, self.name = inner, str(fullname), fullname.name
        self.app = DesktopApp(inner.app)  # type: ignore[attr-defined]

    def __getattr__(self, attr: str) -> object:
        return getattr(self._inner, attr)


@pytest.mark.parametrize("suffix", [".xlsx", ".xlsm"])
def test_the_ribbon_makes_next_years_workbook_beside_this_one(
    tmp_path: Path, example: tuple[Path, Path], suffix: str
) -> None:
    from xlperf.excel.addin import build_macro_workbook

    new, _ = example
    saved = tmp_path / f"高邑镇2024{suffix}"
    if suffix == ".xlsm":
        build_macro_workbook(saved, base=new, interpreter=r"C:\Python312\pythonw.exe")
    else:
        saved.write_bytes(new.read_bytes())
    book = DesktopBook(xw.Book(json=book_payload(saved)), saved)
    result = actions.run(book, "next_year")
    assert result.ok, result.message
    target = tmp_path / f"高邑镇2025{suffix}"
    assert result.outputs == {"workbook": target} and str(target) in result.message
    assert "年初结转结余 ← 上年年末结转结余 113.07" in result.message
    read = read_workbook(target)
    assert read.locator.problems == []
    assert read.data.get("year") == 2025 and read.data.get("carryover_begin") == 113.07
    assert read.data.get("previous_file") == saved.name and read.data.get("final_exp_total") is None
    if suffix == ".xlsm":
        wb = load_workbook(target, keep_vba=True)
        assert wb["xlwings.conf"]["B1"].value == r"C:\Python312\pythonw.exe"
    again = actions.run(book, "next_year")
    assert not again.ok and "已存在" in again.message and again.title == "绩效自评 · 新建下年工作簿"
    unsaved = actions.run(xw.Book(json=book_payload(saved)), "next_year")
    assert not unsaved.ok and "请先将本工作簿保存" in unsaved.message


def test_desktop_validation_compares_with_the_previous_year_named_in_the_workbook(
    tmp_path: Path, example: tuple[Path, Path]
) -> None:
    new, _ = example
    last = tmp_path / "高邑镇2024.xlsx"
    last.write_bytes(new.read_bytes())
    assert actions.run(DesktopBook(xw.Book(json=book_payload(last)), last), "next_year").ok
    wb = load_workbook(tmp_path / "高邑镇2025.xlsx")
    sheet, cell = read_workbook(tmp_path / "高邑镇2025.xlsx").locator.names["carryover_begin"]
    wb[sheet][cell] = 100
    wb.save(tmp_path / "高邑镇2025.xlsx")
    this_year = tmp_path / "高邑镇2025.xlsx"
    result = actions.run(DesktopBook(xw.Book(json=book_payload(this_year)), this_year), "validate")
    carry = next(f for f in result.findings if f.check == "previous.carryover")
    assert "100.00 万元" in carry.message and "113.07 万元" in carry.message
    # xlwings Server: the file name comes from the client, so no file is opened, even when it exists.
    remote = xw.Book(json=book_payload(this_year))
    served = actions.run(RemoteBook(remote, this_year), "validate")
    assert served.ok and not [f for f in served.findings if f.check.startswith("previous.")]


class RemoteBook(DesktopBook):
    """A remote (Office.js) book whose client claims a full path that exists on the server."""

    def __init__(self, inner: object, fullname: Path) -> None:
        super().__init__(inner, fullname)
        self.app = inner.app  # type: ignore[attr-defined]
