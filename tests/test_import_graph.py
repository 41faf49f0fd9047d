"""The package's import graph (模块依赖): no cycle, and every layer imports only the layers below it.

Every ``import`` in ``src/xlperf`` counts, also those inside functions (the lazy imports that keep
start-up fast), so a cycle cannot hide behind a local import.  The layers, bottom up:

* ``errors`` (and the tiny ``xlperf`` package itself) — shared by everything;
* ``core`` — the pure functions: it imports nothing else of xlperf, and no adapter library;
* ``io`` (file formats and safety), ``rubrics`` and ``examples`` (packaged data);
* ``report`` and ``workbook`` — the report writers and the workbook contract;
* ``excel`` and ``batch`` — the Excel layer and the bureau's batch;
* ``cli`` (with ``cli_zh``) — the command line, which nothing below imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "xlperf"

#: What each part of the package may import (besides itself).
ALLOWED: dict[str, set[str]] = {
    "xlperf": set(),
    "errors": set(),
    "cli_zh": set(),
    "core": {"errors"},
    "io": {"errors"},
    "rubrics": {"errors", "core"},
    "examples": {"errors", "core", "rubrics"},
    "report": {"xlperf", "errors", "core", "io"},
    "workbook": {"xlperf", "errors", "core", "io", "rubrics", "examples"},
    "excel": {"xlperf", "errors", "cli_zh", "core", "io", "rubrics", "examples", "report", "workbook"},
    "batch": {"xlperf", "errors", "core", "io", "rubrics", "examples", "report", "workbook"},
    "cli": {
        "xlperf",
        "errors",
        "cli_zh",
        "core",
        "io",
        "rubrics",
        "examples",
        "report",
        "workbook",
        "excel",
        "batch",
    },
}
#: Libraries that read or write files, draw or serve: never in the pure core.
ADAPTERS = (
    "openpyxl",
    "docx",
    "docxtpl",
    "jinja2",
    "lxml",
    "xlwings",
    "PIL",
    "pandas",
    "python_calamine",
    "fastapi",
)


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> tuple[set[str], set[str]]:
    """The xlperf modules and the outside top-level packages that module ``name`` imports."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    ours: set[str] = set()
    outside: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            targets = [(base, alias.name) for alias in node.names]
        else:
            continue
        for module, member in targets:
            if module.split(".")[0] != "xlperf":
                outside.add(module.split(".")[0])
                continue
            full = f"{module}.{member}" if member else module
            target = full if full in MODULES else module
            while target not in MODULES:  # ``import xlperf.a.b`` of a package's attribute
                target = target.rpartition(".")[0]
            if target != name:
                ours.add(target)
    return ours, outside


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "xlperf"


def test_every_part_of_the_package_has_a_layer() -> None:
    assert {_part(m) for m in MODULES} == set(ALLOWED)


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_each_layer_imports_only_the_layers_below_it(part: str) -> None:
    upward = sorted(
        f"{name} imports {target}"
        for name, (ours, _) in GRAPH.items()
        if _part(name) == part
        for target in ours
        if _part(target) != part and _part(target) not in ALLOWED[part]
    )
    assert not upward, upward


def test_nothing_imports_the_command_line() -> None:
    importers = sorted(name for name, (ours, _) in GRAPH.items() if "xlperf.cli" in ours)
    assert importers == [], importers


def test_the_core_imports_no_adapter_library() -> None:
    found = sorted(
        f"{name} imports {library}"
        for name, (_, outside) in GRAPH.items()
        if _part(name) == "core"
        for library in outside
        if library in ADAPTERS
    )
    assert not found, found


def test_there_is_no_import_cycle() -> None:
    """Tarjan's strongly connected components over the module graph: none larger than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node][0]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in GRAPH:
        if node not in index:
            visit(node)
    assert cycles == [], cycles


def test_the_graph_sees_local_and_relative_imports() -> None:
    """The reader itself: a lazy import inside a function and a relative one both count."""
    cli_imports = GRAPH["xlperf.cli"][0]
    assert "xlperf.workbook.upgrade" in cli_imports  # imported inside a command function
    assert "xlperf.core.results" in GRAPH["xlperf.core.checks"][0]  # ``from .results import …``
    assert "openpyxl" in GRAPH["xlperf.workbook.create"][1]
