"""Access tokens: one login, then renewals, with the token cached between runs.

Every successful ``auth/accesstokenrequest`` opens a new server-side session and Tradovate keeps
only two, closing the oldest, so the manager logs in as rarely as possible: it reuses a cached
token while it is valid, renews ``margin`` before the server's ``expirationTime`` (never a
hard-coded lifetime), and logs in again only when renewal has failed *and* the token has really
expired (or the server has rejected it). Logins are also capped locally per hour. Penalty
tickets are honoured (wait, resend the same body with ``p-ticket``, a bounded number of times);
a captcha penalty or an HTTP 429 stops with an urgent alert instead of retrying.

A token the server refuses with 401 (revoked, or unknown to a server that restarted) is
dropped from memory *and from the cache file* before the one fresh login, so a refused token
never blocks the next start. A login that fails on the server's side (unreachable, 5xx — a
maintenance window) is not counted against the hourly cap, and the next one waits: 60 s,
doubling to 15 min, so hours of maintenance cost a handful of attempts, not a lock-out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import platform
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import msgspec

from .alerts import Alert, AlertSink, Severity
from .errors import (
    BusinessError,
    ConfigError,
    ConnectionLost,
    ErrorResponse,
    PenaltyTicket,
    ProtocolError,
    RateLimited,
    RequestError,
    TradovateError,
    Unauthorized,
)
from .protocol.correlation import interpret
from .protocol.models.auth import AccessTokenRequest, AccessTokenResponse
from .secrets import Secret, TradovateCredentials
from .tls import check_rest_url

if TYPE_CHECKING:
    from .settings import Settings

_log = logging.getLogger("tradovate_api.auth")

LOGIN_ENDPOINT = "auth/accesstokenrequest"
RENEW_ENDPOINT = "auth/renewaccesstoken"
_LOGIN_WINDOW_SECONDS = 3600.0
LOGIN_RETRY_SECONDS = 60.0
"""Wait after a login that failed on the server's side, doubled per further failure ..."""
LOGIN_RETRY_MAX_SECONDS = 900.0
"""... up to this."""
_MACHINE_ID_FILES = ("/etc/machine-id", "/var/lib/dbus/machine-id")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as the server issued it. The tokens are :class:`Secret` (``reveal()`` them only
    where they are sent); ``md_access_token`` is the access token when the server sent no
    separate market-data token."""

    access_token: Secret
    md_access_token: Secret
    expires_at: datetime
    user_id: int | None = None
    name: str | None = None

    def seconds_left(self, now: datetime) -> float:
        return (self.expires_at - now).total_seconds()

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def _parse_expiration(text: str | None) -> datetime:
    if not text:
        raise ProtocolError("token response without expirationTime")
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: the offset leaves the datetime range
        raise ProtocolError(f"unreadable expirationTime {text!r}") from None


def machine_device_id(user: str) -> str:
    """A deviceId stable for this machine and user: SHA-256 of the OS machine id (falling
    back to the MAC address and host name) and the user name."""
    machine = ""
    for candidate in _MACHINE_ID_FILES:
        with contextlib.suppress(OSError):
            machine = Path(candidate).read_text().strip()
        if machine:
            break
    if not machine:
        machine = f"{uuid.getnode():012x}-{platform.node()}"
    return hashlib.sha256(f"tradovate-api:{machine}:{user}".encode()).hexdigest()


class _TokenCache(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The cache file: the device id plus the last token, for one REST host and user."""

    rest_url: str
    name: str
    device_id: str
    access_token: str | None = None
    md_access_token: str | None = None
    expiration_time: str | None = None
    user_id: int | None = None


def write_private_file(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``, readable by the owner only (0600): the
    temporary file is created 0600, synced, then renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


TokenListener = Callable[[TokenInfo], None]


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


class AuthManager:
    """Obtains, caches, renews and hands out the access token.

    ``token()`` gives a token valid now (from memory, the cache, or a login); the supervisor
    runs ``run_renewal()`` as the "token renewal" task; sessions use ``on_token`` or
    ``wait_for_new_token`` to learn about renewed tokens, and ``token_rejected`` when the
    server refuses one.
    """

    def __init__(
        self,
        rest_url: str,
        credentials: TradovateCredentials,
        *,
        alerts: AlertSink,
        cache_path: str | Path | None = None,
        renewal_margin: float = 900.0,
        renewal_retries: int = 3,
        renewal_retry_delay: float = 20.0,
        penalty_retries: int = 2,
        max_logins_per_hour: int = 3,
        request_timeout: float = 15.0,
        session: aiohttp.ClientSession | None = None,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.rest_url = check_rest_url(rest_url)
        self._credentials = credentials
        self._alerts = alerts
        self._cache_path = Path(cache_path) if cache_path is not None else None
        self.renewal_margin = renewal_margin
        self._renewal_retries = renewal_retries
        self._renewal_retry_delay = renewal_retry_delay
        self._penalty_retries = penalty_retries
        self._max_logins_per_hour = max_logins_per_hour
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._session = session
        self._owns_session = session is None
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._current: TokenInfo | None = None
        self._cache_checked = False
        self._device_id: str | None = credentials.device_id
        self._logins: deque[float] = deque()
        self._login_failures = 0
        self._login_retry_at = 0.0
        self._login_failure = ""
        self._listeners: list[TokenListener] = []
        self._changed = asyncio.Event()
        self.logins = 0
        """Successful logins by this manager (each one opened a server session)."""
        self.renewals = 0

    @classmethod
    def from_settings(cls, settings: Settings, credentials: TradovateCredentials,
                      alerts: AlertSink, rest_url: str | None = None,
                      **overrides: Any) -> AuthManager:
        """A manager configured from the settings file; ``rest_url`` overrides the
        environment's (the embedded simulator's address). On ``sim`` without credentials the
        simulator's default user ``sim``/``sim`` is used."""
        if rest_url is None:
            endpoints = settings.endpoints()
            if endpoints is None:
                raise ConfigError("environment 'sim' without urls.rest: pass the simulator's "
                                  "REST URL")
            rest_url = endpoints.rest
        if settings.environment == "sim" and credentials.name is None:
            credentials = TradovateCredentials(name="sim", password=Secret("sim"),
                                               app_id=credentials.app_id,
                                               app_version=credentials.app_version,
                                               device_id=credentials.device_id)
        auth = settings.auth
        options: dict[str, Any] = {
            "cache_path": auth.token_cache, "renewal_margin": auth.renewal_margin_seconds,
            "renewal_retries": auth.renewal_retries,
            "renewal_retry_delay": auth.renewal_retry_delay_seconds,
            "penalty_retries": auth.penalty_retries,
            "max_logins_per_hour": auth.max_logins_per_hour,
            "request_timeout": auth.request_timeout_seconds,
        }
        options.update(overrides)
        return cls(rest_url, credentials, alerts=alerts, **options)

    # ------------------------------------------------------------------ public API

    @property
    def current(self) -> TokenInfo | None:
        """The last token obtained, or ``None`` before the first."""
        return self._current

    @property
    def device_id(self) -> str:
        if self._device_id is None:
            self._device_id = machine_device_id(self._user())
        return self._device_id

    async def token(self) -> TokenInfo:
        """A token valid now: the current one, else the cached one, else a fresh login."""
        current = self._current
        if current is not None and not current.expired(self._clock()):
            return current
        async with self._lock:
            current = self._current
            if current is not None and not current.expired(self._clock()):
                return current
            if not self._cache_checked:
                self._cache_checked = True
                cached = self._read_cache()
                if cached is not None and not cached.expired(self._clock()):
                    _log.info("reusing the cached token (expires %s)",
                              cached.expires_at.isoformat())
                    self._install(cached, persist=False)
                    return cached
            return await self._login()

    async def renew(self) -> TokenInfo:
        """Renew the current token once (``auth/renewaccesstoken``); raises the failure."""
        async with self._lock:
            current = self._current
            if current is None:
                raise RuntimeError("renew() before any token was obtained")
            result = await self._request("GET", RENEW_ENDPOINT, token=current.access_token)
            if isinstance(result, TradovateError):
                raise result
            info = self._token_from(result, previous=current)
            self.renewals += 1
            _log.info("token renewed (expires %s)", info.expires_at.isoformat())
            self._install(info)
            return info

    async def token_rejected(self, rejected: TokenInfo) -> TokenInfo:
        """The server refused ``rejected`` (401 on a request or on ``authorize``): forget it
        (in memory and in the cache file) and log in again, unless a newer token already
        replaced it. Alerted as urgent."""
        async with self._lock:
            current = self._current
            if current is not None and current is not rejected:
                return current
            self._alerts.emit(Alert(Severity.URGENT, "auth.token_rejected",
                                    "Tradovate rejected the access token; logging in again",
                                    "The server refused a token that had not yet expired "
                                    "(revoked by a third session, or unknown to a server "
                                    "that restarted)."))
            self._current = None
            self._forget_cached_token()
            return await self._login()

    def on_token(self, listener: TokenListener) -> Callable[[], None]:
        """Call ``listener(token)`` whenever a new token is installed (login or renewal);
        returns a function that unsubscribes it. Listeners must not block."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    async def wait_for_new_token(self, previous: TokenInfo | None) -> TokenInfo:
        """Wait until the current token is not ``previous``, and return it."""
        while self._current is None or self._current is previous:
            await self._changed.wait()
        return self._current

    async def run_renewal(self) -> None:
        """Renew ``renewal_margin`` seconds before each expiry, for ever (until cancelled).

        Failures: urgent alert, retry a bounded number of times; a fresh login only when the
        token has really expired (or renewal was refused with 401). Raises only what a login
        raises (captcha, 429, wrong credentials), which ends the task.
        """
        while True:
            try:
                info = await self.token()
                due = info.expires_at - timedelta(seconds=self.renewal_margin)
                delay = (due - self._clock()).total_seconds()
                if delay > 0 and await self._replaced_within(info, delay):
                    continue
                await self._renew_or_login(info)
            except TradovateError as exc:
                if not is_transient(exc):
                    raise
                wait = max(self._login_retry_at - time.monotonic(), LOGIN_RETRY_SECONDS)
                _log.warning("no token (the server cannot be reached or is failing: %s); "
                             "trying again in %.0fs", exc, wait)
                await self._sleep(wait)

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    # ------------------------------------------------------------------ renewal policy

    async def _replaced_within(self, info: TokenInfo, seconds: float) -> bool:
        """Whether the token is replaced (e.g. by ``token_rejected``) within ``seconds``."""
        changed = self._changed
        if self._current is not info:
            return True
        try:
            await asyncio.wait_for(changed.wait(), timeout=seconds)
        except TimeoutError:
            return self._current is not info
        return True

    async def _renew_or_login(self, info: TokenInfo) -> None:
        failures = 0
        while self._current is info:
            try:
                await self.renew()
                if failures:
                    self._alerts.emit(Alert(Severity.ROUTINE, "auth.renewal_recovered",
                                            f"Token renewed after {failures} failed attempts"))
                return
            except (TradovateError, RuntimeError) as exc:
                failures += 1
                _log.error("token renewal failed (attempt %d): %s", failures, exc)
                if failures == 1:
                    self._alerts.emit(Alert(
                        Severity.URGENT, "auth.renewal_failed", "Token renewal failed",
                        f"{type(exc).__name__}: {exc}. Retrying; the token expires at "
                        f"{info.expires_at.isoformat()}."))
                now = self._clock()
                if info.expired(now) or isinstance(exc, Unauthorized):
                    await self._login_after_failed_renewal(info, exc)
                    return
                if failures > self._renewal_retries:
                    # Retries exhausted while the token still works: keep using it, and
                    # log in only once it has really expired.
                    _log.error("giving up renewal; the current token is used until it "
                               "expires at %s", info.expires_at.isoformat())
                    if not await self._replaced_within(info, info.seconds_left(now)):
                        await self._login_after_failed_renewal(info, exc)
                    return
                delay = self._renewal_retry_delay
                if isinstance(exc, PenaltyTicket):
                    delay = max(delay, exc.seconds)
                await self._sleep(min(delay, max(info.seconds_left(now), 0.0)))

    async def _login_after_failed_renewal(self, info: TokenInfo, cause: Exception) -> None:
        async with self._lock:
            if self._current is not info:
                return
            self._alerts.emit(Alert(
                Severity.URGENT, "auth.relogin", "Token expired after failed renewal; "
                "logging in again", f"Last renewal error: {type(cause).__name__}: {cause}"))
            self._current = None
            await self._login()

    # ------------------------------------------------------------------ login

    def _user(self) -> str:
        name = self._credentials.name
        if not name:
            raise ConfigError("TRADOVATE_NAME is not set")
        return name

    def _login_body(self) -> AccessTokenRequest:
        credentials = self._credentials
        if credentials.password is None:
            raise ConfigError("TRADOVATE_PASSWORD is not set")
        cid: int | str | None = credentials.cid
        if isinstance(cid, str) and cid.isdigit():
            cid = int(cid)
        return AccessTokenRequest(
            name=self._user(), password=credentials.password.reveal(),
            app_id=credentials.app_id or "tradovate-api",
            app_version=credentials.app_version or "0.1.0",
            device_id=self.device_id, cid=cid,
            sec=credentials.sec.reveal() if credentials.sec is not None else None)

    def _spend_login_budget(self) -> None:
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

    async def _login(self) -> TokenInfo:
        """One login (plus penalty-ticket resends). Caller holds the lock. A failure on the
        server's side is not counted against the hourly cap and defers the next login."""
        retry_in = self._login_retry_at - time.monotonic()
        if retry_in > 0:
            raise LoginDeferred(retry_in, self._login_failure)
        self._spend_login_budget()
        try:
            info = await self._login_once()
        except TradovateError as exc:
            if is_transient(exc):
                self._logins.pop()  # the server did not log us in: the cap is not spent
                self._login_failures += 1
                wait = min(LOGIN_RETRY_SECONDS * 2 ** (self._login_failures - 1),
                           LOGIN_RETRY_MAX_SECONDS)
                self._login_retry_at = time.monotonic() + wait
                self._login_failure = f"{type(exc).__name__}: {exc}"
                _log.error("login failed on the server's side (%s); the next login in %.0fs",
                           self._login_failure, wait)
            raise
        self._login_failures = 0
        self._login_retry_at = 0.0
        return info

    async def _login_once(self) -> TokenInfo:
        body = self._login_body()
        user = body.name
        _log.info("requesting an access token for %r (device %s…)", user, self.device_id[:12])
        for resend in range(self._penalty_retries + 1):
            result = await self._request("POST", LOGIN_ENDPOINT,
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
            info = self._token_from(result, previous=None)
            self.logins += 1
            _log.info("logged in as %r (user id %s, token expires %s)", user, info.user_id,
                      info.expires_at.isoformat())
            self._install(info)
            return info
        raise AssertionError("unreachable: the loop returns or raises")

    # ------------------------------------------------------------------ plumbing

    async def _request(self, method: str, endpoint: str, *, body: bytes | None = None,
                       token: Secret | None = None) -> AccessTokenResponse | TradovateError:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        try:
            async with self._session.request(method, f"{self.rest_url}/{endpoint}", data=body,
                                             headers=headers, timeout=self._timeout) as reply:
                status, payload = reply.status, await reply.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return ConnectionLost(f"{endpoint}: {type(exc).__name__}: {exc}")
        result = interpret(status, payload, AccessTokenResponse)
        if isinstance(result, RequestError):
            result.with_endpoint(endpoint)
        if isinstance(result, TradovateError):
            return result
        assert isinstance(result, AccessTokenResponse)
        return result

    def _token_from(self, response: AccessTokenResponse, previous: TokenInfo | None) -> TokenInfo:
        if not response.access_token:
            raise ProtocolError("token response without accessToken")
        access = Secret(response.access_token)
        md = Secret(response.md_access_token) if response.md_access_token else access
        return TokenInfo(access_token=access, md_access_token=md,
                         expires_at=_parse_expiration(response.expiration_time),
                         user_id=response.user_id if response.user_id is not None
                         else (previous.user_id if previous else None),
                         name=response.name or (previous.name if previous else None))

    def _install(self, info: TokenInfo, persist: bool = True) -> None:
        self._current = info
        if persist:
            self._write_cache(info)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for listener in list(self._listeners):
            try:
                listener(info)
            except Exception:
                _log.exception("token listener failed")

    def _read_cache(self) -> TokenInfo | None:
        if self._cache_path is None:
            return None
        try:
            data = self._cache_path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            _log.warning("cannot read the token cache %s: %s", self._cache_path, exc.strerror)
            return None
        try:
            cache = msgspec.json.decode(data, type=_TokenCache)
        except (msgspec.DecodeError, msgspec.ValidationError):
            _log.warning("ignoring an unreadable token cache %s", self._cache_path)
            return None
        if cache.name != self._credentials.name:
            return None
        if self._device_id is None:
            self._device_id = cache.device_id
        if cache.rest_url != self.rest_url or not cache.access_token:
            return None
        try:
            expires = _parse_expiration(cache.expiration_time)
        except ProtocolError:
            return None
        access = Secret(cache.access_token)
        return TokenInfo(access_token=access, md_access_token=Secret(
            cache.md_access_token) if cache.md_access_token else access,
            expires_at=expires, user_id=cache.user_id, name=cache.name)

    def _forget_cached_token(self) -> None:
        """Keep the cache file's device id, drop its token (refused by the server)."""
        if self._cache_path is None or not self._cache_path.exists():
            return
        cache = _TokenCache(rest_url=self.rest_url, name=self._user(), device_id=self.device_id)
        try:
            write_private_file(self._cache_path, msgspec.json.encode(cache))
        except OSError as exc:
            _log.error("cannot rewrite the token cache %s: %s", self._cache_path, exc.strerror)

    def _write_cache(self, info: TokenInfo) -> None:
        if self._cache_path is None:
            return
        cache = _TokenCache(
            rest_url=self.rest_url, name=self._user(), device_id=self.device_id,
            access_token=info.access_token.reveal(),
            md_access_token=(info.md_access_token.reveal()
                             if info.md_access_token != info.access_token else None),
            expiration_time=info.expires_at.isoformat(), user_id=info.user_id)
        try:
            write_private_file(self._cache_path, msgspec.json.encode(cache))
        except OSError as exc:
            # The token still works from memory; only the next start has to log in.
            _log.error("cannot write the token cache %s: %s", self._cache_path, exc.strerror)
