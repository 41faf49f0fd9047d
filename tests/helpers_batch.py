"""What the batch tests read back from an output folder (批量输出的读取)."""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from xlperf.batch.inbox import BATCH_DIR
from xlperf.batch.manifest import SUMMARY_HTML, SUMMARY_XLSX


def summary_contents(out: Path) -> tuple[list[tuple], list[tuple], str]:
    """Both sheets' cell values and the dashboard text: what must not depend on how the run went."""
    wb = load_workbook(out / SUMMARY_XLSX)
    sheets = [list(wb[name].iter_rows(values_only=True)) for name in ("汇总", "问题明细")]
    return sheets[0], sheets[1], (out / SUMMARY_HTML).read_text(encoding="utf-8")


def unit_folders(out: Path) -> set[str]:
    """The unit folders of a batch output (单位文件夹), without the batch's own."""
    return {p.name for p in out.iterdir() if p.is_dir() and p.name != BATCH_DIR}
