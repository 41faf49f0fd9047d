"""Generate a new prepared workbook (新建工作簿) with openpyxl: ``xlperf new``.

The generator writes the structure (sheets, sections, defined names, tables, validations,
styles, protection) and the unit's inputs; every computed cell is then filled by the same
headless build that users run (:mod:`.build`), so a new workbook already shows its results.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from ..core.evaluate import actual_kind
from ..core.fields import CHOICE, COUNT, DEFAULT_SETTINGS, LONGTEXT, MONEY, RATE, SCORE, TEXT, Field
from ..core.metrics import GOAL_SOURCE, METRIC_BY_LABEL, METRICS
from ..core.model import IndicatorRow, QuarterRow, UnitData
from ..core.numbers import parse_text
from ..core.rules import RULES, Proportional
from ..io.xlsxpatch import reencode_utf8
from ..io.xlsxwrite import wrapped_height
from . import contract as c
from .build import BuildResult
from .cells import FINDING_WIDTHS
from .styles import (
    BODY_FONT,
    BOLD_FONT,
    BORDER,
    CENTER,
    COMPUTED_FILL,
    HEADER_FILL,
    HEADER_FONT,
    INPUT_FILL,
    LOCKED,
    SECTION_FONT,
    TITLE_FONT,
    UNLOCKED,
    WARN_FILL,
    WRAP,
)

FORMATS = {MONEY: c.MONEY_FMT, RATE: c.RATE_FMT, COUNT: c.COUNT_FMT, SCORE: c.SCORE_FMT, TEXT: c.TEXT_FMT}
README_LINES = (
    "本工作簿由 xlperf 生成，用于编制部门整体支出绩效自评。",
    "黄色单元格为填报项；绿色单元格为计算结果（公式），已锁定以防误改，工作表保护无密码，可在「审阅」中撤销。",
    "金额单位为万元，保留两位小数；比率以百分比显示。可以填写“1,234.50”“12%”“4419.16万元”等，计算时自动识别。",
    "计算公式调用 xlperf 函数（如 =BUDGET_ADJ_RATE(...)）。在装有 xlperf 加载项的 Excel 中修改数据即自动重算；",
    "在 WPS、未装加载项的 Excel 或预览中，显示的是最近一次 xlperf build 保存的计算结果。",
    "「指标评分」表即本单位的评分体系：修改分值、规则、参数后运行 xlperf build（或功能区「重新计算」）即按新规则计分。",
    "规则：" + "、".join(RULES) + "。参数写作 键=值; 键=值，例如 档次=0%:100%,10%:75%,其他:0%; 比较=不高于。",
    "数据来源：" + "、".join(m.label for m in METRICS) + f"、{GOAL_SOURCE}；留空表示在「实际值」中手工填写。",
    "「校验结果」列出合计不符、平衡关系不成立、自评得分缺少数据支撑等问题，每条注明位置。",
)


README_WIDTH = 64  # the 说明 notes wrap within an A4 portrait page
RATES_NOTE = (
    "注：“53号”指财政部《预算绩效评价共性指标体系框架》（财预〔2013〕53号），"
    "“10号”指财政部《项目支出绩效评价管理办法》（财预〔2020〕10号）。"
)


def _name(wb: Workbook, name: str, sheet: str, ref: str) -> None:
    wb.defined_names[name] = DefinedName(name, attr_text=f"{quote_sheetname(sheet)}!{ref}")


def _abs(col: int, row: int) -> str:
    return f"${get_column_letter(col)}${row}"


def _style(cell: object, role: str, number_format: str = "General", wrap: bool = False) -> None:
    cell.font = BODY_FONT  # type: ignore[attr-defined]
    cell.border = BORDER  # type: ignore[attr-defined]
    cell.number_format = number_format  # type: ignore[attr-defined]
    if role == c.COMPUTED:
        cell.fill, cell.protection = COMPUTED_FILL, LOCKED  # type: ignore[attr-defined]
    else:
        cell.fill, cell.protection = INPUT_FILL, UNLOCKED  # type: ignore[attr-defined]
    if wrap:
        cell.alignment = WRAP  # type: ignore[attr-defined]


class _Validations:
    """Shared data validations of one sheet (数据验证)."""

    def __init__(self, ws: Worksheet) -> None:
        self.ws = ws
        self.by_key: dict[str, DataValidation] = {}

    def add(self, key: str, cell: str) -> None:
        if key not in self.by_key:
            self.by_key[key] = self._make(key)
            self.ws.add_data_validation(self.by_key[key])
        self.by_key[key].add(cell)

    @staticmethod
    def _make(key: str) -> DataValidation:
        if key.startswith("list:"):
            dv = DataValidation(type="list", formula1='"' + key[5:] + '"', allow_blank=True)
            dv.error, dv.errorTitle = "请从下拉列表中选择", "无效选项"
        else:
            dv = DataValidation(
                type="decimal",
                operator="between",
                formula1="-1000000000000",
                formula2="1000000000000",
                allow_blank=True,
            )
            dv.error, dv.errorTitle = f"此处应填写数字（{key}）", "应为数字"
        dv.errorStyle, dv.showErrorMessage = "warning", True
        return dv


def _field_rows(ws: Worksheet, fields: Sequence[Field], data: UnitData, start: int, dvs: _Validations) -> int:
    """Write fields as label | value | unit | note rows, grouped by section; return the next free row."""
    row, section = start, None
    for f in fields:
        if f.section != section:
            section = f.section
            row += 1 if row > start else 0
            ws.cell(row, 1, section).font = SECTION_FONT
            row += 1
        label = ws.cell(row, 1, f.label)
        label.font, label.border, label.alignment = BODY_FONT, BORDER, WRAP  # beside the top of its value
        value = data.get(f.key)
        cell = ws.cell(row, 2, value)
        _style(cell, c.INPUT, FORMATS.get(f.kind, "General"), wrap=f.kind == LONGTEXT)
        if isinstance(value, str) and value[:1] in "=+-@":
            cell.data_type = "s"
        ws.cell(row, 3, f.unit).font = BODY_FONT
        ws.cell(row, 4, f.note).font = BODY_FONT
        if f.kind == LONGTEXT:  # tall enough for the text, within Excel's 409-point row limit
            ws.row_dimensions[row].height = min(
                409, max(120, wrapped_height([(str(value or ""), ws.column_dimensions["B"].width)]))
            )
        if f.kind == CHOICE:
            dvs.add("list:" + ",".join(f.choices), cell.coordinate)
        elif f.kind in FORMATS and f.kind != TEXT:
            dvs.add(f.unit or f.kind, cell.coordinate)
        _name(ws.parent, f.key, ws.title, _abs(2, row))
        row += 1
    return row + 1


def _group_name(wb: Workbook, name: str, keys: Sequence[str]) -> None:
    """Name a range over fields laid out in adjacent rows of one sheet (区域名称)."""
    places = [next(iter(wb.defined_names[k].destinations)) for k in keys]
    sheets = {sheet for sheet, _ in places}
    rows = [int(ref.split("$")[-1]) for _, ref in places]
    if len(sheets) != 1 or rows != list(range(rows[0], rows[0] + len(rows))):
        raise ValueError(f"fields of range {name} are not in adjacent rows of one sheet: {places}")
    _name(wb, name, sheets.pop(), f"{places[0][1]}:{places[-1][1]}")


def _title(ws: Worksheet, text: str, widths: Iterable[float]) -> None:
    ws.cell(1, 1, text).font = TITLE_FONT
    for index, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(index)].width = width


def _table(
    ws: Worksheet,
    spec: c.TableSpec,
    rows: Sequence[object],
    start_row: int,
    dvs: _Validations,
    min_rows: int = 1,
) -> int:
    """Write an Excel table (with a caption row above); return the next free row."""
    ws.cell(start_row, 1, spec.caption).font = SECTION_FONT
    header = start_row + 1
    for col, column in enumerate(spec.columns, 1):
        cell = ws.cell(header, col, column.header)
        cell.font, cell.fill, cell.alignment, cell.border = HEADER_FONT, HEADER_FILL, CENTER, BORDER
        if ws.column_dimensions[get_column_letter(col)].width < column.width:
            ws.column_dimensions[get_column_letter(col)].width = column.width
    count = max(len(rows), min_rows)
    for index in range(count):
        row_obj = rows[index] if index < len(rows) else None
        for col, column in enumerate(spec.columns, 1):
            value = getattr(row_obj, column.attr) if (row_obj is not None and column.attr) else None
            cell = ws.cell(header + 1 + index, col, value if column.role != c.COMPUTED else None)
            if isinstance(value, str) and value[:1] in "=+-@":
                cell.data_type = "s"
            _style(
                cell,
                c.INPUT if column.role != c.COMPUTED else c.COMPUTED,
                column.number_format,
                wrap=column.number_format in ("General", c.TEXT_FMT) and column.width >= 12,
            )
    last = header + count
    ref = f"A{header}:{get_column_letter(len(spec.columns))}{last}"
    table = Table(displayName=spec.name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name="TableStyleLight9", showRowStripes=False)
    ws.add_table(table)
    for name, (table_spec, header_text) in c.COLUMN_NAMES.items():
        if table_spec is spec:
            col = [col.header for col in spec.columns].index(header_text) + 1
            _name(ws.parent, name, ws.title, f"{_abs(col, header + 1)}:{_abs(col, last)}")
    return last + 2


def actual_format(row: IndicatorRow) -> str:
    """Number format of an indicator's 实际值 and 单位自述值 (实际值格式): a rate as a percentage with two
    decimals (so typing 100 in 单位自述值 means 100%), a count as a whole number, anything else 0.00."""
    kind = actual_kind(row)
    if kind == "metric":
        return c.RATE_FMT if METRIC_BY_LABEL[parse_text(row.source)].percent else c.COUNT_FMT
    if kind == "goals" or parse_text(row.rule) == Proportional.label:
        return c.RATE_FMT
    return c.SCORE_FMT


def _print_setup(ws: Worksheet, *, landscape: bool, title_rows: str | None = None) -> None:
    """A4, one page wide and as many pages tall as needed (打印设置), header rows repeated."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if landscape else "portrait"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    if title_rows:
        ws.print_title_rows = title_rows


def _protect(ws: Worksheet) -> None:
    ws.protection.sheet = True
    ws.protection.formatColumns = False
    ws.protection.formatRows = False
    ws.protection.insertRows = False
    ws.protection.deleteRows = False
    ws.protection.autoFilter = False
    ws.protection.sort = False


def new_workbook(data: UnitData) -> Workbook:
    """Lay out a workbook for ``data`` (工作簿结构): inputs filled in, computed cells styled and empty."""
    wb = Workbook()
    wb.active.title = c.S_README
    for title in c.SHEETS[1:]:
        wb.create_sheet(title)
    wb.defined_names[c.VERSION_NAME] = DefinedName(c.VERSION_NAME, attr_text=str(c.LAYOUT_VERSION))
    readme = wb[c.S_README]
    _title(readme, "部门整体支出绩效自评工作簿", (README_WIDTH,))
    for index, line in enumerate(README_LINES, 3):
        readme.cell(index, 1, line).alignment = WRAP
        readme.row_dimensions[index].height = wrapped_height([(line, README_WIDTH)])
    legend = len(README_LINES) + 4
    readme.cell(legend, 1, "填报单元格（黄色）").fill = INPUT_FILL
    readme.cell(legend + 1, 1, "计算单元格（绿色，公式）").fill = COMPUTED_FILL

    unit = wb[c.S_UNIT]
    _title(unit, "基本信息", (30, 60, 8, 36))
    dvs = _Validations(unit)
    next_row = _field_rows(unit, c.fields_on(c.S_UNIT), data, 3, dvs)
    _table(unit, c.TEAM, data.team, next_row, dvs, min_rows=6)

    budget = wb[c.S_BUDGET]
    _title(budget, "预算收支（单位：万元）", (40, 16, 8, 40))
    dvs = _Validations(budget)
    next_row = _field_rows(budget, c.fields_on(c.S_BUDGET), data, 3, dvs)
    _table(budget, c.CLASSES, data.classes, next_row, dvs, min_rows=6)
    for name, keys in c.group_names().items():
        _group_name(wb, name, keys)

    progress = wb[c.S_PROGRESS]
    _title(progress, "支出进度（累计支出，万元）", ())
    _table(progress, c.QUARTERS, data.quarters, 3, _Validations(progress), min_rows=4)

    goals = wb[c.S_GOALS]
    _title(goals, "绩效目标与指标", ())
    dvs = _Validations(goals)
    end = _table(goals, c.GOALS, data.goals, 3, dvs, min_rows=10)
    cols = [col.header for col in c.GOALS.columns]
    dvs.add(
        "list:≥,≤,=",
        f"{get_column_letter(cols.index('方向') + 1)}5:{get_column_letter(cols.index('方向') + 1)}{end}",
    )
    dvs.add(
        "list:数量,质量,时效,成本,经济效益,社会效益,生态效益,可持续影响,满意度",
        f"{get_column_letter(cols.index('指标类型') + 1)}5:{get_column_letter(cols.index('指标类型') + 1)}{end}",
    )

    rates = wb[c.S_RATES]
    _title(rates, "比率（由填报数据计算）", (22, 14, 70))
    for col, header in enumerate(("比率", "计算值", "计算公式"), 1):
        cell = rates.cell(3, col, header)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, BORDER
    for index, metric in enumerate(METRICS, 4):
        rates.cell(index, 1, metric.label).border = BORDER
        _style(rates.cell(index, 2), c.COMPUTED, c.RATE_FMT if metric.percent else c.COUNT_FMT)
        formula = (metric.func.__doc__ or "").splitlines()[0]
        rates.cell(index, 3, formula).alignment = WRAP
        rates.row_dimensions[index].height = wrapped_height([(formula, 70)])
        _name(wb, c.rate_name(metric.key), c.S_RATES, _abs(2, index))
    rates.cell(len(METRICS) + 5, 1, RATES_NOTE).alignment = WRAP
    rates.merge_cells(start_row=len(METRICS) + 5, start_column=1, end_row=len(METRICS) + 5, end_column=3)
    rates.row_dimensions[len(METRICS) + 5].height = wrapped_height([(RATES_NOTE, 22 + 14 + 70)])

    rubric = wb[c.S_RUBRIC]
    _title(rubric, "部门整体支出绩效评价指标评分表", ())
    dvs = _Validations(rubric)
    end = _table(rubric, c.RUBRIC, data.indicators, 3, dvs)
    cols = [col.header for col in c.RUBRIC.columns]
    letter = {h: get_column_letter(i + 1) for i, h in enumerate(cols)}
    dvs.add("list:" + ",".join(RULES), f"{letter['规则']}5:{letter['规则']}{end + 40}")
    dvs.add(
        "list:" + ",".join([m.label for m in METRICS] + [GOAL_SOURCE]),
        f"{letter['数据来源']}5:{letter['数据来源']}{end + 40}",
    )
    rubric.conditional_formatting.add(
        f"{letter['自评得分']}5:{letter['自评得分']}{end + 40}",
        FormulaRule(
            formula=[
                f"AND(ISNUMBER({letter['自评得分']}5),ISNUMBER({letter['计算得分']}5),"
                f"{letter['自评得分']}5>{letter['计算得分']}5+0.005)"
            ],
            fill=WARN_FILL,
        ),
    )
    for index, indicator in enumerate(data.indicators):
        if "." not in str(indicator.code or "").strip("."):
            for col in range(1, len(c.RUBRIC.columns) + 1):
                rubric.cell(5 + index, col).font = BOLD_FONT
        for header in ("实际值", "单位自述值"):
            rubric[f"{letter[header]}{5 + index}"].number_format = actual_format(indicator)
    rubric.freeze_panes = "C5"
    # the cursor inside the frozen panes' body: with it on A1 LibreOffice prints row 5's scores above the title
    rubric.sheet_view.selection[-1].activeCell = rubric.sheet_view.selection[-1].sqref = "C5"
    _print_setup(rubric, landscape=True, title_rows="4:4")
    _print_setup(wb[c.S_GOALS], landscape=True, title_rows="4:4")
    _print_setup(wb[c.S_SUMMARY], landscape=False)
    for title in (c.S_README, c.S_UNIT, c.S_BUDGET, c.S_PROGRESS, c.S_RATES):
        _print_setup(wb[title], landscape=False)

    summary = wb[c.S_SUMMARY]
    _title(summary, "评价结论汇总", (22, 24, 10, 36, 12))
    row = 3
    summary.cell(row, 1, "评价结果").font = SECTION_FONT
    for offset, (name, label, fmt) in enumerate(c.SUMMARY_NAMES, 1):
        summary.cell(row + offset, 1, label).border = BORDER
        _style(summary.cell(row + offset, 2), c.COMPUTED, fmt)
        _name(wb, name, c.S_SUMMARY, _abs(2, row + offset))
    row += len(c.SUMMARY_NAMES) + 2
    roots = [r for r in data.indicators if "." not in str(r.code or "") and str(r.code or "").strip()]
    row = _table(summary, c.SUMMARY, [None] * len(roots), row, _Validations(summary))
    _field_rows(summary, c.fields_on(c.S_SUMMARY), data, row, _Validations(summary))

    findings = wb[c.S_FINDINGS]
    _title(findings, "校验结果（由 xlperf 生成，每次计算后更新）", FINDING_WIDTHS)
    for col, header in enumerate(c.FINDING_HEADERS, 1):
        cell = findings.cell(3, col, header)
        cell.font, cell.fill, cell.border = HEADER_FONT, HEADER_FILL, BORDER
        column = findings.column_dimensions[get_column_letter(col)]
        column.font, column.alignment = BODY_FONT, WRAP  # rows the build adds wrap their long 说明
    _print_setup(findings, landscape=True, title_rows="3:3")
    _name(wb, c.FINDINGS_NAME, c.S_FINDINGS, f"{_abs(1, 3)}:{_abs(len(c.FINDING_HEADERS), 3)}")
    for ws in wb.worksheets:
        if ws.title not in (c.S_README, c.S_FINDINGS):
            _protect(ws)
    return wb


def blank_data(unit: str, year: int, rubric: str = "reference") -> UnitData:
    """Inputs of a new, empty workbook (空白工作簿数据): the unit's name and year, a packaged rubric."""
    from ..rubrics import packaged_goals, packaged_rows

    fields = {"unit_name": unit, "year": year, **DEFAULT_SETTINGS}
    quarters = tuple(
        QuarterRow(f"第{q}季度", None, s) for q, s in zip("一二三四", (0.25, 0.5, 0.75, 1.0), strict=True)
    )
    return UnitData(
        fields,
        quarters=quarters,
        goals=tuple(packaged_goals(rubric)),
        indicators=tuple(packaged_rows(rubric)),
    )


def create_workbook(data: UnitData, path: Path, previous: Path | None = None) -> BuildResult:
    """Create a workbook at ``path`` with its computed cells filled (新建工作簿): layout, then the build.

    ``previous`` is last year's workbook, compared in that first build (``xlperf new --from``).
    """
    from .build import build_workbook

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".xlperf-new-") as tmp:
        skeleton = Path(tmp) / path.name
        new_workbook(data).save(skeleton)
        reencode_utf8(skeleton)  # openpyxl spells the Chinese as &#…; references
        result = build_workbook(skeleton, Path(tmp) / "out", previous=previous)
        assert result.output is not None
        os.replace(result.output, path)
    result.output = path
    return result
