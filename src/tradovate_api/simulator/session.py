"""One websocket connection of the simulator: framing, authorize, heartbeats, idle close.

The trading and market-data sockets share this life cycle (reference §3): ``o`` on open;
``authorize`` first (anything else gets ``401``; the trading socket refuses a market-data
token, the md socket takes either); every request, ``authorize`` included, counts against the
user-level request limits (``{"s":423|429,"i":id}`` over them, §7.1); server ``h`` every
``heartbeat_interval``
unless some other frame went out meanwhile (no heartbeats while streaming); a socket that
sends nothing — not even ``[]`` — for ``idle_timeout`` is closed, as is one not authorized
within ``authorize_timeout``. Outgoing messages go through an outbox drained by one writer
task: with the awkward wire everything pending leaves in one ``a[...]`` frame (up to
:data:`MAX_BATCH` messages), with the tidy wire one message per frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
from aiohttp import WSMsgType, web

from ..protocol import (
    HEARTBEAT_FRAME,
    OPEN_FRAME,
    ClientRequest,
    HeartbeatRequest,
    RequestParseError,
    authorize_token,
    encode_messages,
    parse_request,
)
from .limits import PROCEED
from .outgoing import RawFrame, error_body, response_bytes
from .request_params import with_json_body

if TYPE_CHECKING:
    from .session_context import ServerContext
    from .tokens import Token

log = logging.getLogger("tradovate_api.simulator")

MAX_BATCH = 64
"""Most messages one ``a[...]`` frame carries on the awkward wire."""
MAX_OUTBOX = 200_000
"""A client this many messages behind is cut off (a slow consumer must not eat memory)."""
_FRAME_BREAK = b"frame break"
"""Outbox marker (compared by identity): what follows leaves in a later frame."""


def request_params(request: ClientRequest) -> dict[str, Any]:
    """A websocket request's query parameters overlaid with its JSON body object, as a REST
    call's ``params``; raises ``ValueError``."""
    return with_json_body(dict(request.query_params()), request.body_json)


class SocketSession:
    """Base of the trading and md sessions; subclasses implement :meth:`handle`."""

    kind: ClassVar[str] = ""
    accepted_tokens: ClassVar[frozenset[str]] = frozenset({"access", "md"})
    """Token kinds ``authorize`` accepts on this socket."""
    executes_after_close: ClassVar[bool] = False
    """A request held back (``response_delay``) still executes when the socket closes
    meanwhile, as an order request that reached Tradovate does; only its answer is lost."""

    def __init__(self, ctx: ServerContext, ws: web.WebSocketResponse,
                 transport: asyncio.Transport | None, peer: str) -> None:
        self.ctx = ctx
        self.ws = ws
        self.peer = peer
        self._transport = transport
        self.token: Token | None = None
        self.opened = time.monotonic()
        self._last_rx = self.opened
        self._last_tx = self.opened
        self._outbox: list[bytes] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._tasks: set[asyncio.Task[None]] = set()

    # ----------------------------------------------------------------- identity

    @property
    def user_id(self) -> int | None:
        return None if self.token is None else self.token.user_id

    @property
    def closing(self) -> bool:
        return self._closing

    def __repr__(self) -> str:
        return f"{type(self).__name__}(peer={self.peer!r}, user_id={self.user_id!r})"

    # ----------------------------------------------------------------- life cycle

    async def run(self) -> None:
        """Serve the connection until either side closes it."""
        registry = self.ctx.registry
        registry.add(self)
        writer = asyncio.create_task(self._write_loop())
        watchdog = asyncio.create_task(self._watchdog())
        try:
            self._outbox.append(OPEN_FRAME)
            self._wake.set()
            async for message in self.ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    self._on_frame(message.data)
                elif message.type == WSMsgType.ERROR:
                    break
        finally:
            self._closing = True
            for task in (writer, watchdog, *self._tasks):
                task.cancel()
            registry.remove(self)
            self.on_closed()
            if not self.ws.closed:
                await self.ws.close()

    def on_closed(self) -> None:
        """Hook: release subscriptions."""

    async def close(self, frames: Sequence[bytes] = (), *, abort: bool = False,
                    code: int = 1000, message: bytes = b"") -> None:
        """Send what is queued plus ``frames`` (raw frames, e.g. ``c[...]``), then close;
        ``abort`` cuts the TCP connection instead, sending nothing more."""
        if abort:
            self.cut()
            return
        if self._closing:
            return
        self._closing = True
        pending = [] if self.ctx.faults.silent else self._frames(self._take())
        try:
            for frame in (*pending, *frames):
                await self.ws.send_frame(frame, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError):
            pass
        await self.ws.close(code=code, message=message)

    def cut(self) -> None:
        """Cut the TCP connection now: nothing queued leaves, no close handshake."""
        if self._closing:
            return
        self._closing = True
        self._outbox.clear()
        if self._transport is not None:
            self._transport.abort()

    # ----------------------------------------------------------------- outgoing

    def send(self, message: bytes) -> None:
        """Queue one encoded message (a response or event) for the next frame."""
        if self._closing:
            return
        self._outbox.append(message)
        if len(self._outbox) > MAX_OUTBOX:
            log.warning("%r: %d messages unsent, disconnecting a slow consumer", self,
                        len(self._outbox))
            self._outbox.clear()
            self._spawn(self.close(abort=True))
            return
        self._wake.set()

    def send_many(self, messages: Sequence[bytes]) -> None:
        for message in messages:
            self.send(message)

    def respond(self, status: int, request_id: int | None, body: bytes = b"") -> None:
        self.send(response_bytes(status, request_id, body))

    def break_frame(self) -> None:
        """End the current frame: messages queued after this leave in a later frame (a
        response then the data it started, as separate deliveries)."""
        if self._outbox:
            self._outbox.append(_FRAME_BREAK)

    def _take(self) -> list[bytes]:
        batch, self._outbox = self._outbox, []
        return batch

    def _frames(self, messages: list[bytes]) -> list[bytes]:
        frames: list[bytes] = []
        batch: list[Any] = []
        awkward = self.ctx.config.awkward_wire
        for message in messages:
            if message is OPEN_FRAME or message is _FRAME_BREAK or isinstance(message, RawFrame):
                if batch:
                    frames.append(encode_messages(batch))
                    batch = []
                if message is not _FRAME_BREAK:
                    frames.append(message)
                continue
            batch.append(msgspec.Raw(message))
            if not awkward or len(batch) >= MAX_BATCH:
                frames.append(encode_messages(batch))
                batch = []
        if batch:
            frames.append(encode_messages(batch))
        return frames

    async def _write_loop(self) -> None:
        ws = self.ws
        while True:
            await self._wake.wait()
            self._wake.clear()
            messages = self._take()
            if not messages or self.ctx.faults.silent:
                continue
            try:
                for frame in self._frames(messages):
                    await ws.send_frame(frame, WSMsgType.TEXT)
            except (ConnectionError, RuntimeError):
                return
            self._last_tx = time.monotonic()

    async def _watchdog(self) -> None:
        """Heartbeats, the idle timeout and the authorize timeout."""
        config = self.ctx.config
        while True:
            now = time.monotonic()
            deadlines = [self._last_tx + config.heartbeat_interval,
                         self._last_rx + config.idle_timeout]
            if self.token is None:
                deadlines.append(self.opened + config.authorize_timeout)
            await asyncio.sleep(max(min(deadlines) - now, 0.01))
            now = time.monotonic()
            if now - self._last_rx >= config.idle_timeout:
                log.info("%r: nothing received for %.1f s, closing", self, config.idle_timeout)
                await self.close(code=1000, message=b"idle")
                return
            if self.token is None and now - self.opened >= config.authorize_timeout:
                log.info("%r: not authorized within %.1f s, closing", self,
                         config.authorize_timeout)
                await self.close(code=1008, message=b"not authorized")
                return
            if now - self._last_tx >= config.heartbeat_interval and not self._outbox:
                if not self.ctx.faults.silent:
                    try:
                        await self.ws.send_frame(HEARTBEAT_FRAME, WSMsgType.TEXT)
                    except (ConnectionError, RuntimeError):
                        return
                self._last_tx = now

    # ----------------------------------------------------------------- incoming

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _on_frame(self, data: str | bytes) -> None:
        self._last_rx = time.monotonic()
        parsed = parse_request(data)
        if isinstance(parsed, HeartbeatRequest):
            return
        if isinstance(parsed, RequestParseError):
            log.warning("%r: bad request frame: %s", self, parsed.reason)
            self.respond(400, parsed.request_id, error_body(f"Bad request: {parsed.reason}"))
            return
        verdict = self.ctx.limits.user_request(self.user_id, self.peer)
        if verdict != PROCEED:
            self.respond(verdict, parsed.request_id)
            return
        if parsed.endpoint == "authorize":
            self._authorize(parsed)
            return
        if self.token is None:
            self.respond(401, parsed.request_id, error_body("Access is denied", quoted=False))
            return
        faults = self.ctx.faults
        if faults.rate_limited:
            self.respond(429, parsed.request_id)
            return
        if faults.response_delay > 0:
            if self.executes_after_close:
                self.ctx.registry.detach(self._delayed(parsed, faults.response_delay))
            else:
                self._spawn(self._delayed(parsed, faults.response_delay))
            return
        self._handle_safely(parsed)

    async def _delayed(self, request: ClientRequest, delay: float) -> None:
        await asyncio.sleep(delay)
        self._handle_safely(request)

    def _handle_safely(self, request: ClientRequest) -> None:
        try:
            self.handle(request)
        except Exception:
            log.exception("%r: %s failed", self, request.endpoint)
            self.respond(500, request.request_id, error_body("Internal server error"))

    def _authorize(self, request: ClientRequest) -> None:
        token = self.ctx.tokens.valid(authorize_token(request.body))
        if token is not None and token.kind not in self.accepted_tokens:
            log.info("%r: a %s token is not accepted here", self, token.kind)
            token = None
        if token is None:
            log.info("%r: authorize refused", self)
            self.respond(401, request.request_id,
                         error_body("Invalid access token", quoted=False))
            return
        self.token = token
        self.respond(200, request.request_id)
        self.ctx.registry.authorized(self)

    def handle(self, request: ClientRequest) -> None:
        """Answer one request of an authorized client."""
        raise NotImplementedError
