"""Test session setup (测试环境).

xlwings picks its function decorators and engines when it is first imported, so the variables
that select xlwings Server's Office.js machinery must be set before any test module imports it:
``XLWINGS_ON_SERVER=true`` (``@func``/``@script`` register Office.js metadata instead of being
inert on Linux) and ``XLWINGS_LICENSE_KEY=noncommercial`` (xlwings PRO's remote and calamine
engines; PolyForm Noncommercial, which covers use by a government institution).
"""

from __future__ import annotations

import os

os.environ.setdefault("XLWINGS_ON_SERVER", "true")
os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
