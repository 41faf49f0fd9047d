"""The 自评报告 (报告): Word and HTML from ``templates/``, the 自评表 workbook, and the 复核意见.

``render_reports(ev, findings, out_dir)`` is the entry point; see :mod:`.render`.
"""

from __future__ import annotations

from .render import (
    DEFAULT_FORMATS,
    FORMATS,
    check_templates,
    presentation_context,
    render_reports,
)
from .templates import USER_TEMPLATE_FILES, ReportError

__all__ = [
    "DEFAULT_FORMATS",
    "FORMATS",
    "USER_TEMPLATE_FILES",
    "ReportError",
    "check_templates",
    "presentation_context",
    "render_reports",
]
