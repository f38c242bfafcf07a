"""AuthManager over real HTTP on 127.0.0.1.

Login edge cases that need exact control of each answer (penalty tickets, captcha, 429,
refused credentials, failing renewals) run against a scripted aiohttp server in this file.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.auth import AuthManager, TokenInfo
from tradovate_api.errors import (
    BusinessError,
    ConfigError,
    PenaltyTicket,
    RateLimited,
    Unauthorized,
)
from tradovate_api.secrets import Secret, TradovateCredentials

PASSWORD = "pw-Kx81-secret"
SEC = "sec-Qz99-secret"


def credentials(**changes: Any) -> TradovateCredentials:
    values: dict[str, Any] = {"name": "alice", "password": Secret(PASSWORD), "cid": "8",
                              "sec": Secret(SEC), "app_id": "tests"}
    values.update(changes)
    return TradovateCredentials(**values)


class ScriptedServer:
    """Answers logins and renewals from scripts; records every request."""

    def __init__(self) -> None:
        self.login_script: list[Any] = []
        self.renew_script: list[Any] = []
        self.login_bodies: list[dict[str, Any]] = []
        self.login_times: list[datetime] = []
        self.renew_headers: list[str] = []
        self.lifetime = timedelta(minutes=90)
        self.md_token = True
        self.issued = 0
        self.url = ""

    def token_body(self) -> dict[str, Any]:
        self.issued += 1
        body = {"accessToken": f"access-{self.issued}-token",
                "expirationTime": (datetime.now(UTC) + self.lifetime).isoformat(
                    timespec="milliseconds").replace("+00:00", "Z"),
                "userId": 15460, "name": "alice", "userStatus": "Active", "hasLive": False}
        if self.md_token:
            body["mdAccessToken"] = f"md-{self.issued}-token"
        return body

    @staticmethod
    def answer(action: Any, ok: dict[str, Any] | None) -> web.Response:
        if action == "ok":
            assert ok is not None
            return web.json_response(ok)
        if isinstance(action, int):
            return web.Response(status=action)
        return web.json_response(action)

    async def login(self, request: web.Request) -> web.Response:
        self.login_bodies.append(await request.json())
        self.login_times.append(datetime.now(UTC))
        action = self.login_script.pop(0) if self.login_script else "ok"
        return self.answer(action, self.token_body() if action == "ok" else None)

    async def renew(self, request: web.Request) -> web.Response:
        self.renew_headers.append(request.headers.get("Authorization", ""))
        action = self.renew_script.pop(0) if self.renew_script else "ok"
        return self.answer(action, self.token_body() if action == "ok" else None)


@pytest.fixture
async def server() -> AsyncIterator[ScriptedServer]:
    scripted = ScriptedServer()
    app = web.Application()
    app.router.add_post("/v1/auth/accesstokenrequest", scripted.login)
    app.router.add_get("/v1/auth/renewaccesstoken", scripted.renew)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    assert site._server is not None
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    scripted.url = f"http://127.0.0.1:{port}/v1"
    yield scripted
    await runner.cleanup()


class RecordedSleep:
    """Stands in for waiting out penalty times (minutes to hours in reality)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def manager(server: ScriptedServer, alerts: AlertLog, **options: Any) -> AuthManager:
    creds = options.pop("creds", credentials())
    return AuthManager(server.url, creds, alerts=alerts, **options)


def assert_no_secret_leak(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text
        assert SEC not in text


async def test_login_sends_the_documented_body_and_caches_the_token_0600(
        server: ScriptedServer, tmp_path: Path) -> None:
    cache = tmp_path / "state" / "token.json"
    auth = manager(server, AlertLog(), cache_path=cache)
    try:
        info = await auth.token()
    finally:
        await auth.close()
    body = server.login_bodies[0]
    assert body["name"] == "alice"
    assert body["password"] == PASSWORD
    assert body["sec"] == SEC
    assert body["cid"] == 8  # numeric, as every example sends it
    assert body["appId"] == "tests"
    assert len(body["deviceId"]) == 64
    int(body["deviceId"], 16)
    assert info.access_token.reveal() == "access-1-token"
    assert info.md_access_token.reveal() == "md-1-token"
    assert info.user_id == 15460
    assert auth.current is info
    assert "access-1-token" not in repr(info)
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cache.parent).st_mode) == 0o700
    assert [p.name for p in cache.parent.iterdir()] == ["token.json"]  # no temp file left
    stored = json.loads(cache.read_text())
    assert stored["access_token"] == "access-1-token"
    assert stored["device_id"] == body["deviceId"]
    assert "password" not in cache.read_text()
    assert PASSWORD not in cache.read_text()


async def test_valid_cached_token_is_reused_without_login(server: ScriptedServer,
                                                          tmp_path: Path) -> None:
    cache = tmp_path / "token.json"
    first = manager(server, AlertLog(), cache_path=cache)
    original = await first.token()
    await first.close()
    second = manager(server, AlertLog(), cache_path=cache)
    try:
        reused = await second.token()
    finally:
        await second.close()
    assert len(server.login_bodies) == 1
    assert reused.access_token == original.access_token
    assert reused.md_access_token == original.md_access_token
    assert reused.expires_at == original.expires_at
    assert second.logins == 0


async def test_expired_cache_logs_in_with_the_cached_device_id(server: ScriptedServer,
                                                               tmp_path: Path) -> None:
    cache = tmp_path / "token.json"
    cache.write_text(json.dumps({
        "rest_url": server.url, "name": "alice", "device_id": "device-from-cache",
        "access_token": "old", "expiration_time": "2020-01-01T00:00:00+00:00"}))
    auth = manager(server, AlertLog(), cache_path=cache)
    try:
        info = await auth.token()
    finally:
        await auth.close()
    assert server.login_bodies[0]["deviceId"] == "device-from-cache"
    assert info.access_token.reveal() == "access-1-token"
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600


async def test_cache_of_another_user_or_host_is_not_reused(server: ScriptedServer,
                                                           tmp_path: Path) -> None:
    cache = tmp_path / "token.json"
    valid = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    for owner, host in (("bob", server.url), ("alice", "https://demo.tradovateapi.com/v1")):
        cache.write_text(json.dumps({"rest_url": host, "name": owner, "device_id": "d",
                                     "access_token": "foreign", "expiration_time": valid}))
        auth = manager(server, AlertLog(), cache_path=cache)
        try:
            info = await auth.token()
        finally:
            await auth.close()
        assert info.access_token.reveal() != "foreign"
    assert len(server.login_bodies) == 2


async def test_penalty_ticket_waits_then_resends_the_identical_body_with_the_ticket(
        server: ScriptedServer) -> None:
    server.login_script = [{"p-ticket": "TICKET-1", "p-time": 7}, "ok"]
    sleep = RecordedSleep()
    alerts = AlertLog()
    auth = manager(server, alerts, sleep=sleep)
    try:
        info = await auth.token()
    finally:
        await auth.close()
    assert sleep.calls == [7]
    first, second = server.login_bodies
    assert second.pop("p-ticket") == "TICKET-1"
    assert second == first
    assert info.access_token.reveal() == "access-1-token"
    assert alerts.keys() == []


async def test_penalty_resends_are_bounded(server: ScriptedServer) -> None:
    server.login_script = [{"p-ticket": f"T{n}", "p-time": 1} for n in range(10)]
    sleep = RecordedSleep()
    alerts = AlertLog()
    auth = manager(server, alerts, sleep=sleep, penalty_retries=2)
    try:
        with pytest.raises(PenaltyTicket):
            await auth.token()
    finally:
        await auth.close()
    assert len(server.login_bodies) == 3
    assert sleep.calls == [1, 1]
    assert [a.severity for a in alerts.recent] == [Severity.URGENT]
    assert alerts.keys() == ["auth.penalty"]


async def test_captcha_penalty_stops_at_once_with_an_urgent_alert(
        server: ScriptedServer) -> None:
    server.login_script = [{"p-ticket": "T", "p-time": 3600, "p-captcha": True}]
    sleep = RecordedSleep()
    alerts = AlertLog()
    auth = manager(server, alerts, sleep=sleep)
    try:
        with pytest.raises(PenaltyTicket) as info:
            await auth.token()
    finally:
        await auth.close()
    assert info.value.captcha
    assert len(server.login_bodies) == 1
    assert sleep.calls == []
    assert alerts.keys() == ["auth.penalty"]
    assert alerts.recent[0].severity is Severity.URGENT
    assert "captcha" in alerts.recent[0].title


async def test_http_429_on_login_raises_rate_limited_once(server: ScriptedServer) -> None:
    server.login_script = [429]
    alerts = AlertLog()
    auth = manager(server, alerts)
    try:
        with pytest.raises(RateLimited):
            await auth.token()
    finally:
        await auth.close()
    assert len(server.login_bodies) == 1
    assert alerts.keys() == ["auth.rate_limited"]
    assert alerts.recent[0].severity is Severity.URGENT


@pytest.mark.parametrize(("answer", "error"), [
    ({"errorText": "Incorrect username or password. Please try again, noting that passwords "
                   "are case-sensitive."}, BusinessError),
    (401, Unauthorized),
])
async def test_refused_credentials_give_a_clear_error_without_the_password(
        server: ScriptedServer, answer: Any, error: type[Exception]) -> None:
    server.login_script = [answer]
    alerts = AlertLog()
    auth = manager(server, alerts)
    try:
        with pytest.raises(error) as info:
            await auth.token()
    finally:
        await auth.close()
    message = str(info.value)
    assert "login as 'alice' refused" in message
    assert_no_secret_leak(message, repr(info.value), *(a.body + a.title for a in alerts.recent))
    assert alerts.keys() == ["auth.login_refused"]


async def test_login_budget_stops_a_login_loop(server: ScriptedServer) -> None:
    alerts = AlertLog()
    auth = manager(server, alerts, max_logins_per_hour=2)
    try:
        first = await auth.token()
        second = await auth.token_rejected(first)
        assert second is not first
        with pytest.raises(RateLimited, match="local limit"):
            await auth.token_rejected(second)
    finally:
        await auth.close()
    assert len(server.login_bodies) == 2  # the third login was never sent
    assert alerts.keys() == ["auth.token_rejected", "auth.token_rejected", "auth.login_budget"]


async def test_token_rejected_for_an_already_replaced_token_does_not_log_in(
        server: ScriptedServer) -> None:
    auth = manager(server, AlertLog())
    try:
        first = await auth.token()
        renewed = await auth.renew()
        assert await auth.token_rejected(first) is renewed
    finally:
        await auth.close()
    assert len(server.login_bodies) == 1


async def test_renewal_runs_margin_before_expiry_and_notifies(server: ScriptedServer,
                                                              tmp_path: Path) -> None:
    server.lifetime = timedelta(seconds=3)
    cache = tmp_path / "token.json"
    seen: list[TokenInfo] = []
    auth = manager(server, AlertLog(), cache_path=cache, renewal_margin=2.6)
    auth.on_token(seen.append)
    task = asyncio.create_task(auth.run_renewal())
    try:
        first = await asyncio.wait_for(auth.wait_for_new_token(None), 5)
        renewed = await asyncio.wait_for(auth.wait_for_new_token(first), 5)
        renewed_at = datetime.now(UTC)
    finally:
        task.cancel()
        await auth.close()
    assert renewed_at < first.expires_at - timedelta(seconds=2)  # well before expiry
    assert server.renew_headers == ["Bearer access-1-token"]
    assert renewed.access_token.reveal() == "access-2-token"
    assert renewed.md_access_token.reveal() == "md-2-token"
    assert seen == [first, renewed]
    assert auth.logins == 1
    assert auth.renewals == 1
    assert json.loads(cache.read_text())["access_token"] == "access-2-token"
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600


async def test_renewal_failure_alerts_then_retries_without_logging_in(
        server: ScriptedServer) -> None:
    server.renew_script = [500, 503, "ok"]
    alerts = AlertLog()
    auth = manager(server, alerts, renewal_margin=89 * 60 + 59.5, renewal_retry_delay=0.05)
    task = asyncio.create_task(auth.run_renewal())
    try:
        first = await asyncio.wait_for(auth.wait_for_new_token(None), 5)
        renewed = await asyncio.wait_for(auth.wait_for_new_token(first), 5)
    finally:
        task.cancel()
        await auth.close()
    assert len(server.renew_headers) == 3
    assert len(server.login_bodies) == 1
    assert renewed.access_token.reveal() == "access-2-token"
    assert alerts.keys() == ["auth.renewal_failed", "auth.renewal_recovered"]
    assert alerts.recent[0].severity is Severity.URGENT


async def test_renewal_refused_with_401_logs_in_again(server: ScriptedServer) -> None:
    server.renew_script = [401]
    alerts = AlertLog()
    auth = manager(server, alerts, renewal_margin=89 * 60 + 59.5)
    task = asyncio.create_task(auth.run_renewal())
    try:
        first = await asyncio.wait_for(auth.wait_for_new_token(None), 5)
        second = await asyncio.wait_for(auth.wait_for_new_token(first), 5)
    finally:
        task.cancel()
        await auth.close()
    assert len(server.login_bodies) == 2
    assert second.access_token.reveal() == "access-2-token"
    assert alerts.keys() == ["auth.renewal_failed", "auth.relogin"]


async def test_failed_renewal_logs_in_only_once_the_token_has_expired(
        server: ScriptedServer) -> None:
    server.lifetime = timedelta(seconds=1.5)
    server.renew_script = [500] * 50
    alerts = AlertLog()
    auth = manager(server, alerts, renewal_margin=1.3, renewal_retries=1,
                   renewal_retry_delay=0.05)
    task = asyncio.create_task(auth.run_renewal())
    try:
        first = await asyncio.wait_for(auth.wait_for_new_token(None), 5)
        second = await asyncio.wait_for(auth.wait_for_new_token(first), 5)
    finally:
        task.cancel()
        await auth.close()
    assert len(server.renew_headers) == 2  # first try + 1 retry, then wait for expiry
    assert len(server.login_bodies) == 2
    assert server.login_times[1] >= first.expires_at
    assert second.access_token.reveal() == "access-2-token"
    assert alerts.keys() == ["auth.renewal_failed", "auth.relogin"]


async def test_md_token_falls_back_to_the_access_token(server: ScriptedServer) -> None:
    server.md_token = False
    auth = manager(server, AlertLog())
    try:
        info = await auth.token()
    finally:
        await auth.close()
    assert info.md_access_token == info.access_token


def test_plain_http_only_to_loopback() -> None:
    alerts = AlertLog()
    with pytest.raises(ConfigError, match="must be https://"):
        AuthManager("http://demo.tradovateapi.com/v1", credentials(), alerts=alerts)
    with pytest.raises(ConfigError, match="must be https://"):
        AuthManager("http://10.1.2.3/v1", credentials(), alerts=alerts)
    assert AuthManager("https://demo.tradovateapi.com/v1/", credentials(),
                       alerts=alerts).rest_url == "https://demo.tradovateapi.com/v1"
    assert AuthManager("http://[::1]:8000/v1", credentials(), alerts=alerts).rest_url


async def test_missing_credentials_are_a_config_error(server: ScriptedServer) -> None:
    auth = manager(server, AlertLog(), creds=TradovateCredentials(name="alice"))
    try:
        with pytest.raises(ConfigError, match="TRADOVATE_PASSWORD is not set"):
            await auth.token()
    finally:
        await auth.close()
    assert server.login_bodies == []


def test_device_id_is_stable_per_machine_and_user() -> None:
    from tradovate_api.auth import machine_device_id

    assert machine_device_id("alice") == machine_device_id("alice")
    assert machine_device_id("alice") != machine_device_id("bob")
    started = time.perf_counter()
    machine_device_id("alice")
    assert time.perf_counter() - started < 0.5


async def test_from_settings_uses_the_settings_and_the_sim_default_user(
        server: ScriptedServer, tmp_path: Path) -> None:
    from tradovate_api.settings import settings_from_mapping

    settings = settings_from_mapping(
        {"environment": "sim", "auth": {"renewal_margin_seconds": 600.0,
                                        "token_cache": "cache/t.json"}}, tmp_path)
    auth = AuthManager.from_settings(settings, TradovateCredentials(), AlertLog(),
                                     rest_url=server.url)
    try:
        await auth.token()
    finally:
        await auth.close()
    assert auth.renewal_margin == 600.0
    assert server.login_bodies[0]["name"] == "sim"
    assert server.login_bodies[0]["password"] == "sim"
    assert (tmp_path / "cache" / "t.json").is_file()
    with pytest.raises(ConfigError, match="pass the simulator's REST URL"):
        AuthManager.from_settings(settings, TradovateCredentials(), AlertLog())
