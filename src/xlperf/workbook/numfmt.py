"""Excel number formats (数字格式): which cell styles show a date, a duration or a percent.

The reader needs only these three questions answered for the styles of a workbook, and answering
them through ``openpyxl.styles.numbers`` would import the whole of openpyxl (≈150 ms, numpy
included) at every ``xlperf check``.  The rules are openpyxl's, so a cell decodes exactly as
``openpyxl.load_workbook`` gives it; ``tests/test_numfmt.py`` compares both on every built-in format.
"""

from __future__ import annotations

import datetime
import re

#: The built-in number formats by ``numFmtId`` (ECMA-376 Part 1, 18.8.30), as openpyxl lists them.
BUILTIN_FORMATS = {
    0: "General",
    1: "0",
    2: "0.00",
    3: "#,##0",
    4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)',
    6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: "0%",
    10: "0.00%",
    11: "0.00E+00",
    12: "# ?/?",
    13: "# ??/??",
    14: "mm-dd-yy",
    15: "d-mmm-yy",
    16: "d-mmm",
    17: "mmm-yy",
    18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM",
    20: "h:mm",
    21: "h:mm:ss",
    22: "m/d/yy h:mm",
    37: "#,##0_);(#,##0)",
    38: "#,##0_);[Red](#,##0)",
    39: "#,##0.00_);(#,##0.00)",
    40: "#,##0.00_);[Red](#,##0.00)",
    41: r'_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)',
    42: r'_("$"* #,##0_);_("$"* \(#,##0\);_("$"* "-"_);_(@_)',
    43: r'_(* #,##0.00_);_(* \(#,##0.00\);_(* "-"??_);_(@_)',
    44: r'_("$"* #,##0.00_)_("$"* \(#,##0.00\)_("$"* "-"??_)_(@_)',
    45: "mm:ss",
    46: "[h]:mm:ss",
    47: "mmss.0",
    48: "##0.0E+0",
    49: "@",
}

#: The first day of Excel's two date systems (日期基准): 1900 (Windows) and 1904 (old Mac).
WINDOWS_EPOCH = datetime.datetime(1899, 12, 30)
MAC_EPOCH = datetime.datetime(1904, 1, 1)

# Quoted text and bracketed locale/colour codes hold no date parts; [h] [mm] [ss] are elapsed time.
_LITERALS = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_PART = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_ELAPSED = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)


def is_date_format(code: str | None) -> bool:
    """Whether a number format shows a date or time (日期格式): a d/m/y/h/s outside quotes and brackets
    in its first (positive) section."""
    if code is None:
        return False
    return _DATE_PART.search(_LITERALS.sub("", code.split(";")[0])) is not None


def is_timedelta_format(code: str | None) -> bool:
    """Whether a number format shows elapsed time (时长格式): ``[h]:mm``, ``[mm]:ss``, ``[ss]``."""
    if code is None:
        return False
    return _ELAPSED.search(code.split(";")[0]) is not None
