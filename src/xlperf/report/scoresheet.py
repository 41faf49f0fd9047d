"""The 自评表 workbook (部门整体支出绩效自评表 .xlsx): values only, laid out for printing.

One sheet: title, the scoring rows (一级/二级/三级指标, 分值, 得分, 扣分原因) with the
一级/二级 cells merged, and a 合计 row.  Scores are numbers, not formulas, so the file shows the
same figures in any spreadsheet program.  Printing: A4 landscape, fit to one page wide, the
header row repeated on every page, 宋体, thin borders.  Written by :mod:`xlperf.io.xlsxwrite`
(直接写出 XML 部件), not openpyxl, whose per-cell style objects cost some 70 ms a report.
"""

from __future__ import annotations

import string
from pathlib import Path

from ..io.xlsxwrite import CellStyle, PageSetup, Sheet, wrapped_height, write_workbook
from .text import clean_text, number_or_text

FONT_NAME = "宋体"
HEADERS = ("一级指标", "二级指标", "三级指标", "分值", "得分", "扣分原因")
WIDTHS = (10, 18, 34, 8, 10, 70)
HEADER_ROW = 3
MIN_ROW_HEIGHT = 15.0  # points: a one-line body row, as Excel draws 宋体 11
SHEET_TITLE = "自评表"
FOOTER = "第 &P 页，共 &N 页"
COLUMNS = string.ascii_uppercase[: len(HEADERS)]
PAGE = PageSetup(
    orientation="landscape",
    paper_size=9,  # A4
    fit_width=1,
    fit_height=0,
    margins=(0.6, 0.6, 0.8, 0.8, 0.5, 0.5),
    centre_horizontally=True,
    odd_footer=f'&C&"{FONT_NAME}"{FOOTER}',  # centred, in 宋体
)


def _style(
    size: float = 11, bold: bool = False, border: bool = True, horizontal: str = "center"
) -> CellStyle:
    """A 宋体 cell style, centred vertically and wrapped (单元格格式)."""
    return CellStyle(
        size, bold, FONT_NAME, border=border, horizontal=horizontal, vertical="center", wrap=True
    )


TITLE = _style(16, True, False)
UNIT = _style(border=False, horizontal="left")
YEAR = CellStyle(font=FONT_NAME, horizontal="right", vertical="center")
BOLD = _style(bold=True)  # header, 合计 and a 得分 that lost points
BODY = _style()
BODY_LEFT = _style(horizontal="left")  # 三级指标, 扣分原因
GRADE = _style(bold=True, horizontal="left")  # 评价等级
NOTE = _style(10, border=False, horizontal="left")  # 说明
Cell = tuple[object, CellStyle | None]
_GAP: Cell = (None, None)


def _cell(value: object, style: CellStyle) -> Cell:
    """A cell's pair: text without the characters XML cannot hold (typed text may carry them)."""
    return (clean_text(value) if isinstance(value, str) else value), style


def _title(ctx: dict[str, object]) -> str:
    """The sheet's heading, also the file's title property (标题)."""
    return f"{ctx['unit']}{ctx['year']}年度部门整体支出绩效自评表"


def _notes(ctx: dict[str, object]) -> list[str]:
    """The sentences of the 说明 row under the table (说明)."""
    notes = ["说明：得分按填报数据和评分办法计算；扣分原因只列有扣分的指标。"]
    if ctx["draft"]:
        notes.append("本表为征求意见稿。")
    return notes


def _sheet(ctx: dict[str, object]) -> Sheet:
    """The 自评表 sheet (自评表工作表): its rows, merges and print layout."""
    last = COLUMNS[-1]
    rows: list[list[Cell]] = [
        [_cell(_title(ctx), TITLE)],
        [_cell(f"单位名称：{ctx['unit']}", UNIT), _GAP, _GAP, _cell(f"评价年度：{ctx['year']}", YEAR)],
        [(title, BOLD) for title in HEADERS],
    ]
    merges = [f"A1:{last}1", "A2:C2", f"D2:{last}2"]
    heights: dict[int, float] = {1: 30}
    score_rows = ctx["score_rows"]
    assert isinstance(score_rows, list)
    for row_no, row in enumerate(score_rows, HEADER_ROW + 1):
        cells: list[Cell] = []
        for depth in (1, 2):  # span 0: covered by the merge above, so the cell stays blank
            span = int(row.get(f"span{depth}", 1))
            cells.append(_cell(row[f"level{depth}"] if span else None, BODY))
            if span > 1:
                merges.append(f"{COLUMNS[depth - 1]}{row_no}:{COLUMNS[depth - 1]}{row_no + span - 1}")
        cells += [
            _cell(row["level3"], BODY_LEFT),
            _cell(number_or_text(row["maximum"]), BODY),
            _cell(number_or_text(row["score"]), BOLD if row["lost"] else BODY),
            _cell(row["deduction"], BODY_LEFT),
        ]
        rows.append(cells)
        # stored heights that show every wrapped text; a merged 一级/二级 cell spreads over its rows
        own = [c for c, depth in ((0, 1), (1, 2)) if int(row.get(f"span{depth}", 1)) == 1] + [2, 5]
        wrapped = [(text, WIDTHS[c]) for c in own if isinstance(text := cells[c][0], str)]
        heights[row_no] = max(MIN_ROW_HEIGHT, wrapped_height(wrapped))
    total_row = HEADER_ROW + len(score_rows) + 1
    score_total = ctx["score_total"]
    assert isinstance(score_total, dict)
    totals = ("合计", None, None, number_or_text(score_total["maximum"]), number_or_text(str(ctx["total"])))
    rows.append([*(_cell(value, BOLD) for value in totals), _cell(f"评价等级：{ctx['grade']}", GRADE)])
    merges.append(f"A{total_row}:C{total_row}")
    note_row = total_row + 1
    notes = _notes(ctx)
    rows.append([_cell("".join(notes), NOTE)])
    merges.append(f"A{note_row}:{last}{note_row}")
    return Sheet(
        SHEET_TITLE,
        rows,
        widths=WIDTHS,
        heights={**heights, note_row: max(18, wrapped_height([("".join(notes), sum(WIDTHS))], 10))},
        merges=merges,
        freeze=f"A{HEADER_ROW + 1}",
        page=PAGE,
        print_title_rows=(HEADER_ROW, HEADER_ROW),
        print_area=f"A1:{last}{note_row}",
    )


def write_scoresheet(ctx: dict[str, object], path: Path) -> Path:
    """Write the 自评表 .xlsx (自评表工作簿) to ``path`` atomically."""
    return write_workbook(path, [_sheet(ctx)], title=clean_text(_title(ctx)))
