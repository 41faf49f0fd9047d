"""The batch's own outputs (批量输出): written without fsync, trusted on the next run only while whole.

A unit is skipped when its workbook is unchanged and every output file is either as the batch wrote
it — the recorded size, a real end — or was changed by someone after the run (a reviewer's edits are
kept).  A file left short or zero-filled by a power cut, or deleted, makes the unit be rebuilt into
the same folder, and the rebuilt file opens again.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import docx
import pytest

from tools.generate import generate_workbooks
from xlperf.batch import run_batch
from xlperf.batch.run import BATCH_DIR
from xlperf.errors import XlperfError

FORMATS = ("docx", "html", "xlsx")


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("outputs")
    generate_workbooks(root / "收件箱", 3)
    out = root / "输出"
    first = run_batch(root / "收件箱", out, jobs=1, formats=FORMATS, stream=io.StringIO())
    assert first.built == 3
    return root / "收件箱", out


@pytest.fixture
def batch(original: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the finished batch, file times kept, for one test to damage."""
    out = tmp_path / "输出"
    shutil.copytree(original[1], out)
    return original[0], out


def records(out: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / BATCH_DIR).rglob("*.json"))]


def folders(out: Path) -> list[str]:
    return sorted(p.name for p in out.iterdir() if p.is_dir() and p.name != BATCH_DIR)


def damage(path: Path, data: bytes) -> None:
    """Replace the file's bytes but keep its time, as a power cut leaves a file written earlier."""
    times = path.stat()
    path.write_bytes(data)
    os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))


def rerun(box: Path, out: Path) -> tuple[int, int]:
    again = run_batch(box, out, jobs=1, formats=FORMATS, stream=io.StringIO())
    return again.built, again.skipped


def test_every_output_size_is_recorded(original: tuple[Path, Path]) -> None:
    _, out = original
    for record in records(out):
        assert set(record["sizes"]) == set(record["files"]) == {"workbook", "findings", *FORMATS}
        for kind, name in record["files"].items():
            assert (out / record["folder"] / name).stat().st_size == record["sizes"][kind] > 0


@pytest.mark.parametrize("kind", ["docx", "html", "findings"])
@pytest.mark.parametrize("how", ["short", "zero-filled", "deleted"])
def test_a_damaged_output_makes_its_unit_rebuilt(batch: tuple[Path, Path], kind: str, how: str) -> None:
    box, out = batch
    before = folders(out)
    record = records(out)[0]
    path = out / record["folder"] / record["files"][kind]
    size = path.stat().st_size
    if how == "deleted":
        path.unlink()
    else:
        kept = path.read_bytes()[: size // 2]
        damage(path, kept if how == "short" else kept + bytes(size - len(kept)))
    assert rerun(box, out) == (1, 2)
    assert folders(out) == before  # rebuilt into its own folder
    rebuilt = next(r for r in records(out) if r["key"] == record["key"])
    path = out / rebuilt["folder"] / rebuilt["files"][kind]
    assert path.stat().st_size == rebuilt["sizes"][kind]
    if kind == "docx":
        assert any(p.text for p in docx.Document(str(path)).paragraphs)


def test_outputs_edited_after_the_run_are_kept(batch: tuple[Path, Path]) -> None:
    box, out = batch
    record = records(out)[0]
    report = out / record["folder"] / record["files"]["docx"]
    edited = docx.Document(str(report))
    edited.add_paragraph("审核意见：已复核。")
    edited.save(str(report))
    note = out / record["folder"] / "我的备注.txt"
    note.write_text("复核人：张三", encoding="utf-8")
    assert rerun(box, out) == (0, 3)
    assert docx.Document(str(report)).paragraphs[-1].text == "审核意见：已复核。"
    assert note.read_text(encoding="utf-8") == "复核人：张三"


def test_records_from_before_sizes_were_kept_rebuild_into_the_same_folders(batch: tuple[Path, Path]) -> None:
    box, out = batch
    before = folders(out)
    for path in sorted((out / BATCH_DIR).rglob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8"))
        del payload["sizes"]
        path.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
    assert rerun(box, out) == (3, 0)
    assert folders(out) == before and all(r["sizes"] for r in records(out))


def test_a_template_folder_is_used_for_every_unit_and_its_changes_redo_them(tmp_path: Path) -> None:
    from xlperf.cli import main

    generate_workbooks(tmp_path / "收件箱", 2)
    mine = tmp_path / "模板"
    mine.mkdir()
    (mine / "report.html.j2").write_text("<p>本局模板：{{ unit }}，{{ total }} 分</p>", encoding="utf-8")
    args = ["batch", str(tmp_path / "收件箱"), "-o", str(tmp_path / "输出"), "--format", "html"]
    assert main([*args, "--templates", str(mine), "--jobs", "1"]) == 1  # the units have error findings
    pages = sorted((tmp_path / "输出").glob("*/*.html"))
    assert len(pages) == 2 and all(p.read_text(encoding="utf-8").startswith("<p>本局模板：") for p in pages)
    again = run_batch(tmp_path / "收件箱", tmp_path / "输出", formats=("html",), templates=mine, jobs=1)
    assert (again.built, again.skipped) == (0, 2)
    (mine / "report.html.j2").write_text("<p>第二版：{{ unit }}</p>", encoding="utf-8")
    third = run_batch(tmp_path / "收件箱", tmp_path / "输出", formats=("html",), templates=mine, jobs=1)
    assert (third.built, third.skipped) == (2, 0)
    assert all(
        p.read_text(encoding="utf-8").startswith("<p>第二版：") for p in (tmp_path / "输出").glob("*/*.html")
    )


def test_a_broken_template_or_format_stops_the_batch_before_it_starts(tmp_path: Path) -> None:
    from xlperf.report import ReportError

    generate_workbooks(tmp_path / "收件箱", 1)
    mine = tmp_path / "模板"
    mine.mkdir()
    (mine / "report.html.j2").write_text("<p>{% if total %}未闭合</p>", encoding="utf-8")
    with pytest.raises(ReportError, match="报告模板「report.html.j2」.*语法错误"):
        run_batch(tmp_path / "收件箱", tmp_path / "输出", formats=("html",), templates=mine)
    with pytest.raises(ReportError, match="自定义模板目录不存在"):
        run_batch(tmp_path / "收件箱", tmp_path / "输出", templates=tmp_path / "没有")
    with pytest.raises(XlperfError, match="未知的报告格式「pdf」"):
        run_batch(tmp_path / "收件箱", tmp_path / "输出", formats=("pdf",))
    assert not (tmp_path / "输出").exists()


def _change_workbook(box: Path) -> Path:
    """Change one source workbook (its stated total) so that its unit is rebuilt."""
    from xlperf.io.xlsxpatch import patch_workbook
    from xlperf.workbook.read import read_workbook

    source = sorted(box.rglob("*.xlsx"))[0]
    patch_workbook(source, source, {read_workbook(source).locator.names["claimed_total"]: 77.5})
    return source


def test_a_rebuilt_unit_with_a_reviewers_changes_is_moved_aside_not_deleted(batch: tuple[Path, Path]) -> None:
    from xlperf.batch.run import KEPT_DIR

    box, out = batch
    source = _change_workbook(box)
    record = next(r for r in records(out) if r["source"].endswith(source.name))
    folder = out / record["folder"]
    (folder / "审核意见.txt").write_text("第 3 页数字待核实", encoding="utf-8")
    again = run_batch(box, out, jobs=1, formats=FORMATS, stream=io.StringIO())
    assert (again.built, again.skipped) == (1, 2) and len(again.kept) == 1
    assert again.kept[0].parent == out / KEPT_DIR and again.kept[0].name.startswith(record["folder"] + "（")
    assert (again.kept[0] / "审核意见.txt").read_text(encoding="utf-8") == "第 3 页数字待核实"
    assert not (folder / "审核意见.txt").exists() and (folder / record["files"]["docx"]).is_file()
    assert any(KEPT_DIR in line for line in again.lines())
    assert KEPT_DIR not in folders(out) or (out / KEPT_DIR).is_dir()
    names = {r["folder"] for r in records(out)}
    assert KEPT_DIR not in names and len(names) == 3


def test_a_rebuilt_unit_without_changes_replaces_its_folder(batch: tuple[Path, Path]) -> None:
    from xlperf.batch.run import KEPT_DIR

    box, out = batch
    before = folders(out)
    _change_workbook(box)
    again = run_batch(box, out, jobs=1, formats=FORMATS, stream=io.StringIO())
    assert (again.built, again.skipped, again.kept) == (1, 2, [])
    assert not (out / KEPT_DIR).exists() and folders(out) == before
