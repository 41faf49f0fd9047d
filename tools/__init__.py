"""Build-time and test-only code (构建与测试工具), kept out of the installed ``xlperf`` package.

* :mod:`tools.template_builder` — builds ``templates/report.docx`` and ``review.docx``
  (``python -m tools.template_builder``, from the repository root);
* :mod:`tools.generate` — varied workbooks for tests and benchmarks;
* :mod:`tools.bookjson` — the JSON an Office.js client sends for a workbook, for the Excel tests.
"""
