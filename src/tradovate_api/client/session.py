"""A reconnectable websocket session: one :class:`Connection` at a time, opened by ``run()``.

The supervisor calls ``run()`` for every (re)connect. It closes the previous socket *before*
opening the next (Tradovate enforces connection quotas by closing the oldest socket and
revoking its token), authorizes with the provider's current token, lets the subclass restore
its state (subscriptions, sync) and then waits for the connection to end, raising
:class:`SessionEnded` for the supervisor to classify. Nothing is retried here: retry policy
belongs to the supervisor.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any, NoReturn

from ..errors import ConnectionLost, Unauthorized
from .connection import (
    Connection,
    ConnectionOptions,
    EventConsumer,
    FrameObserver,
    ReaderProblem,
)
from .ends import AuthorizationFailed, SessionEnd, SessionEnded, TokenUnavailable
from .tokens import TokenProvider, TokenRejected

_log = logging.getLogger("tradovate_api.client.session")


class Session:
    """Base of the market-data and trading sessions."""

    def __init__(self, url: str, token: TokenProvider, on_event: EventConsumer, *,
                 name: str, options: ConnectionOptions | None = None,
                 token_rejected: TokenRejected | None = None) -> None:
        self.url = url
        self.name = name
        self.options = options or ConnectionOptions()
        self._token = token
        self._token_rejected = token_rejected
        self._on_event = on_event
        self._connection: Connection | None = None
        self._ready = False
        self._changed = asyncio.Event()
        self.connects = 0
        """Connections opened (attempts that reached the server)."""
        self.ready_count = 0
        """Connections that were authorized and restored (the first one included)."""
        self.frame_observer: FrameObserver | None = None
        """Given every raw text frame of each new connection before decoding (md recording);
        set it before ``run()``."""
        self.reader_problem: ReaderProblem | None = None
        """Told of input each connection's reader dropped and of a consumer that raised
        (alerts, resync); set it before ``run()``."""
        self.login_count: Callable[[], int] | None = None
        """How many times this process has logged in (``AuthManager.logins``). Tradovate keeps
        two server sessions per user and ends the oldest on a new login, so a quota
        ``shutdown`` after two logins of our own since this socket authorized is expected,
        not a sign of another client; set it before ``run()``."""
        self._logins_at_authorize = 0
        self._verdict: tuple[SessionEnd, SessionEnd] | None = None
        """The last end seen by :meth:`_judged` and its verdict."""

    # ------------------------------------------------------------------ state

    @property
    def connection(self) -> Connection | None:
        """The current connection while it is ready, else ``None``."""
        connection = self._connection
        if self._ready and connection is not None and connection.is_open:
            return connection
        return None

    @property
    def last_end(self) -> SessionEnd | None:
        """How the most recent connection ended (``None`` while it lasts or before any)."""
        connection = self._connection
        if connection is None or not connection.ended.done():
            return None
        return self._judged(connection.ended.result())

    @property
    def ready(self) -> bool:
        return self.connection is not None

    async def wait_ready(self, count: int = 1) -> None:
        """Wait until at least ``count`` connections have become ready and one is ready now.
        Callers bound it with ``asyncio.timeout``."""
        while not (self.ready_count >= count and self.ready):
            changed = self._changed
            await changed.wait()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> NoReturn:
        """One connection's life: close the old socket, connect, authorize, restore, serve
        until it ends. Always raises: :class:`SessionEnded` after a ready connection ended,
        ``ConnectFailed``/``AuthorizationFailed``/``TokenUnavailable`` before that (a
        :class:`SessionEnded` whose ``ready_seconds`` is ``None`` when the connection ended
        during the restore)."""
        await self._close_previous()
        try:
            token = await self._token()
        except Exception as exc:
            raise TokenUnavailable(self.name, exc) from exc
        self._logins_at_authorize = self.login_count() if self.login_count is not None else 0
        connection = Connection(self.url, self._on_event, name=self.name, options=self.options,
                                on_frame=self.frame_observer, on_problem=self.reader_problem)
        self._connection = connection
        self.connects += 1
        try:
            try:
                await connection.open(token)
            except AuthorizationFailed as exc:
                if isinstance(exc.cause, Unauthorized) and self._token_rejected is not None:
                    await self._token_rejected()
                raise
            await self._restore(connection)
            if not connection.is_open:
                raise SessionEnded(self.name, self._judged(await connection.wait_ended()))
            self._ready = True
            self.ready_count += 1
            self._notify()
            _log.info("%s: connected and ready (connection #%d)", self.name, self.connects)
            loop = asyncio.get_running_loop()
            ready_at = loop.time()
            end = await connection.wait_ended()
            raise SessionEnded(self.name, self._judged(end), loop.time() - ready_at)
        finally:
            if self._ready:
                self._ready = False
                self._notify()
            if connection.is_open:
                connection.close_nowait(reason="session stopped")

    def _judged(self, end: SessionEnd) -> SessionEnd:
        """Mark a quota end that our own later logins explain. Judged once per end, with the
        login count of that moment: logins after it do not change the verdict."""
        verdict = self._verdict
        if verdict is not None and verdict[0] is end:
            return verdict[1]
        judged = end
        if (end.quota and self.login_count is not None
                and self.login_count() - self._logins_at_authorize >= 2):
            judged = dataclasses.replace(end, own_logins=True)
        self._verdict = (end, judged)
        return judged

    async def _restore(self, connection: Connection) -> None:
        """Subclasses re-establish their server-side state on a fresh connection."""

    async def _close_previous(self) -> None:
        previous, self._connection = self._connection, None
        if previous is not None:
            await previous.close(reason="replaced")

    async def close(self, reason: str = "closing") -> None:
        """Close the socket with a close frame (bounded wait). ``run()`` then raises
        :class:`SessionEnded` with kind ``client_closed``."""
        connection = self._connection
        if connection is not None:
            await connection.close(reason=reason)

    async def request(self, endpoint: str, body: Any = None, *, result_type: Any = None,
                      query: str = "", response_timeout: float | None = None) -> Any:
        """Any REST-like call over the socket: the typed result, or raises the failure
        (``ConnectionLost`` when not connected). Never retried."""
        connection = self.connection
        if connection is None:
            raise ConnectionLost(f"{self.name}: not connected")
        return await connection.request(endpoint, body, query=query, result_type=result_type,
                                        response_timeout=response_timeout)
