"""Bounded memory and time per workbook (每个工作簿的内存与时间上限), issue 14.

Each hostile file (tests/hostile_files.py: a million tiny rows, three such sheets, 2.5 million
defined names, millions of styles, relationships, content types or shared strings, merged ranges
covering 50 million cells) goes through ``xlperf build`` and ``xlperf upgrade`` in a child process,
measured as a user runs it (tests/test_bad_input_files.py's ``measured``): it is processed or
refused with a Chinese reason naming the user's file, within 500 MB.  Before the caps these took
up to 45 s and 4 GB (bench/bench_hostile.py).  The time bound here is only a guard against a hang.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from helpers_bad_input import assert_clean_exit
from hostile_files import HOSTILE, measured
from xlperf.errors import UnreadableFileError
from xlperf.io.safety import MAX_TOTAL_ELEMENTS, PART_LIMITS, inspect_workbook_file, part_limit

RSS_MB = 500
GUARD_SECONDS = 20


def _check(result: dict[str, object], book: Path) -> None:
    import subprocess

    assert result["code"] != "timeout", result
    completed = subprocess.CompletedProcess([], result["code"], result["stdout"], result["stderr"])
    assert_clean_exit(completed, (0, 1, 2))  # type: ignore[arg-type]
    assert float(result["rss_mb"]) < RSS_MB, result  # type: ignore[arg-type]
    assert float(result["seconds"]) < GUARD_SECONDS, result  # type: ignore[arg-type]
    if result["code"] == 2:
        said = str(result["stderr"])
        assert f"文件「{book}」" in said and "超过" in said, said
        assert "xlperf-" not in said.replace(str(book), ""), said  # no temporary path


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_workbooks_are_built_or_refused_within_500_mb(tmp_path: Path, name: str) -> None:
    book = HOSTILE[name](tmp_path / "报送.xlsx")
    assert book.stat().st_size < 50 * 2**20
    _check(measured("build", str(book), "-o", str(tmp_path / "out"), "--no-report", limit_mb=2048), book)


@pytest.mark.parametrize(
    "name",
    ["million rows", "2.5 M defined names", "50 M merged cells", "at the limits", "at the upgrade limit"],
)
def test_hostile_workbooks_are_upgraded_or_refused_within_500_mb(tmp_path: Path, name: str) -> None:
    book = HOSTILE[name](tmp_path / "报送.xlsx")
    _check(measured("upgrade", str(book), "-o", str(tmp_path / "新.xlsx"), limit_mb=2048), book)


def test_every_part_a_reader_parses_has_a_limit() -> None:
    for part in (
        "[Content_Types].xml",
        "_rels/.rels",
        "xl/workbook.xml",
        "xl/_rels/workbook.xml.rels",
        "xl/styles.xml",
        "xl/sharedStrings.xml",
        "xl/worksheets/sheet1.xml",
        "xl/worksheets/_rels/sheet1.xml.rels",
        "xl/tables/table1.xml",
        "xl/drawings/drawing1.xml",
        "xl/comments1.xml",
        "word/document.xml",
    ):
        assert part_limit(part) is not None, part
    assert part_limit("xl/media/image1.png") is None and part_limit("xl/vbaProject.bin") is None
    for _, limit in PART_LIMITS:
        assert limit.max_elements <= MAX_TOTAL_ELEMENTS and limit.what


def test_a_part_over_its_element_limit_is_refused_naming_it(tmp_path: Path) -> None:
    from hostile_files import defined_names

    book = defined_names(tmp_path / "名称.xlsx", 60_000)  # 3 MB: under the size limit, over the count
    with pytest.raises(UnreadableFileError) as refused:
        inspect_workbook_file(book)
    assert refused.value.path == str(book)
    assert "xl/workbook.xml" in refused.value.message and "50,000" in refused.value.message


def test_a_file_over_the_total_element_limit_is_refused(tmp_path: Path) -> None:
    """Many parts each under its own limit, together over MAX_TOTAL_ELEMENTS."""
    from hostile_files import example_master, with_parts

    per_sheet = PART_LIMITS[0][1].max_elements - 1000
    assert 5 * per_sheet > MAX_TOTAL_ELEMENTS
    with zipfile.ZipFile(example_master()) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]

    def rows(first: int):
        def stream(data: bytes):
            at = data.index(b"</sheetData>")
            yield data[:at]
            for start in range(0, per_sheet, 10_000):
                yield b"".join(
                    b'<row r="%d"/>' % (first + i) for i in range(start, min(start + 10_000, per_sheet))
                )
            yield data[at:]

        return stream

    book = with_parts(example_master(), tmp_path / "多表.xlsx", {s: rows(10_000) for s in sheets[:5]})
    with pytest.raises(UnreadableFileError, match=f"超过 {MAX_TOTAL_ELEMENTS:,} 个"):
        inspect_workbook_file(book)


def test_broken_names_beyond_twenty_are_counted_in_one_line(tmp_path: Path) -> None:
    """40,000 names pointing at a missing sheet made 40,000 findings and 160,000 written cells."""
    from hostile_files import example_master, with_parts
    from xlperf.workbook.read import MAX_NAME_PROBLEMS, read_workbook

    def names(data: bytes):
        at = data.index(b"</definedNames>")
        yield data[:at] + b"".join(
            b"<definedName name=\"n%d\">'gone'!$A$1</definedName>" % i for i in range(25)
        )
        yield data[at:]

    book = with_parts(example_master(), tmp_path / "名称.xlsx", {"xl/workbook.xml": names})
    problems = [message for message, _ in read_workbook(book).locator.problems if "名称" in message]
    assert len(problems) == MAX_NAME_PROBLEMS + 1
    assert problems[0] == "名称 n0 指向的工作表「gone」不存在"
    assert problems[-1].startswith("另有 5 个名称")


def test_a_word_template_with_a_part_over_its_limit_is_refused_naming_it(tmp_path: Path) -> None:
    from hostile_files import with_parts
    from xlperf.report.docx_report import word_template
    from xlperf.report.templates import TEMPLATE_FILES, ReportError, bundled_templates

    name = TEMPLATE_FILES["docx"]
    bundled = tmp_path / "bundled.docx"
    bundled.write_bytes((bundled_templates() / name).read_bytes())
    folder = tmp_path / "局模板"
    folder.mkdir()

    def paragraphs(data: bytes):
        at = data.index(b"</w:body>")
        yield data[:at]
        for start in range(0, 110_000, 10_000):  # 330,000 elements (over 300,000), about 4 MB
            yield b"".join(b"<w:p><w:r><w:t>%d</w:t></w:r></w:p>" % i for i in range(start, start + 10_000))
        yield data[at:]

    with_parts(bundled, folder / name, {"word/document.xml": paragraphs})
    with pytest.raises(ReportError) as refused:
        word_template(folder)
    message = str(refused.value)
    assert f"报告模板「{name}」" in message and "word/document.xml" in message and "超过允许的" in message


def test_the_limits_page_shows_the_limits_the_code_enforces() -> None:
    from xlperf.excel import guard, server
    from xlperf.io import safety
    from xlperf.workbook import upgrade

    page = (Path(__file__).resolve().parents[1] / "docs" / "limits.md").read_text(encoding="utf-8")
    for _, limit in safety.PART_LIMITS:
        row = next((line for line in page.splitlines() if line.startswith(f"| {limit.what}")), None)
        assert row is not None, limit.what
        assert f"| {limit.max_bytes // 2**20} MB | {limit.max_elements:,} |" in row, (row, limit)
    numbers = (
        f"{safety.MAX_FILE_BYTES // 2**20} MB",
        f"{safety.MAX_ZIP_ENTRIES:,} 个",
        f"{safety.MAX_TOTAL_ELEMENTS:,} 个",
        f"openpyxl 读取整个工作簿，每个元素慢约十倍） | {safety.MAX_UPGRADE_ELEMENTS:,} 个",
        f"{safety.MAX_MERGED_CELLS:,} 个",
        f"{guard.MAX_BODY_BYTES // 2**20} MB",
        f"{guard.MAX_ARGUMENT_CELLS:,} 个",
        f"{guard.CALL_SECONDS:.0f} 秒",
        f"{server.REPORT_DAYS} 天",
        f"{server.MAX_REPORTS:,} 份",
        f"{server.MAX_REPORT_BYTES // 2**20} MB",
        f"最多 {upgrade.MAX_OTHER_CELLS:,} 个",
    )
    for number in numbers:
        assert number in page, number


def test_a_batch_with_hostile_workbooks_stays_bounded_per_worker(tmp_path: Path) -> None:
    """Each worker refuses its hostile unit with the reason; the good unit is still done, all within 500 MB."""
    import shutil

    from hostile_files import example_master

    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    shutil.copyfile(example_master(), inbox / "高邑镇.xlsx")
    for index, name in enumerate(("million rows", "2.5 M defined names", "50 M merged cells")):
        HOSTILE[name](inbox / f"单位{index}.xlsx")
    out = tmp_path / "输出"
    result = measured("batch", str(inbox), "-o", str(out), "--jobs", "2", "--format", "html", limit_mb=4096)
    assert result["code"] in (1, 2), result
    assert float(result["rss_mb"]) < RSS_MB, result  # type: ignore[arg-type]
    said = str(result["stdout"]) + str(result["stderr"])
    assert "内部错误" not in said, said
    written = [p.name for p in out.rglob("*")]
    assert any("高邑" in name for name in written), written


def test_the_reader_streams_a_sheet_and_keeps_only_filled_cells(tmp_path: Path) -> None:
    """read.py on its own (past the caps): a million empty rows change nothing read and are not kept."""
    import subprocess
    import sys

    from hostile_files import example_master, million_rows

    book = million_rows(tmp_path / "百万行.xlsx")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from xlperf.workbook import decoder, read\n"
        "book = decoder.open_book(Path(sys.argv[1]))\n"
        "sheet = book.sheet('基本信息')\n"
        "inputs = read.read_workbook(Path(sys.argv[1]))\n"
        "same = inputs.data == read.read_workbook(Path(sys.argv[2])).data\n"
        # VmHWM, not ru_maxrss: Linux carries the forking parent's peak over exec into ru_maxrss
        "peak = next(l for l in open('/proc/self/status') if l.startswith('VmHWM:')).split()[1]\n"
        "print(len(sheet.cells), same, int(peak) // 1024)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(book), str(example_master())],
        capture_output=True,
        text=True,
        check=True,
    )
    cells, same, rss_mb = run.stdout.split()
    assert same == "True" and int(cells) < 1000, run.stdout
    assert int(rss_mb) < 200, run.stdout  # the tree of a million rows took 416 MB


def _old_layout_with_stray_cells(dst: Path, count: int) -> Path:
    """The example without its layout version (so upgrade rebuilds it) and ``count`` cells typed below 基本信息."""
    import re

    from hostile_files import _cells, _inserted, example_master, sheet_parts, with_parts
    from xlperf.workbook import contract as c

    def no_version(data: bytes):
        yield re.sub(rb'<definedName name="%s"[^>]*>[^<]*</definedName>' % c.VERSION_NAME.encode(), b"", data)

    src = example_master()
    part = sheet_parts(src)["基本信息"]
    return with_parts(
        src, dst, {"xl/workbook.xml": no_version, part: _inserted(b"</sheetData>", _cells(10_000), count)}
    )


def test_upgrade_keeps_stray_cells_within_what_build_can_read_again(tmp_path: Path) -> None:
    """60,000 stray cells would make 「升级前其他内容」 600,000 elements: refused up front; 19,000 are kept,
    and the upgraded workbook builds."""
    from xlperf.workbook.upgrade import MAX_OTHER_CELLS

    many = _old_layout_with_stray_cells(tmp_path / "多.xlsx", 60_000)
    result = measured("upgrade", str(many), "-o", str(tmp_path / "多-新.xlsx"), limit_mb=2048)
    _check(result, many)
    assert result["code"] == 2 and f"超过可保留的 {MAX_OTHER_CELLS:,} 个" in str(result["stderr"]), result
    assert not (tmp_path / "多-新.xlsx").exists()
    some = _old_layout_with_stray_cells(tmp_path / "少.xlsx", MAX_OTHER_CELLS - 1000)
    upgraded = tmp_path / "少-新.xlsx"
    result = measured("upgrade", str(some), "-o", str(upgraded), limit_mb=2048)
    _check(result, some)
    assert result["code"] in (0, 1) and upgraded.exists(), result
    built = measured("build", str(upgraded), "-o", str(tmp_path / "out"), "--no-report", limit_mb=2048)
    _check(built, upgraded)
    assert built["code"] in (0, 1), built
