"""``xlperf serve`` over HTTP on loopback: xlwings Server's real app with xlperf's project folder.

Requests carry the JSON the Office.js client sends; the manifest's buttons are followed through
``ribbon.js`` (run under Node.js when it is installed) to the scripts they call.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

# Like pytest.importorskip, without importing: xlwings Server reads its settings at import, which
# must happen after server.configure() (see the client fixture).
if importlib.util.find_spec("xlwings_server") is None:
    pytest.skip("the optional extra xlperf[server] is not installed", allow_module_level=True)

import xlwings.server
from docx import Document
from lxml import etree

from test_excel_support import Recalc, Sheets, example_files, same_cell
from xlperf.core.functions import FUNCTIONS
from xlperf.excel import actions, server, udfs
from xlperf.excel.bookjson import book_payload, custom_function_body
from xlperf.io.xlsxpatch import Formula
from xlperf.workbook.build import evaluate_workbook
from xlperf.workbook.cells import computed_cells

OFFICE = {
    "o": "http://schemas.microsoft.com/office/appforoffice/1.1",
    "bt": "http://schemas.microsoft.com/office/officeappbasictypes/1.0",
    "v": "http://schemas.microsoft.com/office/taskpaneappversionoverrides",
    "xsi": "http://www.w3.org/2001/XMLSchema-instance",
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> object:
    """A TestClient of xlwings Server configured as ``xlperf serve`` configures it."""
    import sys

    from fastapi.testclient import TestClient

    assert "xlwings_server.config" not in sys.modules, "xlwings Server was imported before configure()"
    saved = dict(os.environ)
    server.configure(report_dir=tmp_path_factory.mktemp("reports"), public_url="https://perf.test")
    try:
        app = server.create_app()
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client
    finally:
        os.environ.clear()
        os.environ.update(saved)


class HttpRecalc(Recalc):
    """Excel's recalculation with every function call posted to ``/xlwings/custom-functions-call``."""

    def __init__(self, sheets: Sheets, client: object) -> None:
        super().__init__(sheets)
        self.client = client

    def call(self, name: str, args: list[object], caller: str) -> object:
        response = self.client.post(
            "/xlwings/custom-functions-call", json=custom_function_body(name, args, caller=caller)
        )
        assert response.status_code == 200, response.text
        self.calls[name] = self.calls.get(name, 0) + 1
        (value,) = response.json()["result"][0]
        return None if value == "" else value


def test_function_metadata_is_served(client: object) -> None:
    served = client.get("/xlwings/custom-functions-meta.json").json()
    assert served == xlwings.server.custom_functions_meta(udfs)
    assert sorted(f["name"] for f in served["functions"]) == sorted(FUNCTIONS)
    code = client.get("/xlwings/custom-functions-code.js").text
    assert all(f'CustomFunctions.associate("{name}", {name});' in code for name in FUNCTIONS)


def test_every_cell_of_the_example_over_http_equals_the_build(client: object) -> None:
    _, built = example_files()
    inputs, ev, _, _ = evaluate_workbook(built)
    cells = {k: v for k, v in computed_cells(inputs.locator, ev).items() if isinstance(v, Formula)}
    recalc = HttpRecalc(Sheets.from_file(built, formulas=True), client)
    try:
        for (sheet, cell), formula in cells.items():
            from openpyxl.utils import range_boundaries

            col, row = range_boundaries(cell)[:2]
            assert same_cell(recalc.value(sheet, row, col), formula.value), (sheet, cell)
    finally:
        recalc.close()
    assert sum(recalc.calls.values()) > 120


def test_scripts_are_the_four_actions(client: object) -> None:
    meta = client.get("/xlwings/custom-scripts-meta.json").json()
    assert {m["function_name"]: m["name"] for m in meta} == actions.LABELS


def test_recalculate_over_http_answers_with_the_actions(client: object) -> None:
    new, _ = example_files()
    payload = book_payload(new)
    response = client.post("/xlwings/custom-scripts-call/recalculate", json=payload)
    assert response.status_code == 200, response.text
    after = Sheets.from_payload(payload).apply(response.json()["actions"])
    assert after.value("指标评分", "I7") == "=INDICATOR_SCORE(D7,E7,C7,G7,J7,F7,B7)"
    assert after.value("汇总", "B4") == '=RUBRIC_SUBTOTAL("",rubric_codes,rubric_scores)'
    assert "核定总分 80 分（良）" in after.alerts[0][0]


def test_a_report_is_generated_and_downloaded(client: object) -> None:
    new, _ = example_files()
    payload = book_payload(new)
    response = client.post("/xlwings/custom-scripts-call/word_report", json=payload)
    assert response.status_code == 200, response.text
    after = Sheets.from_payload(payload).apply(response.json()["actions"])
    (opened,) = [m[1] for m in after.macros if m[0] == "xlperfOpenUrl"]
    assert opened.startswith("https://perf.test/xlperf/reports/") and opened in after.alerts[0][0]
    download = client.get(opened.removeprefix("https://perf.test"))
    assert download.status_code == 200
    text = "\n".join(p.text for p in Document(io.BytesIO(download.content)).paragraphs)
    assert "高邑县高邑镇人民政府" in text
    token = opened.split("/")[-2]
    for bad in (
        f"/xlperf/reports/{token}/..%2F..%2Fetc%2Fpasswd",
        "/xlperf/reports/nothex/x.docx",
        f"/xlperf/reports/{token}/none.docx",
    ):
        assert client.get(bad).status_code == 404, bad


def _manifest(client: object) -> etree._Element:
    response = client.get("/manifest.xml")
    assert response.status_code == 200
    return etree.fromstring(response.content)


def test_the_manifest_has_the_tab_and_its_buttons(client: object) -> None:
    root = _manifest(client)
    assert root.findtext("o:Id", namespaces=OFFICE) == server.MANIFEST_ID
    assert root.find("o:DisplayName", OFFICE).get("DefaultValue") == "绩效自评"
    strings = {s.get("id"): s.get("DefaultValue") for s in root.iterfind(".//bt:String", OFFICE)}
    (tab,) = root.iterfind(".//v:CustomTab", OFFICE)
    assert strings[tab.find("v:Label", OFFICE).get("resid")] == "绩效自评"
    buttons = {}
    for control in tab.iterfind(".//v:Control", OFFICE):
        label = strings[control.find("v:Label", OFFICE).get("resid")]
        buttons[label] = control.findtext("v:Action/v:FunctionName", namespaces=OFFICE)
    assert buttons == {
        "重新计算": "xlperfRecalculate",
        "数据校验": "xlperfValidate",
        "生成Word报告": "xlperfWordReport",
        "生成HTML报告": "xlperfHtmlReport",
        "任务窗格": None,
    }
    assert root.find(".//v:Namespace", OFFICE) is None  # bare =BUDGET_ADJ_RATE(...), as in the workbook
    urls = [u.get("DefaultValue") for u in root.iterfind(".//bt:Url", OFFICE)]
    assert all(u.startswith("https://perf.test/") for u in urls)  # the configured address
    for url in urls + [i.get("DefaultValue") for i in root.iterfind(".//bt:Images/bt:Image", OFFICE)]:
        assert client.get(url.removeprefix("https://perf.test")).status_code == 200, url


def test_the_task_pane_offers_the_same_scripts(client: object) -> None:
    page = client.get("/taskpane.html").text
    assert re.findall(r'xw-click="(\w+)"', page) == list(actions.LABELS)
    assert "/static/js/ribbon.js" in page


NODE_HARNESS = r"""
const fs = require("fs"), vm = require("vm");
const associated = {}, callbacks = {}, ran = [], opened = [];
let completed = 0;
globalThis.Office = {
  actions: { associate: (name, fn) => { associated[name] = fn; } },
  onReady: (cb) => { cb(); return Promise.resolve(); },
  context: { ui: { openBrowserWindow: (url) => opened.push(url) } },
};
globalThis.xlwings = {
  runPython: async (options) => { ran.push(options.scriptName); },
  registerCallback: (fn) => { callbacks[fn.name] = fn; },
};
vm.runInThisContext(fs.readFileSync(process.argv[2], "utf8"));
const sheets = {};
for (const name of ["指标评分", "汇总"]) {
  sheets[name] = { protection: { protected: true, options: { allowFormatColumns: true, allowSort: true },
    load() {}, unprotect() { this.protected = false; this.options = {}; },
    protect(options) { this.protected = true; this.options = options; } } };
}
const context = { workbook: { worksheets: { getItem: (name) => sheets[name] } }, sync: async () => {} };
(async () => {
  for (const [name, handler] of Object.entries(associated)) {
    await handler({ completed: () => { completed += 1; } });
  }
  await callbacks.xlperfUnprotect(context, "指标评分", "汇总");
  const during = Object.values(sheets).map((s) => s.protection.protected);
  await callbacks.xlperfProtect(context, "指标评分", "汇总");
  await callbacks.xlperfOpenUrl(context, "https://perf.test/x.docx");
  console.log(JSON.stringify({ buttons: Object.keys(associated), ran, completed, during,
    after: Object.values(sheets).map((s) => [s.protection.protected, s.protection.options]), opened }));
})();
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_ribbon_js_binds_the_buttons_and_restores_protection(client: object, tmp_path: Path) -> None:
    script = tmp_path / "ribbon.js"
    script.write_bytes(client.get("/static/js/ribbon.js").content)
    harness = tmp_path / "harness.js"
    harness.write_text(NODE_HARNESS, encoding="utf-8")
    run = subprocess.run(["node", str(harness), str(script)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    names = {f["function_name"] for f in client.get("/xlwings/custom-scripts-meta.json").json()}
    buttons = {
        c.findtext("v:Action/v:FunctionName", namespaces=OFFICE)
        for c in _manifest(client).iterfind(".//v:Control", OFFICE)
    }
    assert set(result["buttons"]) == buttons - {None}
    assert sorted(result["ran"]) == sorted(names) and result["completed"] == 4
    assert result["during"] == [False, False]
    assert result["after"] == [[True, {"allowFormatColumns": True, "allowSort": True}]] * 2
    assert result["opened"] == ["https://perf.test/x.docx"]
