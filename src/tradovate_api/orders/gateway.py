"""Where order requests go: the :class:`OrderGateway` protocol and its live implementation.

The order manager encodes a request and calls ``gateway.send`` synchronously, inside the
strategy's event callback, so the frame is written on the trading socket without a queue hop.
The live gateway writes on the :class:`~tradovate_api.client.TradingSession`'s current
connection; :class:`RestGateway` sends over REST (the shutdown's way out when the trading
socket is down); replays and benchmarks provide their own gateway.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Protocol

from ..client.connection import Connection
from ..client.ends import RequestTimeout
from ..client.rest import RestClient
from ..client.trading_session import TradingSession
from ..errors import ConnectionLost

_log = logging.getLogger("tradovate_api.orders.gateway")


class OrderGateway(Protocol):
    """Sends one request now and returns the future of its typed result.

    ``send`` must raise :class:`~tradovate_api.errors.ConnectionLost` synchronously when it
    cannot send (then the request was NOT sent). Otherwise the future resolves with the
    ``result_type`` value or fails with the request's error: a
    :class:`~tradovate_api.errors.TradovateError` (``OrderRejected``, ...),
    :class:`~tradovate_api.client.RequestTimeout` or ``ConnectionLost`` (outcome unknown).
    """

    def send(self, endpoint: str, body: Any, result_type: Any) -> asyncio.Future[Any]: ...


class LiveGateway:
    """Order requests on the trading session's current connection.

    ``timeout`` (seconds) bounds the wait for an answer (default: the connection's request
    timeout). With ``drop_on_timeout`` a connection that did not answer an order request in
    time is closed: a socket that loses order answers is not trusted; the reconnect's
    ``user/syncrequest`` snapshot shows the request's order if it was executed, and the outcome
    resolver settles it otherwise (ADR 0004, ADR 0006).
    """

    __slots__ = ("_session", "drop_on_timeout", "timeout", "timeouts")

    def __init__(self, session: TradingSession, *, timeout: float | None = None,
                 drop_on_timeout: bool = True) -> None:
        self._session = session
        self.timeout = timeout
        self.drop_on_timeout = drop_on_timeout
        self.timeouts = 0

    def send(self, endpoint: str, body: Any, result_type: Any) -> asyncio.Future[Any]:
        connection = self._session.connection
        if connection is None:
            raise ConnectionLost(f"{self._session.name}: not connected")
        future = connection.send_request(endpoint, body, result_type=result_type,
                                         timeout=self.timeout)
        if self.drop_on_timeout:
            future.add_done_callback(lambda done: self._check_timeout(done, connection))
        return future

    def _check_timeout(self, future: asyncio.Future[Any], connection: Connection) -> None:
        if future.cancelled() or not isinstance(future.exception(), RequestTimeout):
            return
        self.timeouts += 1
        if connection.is_open:
            _log.warning("%s: an order request got no answer in time; closing the connection "
                         "(an untrusted socket)", self._session.name)
            connection.abort("an order answer timed out")


class RestGateway:
    """Order requests over REST (``POST {base}/order/...``), for when the trading socket is
    down. The future fails with ``ConnectionLost`` when no HTTP answer came (outcome
    unknown, as on the socket); nothing is retried."""

    __slots__ = ("_rest",)

    def __init__(self, rest: RestClient) -> None:
        self._rest = rest

    def send(self, endpoint: str, body: Any, result_type: Any) -> asyncio.Future[Any]:
        return asyncio.ensure_future(self._rest.request(endpoint, body, result_type))
