"""The upgrade's self-check (升级自检): the new workbook re-read and every carried input compared."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from .carry import Carry
from .recover import formula_text, is_formula, show, where
from .result import UpgradeRefused


def verify_carried(source: Path, built: Path, carries: list[Carry]) -> None:
    """Re-read the new workbook and compare every carried input with the original (自检); refuse on any difference."""
    wanted: dict[str, set[str]] = {}
    for carry in carries:
        wanted.setdefault(carry.target_sheet, set()).add(carry.target)
    wb = load_workbook(built, read_only=True, data_only=False, keep_links=False)
    found: dict[tuple[str, str], Any] = {}  # openpyxl's read-only cells
    try:
        for title, coords in wanted.items():
            for row in wb[title].iter_rows():
                for cell in row:
                    coordinate = getattr(cell, "coordinate", None)
                    if coordinate in coords:
                        found[(title, coordinate)] = cell
    finally:
        wb.close()
    for carry in carries:
        new = found.get((carry.target_sheet, carry.target))
        old = carry.source
        if (new is None or new.value is None) and old.value is None:
            continue
        if new is None:
            raise UpgradeRefused(
                f"升级自检失败：{carry.what}（{where(old.parent, old.coordinate)}）在新工作簿中找不到；"
                "为避免丢失数据，未写出任何文件。请将工作簿反馈给维护人员",
                path=str(source),
            )
        if new.value is None and old.value is None:
            continue
        same_type = new.data_type == old.data_type or {new.data_type, old.data_type} <= {"n", "d"}
        same_value = new.value == old.value or (
            is_formula(old) and formula_text(new).lstrip("=") == formula_text(old).lstrip("=")
        )
        if not (same_type and same_value):
            raise UpgradeRefused(
                f"升级自检失败：{carry.what}（{where(old.parent, old.coordinate)}）原为「{show(old.value)}」，"
                f"新工作簿 {where(carry.target_sheet, carry.target)} 为「{show(new.value)}」；"
                "为避免丢失数据，未写出任何文件。请将工作簿反馈给维护人员",
                path=str(source),
            )
