"""The login policy: when ``auth/accesstokenrequest`` may be sent, and what each refusal means.

A login is expensive — every successful one opens a server session and Tradovate keeps only
two, closing the oldest — and the server punishes eagerness, so one place decides:

* the hourly budget: at most ``max_logins_per_hour`` logins, counted locally; past it, an
  urgent alert and a local 429 instead of a login;
* penalty tickets (``p-ticket``/``p-time``): wait, resend the same body with the ticket, a
  bounded number of times; a captcha penalty (``p-captcha``) or a persisting one stops with an
  urgent alert;
* an HTTP 429 stops with an urgent alert (Tradovate locks logins for about an hour);
* wrong credentials (a business error or 401) are alerted and raised, naming the user;
* a failure on the server's side (unreachable, 5xx — a maintenance window) spends no budget
  and defers the next login: 60 s, doubling to 15 min.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable

import msgspec

from ..alerts import Alert, AlertSink, Severity
from ..errors import (
    BusinessError,
    ConfigError,
    ConnectionLost,
    ErrorResponse,
    PenaltyTicket,
    RateLimited,
    TradovateError,
    Unauthorized,
)
from ..protocol.models.auth import AccessTokenRequest
from ..secrets import TradovateCredentials
from .endpoint import LOGIN_ENDPOINT, TokenEndpoint
from .token import TokenInfo, token_from

_log = logging.getLogger("tradovate_api.auth.login")

_LOGIN_WINDOW_SECONDS = 3600.0
LOGIN_RETRY_SECONDS = 60.0
"""Wait after a login that failed on the server's side, doubled per further failure ..."""
LOGIN_RETRY_MAX_SECONDS = 900.0
"""... up to this."""


class LoginDeferred(ConnectionLost):
    """No login was attempted: the previous one failed on the server's side (unreachable,
    5xx) and the next is due in ``retry_in`` seconds. Transient, like the failure itself."""

    def __init__(self, retry_in: float, last_failure: str) -> None:
        super().__init__(f"login deferred for {retry_in:.0f}s after a failed attempt "
                         f"({last_failure})")
        self.retry_in = retry_in


def is_transient(error: BaseException) -> bool:
    """Whether a failure is the server being unreachable or in trouble (no answer, 5xx) —
    something waiting cures — rather than a refusal."""
    return isinstance(error, ConnectionLost) or (
        isinstance(error, ErrorResponse) and error.status >= 500)


def user_name(credentials: TradovateCredentials) -> str:
    """The login's user name; :class:`ConfigError` when it is not set."""
    name = credentials.name
    if not name:
        raise ConfigError("TRADOVATE_NAME is not set")
    return name


class LoginPolicy:
    """Logs in through ``endpoint`` as the policy allows. ``device_id`` is asked for only
    when a login body is built."""

    def __init__(self, endpoint: TokenEndpoint, credentials: TradovateCredentials, *,
                 alerts: AlertSink, device_id: Callable[[], str], penalty_retries: int,
                 max_logins_per_hour: int,
                 sleep: Callable[[float], Awaitable[object]]) -> None:
        self._endpoint = endpoint
        self._credentials = credentials
        self._alerts = alerts
        self._device_id = device_id
        self._penalty_retries = penalty_retries
        self._max_logins_per_hour = max_logins_per_hour
        self._sleep = sleep
        self._logins: deque[float] = deque()
        self._failures = 0
        self.retry_at = 0.0
        """``time.monotonic()`` before which no login is sent (after a server-side failure)."""
        self._failure = ""
        self.logins = 0
        """Successful logins (each one opened a server session)."""

    async def login(self) -> TokenInfo:
        """One login (plus penalty-ticket resends). A failure on the server's side is not
        counted against the hourly cap and defers the next login."""
        retry_in = self.retry_at - time.monotonic()
        if retry_in > 0:
            raise LoginDeferred(retry_in, self._failure)
        self._spend_budget()
        try:
            info = await self._login_once()
        except TradovateError as exc:
            if is_transient(exc):
                self._logins.pop()  # the server did not log us in: the cap is not spent
                self._failures += 1
                wait = min(LOGIN_RETRY_SECONDS * 2 ** (self._failures - 1),
                           LOGIN_RETRY_MAX_SECONDS)
                self.retry_at = time.monotonic() + wait
                self._failure = f"{type(exc).__name__}: {exc}"
                _log.error("login failed on the server's side (%s); the next login in %.0fs",
                           self._failure, wait)
            raise
        self._failures = 0
        self.retry_at = 0.0
        return info

    def _body(self) -> AccessTokenRequest:
        credentials = self._credentials
        if credentials.password is None:
            raise ConfigError("TRADOVATE_PASSWORD is not set")
        cid: int | str | None = credentials.cid
        if isinstance(cid, str) and cid.isdigit():
            cid = int(cid)
        return AccessTokenRequest(
            name=user_name(credentials), password=credentials.password.reveal(),
            app_id=credentials.app_id or "tradovate-api",
            app_version=credentials.app_version or "0.1.0",
            device_id=self._device_id(), cid=cid,
            sec=credentials.sec.reveal() if credentials.sec is not None else None)

    def _spend_budget(self) -> None:
        now = time.monotonic()
        while self._logins and now - self._logins[0] > _LOGIN_WINDOW_SECONDS:
            self._logins.popleft()
        if len(self._logins) >= self._max_logins_per_hour:
            self._alerts.emit(Alert(
                Severity.URGENT, "auth.login_budget", "Refusing to log in again",
                f"{len(self._logins)} logins in the last hour; each opens a server session "
                f"and Tradovate keeps only two."))
            raise RateLimited(429, f"local limit: {self._max_logins_per_hour} logins per hour "
                                   f"reached; not logging in again").with_endpoint(
                LOGIN_ENDPOINT)
        self._logins.append(now)

    async def _login_once(self) -> TokenInfo:
        body = self._body()
        user = body.name
        _log.info("requesting an access token for %r (device %s…)", user,
                  self._device_id()[:12])
        for resend in range(self._penalty_retries + 1):
            result = await self._endpoint.request("POST", LOGIN_ENDPOINT,
                                                  body=msgspec.json.encode(body))
            if isinstance(result, PenaltyTicket):
                if result.captcha or resend == self._penalty_retries:
                    why = ("requires a captcha" if result.captcha
                           else f"persisted after {resend} resends")
                    self._alerts.emit(Alert(
                        Severity.URGENT, "auth.penalty", f"Login blocked: penalty {why}",
                        "Tradovate asks to wait (about an hour for a captcha) before "
                        "logging in again; no further attempts are made."))
                    raise result
                _log.warning("login penalty: waiting %gs, then resending with the ticket",
                             result.seconds)
                await self._sleep(result.seconds)
                body = msgspec.structs.replace(body, penalty_ticket=result.ticket)
                continue
            if isinstance(result, RateLimited):
                self._alerts.emit(Alert(
                    Severity.URGENT, "auth.rate_limited", "Login rate-limited (HTTP 429)",
                    "Tradovate locks logins for about an hour; no retry is made."))
                raise result
            if isinstance(result, BusinessError | Unauthorized):
                text = result.error_text if isinstance(result, BusinessError) else result.text
                self._alerts.emit(Alert(Severity.URGENT, "auth.login_refused",
                                        f"Login as {user!r} refused", text))
                reason = f"login as {user!r} refused" + (f": {text}" if text else "")
                failure = (BusinessError(reason) if isinstance(result, BusinessError)
                           else Unauthorized(result.status, reason))
                raise failure.with_endpoint(LOGIN_ENDPOINT)
            if isinstance(result, TradovateError):
                raise result
            info = token_from(result, previous=None)
            self.logins += 1
            _log.info("logged in as %r (user id %s, token expires %s)", user, info.user_id,
                      info.expires_at.isoformat())
            return info
        raise AssertionError("unreachable: the loop returns or raises")
