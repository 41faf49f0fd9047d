"""One unit of the batch (单个单位): rebuild its workbook, write its reports and findings, record the result.

:func:`build_unit` runs in a pool worker.  It writes everything into a fresh staging folder and
returns a :class:`UnitRecord` — the figures the summary needs, taken from the core evaluation —
which the main process stores as JSON next to the outputs.  The summary is always built from these
records, never from a run's memory, so an interrupted and resumed batch summarises the same way.
Nothing a workbook contains stops the batch: an unreadable, encrypted, old-format or malformed file
becomes a failed record with the Chinese reason.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

from ..core.evaluate import Evaluation
from ..core.findings import SEVERITY_LABELS, Finding, count_by_severity
from ..core.metrics import METRICS
from ..core.numbers import parse_number, parse_text
from ..errors import OutputError, XlperfError
from ..io.atomic import atomic_write_bytes, into_staging, os_error_text
from ..io.filenames import safe_output_name
from ..workbook.build import BuildResult, build_workbook

OK, FAILED, DUPLICATE = "ok", "failed", "duplicate"
FINDINGS_FILE = "校验结果.json"
RECORD_FORMAT = 1


@dataclass
class RootScore:
    """A 一级指标's subtotal (一级指标得分): maximum, 核定 and 自评."""

    code: str
    name: str
    maximum: float
    score: float
    self_score: float | None


@dataclass
class MetricValue:
    """One execution or control rate (执行率/控制率): the fraction, or None with the reason."""

    key: str
    label: str
    value: float | None
    reason: str
    percent: bool


@dataclass
class Overclaim:
    """An indicator whose self-score is above what the data support (自评高于核定)."""

    code: str
    name: str
    maximum: float
    score: float
    self_score: float


@dataclass
class FindingRow:
    """A finding as the summary lists it (校验发现): severity, check, message and cells."""

    severity: str
    check: str
    message: str
    where: str

    @property
    def label(self) -> str:
        """错误 / 警告 / 提示."""
        return SEVERITY_LABELS.get(self.severity, self.severity)


@dataclass
class UnitRecord:
    """What the batch recorded for one source file (单位结果), stored as JSON in the output folder.

    ``status`` is ``"ok"``, ``"failed"`` (with ``reason``) or ``"duplicate"``: a file identical to the
    one whose key is ``copy_of``, not processed again and counted once (``reason`` says so); ``retry`` marks a failure that is not the
    workbook's fault (disk full, an xlperf bug), redone on the next run.  ``folder`` is the unit's
    output folder inside the batch output; ``files`` maps ``workbook``, ``findings`` and each report
    format to a file name in it, and ``sizes`` gives each file's size in bytes as written: the batch
    writes them without ``fsync``, so the next run checks them before skipping the unit (a record
    from before sizes were kept has none, and its unit is rebuilt into the same folder).
    """

    key: str
    source: str
    digest: str
    recipe: str
    status: str
    reason: str = ""
    retry: bool = False
    folder: str | None = None
    name: str = ""
    unit: str = ""
    year: str = ""
    total: float | None = None
    grade: str = ""
    self_total: float | None = None
    self_grade: str = ""
    roots: list[RootScore] = field(default_factory=list)
    metrics: list[MetricValue] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    overclaims: list[Overclaim] = field(default_factory=list)
    findings: list[FindingRow] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    copy_of: str = ""

    @property
    def ok(self) -> bool:
        """True when the unit was rebuilt (处理成功)."""
        return self.status == OK

    @property
    def failed(self) -> bool:
        """True when the file could not be processed (处理失败)."""
        return self.status == FAILED

    @property
    def duplicate(self) -> bool:
        """True for an identical copy of another file, counted once (重复报送)."""
        return self.status == DUPLICATE

    @property
    def display_name(self) -> str:
        """The unit name; for a rebuilt workbook that names no unit its file name; else ``—``, since a
        file that could not be read names no unit (its file name has its own column) (显示名称)."""
        return self.unit or (self.name if self.ok else "—")

    def to_json(self) -> bytes:
        """The record as UTF-8 JSON (序列化); compact, so the C encoder writes it."""
        payload: dict[str, object] = {"format": RECORD_FORMAT}
        for item in fields(self):
            value = getattr(self, item.name)
            payload[item.name] = [vars(v) for v in value] if item.name in _NESTED else value
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes) -> UnitRecord:
        """Read a record written by :meth:`to_json`; raises ValueError/KeyError/TypeError if it is not one."""
        payload = json.loads(data.decode("utf-8"))
        if payload.pop("format", None) != RECORD_FORMAT:
            raise ValueError("record format")
        for key, kind in _NESTED.items():
            payload[key] = [kind(**item) for item in payload.get(key, [])]
        return cls(**payload)


_NESTED: dict[str, type] = {
    "roots": RootScore,
    "metrics": MetricValue,
    "overclaims": Overclaim,
    "findings": FindingRow,
}


@dataclass(frozen=True)
class UnitTask:
    """What a worker needs to build one unit (单位任务); small and picklable."""

    key: str
    source: str
    path: str
    staging: str
    digest: str
    recipe: str
    formats: tuple[str, ...]
    name: str
    templates: str = ""  # a folder of report templates, or "" for the bundled ones


def _reason(exc: XlperfError) -> str:
    """The error's message with sheet and cell, without the temporary path (原因)."""
    where = "，".join(
        part
        for part in (f"工作表「{exc.sheet}」" if exc.sheet else "", f"单元格 {exc.cell}" if exc.cell else "")
        if part
    )
    return f"{where}：{exc.message}" if where else exc.message


def failed_record(task: UnitTask, reason: str, *, retry: bool = False, seconds: float = 0.0) -> UnitRecord:
    """A record for a source that could not be processed (处理失败)."""
    return UnitRecord(
        task.key,
        task.source,
        task.digest,
        task.recipe,
        FAILED,
        reason,
        retry,
        name=task.name,
        seconds=seconds,
    )


def duplicate_record(task: UnitTask, original_key: str, original_label: str) -> UnitRecord:
    """A record for a file identical to an earlier one (重复报送): not processed again, counted once."""
    reason = f"与「{original_label}」内容完全相同，属重复报送：未重复处理，不参与排名和统计"
    return UnitRecord(
        task.key,
        task.source,
        task.digest,
        task.recipe,
        DUPLICATE,
        reason,
        name=task.name,
        copy_of=original_key,
    )


def _number(value: float | None) -> float | None:
    return None if value is None else float(value)


def record_from_build(task: UnitTask, result: BuildResult, files: dict[str, str]) -> UnitRecord:
    """The summary figures of a rebuilt unit (汇总数据), all taken from its evaluation."""
    ev: Evaluation = result.evaluation
    year = ev.data.get("year")
    parsed_year = parse_number(year).value
    return UnitRecord(
        task.key,
        task.source,
        task.digest,
        task.recipe,
        OK,
        name=task.name,
        unit=parse_text(ev.data.get("unit_name")),
        year=str(int(parsed_year))
        if parsed_year is not None and parsed_year.is_integer()
        else parse_text(year),
        total=_number(ev.total),
        grade=ev.grade,
        self_total=_number(ev.self_total),
        self_grade=ev.self_grade,
        roots=[RootScore(s.code, s.name, s.maximum, s.score, _number(s.self_score)) for s in ev.roots],
        metrics=[
            MetricValue(m.key, m.label, ev.metrics[m.key].value, ev.metrics[m.key].reason, m.percent)
            for m in METRICS
        ],
        counts=count_by_severity(result.findings),
        overclaims=[
            Overclaim(s.code, s.name, s.maximum, s.score, s.self_score)
            for s in ev.leaves
            if s.self_score is not None and s.self_score > s.score + 0.005
        ],
        findings=[FindingRow(f.severity, f.check, f.message, result.where(f)) for f in result.findings],
        files=files,
        warnings=list(result.warnings),
    )


def _findings_json(result: BuildResult, source: str) -> bytes:
    ev = result.evaluation

    def item(f: Finding) -> dict[str, object]:
        return {
            "severity": f.severity,
            "level": f.severity_label,
            "check": f.check,
            "message": f.message,
            "where": result.where(f),
            "figures": f.figures,
        }

    payload = {
        "source": source,
        "unit": parse_text(ev.data.get("unit_name")),
        "year": parse_text(ev.data.get("year")),
        "total": ev.total,
        "grade": ev.grade,
        "self_total": ev.self_total,
        "self_grade": ev.self_grade,
        "counts": count_by_severity(result.findings),
        "findings": [item(f) for f in result.findings],
    }
    return json.dumps(payload, ensure_ascii=False, indent=1).encode("utf-8")


def _output_folder(staging: Path) -> Path:
    """The batch output folder a staging folder (``OUT/.xlperf-batch/incoming/<id>``) belongs to."""
    return staging.parent.parent.parent


def build_unit(task: UnitTask) -> UnitRecord:
    """Rebuild one unit into ``task.staging`` (处理单个单位): workbook, reports, findings; never raises.

    A workbook problem gives a failed record with the Chinese reason; so does an unexpected error
    (marked ``retry``), so that one file can never stop the batch.
    """
    from ..report import render_reports

    start = time.perf_counter()
    staging = Path(task.staging)
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with into_staging():  # the staging folder is moved into place whole, its sizes recorded
            # never a path named inside a submitted workbook: it is another unit's file, not ours to open
            result = build_workbook(Path(task.path), staging, named_previous=False)
            assert result.output is not None
            reports = render_reports(
                result.evaluation,
                result.findings,
                staging,
                formats=task.formats,
                templates=Path(task.templates) if task.templates else None,
                locate=result.locator.locate,
            )
            atomic_write_bytes(staging / FINDINGS_FILE, _findings_json(result, task.source))
        files = {"workbook": result.output.name, "findings": FINDINGS_FILE}
        files.update({fmt: path.name for fmt, path in reports.items()})
        record = record_from_build(task, result, files)
        record.sizes = {kind: (staging / name).stat().st_size for kind, name in files.items()}
    except OutputError as exc:  # the output folder, not the workbook: disk full, read-only, no permission
        shutil.rmtree(staging, ignore_errors=True)
        reason = f"无法写入输出文件夹「{_output_folder(staging)}」：{exc.message}"
        return failed_record(task, reason, retry=True, seconds=time.perf_counter() - start)
    except XlperfError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        return failed_record(task, _reason(exc), seconds=time.perf_counter() - start)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        reason = f"无法写入输出文件夹「{_output_folder(staging)}」：{os_error_text(exc)}"
        return failed_record(task, reason, retry=True, seconds=time.perf_counter() - start)
    except Exception as exc:  # an xlperf bug must not stop the other units
        shutil.rmtree(staging, ignore_errors=True)
        reason = f"xlperf 内部错误（{type(exc).__name__}: {exc}），请将该工作簿反馈给维护人员"
        return failed_record(task, reason, retry=True, seconds=time.perf_counter() - start)
    record.seconds = time.perf_counter() - start
    return record


def folder_base(record: UnitRecord, *, with_year: bool = False) -> str:
    """The unit's output folder name before disambiguation (输出文件夹名): its sanitised unit name,
    followed by its 评价年度 with ``with_year`` (an inbox holding several years: ``…人民政府2025``)."""
    name = record.display_name
    if with_year and record.unit and record.year and not name.endswith(record.year):
        name += record.year
    return safe_output_name(name, default="未命名单位")
