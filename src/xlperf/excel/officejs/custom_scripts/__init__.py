"""xlwings Server's ``custom_scripts`` for xlperf (脚本): 重新计算, 数据校验, 生成Word报告, 生成HTML报告."""

from xlwings.server import script

from xlperf.excel.server import make_scripts

globals().update(make_scripts(script))
