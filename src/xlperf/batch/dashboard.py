"""The review dashboard (汇总看板): one self-contained HTML file from the recorded results.

Everything is inline — CSS, a few lines of JavaScript for sorting and filtering, SVG charts — so the
file opens from a USB stick or an intranet share with no network.  Jinja2 autoescapes every value:
unit names and messages come from other people's workbooks.  Links to each unit's reports are
relative, so the output folder can be moved or zipped as a whole.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from urllib.parse import quote

import jinja2

from ..core.grades import DEFAULT_BANDS
from ..core.metrics import METRICS
from ..core.numbers import fmt_rate, fmt_score, round_half_up
from ..io.atomic import atomic_write_bytes
from .summary import (
    counted,
    in_statistics,
    latest_year,
    notes,
    overclaim_text,
    ranks,
    repeated,
    root_names,
    several_years,
    shown_names,
    status_text,
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


def _href(folder: str, name: str) -> str:
    return f"{quote(folder)}/{quote(name)}"


def _links(record: UnitRecord) -> list[dict[str, str]]:
    if not record.ok or not record.folder:
        return []
    return [
        {"label": label, "href": _href(record.folder, record.files[kind])}
        for kind, label in FILE_LABELS.items()
        if kind in record.files
    ]


def _score(value: float | None) -> str:
    return fmt_score(value) if value is not None else "—"


def _unit_rows(records: Sequence[UnitRecord], roots: list[str]) -> list[dict[str, object]]:
    rank = ranks(records)
    repeats = repeated(records)
    names = shown_names(records)
    rows = []
    for index, r in enumerate(records):
        scores = {root.name: root.score for root in r.roots}
        excess = (
            round_half_up(r.self_total - r.total, 2)
            if r.self_total is not None and r.total is not None
            else None
        )
        links = _links(r)
        rows.append(
            {
                "anchor": f"u{index + 1}",
                "rank": rank.get(r.key),
                "name": names[r.key],
                "year": r.year,
                "total": r.total,
                "total_text": _score(r.total),
                "grade": r.grade if r.ok else "",
                "self_total": r.self_total,
                "self_text": _score(r.self_total),
                "self_grade": r.self_grade if r.ok else "",
                "excess": excess,
                "excess_text": _score(excess) if excess is not None else "—",
                "roots": [(scores.get(name), _score(scores.get(name))) for name in roots],
                "errors": r.counts.get("error", 0),
                "warnings": r.counts.get("warning", 0),
                "infos": r.counts.get("info", 0),
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
                "findings": [
                    {
                        "severity": f.severity,
                        "label": f.label,
                        "check": f.check,
                        "message": f.message,
                        "where": f.where,
                    }
                    for f in r.findings
                ],
                "warnings_text": notes(r, repeats) if r.ok else "",
            }
        )
    return rows


def _grade_bars(records: Sequence[UnitRecord]) -> list[dict[str, object]]:
    counts = Counter(r.grade for r in records if r.ok)
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


def _histogram(records: Sequence[UnitRecord]) -> list[dict[str, object]]:
    totals = [r.total for r in records if r.ok and r.total is not None]
    bins = [0] * 10
    for total in totals:
        bins[min(9, max(0, int(total // 10)))] += 1
    top = max(bins) or 1
    return [
        {
            "label": f"{10 * i}–{10 * i + 10}" if i < 9 else "90–100",
            "count": n,
            "height": round(100 * n / top, 1),
        }
        for i, n in enumerate(bins)
    ]


def _root_plots(records: Sequence[UnitRecord], roots: list[str]) -> list[dict[str, object]]:
    """Box plot and dots of each 一级指标's subtotal across units (一级指标得分分布), as SVG coordinates."""
    plots = []
    for name in roots:
        points = [(r.display_name, root) for r in records if r.ok for root in r.roots if root.name == name]
        if not points:
            continue
        maximum = max(root.maximum for _, root in points) or 1.0
        values = sorted(root.score for _, root in points)

        def x(value: float, maximum: float = maximum) -> float:
            return round(PLOT_WIDTH * max(0.0, min(value, maximum)) / maximum, 1)

        q1, median, q3 = (
            statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else [values[0]] * 3
        )
        plots.append(
            {
                "name": name,
                "maximum": fmt_score(maximum),
                "n": len(values),
                "min": fmt_score(values[0]),
                "median": fmt_score(round_half_up(median, 2)),
                "mean": fmt_score(round_half_up(statistics.fmean(values), 2)),
                "max": fmt_score(values[-1]),
                "box": (x(q1), x(median), x(q3), x(values[0]), x(values[-1])),
                "dots": [
                    {
                        "x": x(root.score),
                        "y": 8 + (i * 7919) % 17,
                        "title": f"{unit}：{fmt_score(root.score)}",
                    }
                    for i, (unit, root) in enumerate(points)
                ],
            }
        )
    return plots


def dashboard_context(records: Sequence[UnitRecord], notes: Sequence[str] = ()) -> dict[str, object]:
    """Everything the dashboard template shows (看板内容), from the records in summary order, and the
    run's ``notes`` on what it left out (skipped system files, xlperf's own output folders)."""
    roots = root_names(records)
    done = counted(records)  # identical copies of a workbook count once
    stats = in_statistics(records)  # and with several years, the latest year's units only
    totals = [r.total for r in stats if r.total is not None]
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
        "copies": sum(1 for r in records if r.duplicate),
        "failed": [r for r in records if r.failed],
        "with_errors": sum(1 for r in done if r.counts.get("error", 0)),
        "stats_year": f"（{latest_year(records)} 年度）" if several_years(records) else "",
        "mean_total": fmt_score(round_half_up(statistics.fmean(totals), 2)) if totals else "—",
        "roots": roots,
        "metrics": [{"label": m.label, "percent": m.percent} for m in METRICS],
        "units": _unit_rows(records, roots),
        "grades": _grade_bars(stats),
        "histogram": _histogram(stats),
        "plots": _root_plots(stats, roots),
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


def _environment() -> jinja2.Environment:
    source = resources.files(__package__).joinpath("templates", TEMPLATE).read_text(encoding="utf-8")
    env = jinja2.Environment(
        loader=jinja2.DictLoader({TEMPLATE: source}),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def render_dashboard(records: Sequence[UnitRecord], notes: Sequence[str] = ()) -> str:
    """The dashboard as HTML text (生成看板)."""
    return _environment().get_template(TEMPLATE).render(dashboard_context(records, notes))


def write_dashboard(records: Sequence[UnitRecord], path: Path, notes: Sequence[str] = ()) -> Path:
    """Write 汇总.html (写出汇总看板) atomically; returns its path."""
    atomic_write_bytes(path, render_dashboard(records, notes).encode("utf-8"))
    return path
