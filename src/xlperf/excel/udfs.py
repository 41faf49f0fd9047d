"""Excel cell functions (工作表函数) for xlwings: ``=BUDGET_ADJ_RATE(...)`` and friends in a live workbook.

Every function here is a thin wrapper over :data:`xlperf.core.functions.FUNCTIONS` — one per entry,
same upper-case ASCII name, same arguments — so a cell computes exactly what the headless build
writes.  The wrapper only adapts what Excel hands over:

* a one-cell range arrives as that cell's value, a larger range as a (nested) list, which the core
  sums or flattens as its functions document;
* error cells arrive as their text (``"#DIV/0!"``, via ``err_to_str``), which the core explains;
* blank cells and omitted optional arguments arrive as ``None``, which the core treats as blank;
* anything unexpected becomes a Chinese message in the cell, never a Python traceback.

The same module serves both runtimes.  Classic desktop xlwings (Windows, VBA ``XLPy.CallUDF``)
imports it as the ``UDF Modules`` entry of the ``xlwings.conf`` sheet; xlwings Server
(Office.js, ``xlperf serve``) exposes it as its ``custom_functions``.  The decorators are chosen
at import time: xlwings Server's when ``XLWINGS_ON_SERVER=true``, otherwise ``xw.func``/``xw.arg``
(classic on Windows; inert elsewhere).  :func:`make_udfs` builds the functions for any pair of
decorators, which is how :mod:`xlperf.excel.addin` generates the VBA wrappers on Linux.
"""

from __future__ import annotations

import inspect
import logging
import math
import os
import re
from collections.abc import Callable
from typing import Any

from ..core.functions import FUNCTIONS, SheetFunction

logger = logging.getLogger(__name__)

CATEGORY = "绩效自评"
"""The function-wizard category (函数类别) every function is listed under."""

MAX_HELP = 255
"""Excel's limit for a function or argument description (函数说明长度上限)."""

# VBA keywords and statements a generated wrapper cannot use as an argument name (VBA 保留字).
VBA_RESERVED = frozenset(
    """
    and as boolean byref byte byval call case cbool cbyte ccur cdate cdbl cdec cint clng clnglng clngptr
    close const csng cstr currency cvar cverr date decimal declare defbool defbyte defcur defdate defdbl
    defint deflng deflnglng deflngptr defobj defsng defstr defvar dim do double each else elseif empty
    end endif enum eqv erase error event exit false for friend function get global gosub goto if imp
    implements in input integer is let like line lock long longlong longptr loop lset me mid mod name new
    next not nothing null object on open option optional or paramarray preserve print private property
    public put raiseevent randomize redim rem resume return rset seek select set single static step stop
    string sub then to true type typeof unlock until variant wend while width with withevents write xor
    """.split()
)

_ENGLISH = r"\b(?!min\b|max\b)[A-Za-z]{2,}\b"  # an English word; min/max belong to formulas

__xlwings_func_namespace__ = ""  # bare names in Office.js too; a manifest namespace is added separately


def vba_name(param: str) -> str:
    """The argument name used in Excel and VBA (参数名): the core's, prefixed when VBA reserves it."""
    return f"arg_{param}" if param.lower() in VBA_RESERVED else param


def help_text(text: str) -> str:
    """Chinese help for the function wizard (函数向导说明): English asides dropped, ≤ 255 characters."""
    text = re.sub(r"``([^`]+)``", r"「\1」", text).strip().rstrip(".")
    text = re.sub(rf"\s*\([^()]*{_ENGLISH}[^()]*\)", "", text)  # English asides in parentheses
    clauses = [part.strip() for part in re.split(r";\s*", text)]
    kept = [part for part in clauses if not re.search(_ENGLISH, part)]
    if not kept:  # every clause mixes in English: keep the Chinese head before a colon or English
        kept = [re.split(rf"\s*[:：]|\s*{_ENGLISH}", clauses[0], maxsplit=1)[0]]
    return "；".join(kept).rstrip(" ,，:：;；")[:MAX_HELP]


def core_signature(entry: SheetFunction) -> inspect.Signature:
    """The signature of the core function behind *entry* (核心函数签名): names and which are optional.

    Rate functions are wrapped in a closure over the rate function (``_rate_function``); the
    signature is read from that function, so optional arguments stay optional in Excel.
    """
    impl = entry.impl
    target = inspect.getclosurevars(impl).nonlocals.get("func", impl)
    params = list(inspect.signature(target).parameters.values())
    names = tuple(name for name, _ in entry.params)
    if tuple(p.name for p in params) != names:  # pragma: no cover - guarded by tests
        raise ValueError(f"{entry.name}: cannot derive the signature of {target!r}")
    return inspect.Signature(params)


def cell_value(raw: object) -> object:
    """One argument as the core expects it (参数规整): one-cell ranges unwrapped, errors as their text.

    Lists (ranges) are kept as lists; tuples from COM become lists; an Office.js error or
    formatted-number object becomes its ``basicValue``; ``NaN`` and infinities become ``#NUM!``.
    """
    if isinstance(raw, dict):
        return cell_value(raw.get("basicValue"))
    if isinstance(raw, list | tuple):
        items = [cell_value(item) for item in raw]
        while len(items) == 1 and isinstance(items, list):
            only = items[0]
            if not isinstance(only, list):
                return only
            items = only
        return items
    if isinstance(raw, float) and not math.isfinite(raw):
        return "#NUM!"
    if raw == "":
        return None
    return raw


def _result(value: object) -> object:
    """A cell result: finite numbers, text and blanks pass; anything else becomes text."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else "#NUM!"
    return str(value)


def _wrapper(entry: SheetFunction) -> Callable[..., object]:
    """A plain Python function named like the Excel function, with the core's arguments, all optional
    ones defaulting to ``None`` (an omitted argument is a blank cell, as in the headless build)."""
    core = core_signature(entry)
    params = [
        inspect.Parameter(
            vba_name(p.name),
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=None if p.default is not inspect.Parameter.empty else inspect.Parameter.empty,
        )
        for p in core.parameters.values()
    ]

    def udf(*args: object) -> object:
        try:
            return _result(entry.impl(*(cell_value(arg) for arg in args)))
        except Exception as exc:  # a cell shows a sentence, never a traceback
            logger.exception("%s failed", entry.name)
            return f"无法计算 {entry.name}：参数有误（{type(exc).__name__}: {exc}）"[:MAX_HELP]

    udf.__name__ = udf.__qualname__ = entry.name
    udf.__module__ = __name__
    udf.__doc__ = help_text(entry.description)
    udf.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    udf.__annotations__ = {}
    return udf


def make_udfs(
    func: Callable[..., Any] | None = None, arg: Callable[..., Any] | None = None
) -> dict[str, Callable[..., object]]:
    """Build one function per :data:`FUNCTIONS` entry (生成函数), decorated with *func* and *arg*.

    *func* is an xlwings ``func`` decorator (classic ``xlwings.udfs.xlfunc`` or
    ``xlwings.server.func``), *arg* the matching ``arg``; every argument is read with
    ``err_to_str=True`` and carries its Chinese help.  Without decorators the plain functions
    are returned.
    """
    made = {}
    for name, entry in FUNCTIONS.items():
        udf = _wrapper(entry)
        if func is not None and arg is not None:
            for param, doc in entry.params:
                udf = arg(vba_name(param), doc=doc[:MAX_HELP], err_to_str=True)(udf)
            udf = func(category=CATEGORY, cache=True)(udf)
        made[name] = udf
    return made


def _runtime_decorators() -> tuple[Callable[..., Any], Callable[..., Any]]:
    """xlwings Server's decorators when serving Office.js, otherwise whatever ``xw.func`` is here."""
    if os.environ.get("XLWINGS_ON_SERVER") == "true":
        from xlwings.server import arg, func

        return func, arg
    import xlwings as xw

    return xw.func, xw.arg


_UDFS = make_udfs(*_runtime_decorators())
globals().update(_UDFS)
__all__ = sorted(_UDFS)
