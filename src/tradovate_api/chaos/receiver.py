"""The alert endpoint of a chaos run: a webhook receiver on 127.0.0.1 that can go down.

The run's notification center posts every alert here through the real
:class:`~tradovate_api.notify.WebhookNotifier`. During a notifier outage the receiver answers
503, so deliveries fail and are retried with backoff while trading goes on; afterwards it
accepts again and the soak checks that alerts get through.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import msgspec
from aiohttp import web

from ..runtime.changed import Changed


class AlertReceiver:
    """Records the JSON documents posted to it; ``down`` makes it answer 503."""

    def __init__(self) -> None:
        self.down = False
        self.refused = 0
        """Posts answered 503 (while down)."""
        self.received: list[dict[str, object]] = []
        self.url = ""
        self._changed = Changed()
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/alerts", self._post)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/alerts"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _post(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.down:
            self.refused += 1
            return web.Response(status=503, text="unavailable")
        try:
            document = msgspec.json.decode(body)
        except msgspec.DecodeError:
            return web.Response(status=400, text="not JSON")
        self.received.append(document if isinstance(document, dict) else {"body": document})
        self._changed.notify()
        return web.json_response({"ok": True})

    def keys(self) -> list[str]:
        return [str(d.get("key", "")) for d in self.received]

    async def wait_for_key(self, key: str) -> None:
        """Until a document with ``key`` has arrived; callers bound it with a timeout."""
        await self._changed.until(lambda: key in self.keys())

    async def until(self, predicate: Callable[[], bool], within: float) -> bool:
        """Whether ``predicate`` held within ``within`` seconds (re-checked per post)."""
        try:
            async with asyncio.timeout(within):
                await self._changed.until(predicate)
        except TimeoutError:
            return predicate()
        return True
