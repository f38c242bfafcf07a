"""One Tradovate websocket connection (picows): open, ``o``, ``authorize``, heartbeats, silence
detection, request/response correlation and event dispatch.

The reader is picows' ``on_ws_frame`` callback: it decodes each frame with the protocol core
and dispatches in place — responses resolve pending requests, events go to a synchronous
consumer callback — so a strategy reacts to a tick without a queue hop. Sending is picows'
non-blocking ``transport.send`` (bytes go to the transport buffer), so the outgoing path never
waits and never blocks the reader. A connection is used once: after it ends, make a new one.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter_ns
from typing import Any

from picows import WSCloseCode, WSError, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from ..errors import ConnectionLost, TradovateError
from ..protocol.correlation import PendingRequests
from ..protocol.frames import Close, FrameError, Messages, Open, decode_frame
from ..protocol.messages import Message, MessageError, Response, ShutdownEvent
from ..protocol.requests import HEARTBEAT_REQUEST, encode_authorize, encode_body, encode_request
from ..tls import check_websocket_url
from .ends import (
    AuthorizationFailed,
    ConnectFailed,
    EndKind,
    RequestTimeout,
    SessionEnd,
)

_log = logging.getLogger("tradovate_api.client.connection")

EventConsumer = Callable[[Message], None]
"""Receives every event (not responses) on the reader; must not block."""
FrameObserver = Callable[[memoryview], None]
"""Sees every text frame's raw payload on the reader, before it is decoded (md recording);
the view is only valid during the call. Must not block."""
ResultCallback = Callable[[Any], None]
"""Called on the reader with a request's typed result or error, before its awaiter resumes."""
ReaderProblem = Callable[[str, str], None]
"""Told on the reader, with a kind and a description, of input it dropped (``"malformed"``:
a frame or message that could not be decoded) and of an event consumer that raised
(``"consumer"``). Must not block; its own exceptions are logged and ignored."""

_TEXT = WSMsgType.TEXT
_LOGGED_PROBLEMS = 20
"""Malformed frames and consumer errors are logged individually up to this many, then every
1000th, so a flood of bad input cannot flood the log."""


@dataclass(frozen=True, slots=True)
class ConnectionOptions:
    """Timing of one connection. Defaults follow the reference: heartbeat every 2.5 s; the
    server may skip ``h`` while it streams, so death is "no frame at all" for 10 s."""

    heartbeat_interval: float = 2.5
    silence_timeout: float = 10.0
    open_timeout: float = 5.0
    """Websocket handshake and then the ``o`` frame, each within this."""
    authorize_timeout: float = 5.0
    request_timeout: float = 10.0
    close_timeout: float = 2.0
    """How long a close waits for the socket to go before aborting it."""

    @classmethod
    def from_settings(cls, heartbeat_seconds: float, silence_timeout_seconds: float,
                      request_timeout_seconds: float) -> ConnectionOptions:
        """From the ``[connection]`` settings section's values."""
        return cls(heartbeat_interval=heartbeat_seconds,
                   silence_timeout=silence_timeout_seconds,
                   request_timeout=request_timeout_seconds)


@dataclass(slots=True)
class ConnectionStats:
    """Counters for reporting; plain ints so the reader updates them cheaply."""

    frames: int = 0
    events: int = 0
    malformed: int = 0
    heartbeats_sent: int = 0
    requests_sent: int = 0
    timeouts: int = 0
    unmatched_responses: int = 0
    consumer_errors: int = 0


class _Call:
    __slots__ = ("endpoint", "future", "on_result", "timer")

    def __init__(self, endpoint: str, future: asyncio.Future[Any],
                 on_result: ResultCallback | None) -> None:
        self.endpoint = endpoint
        self.future = future
        self.on_result = on_result
        self.timer: asyncio.TimerHandle | None = None


def _should_log(count: int) -> bool:
    return count <= _LOGGED_PROBLEMS or count % 1000 == 0


class Connection(WSListener):
    """One websocket session. ``await open(token)`` connects and authorizes; ``ended`` resolves
    with a :class:`SessionEnd` when it is over, for whatever reason."""

    def __init__(self, url: str, on_event: EventConsumer, *, name: str = "ws",
                 options: ConnectionOptions | None = None,
                 on_frame: FrameObserver | None = None,
                 on_problem: ReaderProblem | None = None) -> None:
        super().__init__()
        self.url = check_websocket_url(url)
        self.name = name
        self.options = options or ConnectionOptions()
        self.stats = ConnectionStats()
        self._on_event = on_event
        self._on_frame = on_frame
        self._on_problem = on_problem
        self._pending = PendingRequests()
        self._calls: dict[int, _Call] = {}
        self._transport: WSTransport | None = None
        self._loop = asyncio.get_running_loop()
        self._time = self._loop.time
        self._opened: asyncio.Future[None] = self._loop.create_future()
        self._ended: asyncio.Future[SessionEnd] = self._loop.create_future()
        self._keepalive: asyncio.Task[None] | None = None
        self._last_frame = self._time()
        self.frame_ns = 0
        """``time.perf_counter_ns()`` when the latest frame arrived, before it was decoded:
        where an order's latency breakdown starts (read by the md reader)."""
        self._used = False

    # ------------------------------------------------------------------ lifecycle

    async def open(self, token: str) -> None:
        """Connect, wait for ``o``, authorize with ``token`` (sent raw). Raises
        :class:`ConnectFailed` or :class:`AuthorizationFailed`; the socket is closed then."""
        if self._used:
            raise RuntimeError("a Connection is opened once; make a new one to reconnect")
        self._used = True
        opts = self.options
        try:
            transport, _ = await ws_connect(lambda: self, self.url,
                                            websocket_handshake_timeout=opts.open_timeout,
                                            enable_auto_ping=False,
                                            logger_name=f"client.{self.name}")
        except (OSError, WSError, TimeoutError) as exc:
            self._finish(SessionEnd(EndKind.DROPPED, f"connect failed: {type(exc).__name__}"))
            raise ConnectFailed(f"{self.name}: cannot connect to {self.url}: "
                                f"{type(exc).__name__}: {exc}") from exc
        self._transport = transport
        self._last_frame = self._time()
        self._keepalive = self._loop.create_task(self._keep_alive(), name=f"{self.name} write")
        try:
            await self._wait_open()
            call = self._register("authorize", None, self.options.authorize_timeout, None)
            self._send(encode_authorize(call, token))
            try:
                await self._calls[call].future
            except (ConnectionLost, RequestTimeout) as exc:
                raise ConnectFailed(f"{self.name}: authorize got no answer: {exc}") from None
            except TradovateError as exc:
                raise AuthorizationFailed(self.name, exc) from None
        except BaseException:
            self.close_nowait(WSCloseCode.OK, "open failed")
            raise

    async def _wait_open(self) -> None:
        done, _ = await asyncio.wait((self._opened, self._ended),
                                     timeout=self.options.open_timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if self._opened in done:
            return
        if self._ended.done():
            raise ConnectFailed(f"{self.name}: connection ended before 'o' "
                                f"({self._ended.result()})")
        raise ConnectFailed(f"{self.name}: no 'o' frame within {self.options.open_timeout:g}s")

    @property
    def ended(self) -> asyncio.Future[SessionEnd]:
        """Resolves (never fails) with how the connection ended."""
        return self._ended

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._ended.done()

    async def wait_ended(self) -> SessionEnd:
        return await asyncio.shield(self._ended)

    def close_nowait(self, code: WSCloseCode = WSCloseCode.OK, reason: str = "") -> None:
        """Send a websocket close frame and start closing; does not wait."""
        self._finish(SessionEnd(EndKind.CLIENT_CLOSED, reason))
        transport = self._transport
        if transport is not None and not transport.is_disconnected:
            if not transport.is_close_frame_sent:
                transport.send_close(code, reason.encode())
            transport.disconnect(graceful=True)

    async def close(self, code: WSCloseCode = WSCloseCode.OK, reason: str = "") -> None:
        """Close with a close frame and wait (bounded) until the socket is gone."""
        self.close_nowait(code, reason)
        await self.wait_closed()

    async def wait_closed(self) -> None:
        """Wait until the socket is gone; abort it if that takes longer than
        ``close_timeout``."""
        transport = self._transport
        if transport is None:
            return
        try:
            async with asyncio.timeout(self.options.close_timeout):
                await transport.wait_disconnected()
        except TimeoutError:
            transport.disconnect(graceful=False)
        except Exception as exc:  # picows re-raises a local failure that caused the disconnect
            _log.debug("%s: disconnect reported %s", self.name, type(exc).__name__)

    def abort(self, reason: str) -> None:
        """End a connection that is no longer trusted (e.g. it lost an order's answer): the
        socket is cut and the end is ``dropped``, so a supervisor reconnects."""
        self._abort(SessionEnd(EndKind.DROPPED, reason))

    def _abort(self, end: SessionEnd) -> None:
        self._finish(end)
        transport = self._transport
        if transport is not None and not transport.is_disconnected:
            if not transport.is_close_frame_sent:
                transport.send_close(WSCloseCode.GOING_AWAY, end.kind.value.encode())
            transport.disconnect(graceful=False)

    def _finish(self, end: SessionEnd) -> None:
        """Record the end (first one wins) and fail every pending request."""
        if self._ended.done():
            return
        self._ended.set_result(end)
        lost = ConnectionLost(f"{self.name}: connection ended before the response ({end})")
        for pending in self._pending.abandon_all():
            call = self._calls.pop(pending.request_id, None)
            if call is None:
                continue
            if call.timer is not None:
                call.timer.cancel()
            if not call.future.done():
                call.future.set_exception(lost)
        keepalive = self._keepalive
        if keepalive is not None and keepalive is not asyncio.current_task():
            keepalive.cancel()

    # ------------------------------------------------------------------ writing

    def _send(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or self._ended.done():
            raise ConnectionLost(f"{self.name}: not connected")
        transport.send(_TEXT, data)

    def _register(self, endpoint: str, result_type: Any, timeout: float | None,
                  on_result: ResultCallback | None) -> int:
        request_id = self._pending.add(endpoint, result_type)
        self._track(request_id, endpoint, timeout, on_result)
        return request_id

    def _track(self, request_id: int, endpoint: str, timeout: float | None,
               on_result: ResultCallback | None) -> _Call:
        """The future and the time-out timer of a request whose id is pending."""
        call = _Call(endpoint, self._loop.create_future(), on_result)
        seconds = self.options.request_timeout if timeout is None else timeout
        call.timer = self._loop.call_later(seconds, self._time_out, request_id, seconds)
        self._calls[request_id] = call
        return call

    def send_request(self, endpoint: str, body: Any = None, *, query: str = "",
                     result_type: Any = None, timeout: float | None = None,
                     on_result: ResultCallback | None = None) -> asyncio.Future[Any]:
        """Send a request now; the future gives the typed result or raises the failure
        (a :class:`TradovateError`, :class:`RequestTimeout` or ``ConnectionLost``).

        ``body`` is bytes (sent as is) or anything msgspec encodes. ``on_result`` sees the
        result on the reader, before any later frame is processed (used to apply a snapshot
        before the events that follow it).
        """
        transport = self._transport
        if transport is None or self._ended.done():
            raise ConnectionLost(f"{self.name}: not connected")
        if body is None:
            payload = b""
        elif isinstance(body, bytes | bytearray):
            payload = bytes(body)
        else:
            payload = encode_body(body)
        request_id = self._pending.add(endpoint, result_type)
        try:
            frame = encode_request(endpoint, request_id, query, payload)
            # Written before the future and the timer exist: that bookkeeping (a timer costs
            # microseconds) is off the tick-to-order path, and neither the answer nor a
            # disconnect (uvloop reports it with call_soon) can overtake it: both are handled
            # on this thread after this call returns.
            transport.send(_TEXT, frame)
        except BaseException:
            self._pending.cancel(request_id)
            raise
        self.stats.requests_sent += 1
        return self._track(request_id, endpoint, timeout, on_result).future

    async def request(self, endpoint: str, body: Any = None, *, query: str = "",
                      result_type: Any = None, response_timeout: float | None = None) -> Any:
        """Send a request and wait for its typed result (raises its failure). Never retried."""
        return await self.send_request(endpoint, body, query=query, result_type=result_type,
                                       timeout=response_timeout)

    def _time_out(self, request_id: int, seconds: float) -> None:
        self._pending.cancel(request_id)
        call = self._calls.pop(request_id, None)
        if call is None:
            return
        self.stats.timeouts += 1
        if not call.future.done():
            call.future.set_exception(RequestTimeout(call.endpoint, seconds))

    async def _keep_alive(self) -> None:
        """Send ``[]`` every heartbeat interval whatever else is sent, and end the connection
        when no frame of any kind has arrived for the silence timeout."""
        interval = self.options.heartbeat_interval
        silence = self.options.silence_timeout
        time = self._time
        next_beat = time() + interval
        while not self._ended.done():
            now = time()
            if now >= next_beat:
                transport = self._transport
                if transport is not None:
                    transport.send(_TEXT, HEARTBEAT_REQUEST)
                    self.stats.heartbeats_sent += 1
                next_beat = max(next_beat + interval, now)
            deadline = self._last_frame + silence
            if now >= deadline:
                _log.warning("%s: no frame for %.1fs; closing as dead", self.name,
                             now - self._last_frame)
                self._abort(SessionEnd(EndKind.SILENCE, f"no frame for {silence:g}s"))
                return
            await asyncio.sleep(min(next_beat, deadline) - now)

    # ------------------------------------------------------------------ reading (hot path)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        self.frame_ns = perf_counter_ns()
        self._last_frame = self._time()
        if frame.msg_type is not _TEXT:
            if frame.msg_type is WSMsgType.CLOSE:
                self._on_ws_close(transport, frame)
            return
        self.stats.frames += 1
        # The memoryview is valid only during this call: decoding copies what it keeps, and
        # responses (whose raw ``d`` references the buffer) are resolved right here.
        payload = frame.get_payload_as_memoryview()
        if self._on_frame is not None:
            try:
                self._on_frame(payload)
            except Exception:
                self._consumer_failed(payload)
        decoded = decode_frame(payload)
        kind = type(decoded)
        if kind is Messages:
            on_event = self._on_event
            for message in decoded.items:  # type: ignore[union-attr]
                mkind = type(message)
                if mkind is Response:
                    self._on_response(message)  # type: ignore[arg-type]
                    continue
                if mkind is MessageError:
                    self._malformed(message.reason, message.raw)  # type: ignore[union-attr]
                    continue
                self.stats.events += 1
                try:
                    on_event(message)
                except Exception:
                    self._consumer_failed(message)
                if mkind is ShutdownEvent:
                    self._on_shutdown(message)  # type: ignore[arg-type]
        elif kind is Open:
            if not self._opened.done():
                self._opened.set_result(None)
        elif kind is Close:
            self._on_close_frame(decoded)  # type: ignore[arg-type]
        elif kind is FrameError:
            self._malformed(decoded.reason, decoded.data)  # type: ignore[union-attr]
        # Heartbeat: its arrival time is all that matters.

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        # A close frame (Tradovate's or the websocket's) has already recorded its own end.
        self._finish(SessionEnd(EndKind.DROPPED, "connection lost"))

    def _on_response(self, response: Response) -> None:
        resolution = self._pending.resolve(response)
        if resolution is None:
            self.stats.unmatched_responses += 1
            return
        call = self._calls.pop(resolution.pending.request_id, None)
        if call is None:
            return
        if call.timer is not None:
            call.timer.cancel()
        result = resolution.result
        if call.on_result is not None:
            try:
                call.on_result(result)
            except Exception:
                self._consumer_failed(response)
        if call.future.done():
            return
        if isinstance(result, TradovateError):
            call.future.set_exception(result)
        else:
            call.future.set_result(result)

    def _on_shutdown(self, event: ShutdownEvent) -> None:
        data = event.data
        _log.warning("%s: server shutdown notice %s %s", self.name, data.reason_code,
                     data.reason or "")
        self._finish(SessionEnd(EndKind.SHUTDOWN, data.reason or "", reason_code=data.reason_code))
        self._close_transport(WSCloseCode.OK, "shutdown")

    def _on_close_frame(self, close: Close) -> None:
        _log.warning("%s: server close frame %d %s", self.name, close.code, close.reason)
        self._finish(SessionEnd(EndKind.CLOSE_FRAME, close.reason, code=close.code))
        self._close_transport(WSCloseCode.OK, "close frame")

    def _on_ws_close(self, transport: WSTransport, frame: WSFrame) -> None:
        code = frame.get_close_code()
        self._finish(SessionEnd(EndKind.CLOSE_FRAME, frame.get_close_reason() or "websocket close",
                                code=code.value if isinstance(code, WSCloseCode) else int(code)))
        self._close_transport(WSCloseCode.OK, "")

    def _close_transport(self, code: WSCloseCode, reason: str) -> None:
        transport = self._transport
        if transport is None or transport.is_disconnected:
            return
        if not transport.is_close_frame_sent:
            transport.send_close(code, reason.encode())
        transport.disconnect(graceful=True)

    def _malformed(self, reason: str, data: bytes) -> None:
        self.stats.malformed += 1
        if _should_log(self.stats.malformed):
            _log.warning("%s: malformed input #%d ignored: %s (%d bytes)", self.name,
                         self.stats.malformed, reason[:200], len(data))
        self._problem("malformed", f"{reason[:200]} ({len(data)} bytes)")

    def _consumer_failed(self, message: object) -> None:
        self.stats.consumer_errors += 1
        if _should_log(self.stats.consumer_errors):
            _log.exception("%s: event consumer raised on %s", self.name, type(message).__name__)
        error = sys.exc_info()[1]
        self._problem("consumer", f"{type(error).__name__}: {error} (on "
                                  f"{type(message).__name__})")

    def _problem(self, kind: str, detail: str) -> None:
        on_problem = self._on_problem
        if on_problem is None:
            return
        try:
            on_problem(kind, detail)
        except Exception:
            _log.exception("%s: the reader-problem callback raised", self.name)

