"""Errors a user may see (用户可见的错误).

Every error that can reach a user carries a Chinese message naming where the problem is
(file, sheet, cell) and what was expected.  The CLI prints ``str(error)`` and never a traceback.
"""

from __future__ import annotations


class XlperfError(Exception):
    """Base of every error xlperf reports to a user (面向用户的错误)."""

    exit_code = 2

    def __init__(
        self, message: str, *, path: str | None = None, sheet: str | None = None, cell: str | None = None
    ) -> None:
        self.message = message
        self.path = path
        self.sheet = sheet
        self.cell = cell
        super().__init__(self.__str__())

    def location(self) -> str:
        """Where the problem is, in Chinese (位置)."""
        parts = []
        if self.path:
            parts.append(f"文件「{self.path}」")
        if self.sheet:
            parts.append(f"工作表「{self.sheet}」")
        if self.cell:
            parts.append(f"单元格 {self.cell}")
        return "，".join(parts)

    def __str__(self) -> str:
        where = self.location()
        return f"{where}：{self.message}" if where else self.message


class UnreadableFileError(XlperfError):
    """The file cannot be read as an .xlsx/.xlsm workbook (文件无法读取)."""


class WorkbookStructureError(XlperfError):
    """A sheet, defined name or table the contract requires is missing or damaged (工作簿结构错误)."""


class RubricError(XlperfError):
    """The rubric does not add up or names an unknown rule (评分规则表错误)."""


class OutputError(XlperfError):
    """An output file could not be written (输出文件无法写入)."""
