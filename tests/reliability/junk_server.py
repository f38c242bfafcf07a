"""A tiny Tradovate-framed websocket server on 127.0.0.1 (``websockets`` package) that can send
anything: junk text, invalid UTF-8, binary frames, unknown events, unmatched responses. The
simulator never misbehaves like that, so the reader's robustness is tested against this."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tradovate_api.protocol import (
    OPEN_FRAME,
    ClientRequest,
    Response,
    encode_messages,
    parse_request,
)

Frame = tuple[bytes, bool]
"""Payload and whether it goes out as a TEXT frame (else BINARY)."""


async def any_token() -> str:
    """The junk server accepts any token: a session's token source for it."""
    return "token"


def response(request_id: int, status: int = 200, body: object = None) -> bytes:
    if body is None:
        return encode_messages([Response(s=status, i=request_id)])
    return encode_messages([Response(s=status, i=request_id,
                                     d=msgspec.Raw(msgspec.json.encode(body)))])


def quote_frame(contract_id: int, bid: float) -> bytes:
    """A valid ``md`` frame: one quote whose bid carries a sequence number."""
    return encode_messages([{"e": "md", "d": {"quotes": [{
        "contractId": contract_id, "timestamp": "2024-03-01T14:30:00Z",
        "entries": {"Bid": {"price": bid, "size": 1}}}]}}])


class JunkServer:
    """Accepts any ``authorize``, answers every request with ``200 {}`` (or ``reply``), and
    sends whatever the test puts in ``outbox`` to the newest client."""

    def __init__(self) -> None:
        self.url = ""
        self.requests: list[ClientRequest] = []
        self.outbox: asyncio.Queue[Frame] = asyncio.Queue()
        self.reply: Callable[[ClientRequest], bytes] = lambda r: response(r.request_id, 200, {})
        self.connections = 0
        self.current: ServerConnection | None = None
        self._server: Server | None = None

    async def start(self) -> None:
        self._server = await serve(self._handle, "127.0.0.1", 0, max_size=None,
                                   compression=None, ping_interval=None)
        port = next(iter(self._server.sockets)).getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/v1/websocket"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, ws: ServerConnection) -> None:
        self.connections += 1
        self.current = ws
        await ws.send(OPEN_FRAME, text=True)
        sender = asyncio.create_task(self._send_outbox(ws))
        try:
            async for data in ws:
                parsed = parse_request(data if isinstance(data, bytes) else data.encode())
                if not isinstance(parsed, ClientRequest):
                    continue  # heartbeat or junk
                self.requests.append(parsed)
                if parsed.endpoint == "authorize":
                    await ws.send(response(parsed.request_id, 200), text=True)
                else:
                    await ws.send(self.reply(parsed), text=True)
        except ConnectionClosed:
            pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender

    def drop(self) -> None:
        """Cut the newest client's TCP connection without a close frame."""
        assert self.current is not None
        self.current.transport.abort()

    async def _send_outbox(self, ws: ServerConnection) -> None:
        while True:
            payload, text = await self.outbox.get()
            await ws.send(payload, text=text)
