"""The summary workbook (汇总表): one row per unit, and every finding, from the recorded results.

:func:`unit_table` builds the bureau's unit table once, as a pandas DataFrame: every unit's figures,
自评高出核定 and 排名 (``rank``).  :func:`unit_frame` derives the 汇总 sheet from it and
:func:`finding_frame` lists the findings; the dashboard (:mod:`.dashboard`) derives its
distributions and means from the same table.  :func:`write_summary` writes both sheets through
:mod:`xlperf.io.xlsxwrite`, formatted for reading — column widths, number formats, a frozen header
and first columns, an autofilter, failed units shaded, and each unit's folder linked.  pandas is
imported here and in the dashboard only, when a batch writes its summary, never at CLI start.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..core.findings import check_family
from ..core.metrics import METRICS
from ..core.numbers import fmt_score, round_half_up
from ..io.cellref import column_letters
from ..io.xlsxwrite import CellStyle, Link, PageSetup, Sheet, text_width, write_workbook
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
OK_TEXT, FAILED_TEXT, DUPLICATE_TEXT = "成功", "无法处理", "重复报送"
ROOT_SUFFIX = "得分"
# Printing: A4 landscape, one page wide, the header row on every page, page numbers at the foot.
PRINTED = PageSetup(
    orientation="landscape", paper_size=9, fit_width=1, fit_height=0, odd_footer="&C第 &P 页，共 &N 页"
)
FINDING_COLUMNS = (UNIT, SOURCE, "级别", "检查类别", "说明", "位置")


def _latest_first(record: UnitRecord) -> float:
    """Sort key putting later 评价年度 first, units without a year last."""
    return -int(record.year) if record.year.isdigit() else math.inf


def ordered(records: Sequence[UnitRecord]) -> list[UnitRecord]:
    """Summary order (排序): rebuilt units by 评价年度, latest first, then 核定总分 high to low, then
    name; then identical copies, then the files that could not be processed, each by path."""
    done = sorted(
        (r for r in records if r.ok),
        key=lambda r: (
            _latest_first(r),
            -(r.total if r.total is not None else -math.inf),
            r.display_name,
            r.key,
        ),
    )
    copies = sorted((r for r in records if r.duplicate), key=lambda r: r.key)
    return done + copies + sorted((r for r in records if r.failed), key=lambda r: r.key)


def status_text(record: UnitRecord) -> str:
    """成功 / 重复报送 / 无法处理 (状态)."""
    return OK_TEXT if record.ok else DUPLICATE_TEXT if record.duplicate else FAILED_TEXT


def shown_names(records: Sequence[UnitRecord]) -> dict[str, str]:
    """The name each record is shown under (显示名称), by key: an identical copy shows its original's."""
    names = {r.key: r.display_name for r in records}
    return {r.key: names.get(r.copy_of, r.display_name) if r.duplicate else r.display_name for r in records}


def repeated(records: Sequence[UnitRecord]) -> dict[str, str]:
    """The notes on repeated submissions (重复报送), by record key.

    A file identical to another is not processed again (its record says so, and it is counted
    once); the file that was processed is noted as having copies.  Different workbooks naming the
    same unit and year are all kept and counted, but noted, since only the bureau can tell which
    one counts.
    """
    labels = {r.key: r.source for r in records}
    copies: dict[str, list[str]] = {}
    for r in sorted((r for r in records if r.duplicate), key=lambda r: r.key):
        copies.setdefault(r.copy_of, []).append(r.source)
    by_unit: dict[tuple[str, str], list[UnitRecord]] = {}
    for r in sorted((r for r in records if r.ok), key=lambda r: r.key):
        if r.unit:
            by_unit.setdefault((r.unit, r.year), []).append(r)
    notes: dict[str, list[str]] = {}
    for key, sources in copies.items():
        if key in labels:
            shown = "、".join(f"「{source}」" for source in sources)
            notes.setdefault(key, []).append(f"{shown}与本文件内容完全相同，属重复报送，只计这一次")
    for group in by_unit.values():
        for r in group if len(group) > 1 else ():
            others = "、".join(f"「{o.source}」" for o in group if o is not r)
            notes.setdefault(r.key, []).append(f"同一单位、同一年度还报送了{others}，请确认以哪一份为准")
    return {key: "；".join(texts) for key, texts in notes.items()}


def counted(records: Sequence[UnitRecord]) -> list[UnitRecord]:
    """The rebuilt units that count in rankings and statistics (参与统计): each unit once, since an
    identical copy is never rebuilt."""
    return [r for r in records if r.ok]


def latest_year(records: Sequence[UnitRecord]) -> str:
    """The latest 评价年度 the rebuilt units state (最新年度), or "" when none states one."""
    return max((r.year for r in counted(records) if r.year.isdigit()), key=int, default="")


def several_years(records: Sequence[UnitRecord]) -> list[str]:
    """The 评价年度 of the rebuilt units when there are more than one (多个年度), else []."""
    years = sorted({r.year for r in counted(records) if r.year})
    return years if len(years) > 1 else []


def in_statistics(records: Sequence[UnitRecord]) -> list[UnitRecord]:
    """The units the statistics cover (统计口径): the counted units, and when the batch holds several
    years only those of the latest year, so that no unit is counted once per year."""
    done = counted(records)
    if not several_years(records):
        return done
    latest = latest_year(records)
    return [r for r in done if r.year == latest]


def notes(record: UnitRecord, repeats: dict[str, str]) -> str:
    """The 说明 of a unit (说明): why it failed or is a copy, or its repeat note and the build's warnings."""
    if not record.ok:
        return record.reason
    repeat = repeats.get(record.key)
    return "；".join([repeat, *record.warnings] if repeat else record.warnings)


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


def unit_table(records: Sequence[UnitRecord]) -> pd.DataFrame:
    """The bureau's unit table (单位表), built once: one row per record in the order given, indexed by
    record key, holding every figure 汇总.xlsx and the dashboard derive from it.

    Columns: ``ok``/``duplicate``/``failed``, ``name`` (显示名称), ``year``, ``total``/``grade`` (核定),
    ``self_total``/``self_grade`` (自评), ``excess`` (自评高出核定 = ROUND(自评总分 − 核定总分, 2)), one
    column per 一级指标 (its name + 得分), one per rate (its label), ``error``/``warning``/``info`` (校验
    结果条数) and ``rank`` (排名 within each 评价年度: by ROUND(核定总分, 2) high to low, ties sharing the higher rank; only
    the rebuilt units with a total are ranked, so an identical copy is never counted twice).
    Missing figures are NA.
    """
    roots = root_names(records)
    names = shown_names(records)
    rows = []
    for r in records:
        scores = {root.name + ROOT_SUFFIX: root.score for root in r.roots}
        metrics = {m.key: m.value for m in r.metrics}
        rows.append(
            {
                "ok": r.ok,
                "duplicate": r.duplicate,
                "failed": r.failed,
                "name": names[r.key],
                "year": r.year,
                "total": r.total,
                "grade": r.grade,
                "self_total": r.self_total,
                "self_grade": r.self_grade,
                **{name + ROOT_SUFFIX: scores.get(name + ROOT_SUFFIX) for name in roots},
                **{m.label: metrics.get(m.key) for m in METRICS},
                **{key: r.counts.get(key) for key in ("error", "warning", "info")},
            }
        )
    numbers = ["total", "self_total", *(name + ROOT_SUFFIX for name in roots), *(m.label for m in METRICS)]
    counts = ["error", "warning", "info"]
    columns = ["ok", "duplicate", "failed", "name", "year", "grade", "self_grade", *numbers, *counts]
    table = pd.DataFrame(rows, index=pd.Index([r.key for r in records], dtype=object), columns=columns)
    table[numbers] = table[numbers].astype("float64")
    table[counts] = table[counts].astype("Int64")
    table["excess"] = (table["self_total"] - table["total"]).map(
        lambda v: round_half_up(v, 2), na_action="ignore"
    )
    rounded = (
        table["total"].where(table["ok"].astype(bool)).map(lambda v: round_half_up(v, 2), na_action="ignore")
    )
    ranked = rounded.groupby(table["year"]).rank(method="min", ascending=False)  # 排名 within each 评价年度
    table["rank"] = ranked.reindex(table.index).astype("Int64")
    return table


def _cells(column: pd.Series) -> list[object]:
    """A column's values as plain Python for the sheet: NA as an empty cell (None), numbers as int/float."""
    return column.astype(object).where(column.notna(), None).tolist()


def unit_frame(records: Sequence[UnitRecord], table: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per unit (单位汇总表), in the order given, from the unit table."""
    t = unit_table(records) if table is None else table
    ok = t["ok"].astype(bool)
    roots = [name + ROOT_SUFFIX for name in root_names(records)]
    years = [int(y) if y.isdigit() else (y or None) for y in t["year"]]
    repeats = repeated(records)
    columns: dict[str, list[object]] = {
        RANK: _cells(t["rank"]),
        UNIT: list(t["name"]),
        YEAR: years,
        TOTAL: _cells(t["total"]),
        GRADE: _cells(t["grade"].where(ok)),
        SELF_TOTAL: _cells(t["self_total"]),
        SELF_GRADE: _cells(t["self_grade"].where(ok)),
        EXCESS: _cells(t["excess"]),
        **{name: _cells(t[name]) for name in roots},
        **{m.label: _cells(t[m.label]) for m in METRICS},
        ERRORS: _cells(t["error"].where(ok)),
        WARNINGS: _cells(t["warning"].where(ok)),
        INFOS: _cells(t["info"].where(ok)),
        OVERCLAIMS: [overclaim_text(r) or None for r in records],
        STATUS: [status_text(r) for r in records],
        NOTE: [notes(r, repeats) or None for r in records],
        SOURCE: [r.source for r in records],
        FOLDER: [r.folder for r in records],
    }
    return pd.DataFrame(columns, columns=list(columns), dtype=object)


def finding_frame(records: Sequence[UnitRecord]) -> pd.DataFrame:
    """Every finding of every unit (问题明细), and each file that could not be processed; an identical
    copy adds nothing (its findings are its original's)."""
    rows = []
    for r in records:
        if r.failed:
            rows.append((r.display_name, r.source, FAILED_TEXT, "", r.reason, ""))
        for f in r.findings:
            rows.append((r.display_name, r.source, f.label, check_family(f.check), f.message, f.where))
    return pd.DataFrame(rows, columns=list(FINDING_COLUMNS), dtype=object)


HEADER_STYLE = CellStyle(bold=True, fill="DDEBF7", horizontal="center", vertical="center", wrap=True)
FAILED_FILL = "FCE4D6"
Look = CellStyle | None


def _display_width(value: object) -> int:
    """The width of ``value`` as shown, in Latin characters (a CJK character counts two) (显示宽度)."""
    return text_width(
        value if isinstance(value, str) else fmt_score(value) if isinstance(value, int | float) else ""
    )


def _rows(
    frame: pd.DataFrame,
    plain: list[Look],
    failed: list[Look],
    shaded: Collection[int],
    links: Mapping[int, str],
) -> Iterator[Iterable[tuple[object, Look]]]:
    """The sheet's rows as ``(value, style)`` pairs: the header, then one row per line of ``frame``."""
    yield [(column, HEADER_STYLE) for column in frame.columns]
    link_column = list(frame.columns).index(FOLDER) if links else -1
    for number, row in enumerate(frame.itertuples(index=False, name=None)):
        if number in links:
            values = list(row)
            values[link_column] = Link(values[link_column], links[number])
            row = tuple(values)
        yield zip(row, failed if number in shaded else plain, strict=True)


def _sheet(
    title: str,
    frame: pd.DataFrame,
    formats: dict[str, str],
    wide: dict[str, int],
    shaded: Collection[int] = (),
    links: Mapping[int, str] | None = None,
) -> Sheet:
    """One summary sheet: header, widths by the values' display width, number formats, frozen panes,
    autofilter; a column wider than its limit in ``wide`` (else 40) wraps its text."""
    widths: list[int] = []
    plain: list[Look] = []
    failed: list[Look] = []
    for column in frame.columns:
        width = max(map(_display_width, {column, *frame[column].tolist()[:2000]}))
        limit = wide.get(column, 40)
        widths.append(max(6, min(width + 2, limit)))
        wrap = width > limit
        look = CellStyle(
            number_format=formats.get(column, "General"), vertical="top" if wrap else None, wrap=wrap
        )
        plain.append(look if look != CellStyle() else None)
        failed.append(replace(look, fill=FAILED_FILL))
    return Sheet(
        title,
        _rows(frame, plain, failed, shaded, links or {}),
        widths=widths,
        heights={1: 32},
        freeze="C2",
        autofilter=f"A1:{column_letters(len(frame.columns))}{len(frame) + 1}",
        page=PRINTED,
        print_title_rows=(1, 1),
    )


def write_summary(records: Sequence[UnitRecord], path: Path, table: pd.DataFrame | None = None) -> Path:
    """Write 汇总.xlsx (写出汇总表): sheet 汇总 (one row per unit) and 问题明细 (every finding); atomic.

    ``table`` is the unit table (:func:`unit_table`) when the caller already built it."""
    units, findings = unit_frame(records, table), finding_frame(records)
    formats = {TOTAL: "0.00", SELF_TOTAL: "0.00", EXCESS: "0.00", YEAR: "0", RANK: "0"}
    formats.update({name + ROOT_SUFFIX: "0.00" for name in root_names(records)})
    formats.update({m.label: "0.00%" if m.percent else "0" for m in METRICS})
    formats.update({ERRORS: "0", WARNINGS: "0", INFOS: "0"})
    shaded = {i for i, r in enumerate(records) if r.failed}
    links = {i: r.folder + "/" for i, r in enumerate(records) if r.ok and r.folder}
    sheets = [
        _sheet(UNITS_SHEET, units, formats, {OVERCLAIMS: 60, NOTE: 60, SOURCE: 40}, shaded, links),
        _sheet(FINDINGS_SHEET, findings, {}, {"说明": 80, "位置": 30, SOURCE: 40}),
    ]
    return write_workbook(path, sheets, title="汇总表")
