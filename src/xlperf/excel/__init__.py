"""Excel layer (Excel 层): macro-enabled workbooks, VBA projects and the ribbon, built on Linux."""
