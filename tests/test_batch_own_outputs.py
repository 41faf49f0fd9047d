"""xlperf's own outputs in an inbox are recognised by their content and skipped, once, with a note.

A previous batch's output folder copied without its hidden ``.xlperf-batch`` folder, a clerk's
``xlperf build`` output folder (its ``.xlperf-outputs.json`` ledger), and 汇总.xlsx / 自评表 / reports
lying loose are not submissions; the units' real workbooks are their sources, each counted once.
A workbook without the contract's names and tables is refused by ``xlperf build`` (exit 2).
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import lxml.html
import pytest
from openpyxl import load_workbook

from tools.generate import generate_workbooks
from xlperf.batch import EXIT_ERRORS, inbox, run_batch
from xlperf.batch.inbox import written_by_xlperf
from xlperf.batch.run import BATCH_DIR, SUMMARY_XLSX
from xlperf.cli import main

FORMATS = ("html", "xlsx")


def _rows(path: Path) -> list[dict[str, object]]:
    rows = list(load_workbook(path)["汇总"].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


@pytest.fixture(scope="module")
def previous(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A batch output of two units (汇总.xlsx, unit folders with workbook, report, 自评表)."""
    root = tmp_path_factory.mktemp("own")
    units = generate_workbooks(root / "units", 2)
    result = run_batch(root / "units", root / "out", jobs=1, formats=FORMATS, stream=io.StringIO())
    assert all(r.ok for r in result.records)
    return root / "out", units


def test_an_old_batch_output_without_its_hidden_folder_is_skipped(
    previous: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    out, units = previous
    box = tmp_path / "收件箱"
    for unit in units:
        (box / unit.parent.name).mkdir(parents=True)
        shutil.copy(unit, box / unit.parent.name / unit.name)
    shutil.copytree(out, box / "去年汇总", ignore=shutil.ignore_patterns(BATCH_DIR))
    one_unit = next(p for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    shutil.copytree(one_unit, box / "去年的一个单位")  # one unit's folder of an old batch, alone
    shutil.copy(out / SUMMARY_XLSX, box / SUMMARY_XLSX)  # loose: 汇总.xlsx …
    review = next(out.glob("*/*自评表.xlsx"))
    shutil.copy(review, box / review.name)  # … and a 自评表, each known by its content
    shutil.copy(review, box / "改了名字.xlsx")

    log = io.StringIO()
    result = run_batch(box, tmp_path / "输出", jobs=1, formats=FORMATS, stream=log)
    assert sorted(r.source for r in result.records) == sorted(
        f"{u.parent.name}/{u.name}" for u in units
    )  # no unit 汇总, no old built workbook counted again
    assert all(r.ok for r in result.records) and result.exit_code == EXIT_ERRORS
    assert sorted(p.name for p in (tmp_path / "输出").iterdir() if not p.name.startswith(".")) == sorted(
        [SUMMARY_XLSX, "汇总.html", *(r.unit for r in result.records)]
    )  # no folder "（2）"
    lines = result.lines()
    assert len([line for line in lines if "去年汇总" in line and "去年的一个单位" in line]) == 1
    loose = [line for line in lines if "xlperf 生成的文件" in line]
    assert len(loose) == 1 and "3 个" in loose[0] and "改了名字.xlsx" in loose[0]
    assert {row["来源文件"] for row in _rows(tmp_path / "输出" / SUMMARY_XLSX)} == {
        r.source for r in result.records
    }


def test_a_build_output_folder_in_the_inbox_is_skipped(
    previous: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    _, units = previous
    box = tmp_path / "收件箱"
    box.mkdir()
    unit = box / "高邑镇2024.xlsx"
    shutil.copy(units[0], unit)
    assert main(["build", str(unit), "-o", str(box / "上次输出"), "--format", "docx,html,xlsx"]) in (0, 1)
    made = sorted(p.name for p in (box / "上次输出").iterdir())
    assert ".xlperf-outputs.json" in made and any(n.endswith(".docx") for n in made)
    assert written_by_xlperf(next((box / "上次输出").glob("*.docx")))
    assert written_by_xlperf(next((box / "上次输出").glob("*.html")))

    result = run_batch(box, tmp_path / "输出", jobs=1, formats=FORMATS, stream=io.StringIO())
    assert [(r.source, r.status) for r in result.records] == [("高邑镇2024.xlsx", "ok")]
    assert result.exit_code == EXIT_ERRORS  # not 2: nothing failed
    assert len([line for line in result.lines() if "上次输出" in line]) == 1


def test_build_refuses_a_workbook_without_the_contract(
    previous: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    out, _ = previous
    for path in (out / SUMMARY_XLSX, next(out.glob("*/*自评表.xlsx"))):
        target = tmp_path / path.name
        shutil.copy(path, target)
        run = subprocess.run(
            [sys.executable, "-m", "xlperf.cli", "build", str(target), "-o", str(tmp_path / "hz")],
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 2, run.stderr
        assert "这不是绩效自评工作簿" in run.stderr and "xlperf_layout_version" in run.stderr
        assert "Traceback" not in run.stderr
        assert not (tmp_path / "hz").exists()


def test_a_closed_stdout_pipe_ends_quietly(previous: tuple[Path, list[Path]]) -> None:
    _, units = previous
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; from xlperf.cli import main; sys.exit(main(sys.argv[1:]))"]
        + ["check", str(units[0])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # as `| head` does once it has its lines
    stderr = child.stderr.read().decode("utf-8")
    child.wait(timeout=120)
    assert "内部错误" not in stderr and "BrokenPipe" not in stderr and "Traceback" not in stderr
    assert child.returncode == 141


def test_a_file_that_is_not_a_workbook_names_no_unit(
    previous: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    _, units = previous
    box = tmp_path / "收件箱"
    box.mkdir()
    shutil.copy(units[0], box / "高邑镇.xlsx")
    for name in ("说明.pdf", "数据.csv", "压缩.rar"):
        (box / name).write_bytes(b"not a workbook")
    out = tmp_path / "输出"
    result = run_batch(box, out, jobs=1, formats=("html",), stream=io.StringIO())
    rows = {row["来源文件"]: row for row in _rows(out / SUMMARY_XLSX)}
    assert {key: rows[key]["单位"] for key in ("说明.pdf", "数据.csv", "压缩.rar")} == dict.fromkeys(
        ("说明.pdf", "数据.csv", "压缩.rar"), "—"
    )
    assert rows["高邑镇.xlsx"]["单位"] == next(r.unit for r in result.records if r.ok)
    findings = list(load_workbook(out / SUMMARY_XLSX)["问题明细"].iter_rows(values_only=True))
    assert {(row[0], row[1]) for row in findings[1:] if row[2] == "无法处理"} == {
        ("—", "说明.pdf"),
        ("—", "数据.csv"),
        ("—", "压缩.rar"),
    }
    page = lxml.html.fromstring((out / "汇总.html").read_text(encoding="utf-8"))
    table = page.xpath("//table[@id='unit-table']")[0]
    headers = [th.text_content() for th in table.xpath("thead/tr/th")]
    cells = {
        tr.xpath("td")[headers.index("来源文件")].text_content(): tr.xpath("td")[1].text_content()
        for tr in table.xpath("tbody/tr")
    }
    assert all(cells[key].startswith("—") for key in ("说明.pdf", "数据.csv", "压缩.rar"))


def test_a_unit_workbook_is_never_taken_for_xlperf_output(
    previous: tuple[Path, list[Path]], tmp_path: Path
) -> None:
    out, units = previous
    marked = tmp_path / "单位.xlsx"
    with zipfile.ZipFile(units[0]) as src, zipfile.ZipFile(marked, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/app.xml":  # as if xlperf had written the whole file
                data = b'<Properties xmlns="x"><Application>xlperf</Application></Properties>'
            dst.writestr(info, data)
    assert not written_by_xlperf(marked)  # it holds the contract's layout-version name
    assert written_by_xlperf(out / SUMMARY_XLSX) and written_by_xlperf(next(out.glob("*/*自评表.xlsx")))
    assert not written_by_xlperf(units[0])


@pytest.mark.parametrize("limit", [inbox.MAX_MEMBER_BYTES, 1024])  # read once; larger than a workbook
def test_an_inbox_file_is_read_once_for_its_digest_and_its_mark(
    previous: tuple[Path, list[Path]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    out, units = previous
    monkeypatch.setattr(inbox, "MAX_MEMBER_BYTES", limit)
    box = tmp_path / "收件箱"
    box.mkdir()
    shutil.copy(units[0], box / "单位.xlsx")
    shutil.copy(out / SUMMARY_XLSX, box / "上次汇总.xlsx")
    for path in (box / "单位.xlsx", box / "上次汇总.xlsx"):
        content = path.read_bytes()
        assert inbox._fingerprint(path) == (hashlib.sha256(content).hexdigest(), written_by_xlperf(path))
        assert written_by_xlperf(path, content) == written_by_xlperf(path)
    found = inbox.collect(box, tmp_path / "work")
    assert [s.key for s in found.sources] == ["单位.xlsx"] and found.workbooks == 1
    assert found.sources[0].digest == hashlib.sha256(units[0].read_bytes()).hexdigest()
    assert any("上次汇总.xlsx" in note for note in found.notes)  # xlperf's own summary, left out
