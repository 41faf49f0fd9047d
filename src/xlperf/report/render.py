"""Render the 自评报告 (生成报告) — Word, HTML and the 自评表 workbook — and the 复核意见.

:func:`render_reports` is the one entry point the CLI, the Excel ribbon and the batch call.  It
builds the template context once — :func:`xlperf.report.report_context.report_context` plus the
presentation details computed here (outline numbers, table rows and spans, chart captions) — and
hands it to each format.  The 自评报告 is the unit's: one score, no findings; while error-level
findings remain it is marked 征求意见稿.  The 复核意见 (``review``) is the bureau's, from
:func:`xlperf.report.review_context.review_context`, as Word and HTML.

Templates live in the top-level ``templates/`` directory (installed as ``xlperf/templates``); a
user directory passed as ``templates`` overrides the bundled files one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..core.evaluate import Evaluation
from ..core.findings import ERROR, Finding
from ..core.numbers import fmt_score, parse_text
from ..core.previous import year_over_year
from ..io.filenames import safe_output_name
from .charts import chart_key, overview_bars, section_bars
from .report_context import IndicatorLine, report_context
from .review_context import Locate, review_context
from .templates import REVIEW_FILES, ReportError

FORMATS = ("docx", "html", "xlsx", "review")
DEFAULT_FORMATS = ("docx", "html", "xlsx")  # the unit's own files; ``review`` is the bureau's 复核意见


# --------------------------------------------------------------------------------------------
# presentation context
# --------------------------------------------------------------------------------------------


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


def _circled(number: int) -> str:
    """①…⑳ for the items under a 二级指标 (fifth outline level), then ``21.``."""
    return chr(0x2460 + number - 1) if 0 < number <= 20 else f"{number}."


def _analysis(tree: list[IndicatorLine], chart_note: str) -> list[dict[str, object]]:
    """Sections of the indicator analysis (分项指标分析): 一级 → 二级 → scored items in prose."""
    sections = []

    def item(line: IndicatorLine, number: int, grouped: bool) -> dict[str, object]:
        return {
            "ordinal": _circled(number) if grouped else f"（{number}）",
            "code": line.code,
            "name": line.name,
            "maximum": line.maximum,
            "score": line.score,
            "lost": line.lost,
            "prose": line.prose,
        }

    for index, root in enumerate(tree):
        groups: list[dict[str, object]] = []
        loose: list[IndicatorLine] = []
        for child in root.children or [root]:
            if child.children and child is not root:
                groups.append(
                    {
                        "ordinal": f"（{len([g for g in groups if g['name']]) + 1}）",
                        "name": child.name,
                        "maximum": child.maximum,
                        "score": child.score,
                        "entries": [item(leaf, n, True) for n, leaf in enumerate(child.children, 1)],
                    }
                )
            else:
                loose.append(child)
        if loose:
            groups.insert(0, {"ordinal": "", "name": "", "maximum": "", "score": "", "entries": []})
            groups[0]["entries"] = [item(leaf, n, False) for n, leaf in enumerate(loose, 1)]
        sections.append(
            {
                "ordinal": f"{index + 1}.",
                "code": root.code,
                "title": root.name if root.name.endswith("指标") else f"{root.name}指标",
                "maximum": root.maximum,
                "score": root.score,
                "lost": root.lost,
                "figure": index + 1,
                "caption_note": chart_note,
                "groups": groups,
            }
        )
    return sections


def _score_rows(ctx: dict[str, object]) -> list[dict[str, object]]:
    """The 自评表 rows with whether each lost points, and the rowspans of their 一级/二级 cells
    (合并单元格: ``span1``/``span2``, 0 under the cell above) for HTML and the Word template."""
    rows: list[dict[str, object]] = [
        {**row, "lost": bool(row["reason"]), "deduction": row["reason"]}
        for row in ctx["scoring_rows"]  # type: ignore[attr-defined]
    ]
    # the first row of a run of equal 一级 (and 二级 within it) spans the run
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


def presentation_context(
    ev: Evaluation,
    findings: list[Finding] | None = None,
    *,
    chart_labels_are_codes: bool = True,
) -> dict[str, object]:
    """The 自评报告's template context (报告上下文): ``report_context`` plus what the templates lay out.

    Numbers are the core's formatted text.  Strings are as typed: each format drops the characters
    XML cannot hold from what it writes (:func:`.text.clean_text`), once over the rendered text.
    """
    findings = list(ev.findings if findings is None else findings)
    base = report_context(ev, findings)
    tree = base["indicators"]
    assert isinstance(tree, list)
    ctx = dict(base)
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
    ctx["analysis"] = _analysis(tree, name_note)
    ctx["score_rows"] = _score_rows(base)
    maxima = sum(node.maximum for node in ev.roots)
    ctx["score_total"] = {"maximum": fmt_score(maxima) if ev.roots else "—"}
    ctx["overview"] = {
        "figure": len(ev.roots) + 1,
        "caption_note": f"（{chart_key(overview_bars(ev))}）" if chart_labels_are_codes else name_note,
        "chart": None,
    }
    if chart_labels_are_codes:
        for section in ctx["analysis"]:  # type: ignore[attr-defined]
            section["caption_note"] = f"（{chart_key(section_bars(ev, section['code']))}）"
    text = base["text"]
    assert isinstance(text, dict)
    ctx["has"] = {key: bool(items) for key, items in text.items()}
    return ctx


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
    from .docx_report import word_template
    from .html_report import html_template

    if "docx" in formats:
        word_template(Path(user_dir))
    if "html" in formats:
        html_template(Path(user_dir))
    if "review" in formats:
        word_template(Path(user_dir), REVIEW_FILES["docx"])
        html_template(Path(user_dir), REVIEW_FILES["html"])


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
    formats: Sequence[str] = DEFAULT_FORMATS,
    templates: Path | None = None,
    locate: Locate | None = None,
    stem: str | None = None,
    strict: bool = False,
) -> dict[str, Path]:
    """Write the 自评报告 (生成报告) and, for ``review``, the 复核意见; returns ``{format: path}``.

    ``docx``, ``html`` and ``xlsx`` are the unit's report as Word, HTML and the 自评表; ``review``
    writes the 复核意见 as Word (key ``review``) and HTML (key ``review-html``), naming each finding's
    cells through ``locate(ref)`` → ``(工作表, 单元格)``.  ``findings`` decide the report's
    征求意见稿 mark.  ``templates`` is a directory whose files (:data:`USER_TEMPLATE_FILES`) replace
    the bundled ones one by one.  With ``strict`` any error-level finding raises
    :class:`ReportError` and nothing is written.  Every file is written atomically.
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
    # the 复核意见 has its own context: the report's is built only for the report's formats
    ctx = (
        presentation_context(ev, findings, chart_labels_are_codes=font is None)
        if set(wanted) - {"review"}
        else {}
    )
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
        elif fmt == "xlsx":
            from .scoresheet import write_scoresheet

            written[fmt] = write_scoresheet(ctx, out / f"{name}-自评表.xlsx")
        else:
            from .docx_report import render_review_docx
            from .html_report import render_review_html

            review = review_context(ev, findings, locate)
            review_name = f"{name[:-2]}复核意见" if name.endswith("报告") else f"{name}-复核意见"
            written["review"] = render_review_docx(review, out / f"{review_name}.docx", templates)
            written["review-html"] = render_review_html(review, out / f"{review_name}.html", templates)
    return written
