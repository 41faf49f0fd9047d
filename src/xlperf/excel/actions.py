"""The ribbon's actions (功能区操作) on an open workbook: 重新计算, 数据校验, 生成Word报告, 生成HTML报告.

Each action is a Python function of an ``xw.Book``, so one implementation serves every front end:

* desktop Excel — the 绩效自评 tab of the macro-enabled workbook calls ``RunPython`` →
  :func:`run_caller`, which takes ``xw.Book.caller()``;
* Excel 365 / web / Mac — xlwings Server's scripts (:mod:`xlperf.excel.server`) get the book
  from the Office.js payload;
* tests — ``xw.Book(json=...)`` with the JSON the Office.js client sends.

The book is read through the workbook contract (:func:`~xlperf.excel.book_source.read_book`),
evaluated by the core, and written with the headless build's own cell list
(:func:`~xlperf.workbook.cells.computed_cells`, :func:`~xlperf.workbook.cells.finding_cells`), so a
button press leaves the workbook as ``xlperf build`` would, with live formulas.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.evaluate import Evaluation, evaluate
from ..core.findings import SEVERITY_LABELS, SEVERITY_ORDER, Finding, count_by_severity
from ..core.functions import FUNCTIONS
from ..core.numbers import fmt_score
from ..errors import XlperfError
from ..io.cellref import column_letters, parse_range
from ..io.xlsxpatch import Formula, Literal
from ..workbook import contract as c
from ..workbook.build import structure_findings
from ..workbook.cells import computed_cells, finding_cells
from ..workbook.previous import link_previous
from ..workbook.read import Locator, WorkbookInputs
from .book_source import read_book

logger = logging.getLogger(__name__)

TITLE = "绩效自评"
LABELS = {
    "recalculate": "重新计算",
    "validate": "数据校验",
    "word_report": "生成Word报告",
    "html_report": "生成HTML报告",
}
"""Action name (ribbon button ``tag``, script name) → its Chinese label (按钮名称)."""
DESKTOP_LABELS = {"next_year": "新建下年工作簿"}
"""Ribbon actions of desktop Excel only (仅桌面版): they write files next to the workbook."""
ALL_LABELS = {**LABELS, **DESKTOP_LABELS}

MAX_LINK_TEXT = 255


class ReadOnlyBookError(XlperfError):
    """The workbook was opened through an engine that cannot write (只读方式打开)."""


@dataclass
class ActionResult:
    """What an action did (操作结果): a Chinese message for the user and the details for code."""

    action: str
    message: str
    cells: int = 0
    outputs: dict[str, Path] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    evaluation: Evaluation | None = None
    ok: bool = True

    @property
    def title(self) -> str:
        """The dialog title (对话框标题), e.g. ``绩效自评 · 重新计算``."""
        return f"{TITLE} · {ALL_LABELS.get(self.action, self.action)}"


def evaluate_book(book: Any) -> tuple[WorkbookInputs, Evaluation, list[Finding]]:
    """Read *book* through the contract and evaluate it (读取并计算), findings sorted by severity."""
    inputs = read_book(book)
    ev = evaluate(inputs.data)
    saved = _saved_path(book)
    if saved is not None:  # desktop: last year's workbook named in 上年自评工作簿 is compared too
        link_previous(ev, saved)
    findings = sorted(
        structure_findings(inputs.locator) + ev.findings, key=lambda f: SEVERITY_ORDER[f.severity]
    )
    return inputs, ev, findings


def _saved_path(book: Any) -> Path | None:
    """The workbook's file on disk (已保存的文件), ``None`` for a book that has none (Office.js, unsaved).

    A book of xlwings Server (``remote``) never has one: its name comes from the client, and the
    server's files are not the client's to open.
    """
    if _engine(book) == "remote":
        return None
    full = Path(str(getattr(book, "fullname", "") or ""))
    return full if full.is_absolute() and full.is_file() else None


def _quote_sheet(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _hyperlink(sheet: str, address: str, text: str) -> Formula:
    """``=HYPERLINK("#'预算收支'!D60","预算收支!D60")`` — a link every Excel, WPS and the web follow."""
    target = f"#{_quote_sheet(sheet)}!{address.split(':')[0]}"
    shown = text if len(text) <= MAX_LINK_TEXT else text[: MAX_LINK_TEXT - 1] + "…"
    formula = 'HYPERLINK("{}","{}")'.format(target.replace('"', '""'), shown.replace('"', '""'))
    return Formula(formula, text)


def findings_with_links(loc: Locator, findings: list[Finding]) -> dict[tuple[str, str], object]:
    """The 校验结果 rows (校验结果单元格) as the headless build writes them, with 位置 linked to the cell.

    Without the ``findings_header`` name the rows go under a header at A3 of the 校验结果 sheet.
    """
    if c.FINDINGS_NAME not in loc.names:
        loc.names[c.FINDINGS_NAME] = (c.S_FINDINGS, "A3:D3")
    cells = finding_cells(loc, findings, loc.finding_rows)
    sheet, anchor = loc.names[c.FINDINGS_NAME]
    col, header_row = _first_cell(anchor)
    where_col = column_letters(col + len(c.FINDING_HEADERS) - 1)
    for offset, finding in enumerate(findings):
        located = [found for found in (loc.locate(ref) for ref in finding.refs) if found is not None]
        key = (sheet, f"{where_col}{header_row + 1 + offset}")
        if located and cells.get(key):
            cells[key] = _hyperlink(located[0][0], located[0][1], str(cells[key]))
    return cells


def _first_cell(address: str) -> tuple[int, int]:
    """(column, row) of the first cell of ``address`` (``"A3:D3"`` or ``"B7"``)."""
    parsed = parse_range(address)
    if parsed is None:  # pragma: no cover - addresses come from parse_reference
        raise ValueError(address)
    return parsed[1], parsed[0]


_FUNCTION_CALL = re.compile(r"(?<![\w.])(" + "|".join(sorted(FUNCTIONS, key=len, reverse=True)) + r")\(")


def qualify(formula: str, namespace: str) -> str:
    """Prefix xlperf's functions with an Office.js namespace (函数命名空间): ``XLPERF.BUDGET_ADJ_RATE(``."""
    return _FUNCTION_CALL.sub(lambda m: f"{namespace}.{m[1]}(", formula) if namespace else formula


def _runs(cells: Mapping[tuple[str, str], object], formulas: bool) -> Iterator[tuple[str, int, int, list]]:
    """Vertical runs of same-kind cells: (sheet, column, first row, [(kind, payload)…])."""
    by_column: dict[tuple[str, int], dict[int, object]] = {}
    for (sheet, address), value in cells.items():
        col, row = _first_cell(address)
        by_column.setdefault((sheet, col), {})[row] = value
    for (sheet, col), rows in sorted(by_column.items()):
        run: list[tuple[str, object]] = []
        start = previous = 0
        for row in sorted(rows):
            value = rows[row]
            if isinstance(value, Formula):
                item = ("formula", value.text) if formulas else ("value", value.value)
            elif isinstance(value, Literal):
                item = ("value", value.value)
            else:
                item = ("value", value)
            if run and (row != previous + 1 or run[-1][0] != item[0]):
                yield sheet, col, start, run
                run = []
            if not run:
                start = row
            run.append(item)
            previous = row
        if run:
            yield sheet, col, start, run


def write_cells(
    book: Any, cells: Mapping[tuple[str, str], object], *, formulas: bool = True, namespace: str = ""
) -> int:
    """Write *cells* (写入单元格) into *book*: formulas as formulas (or their values), others as values.

    Cells are written as vertical runs, one range per run, so desktop Excel makes few COM calls
    and Office.js receives few actions.  Returns the number of cells written.
    """
    count = 0
    for sheet_name, col, start, run in _runs(cells, formulas):
        sheet = book.sheets[sheet_name]
        target = sheet.range((start, col), (start + len(run) - 1, col))
        if run[0][0] == "formula":
            texts = [["=" + qualify(str(text), namespace)] for _, text in run]
            target.formula = texts if len(texts) > 1 else texts[0][0]
        else:
            values = [[value] for _, value in run]
            target.value = values if len(values) > 1 else values[0][0]
        count += len(run)
    return count


def _engine(book: Any) -> str:
    try:
        return str(book.app.engine.name)
    except Exception:  # a stand-in book in a test or an exotic engine
        return ""


_PROTECTION_FLAGS = (
    "AllowFormattingCells",
    "AllowFormattingColumns",
    "AllowFormattingRows",
    "AllowInsertingColumns",
    "AllowInsertingRows",
    "AllowInsertingHyperlinks",
    "AllowDeletingColumns",
    "AllowDeletingRows",
    "AllowSorting",
    "AllowFiltering",
    "AllowUsingPivotTables",
)


@contextlib.contextmanager
def unprotected(book: Any, sheets: list[str]) -> Iterator[None]:
    """Lift the (password-free) sheet protection while xlperf writes, then restore it (临时撤销保护).

    Desktop Excel does it through COM and restores every option; xlwings Server asks the task
    pane's ``xlperfUnprotect``/``xlperfProtect`` callbacks (``static/js/ribbon.js``) to do the
    same around the written cells.  A sheet protected with a password stops the action with a
    Chinese message.
    """
    engine = _engine(book)
    if engine == "calamine":
        raise ReadOnlyBookError("此工作簿以只读方式打开，不能写入；请在 Excel 中打开后再操作")
    if engine == "remote":
        book.app.macro("xlperfUnprotect")(*sheets)
        yield
        book.app.macro("xlperfProtect")(*sheets)
        return
    if engine != "excel":
        yield
        return
    restore = []
    for name in sheets:
        api = book.sheets[name].api
        if not api.ProtectContents:
            continue
        options = {flag: getattr(api.Protection, flag) for flag in _PROTECTION_FLAGS}
        options.update(DrawingObjects=api.ProtectDrawingObjects, Scenarios=api.ProtectScenarios)
        try:
            api.Unprotect()
        except Exception:
            raise XlperfError(
                f"工作表「{name}」设有密码保护，xlperf 无法写入计算结果；请先在「审阅 ▸ 撤销工作表保护」中撤销",
                sheet=name,
            ) from None
        restore.append((api, options))
    app = book.app
    calculation = app.calculation
    app.screen_updating = False
    app.calculation = "manual"
    try:
        yield
    finally:
        app.calculation = calculation
        app.screen_updating = True
        for api, options in restore:
            api.Protect(Contents=True, **options)


def _ensure_findings_sheet(book: Any, loc: Locator) -> dict[tuple[str, str], object]:
    """Add a 校验结果 sheet with its header when the workbook lacks one (补建校验结果表)."""
    if c.FINDINGS_NAME in loc.names:
        return {}
    if c.S_FINDINGS not in loc.sheets:
        book.sheets.add(c.S_FINDINGS, after=book.sheets[len(book.sheets) - 1])
        loc.sheets.append(c.S_FINDINGS)
    return {(c.S_FINDINGS, f"{column_letters(i)}3"): h for i, h in enumerate(c.FINDING_HEADERS, 1)}


def _counts_text(findings: list[Finding]) -> str:
    counts = count_by_severity(findings)
    return "，".join(f"{SEVERITY_LABELS[k]} {counts[k]} 条" for k in SEVERITY_LABELS)


def _write(book: Any, loc: Locator, cells: dict[tuple[str, str], object], **options: Any) -> int:
    sheets = sorted({sheet for sheet, _ in cells})
    with unprotected(book, sheets):
        return write_cells(book, cells, **options)


def recalculate(book: Any, *, formulas: bool = True, namespace: str = "") -> ActionResult:
    """重新计算: evaluate *book* and write every computed cell and the 校验结果 (重新计算).

    With *formulas* each computed cell gets its ``=BUDGET_ADJ_RATE(...)``-style formula, which
    Excel evaluates through the add-in; without, the values the core computed.  *namespace*
    prefixes the functions for an Office.js add-in registered under one.
    """
    inputs, ev, findings = evaluate_book(book)
    loc = inputs.locator
    extra = _ensure_findings_sheet(book, loc)
    cells = computed_cells(loc, ev)
    cells.update(extra)
    cells.update(findings_with_links(loc, findings))
    count = _write(book, loc, cells, formulas=formulas, namespace=namespace)
    message = (
        f"已重新计算 {count} 个单元格。核定总分 {fmt_score(ev.total)} 分（{ev.grade}），"
        f"自评合计 {fmt_score(ev.self_total)} 分（{ev.self_grade}）。校验：{_counts_text(findings)}，"
        f"详见「{c.S_FINDINGS}」。"
    )
    return ActionResult("recalculate", message, count, findings=findings, evaluation=ev)


def validate(book: Any) -> ActionResult:
    """数据校验: check *book* and list the findings on 校验结果, each linked to its cells (数据校验)."""
    inputs, ev, findings = evaluate_book(book)
    loc = inputs.locator
    cells = _ensure_findings_sheet(book, loc)
    cells.update(findings_with_links(loc, findings))
    count = _write(book, loc, cells, formulas=True)
    head = "未发现问题。" if not findings else f"校验完成：{_counts_text(findings)}。"
    message = head + (f"请在「{c.S_FINDINGS}」中点击「位置」跳转到相应单元格。" if findings else "")
    return ActionResult("validate", message, count, findings=findings, evaluation=ev)


def default_report_dir(book: Any) -> Path:
    """Where a desktop report goes (报告位置): the workbook's folder, else the user's 文档 folder."""
    full = Path(str(book.fullname))
    if full.is_absolute() and full.parent.is_dir():
        return full.parent
    documents = Path.home() / "Documents"
    return documents if documents.is_dir() else Path.home()


def _report(book: Any, action: str, fmt: str, out_dir: Path | None, stem: str | None) -> ActionResult:
    try:
        from ..report import render_reports
    except ImportError as exc:
        raise XlperfError(f"报告模块不可用（{exc}），请重新安装 xlperf") from None
    inputs, ev, findings = evaluate_book(book)
    target = out_dir or default_report_dir(book)
    name = stem or Path(str(book.name)).stem
    try:
        target.mkdir(parents=True, exist_ok=True)
        outputs = render_reports(
            ev, findings, target, formats=(fmt,), locate=inputs.locator.locate, stem=name
        )
    except PermissionError as exc:
        raise XlperfError(
            f"无法写入报告（{exc.filename or target}）：文件可能正在 Word 或浏览器中打开，请关闭后重试"
        ) from None
    except OSError as exc:
        raise XlperfError(f"无法写入报告：{exc.strerror or exc}", path=str(target)) from None
    path = outputs[fmt]
    from ..report.report_context import draft_reasons

    reasons = draft_reasons(ev, findings)
    note = (
        f"注意：{'、'.join(reasons)}，报告已标为“征求意见稿”；请补全后运行「数据校验」查看并修正。"
        if reasons
        else ""
    )
    message = f"已生成{LABELS[action][2:]}：{path}。{note}"
    return ActionResult(action, message, outputs=dict(outputs), findings=findings, evaluation=ev)


def word_report(book: Any, out_dir: Path | None = None, *, stem: str | None = None) -> ActionResult:
    """生成Word报告: the 自评报告 (.docx) for *book*, next to the workbook unless *out_dir* is given."""
    return _report(book, "word_report", "docx", out_dir, stem)


def html_report(book: Any, out_dir: Path | None = None, *, stem: str | None = None) -> ActionResult:
    """生成HTML报告: the self-contained HTML report for *book*, next to the workbook unless *out_dir*."""
    return _report(book, "html_report", "html", out_dir, stem)


def next_year(book: Any, out: Path | None = None) -> ActionResult:
    """新建下年工作簿: next year's workbook from *book* (结转下年), beside it, as ``xlperf new --from``.

    Reads what the open workbook holds; a macro-enabled book gives a macro-enabled one with the same
    ``xlwings.conf``.  An existing file is never overwritten.
    """
    from ..workbook.carryover import MacroBook, next_year_path, write_next_year

    saved = _saved_path(book)
    if saved is None:
        raise XlperfError("请先将本工作簿保存到电脑上，再新建下年工作簿")
    inputs, ev, _ = evaluate_book(book)
    target = out or next_year_path(saved, inputs.data.get("year"))
    config: list[tuple[str, str]] | None = None
    macro_book: MacroBook | None = None
    if target.suffix.lower() == ".xlsm":
        from .addin import CONFIG_SHEET, build_macro_workbook

        sheets = [s.name for s in book.sheets]
        rows = book.sheets[CONFIG_SHEET].range("A1:B20").value if CONFIG_SHEET in sheets else []
        config = [(str(k), "" if v is None else str(v)) for k, v in rows if k]
        macro_book = build_macro_workbook
    lines = write_next_year(inputs.data, ev, saved, target, config, macro_book=macro_book)
    message = f"已新建下年工作簿：{target}。" + "；".join(line for line in lines if line.startswith("上年数"))
    return ActionResult("next_year", message, outputs={"workbook": target}, evaluation=ev)


ACTIONS: dict[str, Callable[..., ActionResult]] = {
    "recalculate": recalculate,
    "validate": validate,
    "word_report": word_report,
    "html_report": html_report,
    "next_year": next_year,
}


def run(book: Any, action: str, **options: Any) -> ActionResult:
    """Run *action* on *book* and never raise (执行操作): failures become a Chinese message."""
    if action not in ACTIONS:
        known = "、".join(f"{name}（{label}）" for name, label in ALL_LABELS.items())
        return ActionResult(action, f"未知的操作「{action}」；可用：{known}", ok=False)
    try:
        return ACTIONS[action](book, **options)
    except XlperfError as exc:
        return ActionResult(action, f"{ALL_LABELS[action]}未完成：{exc}", ok=False)
    except Exception as exc:  # a finance officer sees a sentence, the log keeps the traceback
        logger.exception("action %s failed", action)
        return ActionResult(
            action,
            f"{ALL_LABELS[action]}未完成：xlperf 内部错误（{type(exc).__name__}: {exc}）。"
            "工作簿未保存的修改不受影响；请将此信息和工作簿反馈给维护人员。",
            ok=False,
        )


def run_caller(action: str) -> ActionResult:
    """Entry point of the desktop ribbon (``RunPython``): run *action* on the calling workbook and
    show the result in a message box (功能区入口)."""
    import xlwings as xw

    book = xw.Book.caller()
    result = run(book, action)
    book.app.alert(result.message, title=result.title, mode="info" if result.ok else "critical")
    if result.ok and action == "next_year":
        book.app.books.open(str(result.outputs["workbook"]))
    return result
