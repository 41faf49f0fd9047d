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

from helpers_excel import Recalc, Sheets, example_files, same_cell
from tools.bookjson import book_payload, custom_function_body
from xlperf.core.functions import FUNCTIONS
from xlperf.excel import actions, server, udfs
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


# ------------------------------------------------------------------------------------------
# Safe on an intranet (issue 14): what the guard in front of xlwings Server lets in
# ------------------------------------------------------------------------------------------


def _reports(client: object) -> set[Path]:
    return set(server.report_root().glob("*/*"))


def test_a_cross_site_form_or_text_post_does_not_run_a_script(client: object) -> None:
    """A page on another site could post text/plain or a form without a preflight: no report is written."""
    new, _ = example_files()
    payload = json.dumps(book_payload(new))
    before = _reports(client)
    plain = client.post(
        "/xlwings/custom-scripts-call/word_report", content=payload, headers={"Content-Type": "text/plain"}
    )
    form = client.post("/xlwings/custom-scripts-call/word_report", data={"bookData": payload})
    for response in (plain, form):
        assert response.status_code == 415 and "JSON" in response.text, response.text
    evil = client.post(
        "/xlwings/custom-scripts-call/word_report",
        json=book_payload(new),
        headers={"Origin": "https://evil.example"},
    )
    assert evil.status_code == 403 and "跨站请求" in evil.text and "evil.example" in evil.text
    assert _reports(client) == before
    ours = client.post(
        "/xlwings/custom-scripts-call/recalculate",
        json=book_payload(new),
        headers={"Origin": "https://perf.test"},
    )
    assert ours.status_code == 200, ours.text


def test_malformed_json_is_answered_400_in_chinese(client: object) -> None:
    for body in (b'{"func_name": "BUDGET_ADJ_RATE", "args": [[1]', b"\xff\xfe", b"[1, 2]"):
        for path in ("/xlwings/custom-functions-call", "/xlwings/custom-scripts-call/validate"):
            response = client.post(path, content=body, headers={"Content-Type": "application/json"})
            assert response.status_code == 400, (path, body, response.text)
            assert "JSON" in response.text and "An error occurred" not in response.text
            assert not re.search("[A-Za-z]{4,}", response.text.replace("JSON", "").replace("UTF", "")), (
                response.text
            )


def test_a_body_or_arguments_over_the_limits_are_refused(client: object) -> None:
    from xlperf.excel.guard import MAX_ARGUMENT_CELLS, MAX_BODY_BYTES

    big = b'{"x": "' + b"0" * MAX_BODY_BYTES + b'"}'
    response = client.post(
        "/xlwings/custom-scripts-call/validate", content=big, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413 and "MB" in response.text
    codes = [[f"C{i}"] for i in range(MAX_ARGUMENT_CELLS)]
    scores = [[1] for _ in range(MAX_ARGUMENT_CELLS)]
    body = custom_function_body("RUBRIC_SUBTOTAL", [[[""]], codes, scores])
    response = client.post("/xlwings/custom-functions-call", json=body)
    assert response.status_code == 413 and f"{MAX_ARGUMENT_CELLS:,}" in response.text


def test_a_long_call_runs_off_the_event_loop_and_is_cut_at_the_time_limit(client: object) -> None:
    """While a call blocks its thread the manifest is answered; past the limit the caller gets 503."""
    import threading
    import time

    from fastapi.testclient import TestClient

    from xlperf.excel.guard import GuardSettings, ServerGuard

    inner = client.app.app  # xlwings Server's app behind the guard
    release = threading.Event()

    async def slow(scope, receive, send):  # a custom function that never returns on its own
        if scope["type"] == "http" and scope["path"].startswith("/xlwings/custom-functions-call"):
            release.wait(30)  # blocks the thread it runs in, as a long computation does
        await inner(scope, receive, send)

    settings = GuardSettings("https://perf.test", frozenset({"https://perf.test"}), seconds=1.5)
    body = custom_function_body("BUDGET_ADJ_RATE", [[[10]], [[100]]])
    with TestClient(ServerGuard(slow, settings), raise_server_exceptions=False) as guarded:
        answers: list[object] = []
        call = threading.Thread(
            target=lambda: answers.append(guarded.post("/xlwings/custom-functions-call", json=body))
        )
        started = time.monotonic()
        call.start()
        time.sleep(0.2)
        manifest = guarded.get("/manifest.xml")
        answered = time.monotonic() - started
        call.join(10)
        release.set()
    assert manifest.status_code == 200 and answered < 1.5, answered
    (response,) = answers
    assert response.status_code == 503 and "秒" in response.text, response.text


def test_the_manifest_urls_do_not_follow_the_host_header(client: object) -> None:
    response = client.get("/manifest.xml", headers={"Host": "evil.example", "X-Forwarded-Proto": "http"})
    urls = [u.get("DefaultValue") for u in etree.fromstring(response.content).iterfind(".//bt:Url", OFFICE)]
    assert urls and all(u.startswith("https://perf.test/") for u in urls), urls


def test_an_access_token_guards_the_calls_and_the_manifest(client: object) -> None:
    from fastapi.testclient import TestClient

    os.environ["XLPERF_ACCESS_TOKEN"] = "s3cret token/42"
    try:
        guarded_app = server.create_app()
        with TestClient(guarded_app, raise_server_exceptions=False) as guarded:
            new, _ = example_files()
            denied = guarded.post("/xlwings/custom-scripts-call/validate", json=book_payload(new))
            assert denied.status_code == 401 and "访问令牌" in denied.text
            wrong = guarded.post(
                "/xlwings/custom-scripts-call/validate",
                json=book_payload(new),
                headers={"Authorization": "nope"},
            )
            assert wrong.status_code == 401
            headers = {"Authorization": "Bearer s3cret token/42"}
            allowed = guarded.post(
                "/xlwings/custom-scripts-call/validate", json=book_payload(new), headers=headers
            )
            assert allowed.status_code == 200, allowed.text
            assert guarded.get("/manifest.xml").status_code == 401
            manifest = guarded.get("/manifest.xml", params={"token": "s3cret token/42"})
            assert manifest.status_code == 200
            root = etree.fromstring(manifest.content)
            taskpane = root.find(".//bt:Url[@id='Taskpane.Url']", OFFICE).get("DefaultValue")
            assert taskpane.endswith("/taskpane.html?token=s3cret%20token%2F42"), taskpane
            assert guarded.get("/static/js/auth.js").status_code == 200  # the page that keeps the token
    finally:
        del os.environ["XLPERF_ACCESS_TOKEN"]
        server.create_app()  # the manifest template without a token again


def test_reports_on_the_server_expire_and_are_bounded(client: object, tmp_path: Path) -> None:
    import secrets
    import time

    root = tmp_path / "reports"
    now = time.time()

    def report(age_days: float, size: int) -> Path:
        folder = root / secrets.token_hex(16)
        folder.mkdir(parents=True)
        (folder / "报告.docx").write_bytes(b"x" * size)
        stamp = now - age_days * 86400
        os.utime(folder, (stamp, stamp))
        return folder

    old = report(server.REPORT_DAYS + 1, 10)
    fresh = [report(1 - i / 100, 10) for i in range(5)]
    kept_elsewhere = root / "not-a-report"
    kept_elsewhere.mkdir()
    assert server.prune_reports(root, now=now) == 1
    assert not old.exists() and all(f.exists() for f in fresh) and kept_elsewhere.exists()
    huge = report(0.5, server.MAX_REPORT_BYTES - 30)  # with the five: 20 bytes over the quota
    assert server.prune_reports(root, now=now) == 3  # the oldest go until the rest fit
    assert [f.exists() for f in fresh] == [False, False, False, True, True] and huge.exists()
    # and over HTTP: generating a report removes an expired one
    expired = server.report_root() / secrets.token_hex(16)
    expired.mkdir(parents=True)
    stamp = now - (server.REPORT_DAYS + 1) * 86400
    os.utime(expired, (stamp, stamp))
    new, _ = example_files()
    response = client.post("/xlwings/custom-scripts-call/html_report", json=book_payload(new))
    assert response.status_code == 200 and not expired.exists()


def test_serving_on_every_address_needs_the_hostname(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        server.main(["--host", "0.0.0.0"])
    assert stopped.value.code == 2 and "--hostname" in capsys.readouterr().err
