"""``routers/custom.py`` of the xlwings Server project: the report downloads (报告下载)."""

from xlperf.excel.server import report_router

router = report_router()
