"""Tests for xlperf.io.safety: refusing bad workbook files, safe names, safe XML.

Every file is generated here in ``tmp_path``: workbooks with openpyxl, OLE2 compound files with a
small hand-written CFB builder, zip bombs streamed from a generator.
"""

from __future__ import annotations

import re
import shutil
import struct
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import olefile
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from helpers_files import excel_lock_bytes, make_cfb
from xlperf.errors import UnreadableFileError
from xlperf.io import filenames, safety
from xlperf.io.filenames import safe_output_name
from xlperf.io.safety import MAX_ZIP_ENTRIES, FileReport, inspect_workbook_file
from xlperf.io.safexml import parse_xml, safe_xml_parser

CJK = re.compile(r"[\u4e00-\u9fff]")


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def make_xlsx(path: Path) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "基本信息"
    ws["A1"] = "单位名称"
    ws["B1"] = "高邑县高邑镇人民政府"
    for row in range(2, 50):
        ws.cell(row=row, column=1, value=f"项目{row}")
        ws.cell(row=row, column=2, value=row * 1000.5)
    wb.save(path)
    return path


def rewrite_zip(src: Path, dst: Path, *, add: dict[str, bytes] | None = None, drop: set[str] = frozenset()):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            if info.filename not in drop:
                zout.writestr(info, zin.read(info))
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def make_zip(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def refusal(path: Path, **kwargs) -> str:
    """Inspect ``path`` expecting a refusal; check the message is Chinese and names the file."""
    with pytest.raises(UnreadableFileError) as excinfo:
        inspect_workbook_file(path, **kwargs)
    err = excinfo.value
    text = str(err)
    assert err.path == str(path)
    assert path.name in text
    assert CJK.search(err.message), err.message
    assert "Traceback" not in text
    return err.message


@pytest.fixture
def xlsx(tmp_path: Path) -> Path:
    return make_xlsx(tmp_path / "book.xlsx")


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real workbook plus a 200 MB sheet of zeros, compressed ~1000:1 (streamed, never in memory)."""
    base = tmp_path_factory.mktemp("bomb")
    src = make_xlsx(base / "src.xlsx")
    dst = base / "bomb.xlsx"
    chunk = bytes(2**20)
    with (
        zipfile.ZipFile(src) as zin,
        zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zout,
    ):
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        with zout.open("xl/worksheets/sheet2.xml", "w") as w:
            for _ in range(200):
                w.write(chunk)
    assert dst.stat().st_size < 1 * 2**20
    return dst


@pytest.fixture
def no_decompression(monkeypatch: pytest.MonkeyPatch):
    """Fail loudly if anything is decompressed."""

    def forbidden(*args, **kwargs):
        raise AssertionError("decompression attempted")

    monkeypatch.setattr(zipfile, "_get_decompressor", forbidden)


# --------------------------------------------------------------------------------------------
# accepted files
# --------------------------------------------------------------------------------------------


def test_valid_xlsx_is_accepted(xlsx: Path):
    report = inspect_workbook_file(xlsx)
    assert isinstance(report, FileReport)
    assert report.kind == "xlsx"
    assert report.size_bytes == xlsx.stat().st_size
    assert report.has_macros is False
    assert report.locked_by is None and report.lock_file is None
    assert report.warnings == ()
    assert report.uncompressed_bytes > 0
    with pytest.raises(AttributeError):
        report.kind = "xlsm"  # type: ignore[misc]


def test_str_path_and_upper_case_extension(tmp_path: Path):
    path = make_xlsx(tmp_path / "BOOK.XLSX")
    assert inspect_workbook_file(str(path)).kind == "xlsx"


@pytest.mark.parametrize("suffix", [".xltx", ".xltm", ".xlsm"])
def test_template_and_macro_extensions_accepted(tmp_path: Path, xlsx: Path, suffix: str):
    path = shutil.copy(xlsx, tmp_path / f"copy{suffix}")
    assert inspect_workbook_file(Path(path)).kind == suffix[1:]


def test_xlsm_with_vba_project(tmp_path: Path, xlsx: Path):
    path = rewrite_zip(xlsx, tmp_path / "macro.xlsm", add={"xl/vbaProject.bin": b"\xcc\x61" * 500})
    report = inspect_workbook_file(path)
    assert report.kind == "xlsm"
    assert report.has_macros is True
    assert report.warnings == ()


def test_macros_in_xlsx_extension_warns(tmp_path: Path, xlsx: Path):
    path = rewrite_zip(xlsx, tmp_path / "macro.xlsx", add={"xl/vbaProject.bin": b"\0" * 100})
    report = inspect_workbook_file(path)
    assert report.has_macros is True
    assert len(report.warnings) == 1 and ".xlsm" in report.warnings[0]


def test_lock_file_with_owner_name(xlsx: Path):
    lock = xlsx.with_name("~$" + xlsx.name)
    lock.write_bytes(excel_lock_bytes("张会计"))
    report = inspect_workbook_file(xlsx)
    assert report.locked_by == "张会计"
    assert report.lock_file == lock
    assert len(report.warnings) == 1
    assert "张会计" in report.warnings[0] and lock.name in report.warnings[0]


def test_lock_file_ascii_only_and_garbage(xlsx: Path):
    lock = xlsx.with_name("~$" + xlsx.name)
    lock.write_bytes(bytes([5]) + b"admin")  # only the ANSI part
    assert inspect_workbook_file(xlsx).locked_by == "admin"
    lock.write_bytes(b"\xff\x00\x01\x02garbage\x00")
    report = inspect_workbook_file(xlsx)
    assert report.locked_by == "未知用户"
    assert report.warnings and "其他用户" in report.warnings[0]
    lock.write_bytes(b"")
    assert inspect_workbook_file(xlsx).locked_by == "未知用户"


def test_libreoffice_lock_file(xlsx: Path):
    xlsx.with_name(f".~lock.{xlsx.name}#").write_text(
        "李四,lisi,pc01,01.03.2025 09:30,file:///C:/x/book.xlsx;", encoding="utf-8"
    )
    assert inspect_workbook_file(xlsx).locked_by == "李四"


# --------------------------------------------------------------------------------------------
# refused: basic file problems
# --------------------------------------------------------------------------------------------


def test_missing_file(tmp_path: Path):
    assert "找不到" in refusal(tmp_path / "nothing.xlsx")


def test_directory(tmp_path: Path):
    folder = tmp_path / "folder.xlsx"
    folder.mkdir()
    assert "文件夹" in refusal(folder)


def test_empty_file(tmp_path: Path):
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"")
    assert "空的" in refusal(path)


def test_too_large(tmp_path: Path, xlsx: Path):
    assert "上限 1000 字节" in refusal(xlsx, max_bytes=1000)
    sparse = tmp_path / "huge.xlsx"
    with sparse.open("wb") as fh:
        fh.truncate(60 * 2**20)  # sparse: 60 MB on paper, nothing written
    message = refusal(sparse)
    assert "60 MB" in message and "上限 50 MB" in message


def test_lock_file_itself_is_refused(tmp_path: Path):
    path = tmp_path / "~$book.xlsx"
    path.write_bytes(excel_lock_bytes("张会计"))
    assert "锁文件" in refusal(path)


# --------------------------------------------------------------------------------------------
# refused: not a zip
# --------------------------------------------------------------------------------------------


def test_csv_renamed(tmp_path: Path):
    path = tmp_path / "data.xlsx"
    path.write_bytes("单位名称,预算数,执行数\n高邑镇,100,95\n".encode("gbk"))
    message = refusal(path)
    assert "CSV" in message and "另存为" in message


def test_pdf_renamed(tmp_path: Path):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    assert "PDF" in refusal(path)


def test_html_export_renamed(tmp_path: Path):
    path = tmp_path / "export.xlsx"
    path.write_text("<html><body><table><tr><td>预算</td></tr></table></body></html>", encoding="utf-8")
    assert "网页" in refusal(path)


def test_plain_text_and_binary_garbage(tmp_path: Path):
    text = tmp_path / "note.xlsx"
    text.write_text("请查收附件", encoding="utf-8")
    assert "文本" in refusal(text)
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(bytes(range(256)) * 4)
    assert "无法识别" in refusal(junk)


# --------------------------------------------------------------------------------------------
# refused: truncated or corrupt zip
# --------------------------------------------------------------------------------------------


def test_truncated_copies(tmp_path: Path, xlsx: Path):
    data = xlsx.read_bytes()
    eocd = data.rfind(b"PK\x05\x06")
    cd_start = data.rfind(b"PK\x01\x02", 0, eocd)  # last directory header
    first_cd = data.find(b"PK\x01\x02")
    assert 0 < first_cd < cd_start < eocd
    cuts = [2, 10, 100, len(data) // 2, first_cd + 10, cd_start + 20, eocd, eocd + 10, len(data) - 1]
    for cut in cuts:
        path = tmp_path / f"cut{cut}.xlsx"
        path.write_bytes(data[:cut])
        message = refusal(path)
        assert "不完整" in message or "损坏" in message, (cut, message)


def test_zip64_end_records_accepted(tmp_path: Path, xlsx: Path):
    """Some writers emit zip64 end-of-directory records even for small files."""
    data = xlsx.read_bytes()
    eocd = data.rfind(b"PK\x05\x06")
    _sig, _d, _cd, n_disk, n_total, cd_size, cd_offset, _c = struct.unpack_from("<4s4H2LH", data, eocd)
    record64 = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, n_disk, n_total, cd_size, cd_offset)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, eocd, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    path = tmp_path / "zip64.xlsx"
    path.write_bytes(data[:eocd] + record64 + locator + end)
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
    assert inspect_workbook_file(path).kind == "xlsx"


def test_text_starting_with_pk_is_not_called_a_zip(tmp_path: Path):
    path = tmp_path / "pku.xlsx"
    path.write_text("PKU,北京大学\n", encoding="utf-8")
    assert "CSV" in refusal(path)


def test_crc_error_in_workbook_part(tmp_path: Path, xlsx: Path):
    data = bytearray(xlsx.read_bytes())
    with zipfile.ZipFile(xlsx) as zf:
        info = zf.getinfo("xl/workbook.xml")
    name_len, extra_len = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    data[start + info.compress_size // 2] ^= 0xFF
    path = tmp_path / "crc.xlsx"
    path.write_bytes(bytes(data))
    message = refusal(path)
    assert "xl/workbook.xml" in message and "损坏" in message


def test_corrupt_central_directory(tmp_path: Path, xlsx: Path):
    data = bytearray(xlsx.read_bytes())
    first_cd = data.find(b"PK\x01\x02")
    data[first_cd : first_cd + 4] = b"XXXX"
    path = tmp_path / "cd.xlsx"
    path.write_bytes(bytes(data))
    assert "损坏" in refusal(path)


# --------------------------------------------------------------------------------------------
# refused: OLE2 compound files
# --------------------------------------------------------------------------------------------


def test_cfb_builder_is_valid(tmp_path: Path):
    path = make_cfb(tmp_path / "a.xls", {"Workbook": b"\x09\x08\x10\x00", "\x05SummaryInformation": b"x"})
    assert olefile.isOleFile(str(path))
    with olefile.OleFileIO(str(path)) as ole:
        assert ole.exists("Workbook")
        assert ole.openstream("Workbook").read(4) == b"\x09\x08\x10\x00"


def test_legacy_xls(tmp_path: Path):
    path = make_cfb(tmp_path / "old.xlsx", {"Workbook": b"\x09\x08\x10\x00\x00\x06\x05\x00"})
    message = refusal(path)
    assert ".xls" in message and "另存为" in message


def test_legacy_xls_biff5_book_stream(tmp_path: Path):
    path = make_cfb(tmp_path / "old.xls", {"Book": b"\x09\x08"})
    assert "97-2003" in refusal(path)


def test_encrypted_workbook(tmp_path: Path):
    path = make_cfb(
        tmp_path / "secret.xlsx",
        {"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00", "EncryptedPackage": b"\x10" * 5000},
    )
    message = refusal(path)
    assert "密码" in message and "加密" in message


def test_other_ole_documents(tmp_path: Path):
    doc = make_cfb(tmp_path / "letter.xlsx", {"WordDocument": b"\xec\xa5"})
    assert "Word" in refusal(doc)
    other = make_cfb(tmp_path / "other.xlsx", {"Contents": b"x"})
    assert "复合文档" in refusal(other)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(safety.OLE2_MAGIC + b"\0" * 100)
    assert "损坏" in refusal(broken)


# --------------------------------------------------------------------------------------------
# refused: zip bombs, decided without decompressing
# --------------------------------------------------------------------------------------------


def test_zip_bomb_ratio(bomb: Path, no_decompression):
    message = refusal(bomb)
    assert "压缩炸弹" in message and "sheet2.xml" in message


def test_zip_bomb_total_size(bomb: Path, no_decompression):
    message = refusal(bomb, max_uncompressed=100 * 2**20)
    assert "总大小" in message and "100 MB" in message


def test_total_uncompressed_limit_on_normal_file(xlsx: Path, no_decompression):
    assert "总大小" in refusal(xlsx, max_uncompressed=1000)


def test_too_many_entries(tmp_path: Path, no_decompression):
    path = tmp_path / "many.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(MAX_ZIP_ENTRIES + 1):
            zf.writestr(f"x/{i}", b"")
    assert f"{MAX_ZIP_ENTRIES:,}" in refusal(path)


def test_directory_lying_about_entry_count(tmp_path: Path, no_decompression):
    """The EOCD claims 3 entries but the directory holds 10,001: counted, not trusted."""
    path = tmp_path / "liar.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(MAX_ZIP_ENTRIES + 1):
            zf.writestr(f"{i}", b"")
    data = bytearray(path.read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HH", data, eocd + 8, 3, 3)
    path.write_bytes(bytes(data))
    assert "超过" in refusal(path)


# --------------------------------------------------------------------------------------------
# refused: other Office files and wrong extensions
# --------------------------------------------------------------------------------------------


def test_docx_renamed(tmp_path: Path):
    import docx

    path = tmp_path / "notice.xlsx"
    docx.Document().save(str(path))
    message = refusal(path)
    assert "Word" in message and ".docx" in message


def test_pptx_renamed(tmp_path: Path):
    path = make_zip(
        tmp_path / "slides.xlsx",
        {"[Content_Types].xml": b"<Types/>", "ppt/presentation.xml": b"<p:presentation/>"},
    )
    assert "PowerPoint" in refusal(path)


def test_ods(tmp_path: Path):
    parts = {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}
    for name in ("sheet.ods", "sheet.xlsx"):
        assert ".ods" in refusal(make_zip(tmp_path / name, parts))


def test_xlsb(tmp_path: Path, xlsx: Path):
    real = make_zip(
        tmp_path / "binary.xlsb",
        {"[Content_Types].xml": b"<Types/>", "xl/workbook.bin": b"\x83\x01\x00"},
    )
    assert ".xlsb" in refusal(real)
    renamed = Path(shutil.copy(xlsx, tmp_path / "renamed.xlsb"))
    assert ".xlsb" in refusal(renamed)


def test_plain_zip_and_missing_workbook_part(tmp_path: Path, xlsx: Path):
    assert "[Content_Types].xml" in refusal(make_zip(tmp_path / "photos.xlsx", {"a.txt": b"hi"}))
    no_wb = rewrite_zip(xlsx, tmp_path / "nowb.xlsx", drop={"xl/workbook.xml"})
    assert "xl/workbook.xml" in refusal(no_wb)


def test_xlam_refused(tmp_path: Path, xlsx: Path):
    path = Path(shutil.copy(xlsx, tmp_path / "tools.xlam"))
    assert "加载项" in refusal(path)


@pytest.mark.parametrize("name", ["book.xls", "book.et", "book.zip", "book"])
def test_workbook_with_wrong_extension(tmp_path: Path, xlsx: Path, name: str):
    path = Path(shutil.copy(xlsx, tmp_path / name))
    message = refusal(path)
    assert "扩展名" in message and ".xlsx" in message


# --------------------------------------------------------------------------------------------
# safe_output_name
# --------------------------------------------------------------------------------------------


def test_chinese_unit_name_intact():
    assert safe_output_name("高邑县高邑镇人民政府") == "高邑县高邑镇人民政府"
    assert safe_output_name("某县财政局（本级）") == "某县财政局（本级）"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "etc_passwd"),
        ("..\\..\\x", "x"),
        ("/abs/path", "abs_path"),
        ("a/./b", "a_b"),
        ("..", "未命名单位"),
        ("   ", "未命名单位"),
        ("", "未命名单位"),
        ("...隐藏...", "隐藏"),
        ("a..b", "a.b"),
        ('财政局<>:"|?*', "财政局_______"),
        ("高邑镇\x00\x07\u202e人民政府", "高邑镇人民政府"),
        ("第一\t第二\n第三", "第一 第二 第三"),
        ("CON", "_CON"),
        ("con.txt", "_con.txt"),
        ("Lpt9", "_Lpt9"),
        ("COM1.report.docx", "_COM1.report.docx"),
        ("aux ", "_aux"),
        ("CONSOLE", "CONSOLE"),
    ],
)
def test_safe_output_name_cases(raw: str, expected: str):
    assert safe_output_name(raw) == expected


def test_safe_output_name_length_and_default():
    long = "高邑县" * 100
    out = safe_output_name(long)
    assert len(out) == 60 and out == long[:60]  # 180 UTF-8 bytes: room for a suffix and the temp marker
    assert len(safe_output_name(long, max_len=300).encode("utf-8")) <= 180
    assert safe_output_name("a" * 10 + ".", max_len=11) == "a" * 10
    assert safe_output_name("", default="单位") == "单位"
    assert safe_output_name("//", default="../..") == "未命名"
    assert safe_output_name("\ud800坏") == "_坏"
    with pytest.raises(ValueError):
        safe_output_name("x", max_len=0)


NASTY = st.text(alphabet=st.sampled_from(list('./\\ :*?<>|"\x00\t\n~$conCONauxLPT19¹.．高邑镇\u202e\u3000')))


@settings(max_examples=300, deadline=None)
@given(name=st.one_of(st.text(), NASTY), max_len=st.integers(min_value=1, max_value=300))
def test_safe_output_name_property(name: str, max_len: int):
    result = safe_output_name(name, max_len=max_len)
    assert result
    assert len(result) <= max_len
    assert len(result.encode("utf-8")) <= 255
    assert "/" not in result and "\\" not in result and ".." not in result
    assert result not in {".", ".."}
    assert result == result.strip(" .")
    assert not any(unicodedata.category(ch) in {"Cc", "Cf", "Cs"} for ch in result)
    assert result.split(".")[0].upper() not in filenames._WINDOWS_RESERVED
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp).resolve()
        target = root / result
        assert target.parent == root
        assert target.resolve().parent == root
        target.touch()  # really creatable
        assert [p.name for p in root.iterdir()] == [result]


# --------------------------------------------------------------------------------------------
# XML
# --------------------------------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"""


def xxe(target: Path) -> bytes:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "{target.as_uri()}">]>\n<r>&x;</r>'
    ).encode()


def _assert_chinese_refusal(data: bytes, **kwargs) -> str:
    with pytest.raises(UnreadableFileError) as excinfo:
        parse_xml(data, **kwargs)
    assert CJK.search(excinfo.value.message)
    return str(excinfo.value)


def test_parse_xml_valid():
    root = parse_xml(
        b'<?xml version="1.0" encoding="UTF-8"?><workbook><sheet name="\xe5\x9f\xba"/></workbook>'
    )
    assert root.tag == "workbook" and root[0].get("name") == "基"


def test_parse_xml_refuses_billion_laughs():
    message = _assert_chinese_refusal(BILLION_LAUGHS, path="book.xlsx", part="xl/sharedStrings.xml")
    assert "DOCTYPE" in message and "book.xlsx" in message and "xl/sharedStrings.xml" in message


def test_parse_xml_refuses_xxe(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    _assert_chinese_refusal(xxe(secret))


def test_parse_xml_refuses_utf16_doctype():
    data = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>'.encode("utf-16")
    _assert_chinese_refusal(data)
    no_bom = "<!DOCTYPE a><a/>".encode("utf-16-le")
    _assert_chinese_refusal(no_bom)


def test_parse_xml_malformed():
    message = _assert_chinese_refusal(b"<a><b></a>", part="xl/workbook.xml")
    assert "损坏" in message and "行" in message
    _assert_chinese_refusal(b"")


def test_safe_parser_itself_does_not_expand_or_fetch(tmp_path: Path):
    parser = safe_xml_parser()
    try:  # libxml2 >= 2.13 refuses outright; older versions leave the entities unexpanded
        root = etree.fromstring(BILLION_LAUGHS, parser)
    except etree.XMLSyntaxError:
        pass
    else:
        assert len(etree.tostring(root)) < 10_000
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET", encoding="utf-8")
    root = etree.fromstring(xxe(secret), safe_xml_parser())
    assert b"TOP-SECRET" not in etree.tostring(root)
    assert safe_xml_parser() is not parser
