"""xlperf：部门整体支出绩效自评（department overall-expenditure performance self-evaluation）.

The package is a pure core (:mod:`xlperf.core`) wrapped by adapters: the openpyxl workbook
layer, the report renderers, the xlwings functions and the command line.  Nothing heavy is
imported here.
"""

__version__ = "0.1.0"
