"""Excel's 32,767-character cell limit (单元格文本上限): no .xlsx xlperf writes has a longer text cell.

Excel refuses to open a workbook with a longer cell ("We found a problem with some content").  The
summary joins texts from other people's workbooks (finding messages, indicator names), so it can
exceed the limit; such a text is cut to fit and says so.  Every file is written, then re-read.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from tools.generate import generate_workbooks
from xlperf.batch import run_batch
from xlperf.batch.run import SUMMARY_XLSX
from xlperf.batch.summary import write_summary
from xlperf.batch.unit import FindingRow, Overclaim, UnitRecord
from xlperf.io.xlsxpatch import MAX_STRING_LENGTH, TRUNCATED, fit_cell_text, patch_workbook
from xlperf.io.xlsxwrite import Sheet, write_workbook
from xlperf.workbook.read import read_workbook

EMOJI = "\U0001f600"  # two UTF-16 units, as Excel counts it


def excel_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def texts(path: Path) -> list[str]:
    book = load_workbook(path)
    return [
        cell
        for ws in book.worksheets
        for row in ws.iter_rows(values_only=True)
        for cell in row
        if isinstance(cell, str)
    ]


def test_texts_are_cut_to_the_limit_counting_as_excel_does() -> None:
    exact = "财" * MAX_STRING_LENGTH
    assert fit_cell_text(exact) == exact and fit_cell_text("短") == "短"
    cut = fit_cell_text("数" * 40_000)
    assert excel_length(cut) == MAX_STRING_LENGTH and cut.endswith(TRUNCATED)
    pairs = fit_cell_text(EMOJI * 20_000)  # a surrogate pair is never split
    assert excel_length(pairs) <= MAX_STRING_LENGTH and pairs.endswith(TRUNCATED)
    assert set(pairs.removesuffix(TRUNCATED)) == {EMOJI}


def test_written_workbooks_keep_every_text_cell_within_the_limit(tmp_path: Path) -> None:
    rows = [[("甲" * 40_000, None), ("乙" * MAX_STRING_LENGTH, None), (EMOJI * 17_000, None)]]
    path = write_workbook(tmp_path / "长文本.xlsx", [Sheet("表", rows)], title="长文本")
    first, second, third = texts(path)
    assert first.endswith(TRUNCATED) and excel_length(first) == MAX_STRING_LENGTH
    assert second == "乙" * MAX_STRING_LENGTH
    assert third.endswith(TRUNCATED) and excel_length(third) <= MAX_STRING_LENGTH

    book = Workbook()
    book.active.title = "表"
    book.save(tmp_path / "原.xlsx")
    with pytest.raises(ValueError, match="32767"):  # the patcher refuses; its callers cut to fit
        patch_workbook(tmp_path / "原.xlsx", tmp_path / "改.xlsx", {("表", "A1"): "丙" * 50_000})


def test_a_summary_of_long_texts_stays_within_the_limit(tmp_path: Path) -> None:
    long_name = "很长的指标名称" * 3000  # 21,000 characters, as a user may type into one cell
    record = UnitRecord(
        "a.xlsx",
        "a.xlsx",
        "d",
        "r",
        "ok",
        unit="单位" * 20_000,
        total=50.0,
        self_total=90.0,
        counts={"error": 1},
        overclaims=[Overclaim(f"1.{n}", long_name, 5.0, 0.0, 5.0) for n in range(3)],
        findings=[FindingRow("error", "stated.total", "说明" * 30_000, "汇总!B2")],
        folder="单位",
    )
    write_summary([record], tmp_path / SUMMARY_XLSX)
    cells = texts(tmp_path / SUMMARY_XLSX)
    assert max(map(excel_length, cells)) == MAX_STRING_LENGTH
    assert sum(cell.endswith(TRUNCATED) for cell in cells) == 4  # the unit (twice), overclaims, message
    assert all(excel_length(cell) <= MAX_STRING_LENGTH for cell in cells)


def test_a_batch_of_maximal_texts_writes_valid_workbooks(tmp_path: Path) -> None:
    """A unit name and a stated grade each as long as a cell may hold: the 自评表 shows the name, and
    the finding on the grade quotes it, so both outputs would exceed the limit if not cut."""
    box = tmp_path / "收件箱"
    (path,) = generate_workbooks(tmp_path / "生成", 1)
    box.mkdir()
    shutil.copy(path, box / "长.xlsx")
    names = read_workbook(box / "长.xlsx").locator.names
    patch_workbook(
        box / "长.xlsx",
        box / "长.xlsx",
        {names["unit_name"]: "某" * MAX_STRING_LENGTH, names["claimed_grade"]: "差" * MAX_STRING_LENGTH},
    )
    result = run_batch(box, tmp_path / "输出", jobs=1, stream=io.StringIO())
    assert not result.failed, result.failed[0].reason
    folder = tmp_path / "输出" / result.records[0].folder
    books = [tmp_path / "输出" / SUMMARY_XLSX, *folder.glob("*.xlsx")]
    assert len(books) == 3  # the summary, the rebuilt workbook, the 自评表
    for book in books:
        assert all(excel_length(cell) <= MAX_STRING_LENGTH for cell in texts(book)), book.name
    assert any(
        cell.endswith(TRUNCATED) and "报告所写等级" in cell for cell in texts(books[1]) + texts(books[2])
    )
