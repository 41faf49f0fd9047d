"""Render the 自评报告 (生成报告): Word, HTML and the 自评表 workbook from one evaluation.

:func:`render_reports` is the one entry point the CLI, the Excel ribbon and the batch call.  It
builds the template context once — :func:`xlperf.core.report_context.report_context` plus the
presentation details computed here (Chinese ordinals, table rows, which paragraphs are
sub-headings, whether the unit's claimed total differs) — and hands it to each format.

Templates live in the top-level ``templates/`` directory (installed as ``xlperf/templates``); a
user directory passed as ``templates`` overrides the bundled files one by one.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import jinja2

from ..core.evaluate import Evaluation
from ..core.findings import ERROR, INFO, WARNING, Finding
from ..core.numbers import fmt_score, parse_number, parse_text
from ..core.previous import year_over_year
from ..core.report_context import chinese_ordinal, report_context
from ..errors import XlperfError
from ..io.safety import safe_output_name

FORMATS = ("docx", "html", "xlsx")
TEMPLATE_FILES = {"docx": "report.docx", "html": "report.html.j2"}
USER_TEMPLATE_FILES = ("report.docx", "report.html.j2", "report.css")  # what a template folder may replace
GRADE_WORDS = {"优秀": "优", "良好": "良", "中等": "中", "较差": "差", "不合格": "差"}

# Narrative text cells (报告文字) and the heading the template prints above each.
NARRATIVES = {
    "duties": "部门职责",
    "overall_goal": "部门整体支出绩效目标与指标",
    "goal_achievement": "总体绩效目标实现情况",
    "evaluation_org": "自评的组织工作",
    "evaluation_method": "评价方法",
    "evaluation_process": "评价过程",
    "problems": "存在的问题",
    "measures": "改进措施",
}
_ORDINAL = re.compile(
    r"^\s*(?:[（(]\s*[一二三四五六七八九十\d]{1,3}\s*[)）]|[一二三四五六七八九十]{1,3}\s*[、.．]|\d{1,2}\s*[、.．](?!\d))"
    r"[、.．,，:：\s]*"
)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class ReportError(XlperfError):
    """A report cannot be produced (报告无法生成): a broken user template, or errors under ``strict``."""


# --------------------------------------------------------------------------------------------
# presentation context
# --------------------------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Drop characters XML cannot hold (控制字符) so any typed text fits in .docx and .xlsx."""
    return _XML_INVALID.sub("", value)


def is_subheading(text: str) -> bool:
    """A short numbered line such as ``（一）村镇建设`` or ``1、评价方法`` (小标题) rather than a sentence."""
    stripped = text.strip()
    return (
        bool(_ORDINAL.match(stripped))
        and len(stripped) <= 40
        and not any(mark in stripped for mark in "。：:；;")
        and stripped[-1] not in "，,、"
    )


def narrative(paragraphs: Sequence[str], heading: str = "") -> list[dict[str, object]]:
    """The unit's paragraphs as ``{text, heading}``; a first line repeating ``heading`` is dropped."""
    items = [{"text": p, "heading": is_subheading(p)} for p in paragraphs]
    if items and heading and items[0]["heading"]:
        bare = _ORDINAL.sub("", str(items[0]["text"])).strip()
        if bare == heading or bare.rstrip("情况") == heading.rstrip("情况"):
            items = items[1:]
    return items


def _listed(items: list[dict[str, str]], key: str) -> list[dict[str, str]]:
    return [i for i in items if i.get(key, "—") != "—"]


def _money_rows(ctx: dict[str, object]) -> list[dict[str, str]]:
    budget, final = ctx["budget"], ctx["final"]
    assert isinstance(budget, dict) and isinstance(final, dict)
    indent = "\u3000"
    rows = [{"label": "收入合计", "budget": budget["income_total"], "final": final["income_total"]}]
    for b, f in zip(budget["income"], final["income"], strict=True):
        rows.append({"label": indent + b["label"], "budget": b["amount"], "final": f["amount"]})
    rows += [
        {"label": "支出合计", "budget": budget["exp_total"], "final": final["exp_total"]},
        {"label": indent + "基本支出", "budget": budget["basic"], "final": final["basic"]},
        {"label": indent * 2 + "其中：人员经费", "budget": budget["personnel"], "final": final["personnel"]},
        {"label": indent * 2 + "日常公用经费", "budget": budget["public"], "final": final["public"]},
        {"label": indent + "项目支出", "budget": budget["project"], "final": final["project"]},
    ]
    for c in ctx["classes"]:  # type: ignore[attr-defined]
        label = " ".join(filter(None, (c["code"], c["name"])))
        rows.append({"label": indent * 2 + label, "budget": c["budget"], "final": c["final"]})
    rows += [
        {"label": "年初结转结余", "budget": "", "final": ctx["carryover_begin"]},
        {"label": "年末结转结余", "budget": "", "final": ctx["carryover_end"]},
    ]
    return rows


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in "。！？；.!?" else text + "。"


def _analysis(ev: Evaluation, tree: list[object], chart_note: str) -> list[dict[str, object]]:
    """Sections of the indicator analysis (指标分析): 一级 → 二级 → scored items with reasons."""
    sections = []

    def item(line: object, number: int) -> dict[str, object]:
        node = ev.scores[line.code]  # type: ignore[attr-defined]
        evidence = ev.data.indicators[node.row].evidence if node.row < len(ev.data.indicators) else None
        return {
            "ordinal": f"（{number}）",
            "code": line.code,  # type: ignore[attr-defined]
            "name": line.name,  # type: ignore[attr-defined]
            "maximum": line.maximum,  # type: ignore[attr-defined]
            "score": line.score,  # type: ignore[attr-defined]
            "self_score": line.self_score,  # type: ignore[attr-defined]
            "lost": line.lost,  # type: ignore[attr-defined]
            "lost_points": fmt_score(node.lost),
            "reason": _sentence(line.reason),  # type: ignore[attr-defined]
            "evidence": narrative([p.strip() for p in parse_text(evidence).splitlines() if p.strip()]),
        }

    for index, root in enumerate(tree):
        groups: list[dict[str, object]] = []
        loose: list[object] = []
        children = root.children or [root]  # type: ignore[attr-defined]
        for child in children:
            if child.children and child is not root:
                groups.append(
                    {
                        "ordinal": f"{len([g for g in groups if g['name']]) + 1}. ",
                        "name": child.name,
                        "maximum": child.maximum,
                        "score": child.score,
                        "entries": [item(leaf, n) for n, leaf in enumerate(child.children, 1)],
                    }
                )
            else:
                loose.append(child)
        if loose:
            groups.insert(0, {"ordinal": "", "name": "", "maximum": "", "score": "", "entries": []})
            groups[0]["entries"] = [item(leaf, n) for n, leaf in enumerate(loose, 1)]
        name = root.name  # type: ignore[attr-defined]
        sections.append(
            {
                "ordinal": f"（{chinese_ordinal(index + 2)}）",
                "code": root.code,  # type: ignore[attr-defined]
                "title": name if name.endswith("指标") else f"{name}指标",
                "maximum": root.maximum,  # type: ignore[attr-defined]
                "score": root.score,  # type: ignore[attr-defined]
                "self_score": root.self_score,  # type: ignore[attr-defined]
                "lost": root.lost,  # type: ignore[attr-defined]
                "figure": index + 1,
                "caption_note": chart_note,
                "groups": groups,
            }
        )
    return sections


def _score_rows(ctx: dict[str, object], tree: list[object]) -> list[dict[str, object]]:
    """The 自评表 rows with each row's code and whether it lost points (扣分原因 only then)."""
    leaves = []
    for root in tree:
        for child in root.children or [root]:  # type: ignore[attr-defined]
            leaves.extend(child.children or [child])
    rows: list[dict[str, object]] = []
    for row, leaf in zip(ctx["scoring_rows"], leaves, strict=True):  # type: ignore[call-overload]
        rows.append(
            {**row, "code": leaf.code, "lost": leaf.lost, "deduction": row["reason"] if leaf.lost else ""}
        )
    # rowspans for HTML (合并单元格): the first row of a run of equal 一级 (and 二级 within it) spans the run
    for depth, key in ((1, ("level1",)), (2, ("level1", "level2"))):
        start = 0
        while start < len(rows):
            end = start + 1
            ident = tuple(rows[start][k] for k in key)
            while end < len(rows) and rows[start][key[-1]] and tuple(rows[end][k] for k in key) == ident:
                end += 1
            rows[start][f"span{depth}"] = end - start
            for row in rows[start + 1 : end]:
                row[f"span{depth}"] = 0
            start = end
    return rows


def _claim(ctx: dict[str, object]) -> dict[str, bool]:
    """Whether the unit's own total/grade (单位自述) differ from the computed ones."""
    claimed_total, claimed_grade = str(ctx["claimed_total"]), str(ctx["claimed_grade"])
    total_differs = bool(claimed_total) and claimed_total != ctx["total"]
    grade_differs = bool(claimed_grade) and GRADE_WORDS.get(claimed_grade, claimed_grade) != ctx["grade"]
    self_differs = ctx["self_total"] not in ("—", ctx["total"])
    return {
        "stated": bool(claimed_total or claimed_grade),
        "total_differs": total_differs,
        "grade_differs": grade_differs,
        "self_differs": self_differs,
        "any": total_differs or grade_differs or self_differs,
    }


def presentation_context(
    ev: Evaluation,
    findings: list[Finding] | None = None,
    where: Callable[[Finding], str] | None = None,
    *,
    chart_labels_are_codes: bool = True,
) -> dict[str, object]:
    """The template context (报告上下文): ``report_context`` plus what the templates lay out.

    Numbers are the core's formatted text.  Strings are as typed: each format drops the characters
    XML cannot hold from what it writes (:func:`clean_text`), once over the rendered text.
    """
    findings = list(ev.findings if findings is None else findings)
    base = report_context(ev, findings, where)
    tree = base["indicators"]
    assert isinstance(tree, list)
    ctx = dict(base)
    ctx["text"] = {key: narrative(base[key], heading) for key, heading in NARRATIVES.items()}  # type: ignore[arg-type]
    departments = base["departments"]
    assert isinstance(departments, list)
    ctx["departments_count"] = str(len(departments))
    for stage in ("budget", "final"):
        stage_ctx = dict(base[stage])  # type: ignore[call-overload]
        stage_ctx["income_listed"] = _listed(stage_ctx["income"], "amount")
        ctx[stage] = stage_ctx
    ctx["classes_budget"] = _listed(base["classes"], "budget")  # type: ignore[arg-type]
    ctx["classes_final"] = _listed(base["classes"], "final")  # type: ignore[arg-type]
    ctx["money_rows"] = _money_rows(ctx)
    ctx["year_over_year"] = year_over_year(ev)  # 与上年对比, empty without last year's figures
    ctx["metric"] = {m["label"]: {**m, "ok": m["value"] != "无法计算"} for m in base["metrics"]}  # type: ignore[attr-defined]
    name_note = "（深色为得分，浅色为分值，红色为有扣分的指标）"
    ctx["analysis"] = _analysis(ev, tree, name_note)
    ctx["score_rows"] = _score_rows(base, tree)
    maxima = sum(node.maximum for node in ev.roots)
    ctx["score_total"] = {"maximum": fmt_score(maxima) if ev.roots else "—"}
    ctx["claim"] = _claim(base)
    roots = "、".join(f"{r.code} {r.name}" for r in ev.roots)
    ctx["overview"] = {
        "figure": len(ev.roots) + 1,
        "caption_note": f"（{roots}）" if chart_labels_are_codes else name_note,
        "chart": None,
    }
    by_severity: dict[str, list[dict[str, object]]] = {ERROR: [], WARNING: [], INFO: []}
    for row in base["findings"]:  # type: ignore[attr-defined]
        bucket = by_severity.setdefault(row["severity"], [])
        bucket.append({**row, "no": len(bucket) + 1})
    ctx["findings_error"], ctx["findings_warning"], ctx["findings_info"] = (
        by_severity[ERROR],
        by_severity[WARNING],
        by_severity[INFO],
    )
    ctx["n_errors"], ctx["n_warnings"], ctx["n_info"] = (len(by_severity[k]) for k in (ERROR, WARNING, INFO))
    ctx["indicators"] = tree
    return ctx


# --------------------------------------------------------------------------------------------
# templates
# --------------------------------------------------------------------------------------------


def bundled_templates() -> Traversable:
    """The templates shipped with xlperf (内置模板): ``xlperf/templates`` installed, else ``templates/``."""
    try:
        installed = resources.files("xlperf") / "templates"
        if installed.is_dir() and installed.joinpath(TEMPLATE_FILES["html"]).is_file():
            return installed
    except (ModuleNotFoundError, OSError):  # pragma: no cover - xlperf itself is importable here
        pass
    source_tree = Path(__file__).resolve().parents[3] / "templates"
    if source_tree.joinpath(TEMPLATE_FILES["html"]).is_file():
        return source_tree
    raise ReportError("找不到内置报告模板（xlperf/templates），安装可能不完整，请重新安装 xlperf")


def template_file(name: str, user_dir: Path | None) -> tuple[Traversable, str]:
    """The template ``name`` from ``user_dir`` if it has one, else the bundled one; with a display name."""
    if user_dir is not None:
        candidate = Path(user_dir) / name
        if candidate.is_file():
            return candidate, str(candidate)
    return bundled_templates() / name, name


class _TraversableLoader(jinja2.BaseLoader):
    """Loads templates from the user directory first, then the bundled ones (one file at a time)."""

    def __init__(self, user_dir: Path | None) -> None:
        self.user_dir = user_dir

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source, shown = template_file(template, self.user_dir)
        if not source.is_file():
            raise jinja2.TemplateNotFound(template)
        text = source.read_text(encoding="utf-8")
        user_dir = self.user_dir
        if not isinstance(source, Path) or user_dir is None or source.parent != user_dir:
            # bundled: unchanged while running, unless the user adds an overriding file
            return text, shown, lambda: user_dir is None or not (user_dir / template).is_file()
        stamp = source.stat().st_mtime_ns

        def uptodate() -> bool:
            try:
                return (
                    source.stat().st_mtime_ns == stamp and template_file(template, self.user_dir)[0] == source
                )
            except OSError:
                return False

        return text, shown, uptodate


_ENVIRONMENTS: dict[str, jinja2.Environment] = {}


def jinja_environment(user_dir: Path | None = None) -> jinja2.Environment:
    """The HTML environment: autoescape on, undefined names are errors (StrictUndefined).

    One environment per template directory is kept, so compiled templates are reused; a user
    template edited on disk is recompiled on the next render.
    """
    key = str(Path(user_dir).resolve()) if user_dir is not None else ""
    env = _ENVIRONMENTS.get(key)
    if env is None:
        env = jinja2.Environment(
            loader=_TraversableLoader(Path(key) if key else None),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=True,
        )
        _ENVIRONMENTS[key] = env
    return env


def template_error(
    exc: Exception, shown: str, source_lines: Sequence[str] | None = None, part: str | None = None
) -> ReportError:
    """A Chinese :class:`ReportError` naming the template, the line and Jinja's own message.

    ``part`` names the part of a Word template that is not its body (``word/footer1.xml``).
    """
    line = getattr(exc, "lineno", None)
    name = getattr(exc, "filename", None) or getattr(exc, "name", None) or shown
    if line is None:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename and (frame.filename == name or frame.filename.endswith(Path(shown).name)):
                line = frame.lineno
                break
            if frame.filename == "<template>":
                line = frame.lineno
                break
    detail = (getattr(exc, "message", None) or str(exc)).strip().rstrip("。.")
    if isinstance(exc, jinja2.UndefinedError):
        kind = "引用了不存在的数据项"
    elif isinstance(exc, jinja2.TemplateSyntaxError):
        kind = "语法错误"
    else:
        kind = "无法渲染"
    where = f"第 {line} 行" if line else ""
    snippet = ""
    if source_lines is not None and line and 0 < line <= len(source_lines):
        text = re.sub(r"<[^>]+>", "", source_lines[line - 1]).strip()
        where = f"第 {max(line - 1, 1)} 段"  # line 1 is the XML before the first paragraph
        snippet = f"（该处文字：「{text[:60]}」）" if text else ""
    message = (
        f"报告模板「{Path(shown).name}」{f'的「{part}」' if part else ''}{where}{kind}：{detail}{snippet}。"
        "请检查 {{ }} 与 {% %} 是否成对、名称是否拼写正确，或删除自定义模板以使用内置模板"
    )
    return ReportError(message, path=shown if Path(shown).is_absolute() else None)


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def _require_folder(user_dir: Path) -> None:
    if not Path(user_dir).is_dir():
        raise ReportError("自定义模板目录不存在或不是目录", path=str(user_dir))


def check_templates(user_dir: Path, formats: Sequence[str] = FORMATS) -> None:
    """Check a folder of report templates before using it (检查自定义模板): it exists, and the Word and
    HTML templates ``formats`` need compile.  Problems raise :class:`ReportError`."""
    _require_folder(user_dir)
    if "docx" in formats:
        from .docx_report import word_template

        word_template(Path(user_dir))
    if "html" in formats:
        from .html_report import html_template

        html_template(Path(user_dir))


def default_stem(ev: Evaluation) -> str:
    """``单位名称+年度+绩效自评报告`` made safe as a file name (默认文件名)."""
    unit = parse_text(ev.data.get("unit_name"))
    year = parse_text(ev.data.get("year"))
    return safe_output_name(
        f"{unit}{year}年度绩效自评报告" if unit else "", default=f"{year}年度绩效自评报告"
    )


def render_reports(
    ev: Evaluation,
    findings: list[Finding],
    out_dir: Path,
    *,
    formats: Sequence[str] = FORMATS,
    templates: Path | None = None,
    where: Callable[[Finding], str] | None = None,
    stem: str | None = None,
    strict: bool = False,
) -> dict[str, Path]:
    """Write the 自评报告 (生成报告) as Word, HTML and the 自评表 .xlsx; returns ``{format: path}``.

    ``findings`` are listed in the report (errors and warnings in the Word appendix, all in HTML);
    ``where(finding)`` gives their ``工作表!单元格``.  ``templates`` is a directory whose
    ``report.docx`` / ``report.html.j2`` / ``report.css`` replace the bundled files one by one.
    With ``strict`` any error-level finding raises :class:`ReportError` and nothing is written.
    Every file is written atomically.
    """
    if isinstance(formats, str):  # "docx,html" as typed on the command line
        formats = formats.replace("，", ",").split(",")
    wanted = [f.strip().lower().lstrip(".") for f in formats if f and f.strip()]
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown:
        raise ReportError(f"未知的报告格式「{'、'.join(unknown)}」，可选：{'、'.join(FORMATS)}")
    if not wanted:
        raise ReportError(f"未指定报告格式，可选：{'、'.join(FORMATS)}")
    if templates is not None:
        _require_folder(templates)
    errors = [f for f in findings if f.severity == ERROR]
    if strict and errors:
        shown = "；".join(f.message for f in errors[:3]) + ("……" if len(errors) > 3 else "")
        raise ReportError(f"校验发现 {len(errors)} 条错误，按严格模式（--strict）不生成报告：{shown}")
    from .charts import find_cjk_font

    font = find_cjk_font() if "docx" in wanted else None
    ctx = presentation_context(ev, findings, where, chart_labels_are_codes=font is None)
    name = safe_output_name(stem) if stem else default_stem(ev)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from ..errors import OutputError

        raise OutputError(f"无法创建输出目录：{exc.strerror or exc}", path=str(out)) from None
    written: dict[str, Path] = {}
    for fmt in dict.fromkeys(wanted):
        if fmt == "docx":
            from .docx_report import render_docx

            written[fmt] = render_docx(ev, ctx, out / f"{name}.docx", templates, font_path=font)
        elif fmt == "html":
            from .html_report import render_html

            written[fmt] = render_html(ev, ctx, out / f"{name}.html", templates)
        else:
            from .scoresheet import write_scoresheet

            written[fmt] = write_scoresheet(ctx, out / f"{name}-自评表.xlsx")
    return written


def number_or_text(value: str) -> float | str:
    """A formatted score/amount back as a number for a spreadsheet cell, or the text itself (``—``)."""
    parsed = parse_number(value)
    return parsed.value if parsed.value is not None else value
