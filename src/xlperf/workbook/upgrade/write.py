"""Writing the upgraded workbook (写出升级后的工作簿): :func:`upgrade_workbook`, atomically, after the self-check."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

from ...core.model import UnitData
from ...core.rubric import build_rubric
from ...errors import OutputError, XlperfError
from ...io.atomic import backup_file
from ...io.xlsxpatch import Formula, patch_workbook, reencode_utf8
from .. import contract as c
from ..build import build_workbook
from ..create import new_workbook
from .carry import (
    cached_value,
    carry_merges,
    copy_sheet,
    excel_value,
    other_content,
    place_inputs,
    recovered_data,
    user_names,
    write_other_content,
)
from .recover import is_formula, recover, where
from .result import MAX_OTHER_CELLS, OTHER_SHEET, UpgradeRefused, UpgradeResult
from .verify import verify_carried


def _rubric_notes(data: UnitData) -> list[str]:
    if not data.indicators:
        return []
    _, problems = build_rubric(data.indicators)
    return [f"评分体系（未修改，请在「{c.S_RUBRIC}」中核对）：{p.message}" for p in problems]


def default_output(path: Path) -> Path:
    """Where ``xlperf upgrade BOOK`` writes without ``-o`` (默认输出): ``名称_已升级.xlsx`` beside it."""
    return path.with_name(f"{path.stem}_已升级.xlsx")


def upgrade_workbook(path: Path, output: Path | None = None, *, in_place: bool = False) -> UpgradeResult:
    """Repair ``path`` into a fresh workbook with every input carried over (升级并修复工作簿).

    Writes ``output`` (default :func:`default_output`), or replaces ``path`` after a backup when
    ``in_place``.  Nothing is written when the workbook needs no repair.  Raises
    :class:`~xlperf.errors.XlperfError` (Chinese) when the file is unreadable, the repair is not safe
    or the output cannot be written; the input is then unchanged.
    """
    path = Path(path)
    if in_place and output is not None:
        raise OutputError("-o 与 --in-place 不能同时使用", path=str(path))
    target = path if in_place else Path(output) if output is not None else default_output(path)
    if not in_place and target.resolve() == path.resolve():
        raise OutputError(
            "输出文件与输入文件相同；如需覆盖原文件请使用 --in-place（会先备份）", path=str(path)
        )
    if target.suffix.lower() != ".xlsx" and not (in_place and path.suffix.lower() == ".xlsx"):
        raise OutputError(
            "升级后的工作簿为不含宏的 .xlsx 文件，输出文件名必须以 .xlsx 结尾"
            + ("；原文件是 .xlsm，请用 -o 指定新的 .xlsx 文件，不能原地覆盖" if in_place else ""),
            path=str(target),
        )
    rec, warnings = recover(path)
    result = UpgradeResult(path, rec.version, rec.problems, rec.changes, rec.attention, warnings)
    if rec.unsafe:
        raise UpgradeRefused("无法安全修复，未写出任何文件：" + "；".join(rec.unsafe), path=str(path))
    data, carries = recovered_data(rec)
    result.attention.extend(_rubric_notes(data))
    if not rec.problems:
        result.changes = []
        return result
    with zipfile.ZipFile(path) as zf:
        has_macros = any(n.lower() == "xl/vbaproject.bin" for n in zf.namelist())
    if has_macros:
        result.attention.append(
            "原工作簿含宏（VBA），升级后的 .xlsx 不含宏；如需功能区按钮，请重新安装 xlperf 的 Excel 加载项"
        )

    new = new_workbook(data)
    mapping, styles, comments = place_inputs(rec, new, carries)
    carry_merges(rec, new, mapping)
    others = other_content(rec)
    if len(others) > MAX_OTHER_CELLS:
        raise UpgradeRefused(
            f"有 {len(others):,} 个单元格在新的布局中没有对应位置，超过可保留的 {MAX_OTHER_CELLS:,} 个"
            f"（它们会被保留在工作表「{OTHER_SHEET}」，过多时升级后的工作簿将超过读取上限）；"
            "请先删除或移走这些数据（如粘贴在约定工作表中的明细）后再升级；未写出任何文件",
            path=str(path),
        )
    if others:
        sheet = write_other_content(rec, new, others)
        places = "、".join(where(ws, cell.coordinate) for ws, cell in others[:8])
        more = f" 等 {len(others)} 处" if len(others) > 8 else ""
        rec.attention.append(
            f"{len(others)} 个单元格在新的布局中没有对应位置（{places}{more}），已原样保存在工作表「{sheet}」，请核对后移回"
        )
    spare = [ws for ws in rec.wb.worksheets if ws not in rec.sheets.values()]
    formula_cells: dict[tuple[str, str], object] = {}
    for carry in carries:
        if is_formula(carry.source) and isinstance(carry.source.value, str):
            formula_cells[(carry.target_sheet, carry.target)] = Formula(
                carry.source.value, excel_value(cached_value(rec, carry.source))
            )
            if (carry.source.parent.title, carry.source.coordinate) != (carry.target_sheet, carry.target):
                rec.changes.append(
                    f"{carry.what}的公式 {carry.source.value} 已原样搬到 {where(carry.target_sheet, carry.target)}，"
                    "其位置有变化，若公式引用了其他单元格请核对"
                )
    copied: set[str] = set()
    for ws in spare:
        title, formulas = copy_sheet(rec, ws, new)
        copied.add(title)
        rec.changes.append(f"保留用户添加的工作表「{title}」")
        for coord, value in formulas:
            formula_cells[(title, coord)] = Formula(str(new[title][coord].value), excel_value(value))
    user_names(rec, new, copied)
    result.carried = len(carries)
    rec.changes.append(
        f"搬入填报值 {len(carries)} 项"
        + (f"，保留批注 {comments} 条" if comments else "")
        + (f"，保留单元格格式 {styles} 处" if styles else "")
    )
    rec.changes.append(f"按当前约定（布局版本 {c.LAYOUT_VERSION}）重建工作表、名称、表格、数据验证和计算公式")

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=".xlperf-upgrade-") as tmp:
            skeleton = Path(tmp) / "skeleton.xlsx"
            new.save(skeleton)
            reencode_utf8(skeleton)
            if formula_cells:
                patch_workbook(skeleton, skeleton, formula_cells)
            verify_carried(path, skeleton, carries)  # the build then changes computed cells only
            built = build_workbook(skeleton, Path(tmp) / "out")
            assert built.output is not None
            if in_place:
                result.backup = backup_file(path)
            os.replace(built.output, target)
    except XlperfError as exc:
        if exc.path is None or exc.path in (str(path), str(target)):
            raise
        # about the new workbook in the temporary folder, a path the user never gave: name theirs
        raise type(exc)(
            f"升级后的工作簿未能生成（{exc.message}）；未写出任何文件",
            path=str(path),
            sheet=exc.sheet,
            cell=exc.cell,
        ) from None
    except OSError as exc:
        raise OutputError(f"无法写入升级后的工作簿：{exc.strerror or exc}", path=str(target)) from None
    result.output = target
    return result
