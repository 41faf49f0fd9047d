"""The 自评表 workbook (部门整体支出绩效自评表 .xlsx): values only, laid out for printing.

One sheet: title, the scoring rows (一级/二级/三级指标, 分值, 自评得分, 核定得分, 扣分原因) with the
一级/二级 cells merged, and a 合计 row.  Scores are numbers, not formulas, so the file shows the
same figures in any spreadsheet program.  Printing: A4 landscape, fit to one page wide, the
header row repeated on every page, 宋体, thin borders.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from ..io.atomic import atomic_output
from .render import number_or_text

FONT_NAME = "宋体"
HEADERS = ("一级指标", "二级指标", "三级指标", "分值", "自评得分", "核定得分", "扣分原因")
WIDTHS = (10, 18, 34, 8, 10, 10, 60)
HEADER_ROW = 3
SHEET_TITLE = "自评表"

_thin = Side(style="thin", color="000000")
BORDER = Border(left=_thin, right=_thin, top=_thin, bottom=_thin)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)


def _cell(ws: Worksheet, row: int, column: int, value: object, *, bold: bool = False, align: Alignment = CENTER,
          size: float = 11, border: bool = True) -> None:  # fmt: skip
    cell = ws.cell(row=row, column=column, value=value)
    cell.font = Font(name=FONT_NAME, size=size, bold=bold)
    cell.alignment = align
    if border:
        cell.border = BORDER


def fill_scoresheet(ws: Worksheet, ctx: dict[str, object]) -> int:
    """Write the 自评表 into ``ws`` (填写自评表); returns the row number of the 合计 row."""
    ws.title = SHEET_TITLE
    last_col = len(HEADERS)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=last_col)
    _cell(ws, 1, 1, f"{ctx['unit']}{ctx['year']}年度部门整体支出绩效自评表", bold=True, size=16, border=False)
    ws.row_dimensions[1].height = 30
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=3)
    _cell(ws, 2, 1, f"单位名称：{ctx['unit']}", align=LEFT, border=False)
    ws.merge_cells(start_row=2, start_column=4, end_row=2, end_column=last_col)
    _cell(
        ws,
        2,
        4,
        f"评价年度：{ctx['year']}",
        align=Alignment(horizontal="right", vertical="center"),
        border=False,
    )
    for column, title in enumerate(HEADERS, 1):
        _cell(ws, HEADER_ROW, column, title, bold=True)
    rows = ctx["score_rows"]
    assert isinstance(rows, list)
    row_no = HEADER_ROW
    for row in rows:
        row_no += 1
        values = (
            row["level1"],
            row["level2"],
            row["level3"],
            number_or_text(row["maximum"]),
            number_or_text(row["self_score"]),
            number_or_text(row["score"]),
            row["deduction"],
        )
        for column, value in enumerate(values, 1):
            _cell(
                ws,
                row_no,
                column,
                value,
                align=LEFT if column in (3, 7) else CENTER,
                bold=column == 6 and row["lost"],
            )
    for index, row in enumerate(rows):
        first = HEADER_ROW + 1 + index
        for depth in (1, 2):
            span = int(row.get(f"span{depth}", 1))
            if span > 1:
                ws.merge_cells(
                    start_row=first, start_column=depth, end_row=first + span - 1, end_column=depth
                )
    total_row = row_no + 1
    ws.merge_cells(start_row=total_row, start_column=1, end_row=total_row, end_column=3)
    score_total = ctx["score_total"]
    assert isinstance(score_total, dict)
    totals = ("合计", None, None, number_or_text(score_total["maximum"]), number_or_text(str(ctx["self_total"])),
              number_or_text(str(ctx["total"])), f"评价等级：{ctx['grade']}")  # fmt: skip
    for column, value in enumerate(totals, 1):
        _cell(ws, total_row, column, value, bold=True, align=LEFT if column == 7 else CENTER)
    note_row = total_row + 1
    notes = ["说明：核定得分按填报数据和评分规则计算；扣分原因只列有扣分的指标。"]
    claim = ctx["claim"]
    assert isinstance(claim, dict)
    if claim.get("stated") and claim.get("any"):
        notes.append(
            f"单位自评报告所写总分{ctx['claimed_total'] or '—'}分、等级“{ctx['claimed_grade'] or '—'}”，"
            f"与核定结果（{ctx['total']}分，“{ctx['grade']}”）不一致。"
        )
    errors = int(str(ctx["n_errors"]))
    if errors:
        notes.append(f"校验发现错误{errors}条，详见报告附件。")
    ws.merge_cells(start_row=note_row, start_column=1, end_row=note_row, end_column=last_col)
    _cell(ws, note_row, 1, "".join(notes), align=LEFT, border=False, size=10)
    ws.row_dimensions[note_row].height = 30 if len(notes) > 1 else 18
    for column, width in enumerate(WIDTHS, 1):
        ws.column_dimensions[get_column_letter(column)].width = width
    _print_setup(ws, total_row)
    return total_row


def _print_setup(ws: Worksheet, total_row: int) -> None:
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.print_area = f"A1:{get_column_letter(len(HEADERS))}{total_row + 1}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.6
    ws.page_margins.top, ws.page_margins.bottom = 0.8, 0.8
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    ws.oddFooter.center.font = FONT_NAME
    ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)


def write_scoresheet(ctx: dict[str, object], path: Path) -> Path:
    """Write the 自评表 .xlsx (自评表工作簿) to ``path`` atomically."""
    wb = Workbook()
    fill_scoresheet(wb.active, ctx)
    wb.properties.creator = "xlperf"
    wb.properties.title = f"{ctx['unit']}{ctx['year']}年度部门整体支出绩效自评表"
    with atomic_output(path) as tmp:
        wb.save(tmp)
    return path
