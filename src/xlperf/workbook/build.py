"""The headless build (无界面计算): read a workbook, evaluate it, write formulas and results into a copy.

The copy keeps everything the user put in the workbook — the file is patched at the XML level,
only the computed cells change — and the input file is never modified unless asked
(``in_place=True``, which first writes a backup).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..core.evaluate import Evaluation, evaluate
from ..core.findings import ERROR, SEVERITY_ORDER, Finding
from ..errors import OutputError, WorkbookStructureError
from ..io.atomic import backup_file, os_error_text
from ..io.safety import FileReport, inspect_workbook_file
from ..io.xlsxpatch import fit_cell_text, patch_workbook
from . import contract as c
from .cells import computed_cells, finding_cells
from .read import Locator, WorkbookInputs, read_workbook


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
    """Findings for a damaged workbook structure (工作簿结构问题)."""
    return [
        Finding("workbook.structure", ERROR, message, (ref,) if ref else ()) for message, ref in loc.problems
    ]


def evaluate_workbook(path: Path) -> tuple[WorkbookInputs, Evaluation, list[Finding], FileReport]:
    """Check the file, read its inputs and evaluate them (读取并计算); raises XlperfError if unreadable
    or if it is not a 绩效自评 workbook at all (none of the contract's sheets, names or tables)."""
    report = inspect_workbook_file(path)
    inputs = read_workbook(path)
    loc = inputs.locator
    if not loc.names and not loc.tables and not set(c.SHEETS) & set(loc.sheets):
        raise WorkbookStructureError(
            "这不是绩效自评工作簿：模板的工作表（"
            + "、".join(c.SHEETS[:3])
            + "……）和命名区域一个也没有找到；请用 xlperf new 生成的模板填报后再报送",
            path=str(path),
        )
    ev = evaluate(inputs.data)
    findings = sorted(
        structure_findings(inputs.locator) + ev.findings, key=lambda f: SEVERITY_ORDER[f.severity]
    )
    return inputs, ev, findings, report


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


def build_workbook(path: Path, out_dir: Path | None = None, *, in_place: bool = False) -> BuildResult:
    """Evaluate ``path`` and write the computed workbook (计算并写回); returns the :class:`BuildResult`."""
    inputs, ev, findings, report = evaluate_workbook(path)
    target = output_path(path, out_dir, in_place)
    cells = computed_cells(inputs.locator, ev)
    cells.update(finding_cells(inputs.locator, findings, inputs.locator.finding_rows))
    # Findings quote what users typed, which may already fill a cell: cut to Excel's limit.
    cells = {at: fit_cell_text(v) if isinstance(v, str) else v for at, v in cells.items()}
    backup = backup_file(path) if in_place else None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        patch_workbook(path, target, cells, full_calc_on_load=False)
    except OSError as exc:
        raise OutputError(f"无法写入输出文件：{os_error_text(exc)}", path=str(target)) from None
    return BuildResult(ev, findings, inputs.locator, target, report, backup, list(report.warnings))
