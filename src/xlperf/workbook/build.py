"""The headless build (无界面计算): read a workbook, evaluate it, write formulas and results into a copy.

The copy keeps everything the user put in the workbook — the file is patched at the XML level,
only the computed cells change — and the input file is never modified unless asked
(``in_place=True``, which first writes a backup).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core.evaluate import Evaluation, evaluate
from ..core.findings import ERROR, SEVERITY_ORDER, WARNING, Finding
from ..errors import OutputError, WorkbookStructureError
from ..io.atomic import backup_file, os_error_text
from ..io.safety import FileReport, inspect_workbook_file
from ..io.xlsxpatch import fit_cell_text, patch_workbook
from . import contract as c
from .cells import computed_cells, finding_cells, finding_row_heights, rubric_row_heights
from .decoder import Book, open_book
from .previous import link_previous
from .read import Locator, WorkbookInputs, read_book


@dataclass
class BuildResult:
    """What a build produced (计算结果): the evaluation, all findings, the output path and locations."""

    evaluation: Evaluation
    findings: list[Finding]
    locator: Locator
    output: Path | None
    report: FileReport
    backup: Path | None = None
    warnings: list[str] = field(default_factory=list)
    reports: dict[str, Path] = field(default_factory=dict)

    def where(self, finding: Finding) -> str:
        """The cells a finding names, as ``工作表!单元格`` (位置)."""
        return "、".join(filter(None, (self.locator.describe(ref) for ref in finding.refs)))

    @property
    def has_errors(self) -> bool:
        """True when any finding is at error level (存在错误)."""
        return any(f.severity == ERROR for f in self.findings)


def structure_findings(loc: Locator) -> list[Finding]:
    """Findings for a damaged workbook structure (工作簿结构问题), and a warning for an older layout."""
    damage = [
        Finding("workbook.structure", ERROR, message, (ref,) if ref else ()) for message, ref in loc.problems
    ]
    return damage + ([Finding("workbook.layout", WARNING, loc.outdated)] if loc.outdated else [])


def evaluate_workbook(
    path: Path, previous: Path | None = None, *, named_previous: bool = True
) -> tuple[WorkbookInputs, Evaluation, list[Finding], FileReport]:
    """Check the file, read its inputs and evaluate them (读取并计算); raises XlperfError if unreadable
    or if it is not a 绩效自评 workbook at all: none of the contract's names or tables, whatever its
    sheets are called (xlperf's own 汇总.xlsx has a sheet 汇总, and no inputs).

    Last year's workbook (``previous``, or with ``named_previous`` the one named in 上年自评工作簿)
    is compared too.
    """
    report = inspect_workbook_file(path)
    book = open_book(path)
    try:
        inputs, ev, findings = _evaluate_book(book, path, previous, named_previous)
    finally:
        book.close()
    return inputs, ev, findings, report


def _evaluate_book(
    book: Book, path: Path, previous: Path | None, named_previous: bool
) -> tuple[WorkbookInputs, Evaluation, list[Finding]]:
    inputs = read_book(book)
    loc = inputs.locator
    if not loc.names and not loc.tables:
        raise WorkbookStructureError(
            "这不是绩效自评工作簿：模板的命名区域（"
            + "、".join((c.VERSION_NAME, "unit_name", "year"))
            + "……）和表格一个也没有找到"
            + ("（虽有与模板同名的工作表）" if set(c.SHEETS) & set(loc.sheets) else "")
            + "；请用 xlperf new 生成的模板填报后再报送",
            path=str(path),
        )
    ev = evaluate(inputs.data)
    link_previous(ev, path, previous, named=named_previous)
    findings = sorted(
        structure_findings(inputs.locator) + ev.findings, key=lambda f: SEVERITY_ORDER[f.severity]
    )
    return inputs, ev, findings


def output_path(path: Path, out_dir: Path | None, in_place: bool) -> Path:
    """Where the built workbook goes (输出位置): ``out_dir/name``, or the input itself with ``in_place``."""
    if in_place:
        return path
    target = (out_dir or path.parent / "xlperf-output") / path.name
    if target.resolve() == path.resolve():
        raise OutputError(
            "输出文件与输入文件相同；如需覆盖原文件请使用 --in-place（会先备份）", path=str(path)
        )
    return target


def build_workbook(
    path: Path,
    out_dir: Path | None = None,
    *,
    in_place: bool = False,
    previous: Path | None = None,
    named_previous: bool = True,
) -> BuildResult:
    """Evaluate ``path`` and write the computed workbook (计算并写回); returns the :class:`BuildResult`.

    The file is read and its parts parsed once: the patch edits the trees the reader parsed.
    """
    report = inspect_workbook_file(path)
    book = open_book(path)
    package = book.package.package
    try:
        inputs, ev, findings = _evaluate_book(book, path, previous, named_previous)
        del book  # the cells it decoded are read: freed now, before the patch parses what it edits
        target = output_path(path, out_dir, in_place)
        cells = computed_cells(inputs.locator, ev)
        rows = finding_cells(inputs.locator, findings, inputs.locator.finding_rows)
        heights = finding_row_heights(inputs.locator, rows)
        heights.update(rubric_row_heights(inputs.locator, ev, cells))
        cells.update(rows)
        # Findings quote what users typed, which may already fill a cell: cut to Excel's limit.
        cells = {at: fit_cell_text(v) if isinstance(v, str) else v for at, v in cells.items()}
        backup = backup_file(path) if in_place else None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            patch_workbook(
                path,
                target,
                cells,
                full_calc_on_load=False,
                row_heights=heights,
                package=package,
            )
        except OSError as exc:
            raise OutputError(f"无法写入输出文件：{os_error_text(exc)}", path=str(target)) from None
    finally:
        package.close()
    return BuildResult(ev, findings, inputs.locator, target, report, backup, list(report.warnings))
