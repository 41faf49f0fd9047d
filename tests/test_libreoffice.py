"""Every workbook xlperf ships or writes, opened as a clerk without the add-in would: in LibreOffice.

LibreOffice (headless) loads each file the way it loads any .xlsx — stored results are shown,
formula cells without one are recalculated, and xlperf's functions are unknown there — and
exports every sheet to CSV.  No cell may show an error value (#NAME?, #VALUE!, Err:502 …).
The test needs ``soffice``: CI installs it (``.ci/run``); without it the test fails, never skips.
"""

from __future__ import annotations

import csv
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook

from helpers_bad_input import damaged, example_copy
from tools.generate import generate_workbooks
from xlperf.core.evaluate import evaluate
from xlperf.examples import example_data
from xlperf.report import render_reports
from xlperf.workbook.build import build_workbook
from xlperf.workbook.create import blank_data, create_workbook
from xlperf.workbook.upgrade import upgrade_workbook

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = sorted((ROOT / "workbook").rglob("*.xls[xm]"))
ERROR_VALUE = re.compile(r"#NAME\?|#VALUE!|#REF!|#DIV/0!|#N/A|#NUM!|#NULL!|Err:\d{3}")
# CSV filter: comma, double quote, UTF-8, first line 1, cells as shown (formatted), every sheet (-1).
CSV_FILTER = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"


def _soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.fail(
            "LibreOffice (soffice) is not installed: this test opens every workbook in it. "
            "Install it (Debian: apt-get install libreoffice-calc-nogui), as .ci/run does."
        )
    return found


def _sheets_as_csv(books: list[Path], out: Path) -> dict[Path, list[Path]]:
    """Open ``books`` in LibreOffice and export each sheet to ``out/<stem>-<sheet>.csv``."""
    profile = out / "profile"  # an own profile: no clash with another soffice on the machine
    subprocess.run(
        [
            _soffice(),
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            CSV_FILTER,
            "--outdir",
            str(out),
            *map(str, books),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return {book: sorted(out.glob(f"{glob_escape(book.stem)}-*.csv")) for book in books}


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _written_books(folder: Path) -> list[Path]:
    """Workbooks xlperf writes: new (blank, both rubrics, example), built, upgraded, batch, 自评表."""
    books = []
    for name, data in (
        ("新建-参考.xlsx", blank_data("某单位", 2024, "reference")),
        ("新建-10号.xlsx", blank_data("某单位", 2024, "caiyu2020")),
        ("新建-示例.xlsx", example_data()),
    ):
        create_workbook(data, folder / name)
        books.append(folder / name)
    # a built workbook whose self-scores are still blank, and the example built again
    built = build_workbook(folder / "新建-参考.xlsx", folder / "built").output
    assert built is not None
    example = example_copy(folder / "example")
    rebuilt = build_workbook(example, folder / "rebuilt").output
    assert rebuilt is not None
    upgraded = upgrade_workbook(
        damaged(example, folder / "损坏.xlsx", "rename_sheet_only"), folder / "升级.xlsx"
    )
    assert upgraded.output is not None
    batch = generate_workbooks(folder / "batch", 2)
    reports = render_reports(evaluate(example_data()), [], folder / "reports", formats=["xlsx"])
    return [*books, built, rebuilt, upgraded.output, *batch, reports["xlsx"]]


def test_every_shipped_and_written_workbook_opens_in_libreoffice_without_an_error_value(
    tmp_path: Path,
) -> None:
    assert len(SHIPPED) >= 4, SHIPPED
    (tmp_path / "in").mkdir()
    books = [  # numbered copies: the CSVs are named after each file
        Path(shutil.copy(book, tmp_path / "in" / f"{index:02d}-{book.name}"))
        for index, book in enumerate([*SHIPPED, *_written_books(tmp_path / "books")])
    ]
    exported = _sheets_as_csv(books, tmp_path / "csv")
    problems = []
    for book, sheets in exported.items():
        expected = len(load_workbook(book, read_only=True, keep_vba=True).sheetnames)
        assert len(sheets) == expected, (
            f"{book.name}: LibreOffice exported {len(sheets)} of {expected} sheets"
        )
        for sheet in sheets:
            with open(sheet, encoding="utf-8", newline="") as handle:
                for row_number, row in enumerate(csv.reader(handle), 1):
                    for col_number, text in enumerate(row, 1):
                        if ERROR_VALUE.search(text):
                            problems.append(f"{book.name} {sheet.stem} 行{row_number} 列{col_number}: {text}")
    assert problems == [], "\n".join(problems[:40])


def test_the_error_scan_finds_a_formula_without_a_stored_result(tmp_path: Path) -> None:
    """The check above can fail: an xlperf formula saved without its result shows #NAME? there."""
    from openpyxl import Workbook

    book = tmp_path / "无缓存值.xlsx"
    wb = Workbook()
    wb.active["A1"] = "=BUDGET_ADJ_RATE(1,2,3)"  # openpyxl stores no result
    wb.save(book)
    [sheet] = _sheets_as_csv([book], tmp_path / "csv")[book]
    assert ERROR_VALUE.search(sheet.read_text(encoding="utf-8"))
