"""The review dashboard (汇总看板): one self-contained HTML file from the recorded results.

Everything is inline — CSS, a few lines of JavaScript for sorting and filtering, SVG charts — so the
file opens from a USB stick or an intranet share with no network.  Jinja2 autoescapes every value:
unit names and messages come from other people's workbooks.  Links to each unit's reports are
relative, so the output folder can be moved or zipped as a whole.  Its figures — ranks, the grade
and score distributions (``value_counts``), each 一级指标's quartiles (``quantile``) and mean — come
from the unit table of :func:`.summary.unit_table` and the long table of 一级指标 subtotals.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import jinja2
import pandas as pd

from ..core.grades import DEFAULT_BANDS
from ..core.metrics import METRICS
from ..core.numbers import fmt_rate, fmt_score, round_half_up
from ..io.atomic import atomic_write_bytes
from ..report.templates import ReportEnvironment
from .summary import (
    ROOT_SUFFIX,
    counted,
    in_statistics,
    latest_year,
    notes,
    overclaim_text,
    repeated,
    root_names,
    several_years,
    status_text,
    unit_table,
)
from .unit import UnitRecord
from .years import year_changes

TEMPLATE = "dashboard.html.j2"
PLOT_WIDTH = 360  # px of the score axis in the 一级指标 charts
FILE_LABELS = {
    "html": "报告（网页）",
    "docx": "报告（Word）",
    "xlsx": "自评表",
    "review-html": "复核意见",
    "review": "复核意见（Word）",
    "workbook": "工作簿",
    "findings": "校验结果",
}


def _links(record: UnitRecord) -> list[dict[str, str]]:
    if not record.ok or not record.folder:
        return []
    folder = quote(record.folder)  # once for the unit's seven links
    return [
        {"label": label, "href": f"{folder}/{quote(record.files[kind])}"}
        for kind, label in FILE_LABELS.items()
        if kind in record.files
    ]


def _score(value: float | None) -> str:
    return fmt_score(value) if value is not None else "—"


def _value(value: object) -> object:
    """A table cell as plain Python: NA as None, numpy numbers as int/float."""
    return None if pd.isna(value) else value.item() if hasattr(value, "item") else value  # type: ignore[call-overload]


def _unit_rows(
    records: Sequence[UnitRecord], roots: list[str], table: pd.DataFrame
) -> list[dict[str, object]]:
    repeats = repeated(records)
    rows = []
    for index, (r, unit) in enumerate(zip(records, table.to_dict("records"), strict=True)):
        scores = [_value(unit[name + ROOT_SUFFIX]) for name in roots]
        excess = _value(unit["excess"])
        links = _links(r)
        rows.append(
            {
                "anchor": f"u{index + 1}",
                "rank": _value(unit["rank"]),
                "name": unit["name"],
                "year": r.year,
                "total": r.total,
                "total_text": _score(r.total),
                "grade": r.grade if r.ok else "",
                "self_total": r.self_total,
                "self_text": _score(r.self_total),
                "self_grade": r.self_grade if r.ok else "",
                "excess": excess,
                "excess_text": _score(excess),  # type: ignore[arg-type]
                "roots": [(score, _score(score)) for score in scores],  # type: ignore[arg-type]
                "errors": _value(unit["error"]) or 0,
                "warnings": _value(unit["warning"]) or 0,
                "infos": _value(unit["info"]) or 0,
                "ok": r.ok,
                "duplicate": r.duplicate,
                "status": status_text(r),
                "reason": r.reason,
                "source": r.source,
                "report": links[0]["href"] if links else "",
                "links": links,
                "overclaims": overclaim_text(r),
                "metrics": [
                    (m.value, fmt_rate(m.value) if m.percent else fmt_score(m.value))
                    if m.value is not None
                    else (None, "—")
                    for m in r.metrics
                ],
                "metric_reasons": [m.reason for m in r.metrics],
                "findings": r.findings,  # objects, not dicts: Jinja finds their fields at its first try
                "warnings_text": notes(r, repeats) if r.ok else "",
            }
        )
    return rows


def _grade_bars(table: pd.DataFrame) -> list[dict[str, object]]:
    """Units per grade (等级分布), best grade first, from the rebuilt units' rows of the unit table."""
    counts = {str(g): int(n) for g, n in table["grade"].value_counts(sort=False).items()}
    order = [name for _, name in sorted(DEFAULT_BANDS, reverse=True)]
    order += sorted(g for g in counts if g not in order and g != "—") + (["—"] if "—" in counts else [])
    top = max(counts.values(), default=1)
    total = sum(counts.values()) or 1
    return [
        {
            "grade": "无法评定" if g == "—" else g,
            "count": counts.get(g, 0),
            "share": fmt_rate(counts.get(g, 0) / total),
            "width": round(100 * counts.get(g, 0) / top, 1),
        }
        for g in order
        if counts.get(g, 0) or g in dict(DEFAULT_BANDS).values()
    ]


def _histogram(table: pd.DataFrame) -> list[dict[str, object]]:
    """Units per ten points of 核定总分 (总分分布): 0–10 … 90–100, a total of 100 in the last bin."""
    tens = (table["total"].dropna() // 10).clip(0, 9).astype(int)
    bins = [int(n) for n in tens.value_counts().reindex(range(10), fill_value=0)]
    top = max(bins) or 1
    return [
        {
            "label": f"{10 * i}–{10 * i + 10}" if i < 9 else "90–100",
            "count": n,
            "height": round(100 * n / top, 1),
        }
        for i, n in enumerate(bins)
    ]


def root_table(records: Sequence[UnitRecord]) -> pd.DataFrame:
    """Every 一级指标 subtotal of every unit (一级指标得分表): ``unit``, ``root``, ``score``, ``maximum``."""
    rows = [(r.display_name, root.name, root.score, root.maximum) for r in records for root in r.roots]
    table = pd.DataFrame(rows, columns=["unit", "root", "score", "maximum"])
    return table.astype({"score": "float64", "maximum": "float64"})


def _root_plots(roots: pd.DataFrame, names: list[str]) -> list[dict[str, object]]:
    """Box plot and dots of each 一级指标's subtotal across units (一级指标得分分布), as SVG coordinates:
    quartiles by linear interpolation (Excel's QUARTILE.INC), the mean per 一级指标 beside them."""
    plots = []
    groups = dict(tuple(roots.groupby("root", sort=False)))
    for name in names:
        points = groups.get(name)
        if points is None:
            continue
        maximum = float(points["maximum"].max()) or 1.0
        scores = points["score"]
        q1, median, q3 = (float(q) for q in scores.quantile([0.25, 0.5, 0.75]))
        low, high = float(scores.min()), float(scores.max())

        def x(value: float, maximum: float = maximum) -> float:
            return round(PLOT_WIDTH * max(0.0, min(value, maximum)) / maximum, 1)

        plots.append(
            {
                "name": name,
                "maximum": fmt_score(maximum),
                "n": len(points),
                "min": fmt_score(low),
                "median": fmt_score(round_half_up(median, 2)),
                "mean": fmt_score(round_half_up(float(scores.mean()), 2)),
                "max": fmt_score(high),
                "box": (x(q1), x(median), x(q3), x(low), x(high)),
                "dots": [
                    {"x": x(score), "y": 8 + (i * 7919) % 17, "title": f"{unit}：{fmt_score(score)}"}
                    for i, (unit, score) in enumerate(
                        zip(points["unit"], points["score"].tolist(), strict=True)
                    )
                ],
            }
        )
    return plots


def dashboard_context(
    records: Sequence[UnitRecord], notes: Sequence[str] = (), table: pd.DataFrame | None = None
) -> dict[str, object]:
    """Everything the dashboard template shows (看板内容), from the records in summary order, and the
    run's ``notes`` on what it left out (skipped system files, xlperf's own output folders).

    The figures come from the bureau's unit table (:func:`.summary.unit_table`, built here unless the
    caller passes the one it built for 汇总.xlsx); statistics count the rebuilt units only, so identical
    copies of a workbook count once."""
    roots = root_names(records)
    table = unit_table(records) if table is None else table
    done = counted(records)  # identical copies of a workbook count once
    stats = in_statistics(records)  # and with several years, the latest year's units only
    rebuilt = table.loc[[r.key for r in done]]
    counted_table = table.loc[[r.key for r in stats]]
    totals = counted_table["total"].dropna()
    years = sorted({r.year for r in done if r.year})
    if several_years(records):
        notes = [
            f"收件箱中有 {'、'.join(years)} 多个年度的工作簿：排名按年度分别排列；平均分、等级分布和得分分布"
            f"只统计最新的 {latest_year(records)} 年度，同一单位不重复计入；各单位的年度变化见“与上年比较”",
            *notes,
        ]
    return {
        "title": f"{'、'.join(years) + ' 年度' if years else ''}部门整体支出绩效自评汇总",
        "count": len(records),
        "done": len(done),
        "copies": int(table["duplicate"].astype(bool).sum()),
        "failed": [r for r in records if r.failed],
        "with_errors": int((rebuilt["error"].fillna(0) > 0).sum()),
        "stats_year": f"（{latest_year(records)} 年度）" if several_years(records) else "",
        "mean_total": fmt_score(round_half_up(float(totals.mean()), 2)) if len(totals) else "—",
        "roots": roots,
        "metrics": [{"label": m.label, "percent": m.percent} for m in METRICS],
        "units": _unit_rows(records, roots, table),
        "grades": _grade_bars(counted_table),
        "histogram": _histogram(counted_table),
        "plots": _root_plots(root_table(stats), roots),
        "plot_width": PLOT_WIDTH,
        "changes": [
            {
                "unit": c.unit,
                "years": f"{c.year - 1} → {c.year}",
                "before": _score(c.previous.total),
                "after": _score(c.current.total),
                "change": c.change,
                "change_text": c.change_text,
                "grade": c.grade_text,
            }
            for c in year_changes(records)
        ],
        "notes": list(notes),
    }


@functools.lru_cache(maxsize=1)  # the bundled template does not change while xlperf runs
def dashboard_template() -> jinja2.Template:
    """The dashboard's template, compiled once (看板模板): the batch compiles it while the units are
    built, so the process that writes 汇总.html at the end inherits it ready."""
    source = resources.files(__package__).joinpath("templates", TEMPLATE).read_text(encoding="utf-8")
    env = ReportEnvironment(  # a row's x.key reads the dict's item at once
        loader=jinja2.DictLoader({TEMPLATE: source}),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(TEMPLATE)


def render_dashboard(
    records: Sequence[UnitRecord], notes: Sequence[str] = (), table: pd.DataFrame | None = None
) -> str:
    """The dashboard as HTML text (生成看板)."""
    return dashboard_template().render(dashboard_context(records, notes, table))


def write_dashboard(
    records: Sequence[UnitRecord], path: Path, notes: Sequence[str] = (), table: pd.DataFrame | None = None
) -> Path:
    """Write 汇总.html (写出汇总看板) atomically; returns its path."""
    atomic_write_bytes(path, render_dashboard(records, notes, table).encode("utf-8"))
    return path
