"""Bad files end to end (坏文件): ``xlperf build`` refuses them cleanly, fast and with bounded memory.

``io/safety.py`` has its own unit tests (``test_safety.py``); here the whole command runs in a child
process, as a user runs it, and the test measures it: wall time, peak RSS of the child
(``resource.getrusage(RUSAGE_CHILDREN)`` in a wrapper process, so other tests' children do not
count) and what it printed.  The child runs under an address-space limit, so a regression fails
the test instead of the machine.
"""

from __future__ import annotations

import json
import random
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers_bad_input import (
    MAIN_NS,
    assert_clean_exit,
    digest,
    env,
    example_copy,
    sheet_parts,
    xlperf,
)
from hostile_files import SECONDS, measured, with_part

RSS_MB = 400
AUDIT = r"""
import json, os, sys, zipfile
events = []
def hook(event, args):
    if event in ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.startfile"):
        events.append([event, str(args[:2])])
    elif event == "import" and args[0] and args[0].split(".")[0] in ("oletools", "olefile", "win32com", "xlwings"):
        events.append([event, args[0]])
    elif event == "import" and args[0] in ("xlperf.excel.vbaproject", "xlperf.excel.ovba", "xlperf.excel.xlsm"):
        events.append([event, args[0]])
original_open = zipfile.ZipFile.open
def open_part(self, name, *args, **kwargs):
    part = getattr(name, "filename", name)
    if "vbaproject" in str(part).lower():
        events.append(["zip.open", str(part)])
    return original_open(self, name, *args, **kwargs)
zipfile.ZipFile.open = open_part
sys.addaudithook(hook)
from xlperf.cli import main
code = main(sys.argv[1:])
print("AUDIT " + json.dumps(events), file=sys.stderr)
sys.exit(code)
"""


def _refused(result: dict[str, object], name: str, words: tuple[str, ...]) -> None:
    completed = subprocess.CompletedProcess([], result["code"], result["stdout"], result["stderr"])
    assert result["code"] != "timeout", f"not refused within {SECONDS} s"
    assert_clean_exit(completed, (2,))  # type: ignore[arg-type]
    assert name in str(result["stderr"]), result["stderr"]
    assert any(w in str(result["stderr"]) for w in words), result["stderr"]
    assert float(result["seconds"]) < SECONDS, result  # type: ignore[arg-type]
    assert float(result["rss_mb"]) < RSS_MB, result  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return example_copy(tmp_path_factory.mktemp("files") / "example")


def _cfb(path: Path, streams: dict[str, bytes]) -> Path:
    from helpers_files import make_cfb  # the OLE2 builder

    return make_cfb(path, streams)


def test_not_a_zip(tmp_path: Path) -> None:
    book = tmp_path / "报表.xlsx"
    book.write_text("单位,金额\n高邑镇,1\n", encoding="gbk")
    _refused(measured("build", str(book), "-o", str(tmp_path / "out")), "报表.xlsx", ("CSV", "不是 Excel"))
    assert not (tmp_path / "out").exists()


def test_truncated_download(tmp_path: Path, example: Path) -> None:
    book = tmp_path / "截断.xlsx"
    book.write_bytes(example.read_bytes()[: example.stat().st_size // 2])
    _refused(measured("build", str(book), "-o", str(tmp_path / "out")), "截断.xlsx", ("不完整", "损坏"))


def test_legacy_xls(tmp_path: Path) -> None:
    book = _cfb(tmp_path / "旧版.xls", {"Workbook": b"\x09\x08" + bytes(200)})
    _refused(measured("build", str(book), "-o", str(tmp_path / "out")), "旧版.xls", ("97-2003",))


def test_password_protected(tmp_path: Path) -> None:
    book = _cfb(
        tmp_path / "加密.xlsx",
        {"EncryptionInfo": b"\x04\x00\x04\x00" + bytes(100), "EncryptedPackage": bytes(300)},
    )
    _refused(measured("check", str(book)), "加密.xlsx", ("密码",))


def test_zip_bomb(tmp_path: Path, example: Path) -> None:
    zeros = (bytes(2**20) for _ in range(100))
    part = sheet_parts(example)["说明"]
    book = with_part(example, tmp_path / "炸弹.xlsx", part, zeros, level=6)
    assert book.stat().st_size < 1 * 2**20
    _refused(measured("build", str(book), "-o", str(tmp_path / "out")), "炸弹.xlsx", ("压缩", "上限"))


def _huge_sheet(example: Path, part: str, megabytes: int) -> object:
    """The sheet's own rows, then 100 MB of rows of random numbers, streamed."""
    rng = random.Random(3)
    with zipfile.ZipFile(example) as zf:
        head, tail = zf.read(part).split(b"</sheetData>")
    rows = [
        "".join(f"<c><v>{rng.random():.12f}</v></c>" for _ in range(12)).encode()
        for _ in range(37)  # repeats every ~11 KB: deflate gets ~46:1, far below a zip bomb's ratio
    ]
    yield head
    size, number = len(head), 5000
    while size < megabytes * 2**20:
        chunk = b"".join(b'<row r="%d">%s</row>' % (n, rows[n % 37]) for n in range(number, number + 2000))
        number += 2000
        size += len(chunk)
        yield chunk
    yield b"</sheetData>" + tail


def test_a_100_mb_sheet_is_refused_fast_with_bounded_memory(tmp_path: Path, example: Path) -> None:
    part = sheet_parts(example)["指标评分"]
    book = with_part(example, tmp_path / "巨大.xlsx", part, _huge_sheet(example, part, 100))
    with zipfile.ZipFile(book) as zf:
        info = zf.getinfo(part)
        assert info.file_size > 100 * 2**20 and info.file_size / info.compress_size < 100
    _refused(measured("build", str(book), "-o", str(tmp_path / "out"), limit_mb=600), "巨大.xlsx", ("MB",))


def test_xml_entities_are_never_expanded(tmp_path: Path, example: Path) -> None:
    """A worksheet with a DOCTYPE (billion laughs / XXE): refused or ignored, never expanded or fetched."""
    part = sheet_parts(example)["基本信息"]
    with zipfile.ZipFile(example) as zf:
        xml = zf.read(part)
    declaration, rest = xml.split(b"?>", 1) if xml.startswith(b"<?xml") else (b'<?xml version="1.0"', xml)
    entities = b"".join(
        b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">' % ((i,) + (i - 1,) * 8)
        for i in range(1, 10)
    )
    evil = (
        declaration
        + b'?><!DOCTYPE worksheet [<!ENTITY l0 "lol"><!ENTITY xxe SYSTEM "file:///etc/passwd">'
        + entities
        + b"]>"
        + rest.replace(
            b"<sheetData>",
            b'<sheetData><row r="999"><c r="A999" t="inlineStr"><is><t>&l9;&xxe;</t></is></c></row>',
            1,
        )
    )
    book = with_part(example, tmp_path / "实体.xlsx", part, [evil])
    result = measured("build", str(book), "-o", str(tmp_path / "out"))
    assert float(result["seconds"]) < SECONDS and float(result["rss_mb"]) < RSS_MB, result  # type: ignore[arg-type]
    completed = subprocess.CompletedProcess([], result["code"], result["stdout"], result["stderr"])
    assert_clean_exit(completed, (2,))  # type: ignore[arg-type]
    assert "DOCTYPE" in str(result["stderr"]) or "实体" in str(result["stderr"])
    assert "root:" not in str(result["stdout"]) + str(result["stderr"])


def test_macros_are_kept_and_never_run(tmp_path: Path, example: Path) -> None:
    from xlperf.excel.vbaproject import VbaModule
    from xlperf.excel.xlsm import build_xlsm

    marker = tmp_path / "macro_ran"
    source = f'Sub Auto_Open()\n    Open "{marker}" For Output As #1\n    Shell "calc.exe"\nEnd Sub\n'
    book = tmp_path / "带宏.xlsm"
    build_xlsm(example, book, [VbaModule("Module1", source, "standard")], None)
    before = digest(book)
    run = subprocess.run(
        [sys.executable, "-c", AUDIT, "build", str(book), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env(),
    )
    assert_clean_exit(run, (0, 1))
    audit = json.loads(run.stderr.rsplit("AUDIT ", 1)[1])
    assert audit == [], audit
    assert not marker.exists() and digest(book) == before
    with zipfile.ZipFile(book) as original, zipfile.ZipFile(tmp_path / "out" / book.name) as built:
        assert built.read("xl/vbaProject.bin") == original.read("xl/vbaProject.bin")


def test_a_workbook_open_in_excel_is_read_with_a_warning(tmp_path: Path, example: Path) -> None:
    from helpers_files import excel_lock_bytes

    book = example_copy(tmp_path / "shared", "高邑镇2024.xlsx")
    (book.parent / ("~$" + book.name)).write_bytes(excel_lock_bytes("王会计"))
    run = xlperf("build", str(book), "-o", str(tmp_path / "out"), "--no-report")
    assert_clean_exit(run, (0, 1))
    assert "王会计" in run.stdout and "锁文件" in run.stdout
    assert (tmp_path / "out" / book.name).is_file()


def test_the_built_workbook_xml_is_well_formed(tmp_path: Path, example: Path) -> None:
    """Sanity: the outputs the tests above compare with are plain SpreadsheetML (no DTD, the main namespace)."""
    with zipfile.ZipFile(example) as zf:
        for part in sheet_parts(example).values():
            data = zf.read(part)
            assert b"<!DOCTYPE" not in data and MAIN_NS.encode() in data
    assert struct.calcsize("<H") == 2
