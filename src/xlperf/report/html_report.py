"""The HTML report (网页版报告) and 复核意见: self-contained files, printable, readable on a phone.

jinja2 with autoescape on renders ``templates/report.html.j2`` (with SVG score charts) and
``templates/review.html.j2``, both including ``report.css``; nothing is loaded from the network —
no external fonts, scripts or images.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from ..core.evaluate import Evaluation
from ..io.atomic import atomic_output
from .charts import chart_svg, overview_bars, section_bars, trend_bars
from .templates import (
    REVIEW_FILES,
    TEMPLATE_FILES,
    ReportError,
    jinja_environment,
    rendered_text,
    template_error,
    template_file,
)


def html_context(ev: Evaluation, ctx: dict[str, object]) -> dict[str, object]:
    """The context with inline SVG charts (矢量图) for the overview and each 一级指标."""
    context = dict(ctx)
    context["analysis"] = [
        {**s, "chart": chart_svg(section_bars(ev, s["code"]), title=f"{s['title']}各项得分")}
        for s in ctx["analysis"]  # type: ignore[attr-defined]
    ]
    context["overview"] = {**ctx["overview"], "chart": chart_svg(overview_bars(ev), title="一级指标得分")}  # type: ignore[dict-item]
    trend = trend_bars(ev) if ctx.get("year_over_year") and ev.previous is not None else []
    context["trend"] = chart_svg(trend, title="历年评价得分") if len(trend) > 1 else None
    return context


def _template_problem(
    exc: Exception, user_dir: Path | None, name: str = TEMPLATE_FILES["html"]
) -> ReportError:
    if isinstance(exc, jinja2.TemplateNotFound):
        return ReportError(f"找不到报告模板「{exc.name}」")
    shown = getattr(exc, "filename", None) or template_file(name, user_dir)[1]
    return template_error(exc, shown)


_PROBLEMS = (jinja2.TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError)


def html_template(user_dir: Path | None = None, name: str = TEMPLATE_FILES["html"]) -> jinja2.Template:
    """The compiled HTML template ``name`` (网页模板), the user's if ``user_dir`` has one; a missing or
    malformed template raises :class:`ReportError`."""
    try:
        return jinja_environment(user_dir).get_template(name)
    except _PROBLEMS as exc:
        raise _template_problem(exc, user_dir, name) from None


def render_html_text(ev: Evaluation, ctx: dict[str, object], user_dir: Path | None = None) -> str:
    """The HTML report as text (网页文本); template problems raise :class:`ReportError`."""
    template = html_template(user_dir)
    try:
        return rendered_text(template, template.render(html_context(ev, ctx)))
    except _PROBLEMS as exc:
        raise _template_problem(exc, user_dir) from None


def render_html(ev: Evaluation, ctx: dict[str, object], path: Path, user_dir: Path | None = None) -> Path:
    """Write the HTML report (网页版报告) to ``path`` atomically."""
    text = render_html_text(ev, ctx, user_dir)
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def render_review_html(review: dict[str, object], path: Path, user_dir: Path | None = None) -> Path:
    """Write the 复核意见 as HTML (网页版复核意见) to ``path`` atomically."""
    name = REVIEW_FILES["html"]
    template = html_template(user_dir, name)
    try:
        text = rendered_text(template, template.render(review))
    except _PROBLEMS as exc:
        raise _template_problem(exc, user_dir, name) from None
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
