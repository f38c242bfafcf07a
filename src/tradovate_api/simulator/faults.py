"""Fault injection: the ways the real service misbehaves, switchable while the simulator runs.

Flags (``rate_limited``, ``response_delay``, ``silent``, a penalty) are read by the REST and
websocket handlers on every request; actions (drop, close frame, shutdown, expire tokens,
reject orders, restart) act at once through the :class:`FaultTarget` the simulator provides.
``kind`` picks the sockets an action hits: ``"trading"``, ``"md"`` or ``"all"``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from ..protocol import encode_close
from .session import shutdown_frame

SocketKind = Literal["trading", "md", "all"]
"""Which sockets an action hits."""

PENALTY_ENDPOINTS = ("auth/accesstokenrequest",)
"""Endpoints a penalty applies to unless told otherwise (the "novel operations")."""


class FaultTarget(Protocol):
    """What the simulator lets the fault switches do."""

    async def close_connections(self, kind: SocketKind, frames: list[bytes], *,
                                abort: bool) -> int: ...

    def expire_tokens(self) -> int: ...

    def reject_orders(self, count: int, reason: str, after_accept: bool) -> None: ...

    async def restart(self) -> None: ...


@dataclass(slots=True)
class _Ticket:
    issued: float
    wait: float
    captcha: bool


@dataclass(slots=True)
class Penalty:
    """Armed penalty: the next ``remaining`` requests (``None`` = until cleared) to one of
    ``endpoints`` get a ``p-ticket`` instead of being handled."""

    seconds: float
    captcha: bool
    endpoints: frozenset[str]
    remaining: int | None


class Faults:
    """The fault switches of one simulator (``sim.faults``)."""

    def __init__(self, target: FaultTarget, clock: Callable[[], float]) -> None:
        self._target = target
        self._clock = clock
        self.rate_limited = False
        """Every REST request gets HTTP 429 with an empty body, every websocket request
        ``{"s":429,"i":id}`` (authorize excepted, so a socket can still be opened)."""
        self.response_delay = 0.0
        """Seconds every response (REST and websocket) is held back."""
        self.silent = False
        """Sockets send nothing at all (no responses, events or heartbeats) while set."""
        self.penalty: Penalty | None = None
        self._tickets: dict[str, _Ticket] = {}

    # ----------------------------------------------------------------- penalty tickets

    def penalize(self, seconds: float = 5.0, *, captcha: bool = False,
                 endpoints: Iterable[str] = PENALTY_ENDPOINTS, count: int | None = 1) -> None:
        """Answer the next ``count`` requests to ``endpoints`` with a penalty ticket."""
        self.penalty = Penalty(seconds, captcha, frozenset(e.lower() for e in endpoints), count)

    def check_penalty(self, endpoint: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """``None`` if the request may proceed, else the penalty body to answer with.

        A request carrying a ticket whose ``p-time`` has passed proceeds (the ticket is used
        up); a captcha ticket or one resent too early earns a new penalty.
        """
        ticket_value = params.get("p-ticket")
        if isinstance(ticket_value, str) and ticket_value in self._tickets:
            ticket = self._tickets.pop(ticket_value)
            if not ticket.captcha and self._clock() >= ticket.issued + ticket.wait:
                return None
            return self._issue(ticket.wait, ticket.captcha)
        penalty = self.penalty
        if penalty is None or endpoint not in penalty.endpoints:
            return None
        if penalty.remaining is not None:
            penalty.remaining -= 1
            if penalty.remaining <= 0:
                self.penalty = None
        return self._issue(penalty.seconds, penalty.captcha)

    def _issue(self, seconds: float, captcha: bool) -> dict[str, Any]:
        value = secrets.token_urlsafe(24)
        self._tickets[value] = _Ticket(self._clock(), seconds, captcha)
        body: dict[str, Any] = {"p-ticket": value, "p-time": seconds}
        if captcha:
            body["p-captcha"] = True
        return body

    # ----------------------------------------------------------------- actions

    async def drop_connections(self, kind: SocketKind = "all") -> int:
        """Cut the TCP connections without a close frame or handshake."""
        return await self._target.close_connections(kind, [], abort=True)

    async def send_close(self, code: int = 3000, reason: str = "Go away!",
                         kind: SocketKind = "all") -> int:
        """Send ``c[code,"reason"]`` and close."""
        return await self._target.close_connections(kind, [encode_close(code, reason)],
                                                    abort=False)

    async def shutdown(self, reason_code: str = "Maintenance", reason: str | None = None,
                       kind: SocketKind = "all") -> int:
        """Send a ``shutdown`` event (``Maintenance``, ``ConnectionQuotaReached``,
        ``IPQuotaReached``), then close."""
        return await self._target.close_connections(
            kind, [shutdown_frame(reason_code, reason)], abort=False)

    def expire_tokens(self) -> int:
        """Every token issued so far expires now (authorized sockets stay open)."""
        return self._target.expire_tokens()

    def reject_orders(self, count: int = 1, reason: str = "UnknownReason", *,
                      after_accept: bool = False) -> None:
        """The next ``count`` order requests are rejected (see ``Exchange.reject_next``)."""
        self._target.reject_orders(count, reason, after_accept)

    async def restart(self) -> None:
        """Close everything and listen again on the same ports, keeping all state."""
        await self._target.restart()
