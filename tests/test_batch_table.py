"""The bureau's unit table (单位表): rankings, 自评高出核定, distributions and means derived from it."""

from __future__ import annotations

import statistics

import pytest

from xlperf.batch import dashboard, summary
from xlperf.batch.unit import RootScore, UnitRecord
from xlperf.core.numbers import fmt_score, round_half_up


def unit(key: str, total: float | None, self_total: float | None = None, **kw: object) -> UnitRecord:
    base: dict[str, object] = dict(
        key=key, source=f"{key}.xlsx", digest=key, recipe="r", status="ok", unit=key, year="2024", folder=key
    )
    base.update(kw)
    return UnitRecord(total=total, self_total=self_total, **base)  # type: ignore[arg-type]


def roots(*scores: float) -> list[RootScore]:
    return [
        RootScore(f"{i}", name, 30.0, score, None)
        for i, (name, score) in enumerate(zip("甲乙", scores, strict=False))
    ]


RECORDS = [
    unit("a", 90.004, 95.0, grade="优", counts={"error": 2}, roots=roots(28.5, 25.0)),
    unit("b", 90.0, 90.0, grade="优", counts={"warning": 1}, roots=roots(20.25, 27.0)),
    unit("c", 85.5, 80.0, grade="良", roots=roots(12.0, 30.0)),
    unit("d", None, grade="—", roots=roots(7.0)),
    unit("e", None, status="failed", reason="无法读取", unit=""),
    unit("f", 99.0, status="duplicate", copy_of="a", counts={"error": 5}),
]


def test_rank_ties_share_the_higher_rank_and_copies_are_not_ranked() -> None:
    table = summary.unit_table(RECORDS)
    # 90.004 and 90.0 are both 90.00 at two decimals: they tie for first, 85.5 is third
    assert table["rank"].tolist()[:3] == [1, 1, 3]
    assert table["rank"].isna().tolist()[3:] == [True, True, True]
    assert table.loc["a", "excess"] == 5.0
    assert table.loc["c", "excess"] == -5.5
    frame = summary.unit_frame(RECORDS)
    assert frame[summary.RANK].tolist() == [1, 1, 3, None, None, None]
    assert all(type(v) is int for v in frame[summary.RANK].tolist()[:3])
    assert frame[summary.ERRORS].tolist() == [2, None, None, None, None, None]
    assert frame["甲" + summary.ROOT_SUFFIX].tolist() == [28.5, 20.25, 12.0, 7.0, None, None]


def test_dashboard_statistics_count_each_rebuilt_unit_once() -> None:
    context = dashboard.dashboard_context(RECORDS)
    assert context["with_errors"] == 1  # the copy's errors are its original's
    assert context["copies"] == 1
    assert context["mean_total"] == fmt_score(round_half_up(statistics.fmean([90.004, 90.0, 85.5]), 2))
    grades = {g["grade"]: g["count"] for g in context["grades"]}  # type: ignore[attr-defined, index]
    assert grades["优"] == 2 and grades["良"] == 1 and grades["无法评定"] == 1
    bins = [b["count"] for b in context["histogram"]]  # type: ignore[attr-defined, index]
    assert bins == [0] * 8 + [1, 2]
    units = context["units"]
    assert [u["rank"] for u in units] == [1, 1, 3, None, None, None]  # type: ignore[attr-defined, index]
    assert [u["errors"] for u in units] == [2, 0, 0, 0, 0, 5]  # type: ignore[attr-defined, index]


@pytest.mark.parametrize("name, scores", [("甲", [28.5, 20.25, 12.0, 7.0]), ("乙", [25.0, 27.0, 30.0])])
def test_root_quartiles_and_means_are_the_inclusive_ones(name: str, scores: list[float]) -> None:
    plots = {p["name"]: p for p in dashboard.dashboard_context(RECORDS)["plots"]}  # type: ignore[attr-defined, index]
    q1, median, q3 = statistics.quantiles(scores, n=4, method="inclusive")
    plot = plots[name]
    assert plot["n"] == len(scores)
    assert plot["median"] == fmt_score(round_half_up(median, 2))
    assert plot["mean"] == fmt_score(round_half_up(statistics.fmean(scores), 2))
    assert plot["box"][:3] == tuple(round(360 * q / 30.0, 1) for q in (q1, median, q3))
    assert [d["title"] for d in plot["dots"]] == [
        f"{u}：{fmt_score(s)}" for u, s in zip("abcd", scores, strict=False)
    ]


def test_an_empty_batch_has_an_empty_table() -> None:
    assert summary.unit_table([]).empty
    context = dashboard.dashboard_context([])
    assert context["mean_total"] == "—" and context["plots"] == []
