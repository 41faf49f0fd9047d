"""What ``xlperf serve`` lets in (服务访问控制): an ASGI layer in front of xlwings Server.

A bureau may run the add-in server on an intranet, where any web page a user opens could post to
it and anyone on the network could reach it.  :class:`ServerGuard` wraps xlwings Server's app:

* **Cross-site requests** (跨站请求): a POST must be ``application/json`` (browsers preflight
  that, and xlwings Server's CORS answers only its configured origins) and, when it carries an
  ``Origin``, come from one of :attr:`GuardSettings.origins` — the add-in's own address, the
  loopback aliases of a local server and ``XLWINGS_CORS_ALLOW_ORIGINS``.  A form or ``text/plain``
  post from another site is refused before xlwings reads it.
* **Access token** (访问令牌, optional, ``xlperf serve --token``): every POST and the manifest must
  carry it (``Authorization`` header, or ``?token=`` for the manifest); the manifest then gives it
  to the task pane, whose ``getAuth`` (static/js/ribbon.js) sends it with every call.
* **Sizes** (大小上限): a body over :data:`MAX_BODY_BYTES` is refused while it arrives (413), a
  custom-function call whose arguments hold more than :data:`MAX_ARGUMENT_CELLS` values too.
* **Time** (时间上限): custom functions and scripts run in a worker thread, never on the event loop
  (the manifest and downloads stay answered); at most :data:`MAX_RUNNING` at once, and one that
  takes longer than :data:`CALL_SECONDS` is answered 503 while its thread finishes in the back.
* **Malformed JSON** gets 400 with a Chinese reason instead of xlwings' 500 "An error occurred.".
* **The manifest's address** (清单地址) is pinned: the ``Host`` and ``X-Forwarded-Proto`` a client
  sends never decide the URLs in ``manifest.xml``; the configured public address does.

Every refusal is ``text/plain`` Chinese, as xlwings Server's own errors are plain text.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "CALL_SECONDS",
    "MAX_ARGUMENT_CELLS",
    "MAX_BODY_BYTES",
    "MAX_RUNNING",
    "GuardSettings",
    "ServerGuard",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

#: One request body (请求体上限): a script gets the workbook's values as JSON, about 200 KB for the
#: 高邑镇 example; 8 MB is forty times that.
MAX_BODY_BYTES = 8 * 2**20
#: Values in all the arguments of one custom-function call (参数单元格上限): xlperf's functions take
#: a rubric's codes and scores, a few hundred cells.
MAX_ARGUMENT_CELLS = 50_000
#: Seconds a custom function or script may run before the client is answered 503 (单次调用时间上限).
CALL_SECONDS = 30.0
#: Custom functions and scripts running at once (同时运行的调用数上限); a call beyond waits its turn
#: for at most :data:`CALL_SECONDS`.
MAX_RUNNING = 2

_CALLS = ("/xlwings/custom-functions-call", "/xlwings/custom-scripts-call/")
_MANIFESTS = ("/manifest", "/manifest.xml", "/manifest/download")
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class GuardSettings:
    """How :class:`ServerGuard` decides (访问控制设置).

    ``public_url`` is the add-in's address as users reach it (``https://perf.example.gov.cn``);
    ``origins`` the page origins allowed to post; ``token`` the access token, or None for none.
    """

    public_url: str
    origins: frozenset[str]
    token: str | None = None
    max_body: int = MAX_BODY_BYTES
    max_cells: int = MAX_ARGUMENT_CELLS
    seconds: float = CALL_SECONDS
    running: int = MAX_RUNNING


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, as a browser sends it in ``Origin`` (来源)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class ServerGuard:
    """The ASGI app of ``xlperf serve``: :class:`GuardSettings` enforced around xlwings Server's app."""

    def __init__(self, app: App, settings: GuardSettings) -> None:
        self.app, self.settings = app, settings
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            await self._http(scope, receive, send)
        except _Refused as refused:
            await _plain(send, refused.status, refused.message)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        headers = _headers(scope)
        if path in _MANIFESTS:
            self._check_token(headers, scope)
            await self.app(self._pinned(scope), receive, send)
            return
        if method in _SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        self._check_token(headers, None)
        origin = headers.get("origin")
        if origin is not None and origin.lower() not in self.settings.origins:
            raise _Refused(403, f"拒绝来自「{origin}」的跨站请求：只有绩效自评加载项本身可以调用本服务。")
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise _Refused(415, "请求内容必须是 JSON（Content-Type: application/json）。")
        body = await self._body(headers, receive)
        try:
            data = await asyncio.to_thread(json.loads, body)  # 8 MB of JSON takes a second: not on the loop
        except UnicodeDecodeError:
            raise _Refused(400, "请求内容不是有效的 JSON：不是 UTF-8 编码的文字。") from None
        except json.JSONDecodeError as exc:  # json's own sentence is English: only its place is said
            raise _Refused(
                400,
                f"请求内容不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列（第 {exc.pos + 1} 个字符）处格式有误。",
            ) from None
        if not isinstance(data, dict):
            raise _Refused(400, "请求内容必须是 JSON 对象（{…}）。")
        if path == _CALLS[0]:
            cells = _count_values(data.get("args"), self.settings.max_cells)
            if cells > self.settings.max_cells:
                raise _Refused(
                    413,
                    f"函数参数共有超过 {self.settings.max_cells:,} 个单元格，超过本服务允许的上限；"
                    "请缩小引用的区域。",
                )
        if path.startswith(_CALLS):
            await self._off_the_loop(scope, body, send)
        else:
            await self.app(scope, _replay(body), send)

    def _check_token(self, headers: dict[str, str], scope: Scope | None) -> None:
        token = self.settings.token
        if token is None:
            return
        given = headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not given and scope is not None:
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (query.get("token") or [""])[0]
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise _Refused(401, "缺少或错误的访问令牌：请使用管理员提供的加载项清单（manifest.xml）。")

    def _pinned(self, scope: Scope) -> Scope:
        """The request as if it came to the public address: Host and X-Forwarded-Proto are not trusted."""
        parts = urlsplit(self.settings.public_url)
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"host", b"x-forwarded-proto")]
        headers.append((b"host", parts.netloc.encode("latin-1")))
        return {**scope, "headers": headers, "scheme": parts.scheme}

    async def _body(self, headers: dict[str, str], receive: Receive) -> bytes:
        limit = self.settings.max_body
        declared = headers.get("content-length", "")
        too_big = _Refused(
            413, f"请求内容超过 {limit // 2**20} MB，超过本服务允许的上限；请减少工作簿中的数据后重试。"
        )
        if declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Refused(400, "请求未完整发送。")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _off_the_loop(self, scope: Scope, body: bytes, send: Send) -> None:
        """Run the call in a daemon thread with its own event loop; answer 503 after the time limit.

        A call past the limit cannot be stopped (Python threads cannot be killed); it keeps its slot
        until it ends, so runaway calls never pile up beyond :data:`MAX_RUNNING`.
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.settings.running)
        slots, seconds = self._slots, self.settings.seconds
        busy = _Refused(503, f"服务器正忙或计算超过 {seconds:.0f} 秒仍未完成，请稍后重试。")
        try:
            await asyncio.wait_for(slots.acquire(), seconds)
        except TimeoutError:
            raise busy from None
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        messages: list[Message] = []

        async def collect(message: Message) -> None:
            messages.append(message)

        def finished() -> None:
            slots.release()
            if not done.done():
                done.set_result(None)

        async def _answer() -> None:
            await self.app(scope, _replay(body), collect)

        def run() -> None:
            try:
                asyncio.run(_answer())
            except BaseException:  # answered 500 below; the thread must always give its slot back
                messages.clear()
            finally:
                loop.call_soon_threadsafe(finished)

        threading.Thread(target=run, name="xlperf-call", daemon=True).start()
        try:
            await asyncio.wait_for(asyncio.shield(done), seconds)
        except TimeoutError:
            raise busy from None
        if not messages or messages[0].get("type") != "http.response.start":
            raise _Refused(500, "服务内部错误，请稍后重试；如反复出现，请将操作步骤反馈给维护人员。")
        for message in messages:
            await send(message)


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _count_values(value: object, limit: int) -> int:
    """Scalars in nested lists (参数中的值个数), counted up to a little past ``limit``."""
    count, stack = 0, [value]
    while stack and count <= limit:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        else:
            count += 1
    return count


async def _plain(send: Send, status: int, message: str) -> None:
    body = message.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
