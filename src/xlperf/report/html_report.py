"""The HTML report (网页版报告): one self-contained file, printable, with SVG score charts.

jinja2 with autoescape on renders ``templates/report.html.j2`` (which includes ``report.css``);
nothing is loaded from the network — no external fonts, scripts or images.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from ..core.evaluate import Evaluation
from ..io.atomic import atomic_output
from .charts import chart_svg, overview_bars, section_bars
from .render import TEMPLATE_FILES, ReportError, clean_text, jinja_environment, template_error, template_file


def html_context(ev: Evaluation, ctx: dict[str, object]) -> dict[str, object]:
    """The context with inline SVG charts (矢量图) for the overview and each 一级指标."""
    context = dict(ctx)
    context["analysis"] = [
        {**s, "chart": chart_svg(section_bars(ev, s["code"]), title=f"{s['title']}各项得分")}
        for s in ctx["analysis"]  # type: ignore[attr-defined]
    ]
    context["overview"] = {**ctx["overview"], "chart": chart_svg(overview_bars(ev), title="一级指标得分")}  # type: ignore[dict-item]
    return context


def render_html_text(ev: Evaluation, ctx: dict[str, object], user_dir: Path | None = None) -> str:
    """The HTML report as text (网页文本); template problems raise :class:`ReportError`."""
    env = jinja_environment(user_dir)
    name = TEMPLATE_FILES["html"]
    try:
        template = env.get_template(name)
        return clean_text(template.render(html_context(ev, ctx)))
    except jinja2.TemplateNotFound as exc:
        raise ReportError(f"找不到报告模板「{exc.name}」") from None
    except (jinja2.TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
        shown = getattr(exc, "filename", None) or template_file(name, user_dir)[1]
        raise template_error(exc, shown) from None


def render_html(ev: Evaluation, ctx: dict[str, object], path: Path, user_dir: Path | None = None) -> Path:
    """Write the HTML report (网页版报告) to ``path`` atomically."""
    text = render_html_text(ev, ctx, user_dir)
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
