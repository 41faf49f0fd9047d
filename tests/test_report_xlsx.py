"""The 自评表 workbook (:mod:`xlperf.report.scoresheet`): re-opened with openpyxl."""

from __future__ import annotations

import zipfile

import pytest
from openpyxl import load_workbook

from xlperf.core.evaluate import evaluate
from xlperf.core.numbers import parse_number
from xlperf.examples import example_data
from xlperf.report import render_reports
from xlperf.report.render import presentation_context
from xlperf.report.report_context import scoring_rows
from xlperf.report.scoresheet import write_scoresheet


@pytest.fixture(scope="module")
def example():
    return evaluate(example_data())


@pytest.fixture(scope="module")
def sheet(example, tmp_path_factory):
    out = tmp_path_factory.mktemp("xlsx")
    path = render_reports(example, example.findings, out, formats=["xlsx"])["xlsx"]
    assert path.name == "高邑县高邑镇人民政府2024年度绩效自评报告-自评表.xlsx"
    wb = load_workbook(path)
    assert wb.sheetnames == ["自评表"]
    return wb["自评表"]


def test_title_and_header(sheet):
    assert sheet["A1"].value == "高邑县高邑镇人民政府2024年度部门整体支出绩效自评表"
    assert [c.value for c in sheet[3]] == ["一级指标", "二级指标", "三级指标", "分值", "得分", "扣分原因"]


def test_every_scoring_row_as_numbers(sheet, example):
    expected = scoring_rows(example)
    level1 = level2 = None
    for offset, want in enumerate(expected):
        row = [c.value for c in sheet[4 + offset]]
        level1 = row[0] if row[0] is not None else level1  # merged cells keep the value in the first row
        level2 = row[1] if row[1] is not None else level2
        assert (level1, level2, row[2]) == (want["level1"], want["level2"], want["level3"])
        assert row[3:5] == [parse_number(want[k]).value for k in ("maximum", "score")]
        assert all(isinstance(v, int | float) and not isinstance(v, bool) for v in row[3:5])
        assert row[5] == (want["reason"] or None)


def test_totals_row(sheet, example):
    total_row = 4 + len(scoring_rows(example))
    values = [c.value for c in sheet[total_row]]
    assert values[0] == "合计"
    assert values[3:] == [100.0, 80.0, "评价等级：良"]  # one score: the 自评表 is the unit's
    note = sheet.cell(row=total_row + 1, column=1).value
    assert note == "说明：得分按填报数据和评分办法计算；扣分原因只列有扣分的指标。本表为征求意见稿。"


def test_merged_first_and_second_level_cells(sheet):
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {"A4:A8", "B4:B5", "B6:B8", "A9:A23", "B9:B17", "B18:B21", "B22:B23"} <= merged


def test_values_only_and_print_layout(sheet):
    for row in sheet.iter_rows():
        for cell in row:
            assert not (isinstance(cell.value, str) and cell.value.startswith("="))
    assert sheet.page_setup.orientation == "landscape"
    assert int(sheet.page_setup.paperSize) == 9  # A4
    assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.fitToHeight == 0
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_title_rows == "$3:$3"
    assert sheet["C10"].font.name == "宋体"
    assert sheet["F10"].border.left.style == "thin" and sheet["F10"].alignment.wrap_text


def test_print_setup_fonts_and_sizes(sheet, example):
    note_row = 5 + len(scoring_rows(example))
    assert sheet.print_area == f"'自评表'!$A$1:$F${note_row}"
    assert sheet.freeze_panes == "A4"
    assert sheet.print_options.horizontalCentered
    margins = sheet.page_margins
    assert (margins.left, margins.right, margins.top, margins.bottom) == (0.6, 0.6, 0.8, 0.8)
    assert (sheet.oddFooter.center.text, sheet.oddFooter.center.font) == ("第 &P 页，共 &N 页", "宋体")
    widths = [sheet.column_dimensions[letter].width for letter in "ABCDEF"]
    assert widths == [10, 18, 34, 8, 10, 70]
    assert sheet.row_dimensions[1].height == 30 and sheet.row_dimensions[note_row].height >= 18
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert {
        "A1:F1",
        "A2:C2",
        "D2:F2",
        f"A{note_row - 1}:C{note_row - 1}",
        f"A{note_row}:F{note_row}",
    } <= merged
    title, header, note = sheet["A1"].font, sheet["A3"].font, sheet.cell(row=note_row, column=1).font
    assert (title.name, title.sz, title.b) == ("宋体", 16, True)
    assert (header.sz, header.b, sheet["A3"].border.bottom.style) == (11, True, "thin")
    assert (note.sz, note.b, sheet.cell(row=note_row, column=1).border.left.style) == (10, False, None)
    assert sheet["D2"].value == "评价年度：2024" and sheet["D2"].alignment.horizontal == "right"
    lost = [want["score"] != want["maximum"] for want in scoring_rows(example)]
    assert [sheet.cell(row=4 + i, column=5).font.b for i in range(len(lost))] == lost


def test_markup_and_control_characters_are_text(example, tmp_path):
    ctx = presentation_context(example)
    ctx["unit"] = 'A&B <镇> "x"\x01\x1f'
    rows = [dict(row) for row in ctx["score_rows"]]
    rows[0]["level3"] = "  ]]>&amp; 指标\x0b"
    rows[1]["level3"] = "文号_x0041_"  # Excel would read _x0041_ as "A" unless its "_" is escaped
    rows[0]["deduction"] = "=SUM(A1:A2)\n第二行"
    ctx["score_rows"], ctx["draft"] = rows, False
    path = write_scoresheet(ctx, tmp_path / "s.xlsx")
    sheet = load_workbook(path)["自评表"]
    assert sheet["A1"].value == 'A&B <镇> "x"2024年度部门整体支出绩效自评表'
    assert sheet["A2"].value == '单位名称：A&B <镇> "x"'
    assert sheet["C4"].value == "  ]]>&amp; 指标"
    assert sheet["F4"].value == "=SUM(A1:A2)\n第二行" and sheet["F4"].data_type == "s"
    note_row = 5 + len(rows)
    assert (
        sheet.cell(row=note_row, column=1).value
        == "说明：得分按填报数据和评分办法计算；扣分原因只列有扣分的指标。"
    )
    assert sheet.row_dimensions[note_row].height == 18
    assert sheet["C5"].value == "文号_x0041_"
    with zipfile.ZipFile(path) as package:  # text is kept in the shared string table
        assert "文号_x005F_x0041_" in package.read("xl/sharedStrings.xml").decode()


def test_formats_may_be_a_comma_separated_string(example, tmp_path):
    paths = render_reports(example, [], tmp_path, formats="xlsx，.html")
    assert sorted(paths) == ["html", "xlsx"] and all(p.is_file() for p in paths.values())


def test_rows_are_tall_enough_for_their_wrapped_text(sheet):
    """Excel and LibreOffice keep stored row heights on opening: long reasons get room for their lines."""
    heights = {}
    for row in range(4, sheet.max_row):
        reason = sheet.cell(row=row, column=6).value
        heights[row] = (sheet.row_dimensions[row].height, reason)
    short = [h for h, reason in heights.values() if not reason]
    long_ = [h for h, reason in heights.values() if reason and len(reason) > 36]
    assert short and all(h == 15 for h in short)
    assert long_ and all(h >= 2 * 14 for h in long_)
