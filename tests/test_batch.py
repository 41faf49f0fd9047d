"""The bureau's batch (批量处理): a real inbox of good, bad and duplicate workbooks and a .zip, run end to end.

The summary files are re-opened (汇总.xlsx with openpyxl, 汇总.html with lxml) and every figure in
them is checked against an independent evaluation of the source file.  Interrupting a run — through
the ``stop_after`` hook and by killing the process — and resuming gives the same summary as one
uninterrupted run; unchanged units are skipped on the next run and ``force`` redoes them.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from urllib.parse import quote, unquote

import docx
import lxml.html
import pytest
from openpyxl import load_workbook

from helpers_batch import summary_contents, unit_folders
from helpers_files import make_cfb
from tools.generate import generate_workbooks
from xlperf.batch import EXIT_ERRORS, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, run_batch
from xlperf.batch.manifest import final_names
from xlperf.batch.run import BATCH_DIR, SUMMARY_HTML, SUMMARY_XLSX
from xlperf.batch.unit import FINDINGS_FILE, UnitRecord
from xlperf.core.findings import CHECK_FAMILIES, count_by_severity
from xlperf.core.metrics import METRICS
from xlperf.examples import example_data
from xlperf.io.xlsxpatch import patch_workbook
from xlperf.workbook import contract as c
from xlperf.workbook.build import evaluate_workbook
from xlperf.workbook.create import create_workbook
from xlperf.workbook.read import read_workbook

ROOT = Path(__file__).resolve().parents[1]
FORMATS = ("html",)  # Word reports are exercised once below; HTML keeps the other runs quick
EXAMPLE_UNIT = "高邑县高邑镇人民政府"
HOSTILE_UNIT = "<b>“某某”</b>&局"
BAD = {
    "坏文件/表格.xlsx": "CSV",
    "坏文件/截断.xlsx": "损坏",
    "坏文件/旧格式.xls": ".xls",
    "坏文件/加密.xlsx": "密码",
    "各单位.zip/../逃逸.xlsx": "压缩包以外",
    "各单位.zip/嵌套.zip": "嵌套",
    "各单位.zip/说明.txt": "不是工作簿",
    "说明.txt": "不是工作簿",
}
FILES = 18  # every file in the inbox but the Office lock file
COPY = "副本/高邑镇2024.xlsx"  # identical to 副本/高邑镇2024 - 副本.xlsx


def _set_field(path: Path, key: str, value: object, dst: Path | None = None) -> None:
    where = read_workbook(path).locator.names[key]
    patch_workbook(path, dst or path, {where: value})


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    """An inbox like a bureau's, and where each good unit's original file is (for independent checks)."""
    root = tmp_path_factory.mktemp("batch")
    box = root / "收件箱"
    generated = generate_workbooks(root / "generated", 7)
    originals: dict[str, Path] = {}
    for path in generated[:5]:
        target = box / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, target)
        originals[f"{path.parent.name}/{path.name}"] = path
    _set_field(box / generated[4].parent.name / generated[4].name, "unit_name", HOSTILE_UNIT)
    originals[f"{generated[4].parent.name}/{generated[4].name}"] = (
        box / generated[4].parent.name / generated[4].name
    )
    example = root / "高邑镇2024.xlsx"
    create_workbook(example_data(), example)
    (box / "副本").mkdir()
    for name in ("高邑镇2024.xlsx", "高邑镇2024 - 副本.xlsx"):  # the same workbook sent twice
        shutil.copy(example, box / "副本" / name)
        originals[f"副本/{name}"] = example
    bad = box / "坏文件"
    bad.mkdir()
    (bad / "表格.xlsx").write_text("单位,总分\n高邑镇,80\n", encoding="utf-8")
    (bad / "截断.xlsx").write_bytes(example.read_bytes()[:9000])
    make_cfb(bad / "旧格式.xls", {"Workbook": b"\x09\x08" + b"\0" * 200})
    make_cfb(
        bad / "加密.xlsx",
        {"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00", "EncryptedPackage": b"\x10" * 5000},
    )
    wb = load_workbook(example)
    del wb[c.S_GOALS]
    wb.save(bad / "删了工作表.xlsx")
    originals["坏文件/删了工作表.xlsx"] = bad / "删了工作表.xlsx"
    with zipfile.ZipFile(box / "各单位.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for path, name in ((generated[5], "财政局.xlsx"), (generated[6], "子目录/教育局.xlsx")):
            zf.write(path, name)
            originals[f"各单位.zip/{name}"] = path
        zf.writestr("../逃逸.xlsx", generated[5].read_bytes())
        zf.writestr("嵌套.zip", b"PK\x05\x06" + b"\0" * 18)
        zf.writestr("说明.txt", "各单位报送材料")
    (box / "~$高邑镇2024.xlsx").write_bytes(b"\x05admin" + b"\0" * 160)
    (box / "说明.txt").write_text("收件箱", encoding="utf-8")
    return box, originals


@pytest.fixture(scope="module")
def baseline(inbox: tuple[Path, dict[str, Path]], tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("baseline") / "输出"
    log = io.StringIO()
    result = run_batch(inbox[0], out, jobs=2, formats=FORMATS, stream=log)
    return result, out, log.getvalue()


def sheet_rows(path: Path, sheet: str) -> list[dict[str, object]]:
    ws = load_workbook(path)[sheet]
    rows = list(ws.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


# ------------------------------------------------------------------------------------------
# One run over a mixed inbox
# ------------------------------------------------------------------------------------------


def test_bad_files_are_listed_with_the_reason_and_the_exit_code_says_so(baseline) -> None:
    result, out, log = baseline
    assert result.exit_code == EXIT_FAILED and not result.interrupted
    failed = {r.key: r.reason for r in result.failed}
    assert set(failed) == set(BAD)
    for key, word in BAD.items():
        assert word in failed[key], (key, failed[key])
    assert len(result.records) == FILES and result.built == FILES
    assert any("锁文件" in note for note in result.notes)
    assert log.count("\n") >= FILES and f"[{FILES}/{FILES}]" in log.replace(" ", "")
    assert any("无法处理" in line and "加密.xlsx" in line for line in result.lines())
    # Nothing was extracted outside the temporary folder.
    assert not list(out.parent.parent.rglob("逃逸.xlsx"))


def test_summary_workbook_has_one_checked_row_per_unit(baseline, inbox) -> None:
    result, out, _ = baseline
    rows = {row["来源文件"]: row for row in sheet_rows(out / SUMMARY_XLSX, "汇总")}
    assert len(rows) == FILES
    labels = {r.key: r.source for r in result.records}
    for key, original in inbox[1].items():
        if key == COPY:
            continue
        row = rows[labels[key]]
        _, ev, findings, _ = evaluate_workbook(original)
        assert row["状态"] == "成功"
        assert row["核定总分"] == pytest.approx(ev.total) and row["等级"] == ev.grade
        assert row["自评总分"] == pytest.approx(ev.self_total) and row["自评等级"] == ev.self_grade
        assert row["年度"] == ev.data.get("year")
        for root in ev.roots:
            assert row[f"{root.name}得分"] == pytest.approx(root.score), (key, root.name)
        for metric in METRICS:
            expected = ev.metrics[metric.key].value
            assert row[metric.label] == (pytest.approx(expected) if expected is not None else None), (
                metric.key
            )
        counts = count_by_severity(findings)
        assert (row["错误"], row["警告"], row["提示"]) == (counts["error"], counts["warning"], counts["info"])
        over = [s for s in ev.leaves if s.self_score is not None and s.self_score > s.score + 0.005]
        claimed = row["自评高于数据支持的指标"] or ""
        assert [s.code for s in over] == [part.split(" ")[0] for part in claimed.split("；") if part]
    for key in BAD:
        row = rows[labels[key]]
        assert row["状态"] == "无法处理" and row["核定总分"] is None and BAD[key] in row["说明"]
    # By 年度 (latest first), ranked by 核定总分 within each year; failed files last.
    ordered = list(rows.values())
    done = [(-r["年度"], -r["核定总分"], r["排名"]) for r in ordered if r["状态"] == "成功"]
    assert done == sorted(done) and ordered[0]["排名"] == 1 and len({year for year, _, _ in done}) == 2
    first_of_year: dict[int, int] = {}
    for year, _, rank in done:
        first_of_year.setdefault(year, rank)
    assert set(first_of_year.values()) == {1}  # each year ranked on its own
    assert [r["状态"] for r in ordered[-len(BAD) - 1 :]] == ["重复报送"] + ["无法处理"] * len(BAD)


def test_repeated_submissions_are_noted_and_copies_not_ranked(baseline) -> None:
    _, out, _ = baseline
    rows = {row["来源文件"]: row for row in sheet_rows(out / SUMMARY_XLSX, "汇总")}
    first, copy = rows["副本/高邑镇2024 - 副本.xlsx"], rows[COPY]
    assert first["排名"] is not None and copy["排名"] is None
    assert copy["说明"].startswith("与「副本/高邑镇2024 - 副本.xlsx」内容完全相同，属重复报送")
    assert copy["状态"] == "重复报送" and copy["单位"] == EXAMPLE_UNIT and copy["输出文件夹"] is None
    assert copy["核定总分"] is None and copy["错误"] is None
    assert f"「{COPY}」与本文件内容完全相同" in first["说明"]
    same_unit = [r for r in rows.values() if "同一单位、同一年度还报送了" in (r["说明"] or "")]
    assert len(same_unit) >= 2 and all(r["单位"] == EXAMPLE_UNIT and r["排名"] for r in same_unit)
    ranked = sorted(r["排名"] for r in rows.values() if r["排名"] is not None)
    assert ranked[0] == 1 and len(ranked) == 9


def test_summary_workbook_is_formatted_for_reading(baseline) -> None:
    _, out, _ = baseline
    wb = load_workbook(out / SUMMARY_XLSX)
    ws = wb["汇总"]
    headers = {cell.value: cell.column_letter for cell in ws[1]}
    assert ws.freeze_panes == "C2" and ws.auto_filter.ref == ws.dimensions
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == "$1:$1" and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws[f"{headers['核定总分']}2"].number_format == "0.00"
    assert ws[f"{headers['预算执行率']}2"].number_format == "0.00%"
    assert ws.column_dimensions[headers["单位"]].width > 12 and ws["A1"].font.b
    folder = ws[f"{headers['输出文件夹']}2"]
    assert folder.hyperlink is not None and (out / folder.hyperlink.target).is_dir()
    assert folder.style == "Hyperlink" and folder.font.u == "single"
    assert ws["A1"].fill.fgColor.rgb == "FFDDEBF7" and ws["A1"].alignment.wrap_text
    assert ws.row_dimensions[1].height == 32
    failed = ws.max_row  # failed files come last, every cell shaded
    assert (
        ws[f"{headers['状态']}{failed}"].value == "无法处理"
        and ws[f"{headers['输出文件夹']}{failed}"].hyperlink is None
    )
    assert {cell.fill.fgColor.rgb for cell in ws[failed]} == {"FFFCE4D6"}
    assert ws[f"{headers['状态']}2"].fill.fill_type is None
    details = wb["问题明细"]
    families = {row[3] for row in details.iter_rows(min_row=2, values_only=True) if row[2] != "无法处理"}
    assert families and families <= set(CHECK_FAMILIES.values())  # 金额勾稽, 指标得分 … not check ids
    assert details.freeze_panes == "C2" and details.max_row - 1 == sum(
        len(r.findings) + r.failed for r in baseline[0].records
    )
    # The copy's findings are its original's: 问题明细 does not repeat them.
    assert not [row for row in details.iter_rows(min_row=2, values_only=True) if row[1] == COPY]


def test_duplicate_units_get_their_own_folders(baseline, inbox) -> None:
    result, out, _ = baseline
    same = sorted(r.key for r in result.records if r.ok and r.unit == EXAMPLE_UNIT)
    assert len(same) == 3  # the example, the deleted-sheet copy, and a generated unit of the same name
    folders = [next(r.folder for r in result.records if r.key == key) for key in same]
    named = f"{EXAMPLE_UNIT}2024"  # the inbox holds 2023 and 2024 workbooks: folders carry the year
    assert folders == [named] + [f"{named}（{n}）" for n in (2, 3)]
    assert len(unit_folders(out)) == 9  # the identical copy has no folder of its own
    for record in (r for r in result.records if r.ok):
        folder = out / record.folder
        assert sorted(p.name for p in folder.iterdir()) == sorted(record.files.values())
        book = load_workbook(folder / record.files["workbook"], data_only=True)
        sheet, cell = read_workbook(folder / record.files["workbook"]).locator.names["total_score"]
        assert book[sheet][cell].value == pytest.approx(record.total)
        payload = json.loads((folder / FINDINGS_FILE).read_text(encoding="utf-8"))
        assert payload["counts"] == record.counts and len(payload["findings"]) == len(record.findings)


def test_dashboard_is_self_contained_and_links_every_report(baseline) -> None:
    result, out, _ = baseline
    text = (out / SUMMARY_HTML).read_text(encoding="utf-8")
    page = lxml.html.fromstring(text)
    rows = page.xpath("//table[@id='unit-table']/tbody/tr")
    assert len(rows) == FILES and len(page.xpath("//tr[@class='failed']")) == len(BAD)
    assert len(page.xpath("//tr[@class='copy']")) == 1
    links = [
        a.get("href") for a in page.xpath("//table[@id='unit-table']//a") if not a.get("href").startswith("#")
    ]
    assert len(links) == 9 and all((out / unquote(href)).is_file() for href in links)
    every = [a.get("href") for a in page.xpath("//a[@href]")]
    assert not [h for h in every if h.startswith(("http:", "https:", "//"))]
    assert not page.xpath("//*[@src]") and not page.xpath("//link") and page.xpath("//script[not(@src)]")
    grades = {r.grade for r in result.records if r.ok}
    bars = page.xpath("//section[@id='grades']//div[@class='bars']/span[contains(., '个（')]")
    latest = [r for r in result.records if r.ok and r.year == "2024"]  # one generated unit states 2023
    assert len(latest) == 8 and grades
    assert sum(int(b.text_content().split(" ")[0]) for b in bars) == 8  # the copy once, 2023 not in 2024's
    cards = {c.text_content().strip() for c in page.xpath("//div[contains(@class, 'card')]")}
    assert {f"报送文件{FILES}", "已处理的单位9", "重复报送（只计一次）1", f"无法处理{len(BAD)}"} <= cards
    errors = sum(1 for r in result.records if r.ok and r.counts.get("error"))
    assert (
        f"有错误的单位{errors}" in cards and len(result.with_errors) == errors
    )  # console and dashboard agree
    assert any(f"{errors} 个单位有" in line for line in result.lines())
    assert any("锁文件" in li.text_content() for li in page.xpath("//section[@id='notes']//li"))
    assert len(page.xpath("//section[@id='roots']//svg")) == 4
    failed_rows = page.xpath("//section[@id='failed']//tbody/tr")
    assert len(failed_rows) == len(BAD)
    findings = page.xpath("//section[@id='findings']//details")
    assert len(findings) == FILES
    first = next(r for r in result.records if r.ok)
    block = next(d for d in findings if first.display_name in d.xpath("string(summary)"))
    assert len(block.xpath(".//li")) == len(first.findings)
    # Unit names from the workbooks are text, never markup.
    assert HOSTILE_UNIT in page.text_content() and not page.xpath("//b[text()='“某某”']")
    assert "&lt;b&gt;" in text


# ------------------------------------------------------------------------------------------
# Re-runs, interruptions
# ------------------------------------------------------------------------------------------


def test_unchanged_units_are_skipped_and_force_redoes_them(baseline, inbox, tmp_path: Path) -> None:
    box, out = tmp_path / "收件箱", tmp_path / "输出"
    shutil.copytree(inbox[0], box)
    shutil.copytree(baseline[1], out)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file() and BATCH_DIR not in p.parts}
    again = run_batch(box, out, jobs=2, formats=FORMATS, stream=io.StringIO())
    assert (again.built, again.skipped) == (0, FILES)
    assert summary_contents(out) == summary_contents(baseline[1])
    changed = {p: p.stat().st_mtime_ns for p in stamps if p.name not in (SUMMARY_XLSX, SUMMARY_HTML)}
    assert changed == {p: stamps[p] for p in changed}  # no unit output was rewritten

    edited = next(p for p in box.rglob("*.xlsx") if "高邑县" in p.parts)
    _set_field(edited, "claimed_total", 12.5)
    third = run_batch(box, out, jobs=2, formats=FORMATS, stream=io.StringIO())
    assert (third.built, third.skipped) == (1, FILES - 1)
    assert summary_contents(out)[1] != summary_contents(baseline[1])[1]  # the new claim is a finding

    forced = run_batch(box, out, jobs=2, formats=FORMATS, force=True, stream=io.StringIO())
    assert (forced.built, forced.skipped) == (FILES, 0)
    assert unit_folders(out) == unit_folders(baseline[1])


def test_a_run_stopped_part_way_and_resumed_gives_the_same_summary(baseline, inbox, tmp_path: Path) -> None:
    out = tmp_path / "输出"
    first = run_batch(inbox[0], out, jobs=1, formats=FORMATS, stop_after=3, stream=io.StringIO())
    assert first.interrupted and first.exit_code == EXIT_INTERRUPTED
    assert not (out / SUMMARY_XLSX).exists() and "继续" in first.lines()[-1]
    second = run_batch(inbox[0], out, jobs=2, formats=FORMATS, stream=io.StringIO())
    # The refused zip members, the files that are not workbooks and the copy are recorded too.
    assert second.skipped == 3 + 5 and second.built == FILES - 8
    assert summary_contents(out) == summary_contents(baseline[1])
    assert unit_folders(out) == unit_folders(baseline[1])


def test_a_killed_run_resumes_to_the_same_summary(baseline, inbox, tmp_path: Path) -> None:
    out = tmp_path / "输出"
    script = (
        "import sys; from pathlib import Path; from xlperf.batch import run_batch; "
        "run_batch(Path(sys.argv[1]), Path(sys.argv[2]), jobs=2, formats=('html',), progress=False)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(inbox[0]), str(out)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    units = out / BATCH_DIR / "units"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if units.is_dir() and len(list(units.glob("*.json"))) >= 4:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the batch finished before it could be killed"
    os.killpg(proc.pid, signal.SIGKILL)  # the whole job: main process and pool workers
    proc.wait(timeout=30)
    assert not (out / SUMMARY_XLSX).exists()
    done = len(list(units.glob("*.json")))
    resumed = run_batch(inbox[0], out, jobs=2, formats=FORMATS, stream=io.StringIO())
    assert resumed.skipped >= done - 2 and resumed.built + resumed.skipped == FILES
    assert summary_contents(out) == summary_contents(baseline[1])
    assert unit_folders(out) == unit_folders(baseline[1])
    assert not list((out / BATCH_DIR / "incoming").iterdir())


# ------------------------------------------------------------------------------------------
# Small inboxes: every output format, exit codes, progress
# ------------------------------------------------------------------------------------------


def test_every_report_format_is_written_for_each_unit(tmp_path: Path) -> None:
    box = tmp_path / "收件箱"
    box.mkdir()
    create_workbook(example_data(), box / "高邑镇2024.xlsx")
    result = run_batch(box, tmp_path / "输出", jobs=1, stream=io.StringIO())
    assert result.exit_code == EXIT_ERRORS  # the example's own figures contradict its report
    record = result.records[0]
    folder = tmp_path / "输出" / record.folder
    assert set(record.files) == {"workbook", "findings", "docx", "html", "xlsx", "review", "review-html"}
    assert EXAMPLE_UNIT in "\n".join(p.text for p in docx.Document(folder / record.files["docx"]).paragraphs)
    assert EXAMPLE_UNIT in (folder / record.files["html"]).read_text(encoding="utf-8")
    assert load_workbook(folder / record.files["xlsx"]).sheetnames
    # the bureau's 复核意见 for the unit, linked from the dashboard
    review = "\n".join(
        c.text for t in docx.Document(folder / record.files["review"]).tables for r in t.rows for c in r.cells
    )
    assert "信访事务（2010308）属于一般公共服务支出（201）" in review
    dashboard = (tmp_path / "输出" / "汇总.html").read_text(encoding="utf-8")
    href = f"{quote(record.folder)}/{quote(record.files['review-html'])}"
    assert f'<a href="{href}">复核意见</a>' in dashboard


def test_exit_code_zero_when_no_unit_has_errors_and_two_for_an_empty_inbox(tmp_path: Path) -> None:
    box = tmp_path / "收件箱"
    box.mkdir()
    shutil.copy(ROOT / "workbook/绩效自评模板.xlsx", box / "空白.xlsx")
    result = run_batch(box, tmp_path / "输出", jobs=1, formats=FORMATS, stream=io.StringIO())
    assert result.exit_code == EXIT_OK and result.records[0].folder == "空白"
    (box / "空白.xlsx").unlink()
    (box / "说明.txt").write_text("", encoding="utf-8")
    from xlperf.errors import XlperfError

    with pytest.raises(XlperfError, match="没有找到工作簿") as caught:
        run_batch(box, tmp_path / "输出", jobs=1, stream=io.StringIO())
    assert caught.value.exit_code == 2
    with pytest.raises(XlperfError, match="不能与收件箱相同"):
        run_batch(box, box, jobs=1, stream=io.StringIO())


def test_a_unit_that_left_the_inbox_is_removed_and_a_bar_is_drawn_on_a_terminal(tmp_path: Path) -> None:
    box = tmp_path / "收件箱"
    paths = generate_workbooks(box, 2)
    log = io.StringIO()
    first = run_batch(box, tmp_path / "输出", jobs=1, formats=FORMATS, progress=True, stream=log)
    assert "\r" in log.getvalue() and "2/2" in log.getvalue()
    assert len(unit_folders(tmp_path / "输出")) == 2
    paths[1].unlink()
    second = run_batch(box, tmp_path / "输出", jobs=1, formats=FORMATS, stream=io.StringIO())
    assert second.removed == 1 and len(second.records) == 1
    assert unit_folders(tmp_path / "输出") == {second.records[0].folder}
    assert len(first.records) == 2


def test_folder_names_do_not_depend_on_order() -> None:
    def record(key: str, unit: str) -> UnitRecord:
        return UnitRecord(key, key, "", "", "ok", unit=unit)

    records = [
        record("b", "财政局"),
        record("a", "财政局"),
        record("c", "财政局（2）"),
        record("d", "Abc"),
        record("e", "ABC"),
    ]
    names = final_names(records, {"abc"})
    assert names == {"a": "财政局", "b": "财政局（3）", "c": "财政局（2）", "d": "Abc（2）", "e": "ABC（3）"}
    assert final_names(list(reversed(records)), {"abc"}) == names


def test_two_batches_cannot_share_an_output_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xlperf.io.lock import hold

    monkeypatch.setattr("xlperf.batch.run.LOCK_WAIT", 0.3)

    from xlperf.errors import OutputError

    box = tmp_path / "收件箱"
    generate_workbooks(box, 1)
    lock = tmp_path / "输出" / BATCH_DIR / "lock"
    lock.parent.mkdir(parents=True)
    with hold(lock):  # as a running batch holds it
        with pytest.raises(OutputError, match="另一个批量处理正在使用"):
            run_batch(box, tmp_path / "输出", jobs=1, formats=FORMATS, stream=io.StringIO())
    assert run_batch(box, tmp_path / "输出", jobs=1, formats=FORMATS, stream=io.StringIO()).built == 1


def test_everything_in_the_inbox_is_listed_and_xlperfs_own_outputs_skipped(tmp_path: Path) -> None:
    box = tmp_path / "收件箱"
    generate_workbooks(box, 1)
    first = run_batch(box, tmp_path / "上次输出", jobs=1, formats=FORMATS, stream=io.StringIO())
    shutil.copytree(
        tmp_path / "上次输出", box / "上次输出"
    )  # a previous batch's output, put back in the inbox
    book = load_workbook(ROOT / "workbook/绩效自评模板.xlsx")
    other = type(book)()
    other.active["A1"] = "姓名"
    other.save(box / "考勤表.xlsx")  # a workbook, but not a 绩效自评 workbook at all
    for name in ("材料.rar", "材料.7z", "数据.csv", "报告.pdf"):
        (box / name).write_bytes(b"not a workbook")
    shutil.copy(box / "考勤表.xlsx", box / "改了扩展名.zip")
    log = io.StringIO()
    result = run_batch(box, tmp_path / "输出", jobs=1, formats=FORMATS, stream=log)
    assert result.exit_code == EXIT_FAILED
    rows = {row["来源文件"]: row for row in sheet_rows(tmp_path / "输出" / SUMMARY_XLSX, "汇总")}
    expected = {
        first.records[0].source,
        "考勤表.xlsx",
        "材料.rar",
        "材料.7z",
        "数据.csv",
        "报告.pdf",
        "改了扩展名.zip",
    }
    assert set(rows) == expected  # nothing from 上次输出
    assert rows[first.records[0].source]["状态"] == "成功"
    reasons = {key: rows[key]["说明"] for key in expected - {first.records[0].source}}
    assert all(rows[key]["状态"] == "无法处理" for key in reasons)
    assert "不是绩效自评工作簿" in reasons["考勤表.xlsx"] and "RAR 压缩包" in reasons["材料.rar"]
    assert "扩展名被改成了 .zip" in reasons["改了扩展名.zip"] and "PDF 文档" in reasons["报告.pdf"]
    page = lxml.html.fromstring((tmp_path / "输出" / SUMMARY_HTML).read_text(encoding="utf-8"))
    assert len(page.xpath("//table[@id='unit-table']/tbody/tr")) == len(expected)
    assert {r.text_content() for r in page.xpath("//section[@id='failed']//tbody/tr/td[1]")} == expected - {
        first.records[0].source
    }
    skipped = [line for line in result.lines() if "上次输出" in line]
    assert len(skipped) == 1 and "输出文件夹" in skipped[0]
    assert [li for li in page.xpath("//section[@id='notes']//li") if "上次输出" in li.text_content()]
