"""The summary workbook (汇总表): one row per unit, and every finding, from the recorded results.

:func:`unit_frame` and :func:`finding_frame` turn the records into pandas tables; :func:`write_summary`
writes them with openpyxl and formats them for reading — column widths, number formats, a frozen
header and first columns, an autofilter, failed units shaded, and each unit's folder linked.  The
sheets are streamed (openpyxl's write-only mode): 1,000 units with 30,000 findings take seconds.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from copy import copy
from pathlib import Path

import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ..core.metrics import METRICS
from ..core.numbers import fmt_score, round_half_up
from ..io.atomic import atomic_output
from .unit import UnitRecord

UNITS_SHEET, FINDINGS_SHEET = "汇总", "问题明细"
RANK, UNIT, YEAR, TOTAL, GRADE, SELF_TOTAL, SELF_GRADE, EXCESS = (
    "排名",
    "单位",
    "年度",
    "核定总分",
    "等级",
    "自评总分",
    "自评等级",
    "自评高出核定",
)
ERRORS, WARNINGS, INFOS = "错误", "警告", "提示"
OVERCLAIMS, STATUS, NOTE, SOURCE, FOLDER = "自评高于数据支持的指标", "状态", "说明", "来源文件", "输出文件夹"
OK_TEXT, FAILED_TEXT = "成功", "无法处理"
ROOT_SUFFIX = "得分"
FINDING_COLUMNS = (UNIT, SOURCE, "级别", "检查项", "说明", "位置")


def ordered(records: Sequence[UnitRecord]) -> list[UnitRecord]:
    """Summary order (排序): rebuilt units by 核定总分 high to low, then name; failed files last by path."""
    done = sorted(
        (r for r in records if r.ok),
        key=lambda r: (-(r.total if r.total is not None else -math.inf), r.display_name, r.key),
    )
    return done + sorted((r for r in records if not r.ok), key=lambda r: r.key)


def ranks(records: Sequence[UnitRecord]) -> dict[str, int]:
    """Rank by 核定总分 (排名), ties sharing the higher rank; units without a total are not ranked."""
    totals = sorted(
        (round_half_up(r.total, 2) for r in records if r.ok and r.total is not None), reverse=True
    )
    first = {}
    for index, total in enumerate(totals, 1):
        first.setdefault(total, index)
    return {r.key: first[round_half_up(r.total, 2)] for r in records if r.ok and r.total is not None}


def root_names(records: Sequence[UnitRecord]) -> list[str]:
    """The 一级指标 of all units (一级指标列), in the order they first appear."""
    names: dict[str, None] = {}
    for record in records:
        for root in record.roots:
            names.setdefault(root.name, None)
    return list(names)


def overclaim_text(record: UnitRecord) -> str:
    """``2.1.1 收入预算完成率（自评 2，核定 0）；…`` (自评高于核定的指标)."""
    return "；".join(
        f"{o.code} {o.name}（自评 {fmt_score(o.self_score)}，核定 {fmt_score(o.score)}）"
        for o in record.overclaims
    )


def unit_frame(records: Sequence[UnitRecord]) -> pd.DataFrame:
    """One row per unit (单位汇总表), in the order given."""
    roots = root_names(records)
    rank = ranks(records)
    rows = []
    for r in records:
        row: dict[str, object] = {
            RANK: rank.get(r.key),
            UNIT: r.display_name,
            YEAR: int(r.year) if r.year.isdigit() else (r.year or None),
            TOTAL: r.total,
            GRADE: r.grade if r.ok else None,
            SELF_TOTAL: r.self_total,
            SELF_GRADE: r.self_grade if r.ok else None,
            EXCESS: round_half_up(r.self_total - r.total, 2)
            if r.self_total is not None and r.total is not None
            else None,
        }
        scores = {root.name: root.score for root in r.roots}
        for name in roots:
            row[name + ROOT_SUFFIX] = scores.get(name)
        metrics = {m.key: m.value for m in r.metrics}
        for metric in METRICS:
            row[metric.label] = metrics.get(metric.key)
        for label, key in ((ERRORS, "error"), (WARNINGS, "warning"), (INFOS, "info")):
            row[label] = r.counts.get(key) if r.ok else None
        row[OVERCLAIMS] = overclaim_text(r) or None
        row[STATUS] = OK_TEXT if r.ok else FAILED_TEXT
        row[NOTE] = (r.reason if not r.ok else "；".join(r.warnings)) or None
        row[SOURCE] = r.source
        row[FOLDER] = r.folder
        rows.append(row)
    columns = [RANK, UNIT, YEAR, TOTAL, GRADE, SELF_TOTAL, SELF_GRADE, EXCESS]
    columns += [name + ROOT_SUFFIX for name in roots] + [m.label for m in METRICS]
    columns += [ERRORS, WARNINGS, INFOS, OVERCLAIMS, STATUS, NOTE, SOURCE, FOLDER]
    return pd.DataFrame(rows, columns=columns, dtype=object)


def finding_frame(records: Sequence[UnitRecord]) -> pd.DataFrame:
    """Every finding of every unit (问题明细), and each file that could not be processed."""
    rows = []
    for r in records:
        if not r.ok:
            rows.append((r.display_name, r.source, FAILED_TEXT, "", r.reason, ""))
        for f in r.findings:
            rows.append((r.display_name, r.source, f.label, f.check, f.message, f.where))
    return pd.DataFrame(rows, columns=list(FINDING_COLUMNS), dtype=object)


def _display_width(value: object) -> int:
    text = value if isinstance(value, str) else fmt_score(value) if isinstance(value, int | float) else ""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in str(text))


def _cell_value(value: object) -> object:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def _write_sheet(
    wb: Workbook,
    title: str,
    frame: pd.DataFrame,
    formats: dict[str, str],
    wide: dict[str, int],
    shaded: set[int] = frozenset(),  # type: ignore[assignment]
    links: dict[int, str] | None = None,
) -> None:
    """One sheet in openpyxl's streaming mode: header, widths, number formats, frozen panes, autofilter.

    Each column's style is built once on a prototype cell and copied to its cells, so styling costs
    the same per cell as writing a value.
    """
    ws = wb.create_sheet(title)
    columns = list(frame.columns)
    header_style = (Font(bold=True), PatternFill("solid", fgColor="DDEBF7"))
    fill = PatternFill("solid", fgColor="FCE4D6")
    plain, failed = [], []
    for index, column in enumerate(columns, 1):
        width = max([_display_width(column)] + [_display_width(v) for v in frame[column].tolist()[:2000]])
        limit = wide.get(column, 40)
        ws.column_dimensions[get_column_letter(index)].width = max(6, min(width + 2, limit))
        for shade, styles in ((False, plain), (True, failed)):
            proto = WriteOnlyCell(ws)
            if column in formats:
                proto.number_format = formats[column]
            if width > limit:
                proto.alignment = Alignment(wrap_text=True, vertical="top")
            if shade:
                proto.fill = fill
            styles.append(proto._style if proto.has_style else None)
    ws.freeze_panes = "C2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(frame) + 1}"
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, column)
        cell.font, cell.fill = header_style
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        header.append(cell)
    ws.row_dimensions[1].height = 32
    ws.append(header)
    link_column = columns.index(FOLDER) if links is not None else -1
    for number, row in enumerate(frame.itertuples(index=False, name=None)):
        styles = failed if number in shaded else plain
        cells: list[object] = []
        for index, value in enumerate(row):
            value = _cell_value(value)
            if index == link_column and number in links:  # type: ignore[operator]
                cell = WriteOnlyCell(ws, value)
                cell.hyperlink = links[number]  # type: ignore[index]
                cell.style = "Hyperlink"
                cells.append(cell)
            elif styles[index] is None:
                cells.append(value)
            else:
                cell = WriteOnlyCell(ws, value)
                cell._style = copy(styles[index])
                cells.append(cell)
        ws.append(cells)


def write_summary(records: Sequence[UnitRecord], path: Path) -> Path:
    """Write 汇总.xlsx (写出汇总表): sheet 汇总 (one row per unit) and 问题明细 (every finding); atomic."""
    units, findings = unit_frame(records), finding_frame(records)
    formats = {TOTAL: "0.00", SELF_TOTAL: "0.00", EXCESS: "0.00", YEAR: "0", RANK: "0"}
    formats.update({name + ROOT_SUFFIX: "0.00" for name in root_names(records)})
    formats.update({m.label: "0.00%" if m.percent else "0" for m in METRICS})
    formats.update({ERRORS: "0", WARNINGS: "0", INFOS: "0"})
    wb = Workbook(write_only=True)
    shaded = {i for i, r in enumerate(records) if not r.ok}
    links = {i: r.folder + "/" for i, r in enumerate(records) if r.ok and r.folder}
    _write_sheet(wb, UNITS_SHEET, units, formats, {OVERCLAIMS: 60, NOTE: 60, SOURCE: 40}, shaded, links)
    _write_sheet(wb, FINDINGS_SHEET, findings, {}, {"说明": 80, "位置": 30, SOURCE: 40})
    with atomic_output(path) as tmp:
        wb.save(tmp)
    return path
