"""A real headless Chromium driven over the DevTools protocol (loopback only): open a file,
evaluate JavaScript in the page, take a screenshot.

Chromium is a system package (``apt-get install chromium``; ``.ci/run`` installs it). Without
it the browser tests skip, unless ``REQUIRE_CHROMIUM=1`` (CI) makes that a failure.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import shutil
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import websockets

_LISTENING = re.compile(r"DevTools listening on (ws://127\.0\.0\.1:(\d+)/\S+)")


def chromium_path() -> str:
    """The browser binary, or skip (fail when ``REQUIRE_CHROMIUM`` is set)."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    reason = ("no chromium on PATH: install it (Debian: apt-get install chromium) to run the "
              "browser rendering tests")
    if os.environ.get("REQUIRE_CHROMIUM"):
        pytest.fail(reason + " (REQUIRE_CHROMIUM is set)")
    pytest.skip(reason)


class Page:
    """One tab, spoken to over its DevTools websocket."""

    def __init__(self, ws: Any) -> None:
        self._ws = ws
        self._next = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self._next += 1
        ident = self._next
        await self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        async with asyncio.timeout(30):
            while True:
                message = json.loads(await self._ws.recv())
                if message.get("id") == ident:
                    if "error" in message:
                        raise RuntimeError(f"{method}: {message['error']}")
                    result: dict[str, Any] = message["result"]
                    return result

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression,
                                 awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def open(self, path: Path, width: int, height: int) -> None:
        """Load ``path`` (absolute) in a ``width`` × ``height`` viewport."""
        await self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=False)
        await self.call("Page.navigate", url=path.as_uri())
        await self.evaluate("new Promise(r => document.readyState === 'complete' ? r() :"
                            " addEventListener('load', () => r()))")

    async def screenshot(self) -> bytes:
        result = await self.call("Page.captureScreenshot", format="png",
                                 captureBeyondViewport=True)
        return base64.b64decode(result["data"])


class Browser:
    """``async with Browser() as page:`` — a fresh headless Chromium with one tab."""

    def __init__(self) -> None:
        self._binary = chromium_path()
        self._profile = tempfile.TemporaryDirectory(prefix="report-chromium-")
        self._proc: asyncio.subprocess.Process | None = None
        self._ws: Any = None
        self._drain: asyncio.Task[bytes] | None = None

    async def __aenter__(self) -> Page:
        self._proc = await asyncio.create_subprocess_exec(
            self._binary, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars",
            "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
            f"--user-data-dir={self._profile.name}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        async with asyncio.timeout(30):
            port = await self._port()
        targets = await asyncio.to_thread(self._targets, port)
        page_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        self._ws = await websockets.connect(page_url, max_size=64 * 2**20)
        return Page(self._ws)

    async def _port(self) -> int:
        assert self._proc is not None
        assert self._proc.stderr is not None
        for _ in range(500):
            line = await self._proc.stderr.readline()
            if not line:
                break
            match = _LISTENING.search(line.decode(errors="replace"))
            if match:
                # keep draining chromium's chatter so a full pipe never blocks it
                self._drain = asyncio.create_task(self._proc.stderr.read())
                return int(match.group(2))
        raise RuntimeError("chromium did not report its DevTools port")

    @staticmethod
    def _targets(port: int) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as rsp:
            targets: list[dict[str, Any]] = json.load(rsp)
            return targets

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                async with asyncio.timeout(10):
                    await self._proc.wait()
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()
        if self._drain is not None:
            self._drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drain
        self._profile.cleanup()
