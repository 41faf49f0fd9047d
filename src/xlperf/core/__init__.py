"""The pure core of xlperf (核心计算): numbers, rates, rules, rubric, checks and evaluation.

Nothing in this package imports Excel, file-format, template or CLI libraries; adapters
(workbook, report, excel, cli) call into it.
"""
