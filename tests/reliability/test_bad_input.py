"""Bad inputs of the catalogue in docs/reliability.md that no other test covers: a transient
refusal while re-subscribing market data, and wrong credentials at start-up."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from junk_server import JunkServer, any_token, response

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.client import ConnectionOptions, Feed, MarketDataSession, SessionEnded
from tradovate_api.errors import ErrorResponse, RateLimited
from tradovate_api.protocol import ClientRequest
from tradovate_api.runtime import SupervisorOptions
from tradovate_api.runtime.app import TradingApp
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import settings_from_mapping
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.simulator.config import UserConfig
from tradovate_api.strategy import Strategy

OPTIONS = ConnectionOptions(heartbeat_interval=0.2, silence_timeout=5.0, open_timeout=2.0,
                            authorize_timeout=2.0, request_timeout=2.0, close_timeout=1.0)


@pytest.mark.parametrize("status", [429, 503, 401, 200])
async def test_a_refusal_while_resubscribing_never_drops_the_subscription(
        server: JunkServer, status: int) -> None:
    """After a reconnect every subscription is sent again. A 429, 401 or 5xx answer says nothing
    about the subscription: it is kept and the attempt fails loudly (the supervisor decides).
    A refusal of the subscription itself (unknown symbol) is reported — the runtime stops
    entries in that contract — and the subscription is kept, to be tried again."""
    session = MarketDataSession(server.url, any_token, lambda event: None, options=OPTIONS)
    told: list[tuple[str | int, str]] = []
    session.subscription_refused = lambda symbol, reason: told.append((symbol, reason))
    first = asyncio.create_task(session.run())
    async with asyncio.timeout(5):
        await session.wait_ready()
    await session.subscribe_quote("ESM4")
    refused = {"errorText": "Unknown symbol: ESM4", "mode": "None"}

    def reply(request: ClientRequest) -> bytes:
        if status == 200:
            return response(request.request_id, 200, refused)
        return response(request.request_id, status, "slow down")

    server.reply = reply
    server.drop()
    with pytest.raises(SessionEnded):
        await asyncio.wait_for(first, 5)
    second = asyncio.create_task(session.run())
    try:
        if status != 200:
            with pytest.raises(ErrorResponse) as failure:
                await asyncio.wait_for(second, 5)
            assert failure.value.status == status
            assert isinstance(failure.value, RateLimited) == (status == 429)
            assert told == []
        else:
            async with asyncio.timeout(5):
                await session.wait_ready(2)
            assert told == [("ESM4", "Unknown symbol: ESM4")]
            assert session.refused == {"ESM4": "Unknown symbol: ESM4"}
        assert session.subscriptions == [(Feed.QUOTE, "ESM4")]
    finally:
        await session.close()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(second, 3)


async def test_a_refused_subscription_is_tried_again_and_reported_live_when_accepted(
        server: JunkServer) -> None:
    session = MarketDataSession(server.url, any_token, lambda event: None, options=OPTIONS)
    told: list[tuple[str, str | int, str]] = []
    session.subscription_refused = lambda symbol, why: told.append(("refused", symbol, why))
    session.subscription_restored = lambda symbol, why: told.append(("live", symbol, why))
    first = asyncio.create_task(session.run())
    async with asyncio.timeout(5):
        await session.wait_ready()
    await session.subscribe_quote("ESM4")
    await session.subscribe_dom("ESM4")
    accept = False

    def reply(request: ClientRequest) -> bytes:
        if accept:
            return response(request.request_id, 200, {"mode": "RealTime"})
        return response(request.request_id, 200, {"errorText": "Not entitled", "mode": "None"})

    server.reply = reply
    server.drop()
    with pytest.raises(SessionEnded):
        await asyncio.wait_for(first, 5)
    second = asyncio.create_task(session.run())
    try:
        async with asyncio.timeout(5):
            await session.wait_ready(2)
        assert told == [("refused", "ESM4", "Not entitled")]  # once per symbol
        await session.retry_refused()
        assert session.refused == {"ESM4": "Not entitled"}
        accept = True
        await session.retry_refused()
        assert session.refused == {}
        assert told[1:] == [("live", "ESM4", "")]
        assert session.subscriptions == [(Feed.QUOTE, "ESM4"), (Feed.DOM, "ESM4")]
    finally:
        await session.close()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(second, 3)


class _Idle(Strategy):
    pass


async def test_wrong_credentials_stop_the_start_clearly_without_the_password(
        tmp_path: Path) -> None:
    password = "right-pw-Zq81"
    wrong = "wrong-pw-Xk42"
    config = SimulatorConfig(users=[UserConfig(name="alice", password=password)], warm_up=0.0)
    async with Simulator(config, clock=open_clock()) as sim:
        settings = settings_from_mapping({
            "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
            "log": {"path": str(tmp_path / "app.jsonl")},
            "auth": {"token_cache": str(tmp_path / "token.json")},
            "reports": {"directory": str(tmp_path / "reports")},
            "journal": {"path": str(tmp_path / "journal.db")}})
        alerts = AlertLog()
        app = TradingApp(settings, TradovateCredentials(name="alice", password=Secret(wrong)),
                         _Idle(), alerts=alerts, handle_signals=False,
                         clock=lambda: int(sim.clock() * 1000))
        code = await asyncio.wait_for(app.run(), 15)
        assert code == 1
        assert "refused" in app.start_error
        assert "alice" in app.start_error
        assert sim.connections == []
    urgent = [a for a in alerts.recent if a.severity is Severity.URGENT]
    assert {"auth.login_refused", "app.start_failed"} <= {a.key for a in urgent}
    texts = [app.start_error, *(f"{a.title} {a.body}" for a in alerts.recent),
             (tmp_path / "app.jsonl").read_text()]
    assert all(wrong not in text and password not in text for text in texts)
    assert not (tmp_path / "token.json").exists()


async def test_two_early_token_expiries_do_not_kick_our_own_md_socket(tmp_path: Path) -> None:
    config = SimulatorConfig(warm_up=60.0, tick_interval=0.05, heartbeat_interval=0.2,
                             max_sessions=2)
    async with Simulator(config, seed=5, clock=open_clock()) as sim:
        settings = settings_from_mapping({
            "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
            "instruments": [next(i.name for i in sim.catalog if i.product.name == "ES")],
            "log": {"path": str(tmp_path / "app.jsonl")},
            "auth": {"token_cache": str(tmp_path / "token.json"), "max_logins_per_hour": 10},
            "reports": {"directory": str(tmp_path / "reports")},
            "journal": {"enabled": False}})
        alerts = AlertLog()
        app = TradingApp(settings, TradovateCredentials(name="sim", password=Secret("sim")),
                         _Idle(), alerts=alerts, handle_signals=False,
                         supervisor_options=SupervisorOptions(quota_delay=0.2),
                         connection_options=OPTIONS, clock=lambda: int(sim.clock() * 1000))
        task = asyncio.create_task(app.run())
        try:
            async with asyncio.timeout(20):
                await app.started.wait()
            auth, trading = app.auth, app.trading
            assert auth is not None
            assert trading is not None
            for logins in (2, 3):  # each early expiry makes the trading reconnect log in
                sim.faults.expire_tokens()
                await sim.faults.drop_connections("trading")
                async with asyncio.timeout(10):
                    await trading.wait_ready(logins)
                assert auth.logins == logins
            # The third login ended the first session, on which the md socket still was: the
            # server closed it with ConnectionQuotaReached. That is our own doing, so the md
            # socket simply reconnects (with the current token) and no quota alarm is raised.
            md = app.md
            assert md is not None
            async with asyncio.timeout(10):
                await md.wait_ready(2)
            end = md.last_end
            assert end is None or not end.quota
            keys = {a.key for a in alerts.recent}
            assert "session.quota_shutdown" not in keys
            assert "supervisor.quota_storm" not in keys
            assert not task.done()
        finally:
            app.request_shutdown("test over")
            await asyncio.wait_for(task, 20)
