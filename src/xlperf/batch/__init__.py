"""The bureau's batch (批量处理): every department's workbook in one run, with a summary and a dashboard.

``run_batch(inbox, out)`` (the ``xlperf batch`` command) rebuilds every workbook under a folder and
inside its .zip files into one folder per unit — the workbook with its results, the reports and the
findings — then writes 汇总.xlsx and the self-contained 汇总.html.  See :mod:`.run` for the output
layout, re-runs and interruptions; :mod:`.generate` makes varied workbooks for tests and benchmarks.
"""

from .run import EXIT_ERRORS, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, BatchResult, default_jobs, run_batch

__all__ = [
    "EXIT_ERRORS",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "BatchResult",
    "default_jobs",
    "run_batch",
]
