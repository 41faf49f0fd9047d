"""Collecting the inbox (收件箱): folders walked in order, zip files taken apart safely.

Zip members never reach the disk under their own names: a hostile archive (``../``, absolute paths,
drive letters, symlinks, encryption, a bomb, a nested zip) cannot write anything outside the
temporary folder, and each refused member is kept with its Chinese reason.
"""

from __future__ import annotations

import hashlib
import stat
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from xlperf.batch.inbox import MAX_LISTED_MEMBERS, collect

GOOD = b"PK\x03\x04 pretend workbook bytes"


class _GbkInfo(zipfile.ZipInfo):
    """A member named in GBK without the UTF-8 flag, as Chinese Windows writes them."""

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.filename.encode("cp437"), self.flag_bits


def _mark_encrypted(path: Path, name: str) -> None:
    """Set the "encrypted" flag of one member in its local header and central directory entry."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(name)
        offset = zf.start_dir
    data[info.header_offset + 6] |= 0x1
    while data[offset : offset + 4] == b"PK\x01\x02":
        size = 46 + int.from_bytes(data[offset + 28 : offset + 30], "little")
        size += int.from_bytes(data[offset + 30 : offset + 32], "little")
        size += int.from_bytes(data[offset + 32 : offset + 34], "little")
        if int.from_bytes(data[offset + 42 : offset + 46], "little") == info.header_offset:
            data[offset + 8] |= 0x1
        offset += size
    path.write_bytes(bytes(data))


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def hostile_zip(tmp_path: Path) -> Path:
    path = tmp_path / "inbox" / "报送.zip"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("单位/财政局.xlsx", GOOD)
        zf.writestr(_GbkInfo("教育局.xlsx".encode("gbk").decode("cp437")), GOOD + b"2")
        zf.writestr("../../逃逸.xlsx", GOOD)
        zf.writestr("/etc/绝对.xlsx", GOOD)
        zf.writestr("C:/盘符.xlsx", GOOD)
        link = zipfile.ZipInfo("链接.xlsx")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
        zf.writestr("加密.xlsx", GOOD)
        zf.writestr("炸弹.xlsx", b"\0" * (3 * 2**20))
        zf.writestr("嵌套.zip", b"PK\x05\x06" + b"\0" * 18)
        zf.writestr("__MACOSX/._财政局.xlsx", b"resource fork")
        zf.writestr("~$财政局.xlsx", b"lock")
        zf.writestr("说明.docx", b"not a workbook")
    _mark_encrypted(path, "加密.xlsx")
    return path


def test_zip_members_are_extracted_only_into_the_work_folder(hostile_zip: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    before = _files(tmp_path)
    found = collect(hostile_zip.parent, work)
    reasons = {s.key.removeprefix("报送.zip/"): s.problem for s in found.sources}
    assert set(reasons) == {
        "单位/财政局.xlsx",
        "教育局.xlsx",
        "../../逃逸.xlsx",
        "/etc/绝对.xlsx",
        "C:/盘符.xlsx",
        "链接.xlsx",
        "加密.xlsx",
        "炸弹.xlsx",
        "嵌套.zip",
        "说明.docx",
    }
    assert "不是工作簿" in reasons["说明.docx"]
    assert reasons["单位/财政局.xlsx"] == reasons["教育局.xlsx"] == ""
    for key in ("../../逃逸.xlsx", "/etc/绝对.xlsx", "C:/盘符.xlsx"):
        assert "压缩包以外" in reasons[key]
    assert "符号链接" in reasons["链接.xlsx"] and "密码" in reasons["加密.xlsx"]
    assert "压缩炸弹" in reasons["炸弹.xlsx"] and "嵌套" in reasons["嵌套.zip"]
    extracted = {s.key: s for s in found.sources if s.path is not None}
    assert len(extracted) == 2
    for source in extracted.values():
        assert work in source.path.parents and source.path.suffix == ".xlsx"
        assert source.digest == hashlib.sha256(source.path.read_bytes()).hexdigest()
    assert extracted["报送.zip/教育局.xlsx"].path.name == "教育局.xlsx"
    assert extracted["报送.zip/教育局.xlsx"].label == "报送.zip › 教育局.xlsx"
    assert {f for f in _files(tmp_path) - before if not f.startswith("work/")} == set()


def test_folders_are_walked_in_order_skipping_locks_hidden_files_and_the_output(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for name in (
        "乙/b.xlsx",
        "甲/a.xlsm",
        "甲/旧.xls",
        "甲/~$a.xlsm",
        ".git/x.xlsx",
        "输出/汇总.xlsx",
        "readme.md",
    ):
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_bytes(GOOD + name.encode())
    found = collect(inbox, tmp_path / "work", exclude=inbox / "输出")
    assert [s.key for s in found.sources] == ["readme.md", "乙/b.xlsx", "甲/a.xlsm", "甲/旧.xls"]
    assert "不是工作簿" in found.sources[0].problem and found.workbooks == 3
    assert any("锁文件" in note for note in found.notes)


def test_every_file_is_a_source_with_what_happened_to_it(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name in ("各单位.rar", "各单位.7z", "数据.csv", "报告.pdf", "照片.jpg", "其他.dat"):
        (inbox / name).write_bytes(b"not a workbook")
    Workbook().save(inbox / "改名.zip")  # an .xlsx renamed .zip
    (inbox / "空.zip").write_bytes(b"PK\x05\x06" + b"\0" * 18)
    found = collect(inbox, tmp_path / "work")
    reasons = {s.key: s.problem for s in found.sources}
    assert set(reasons) == {
        "各单位.rar",
        "各单位.7z",
        "数据.csv",
        "报告.pdf",
        "照片.jpg",
        "其他.dat",
        "改名.zip",
        "空.zip",
    }
    assert "RAR 压缩包" in reasons["各单位.rar"] and "7Z 压缩包" in reasons["各单位.7z"]
    assert "文本文件（CSV）" in reasons["数据.csv"] and "PDF 文档" in reasons["报告.pdf"]
    assert "图片" in reasons["照片.jpg"] and "不是工作簿" in reasons["其他.dat"]
    assert "扩展名被改成了 .zip" in reasons["改名.zip"] and "空的" in reasons["空.zip"]
    assert all(s.path is None for s in found.sources)


def test_xlperfs_own_output_folders_are_skipped_saying_so_once(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for name in (
        "a.xlsx",
        "上次输出/汇总.xlsx",
        "上次输出/财政局/财政局.xlsx",
        "上次输出/.xlperf-batch/lock",
    ):
        (inbox / name).parent.mkdir(parents=True, exist_ok=True)
        (inbox / name).write_bytes(GOOD)
    (inbox / "乙" / "xlperf-output").mkdir(parents=True)
    (inbox / "乙" / "xlperf-output" / "报告.docx").write_bytes(b"docx")
    found = collect(inbox, tmp_path / "work")
    assert [s.key for s in found.sources] == ["a.xlsx"]
    assert [n for n in found.notes if "输出文件夹" in n] == [
        "跳过了 xlperf 以前生成的输出文件夹「上次输出」「乙/xlperf-output」：其中的汇总表和各单位输出不是报送材料"
    ]


def test_an_archive_lists_at_most_its_cap_then_one_source_for_the_rest(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with zipfile.ZipFile(inbox / "很多.zip", "w") as zf:
        for number in range(MAX_LISTED_MEMBERS + 250):
            zf.writestr(f"文件{number:04}.txt", b"x")
        zf.writestr("最后/财政局.xlsx", GOOD)  # a workbook after all the others is still taken
    (tmp_path / "work").mkdir()
    found = collect(inbox, tmp_path / "work")
    assert len(found.sources) == MAX_LISTED_MEMBERS + 1
    assert [s.key for s in found.sources if s.path is not None] == ["很多.zip/最后/财政局.xlsx"]
    rest = [s for s in found.sources if "其余" in s.label]
    assert len(rest) == 1 and "其余 251 个未处理" in rest[0].problem


def test_a_damaged_zip_is_one_failed_source(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "坏.zip").write_bytes(b"PK\x03\x04 truncated")
    found = collect(inbox, tmp_path)
    assert [(s.key, s.path) for s in found.sources] == [("坏.zip", None)]
    assert "压缩包已损坏" in found.sources[0].problem
