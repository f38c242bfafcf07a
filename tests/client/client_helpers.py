"""Helpers for the client tests: a scripted Tradovate-framed websocket server on
127.0.0.1 (for what the simulator cannot inject, e.g. malformed frames), a token fetcher for
the real simulator, and a bounded ``wait_until``."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import msgspec
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

from tradovate_api.protocol import (
    OPEN_FRAME,
    ClientRequest,
    HeartbeatRequest,
    Response,
    authorize_token,
    encode_messages,
    parse_request,
)

Responder = Callable[[ClientRequest], list[bytes] | None]


class Notifier:
    """Something changed: wake every waiter. ``until`` re-checks a predicate on each change."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def until(self, predicate: Callable[[], bool], limit: float = 5.0) -> None:
        """Wait until ``predicate()`` holds, at most ``limit`` seconds."""
        async with asyncio.timeout(limit):
            while not predicate():
                await self._event.wait()


class Recorder:
    """An event consumer that keeps what it receives and wakes waiters."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.changed = Notifier()

    def __call__(self, event: Any) -> None:
        self.events.append(event)
        self.changed.notify()

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def until(self, predicate: Callable[[], bool], limit: float = 5.0) -> None:
        await self.changed.until(predicate, limit)


def response(request_id: int, status: int = 200, body: Any = None) -> bytes:
    if body is None:  # an explicit empty Raw would encode as invalid JSON ("d":)
        return encode_messages([Response(s=status, i=request_id)])
    return encode_messages([Response(s=status, i=request_id,
                                     d=msgspec.Raw(msgspec.json.encode(body)))])


class _ServerSide(WSListener):  # type: ignore[misc]
    def __init__(self, server: FrameServer) -> None:
        super().__init__()
        self.server = server
        self.transport: WSTransport | None = None
        self.heartbeats = 0
        self.requests: list[ClientRequest] = []
        self.close_received = False
        self.disconnected = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.server.clients.append(self)
        self.server.changed.notify()
        if self.server.send_open:
            transport.send(WSMsgType.TEXT, OPEN_FRAME)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.disconnected = True
        self.server.changed.notify()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.CLOSE:
            self.close_received = True
            self.server.changed.notify()
            transport.send_close(frame.get_close_code())
            transport.disconnect()
            return
        parsed = parse_request(frame.get_payload_as_bytes())
        if isinstance(parsed, HeartbeatRequest):
            self.heartbeats += 1
            self.server.changed.notify()
            return
        if not isinstance(parsed, ClientRequest):
            return
        self.requests.append(parsed)
        self.server.changed.notify()
        frames: list[bytes] | None
        if parsed.endpoint == "authorize":
            ok = authorize_token(parsed.body) == self.server.valid_token
            frames = [response(parsed.request_id, 200 if ok else 401,
                               None if ok else "Invalid access token")]
        else:
            responder = self.server.responders.get(parsed.endpoint)
            frames = responder(parsed) if responder else [response(parsed.request_id, 200, {})]
        for data in frames or ():
            transport.send(WSMsgType.TEXT, data)

    def send(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, data)


class FrameServer:
    """A websocket server speaking Tradovate frames, scripted by the test."""

    def __init__(self) -> None:
        self.clients: list[_ServerSide] = []
        self.responders: dict[str, Responder] = {}
        self.valid_token = "good-token"
        self.send_open = True
        self.url = ""
        self.changed = Notifier()
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        def factory(request: WSUpgradeRequest) -> _ServerSide:
            return _ServerSide(self)

        self._server = await ws_create_server(factory, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/v1/websocket"

    async def stop(self) -> None:
        for client in self.clients:
            if client.transport is not None:
                client.transport.disconnect(graceful=False)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def last(self) -> _ServerSide:
        return self.clients[-1]


async def sim_token(rest_url: str, name: str = "sim", password: str = "sim") -> dict[str, Any]:
    """A token straight from the simulator's ``auth/accesstokenrequest``."""
    async with aiohttp.ClientSession() as http, http.post(
            f"{rest_url}/auth/accesstokenrequest",
            json={"name": name, "password": password}) as reply:
        body: dict[str, Any] = await reply.json()
    assert "accessToken" in body, "token request failed"
    return body
