"""The auth manager: one login, then renewals, with the token cached between runs.

It owns the token's lifecycle and is its only writer: it reuses a cached token while it is
valid, renews ``margin`` before the server's ``expirationTime`` (never a hard-coded lifetime),
and logs in again only when renewal has failed *and* the token has really expired (or the
server has rejected it). When a login may be sent is the login policy's (``login``); the file
is the token cache's (``token_cache``).

A token the server refuses with 401 (revoked, or unknown to a server that restarted) is
dropped from memory *and from the cache file* before the one fresh login, so a refused token
never blocks the next start. A renewal task that cannot reach the server (or gets 5xx) keeps
waiting instead of ending the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp

from ..alerts import Alert, AlertSink, Severity
from ..errors import ConfigError, PenaltyTicket, TradovateError, Unauthorized
from ..secrets import Secret, TradovateCredentials
from .device import machine_device_id
from .endpoint import RENEW_ENDPOINT, TokenEndpoint
from .login import LOGIN_RETRY_SECONDS, LoginPolicy, is_transient, user_name
from .token import TokenInfo, token_from
from .token_cache import TokenCache

if TYPE_CHECKING:
    from ..settings import Settings

_log = logging.getLogger("tradovate_api.auth")


def utc_now() -> datetime:
    return datetime.now(UTC)


TokenListener = Callable[[TokenInfo], None]


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
        self._endpoint = TokenEndpoint(rest_url, request_timeout=request_timeout,
                                       session=session)
        self.rest_url = self._endpoint.rest_url
        self._credentials = credentials
        self._alerts = alerts
        self._cache = (TokenCache(Path(cache_path), self.rest_url) if cache_path is not None
                       else None)
        self.renewal_margin = renewal_margin
        self._renewal_retries = renewal_retries
        self._renewal_retry_delay = renewal_retry_delay
        self._clock = clock
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._current: TokenInfo | None = None
        self._cache_checked = False
        self._device_id: str | None = credentials.device_id
        self._login = LoginPolicy(self._endpoint, credentials, alerts=alerts,
                                  device_id=lambda: self.device_id,
                                  penalty_retries=penalty_retries,
                                  max_logins_per_hour=max_logins_per_hour, sleep=sleep)
        self._listeners: list[TokenListener] = []
        self._changed = asyncio.Event()
        self.renewals = 0

    @classmethod
    def from_settings(cls, settings: Settings, credentials: TradovateCredentials,
                      alerts: AlertSink, rest_url: str | None = None,
                      login: str | None = None, **overrides: Any) -> AuthManager:
        """A manager configured from the settings file; ``rest_url`` overrides the
        environment's (the embedded simulator's address). ``login``: the name of a
        ``[[logins]]`` entry (``None``: the primary login); its token is cached beside the
        primary's, the login's name before the suffix (``state/token.NAME.json``). On
        ``sim`` without credentials the simulator's default user is used: ``sim``/``sim``,
        or the login's name as user name and password."""
        if rest_url is None:
            endpoints = settings.endpoints()
            if endpoints is None:
                raise ConfigError("environment 'sim' without urls.rest: pass the simulator's "
                                  "REST URL")
            rest_url = endpoints.rest
        if settings.environment == "sim" and credentials.name is None:
            user = login or "sim"
            credentials = TradovateCredentials(name=user, password=Secret(user),
                                               app_id=credentials.app_id,
                                               app_version=credentials.app_version,
                                               device_id=credentials.device_id)
        auth = settings.auth
        options: dict[str, Any] = {
            "cache_path": auth.token_cache if login is None else login_cache_path(
                auth.token_cache, login),
            "renewal_margin": auth.renewal_margin_seconds,
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
    def logins(self) -> int:
        """Successful logins by this manager (each one opened a server session)."""
        return self._login.logins

    @property
    def current(self) -> TokenInfo | None:
        """The last token obtained, or ``None`` before the first."""
        return self._current

    @property
    def device_id(self) -> str:
        if self._device_id is None:
            self._device_id = machine_device_id(user_name(self._credentials))
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
            return await self._log_in()

    async def renew(self) -> TokenInfo:
        """Renew the current token once (``auth/renewaccesstoken``); raises the failure."""
        async with self._lock:
            current = self._current
            if current is None:
                raise RuntimeError("renew() before any token was obtained")
            result = await self._endpoint.request("GET", RENEW_ENDPOINT,
                                                  token=current.access_token)
            if isinstance(result, TradovateError):
                raise result
            info = token_from(result, previous=current)
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
            return await self._log_in()

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
                wait = max(self._login.retry_at - time.monotonic(), LOGIN_RETRY_SECONDS)
                _log.warning("no token (the server cannot be reached or is failing: %s); "
                             "trying again in %.0fs", exc, wait)
                await self._sleep(wait)

    async def close(self) -> None:
        await self._endpoint.close()

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
            await self._log_in()

    # ------------------------------------------------------------------ plumbing

    async def _log_in(self) -> TokenInfo:
        """One login as the policy allows; the new token is installed. Caller holds the
        lock."""
        info = await self._login.login()
        self._install(info)
        return info

    def _install(self, info: TokenInfo, persist: bool = True) -> None:
        self._current = info
        if persist and self._cache is not None:
            self._cache.write(user_name(self._credentials), self.device_id, info)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        for listener in list(self._listeners):
            try:
                listener(info)
            except Exception:
                _log.exception("token listener failed")

    def _read_cache(self) -> TokenInfo | None:
        if self._cache is None:
            return None
        stored = self._cache.read(self._credentials.name)
        if stored is None:
            return None
        device_id, info = stored
        if self._device_id is None:
            self._device_id = device_id
        return info

    def _forget_cached_token(self) -> None:
        """Keep the cache file's device id, drop its token (refused by the server)."""
        cache = self._cache
        if cache is None or not cache.path.exists():
            return
        cache.forget_token(user_name(self._credentials), self.device_id)


def login_cache_path(primary: str | Path, login: str) -> Path:
    """The token cache of the ``[[logins]]`` entry ``login``: the primary's file name with
    the login's name before its suffix (``state/token.json`` → ``state/token.B.json``)."""
    path = Path(primary)
    return path.with_name(f"{path.stem}.{login}{path.suffix}")
