"""The supervisor running the real sessions against the in-process simulator: a server
restart is survived with md subscriptions replayed and the sync re-run, never more than one
socket per kind; an unreachable server trips the circuit breaker; a shutdown request runs the
hooks and closes the sockets with a close frame."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.auth import AuthManager
from tradovate_api.client import (
    AuthTokens,
    ConnectionOptions,
    EndKind,
    MarketDataSession,
    SyncSnapshot,
    TradingSession,
)
from tradovate_api.protocol import MarketDataEvent
from tradovate_api.runtime import (
    EXIT_FAILURE,
    EXIT_OK,
    BackoffPolicy,
    BreakerPolicy,
    Policy,
    Supervisor,
    SupervisorOptions,
)
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock

OPTIONS = ConnectionOptions(heartbeat_interval=0.1, silence_timeout=1.0, open_timeout=1.0,
                            authorize_timeout=2.0, request_timeout=3.0, close_timeout=1.0)
SUPERVISION = SupervisorOptions(backoff=BackoffPolicy(initial=0.05, maximum=0.5, jitter=0.2),
                                breaker=BreakerPolicy(failures=8, window=60.0),
                                shutdown_timeout=3.0, cancel_timeout=1.0)


class Events:
    """Consumer that records events and wakes waiters."""

    def __init__(self) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Event()

    def __call__(self, event: Any) -> None:
        self.items.append(event)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def until(self, predicate: Callable[[], bool], limit: float = 5.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                await self._changed.wait()


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    config = SimulatorConfig(warm_up=60.0, tick_interval=0.02, heartbeat_interval=0.2)
    async with Simulator(config, seed=11, clock=open_clock()) as simulator:
        yield simulator


async def test_restart_reconnects_replays_subscriptions_and_resyncs(sim: Simulator) -> None:
    alerts = AlertLog()
    auth = AuthManager(sim.rest_url, TradovateCredentials(name="sim", password=Secret("sim")),
                       alerts=alerts)
    token = await auth.token()
    assert token.user_id is not None
    md_events, account_events = Events(), Events()
    md_tokens, trading_tokens = AuthTokens(auth, market_data=True), AuthTokens(auth,
                                                                             market_data=False)
    md = MarketDataSession(sim.md_url, md_tokens, md_events, options=OPTIONS,
                           token_rejected=md_tokens.rejected)
    trading = TradingSession(sim.ws_url, trading_tokens, account_events, user_id=token.user_id,
                             options=OPTIONS, token_rejected=trading_tokens.rejected)
    supervisor = Supervisor(alerts, SUPERVISION, rng=random.Random(5))
    supervisor.add_task("md read", md.run, Policy.RECONNECT)
    supervisor.add_task("account read", trading.run, Policy.RECONNECT)
    supervisor.add_shutdown_hook("unsubscribe", md.unsubscribe_all)
    supervisor.add_shutdown_hook("close md", md.close)
    supervisor.add_shutdown_hook("close trading", trading.close)
    run = asyncio.create_task(supervisor.run(handle_signals=False))
    try:
        symbol = next(i.name for i in sim.catalog if i.product.name == "NQ")
        contract = sim.catalog.by_name(symbol)
        assert contract is not None

        def quotes_since(start: int) -> int:
            return sum(1 for e in md_events.items[start:] if isinstance(e, MarketDataEvent)
                       for q in e.data.quotes if q.contract_id == contract.contract_id)

        await asyncio.wait_for(md.wait_ready(), 3)
        await asyncio.wait_for(trading.wait_ready(), 3)
        await md.subscribe_quote(symbol)
        await md_events.until(lambda: quotes_since(0) >= 2)

        await sim.restart()

        await asyncio.wait_for(md.wait_ready(2), 5)
        await asyncio.wait_for(trading.wait_ready(2), 5)
        mark = len(md_events.items)
        await md_events.until(lambda: quotes_since(mark) >= 2)  # replayed, data flows again
        snapshots = [e for e in account_events.items if isinstance(e, SyncSnapshot)]
        assert [s.connection for s in snapshots] == [1, 2]
        assert snapshots[1].message.accounts == snapshots[0].message.accounts
        assert supervisor.restarts["md read"] >= 1
        assert supervisor.restarts["account read"] >= 1
        assert len(sim.connections) == 2  # one socket per kind, old ones closed
        assert auth.logins == 1  # reconnects reuse the token, no new login
        assert not run.done()
    finally:
        supervisor.request_shutdown("test over")
        code = await asyncio.wait_for(run, 10)
        await auth.close()
    assert code == EXIT_OK
    assert supervisor.hooks_run == ["unsubscribe", "close md", "close trading"]
    assert md.subscriptions == []
    for session in (md, trading):
        end = session.last_end
        assert end is not None
        assert end.kind is EndKind.CLIENT_CLOSED  # closed by the hook, with a close frame


async def test_unreachable_server_trips_the_breaker_and_alerts(
        unused_tcp_port: int) -> None:
    alerts = AlertLog()
    tokens_asked = 0

    async def token() -> str:
        nonlocal tokens_asked
        tokens_asked += 1
        return "unused"

    md = MarketDataSession(f"ws://127.0.0.1:{unused_tcp_port}/v1/websocket", token,
                           Events(), options=OPTIONS)
    options = SupervisorOptions(backoff=BackoffPolicy(initial=0.01, maximum=0.05),
                                breaker=BreakerPolicy(failures=4, window=60.0))
    supervisor = Supervisor(alerts, options)
    supervisor.add_task("md read", md.run, Policy.RECONNECT)
    code = await asyncio.wait_for(supervisor.run(handle_signals=False), 10)
    assert code == EXIT_FAILURE
    assert md.connects == 4
    assert tokens_asked == 4
    assert md.ready_count == 0
    urgent = [a for a in alerts.recent if a.severity is Severity.URGENT]
    assert [a.key for a in urgent] == ["supervisor.circuit_open"]
    assert "md read" in urgent[0].title
