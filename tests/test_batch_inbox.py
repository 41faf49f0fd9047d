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

from xlperf.batch.inbox import collect

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
    }
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
    assert [s.key for s in found.sources] == ["乙/b.xlsx", "甲/a.xlsm", "甲/旧.xls"]
    assert any("锁文件" in note for note in found.notes) and any("readme.md" in note for note in found.notes)


def test_a_damaged_zip_is_one_failed_source(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "坏.zip").write_bytes(b"PK\x03\x04 truncated")
    found = collect(inbox, tmp_path)
    assert [(s.key, s.path) for s in found.sources] == [("坏.zip", None)]
    assert "压缩包已损坏" in found.sources[0].problem
