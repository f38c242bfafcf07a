"""The circuit breaker in a running app against the simulator (issue 15, defect 4).

At the shipped breaker policy: connections dropped again and again, a server down for
seconds, and a maintenance shutdown followed by refusals never trip it — the run goes on and
the account stays equal to the server's. When it does trip (websockets unreachable), the
shutdown secures the positions over REST — entries cancelled, protective stops kept, a stop
placed where a position had none — and an urgent alert says what is open and what protects
it; exit code 1.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from app_helpers import (
    Recorder,
    SocketGate,
    gated_urls,
    make_app,
    make_settings,
    running,
    until_ledger_matches,
)

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.client import ConnectionOptions
from tradovate_api.orders import TicketState
from tradovate_api.runtime import EXIT_FAILURE, BreakerPolicy, SupervisorOptions
from tradovate_api.runtime.app import TradingApp
from tradovate_api.settings import Settings
from tradovate_api.simulator import Simulator

FAST_PACING = {"initial_backoff_seconds": 0.05, "max_backoff_seconds": 0.25}
"""Reconnect pacing shortened so a test needs seconds, not minutes; the breaker itself (what
it counts, how many, in what window) stays as shipped."""


def shipped_breaker(settings: Settings, **changes: Any) -> SupervisorOptions:
    return dataclasses.replace(SupervisorOptions.from_settings(settings), **changes)


STEADY = ConnectionOptions(heartbeat_interval=0.25, silence_timeout=3.0, open_timeout=2.0,
                           authorize_timeout=2.0, request_timeout=3.0, close_timeout=1.0)
"""Short enough for tests, long enough that a loaded machine does not declare live sockets
dead (the faults these tests inject must be the only ones)."""


def app_for(sim: Simulator, settings: Settings, clock: Any, alerts: AlertLog,
            **options: Any) -> TradingApp:
    options.setdefault("supervisor_options", shipped_breaker(settings))
    options.setdefault("connection_options", STEADY)
    return make_app(sim, settings, Recorder(), alerts, clock=lambda: int(clock() * 1000),
                    **options)


def keys(alerts: AlertLog, severity: Severity | None = None) -> list[str]:
    return [a.key for a in alerts.recent if severity is None or a.severity is severity]


async def both_ready(app: TradingApp, count: int, limit: float = 20.0) -> None:
    md, trading = app.md, app.trading
    assert md is not None
    assert trading is not None
    await asyncio.wait_for(md.wait_ready(count), limit)
    await asyncio.wait_for(trading.wait_ready(count), limit)


async def trade(app: TradingApp, action: str = "Buy") -> None:
    """One lot at market; returns once the account shows the new position."""
    assert app.orders is not None
    assert app.trading is not None
    await asyncio.wait_for(app.trading.wait_ready(), 10)
    expected = position(app) + (1 if action == "Buy" else -1)
    ticket = app.orders.place(app.symbol, action, 1, trigger="test")
    assert ticket.state is TicketState.PENDING, ticket.reason
    await asyncio.wait_for(app.account_changed.until(lambda: position(app) == expected), 10)


def position(app: TradingApp) -> int:
    found = app.account.position(app.account_id or 0, app.contracts.contract_id(app.symbol))
    return 0 if found is None else found.net_pos


async def test_connections_dropped_again_and_again_never_trip_the_breaker(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    settings = make_settings(sim, tmp_path, reconnect=FAST_PACING)
    alerts = AlertLog()
    app = app_for(sim, settings, clock, alerts)
    async with running(app) as run:
        await trade(app)
        drops = 12
        for n in range(2, drops + 2):
            await sim.faults.drop_connections()
            await both_ready(app, n)
        assert not run.task.done()
        await until_ledger_matches(app, sim)
        await trade(app, "Sell")  # still trading
    assert run.code == 0
    assert "supervisor.circuit_open" not in keys(alerts)
    assert app.supervisor.restarts["account read"] >= drops


@pytest.mark.timeout(150)
async def test_a_server_down_for_seconds_never_trips_the_breaker(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    """At the shipped settings throughout: ten seconds of refused connections (about five
    failed attempts of each socket) are ridden out."""
    settings = make_settings(sim, tmp_path)
    alerts = AlertLog()
    app = app_for(sim, settings, clock, alerts)
    async with running(app, limit=30) as run:
        await trade(app)
        await sim.stop()
        await asyncio.sleep(10.0)
        await sim.start()
        await both_ready(app, 2, limit=60)
        await until_ledger_matches(app, sim)
        assert not run.task.done()
        await trade(app, "Sell")
    assert run.code == 0
    assert "supervisor.circuit_open" not in keys(alerts)


async def test_a_maintenance_shutdown_and_the_refusals_after_it_never_end_the_run(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    settings = make_settings(sim, tmp_path, reconnect=FAST_PACING)
    alerts = AlertLog()
    app = app_for(sim, settings, clock, alerts,
                  supervisor_options=shipped_breaker(settings, maintenance_delay=0.1))
    async with running(app) as run:
        await trade(app)
        await sim.faults.shutdown("Maintenance")
        await sim.stop()  # the window: every connection refused
        await asyncio.sleep(6.0)  # ~25 refusals per socket at the (shortened) maximum pace
        await sim.start()
        await both_ready(app, 2, limit=30)
        await until_ledger_matches(app, sim)
        assert not run.task.done()
        await trade(app, "Sell")
    assert run.code == 0
    assert "supervisor.circuit_open" not in keys(alerts)
    assert "session.maintenance" in keys(alerts, Severity.ROUTINE)
    assert keys(alerts, Severity.URGENT) == []


# --------------------------------------------------------------- when the breaker trips

NO_RENDERED_REPORT = {"end_of_session": False}
"""The summary without the end-of-session report's rendering (a child process that, on a
loaded machine, can outlast the shutdown's time budget)."""
SHORT_BREAKER = BreakerPolicy(failures=3, window=60.0, healthy_after=10.0)
"""Three failed attempts instead of fifteen, so the trip comes in a second, not minutes."""


@pytest.fixture
async def gates(sim: Simulator) -> AsyncIterator[tuple[SocketGate, SocketGate]]:
    trading, md = SocketGate(sim.port), SocketGate(sim.md_port)
    await trading.open()
    await md.open()
    yield trading, md
    await trading.cut()
    await md.cut()


def gated_app(sim: Simulator, gates: tuple[SocketGate, SocketGate], tmp_path: Path,
              clock: Any, alerts: AlertLog, **sections: Any) -> TradingApp:
    settings = make_settings(sim, tmp_path, urls=gated_urls(sim, *gates),
                             reconnect=FAST_PACING, reports=NO_RENDERED_REPORT, **sections)
    return app_for(sim, settings, clock, alerts,
                   supervisor_options=shipped_breaker(settings, breaker=SHORT_BREAKER))


def ledger_orders(sim: Simulator, app: TradingApp) -> dict[int, tuple[str, str, str]]:
    """Order id → (action, type, status) on the server."""
    user = sim.exchange.account(app.account_id or 0)
    assert user is not None
    sync = sim.exchange.sync(user.user_id)
    types = {v.order_id: v.order_type for v in sync.order_versions}
    return {o.id: (o.action, types.get(o.id, "?"), o.ord_status) for o in sync.orders}


async def test_websockets_unreachable_trip_the_short_breaker_and_the_exit_goes_over_rest(
        sim: Simulator, gates: tuple[SocketGate, SocketGate], tmp_path: Path,
        clock: Any) -> None:
    alerts = AlertLog()
    app = gated_app(sim, gates, tmp_path, clock, alerts,
                    risk={"max_position": 3, "protective_stop": "place",
                          "protective_stop_points": 10.0})
    async with running(app) as run:
        orders = app.orders
        assert orders is not None
        quote = app.market.quote(app.contracts.contract_id(app.symbol))
        assert quote is not None
        assert quote.bid is not None
        bracket = orders.bracket(app.symbol, "Buy", 1, take_profit=quote.bid + 20.0,
                                 stop_loss=quote.bid - 10.0, trigger="bracket")
        await asyncio.wait_for(app.account_changed.until(
            lambda: position(app) == 1 and len(app.account.open_orders(app.account_id)) == 2),
            10)
        entry = orders.place(app.symbol, "Buy", 1, order_type="Limit",
                             price=quote.bid - 30.0, trigger="resting entry")
        await asyncio.wait_for(app.account_changed.until(
            lambda: len(app.account.open_orders(app.account_id)) == 3), 10)
        stop_id, target_id = bracket.bracket_ids[1], bracket.bracket_ids[0]
        for gate in gates:
            await gate.cut()
        code = await asyncio.wait_for(asyncio.shield(run.task), 30)
    assert code == EXIT_FAILURE
    assert "circuit breaker open" in app.supervisor.exit_reason
    server = ledger_orders(sim, app)
    assert server[entry.order_id or 0] == ("Buy", "Limit", "Canceled")  # over REST
    assert server[stop_id] == ("Sell", "Stop", "Working")  # the protection stays
    assert server[target_id] == ("Sell", "Limit", "Working")  # OCO with the stop
    gateway = app._wired().gateway
    assert gateway.rest_sent >= 1
    (line,) = app.exit_lines
    assert line.startswith(f"{app.symbol} +1 @ ")
    assert "— protected by Sell Stop 1 @ " in line
    assert "Sell Limit 1 @ " in line
    assert "(OCO)" in line
    assert line.endswith("(on the server)")
    urgent = [a for a in alerts.recent if a.severity is Severity.URGENT]
    assert [a.key for a in urgent][:1] == ["supervisor.circuit_open"]
    (leftovers,) = [a for a in urgent if a.key == "shutdown.leftovers"]
    assert "circuit breaker open" in leftovers.title
    assert line in leftovers.body
    assert line in app.summary_text


async def test_after_the_trip_a_position_without_a_stop_gets_one_over_rest(
        sim: Simulator, gates: tuple[SocketGate, SocketGate], tmp_path: Path,
        clock: Any) -> None:
    """The grace time is long only so the position is still naked when the breaker trips."""
    alerts = AlertLog()
    app = gated_app(sim, gates, tmp_path, clock, alerts,
                    risk={"protective_stop": "place", "protective_stop_points": 10.0,
                          "protective_stop_grace_seconds": 3600.0})
    async with running(app) as run:
        await trade(app)
        assert app.account.open_orders(app.account_id) == ()
        for gate in gates:
            await gate.cut()
        code = await asyncio.wait_for(asyncio.shield(run.task), 30)
    assert code == EXIT_FAILURE
    working = [v for v in ledger_orders(sim, app).values() if v[2] == "Working"]
    assert working == [("Sell", "Stop", "Working")]
    (line,) = app.exit_lines
    assert "— protected by Sell Stop 1 @ " in line
    assert line.endswith("(on the server)")
    (leftovers,) = [a for a in alerts.recent if a.key == "shutdown.leftovers"]
    assert leftovers.severity is Severity.URGENT
    assert line in leftovers.body
