"""The workbook as a clerk meets it: nothing overwritten, help in Chinese, 校验结果 and formats readable."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from xlperf.cli import main
from xlperf.core.findings import CHECK_FAMILIES
from xlperf.io.overwrite import LEDGER
from xlperf.io.xlsxpatch import CURRENT_CALC_ID
from xlperf.io.xlsxwrite import text_width
from xlperf.workbook import contract as c

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "workbook" / "examples" / "高邑镇2024.xlsx"
ENGLISH = re.compile(
    r"usage:|positional arguments|options:|optional arguments|show this help|show program|"
    r"error:|required:|invalid choice|python -m"
)


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's -h and usage errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_new_over_an_existing_file_refuses_and_leaves_it_byte_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = tmp_path / "t.xlsx"
    book.write_bytes(EXAMPLE.read_bytes())
    code, text = _run(capsys, "new", "-o", str(book))
    assert code == 2 and "为避免覆盖" in text and "--force" in text
    assert book.read_bytes() == EXAMPLE.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx"]
    code, text = _run(capsys, "new", "-o", str(book), "--force")
    assert code == 0 and "已备份" in text
    assert (tmp_path / "t.bak.xlsx").read_bytes() == EXAMPLE.read_bytes()
    assert load_workbook(book).sheetnames == list(c.SHEETS)


def test_build_of_a_second_workbook_of_the_same_unit_does_not_replace_the_first_ones_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, out = tmp_path / "a.xlsx", tmp_path / "b.xlsx", tmp_path / "out"
    first.write_bytes(EXAMPLE.read_bytes())
    second.write_bytes(EXAMPLE.read_bytes())
    assert _run(capsys, "build", str(first), "-o", str(out), "--format", "html")[0] == 0
    report = next(out.glob("*.html"))
    before = report.read_bytes()
    code, _ = _run(capsys, "build", str(first), "-o", str(out), "--format", "html")
    assert code == 0, "building the same workbook again replaces its own outputs"
    code, text = _run(capsys, "build", str(second), "-o", str(out), "--format", "html")
    assert code == 2 and "a.xlsx" in text and "同一单位、同一年度" in text
    assert not (out / "b.xlsx").exists(), "nothing is written when one output would be lost"
    assert report.read_bytes() == before
    # a report the user edited after it was generated is kept too
    report.write_bytes(before + b"<!-- edited -->")
    code, text = _run(capsys, "report", str(first), "-o", str(out), "--format", "html")
    assert code == 2 and "被修改过" in text
    code, text = _run(capsys, "build", str(second), "-o", str(out), "--format", "html", "--force")
    assert code == 0 and "已备份" in text
    assert next(out.glob("*.bak.html")).read_bytes() == before + b"<!-- edited -->"
    assert (out / "b.xlsx").is_file()
    assert not [p for p in out.iterdir() if p.name.startswith(".") and p.name != LEDGER]


def test_upgrade_output_over_a_users_file_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book, target = tmp_path / "a.xlsx", tmp_path / "mine.xlsx"
    book.write_bytes(EXAMPLE.read_bytes())
    target.write_bytes(b"my own file")
    code, text = _run(capsys, "upgrade", str(book), "-o", str(target))
    assert code == 2 and "为避免覆盖" in text
    assert target.read_bytes() == b"my own file"


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        *(
            [name, "--help"]
            for name in ("new", "build", "report", "check", "batch", "upgrade", "excel-addin")
        ),
        ["build"],
        ["new", "-o", "x.xlsx", "--rubric", "nope"],
        ["nope"],
    ],
)
def test_help_and_usage_errors_are_chinese(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    _, text = _run(capsys, *args)
    assert "用法：" in text
    assert not ENGLISH.search(text), text
    if args[0] == "excel-addin":
        assert "用法：xlperf excel-addin" in text


def test_every_subcommand_has_a_one_line_description(capsys: pytest.CaptureFixture[str]) -> None:
    _, text = _run(capsys, "--help")
    for name in ("new", "build", "report", "check", "batch", "upgrade", "excel-addin", "serve"):
        assert re.search(rf"^\s+{re.escape(name)}\s*\n?\s+\S", text, re.M), name
    _, text = _run(capsys, "new", "-o", "x", "--help")
    assert "高邑镇2024格式" in text and "财预〔2020〕10号" in text


def test_new_names_the_rubric_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, text = _run(capsys, "new", "-o", str(tmp_path / "n.xlsx"), "--rubric", "caiyu2020")
    assert code == 0 and "财预〔2020〕10号" in text and "caiyu2020" not in text


def test_findings_sheet_shows_families_not_check_ids_and_wraps(tmp_path: Path) -> None:
    from xlperf.workbook.build import build_workbook

    built = build_workbook(EXAMPLE, tmp_path).output
    assert built is not None
    ws = load_workbook(built)[c.S_FINDINGS]
    rows = list(ws.iter_rows(min_row=4, values_only=True))
    assert len(rows) > 20
    families = {row[1] for row in rows if row[0]}
    assert families <= set(CHECK_FAMILIES.values()), families
    assert not [
        v for row in rows for v in row if isinstance(v, str) and re.fullmatch(r"[a-z_]+\.[a-z_.]+", v)
    ]
    long_rows = [r for r in range(4, ws.max_row + 1) if len(str(ws.cell(r, 3).value or "")) > 60]
    assert long_rows and all(ws.cell(r, 3).alignment.wrap_text for r in long_rows)
    assert all((ws.row_dimensions[r].height or 0) > 15 for r in long_rows)  # more than one line


def test_rubric_actual_and_stated_are_formatted_by_row_kind() -> None:
    ws = load_workbook(EXAMPLE)[c.S_RUBRIC]
    header = {cell.value: cell.column_letter for cell in ws[4]}
    formats = {}
    for row in range(5, ws.max_row + 1):
        name = ws[f"{header['指标名称']}{row}"].value
        formats[name] = (
            ws[f"{header['实际值']}{row}"].number_format,
            ws[f"{header['单位自述值']}{row}"].number_format,
        )
    assert formats["收入预算完成率"] == (c.RATE_FMT, c.RATE_FMT)  # typing 100 there means 100%
    assert formats["预算调整率"] == (c.RATE_FMT, c.RATE_FMT)
    assert formats["支出进度"] == (c.COUNT_FMT, c.COUNT_FMT)
    assert set(formats.values()) <= {(f, f) for f in (c.RATE_FMT, c.COUNT_FMT, c.SCORE_FMT)}


def test_printing_and_calculation_settings() -> None:
    wb = load_workbook(EXAMPLE)
    rubric = wb[c.S_RUBRIC]
    assert rubric.page_setup.orientation == "landscape"
    assert (rubric.page_setup.fitToWidth, rubric.page_setup.fitToHeight) == (1, 0)
    assert rubric.print_title_rows == "$4:$4"
    assert wb[c.S_UNIT].page_setup.fitToWidth == 1
    params = c.RUBRIC.column("参数")
    letter = next(cell.column_letter for cell in rubric[4] if cell.value == params.header)
    long_rows = [
        cell.row for cell in rubric[letter][4:] if text_width(str(cell.value or "")) > 2 * params.width
    ]
    assert long_rows, "the example has parameters longer than two lines of their column"
    assert all((rubric.row_dimensions[row].height or 0) > 30 for row in long_rows)  # wrapped, not clipped
    rates = [cell.value for row in wb[c.S_RATES].iter_rows() for cell in row if isinstance(cell.value, str)]
    assert (
        sum("财预〔2013〕53号" in t for t in rates) == 1 and sum("财预〔2020〕10号" in t for t in rates) == 1
    )
    with zipfile.ZipFile(EXAMPLE) as zf:
        workbook_xml = zf.read("xl/workbook.xml").decode()
        sheets = [zf.read(n).decode() for n in zf.namelist() if n.startswith("xl/worksheets/sheet")]
    assert f'calcId="{CURRENT_CALC_ID}"' in workbook_xml and "fullCalcOnLoad" not in workbook_xml
    formulas = [m for s in sheets for m in re.findall(r"<c [^>]*>(?:(?!</c>).)*?<f>", s)]
    without_value = [
        m
        for s in sheets
        for m in re.findall(r"<c [^>]*>(?:(?!</c>).)*?</c>", s)
        if "<f>" in m and "<v" not in m
    ]
    assert formulas and without_value == []
