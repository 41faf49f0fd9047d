"""Repair a damaged or outdated workbook (升级与修复工作簿): ``xlperf upgrade``.

Finance staff rename sheets, delete names, insert rows and columns with tools that do not update
references, and keep workbooks made by older xlperf versions.  :func:`diagnose_workbook` finds that
damage and explains it in Chinese; :func:`upgrade_workbook` repairs it by generating a fresh workbook
from the contract (:func:`xlperf.workbook.create.new_workbook`) and carrying over every user input.

Inputs are found by what the user sees, not only by defined names: a field by its label in the
sheet (the name is checked against the label and used only when they agree or the label was
edited), a table by its header row (the Excel table's range only when it still matches), a sheet by
its content when it was renamed.  Values keep their exact type (text stays text, an error stays an
error, a formula stays a formula with its cached result); comments and the formats a user added to
input cells are kept; sheets the user added are copied; every other cell the user typed on a
contract sheet that has no place in the new layout is kept on the sheet 「升级前其他内容」.  Nothing a
user typed is dropped silently: the report (Chinese) lists what was changed and what needs a hand.

The input file is never changed unless ``in_place`` is asked, and then only after a backup; the new
workbook is written to a temporary file next to the target and moved into place, and only after it
was re-read and every carried input compared with the original.
"""

from .recover import diagnose_workbook, layout_version
from .result import MAX_OTHER_CELLS, OTHER_SHEET, UpgradeRefused, UpgradeResult
from .write import default_output, upgrade_workbook

__all__ = [
    "MAX_OTHER_CELLS",
    "OTHER_SHEET",
    "UpgradeRefused",
    "UpgradeResult",
    "default_output",
    "diagnose_workbook",
    "layout_version",
    "upgrade_workbook",
]
