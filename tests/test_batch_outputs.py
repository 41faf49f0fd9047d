"""The batch's own outputs (批量输出): written without fsync, trusted on the next run only while whole.

A unit is skipped when its workbook is unchanged and every output file still has the size recorded
when it was written; a file cut short (as a power cut can leave it) or deleted makes the unit be
rebuilt, and the rebuilt file opens again.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import docx
import pytest

from xlperf.batch import run_batch
from xlperf.batch.generate import generate_workbooks
from xlperf.batch.run import BATCH_DIR

FORMATS = ("docx", "html", "xlsx")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("outputs")
    generate_workbooks(root / "收件箱", 3)
    out = root / "输出"
    first = run_batch(root / "收件箱", out, jobs=1, formats=FORMATS, stream=io.StringIO())
    assert first.built == 3
    return root / "收件箱", out


def records(out: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((out / BATCH_DIR).rglob("*.json"))]


def test_every_output_size_is_recorded(batch: tuple[Path, Path]) -> None:
    _, out = batch
    for record in records(out):
        assert set(record["sizes"]) == set(record["files"]) == {"workbook", "findings", *FORMATS}
        for kind, name in record["files"].items():
            assert (out / record["folder"] / name).stat().st_size == record["sizes"][kind] > 0


@pytest.mark.parametrize("damage", ["truncate", "delete"])
def test_a_damaged_output_makes_its_unit_rebuilt(batch: tuple[Path, Path], damage: str) -> None:
    box, out = batch
    record = records(out)[0]
    report = out / record["folder"] / record["files"]["docx"]
    if damage == "truncate":
        report.write_bytes(report.read_bytes()[:1000])
    else:
        report.unlink()
    again = run_batch(box, out, jobs=1, formats=FORMATS, stream=io.StringIO())
    assert (again.built, again.skipped) == (1, 2)
    rebuilt = next(r for r in records(out) if r["key"] == record["key"])
    path = out / rebuilt["folder"] / rebuilt["files"]["docx"]
    assert path.stat().st_size == rebuilt["sizes"]["docx"]
    assert any(p.text for p in docx.Document(str(path)).paragraphs)
