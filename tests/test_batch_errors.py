"""The batch's output folder misbehaves (输出文件夹出错): a full disk, a read-only disk, a missing permission.

A full disk cannot be made on demand, so the system call that would fail is made to fail with the
error the system gives (``ENOSPC``, ``EROFS``, ``EACCES``) — in the worker while a unit's workbook is
written, and in the main process while the dashboard is written or an old unit folder removed.
Every case must say what happened in Chinese and name the folder; none may read "内部错误".
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest
from openpyxl import load_workbook

from tools.generate import generate_workbooks
from xlperf.batch import EXIT_FAILED, run_batch
from xlperf.batch.run import SUMMARY_HTML, SUMMARY_XLSX
from xlperf.cli import main
from xlperf.errors import OutputError
from xlperf.io.atomic import atomic_write_bytes, os_error_text

FORMATS = ("html",)


def _failing(code: int):
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    return fail


@pytest.mark.parametrize(
    ("code", "words"),
    [(errno.ENOSPC, "磁盘空间已满"), (errno.EROFS, "只读"), (errno.EACCES, "没有访问权限")],
)
def test_a_unit_that_cannot_be_written_says_why_and_names_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, words: str
) -> None:
    box, out = tmp_path / "收件箱", tmp_path / "输出"
    generate_workbooks(box, 2)
    with monkeypatch.context() as patch:
        patch.setattr("xlperf.workbook.build.patch_workbook", _failing(code))
        result = run_batch(box, out, jobs=1, formats=FORMATS, stream=io.StringIO())
    assert result.exit_code == EXIT_FAILED and len(result.failed) == 2
    for record in result.failed:
        assert words in record.reason and str(out) in record.reason and "内部错误" not in record.reason
        assert record.retry  # not the workbook's fault: redone on the next run
    rows = list(load_workbook(out / SUMMARY_XLSX)["汇总"].iter_rows(values_only=True))
    assert all(words in (row[rows[0].index("说明")] or "") for row in rows[1:])
    again = run_batch(box, out, jobs=1, formats=FORMATS, stream=io.StringIO())
    assert again.built == 2 and not again.failed


def test_a_summary_that_cannot_be_written_says_why_and_names_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    box, out = tmp_path / "收件箱", tmp_path / "输出"
    generate_workbooks(box, 1)
    written = Path.write_bytes

    def full_disk(self: Path, data: bytes) -> int:
        if SUMMARY_HTML in self.name:  # the dashboard's temporary file: the disk fills up while writing
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return written(self, data)

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    code = main(["batch", str(box), "-o", str(out), "--jobs", "1", "--format", "html"])
    message = capsys.readouterr().err
    assert code == 2 and "磁盘空间已满" in message and str(out) in message and "内部错误" not in message
    assert not [p for p in out.iterdir() if p.name.startswith(f".{SUMMARY_HTML}")]  # no half-written file


def test_an_old_unit_folder_that_cannot_be_removed_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box, out = tmp_path / "收件箱", tmp_path / "输出"
    paths = generate_workbooks(box, 2)
    run_batch(box, out, jobs=1, formats=FORMATS, stream=io.StringIO())
    paths[0].unlink()  # its unit folder must go, but a program holds a file in it
    monkeypatch.setattr("xlperf.batch.manifest.shutil.rmtree", _failing(errno.EACCES))
    with pytest.raises(OutputError) as caught:
        run_batch(box, out, jobs=1, formats=FORMATS, stream=io.StringIO())
    assert "没有访问权限" in str(caught.value) and str(out) in str(caught.value)


def test_system_errors_read_in_chinese(tmp_path: Path) -> None:
    assert "磁盘空间已满" in os_error_text(OSError(errno.ENOSPC, "No space left on device"))
    assert "只读" in os_error_text(OSError(errno.EROFS, "Read-only file system"))
    assert "不存在" in os_error_text(FileNotFoundError(errno.ENOENT, "No such file"))
    with pytest.raises(OutputError, match="无法在目录中创建临时文件：文件夹或文件不存在"):
        atomic_write_bytes(tmp_path / "没有这个文件夹" / "a.txt", b"x")
