"""Benchmark the batch summary workbook (汇总表基准): ``write_summary`` against openpyxl in the same run.

    PYTHONPATH=src python bench/bench_summary.py [--units 1000] [--sample 12] [--repeat 3]

``--sample`` generated workbooks plus one unreadable file are run through ``run_batch`` once; their
records are replicated under new unit names to ``--units`` records (about 33 findings each, so
1,000 units give some 33,000 rows in 问题明细).  Then, as the median of ``--repeat`` runs, it times
:func:`xlperf.batch.summary.write_summary` (pandas tables, written by :mod:`xlperf.io.xlsxwrite`) and
the baseline — the same tables, widths and formats written with openpyxl's write-only mode, as
``write_summary`` did before — and prints seconds, file sizes and the ratio.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import tempfile
from collections.abc import Sequence
from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from timing import median_ms
from tools.generate import generate_workbooks
from xlperf.batch import run_batch
from xlperf.batch import summary as s
from xlperf.batch.unit import UnitRecord
from xlperf.core.metrics import METRICS
from xlperf.io.atomic import atomic_output


def records(work: Path, sample: int, units: int) -> list[UnitRecord]:
    """``units`` records: a real batch of ``sample`` workbooks and a bad file, replicated."""
    inbox = work / "收件箱"
    generate_workbooks(inbox, sample)
    (inbox / "坏文件.xlsx").write_text("不是工作簿", encoding="utf-8")
    done = run_batch(inbox, work / "输出", jobs=2, formats=("html",), stream=io.StringIO()).records
    copies = [
        dataclasses.replace(
            r, key=f"{n}/{r.key}", unit=f"{r.unit}{n}" if r.unit else "", folder=f"{r.folder}{n}"
        )
        for n in range(units // len(done) + 1)
        for r in done
    ]
    return s.ordered(copies[:units])


def openpyxl_summary(records: Sequence[UnitRecord], path: Path) -> None:
    """The baseline: the same tables and formatting through openpyxl's write-only mode."""
    units, findings = s.unit_frame(records), s.finding_frame(records)
    formats = {s.TOTAL: "0.00", s.SELF_TOTAL: "0.00", s.EXCESS: "0.00", s.YEAR: "0", s.RANK: "0"}
    formats.update({name + s.ROOT_SUFFIX: "0.00" for name in s.root_names(records)})
    formats.update({m.label: "0.00%" if m.percent else "0" for m in METRICS})
    formats.update({s.ERRORS: "0", s.WARNINGS: "0", s.INFOS: "0"})
    shaded = {i for i, r in enumerate(records) if not r.ok}
    links = {i: r.folder + "/" for i, r in enumerate(records) if r.ok and r.folder}
    wb = Workbook(write_only=True)
    for title, frame, wide, fmts, shade, link in (
        (s.UNITS_SHEET, units, {s.OVERCLAIMS: 60, s.NOTE: 60, s.SOURCE: 40}, formats, shaded, links),
        (s.FINDINGS_SHEET, findings, {"说明": 80, "位置": 30, s.SOURCE: 40}, {}, set(), {}),
    ):
        ws = wb.create_sheet(title)
        columns = list(frame.columns)
        plain, failed = [], []
        for index, column in enumerate(columns, 1):
            width = max(map(s._display_width, {column, *frame[column].tolist()[:2000]}))
            ws.column_dimensions[get_column_letter(index)].width = max(
                6, min(width + 2, wide.get(column, 40))
            )
            for shaded_row, styles in ((False, plain), (True, failed)):
                proto = WriteOnlyCell(ws)
                if column in fmts:
                    proto.number_format = fmts[column]
                if width > wide.get(column, 40):
                    proto.alignment = Alignment(wrap_text=True, vertical="top")
                if shaded_row:
                    proto.fill = PatternFill("solid", fgColor=s.FAILED_FILL)
                styles.append(proto._style if proto.has_style else None)
        ws.freeze_panes = "C2"
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"
        header = []
        for column in columns:
            cell = WriteOnlyCell(ws, column)
            cell.font, cell.fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")
            cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
            header.append(cell)
        ws.row_dimensions[1].height = 32
        ws.append(header)
        link_column = columns.index(s.FOLDER) if link else -1
        for number, row in enumerate(frame.itertuples(index=False, name=None)):
            styles = failed if number in shade else plain
            cells: list[object] = []
            for index, value in enumerate(row):
                value = None if value != value else value  # NaN
                if index == link_column and number in link:
                    cell = WriteOnlyCell(ws, value)
                    cell.hyperlink, cell.style = link[number], "Hyperlink"
                elif styles[index] is None:
                    cell = value
                else:
                    cell = WriteOnlyCell(ws, value)
                    cell._style = copy(styles[index])
                cells.append(cell)
            ws.append(cells)
    with atomic_output(path) as tmp:
        wb.save(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        recs = records(work, args.sample, args.units)
        rows = sum(len(r.findings) + (not r.ok) for r in recs)
        print(f"{len(recs)} units ({sum(not r.ok for r in recs)} failed), {rows} rows in 问题明细")
        new, old = work / "汇总.xlsx", work / "汇总-openpyxl.xlsx"
        s.write_summary(recs, new)  # warm-up
        ours = median_ms(lambda: s.write_summary(recs, new), args.repeat) / 1000
        baseline = median_ms(lambda: openpyxl_summary(recs, old), args.repeat) / 1000
        frames = median_ms(lambda: (s.unit_frame(recs), s.finding_frame(recs)), args.repeat) / 1000
        print(f"  pandas tables alone          {frames:7.3f} s")
        print(f"  write_summary (xlsxwrite)    {ours:7.3f} s  {new.stat().st_size / 1e6:5.2f} MB")
        print(f"  baseline (openpyxl)          {baseline:7.3f} s  {old.stat().st_size / 1e6:5.2f} MB")
        print(f"  ratio write_summary/openpyxl {ours / baseline:7.3f}")


if __name__ == "__main__":
    main()
