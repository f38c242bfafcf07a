"""Why a websocket session ended, and the errors sessions raise.

A session's end is a value (:class:`SessionEnd`) so the supervisor can classify it: a dropped
or silent socket or a close frame means *reconnect*; a quota ``shutdown`` is urgent; a token
that cannot be obtained is fatal. Messages never contain tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..errors import ConnectionLost, TradovateError


class EndKind(StrEnum):
    DROPPED = "dropped"
    """The TCP connection went away without a Tradovate close frame."""
    SILENCE = "silence"
    """No frame of any kind arrived for the silence timeout: the socket is presumed dead."""
    CLOSE_FRAME = "close_frame"
    """The server sent ``c[code,"reason"]`` (or a websocket CLOSE)."""
    SHUTDOWN = "shutdown"
    """The server announced a shutdown (``reason_code`` says why) before closing."""
    CLIENT_CLOSED = "client_closed"
    """This process closed the socket."""


QUOTA_REASONS = frozenset({"ConnectionQuotaReached", "IPQuotaReached"})
"""``shutdown`` reason codes meaning Tradovate closed the socket to enforce a quota."""
MAINTENANCE_REASON = "Maintenance"


@dataclass(frozen=True, slots=True)
class SessionEnd:
    """How one connection ended. ``code``/``reason`` come from the server when it said."""

    kind: EndKind
    reason: str = ""
    code: int | None = None
    reason_code: str | None = None
    own_logins: bool = False
    """Our own later logins ended the server session this socket was authorized on
    (Tradovate keeps two sessions per user and ends the oldest): expected, not a quota alarm."""

    @property
    def quota(self) -> bool:
        """Tradovate closed the socket because of a connection or IP quota that something
        other than this process's own logins exhausted."""
        return (self.kind is EndKind.SHUTDOWN and self.reason_code in QUOTA_REASONS
                and not self.own_logins)

    @property
    def maintenance(self) -> bool:
        return self.kind is EndKind.SHUTDOWN and self.reason_code == MAINTENANCE_REASON

    def __str__(self) -> str:
        parts = [str(self.kind)]
        if self.reason_code:
            parts.append(self.reason_code)
        if self.code is not None:
            parts.append(str(self.code))
        if self.reason:
            parts.append(self.reason)
        return ": ".join(parts)


class SessionEnded(ConnectionLost):
    """A connection that had been authorized ended; ``end`` says how. ``ready_seconds`` is
    how long it was ready (authorized and restored) before it ended, ``None`` when it ended
    before it ever was (a failed connection attempt)."""

    def __init__(self, session: str, end: SessionEnd,
                 ready_seconds: float | None = None) -> None:
        super().__init__(f"{session} connection ended ({end})")
        self.session = session
        self.end = end
        self.ready_seconds = ready_seconds


class ConnectFailed(ConnectionLost):
    """No usable connection: TCP/handshake failure, or no ``o`` frame in time."""


class AuthorizationFailed(TradovateError):
    """The server refused ``authorize``; ``cause`` is its error (usually ``Unauthorized``)."""

    def __init__(self, session: str, cause: TradovateError) -> None:
        super().__init__(f"{session}: authorize failed: {cause}")
        self.cause = cause


class TokenUnavailable(TradovateError):
    """The token provider could not produce a token (login refused, captcha, 429...)."""

    def __init__(self, session: str, cause: BaseException) -> None:
        super().__init__(f"{session}: no access token: {type(cause).__name__}: {cause}")
        self.cause = cause


class RequestTimeout(TradovateError):
    """No response within the request's time-out. The request may still have been executed:
    its outcome is unknown and it is never retried automatically."""

    def __init__(self, endpoint: str, seconds: float) -> None:
        super().__init__(f"{endpoint}: no response within {seconds:g}s (outcome unknown)")
        self.endpoint = endpoint
        self.seconds = seconds
