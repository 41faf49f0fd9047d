"""``xlperf serve``: the Office add-in for Excel 365, Excel on the web and Mac (Office 加载项服务).

xlwings Server (the optional ``server`` extra, ``pip install xlperf[server]``) serves

* the cell functions of :mod:`xlperf.excel.udfs` as Office.js custom functions
  (``/xlwings/custom-functions-meta.json``, ``/xlwings/custom-functions-call``);
* the four actions of :mod:`xlperf.excel.actions` as scripts (``/xlwings/custom-scripts-call/<name>``),
  bound to the buttons of the 绩效自评 tab of the manifest (``/manifest.xml``) by ``static/js/ribbon.js``;
* the reports the buttons generate, for download (``/xlperf/reports/<id>/<file>``).

The project folder handed to xlwings Server is ``officejs/`` next to this module: its
``custom_functions`` and ``custom_scripts`` packages import from here, ``templates/`` and
``static/`` override the manifest, the task pane and the ribbon script.  :func:`configure` sets
the environment xlwings reads at import, so it must run before ``xlwings`` is imported —
:func:`main` does that first.
"""

from __future__ import annotations

import os
import re
import secrets
import sys
import uuid
from collections.abc import Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from ..cli_zh import ChineseArgumentParser

PROJECT_DIR = Path(__file__).resolve().parent / "officejs"
# A fixed id of version 4 (as Office and xlwings Server require), derived from our name.
MANIFEST_ID = str(uuid.UUID(bytes=uuid.uuid5(uuid.NAMESPACE_URL, "xlperf:officejs").bytes, version=4))
REPORTS_PREFIX = "/xlperf/reports"
_TOKEN = re.compile(r"[0-9a-f]{32}")


def configure(
    env: MutableMapping[str, str] | None = None,
    *,
    namespace: str = "",
    hostname: str | None = None,
    report_dir: Path | None = None,
    public_url: str | None = None,
    token: str | None = None,
) -> None:
    """Set the environment xlwings and xlwings Server read at import (服务配置).

    * ``XLWINGS_ON_SERVER`` / ``XLWINGS_LICENSE_KEY=noncommercial`` — Office.js decorators and the
      remote engine (PolyForm Noncommercial: use by a government institution is permitted);
    * ``XLWINGS_PROJECT_DIR`` — :data:`PROJECT_DIR`;
    * ``XLWINGS_FUNCTIONS_NAMESPACE`` — *namespace*; empty (the default) keeps the bare names the
      workbook's formulas use, ``=BUDGET_ADJ_RATE(...)``;
    * ``XLWINGS_ENVIRONMENT=prod`` (no ``_DEV`` suffix on the namespace), our manifest id and
      the add-in's display name 绩效自评;
    * ``XLPERF_ACCESS_TOKEN`` — *token*, the optional access token (:mod:`xlperf.excel.guard`).

    Values already in the environment win, except the project folder and namespace.
    """
    env = os.environ if env is None else env
    env["XLWINGS_ON_SERVER"] = "true"
    env.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    env["XLWINGS_PROJECT_DIR"] = str(PROJECT_DIR)
    env["XLWINGS_FUNCTIONS_NAMESPACE"] = namespace
    env.setdefault("XLWINGS_ENVIRONMENT", "prod")
    env.setdefault("XLWINGS_PROJECT_NAME", "绩效自评")
    env.setdefault("XLWINGS_MANIFEST_ID_PROD", MANIFEST_ID)
    env.setdefault("XLWINGS_ENABLE_EXAMPLES", "false")
    env.setdefault("XLWINGS_ENABLE_SOCKETIO", "false")
    env.setdefault("XLWINGS_ENABLE_HOTRELOAD", "false")
    if hostname:
        env["XLWINGS_HOSTNAME"] = hostname
    if report_dir is not None:
        env["XLPERF_REPORT_DIR"] = str(report_dir)
    if public_url:
        env["XLPERF_PUBLIC_URL"] = public_url.rstrip("/")
    if token:
        env["XLPERF_ACCESS_TOKEN"] = token
    skip_pyodide_probe()


def skip_pyodide_probe() -> None:
    """Make xlwings' per-argument ``from pyodide.ffi import JsNull`` fail fast (跳过 Pyodide 探测).

    xlwings 0.37 tries that import for every argument of every custom-function call; off Pyodide
    it fails after searching all of ``sys.path`` each time, which is most of a call's cost
    (bench/bench_udf.py).  A ``None`` entry in ``sys.modules`` is Python's own negative import
    cache: the import raises at once, exactly as before, only faster.
    """
    if sys.platform != "emscripten":
        for name in ("pyodide", "pyodide.ffi"):
            sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def function_namespace() -> str:
    """The namespace Excel puts before the functions (函数命名空间), as the served manifest declares it:
    xlwings Server's settings when it runs, else :func:`configure`'s environment (default: none)."""
    config = sys.modules.get("xlwings_server.config")
    if config is not None:
        namespace, environment = config.settings.functions_namespace, config.settings.environment
    else:
        namespace = os.environ.get("XLWINGS_FUNCTIONS_NAMESPACE", "")
        environment = os.environ.get("XLWINGS_ENVIRONMENT", "prod")
    namespace = namespace.upper()
    if environment != "prod":
        return f"{namespace}_{environment.upper()}" if namespace else environment.upper()
    return namespace


def report_root() -> Path:
    """Where the server writes reports (报告目录): ``XLPERF_REPORT_DIR`` or ``~/xlperf-reports``."""
    return Path(os.environ.get("XLPERF_REPORT_DIR") or Path.home() / "xlperf-reports")


def public_url() -> str:
    """The add-in's address as users reach it (服务地址), for download links; may be empty."""
    if os.environ.get("XLPERF_PUBLIC_URL"):
        return os.environ["XLPERF_PUBLIC_URL"].rstrip("/")
    hostname = os.environ.get("XLWINGS_HOSTNAME")
    return f"https://{hostname}" if hostname else ""


def report_link(path: Path) -> str:
    """The download address of a report the server wrote under :func:`report_root` (下载地址)."""
    relative = path.resolve().relative_to(report_root().resolve())
    return f"{public_url()}{REPORTS_PREFIX}/{relative.as_posix()}"


#: Reports the server keeps (服务器上报告的保留上限): each is removed after this many days, and the
#: oldest go first when all of them together would pass the size or the count.
REPORT_DAYS = 7
MAX_REPORT_BYTES = 500 * 2**20
MAX_REPORTS = 1000


def prune_reports(root: Path, *, now: float | None = None) -> int:
    """Make room under the report folder (清理过期报告): remove report folders older than
    :data:`REPORT_DAYS`, then the oldest until fewer than :data:`MAX_REPORTS` remain and they hold
    less than :data:`MAX_REPORT_BYTES`.  Only ``<32 hex>`` folders the server made are touched.
    Returns how many were removed."""
    import shutil
    import time

    now = time.time() if now is None else now
    folders = []
    if root.is_dir():
        for folder in root.iterdir():
            if folder.is_dir() and not folder.is_symlink() and _TOKEN.fullmatch(folder.name):
                files = [f for f in folder.iterdir() if f.is_file()]
                folders.append((folder.stat().st_mtime, sum(f.stat().st_size for f in files), folder))
    folders.sort()
    total, removed = sum(size for _, size, _ in folders), 0
    for index, (mtime, size, folder) in enumerate(folders):
        remaining = len(folders) - index
        if now - mtime <= REPORT_DAYS * 86400 and remaining < MAX_REPORTS and total < MAX_REPORT_BYTES:
            break
        shutil.rmtree(folder, ignore_errors=True)
        total -= size
        removed += 1
    return removed


def make_scripts(script: Callable[..., Any] | None = None) -> dict[str, Callable[..., None]]:
    """The four ribbon actions as xlwings Server scripts (服务端脚本), decorated with *script*.

    Each takes the ``xw.Book`` of the Office.js payload, runs the action, and answers with a
    message box; the report actions also open the download in the browser.
    """
    import xlwings as xw

    from .actions import LABELS, run

    def make(action: str) -> Callable[..., None]:
        def handler(book: Any) -> None:
            options: dict[str, Any] = {}
            folder = None
            if action in ("word_report", "html_report"):
                prune_reports(report_root())
                folder = report_root() / secrets.token_hex(16)
                options["out_dir"] = folder
            elif action == "recalculate":
                options["namespace"] = function_namespace()
            result = run(book, action, **options)
            message = result.message
            if result.ok and folder is not None:
                path = next(iter(result.outputs.values()))
                link = report_link(path)
                message = f"已生成{LABELS[action][2:]}（保存在服务器上）。下载地址：{link}"
                book.app.macro("xlperfOpenUrl")(link)
            book.app.alert(message, title=result.title, mode="info" if result.ok else "critical")

        handler.__name__ = handler.__qualname__ = action
        handler.__doc__ = f"{LABELS[action]}（xlwings Server 脚本）"
        handler.__annotations__ = {"book": xw.Book, "return": None}
        return script(name=LABELS[action])(handler) if script is not None else handler

    return {action: make(action) for action in LABELS}


def report_router() -> Any:
    """``GET /xlperf/reports/<id>/<file>``: download a report the scripts wrote (报告下载)."""
    from fastapi import APIRouter, HTTPException
    from fastapi.responses import FileResponse

    router = APIRouter()

    @router.get(REPORTS_PREFIX + "/{token}/{filename}")
    async def download(token: str, filename: str) -> FileResponse:
        root = report_root().resolve()
        path = (root / token / filename).resolve()
        if not _TOKEN.fullmatch(token) or path.parent != root / token or not path.is_file():
            raise HTTPException(status_code=404, detail="报告不存在或已被清理")
        return FileResponse(path, filename=filename)

    return router


def create_app() -> Any:
    """The app ``xlperf serve`` runs (服务应用): xlwings Server's ASGI app for :data:`PROJECT_DIR`
    behind :class:`~xlperf.excel.guard.ServerGuard`, set from the environment :func:`configure` wrote.
    Call :func:`configure` first."""
    try:
        from xlwings_server.config import settings
        from xlwings_server.main import main_app
        from xlwings_server.templates import templates
    except ImportError as exc:
        raise SystemExit(
            f'缺少 xlwings-server（{exc}）。请安装：pip install "xlperf[server]"，然后重新运行 xlperf serve'
        ) from None
    from .guard import GuardSettings, ServerGuard, origin_of

    address = public_url() or "http://127.0.0.1:8000"
    origins = {origin_of(address)}
    parts = urlsplit(address)
    if parts.hostname in ("127.0.0.1", "localhost", "::1"):
        port = f":{parts.port}" if parts.port else ""
        origins |= {f"{parts.scheme}://{host}{port}" for host in ("127.0.0.1", "localhost", "[::1]")}
    origins |= {origin_of(o) for o in settings.cors_allow_origins if o != "*"}
    token = os.environ.get("XLPERF_ACCESS_TOKEN") or None
    # The manifest hands the token to the task pane (static/js/ribbon.js keeps it for every call).
    templates.env.globals["xlperf_token_query"] = f"?token={quote(token, safe='')}" if token else ""
    return ServerGuard(main_app, GuardSettings(public_url=address, origins=frozenset(origins), token=token))


def main(argv: Sequence[str] | None = None) -> int:
    """``xlperf serve`` (启动加载项服务): configure, then run xlwings Server with uvicorn."""
    parser = ChineseArgumentParser(prog="xlperf serve", description="启动 Excel 加载项服务（Office.js）")
    parser.add_argument("--host", default="127.0.0.1", help="监听地址（默认仅本机）")
    parser.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
    parser.add_argument("--cert", help="HTTPS 证书文件（PEM）；Office 加载项必须通过 HTTPS 访问")
    parser.add_argument("--key", help="HTTPS 私钥文件（PEM）")
    parser.add_argument(
        "--hostname", help="用户访问的主机名（写入清单 manifest.xml），如 perf.example.gov.cn"
    )
    parser.add_argument(
        "--namespace", default="", help="函数命名空间（默认无，公式写作 =BUDGET_ADJ_RATE(...)）"
    )
    parser.add_argument("--report-dir", help="报告保存目录（默认 ~/xlperf-reports）")
    parser.add_argument(
        "--token",
        default=os.environ.get("XLPERF_ACCESS_TOKEN"),
        help="访问令牌（可选；也可用环境变量 XLPERF_ACCESS_TOKEN）：设置后只有持令牌的加载项清单能调用本服务，"
        "清单地址为 /manifest.xml?token=令牌",
    )
    args = parser.parse_args(argv)
    scheme = "https" if args.cert else "http"
    if args.token is not None and not (
        args.token.isascii() and args.token.isprintable() and len(args.token) >= 8
    ):
        parser.error("访问令牌须为至少 8 个字符的英文字母、数字或符号（浏览器只能在请求头中发送这些字符）")
    if args.host in ("0.0.0.0", "::", "") and not args.hostname:
        parser.error(
            f"监听所有地址（--host {args.host}）时必须用 --hostname 指定用户访问的主机名，清单中的地址才可靠"
        )
    configure(
        namespace=args.namespace,
        hostname=args.hostname,
        report_dir=Path(args.report_dir) if args.report_dir else None,
        public_url=f"https://{args.hostname}" if args.hostname else f"{scheme}://{args.host}:{args.port}",
        token=args.token,
    )
    app = create_app()
    import uvicorn

    print(f"绩效自评加载项：{scheme}://{args.host}:{args.port}/manifest.xml （按 Ctrl+C 停止）")
    uvicorn.run(app, host=args.host, port=args.port, ssl_certfile=args.cert, ssl_keyfile=args.key)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
