"""The dashboard's web server: the page, its websocket push, the kill-switch endpoint.

It runs on the trading process's event loop (aiohttp), so it must never make the loop wait:
one pusher task builds a snapshot at most every :data:`PUSH_INTERVAL` seconds and only while
a page is connected (else one chart sample per second), sooner after an account event than
after a price move but never more often; each page has one slot holding the newest snapshot,
so a slow browser skips snapshots instead of queueing them. Every request and the websocket
need the token (query ``token``, header ``Authorization: Bearer``, or the cookie the first
load sets): none gives 401, a wrong one 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from importlib import resources
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import msgspec
from aiohttp import WSMsgType, web
from aiohttp.typedefs import Handler

from ..runtime.app import TradingApp
from ..runtime.observer import AppObserver
from ..settings import DashboardSettings
from .access import Access
from .actions import ActionRequest, KillSwitch
from .recent_alerts import RecentAlerts
from .snapshot import SnapshotBuilder

if TYPE_CHECKING:
    from ..protocol import EntityEvent
    from ..stores import AccountChange

_log = logging.getLogger("tradovate_api.dashboard.server")

PUSH_INTERVAL = 0.25
"""Least time between two snapshots (seconds) while a page is open."""
SAMPLE_INTERVAL = 1.0
"""Time between chart samples while no page is open."""
SEND_TIMEOUT = 10.0
"""A page that takes longer than this to take one snapshot is disconnected."""
COOKIE = "tradovate_dashboard"
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
                               "style-src 'unsafe-inline'; connect-src 'self'; "
                               "img-src 'self' data:; frame-ancestors 'none'",
}


class _Page:
    """One connected websocket: the newest snapshot not yet sent, and its sender."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.latest: bytes | None = None
        self.ready = asyncio.Event()

    def offer(self, data: bytes) -> None:
        self.latest = data  # an unsent older snapshot is simply replaced
        self.ready.set()

    async def send_loop(self) -> None:
        while True:
            await self.ready.wait()
            self.ready.clear()
            data, self.latest = self.latest, None
            if data is None:
                continue
            try:
                async with asyncio.timeout(SEND_TIMEOUT):
                    await self.ws.send_str(data.decode())
            except (TimeoutError, ConnectionError):  # too slow, or gone: let it reconnect
                await self.ws.close()
                return


class _AccountEvents(AppObserver):
    """Wakes the pusher after an account event (a fill, an order) while a page is open."""

    def __init__(self, server: DashboardServer) -> None:
        self._server = server

    def on_account_event(self, event: EntityEvent, changes: list[AccountChange]) -> None:
        if self._server.pages:
            self._server.wake.set()


class DashboardServer:
    """Serves the dashboard of ``app`` (whose alert sink is ``alerts``). Build it before
    ``app.run()`` (it adds an observer), :meth:`start` it on the app's loop, :meth:`stop`
    it after the run."""

    def __init__(self, settings: DashboardSettings, access: Access, app: TradingApp,
                 alerts: RecentAlerts) -> None:
        self._settings = settings
        self.access = access
        self._app = app
        self.builder = SnapshotBuilder(app, alerts)
        self.kill_switch = KillSwitch(app, alerts)
        self.pages: set[_Page] = set()
        self.wake = asyncio.Event()
        self.pushed = 0
        """Snapshots sent (to any page)."""
        self.push_ns = 0
        """Time the pusher spent on the event loop building and encoding snapshots (ns): the
        dashboard's own cost to the trading loop, which the benchmark reports."""
        self._last: bytes = b""
        self._runner: web.AppRunner | None = None
        self._pusher: asyncio.Task[None] | None = None
        self.url = ""
        """The page's address without the token (set by :meth:`start`)."""
        app.add_observer(_AccountEvents(self))

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> str:
        """Bind and serve; the page's URL (without the token)."""
        web_app = web.Application(middlewares=[self._guard])
        web_app.router.add_get("/", self._page)
        web_app.router.add_get("/ws", self._websocket)
        web_app.router.add_get("/api/snapshot", self._snapshot)
        web_app.router.add_post("/api/action", self._action)
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self._settings.host, self._settings.port,
                           ssl_context=self.access.tls)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        scheme = "https" if self.access.tls is not None else "http"
        shown = f"[{host}]" if ":" in host else host
        self.url = f"{scheme}://{shown}:{port}/"
        self._pusher = asyncio.create_task(self._push_loop(), name="dashboard push")
        _log.info("dashboard serving at %s", self.url)
        return self.url

    async def stop(self) -> None:
        pusher, self._pusher = self._pusher, None
        if pusher is not None:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher
        for page in list(self.pages):
            with contextlib.suppress(Exception):
                await page.ws.close()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # ------------------------------------------------------------------ push

    async def _push_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            began = loop.time()
            began_ns = time.perf_counter_ns()
            try:
                self._push()
            except Exception:  # a view in an unexpected state must not end the page
                _log.exception("dashboard: snapshot failed")
            self.push_ns += time.perf_counter_ns() - began_ns
            # at most one snapshot per PUSH_INTERVAL, whatever wakes us
            await asyncio.sleep(max(0.0, began + PUSH_INTERVAL - loop.time()))
            wait = PUSH_INTERVAL if self.pages else SAMPLE_INTERVAL
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self.wake.wait()
            self.wake.clear()

    def _push(self) -> None:
        snapshot = self.builder.build(self.kill_switch.entries_halted,
                                      for_page=bool(self.pages))
        if not self.pages:
            return
        data = msgspec.json.encode(snapshot)
        if data == self._last:
            return
        self._last = data
        self.pushed += 1
        for page in self.pages:
            page.offer(data)

    # ------------------------------------------------------------------ requests

    def _presented(self, request: web.Request) -> str | None:
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            return header[len("Bearer "):]
        return request.query.get("token") or request.cookies.get(COOKIE)

    @web.middleware
    async def _guard(self, request: web.Request,
                     handler: Handler) -> web.StreamResponse:
        presented = self._presented(request)
        if not presented:
            raise web.HTTPUnauthorized(text="dashboard: the access token is missing (open "
                                            "the URL printed at start, or run "
                                            "tradovate-api dashboard)\n")
        if not self.access.allows(presented):
            raise web.HTTPForbidden(text="dashboard: wrong access token\n")
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc != request.host:
            raise web.HTTPForbidden(text="dashboard: cross-origin request refused\n")
        response = await handler(request)
        if not response.prepared:
            response.headers.update(_SECURITY_HEADERS)
        return response

    async def _page(self, request: web.Request) -> web.StreamResponse:
        if "token" in request.query:  # keep it in a cookie, out of the address bar
            response = web.Response(status=303, headers={"Location": "/"})
        else:
            html = resources.files(__package__).joinpath("page.html").read_text("utf-8")
            response = web.Response(text=html, content_type="text/html")
        response.set_cookie(COOKIE, self.access.token.reveal(), httponly=True,
                            samesite="Strict", secure=self.access.tls is not None, path="/")
        return response

    async def _snapshot(self, request: web.Request) -> web.Response:
        snapshot = self.builder.build(self.kill_switch.entries_halted)
        return web.Response(body=msgspec.json.encode(snapshot),
                            content_type="application/json")

    async def _action(self, request: web.Request) -> web.Response:
        try:
            action = msgspec.json.decode(await request.read(), type=ActionRequest)
        except msgspec.DecodeError as exc:
            raise web.HTTPBadRequest(text=f"dashboard: {exc}\n") from None
        result = self.kill_switch.run(action)
        self.wake.set()
        return web.Response(body=msgspec.json.encode(result), content_type="application/json",
                            status=200 if result.ok else 409)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        page = _Page(ws)
        if self._last:
            page.offer(self._last)
        self.pages.add(page)
        self.wake.set()
        sender = asyncio.create_task(page.send_loop(), name="dashboard page")
        try:
            async for message in ws:  # the page only listens; read until it closes
                if message.type is WSMsgType.ERROR:
                    break
        finally:
            self.pages.discard(page)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
        return ws
