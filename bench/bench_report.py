"""Benchmark the report renderers (报告生成耗时) against empty-template baselines in the same run.

    PYTHONPATH=src python bench/bench_report.py [--repeat N]

For the 高邑镇 2024 example it times, as the median of N runs: building the template context,
drawing the Word report's score charts (得分图, PNG) alone, rendering each format through
``render_reports`` (context included, file written) — the 复核意见 too; the docx once more with its
charts drawn anew, as for a unit whose scores no earlier unit had (the same bars are drawn once per
process) — and the baselines — docxtpl rendering and
saving an empty .docx template, jinja2 rendering an empty template, openpyxl saving an empty
workbook.  It prints milliseconds and each format's ratio to its baseline (docx → docxtpl,
html → jinja2, xlsx → openpyxl).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import jinja2
from docx import Document
from docxtpl import DocxTemplate
from openpyxl import Workbook

from timing import median_ms
from xlperf.core.evaluate import evaluate
from xlperf.examples import example_data
from xlperf.report import presentation_context, render_reports
from xlperf.report.charts import _chart_png, _chart_svg, chart_png, find_cjk_font, overview_bars, section_bars


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    ev = evaluate(example_data())
    font = find_cjk_font()
    charts = [overview_bars(ev)] + [section_bars(ev, root.code) for root in ev.roots]
    empty_docx = io.BytesIO()
    Document().save(empty_docx)

    def docxtpl_empty() -> None:
        tpl = DocxTemplate(io.BytesIO(empty_docx.getvalue()))
        tpl.render({}, jinja2.Environment(autoescape=True), autoescape=True)
        tpl.save(io.BytesIO())

    def jinja_empty() -> None:
        jinja2.Environment(autoescape=True).from_string("").render({})

    def openpyxl_empty() -> None:
        Workbook().save(io.BytesIO())

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)

        def fmt(name: str) -> Callable[[], object]:
            return lambda: render_reports(ev, ev.findings, out, formats=[name])

        def drawn(func: Callable[[], object]) -> Callable[[], object]:
            """``func`` drawing its charts anew, as for a unit whose scores no other unit had."""

            def run() -> object:
                _chart_png.cache_clear()
                _chart_svg.cache_clear()
                return func()

            return run

        results = {
            "context": median_ms(lambda: presentation_context(ev, ev.findings), args.repeat, warm_up=True),
            f"charts ({len(charts)} PNG)": median_ms(
                drawn(lambda: [chart_png(bars, font_path=font) for bars in charts]), args.repeat, warm_up=True
            ),
            "docx": median_ms(fmt("docx"), args.repeat, warm_up=True),
            "docx, charts drawn anew": median_ms(drawn(fmt("docx")), args.repeat, warm_up=True),
            "html": median_ms(fmt("html"), args.repeat, warm_up=True),
            "xlsx": median_ms(fmt("xlsx"), args.repeat, warm_up=True),
            "review (复核意见 docx + html)": median_ms(fmt("review"), args.repeat, warm_up=True),
            "all three": median_ms(lambda: render_reports(ev, ev.findings, out), args.repeat, warm_up=True),
        }
    baselines = {
        "docxtpl empty .docx": median_ms(docxtpl_empty, args.repeat, warm_up=True),
        "jinja2 empty template": median_ms(jinja_empty, args.repeat, warm_up=True),
        "openpyxl empty workbook": median_ms(openpyxl_empty, args.repeat, warm_up=True),
    }
    pairs = {
        "docx": "docxtpl empty .docx",
        "html": "jinja2 empty template",
        "xlsx": "openpyxl empty workbook",
    }
    print(f"xlperf report benchmark — 高邑镇 2024 example, median of {args.repeat} runs")
    print(f"chart font: {font or 'none (codes as chart labels)'}")
    print(f"{'what':<32}{'ms':>10}{'ratio':>12}")
    for name, ms in baselines.items():
        print(f"{'baseline ' + name:<32}{ms:>10.2f}{'':>12}")
    for name, ms in results.items():
        base = pairs.get(name)
        ratio = f"{ms / baselines[base]:.1f}x" if base else ""
        print(f"{name:<32}{ms:>10.2f}{ratio:>12}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
