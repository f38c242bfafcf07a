"""Token recovery (issue 15, defects 4 and 6): a refused token leaves the cache file even when
the fresh login fails, so it never blocks the next start; a login the server cannot answer
(unreachable, 5xx — a maintenance window) does not spend the hourly login budget and defers
the next attempt (60 s doubling to 15 min); the renewal task rides such failures out instead
of ending the run."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from test_auth import ScriptedServer, manager, server  # noqa: F401

from tradovate_api.alerts import AlertLog
from tradovate_api.auth import LOGIN_RETRY_MAX_SECONDS, LOGIN_RETRY_SECONDS, LoginDeferred
from tradovate_api.errors import ErrorResponse, RateLimited


async def test_a_refused_token_leaves_the_cache_even_when_the_login_fails(
        server: ScriptedServer, tmp_path: Path) -> None:  # noqa: F811
    cache = tmp_path / "token.json"
    auth = manager(server, AlertLog(), cache_path=cache)
    try:
        token = await auth.token()
        assert json.loads(cache.read_text())["access_token"] == token.access_token.reveal()
        server.login_script = [503]
        with pytest.raises(ErrorResponse):
            await auth.token_rejected(token)
        stored = json.loads(cache.read_text())
        assert "access_token" not in stored
        assert stored["device_id"] == auth.device_id  # the device id is kept
    finally:
        await auth.close()
    restarted = manager(server, AlertLog(), cache_path=cache)
    try:
        await restarted.token()
        assert restarted.logins == 1  # the next start logs in instead of reusing it
    finally:
        await restarted.close()


async def test_logins_the_server_cannot_answer_spend_no_budget_and_back_off(
        server: ScriptedServer) -> None:  # noqa: F811
    auth = manager(server, AlertLog(), max_logins_per_hour=1)
    try:
        server.login_script = [503, 502]
        with pytest.raises(ErrorResponse):
            await auth.token()
        with pytest.raises(LoginDeferred) as deferred:
            await auth.token()  # not sent: the next login waits
        assert deferred.value.retry_in == pytest.approx(LOGIN_RETRY_SECONDS, abs=1.0)
        assert len(server.login_bodies) == 1
        auth._login.retry_at = 0.0  # the wait is over
        with pytest.raises(ErrorResponse):
            await auth.token()
        with pytest.raises(LoginDeferred) as deferred:
            await auth.token()
        assert deferred.value.retry_in == pytest.approx(2 * LOGIN_RETRY_SECONDS, abs=1.0)
        auth._login.retry_at = 0.0
        info = await auth.token()  # the one login the hourly budget allows is still there
        assert info.access_token.reveal() == "access-1-token"
        assert auth.logins == 1
        auth._current = None
        with pytest.raises(RateLimited, match="local limit"):
            await auth.token()
    finally:
        await auth.close()


def test_the_login_backoff_is_bounded() -> None:
    assert LOGIN_RETRY_SECONDS * 2 ** 10 > LOGIN_RETRY_MAX_SECONDS


async def test_the_renewal_task_rides_out_a_server_that_fails_logins(
        server: ScriptedServer) -> None:  # noqa: F811
    waits: list[float] = []

    async def time_passes(seconds: float) -> None:
        waits.append(seconds)
        auth._login.retry_at = 0.0  # the wait is over
        await asyncio.sleep(0)

    auth = manager(server, AlertLog(), sleep=time_passes)
    server.login_script = [503, 503, 503]
    renewal = asyncio.create_task(auth.run_renewal())
    try:
        async with asyncio.timeout(10):
            while auth.current is None:
                assert not renewal.done(), renewal
                await asyncio.sleep(0.01)
        assert len(server.login_bodies) == 4
        assert len(waits) == 3
        assert min(waits) >= LOGIN_RETRY_SECONDS
    finally:
        renewal.cancel()
        await asyncio.gather(renewal, return_exceptions=True)
        await auth.close()
