"""What xlperf writes (输出安全): atomic, never the input unless asked, safe names, no injected formulas,
escaped HTML and plain text in Word.

Text typed into the workbook is hostile here: a unit name, goal and indicator names, a team member
and narrative paragraphs that start with ``=``, ``+``, ``-``, ``@`` (formula injection) or hold
``<script>``, ``<img onerror>`` and ``{{ 7*7 }}`` (HTML and template injection).  Every spreadsheet
xlperf writes is checked at the XML level: no cell holding that text has a ``<f>``.
"""

from __future__ import annotations

import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from helpers_bad_input import (
    INJECTIONS,
    Text,
    assert_clean_exit,
    cells_with_text,
    digest,
    example_copy,
    field_cell,
    table_cell,
    write_cells,
    xlperf,
)
from xlperf.errors import OutputError
from xlperf.io import atomic, xlsxpatch, zipcopy
from xlperf.io.filenames import safe_output_name
from xlperf.workbook.build import build_workbook

HTML_PAYLOADS = (
    "<script>alert('xlperf')</script>",
    "<img src=x onerror=alert(1)>",
    "{{ 7*7 }}",
    "{% if 1 %}",
)
TEMP_MARKER = ".xlperf-tmp-"


def _hostile(folder: Path) -> Path:
    book = example_copy(folder / "in")
    cells = {
        field_cell(book, "unit_name"): Text(INJECTIONS[0]),
        table_cell(book, "tbl_goals", "指标名称", 0): Text(INJECTIONS[1]),
        table_cell(book, "tbl_team", "姓名", 0): Text(INJECTIONS[2]),
        table_cell(book, "tbl_goals", "绩效目标", 1): Text(INJECTIONS[3]),
        field_cell(book, "duties"): Text("职责：" + HTML_PAYLOADS[0] + HTML_PAYLOADS[2]),
        field_cell(book, "problems"): Text("问题：" + HTML_PAYLOADS[1] + HTML_PAYLOADS[3]),
        field_cell(book, "team_members"): Text(INJECTIONS[3] + "、李乐"),
    }
    return write_cells(book, folder / "in" / "恶意.xlsx", cells)


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("hostile")
    book = _hostile(folder)
    before = digest(book)
    run = xlperf("build", str(book), "-o", str(folder / "out"))
    assert_clean_exit(run, (0, 1))
    return book, folder / "out", before


def test_the_input_is_never_changed_by_a_build(hostile_build: tuple[Path, Path, str]) -> None:
    book, _, before = hostile_build
    assert digest(book) == before


def test_no_spreadsheet_turns_typed_text_into_a_formula(hostile_build: tuple[Path, Path, str]) -> None:
    _, out, _ = hostile_build
    sheets = sorted(out.glob("*.xlsx"))
    assert len(sheets) >= 1
    seen = set()
    for path in sheets:
        for payload in INJECTIONS:
            for sheet, cell, is_formula in cells_with_text(path, payload):
                seen.add(payload)
                assert not is_formula, f"{path.name} {sheet}!{cell} holds a formula with {payload!r}"
    assert seen == set(INJECTIONS), f"payloads not found in any output: {set(INJECTIONS) - seen}"
    built = load_workbook(out / "恶意.xlsx")
    findings = [
        c.value for row in built["校验结果"].iter_rows(min_row=4) for c in row if isinstance(c.value, str)
    ]
    assert any(INJECTIONS[2] in text for text in findings), (
        "the team member's name should be quoted in 校验结果"
    )


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        (self.scripts if self._in_script else self.text).append(data)


def test_workbook_text_reaches_html_escaped(hostile_build: tuple[Path, Path, str]) -> None:
    _, out, _ = hostile_build
    pages = sorted(out.glob("*.html"))
    if not pages:
        pytest.skip("this build writes no HTML report")
    for path in pages:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        text = "".join(page.text)
        assert not any("alert" in s for s in page.scripts), "typed <script> became a script"
        assert not [a for t, a in page.tags if t == "img" and "onerror" in a], (
            "typed <img onerror> became a tag"
        )
        for payload in HTML_PAYLOADS + INJECTIONS[:1]:
            assert payload in text, f"{payload!r} is not shown as text in {path.name}"


def test_workbook_text_reaches_word_as_plain_text(hostile_build: tuple[Path, Path, str]) -> None:
    _, out, _ = hostile_build
    documents = sorted(out.glob("*.docx"))
    if not documents:
        pytest.skip("this build writes no Word report")
    for path in documents:
        doc = Document(str(path))
        text = "\n".join(p.text for p in doc.paragraphs) + "\n".join(
            c.text for t in doc.tables for r in t.rows for c in r.cells
        )
        for payload in HTML_PAYLOADS + (INJECTIONS[0],):
            assert payload in text, f"{payload!r} is not plain text in {path.name}"
        with zipfile.ZipFile(path) as zf:
            body = zf.read("word/document.xml").decode("utf-8")
        for field in ("<w:fldSimple", "<w:instrText"):
            for payload in INJECTIONS:
                assert not (field in body and payload.lstrip("=+-@")[:6] in body.split(field, 1)[1][:300])


@pytest.mark.parametrize(
    "unit",
    [
        "../../../etc/passwd",
        "CON",
        "a/b\\c:d*?e",
        "…" + "很长的单位名称" * 40,
        " . ",
        "=cmd|' /C calc'!A0",
    ],
)
def test_output_names_from_unit_names_stay_in_the_output_folder(unit: str, tmp_path: Path) -> None:
    book = example_copy(tmp_path / "in")
    source = write_cells(book, tmp_path / "in" / "book.xlsx", {field_cell(book, "unit_name"): Text(unit)})
    from xlperf.report import render_reports

    result = build_workbook(source, tmp_path / "out")
    written = render_reports(
        result.evaluation, result.findings, tmp_path / "out", locate=result.locator.locate
    )
    everything = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    outside = [
        p for p in everything if tmp_path / "out" not in p.parents and tmp_path / "in" not in p.parents
    ]
    assert not outside, outside
    for path in written.values():
        assert path.parent == tmp_path / "out"
        stem = path.name.split(".")[0]
        assert stem.upper() not in ("CON", "PRN", "AUX", "NUL") and len(path.name.encode()) <= 255
        assert not any(ch in path.name for ch in '<>:"|?*\\/')
    assert safe_output_name(unit) != ""


def test_a_failure_while_writing_keeps_the_previous_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    book = example_copy(tmp_path / "in")
    first = build_workbook(book, tmp_path / "out")
    assert first.output is not None
    previous = first.output.read_bytes()
    before = digest(book)
    changed = write_cells(
        book, tmp_path / "in" / "高邑镇2024.xlsx", {field_cell(book, "final_income_total"): 1.0}
    )
    calls = {"n": 0}
    original_add = zipcopy.ZipWriter.add

    def failing_add(self: object, *args: object, **kwargs: object) -> object:
        calls["n"] += 1
        if calls["n"] == 5:
            raise OSError(28, "No space left on device")
        return original_add(self, *args, **kwargs)

    monkeypatch.setattr(zipcopy.ZipWriter, "add", failing_add)
    with pytest.raises((OutputError, OSError)):
        build_workbook(changed, tmp_path / "out")
    assert first.output.read_bytes() == previous
    assert not [p for p in (tmp_path / "out").iterdir() if TEMP_MARKER in p.name]
    assert digest(changed) != before  # the edit above; the build itself wrote nothing to the input

    def interrupted(self: object, *args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(zipcopy.ZipWriter, "add", interrupted)
    with pytest.raises(KeyboardInterrupt):
        build_workbook(changed, tmp_path / "out")
    assert first.output.read_bytes() == previous
    assert not [p for p in (tmp_path / "out").iterdir() if TEMP_MARKER in p.name]


def test_in_place_backs_up_before_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    book = example_copy(tmp_path)
    original = book.read_bytes()

    def full_disk(path: Path) -> object:
        raise OutputError("磁盘已满", path=str(path))

    monkeypatch.setattr(xlsxpatch, "atomic_output", full_disk)
    with pytest.raises(OutputError):
        build_workbook(book, in_place=True)
    assert book.read_bytes() == original
    backups = sorted(tmp_path.glob("*.bak*.xlsx"))
    assert backups and backups[0].read_bytes() == original
    monkeypatch.undo()
    result = build_workbook(book, in_place=True)
    assert result.backup is not None and result.backup.read_bytes() == original
    assert atomic.TEMP_MARKER == TEMP_MARKER


def test_batch_summary_has_no_injected_formulas(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    book = _hostile(tmp_path / "unit")
    inbox.mkdir()
    (inbox / "恶意.xlsx").write_bytes(book.read_bytes())
    (inbox / "坏文件.xlsx").write_text("不是工作簿", encoding="utf-8")
    run = xlperf("batch", str(inbox), "-o", str(tmp_path / "out"))
    # exit 2: the batch finished but one file could not be processed (it is listed, not an error message)
    assert run.returncode == 2 and "Traceback" not in run.stderr + run.stdout and "内部错误" not in run.stderr
    assert "无法处理：坏文件.xlsx" in run.stdout
    sheets = sorted((tmp_path / "out").rglob("*.xlsx"))
    assert sheets
    for path in sheets:
        for payload in INJECTIONS:
            for sheet, cell, is_formula in cells_with_text(path, payload):
                assert not is_formula, f"{path} {sheet}!{cell}"
    for path in (tmp_path / "out").rglob("*.html"):
        page = _Page()
        page.feed(path.read_text(encoding="utf-8"))
        assert not any("alert" in s for s in page.scripts)


def test_no_output_carries_a_traceback(hostile_build: tuple[Path, Path, str]) -> None:
    _, out, _ = hostile_build
    for path in out.iterdir():
        if path.suffix in (".xlsx", ".docx"):
            with zipfile.ZipFile(path) as zf:
                text = b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".xml")).decode(
                    "utf-8", "replace"
                )
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in text and 'File "' not in text, path.name
