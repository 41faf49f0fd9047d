"""Next year from this year: ``new --from``, the previous-year checks and the year-over-year text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlperf.cli import main
from xlperf.core.evaluate import evaluate
from xlperf.core.fields import FIELDS, MONEY, SETTINGS_SECTION, THREE_PUBLIC_ITEMS
from xlperf.core.model import UnitData
from xlperf.core.previous import attach_previous, previous_findings, trend_points, year_over_year
from xlperf.examples import example_data
from xlperf.workbook.build import build_workbook, evaluate_workbook
from xlperf.workbook.carryover import CARRIED_FIELDS
from xlperf.workbook.create import create_workbook
from xlperf.workbook.read import read_workbook

THREE_PUBLIC_ACTUAL = {"abroad": 0.0, "reception": 1.26, "vehicle_purchase": 0.0, "vehicle_operation": 3.5}


def corrected_2024() -> UnitData:
    """高邑镇 2024 with the reference's errors corrected and its 三公经费 filled in (更正后的示例)."""
    data = example_data()
    fields = dict(data.fields)
    fields.update(claimed_total=94.75, departments_stated=8)
    for key, actual in THREE_PUBLIC_ACTUAL.items():
        fields[f"tp_{key}_budget"], fields[f"tp_{key}_actual"] = actual + 1, actual
    classes = tuple(row for row in data.classes if str(row.code) != "2010308")  # the double-counted 项
    return replace(data, fields=fields, classes=classes)


@pytest.fixture(scope="module")
def years(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("years")
    last, nxt = folder / "2024.xlsx", folder / "2025.xlsx"
    create_workbook(corrected_2024(), last)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["new", "--from", str(last), "-o", str(nxt)]) == 0
    return last, nxt, out.getvalue()


def _set(path: Path, target: Path, **values: object) -> Path:
    """Type values into named cells as a clerk would (按名称填写)."""
    wb = load_workbook(path)
    for key, value in values.items():
        sheet, cell = next(iter(wb.defined_names[key].destinations))
        wb[sheet][cell.replace("$", "")] = value
    wb.save(target)
    return target


def test_new_from_carries_what_stays_and_fills_last_years_figures(years: tuple[Path, Path, str]) -> None:
    last, nxt, printed = years
    before, after = read_workbook(last), read_workbook(nxt)
    assert after.locator.problems == []
    old, new = before.data, after.data
    for key in CARRIED_FIELDS:
        assert new.get(key) == old.get(key), key
    assert new.get("year") == 2025
    assert new.get("carryover_begin") == old.get("carryover_end") == 113.07
    for key, _ in THREE_PUBLIC_ITEMS:
        assert new.get(f"tp_{key}_last") == THREE_PUBLIC_ACTUAL[key]
        assert new.get(f"tp_{key}_actual") is None and new.get(f"tp_{key}_budget") is None
    last_ev = evaluate(old)
    assert new.get("prev_total_score") == last_ev.total and new.get("prev_grade") == last_ev.grade
    assert new.get("previous_file") == "2024.xlsx"
    carried_money = {"carryover_begin"} | {f"tp_{k}_last" for k, _ in THREE_PUBLIC_ITEMS}
    for f in FIELDS:
        if f.kind == MONEY and f.key not in carried_money and f.section != SETTINGS_SECTION:
            assert new.get(f.key) is None, f.key  # the new year's figures start blank
    assert new.get("tolerance_money") == old.get("tolerance_money")  # the bureau's settings stay
    assert new.team == old.team
    assert [(r.code, r.name, r.maximum, r.rule, r.params, r.source) for r in new.indicators] == [
        (r.code, r.name, r.maximum, r.rule, r.params, r.source) for r in old.indicators
    ]
    assert all(r.self_score is None and r.actual is None and r.evidence is None for r in new.indicators)
    assert [(g.indicator, g.target) for g in new.goals] == [(g.indicator, g.target) for g in old.goals]
    assert all(g.actual is None for g in new.goals)
    assert [r.code for r in new.classes] == [r.code for r in old.classes]
    assert all(r.budget is None and r.final is None for r in new.classes)
    assert "年初结转结余 ← 上年年末结转结余 113.07" in printed
    assert "沿用：单位名称 = 高邑县高邑镇人民政府" in printed


def test_the_new_workbook_finds_last_year_by_itself(years: tuple[Path, Path, str]) -> None:
    last, nxt, _ = years
    _, ev, findings, _ = evaluate_workbook(nxt)
    assert ev.previous is not None and ev.previous.data.get("year") == 2024
    assert not [f for f in findings if f.check.startswith("previous.")]


def test_a_mismatching_carryover_is_flagged_with_both_figures(
    years: tuple[Path, Path, str], tmp_path: Path
) -> None:
    last, nxt, _ = years
    typed = _set(
        nxt, tmp_path / "2025.xlsx", carryover_begin=120.5, tp_reception_last=2.0, previous_file=None
    )
    result = build_workbook(typed, tmp_path / "out", previous=last)
    found = {f.check: f for f in result.findings if f.check.startswith("previous.")}
    carry = found["previous.carryover"]
    assert carry.severity == "error"
    assert "120.50 万元" in carry.message and "113.07 万元" in carry.message and "2024年" in carry.message
    assert carry.figures == {"本年填报": "120.50 万元", "上年工作簿": "113.07 万元", "差额": "7.43 万元"}
    assert result.where(carry).startswith("预算收支!")
    assert "2.00 万元" in found["previous.three_public"].message
    assert "1.26 万元" in found["previous.three_public"].message


def test_cli_check_with_previous_exits_one_and_names_the_cell(
    years: tuple[Path, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    last, nxt, _ = years
    typed = _set(nxt, tmp_path / "2025.xlsx", carryover_begin=0, previous_file=None)
    assert main(["check", str(typed)]) == 0  # no previous year named: nothing to compare
    assert main(["check", str(typed), "--previous", str(last)]) == 1
    out = capsys.readouterr().out
    assert "年初结转结余 0.00 万元与2024年工作簿的年末结转结余 113.07 万元不一致" in out
    assert main(["check", str(typed), "--previous", str(tmp_path / "nope.xlsx")]) == 2


def test_a_named_previous_file_that_is_missing_is_a_warning(
    years: tuple[Path, Path, str], tmp_path: Path
) -> None:
    _, nxt, _ = years
    typed = _set(nxt, tmp_path / "2025.xlsx", previous_file="旧/2024.xlsx")
    _, ev, findings, _ = evaluate_workbook(typed)
    assert ev.previous is None
    missing = next(f for f in findings if f.check == "previous.file")
    assert missing.severity == "warning" and "旧/2024.xlsx" in missing.message


def test_unit_name_or_staffing_changed_without_a_note() -> None:
    last = evaluate(corrected_2024())
    fields = dict(last.data.fields, year=2025, unit_name="高邑县高邑镇人民政府（新）", staff_quota_admin=42)
    now = evaluate(UnitData(fields))
    changed = [f for f in previous_findings(now, last) if f.check == "previous.changed"]
    assert {f.figures["上年"] for f in changed} == {"高邑县高邑镇人民政府", "40"}
    assert all(f.severity == "warning" for f in changed)
    noted = evaluate(UnitData(dict(fields, change_note="2025年机构改革，增加行政编制2名")))
    assert not [f for f in previous_findings(noted, last) if f.check == "previous.changed"]
    skipped = evaluate(UnitData(dict(fields, year=2027)))
    assert [f.check for f in previous_findings(skipped, last)][0] == "previous.year"


def test_blank_carryover_cannot_be_verified_and_says_so() -> None:
    last = evaluate(corrected_2024())
    now = evaluate(UnitData({"year": 2025, "unit_name": "高邑县高邑镇人民政府"}))
    infos = [f for f in previous_findings(now, last) if f.check == "previous.carryover"]
    assert [f.severity for f in infos] == ["info"] and "未填写" in infos[0].message


def test_year_over_year_sentences_compare_score_and_rates() -> None:
    last = evaluate(corrected_2024())
    fields = dict(last.data.fields, year=2025, final_exp_total=4500.0, carryover_begin=113.07)
    now = evaluate(replace(last.data, fields=fields))
    assert year_over_year(now) == []  # no previous year known
    attach_previous(now, last)
    sentences = year_over_year(now)
    assert sentences[0].startswith(
        f"2025年度部门整体支出绩效评价得分{now.total:g}分，上年（2024年度）为{last.total:g}分"
    )
    assert "预算执行率" in sentences[1] and "个百分点" in sentences[1]
    assert [p.year for p in trend_points(now)] == ["2024", "2025"]
    typed_only = evaluate(replace(last.data, fields=dict(fields, prev_total_score=85, prev_grade="优")))
    assert year_over_year(typed_only) == [
        f"2025年度部门整体支出绩效评价得分{typed_only.total:g}分，上年为85分，下降{85 - typed_only.total:g}分，评价等级由“优”变为“良”。"
    ]


def test_reports_gain_the_year_over_year_paragraph_and_the_html_a_trend_chart(
    years: tuple[Path, Path, str], tmp_path: Path
) -> None:
    import docx

    from xlperf.report import render_reports

    last, nxt, _ = years
    fields = {**corrected_2024().fields, "year": 2025, "carryover_begin": 113.07, "final_exp_total": 9100.0}
    filled = tmp_path / "2025.xlsx"
    create_workbook(replace(corrected_2024(), fields=fields), filled)
    result = build_workbook(filled, tmp_path / "out", previous=last)
    written = render_reports(result.evaluation, result.findings, tmp_path / "out", formats=("docx", "html"))
    expected = year_over_year(result.evaluation)
    assert expected and "上年（2024年度）" in expected[0]
    texts = [p.text for p in docx.Document(str(written["docx"])).paragraphs]
    assert "".join(expected) in texts
    html = written["html"].read_text(encoding="utf-8")
    assert "".join(expected) in html
    assert 'aria-label="历年评价得分"' in html and "2024年度（" in html and "2025年度（" in html
    alone = build_workbook(filled, tmp_path / "alone")  # names no previous workbook, none given
    html_alone = render_reports(alone.evaluation, alone.findings, tmp_path / "alone", formats=("html",))
    assert "历年评价得分" not in html_alone["html"].read_text(encoding="utf-8")


def test_a_workbook_from_before_the_previous_year_fields_carries_over(
    years: tuple[Path, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    last, _, _ = years
    wb = load_workbook(last)
    for key in ("previous_file", "prev_total_score", "prev_grade", "change_note"):
        del wb.defined_names[key]
    wb.defined_names["xlperf_layout_version"].attr_text = "1"  # as written before 上年情况 existed
    old = tmp_path / "2024旧版.xlsx"
    wb.save(old)
    outdated = read_workbook(old).locator
    assert outdated.problems == [] and "布局版本 1" in outdated.outdated
    assert main(["new", "--from", str(old), "-o", str(tmp_path / "2025.xlsx")]) == 0
    printed = capsys.readouterr().out
    assert "年初结转结余 ← 上年年末结转结余 113.07" in printed and "注意" not in printed
    new = read_workbook(tmp_path / "2025.xlsx")
    assert new.locator.problems == [] and new.data.get("previous_file") == "2024旧版.xlsx"
    assert main(["new", "--from", str(old), "-o", str(old)]) == 2  # never over last year's file


def test_cli_report_with_previous_writes_the_comparison(
    years: tuple[Path, Path, str], tmp_path: Path
) -> None:
    last, _, _ = years
    filled = tmp_path / "2025.xlsx"
    create_workbook(replace(corrected_2024(), fields={**corrected_2024().fields, "year": 2025}), filled)
    assert main(["report", str(filled), "-o", str(tmp_path / "out"), "--format", "html"]) == 0
    assert (
        main(
            ["report", str(filled), "-o", str(tmp_path / "out2"), "--format", "html", "--previous", str(last)]
        )
        == 0
    )
    (alone,), (compared,) = (list((tmp_path / d).glob("*.html")) for d in ("out", "out2"))
    assert "上年（2024年度）" not in alone.read_text(encoding="utf-8")
    assert "上年（2024年度）" in compared.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("named", "said"),
    [
        (r"\\fileserver\财政\2024.xlsx", "网络路径不会自动打开"),
        ("//fileserver/2024.xlsx", "网络路径不会自动打开"),
        ("http://x/2024.xlsx", "网络路径不会自动打开"),
        ("甲" * 300 + ".xlsx", "无法打开"),  # too long for the disk (found by the fuzz test): no traceback
        ("旧/" + "a" * 5000 + "/2024.xlsx", "无法打开"),
    ],
)
def test_a_previous_file_named_in_the_workbook_that_is_not_opened_is_a_warning(
    years: tuple[Path, Path, str], tmp_path: Path, named: str, said: str
) -> None:
    """A network path is never opened; a name the file system refuses is said, never a traceback."""
    _, nxt, _ = years
    typed = _set(nxt, tmp_path / "2025.xlsx", previous_file=named)
    _, ev, findings, _ = evaluate_workbook(typed)
    missing = next(f for f in findings if f.check == "previous.file")
    assert ev.previous is None and missing.severity == "warning" and said in missing.message


def test_a_three_public_total_without_its_split_is_carried_and_compared(tmp_path: Path) -> None:
    # a 2024 workbook gives “三公经费” 实际 as a total of 18 only: 2025's 上年 total is filled with it,
    # and a 2025 workbook that types 15 instead is flagged with both figures
    data = example_data()
    fields = {k: v for k, v in data.fields.items() if not k.startswith("tp_")} | {"tp_total_actual": 18}
    last, nxt = tmp_path / "2024.xlsx", tmp_path / "2025.xlsx"
    create_workbook(replace(data, fields=fields), last)
    assert main(["new", "--from", str(last), "-o", str(nxt)]) == 0
    assert read_workbook(nxt).data.get("tp_total_last") == 18
    typed = _set(nxt, tmp_path / "typed.xlsx", tp_total_last=15, previous_file=None)
    result = build_workbook(typed, tmp_path / "out", previous=last)
    [finding] = [f for f in result.findings if f.check == "previous.three_public"]
    assert finding.severity == "error"
    assert "15.00 万元" in finding.message and "18.00 万元" in finding.message
    assert finding.figures["上年工作簿"] == "18.00 万元"
