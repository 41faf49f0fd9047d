"""Varied workbooks for tests and benchmarks (生成测试工作簿): many units from the 高邑镇 example.

The example workbook is created once; every copy is that file with some input cells rewritten by
:func:`xlperf.io.xlsxpatch.patch_workbook` (an XML patch, about ten times faster than building a
workbook with openpyxl).  The cells are found through the example's own :class:`Locator` — defined
names and table headers — so the generator follows the workbook contract like every other reader.

Each copy gets its own unit name, scale of money, and a mix of the ways real submissions differ:
quarterly spending filled in or left blank, goals with or without actual values, honest or inflated
self-scores, a missing budget adjustment, blank procurement figures.  Copy ``i`` depends only on
``seed`` and ``i``.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from xlperf.core.fields import FIELDS, MONEY
from xlperf.core.model import UnitData
from xlperf.examples import example_data
from xlperf.io.filenames import safe_output_name
from xlperf.io.xlsxpatch import patch_workbook
from xlperf.workbook import contract as c
from xlperf.workbook.create import create_workbook
from xlperf.workbook.read import Locator, read_workbook

COUNTIES = ("高邑县", "赞皇县", "元氏县", "赵县", "栾城区", "藁城区", "无极县", "深泽县")
UNITS = (
    "高邑镇人民政府",
    "城关镇人民政府",
    "中韩镇人民政府",
    "大营镇人民政府",
    "万城镇人民政府",
    "财政局",
    "教育局",
    "卫生健康局",
    "农业农村局",
    "住房和城乡建设局",
    "交通运输局",
    "民政局",
    "文化广电和旅游局",
    "自然资源和规划局",
    "水利局",
    "应急管理局",
    "市场监督管理局",
    "人力资源和社会保障局",
    "司法局",
    "统计局",
)
_MONEY_KEYS = tuple(f.key for f in FIELDS if f.kind == MONEY and f.key not in ("tolerance_money",))


@dataclass(frozen=True)
class Template:
    """The example workbook and where its inputs are (模板): the file, its inputs and its locator."""

    path: Path
    data: UnitData
    locator: Locator


def make_template(directory: Path) -> Template:
    """Create the 高邑镇 example workbook in ``directory`` and read where its inputs are (生成模板)."""
    path = directory / "高邑镇2024.xlsx"
    create_workbook(example_data(), path)
    inputs = read_workbook(path)
    return Template(path, inputs.data, inputs.locator)


def unit_name(index: int) -> str:
    """The unit name of copy ``index`` (单位名称): county × unit, unique for the first 160 copies."""
    return COUNTIES[index % len(COUNTIES)] + UNITS[(index // len(COUNTIES)) % len(UNITS)]


def _money(value: float) -> float:
    return float(Decimal(repr(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def varied_values(template: Template, index: int, seed: int = 0) -> dict[tuple[str, str], object]:
    """The input cells that copy ``index`` changes (变化的单元格), keyed by (sheet, cell)."""
    rng = random.Random(seed * 1_000_003 + index)
    data, loc = template.data, template.locator
    cells: dict[tuple[str, str], object] = {}

    def put_field(key: str, value: object) -> None:
        where = loc.names.get(key)
        if where is not None:
            cells[where] = value

    def put_row(spec: c.TableSpec, header: str, row: int, value: object) -> None:
        pos = loc.tables.get(spec.name)
        address = pos.cell(header, row) if pos is not None else None
        if pos is not None and address is not None:
            cells[(pos.sheet, address)] = value

    put_field("unit_name", unit_name(index))
    put_field("year", 2024 if rng.random() < 0.9 else 2023)
    scale = rng.uniform(0.3, 3.0)
    money: dict[str, float] = {}
    for key in _MONEY_KEYS:
        raw = data.get(key)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            money[key] = _money(raw * scale)
            put_field(key, money[key])
    spent = money.get("final_exp_total", 0.0)
    prepared = rng.random() < 0.3  # a well-prepared submission: every figure the rubric needs
    if prepared:
        _fill_missing_figures(rng, template, money, put_field, put_row)
    if prepared or rng.random() < 0.4:  # quarterly spending (the example leaves it blank)
        shares = (rng.uniform(0.2, 0.3), rng.uniform(0.45, 0.55), rng.uniform(0.7, 0.8), 1.0)
        for row, share in enumerate(shares[: len(data.quarters)]):
            put_row(c.QUARTERS, "累计支出", row, _money(spent * share))
    if prepared or rng.random() < 0.4:  # goals with their actual values
        for row, goal in enumerate(data.goals):
            if isinstance(goal.target, int | float) and not isinstance(goal.target, bool):
                put_row(c.GOALS, "完成值", row, round(goal.target * rng.uniform(0.9, 1.3), 2))
    if not prepared and rng.random() < 0.3 and "budget_exp_total" in money:  # an adjustment, often large
        put_field("budget_adjustment", _money(money["budget_exp_total"] * rng.uniform(0.0, 0.4)))
    if not prepared and rng.random() < 0.15:  # spending far below budget
        for key in [k for k in money if k.startswith("final_exp_")]:
            put_field(key, _money(money[key] * 0.4))
    honest = rng.random() < 0.4
    for row, indicator in enumerate(data.indicators):
        if indicator.rule and isinstance(indicator.maximum, int | float):
            if honest:
                self_score = indicator.maximum * rng.choice((1.0, 1.0, 0.8, 0.5))
            elif isinstance(indicator.self_score, int | float):
                self_score = indicator.self_score
            else:
                continue
            put_row(c.RUBRIC, "自评得分", row, round(self_score, 2))
    return cells


def _fill_missing_figures(
    rng: random.Random,
    template: Template,
    money: dict[str, float],
    put_field: Callable[[str, object], None],
    put_row: Callable[[c.TableSpec, str, int, object], None],
) -> None:
    """Figures the example leaves blank, filled in as a careful unit would (补齐数据)."""
    budget = money.get("budget_exp_total", 0.0)
    ratio = money.get("budget_income_total", 0.0) / (money.get("final_income_total") or 1.0)
    ratio *= rng.uniform(0.99, 1.01)
    for key in [k for k in money if k.startswith("final_income_")]:
        put_field(key, _money(money[key] * ratio))
    put_field("budget_adjustment", _money(budget * rng.uniform(0.0, 0.08)))
    for item in ("abroad", "reception", "vehicle_purchase", "vehicle_operation"):
        planned = _money(budget * rng.uniform(0.0005, 0.003))
        put_field(f"tp_{item}_budget", planned)
        put_field(f"tp_{item}_actual", _money(planned * rng.uniform(0.6, 1.0)))
        put_field(f"tp_{item}_last", _money(planned * rng.uniform(0.8, 1.2)))
    planned = _money(budget * rng.uniform(0.02, 0.1))
    put_field("procurement_budget", planned)
    put_field("procurement_actual", _money(planned * rng.uniform(0.9, 1.0)))
    for row, indicator in enumerate(template.data.indicators):
        if indicator.rule and not indicator.source and indicator.actual is None:
            put_row(c.RUBRIC, "实际值", row, round(rng.uniform(0.85, 0.99), 4))


def _file_name(index: int) -> str:
    return f"{index:04d}-{safe_output_name(unit_name(index))}.xlsx"


def _write(job: tuple[Template, int, int, Path]) -> Path:
    template, index, seed, out_dir = job
    folder = out_dir / COUNTIES[index % len(COUNTIES)]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / _file_name(index)
    patch_workbook(template.path, target, varied_values(template, index, seed), full_calc_on_load=False)
    return target


def _jobs(
    template: Template, count: int, seed: int, out_dir: Path
) -> Iterator[tuple[Template, int, int, Path]]:
    for index in range(count):
        yield template, index, seed, out_dir


def generate_workbooks(out_dir: Path, count: int, *, seed: int = 0, jobs: int = 1) -> list[Path]:
    """Write ``count`` varied copies of the example under ``out_dir/<县>/`` (生成工作簿); returns their paths.

    ``jobs`` > 1 writes them with a process pool.  The same ``seed`` gives the same files.
    """
    with tempfile.TemporaryDirectory(prefix="xlperf-template-") as tmp:
        template = make_template(Path(tmp))
        work = _jobs(template, count, seed, Path(out_dir))
        if jobs > 1 and count > 1:
            with ProcessPoolExecutor(jobs) as pool:
                return list(pool.map(_write, work, chunksize=16))
        return [_write(job) for job in work]
