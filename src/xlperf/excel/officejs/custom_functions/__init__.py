"""xlwings Server's ``custom_functions`` for xlperf (自定义函数): every cell function of xlperf.excel.udfs."""

from xlperf.excel.udfs import *  # noqa: F403 - the module's __all__ is exactly the functions
