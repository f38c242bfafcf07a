"""Tradovate's request limits, enforced by default (reference §7.1, §7.2).

Two tiers apply at once, as the partner rate-limits page describes them:

* **User-level** sliding windows (hour, minute, second) per user id, or per IP for requests
  without a valid token. Past ``warning_fraction`` of a window's limit a request is answered
  423 (the documented warning before 429) and not handled; past the limit it is answered 429
  and the caller is locked out until ``lockout`` seconds after its latest request (requests
  made during the lockout extend it). Both have an empty body; over a websocket
  ``{"s":423|429,"i":id}``.
* **Endpoint-level** limits per IP over a sliding hour (login, renewal, ``auth/me``,
  ``user/syncrequest``), plus the older page's 10 ``auth/*`` requests a minute. Over a limit
  the request gets a penalty ticket (HTTP 200) with ``p-time`` = the row's back-off, doubled
  for each further violation within the hour; resending after ``p-time`` with the ticket is
  handled, a ticket resent early or a ``p-captcha`` one earns a new ticket. The login's
  penalty always carries ``p-captcha: true``; its row counts only failed requests (and
  penalized ones), so a client that keeps retrying a refused login stays locked out.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .config import EndpointLimit, RateLimits, WindowLimits

PROCEED, WARNING, LOCKED_OUT = 200, 423, 429
"""Verdicts of :meth:`RequestLimits.user_request`."""
MAX_PENALTY_S = 3600.0
"""A doubled back-off never exceeds an hour (the documented captcha wait)."""
_AUTH_PREFIX = "auth/"
_DEFAULT_AUTH_BACK_OFF_S = 60.0
"""Back-off of an ``auth/*`` endpoint that has no row of its own."""
_HOUR_S, _MINUTE_S = 3600.0, 60.0


class _Window:
    """Timestamps of the requests counted in a sliding window of ``span`` seconds."""

    __slots__ = ("limit", "span", "times")

    def __init__(self, span: float, limit: int) -> None:
        self.span = span
        self.limit = limit
        self.times: deque[float] = deque()

    def count(self, now: float) -> int:
        times = self.times
        while times and times[0] <= now - self.span:
            times.popleft()
        return len(times)


@dataclass(slots=True)
class _Caller:
    """A user's (or an IP's) user-level windows and lockout."""

    windows: tuple[_Window, ...]
    locked_until: float = 0.0


@dataclass(slots=True)
class _Ticket:
    endpoint: str
    peer: str
    issued: float
    wait: float
    captcha: bool


@dataclass(slots=True)
class _EndpointState:
    """One endpoint's counted requests and violations for one IP."""

    counted: _Window
    violations: _Window = field(default_factory=lambda: _Window(_HOUR_S, 0))


class RequestLimits:
    """The limits of one simulator; ``clock`` gives epoch seconds."""

    def __init__(self, config: RateLimits, clock: Callable[[], float]) -> None:
        self.config = config
        self._clock = clock
        self._rows: dict[str, EndpointLimit] = {row.endpoint.lower(): row
                                                for row in config.endpoints}
        self._callers: dict[tuple[str, object], _Caller] = {}
        self._endpoints: dict[tuple[str, str], _EndpointState] = {}
        self._auth: dict[str, _Window] = {}
        self._tickets: dict[str, _Ticket] = {}

    # ----------------------------------------------------------------- user level

    def _caller(self, user_id: int | None, peer: str) -> _Caller:
        key: tuple[str, object] = ("user", user_id) if user_id is not None else ("ip", peer)
        caller = self._callers.get(key)
        if caller is None:
            tier: WindowLimits = (self.config.authenticated if user_id is not None
                                  else self.config.anonymous)
            caller = self._callers[key] = _Caller((
                _Window(_HOUR_S, tier.per_hour), _Window(_MINUTE_S, tier.per_minute),
                _Window(1.0, tier.per_second)))
        return caller

    def user_request(self, user_id: int | None, peer: str) -> int:
        """Count one request of ``user_id`` (``None``: anonymous, by ``peer`` IP) and say
        whether it may be handled (:data:`PROCEED`) or is answered 423 or 429 instead."""
        if not self.config.enabled:
            return PROCEED
        now = self._clock()
        caller = self._caller(user_id, peer)
        if now < caller.locked_until:
            caller.locked_until = now + self.config.lockout
            return LOCKED_OUT
        counts = [window.count(now) for window in caller.windows]
        if any(count >= window.limit for count, window in zip(counts, caller.windows,
                                                               strict=True)):
            caller.locked_until = now + self.config.lockout
            return LOCKED_OUT
        warn = self.config.warning_fraction
        for window in caller.windows:
            window.times.append(now)
        if any(count + 1 > warn * window.limit
               for count, window in zip(counts, caller.windows, strict=True)):
            return WARNING
        return PROCEED

    # ----------------------------------------------------------------- endpoint level

    def _state(self, endpoint: str, peer: str, row: EndpointLimit) -> _EndpointState:
        key = (endpoint, peer)
        state = self._endpoints.get(key)
        if state is None:
            state = self._endpoints[key] = _EndpointState(_Window(_HOUR_S, row.per_hour))
        return state

    def endpoint_request(self, endpoint: str, peer: str,
                         params: dict[str, Any]) -> dict[str, Any] | None:
        """Before handling ``endpoint`` for ``peer``: ``None`` if it may be handled, else
        the penalty body to answer with (HTTP 200, or ``d`` with ``s:200``)."""
        if not self.config.enabled:
            return None
        row = self._rows.get(endpoint)
        is_auth = endpoint.startswith(_AUTH_PREFIX) and self.config.auth_per_minute > 0
        if row is None and not is_auth:
            return None
        now = self._clock()
        over = False
        if is_auth:
            minute = self._auth.setdefault(peer, _Window(_MINUTE_S, self.config.auth_per_minute))
            over = minute.count(now) >= minute.limit
            minute.times.append(now)
        state = self._state(endpoint, peer, row) if row is not None else None
        if state is not None:
            over = over or state.counted.count(now) >= state.counted.limit
            if row is not None and row.count_success:
                state.counted.times.append(now)
        value = params.get("p-ticket")
        ticket = self._tickets.pop(value, None) if isinstance(value, str) else None
        if (ticket is not None and ticket.endpoint == endpoint and ticket.peer == peer
                and not ticket.captcha and now >= ticket.issued + ticket.wait):
            return None
        if not over and ticket is None:
            return None
        return self._penalty(endpoint, peer, row, state, now)

    def _penalty(self, endpoint: str, peer: str, row: EndpointLimit | None,
                 state: _EndpointState | None, now: float) -> dict[str, Any]:
        captcha = row is not None and row.captcha
        back_off = row.back_off if row is not None else _DEFAULT_AUTH_BACK_OFF_S
        if state is None:
            state = self._endpoints.setdefault(
                (endpoint, peer), _EndpointState(_Window(_HOUR_S, 0)))
        if row is not None and not row.count_success:
            state.counted.times.append(now)  # a penalized request is not a success
        earlier = state.violations.count(now)
        state.violations.times.append(now)
        wait = min(back_off * 2.0 ** earlier, MAX_PENALTY_S)
        self._forget_old_tickets(now)
        value = secrets.token_urlsafe(24)
        self._tickets[value] = _Ticket(endpoint, peer, now, wait, captcha)
        body: dict[str, Any] = {"p-ticket": value, "p-time": wait}
        if captcha:
            body["p-captcha"] = True
        return body

    def _forget_old_tickets(self, now: float) -> None:
        """Tickets nobody resent within an hour of their ``p-time`` (oldest first)."""
        tickets = self._tickets
        while tickets:
            value, ticket = next(iter(tickets.items()))
            if ticket.issued + ticket.wait + _HOUR_S > now:
                return
            del tickets[value]

    def endpoint_done(self, endpoint: str, peer: str, succeeded: bool) -> None:
        """After ``endpoint`` was answered: count a failure where the row counts only
        failures (rows counting every request counted it on arrival)."""
        if not self.config.enabled or succeeded:
            return
        row = self._rows.get(endpoint)
        if row is not None and not row.count_success:
            self._state(endpoint, peer, row).counted.times.append(self._clock())
