"""Last year's workbook beside this year's (上年工作簿): find it, read it, attach it to the evaluation.

The previous workbook is given on the command line (``xlperf build 2025.xlsx --previous 2024.xlsx``)
or named in the field 上年自评工作簿 (``previous_file``, a path relative to the workbook's folder).
The comparison itself is pure: :mod:`xlperf.core.previous`.
"""

from __future__ import annotations

from pathlib import Path

from ..core.evaluate import Evaluation, evaluate
from ..core.numbers import parse_text
from ..core.previous import attach_previous, missing_previous
from ..errors import UnreadableFileError, XlperfError
from ..io.atomic import os_error_text
from ..io.safety import inspect_workbook_file
from .read import read_workbook


def previous_path(book: Path, named: str) -> Path:
    """Where 上年自评工作簿 ``named`` points (上年工作簿路径), relative to ``book``'s folder."""
    path = Path(named)
    return path if path.is_absolute() else book.parent / path


def read_previous(path: Path) -> Evaluation:
    """Read and evaluate last year's workbook (读取上年工作簿); raises :class:`XlperfError` if unreadable."""
    try:
        found = path.is_file()
    except OSError as exc:  # a name the file system refuses (too long, …): typed, so said, never a traceback
        raise UnreadableFileError(f"上年自评工作簿无法打开：{os_error_text(exc)}", path=str(path)) from None
    if not found:
        raise UnreadableFileError("上年自评工作簿不存在", path=str(path))
    inspect_workbook_file(path)
    return evaluate(read_workbook(path).data)


def link_previous(ev: Evaluation, book: Path, previous: Path | None = None, *, named: bool = True) -> None:
    """Attach last year's evaluation and the previous-year findings to ``ev`` (与上年核对).

    An explicit ``previous`` that cannot be read raises (the user typed it); a path named in the
    workbook that cannot be read gives a warning finding instead.  ``named=False`` ignores the
    path named in the workbook (the batch: a workbook from another unit must not open our files).
    """
    if previous is not None:
        if previous.resolve() == book.resolve():
            raise XlperfError("--previous 指定的上年工作簿与本年工作簿是同一个文件", path=str(book))
        attach_previous(ev, read_previous(previous))
        return
    text = parse_text(ev.data.get("previous_file"))
    if not named or not text:
        return
    if text.replace("\\", "/").startswith("//") or "://" in text:  # never reach out to a share or a URL
        reason = "网络路径不会自动打开，请复制到本机后填写，或用 --previous 指定"
        attach_previous(ev, None, [missing_previous(text, reason)])
        return
    named_path = previous_path(book, text)
    if named_path.resolve() == book.resolve():
        attach_previous(ev, None, [missing_previous(text, "指向本工作簿自身")])
        return
    try:
        attach_previous(ev, read_previous(named_path))
    except XlperfError as exc:
        attach_previous(ev, None, [missing_previous(text, str(exc))])
