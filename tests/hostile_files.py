"""Hostile workbooks for the memory and time caps (恶意构造的工作簿), shared by tests and bench/.

Each maker writes the 高邑镇 2024 example with one part blown up, streamed into the zip so the
maker itself stays small: a million tiny rows in a sheet (2.2 MB on disk), three such sheets,
2.5 million ``<definedName>`` entries in ``workbook.xml``, a million styles, relationships,
content-type overrides or shared strings, and merged ranges that cover millions of cells.
:func:`measured` runs ``xlperf`` on such a file as a child process under a memory cap and a clock.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from pathlib import Path

from helpers_bad_input import env, example_copy, scratch_dir, sheet_parts

MILLION = 1_000_000


@cache
def example_master() -> Path:
    """One copy of the built example workbook for this process."""
    return example_copy(scratch_dir("xlperf-hostile-"))


def with_parts(
    src: Path, dst: Path, parts: dict[str, Callable[[bytes], Iterable[bytes]]], level: int = 6
) -> Path:
    """``src`` with each named part replaced by what its function streams from the original bytes."""
    with (
        zipfile.ZipFile(src) as zin,
        zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as zout,
    ):
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename not in parts:
                zout.writestr(info, data)
                continue
            target = zipfile.ZipInfo(info.filename, info.date_time)
            target.compress_type = zipfile.ZIP_DEFLATED
            with zout.open(target, "w", force_zip64=True) as out:
                for chunk in parts[info.filename](data):
                    out.write(chunk)
    return dst


def with_part(src: Path, dst: Path, part: str, chunks: Iterable[bytes], level: int = 1) -> Path:
    """``src`` with ``part`` replaced by the streamed ``chunks`` (never held whole in memory)."""
    return with_parts(src, dst, {part: lambda _original: chunks}, level)


def _inserted(before: bytes, items: Callable[[int], bytes], count: int) -> Callable[[bytes], Iterator[bytes]]:
    """Insert ``items(i)`` for i < count just before the first ``before`` of the part."""

    def stream(data: bytes) -> Iterator[bytes]:
        at = data.index(before)
        yield data[:at]
        for start in range(0, count, 10_000):
            yield b"".join(items(i) for i in range(start, min(start + 10_000, count)))
        yield data[at:]

    return stream


def _rows(first: int) -> Callable[[int], bytes]:
    return lambda i: b'<row r="%d"/>' % (first + i)


def million_rows(dst: Path, sheets: tuple[str, ...] = ("基本信息",), src: Path | None = None) -> Path:
    """A million tiny (empty) rows after the rows of each sheet in ``sheets`` of ``src`` (the example)."""
    src = src or example_master()
    parts = sheet_parts(src)
    return with_parts(
        src, dst, {parts[s]: _inserted(b"</sheetData>", _rows(10_000), MILLION) for s in sheets}
    )


def three_sheets_of_rows(dst: Path) -> Path:
    """Three sheets with a million tiny rows each."""
    return million_rows(dst, ("基本信息", "绩效目标", "指标评分"))


def defined_names(dst: Path, count: int = 2_500_000) -> Path:
    """2.5 million ``<definedName>`` entries in workbook.xml (about 12 MB on disk)."""
    item = lambda i: b"<definedName name=\"n%d\">'x'!$A$1</definedName>" % i  # noqa: E731
    return with_parts(example_master(), dst, {"xl/workbook.xml": _inserted(b"</definedNames>", item, count)})


def styles(dst: Path, count: int = 3 * MILLION) -> Path:
    """Three million cell formats (``<xf>``) in styles.xml."""
    item = lambda i: b'<xf numFmtId="%d"/>' % (i % 200)  # noqa: E731
    return with_parts(example_master(), dst, {"xl/styles.xml": _inserted(b"</cellXfs>", item, count)})


def relationships(dst: Path, count: int = 2 * MILLION) -> Path:
    """Two million relationships of the workbook part."""
    item = lambda i: b'<Relationship Id="x%d" Type="t" Target="none%d.xml"/>' % (i, i)  # noqa: E731
    rels = "xl/_rels/workbook.xml.rels"
    return with_parts(example_master(), dst, {rels: _inserted(b"</Relationships>", item, count)})


def content_types(dst: Path, count: int = 2 * MILLION) -> Path:
    """Two million content-type overrides."""
    item = lambda i: b'<Override PartName="/none%d.xml" ContentType="x"/>' % i  # noqa: E731
    return with_parts(example_master(), dst, {"[Content_Types].xml": _inserted(b"</Types>", item, count)})


def shared_strings(dst: Path, count: int = 3 * MILLION) -> Path:
    """Three million tiny shared strings (a new sharedStrings part the workbook declares)."""
    sst = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    override = b'<Override PartName="/xl/sharedStrings.xml" ContentType="%s"/>' % sst.encode()
    relationship = b'<Relationship Id="rIdSst" Type="%s" Target="sharedStrings.xml"/>' % rel.encode()
    with_parts(
        example_master(),
        dst,
        {
            "[Content_Types].xml": _inserted(b"</Types>", lambda i: override, 1),
            "xl/_rels/workbook.xml.rels": _inserted(b"</Relationships>", lambda i: relationship, 1),
        },
    )
    strings = [b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">']
    strings += [
        b"".join(b"<si><t>%d</t></si>" % i for i in range(n, n + 10_000)) for n in range(0, count, 10_000)
    ]
    with (
        zipfile.ZipFile(dst, "a", zipfile.ZIP_DEFLATED) as zout,
        zout.open("xl/sharedStrings.xml", "w") as out,
    ):
        for chunk in strings + [b"</sst>"]:
            out.write(chunk)
    return dst


def merged_cells(dst: Path, count: int = 5_000) -> Path:
    """5,000 merged ranges of 100 × 100 cells each (50 million cells covered) in a contract sheet."""
    src = example_master()
    part = sheet_parts(src)["基本信息"]

    def stream(data: bytes) -> Iterator[bytes]:
        merges = b"".join(
            b'<mergeCell ref="A%d:CV%d"/>' % (10_000 + 100 * i, 10_099 + 100 * i) for i in range(count)
        )
        if b"</mergeCells>" in data:
            yield re.sub(
                rb'<mergeCells count="\d+">',
                b"<mergeCells>",
                data.replace(b"</mergeCells>", merges + b"</mergeCells>"),
            )
        else:
            yield data.replace(b"</sheetData>", b"</sheetData><mergeCells>" + merges + b"</mergeCells>", 1)

    return with_parts(src, dst, {part: stream})


def _cells(first: int) -> Callable[[int], bytes]:
    return lambda i: b'<row r="%d"><c r="B%d"><v>%d</v></c></row>' % (first + i, first + i, i)


def at_the_limits(dst: Path) -> Path:
    """Just under the caps: two sheets with 80,000 one-cell rows (240,000 elements) each, a third with
    240,000 empty rows, and 40,000 defined names: as much as any accepted workbook can hold."""
    src = example_master()
    parts = sheet_parts(src)
    name = lambda i: b"<definedName name=\"n%d\">'x'!$A$1</definedName>" % i  # noqa: E731
    return with_parts(
        src,
        dst,
        {
            parts["基本信息"]: _inserted(b"</sheetData>", _cells(10_000), 80_000),
            parts["指标评分"]: _inserted(b"</sheetData>", _cells(10_000), 80_000),
            parts["绩效目标"]: _inserted(b"</sheetData>", _rows(10_000), 240_000),
            "xl/workbook.xml": _inserted(b"</definedNames>", name, 40_000),
        },
    )


def at_the_upgrade_limit(dst: Path) -> Path:
    """Just under ``xlperf upgrade``'s total: 60,000 one-cell rows (180,000 elements) in one sheet,
    50,000 empty rows in another and 5,000 defined names."""
    src = example_master()
    parts = sheet_parts(src)
    name = lambda i: b"<definedName name=\"n%d\">'x'!$A$1</definedName>" % i  # noqa: E731
    return with_parts(
        src,
        dst,
        {
            parts["基本信息"]: _inserted(b"</sheetData>", _cells(10_000), 60_000),
            parts["绩效目标"]: _inserted(b"</sheetData>", _rows(10_000), 50_000),
            "xl/workbook.xml": _inserted(b"</definedNames>", name, 5_000),
        },
    )


HOSTILE: dict[str, Callable[[Path], Path]] = {
    "at the limits": at_the_limits,
    "at the upgrade limit": at_the_upgrade_limit,
    "million rows": million_rows,
    "three sheets of rows": three_sheets_of_rows,
    "2.5 M defined names": defined_names,
    "3 M styles": styles,
    "2 M relationships": relationships,
    "2 M content types": content_types,
    "3 M shared strings": shared_strings,
    "50 M merged cells": merged_cells,
}


# --------------------------------------------------------------------------------------------
# running xlperf under a memory cap and a clock
# --------------------------------------------------------------------------------------------

SECONDS = 20  # the clock a refusal must beat
MEASURE = r"""
import json, resource, subprocess, sys, time
limit = int(sys.argv[2]) * 2**20
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
started = time.perf_counter()
try:
    run = subprocess.run(sys.argv[3:], capture_output=True, timeout=float(sys.argv[1]), preexec_fn=cap)
    code, out, err = run.returncode, run.stdout, run.stderr
except subprocess.TimeoutExpired as exc:
    code, out, err = "timeout", exc.stdout or b"", exc.stderr or b""
print(json.dumps({
    "code": code,
    "stdout": out.decode("utf-8", "replace"),
    "stderr": err.decode("utf-8", "replace"),
    "seconds": time.perf_counter() - started,
    "rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
"""


def measured(*args: str, limit_mb: int = 1536) -> dict[str, object]:
    """Run ``python -m xlperf.cli ARGS`` in a measuring wrapper; the child gets ``limit_mb`` of address space."""
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURE,
            str(SECONDS),
            str(limit_mb),
            sys.executable,
            "-m",
            "xlperf.cli",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=SECONDS * 4,
        env=env(),
    )
    return json.loads(run.stdout)
