"""The prepared workbook (工作簿) — the user's contract — and its headless build with openpyxl.

* :mod:`.contract` — sheets, defined names, tables and columns: the names other systems write to;
* :mod:`.create` — generate a new workbook (``xlperf new``);
* :mod:`.read` — read a workbook's inputs by defined names and table headers into :class:`UnitData`;
* :mod:`.formulas` — the formula text of every computed cell;
* :mod:`.build` — read, evaluate, write formulas with their computed values into a copy.
"""
