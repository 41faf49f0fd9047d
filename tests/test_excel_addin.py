"""The macro-enabled workbook for desktop Excel, built on Linux and checked part by part.

What can be checked without Excel is checked against an independent reader (oletools) and
against the Python side: every VBA module reads back identical to its source, every ribbon
callback exists, the UDF wrappers match the Python functions one to one, the function-wizard
help decodes to the core's Chinese text.  What only Excel can confirm is in WINDOWS-SMOKE.md.
"""

from __future__ import annotations

import importlib
import inspect
import re
import zipfile
from pathlib import Path

import pytest
import xlwings
from lxml import etree
from openpyxl import load_workbook

from helpers_excel import example_files, same_cell
from xlperf.core.functions import FUNCTIONS, PARAM_DOCS
from xlperf.excel import actions, udfs
from xlperf.excel.addin import (
    CONFIG_SHEET,
    UDF_MODULE,
    build_macro_workbook,
    config_rows,
    customui_xml,
    main,
    vba_escape,
    vba_modules,
    vba_unescape,
    verify_macro_workbook,
    xlwings_dir,
)
from xlperf.excel.vbaproject import VbaModule, read_vba_modules
from xlperf.excel.xlsm import build_xlsm
from xlperf.io.xlsxpatch import Formula
from xlperf.workbook.build import evaluate_workbook
from xlperf.workbook.cells import computed_cells
from xlperf.workbook.read import read_workbook

NS = {"ui": "http://schemas.microsoft.com/office/2006/01/customui"}


@pytest.fixture(scope="module")
def xlsm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_macro_workbook(tmp_path_factory.mktemp("xlsm") / "绩效自评模板.xlsm")


@pytest.fixture(scope="module")
def stored(xlsm: Path) -> dict[str, str]:
    with zipfile.ZipFile(xlsm) as archive:
        return read_vba_modules(archive.read("xl/vbaProject.bin"))


def test_the_built_workbook_verifies(xlsm: Path) -> None:
    assert verify_macro_workbook(xlsm) == []
    assert main(["verify", str(xlsm)]) == 0


def test_the_build_is_reproducible(xlsm: Path, tmp_path: Path) -> None:
    again = build_macro_workbook(tmp_path / "again.xlsm")
    assert again.read_bytes() == xlsm.read_bytes()


def test_every_module_reads_back_identical_and_only_once(stored: dict[str, str], xlsm: Path) -> None:
    expected = {m.name: m.code for m in vba_modules(xlsm.name)}
    documents = {name for name in stored if name == "ThisWorkbook" or re.fullmatch(r"Sheet\d+", name)}
    assert set(stored) == set(expected) | documents
    assert len(documents) == len(load_workbook(xlsm, keep_vba=True).sheetnames) + 1
    for name, code in expected.items():
        assert stored[name] == code, name
        assert code.isascii(), name
        assert max(len(line) for line in code.splitlines()) < 1024, name
    assert stored["xlwings"] == (xlwings_dir() / "xlwings.bas").read_bytes().decode("cp1252")
    assert f'Lib "xlwings64-{xlwings.__version__}.dll"' in stored["xlwings"]


def _vba_functions(code: str) -> dict[str, list[str]]:
    return {
        m[1]: [p.strip() for p in m[2].split(",")]
        for m in re.finditer(r"^Function (\w+)\(([^)]*)\)", code, re.M)
    }


def test_udf_wrappers_match_the_python_functions_one_to_one(stored: dict[str, str]) -> None:
    code = stored["xlwings_udfs"]
    wrappers = _vba_functions(code)
    assert sorted(wrappers) == sorted(FUNCTIONS) == sorted(udfs.__all__)
    for name, params in wrappers.items():
        signature = inspect.signature(getattr(udfs, name)).parameters.values()
        python = [("Optional " if p.default is not p.empty else "") + p.name for p in signature]
        assert params == python, name
        plain = ", ".join(p.removeprefix("Optional ") for p in params)
        call = f'{name} = XLPy.CallUDF("{UDF_MODULE}", "{name}", Array({plain}), ThisWorkbook, Application.Caller)'
        assert call in code, name
    assert importlib.import_module(UDF_MODULE) is udfs


def test_function_wizard_help_decodes_to_the_core_text(stored: dict[str, str]) -> None:
    code = stored["xlperf_help"]
    text = r'U\("((?:[^"]|"")*)"\)'
    described = re.findall(
        rf'Describe "(\w+)", {text}, category, Array\( _\r\n((?:\s+U\("(?:[^"]|"")*"\)(?:, _|\))\r\n)+)', code
    )
    assert sorted(name for name, _, _ in described) == sorted(FUNCTIONS)
    for name, description, args in described:
        entry = FUNCTIONS[name]
        assert vba_unescape(description) == udfs.help_text(entry.description)
        decoded = [vba_unescape(a) for a in re.findall(text, args)]
        assert decoded == [PARAM_DOCS[p] for p, _ in entry.params], name
    assert 'category = U("' + vba_escape(udfs.CATEGORY) + '")' in code
    assert "xlperf_help.RegisterHelp" in stored["ThisWorkbook"] and "Public Sub RegisterHelp()" in code
    for text in ("绩效自评", '引号"与\\反斜杠', "≥ 90%", "𠀀"):
        assert vba_escape(text).isascii() and vba_unescape(vba_escape(text)) == text


def test_ribbon_buttons_dispatch_to_the_actions(stored: dict[str, str]) -> None:
    ribbon = etree.fromstring(customui_xml().encode("utf-8"))
    (tab,) = ribbon.findall(".//ui:tab", NS)
    assert tab.get("label") == "绩效自评"
    buttons = {b.get("tag"): b for b in ribbon.findall(".//ui:button", NS)}
    assert {tag: b.get("label") for tag, b in buttons.items()} == actions.ALL_LABELS
    assert {b.get("onAction") for b in buttons.values()} == {"PerfRibbon.OnAction"}
    code = stored["PerfRibbon"]
    assert "Public Sub OnAction(control As IRibbonControl)" in code and "RunAction control.Tag" in code
    macros = dict(re.findall(r'Public Sub (Perf\w+)\(\)\r\n    RunAction "(\w+)"', code))
    assert sorted(macros.values()) == sorted(actions.ACTIONS)
    module, function = re.search(
        r'RunPython "import ([\w.]+) as xlperf_actions; xlperf_actions\.(\w+)\(', code
    ).groups()
    assert getattr(importlib.import_module(module), function) is actions.run_caller


def test_config_sheet_names_the_udf_module(xlsm: Path) -> None:
    wb = load_workbook(xlsm, keep_vba=True)
    sheet = wb[CONFIG_SHEET]
    assert sheet.sheet_state == "hidden"
    rows = [(k, v or "") for k, v in sheet.iter_rows(values_only=True)]
    assert rows == config_rows() and dict(rows)["UDF MODULES"] == UDF_MODULE


def test_an_existing_workbook_becomes_macro_enabled_with_its_results(tmp_path: Path) -> None:
    new, _ = example_files()
    out = tmp_path / "out"
    assert main(["build", "-o", str(out), "--from", str(new), "--interpreter", r"C:\xlperf\pythonw.exe"]) == 0
    xlsm = out / "高邑镇2024.xlsm"
    assert read_workbook(xlsm).data == read_workbook(new).data
    config = dict(load_workbook(xlsm, keep_vba=True)[CONFIG_SHEET].iter_rows(values_only=True))
    assert config["INTERPRETER_WIN"] == r"C:\xlperf\pythonw.exe"
    inputs, ev, _, _ = evaluate_workbook(new)
    cached = load_workbook(xlsm, data_only=True)
    for (sheet, cell), value in computed_cells(inputs.locator, ev).items():
        if isinstance(value, Formula):
            assert same_cell(cached[sheet][cell].value, value.value), (sheet, cell)
    with zipfile.ZipFile(xlsm) as archive:
        assert b"fullCalcOnLoad" not in archive.read("xl/workbook.xml")


def test_verification_catches_a_missing_callback(tmp_path: Path) -> None:
    new, _ = example_files()
    broken = tmp_path / "broken.xlsm"
    modules = [m for m in vba_modules() if m.name != "PerfRibbon"]
    build_xlsm(
        new,
        broken,
        [*modules, VbaModule("PerfRibbon", "Public Sub Other()\r\nEnd Sub\r\n", "standard")],
        customui_xml(),
    )
    problems = verify_macro_workbook(broken)
    assert any("reads back different" in p for p in problems)
    assert any("module PerfRibbon has no Sub OnAction" in p for p in problems)
    assert any(CONFIG_SHEET in p for p in problems)
    assert main(["verify", str(broken)]) == 1


def test_the_guides_name_what_the_code_has(stored: dict[str, str]) -> None:
    root = Path(__file__).resolve().parents[1]
    guide = (root / "docs/excel.md").read_text(encoding="utf-8")
    smoke = (root / "WINDOWS-SMOKE.md").read_text(encoding="utf-8")
    for label in actions.LABELS.values():
        assert f"**{label}**" in guide and label in smoke
    assert "python -m xlperf.excel.addin build" in guide and "xlperf serve" in guide and UDF_MODULE in guide
    macros = re.findall(r"Public Sub (Perf\w+)\(\)", stored["PerfRibbon"])
    modules = [m.name for m in vba_modules() if m.kind == "standard"]
    assert all(f"`{name}`" in smoke for name in [*macros, *modules])
    assert FUNCTIONS["BUDGET_ADJ_RATE"](12.5, 0, None).startswith("无法计算预算调整率：缺少")
