"""The running app survives every injected fault with market data re-subscribed and the
account store equal to the simulator's ledger; a fill made while the trading socket was down
reaches the strategy exactly once; a 429 on an order does not stop trading; an unreachable
server trips the circuit breaker with an urgent alert."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from app_helpers import (
    SUPERVISION,
    Notifier,
    Recorder,
    ledger_differences,
    make_app,
    make_settings,
    running,
    until_ledger_matches,
)

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.client import AuthTokens, RestClient
from tradovate_api.orders import OrderTicket, TicketState
from tradovate_api.protocol.models import PlaceOrder, PlaceOrderResult
from tradovate_api.runtime import EXIT_FAILURE, BackoffPolicy, BreakerPolicy, SupervisorOptions
from tradovate_api.runtime.app import TradingApp
from tradovate_api.simulator import Simulator


def net_position(app: TradingApp) -> int:
    position = app.account.position(app.account_id or 0, app.contracts.contract_id(app.symbol))
    return 0 if position is None else position.net_pos


async def open_position(app: TradingApp, sim: Simulator, action: str = "Buy") -> None:
    """A market order through the app; wait until the account store shows its fill and
    equals the simulator's ledger."""
    assert app.orders is not None
    expected = net_position(app) + (1 if action == "Buy" else -1)
    ticket = app.orders.place(app.symbol, action, 1, trigger="test")
    assert ticket.state is TicketState.PENDING, ticket.reason
    await asyncio.wait_for(app.account_changed.until(lambda: net_position(app) == expected), 10)
    await until_ledger_matches(app, sim)


async def wait_quotes_after(strategy: Recorder, app: TradingApp, mark: int) -> None:
    """Quotes of every instrument arrived after ``mark``: data flows again."""
    wanted = set(app.contracts.contract_ids)
    await strategy.until(lambda: {q.contract_id for q in strategy.of("quote", mark)} == wanted)


async def until_not_ready(app: TradingApp, limit: float = 5.0) -> None:
    md, trading = app.md, app.trading
    assert md is not None
    assert trading is not None
    await asyncio.wait_for(app.connection_ended.until(
        lambda: not md.ready and not trading.ready), limit)


async def drop(sim: Simulator, app: TradingApp) -> None:
    await sim.faults.drop_connections()


async def silence(sim: Simulator, app: TradingApp) -> None:
    """The server stops sending anything (missed heartbeats): the client's silence timeout
    must notice; the server speaks again once both sockets were declared dead."""
    sim.faults.silent = True
    try:
        await until_not_ready(app)
    finally:
        sim.faults.silent = False


async def close_frame(sim: Simulator, app: TradingApp) -> None:
    await sim.faults.send_close()


async def restart(sim: Simulator, app: TradingApp) -> None:
    await sim.restart()


async def expired_token(sim: Simulator, app: TradingApp) -> None:
    """Every token expires server-side; the next authorize is refused (401)."""
    sim.faults.expire_tokens()
    await sim.faults.drop_connections()


async def penalty(sim: Simulator, app: TradingApp) -> None:
    """As above, and the re-login gets a penalty ticket (p-time) to honour first."""
    sim.faults.penalize(0.3)
    sim.faults.expire_tokens()
    await sim.faults.drop_connections()


def alert_keys(alerts: AlertLog) -> list[str]:
    return [alert.key for alert in alerts.recent]


Fault = Callable[[Simulator, TradingApp], Awaitable[None]]


@pytest.mark.parametrize("fault", [drop, silence, close_frame, restart, expired_token, penalty],
                         ids=lambda f: f.__name__)
async def test_fault_is_survived_with_md_resubscribed_and_the_account_equal_to_the_ledger(
        sim: Simulator, tmp_path: Path, fault: Fault) -> None:
    strategy = Recorder()
    alerts = AlertLog()
    app = make_app(sim, make_settings(sim, tmp_path), strategy, alerts)
    async with running(app) as run:
        md, trading, auth = app.md, app.trading, app.auth
        assert md is not None
        assert trading is not None
        assert auth is not None
        await open_position(app, sim)
        subscriptions = md.subscriptions
        await fault(sim, app)
        await asyncio.wait_for(md.wait_ready(2), 15)
        await asyncio.wait_for(trading.wait_ready(2), 15)
        await wait_quotes_after(strategy, app, len(strategy.calls))
        assert md.subscriptions == subscriptions
        assert len(md.charts) == 2
        await until_ledger_matches(app, sim)
        assert len(sim.connections) == 2  # old sockets closed before new ones opened
        assert not run.task.done()
        if fault in (expired_token, penalty):
            assert auth.logins == 2
            assert "auth.token_rejected" in alert_keys(alerts)
            assert sim.faults.penalty is None  # an armed penalty was issued and honoured
        else:
            assert auth.logins == 1
        if fault is silence:
            assert any("silence" in end.reason for _, end in app.supervisor.ends)
        # trading goes on after the fault: the strategy's orders are placed and filled
        await open_position(app, sim, "Sell")
    assert run.code == 0
    assert "supervisor.circuit_open" not in alert_keys(alerts)


async def test_fill_made_while_disconnected_reaches_the_strategy_exactly_once(
        sim: Simulator, tmp_path: Path) -> None:
    strategy = Recorder()
    slow_reconnect = SupervisorOptions(backoff=BackoffPolicy(initial=1.0, maximum=1.0,
                                                             jitter=0.1),
                                       breaker=BreakerPolicy(),
                                       shutdown_timeout=6.0, cancel_timeout=1.0)
    app = make_app(sim, make_settings(sim, tmp_path), strategy, supervisor_options=slow_reconnect)
    async with running(app):
        trading, auth = app.trading, app.auth
        assert trading is not None
        assert auth is not None
        await open_position(app, sim)
        await strategy.until(lambda: len(strategy.of("fill")) == 1)
        rest = RestClient(sim.rest_url, AuthTokens(auth, market_data=False))
        try:
            await sim.faults.drop_connections("trading")
            # The simulator fills an order of this account while our socket is down.
            result = await rest.request("order/placeorder", PlaceOrder(
                action="Sell", symbol=app.symbol, order_qty=1, order_type="Market",
                account_id=app.account_id, account_spec=app.account.account(
                    app.account_id or 0).name, is_automated=True),  # type: ignore[union-attr]
                result_type=PlaceOrderResult)
        finally:
            await rest.close()
        assert not trading.ready, "the order must be filled while disconnected"
        missed = [f.id for f in sim.exchange.sync(
            sim.exchange.account(app.account_id or 0).user_id).fills  # type: ignore[union-attr]
                  if f.order_id == result.order_id]
        assert len(missed) == 1
        await asyncio.wait_for(trading.wait_ready(2), 10)
        await strategy.until(lambda: len(strategy.of("fill")) == 2)
        # More events after the resync (another order and its fill) flush anything that was
        # still in flight: the missed fill must not come a second time.
        await open_position(app, sim)
        await strategy.until(lambda: len(strategy.of("fill")) == 3)
        fills = [f.fill.id for f in strategy.of("fill")]
        assert fills[1] == missed[0]
        assert len(set(fills)) == 3
        assert app.metrics.resyncs == 1
        await until_ledger_matches(app, sim)


async def test_rate_limited_order_is_refused_and_trading_goes_on(
        sim: Simulator, tmp_path: Path) -> None:
    strategy = Recorder()
    app = make_app(sim, make_settings(sim, tmp_path), strategy)
    async with running(app) as run:
        orders = app.orders
        assert orders is not None
        changed = Notifier()
        tickets: list[OrderTicket] = []
        orders.add_listener(lambda t: (tickets.append(t), changed.notify()))
        sim.faults.rate_limited = True
        try:
            ticket = orders.place(app.symbol, "Buy", 1, trigger="test 429")
            await changed.until(lambda: ticket.state is not TicketState.PENDING)
            assert ticket.state is TicketState.REJECTED
            assert "429" in ticket.reason
            mark = len(strategy.calls)
            await wait_quotes_after(strategy, app, mark)  # market data keeps flowing
        finally:
            sim.faults.rate_limited = False
        assert app.md is not None
        assert app.md.ready_count == 1  # no reconnect
        assert not ledger_differences(app, sim)
        assert net_position(app) == 0
        await open_position(app, sim)
        assert not run.task.done()


async def test_unreachable_server_trips_the_breaker_with_an_urgent_alert(
        sim: Simulator, tmp_path: Path) -> None:
    alerts = AlertLog()
    options = SupervisorOptions(backoff=BackoffPolicy(initial=0.02, maximum=0.05),
                                breaker=BreakerPolicy(failures=3, window=60.0),
                                shutdown_timeout=4.0, cancel_timeout=1.0)
    app = make_app(sim, make_settings(sim, tmp_path), Recorder(), alerts,
                   supervisor_options=options)
    async with running(app) as run:
        await open_position(app, sim)
        await sim.stop()
        code = await asyncio.wait_for(asyncio.shield(run.task), 20)
    assert code == EXIT_FAILURE
    urgent = [a for a in alerts.recent if a.severity is Severity.URGENT]
    assert "supervisor.circuit_open" in [a.key for a in urgent]
    (leftovers,) = [a for a in urgent if a.key == "shutdown.leftovers"]
    # REST is down too: the report is the last known state, and says so
    (line,) = app.exit_lines
    assert line.startswith(f"{app.symbol} +1 @ ")
    assert line.endswith("NOT PROTECTED (last known: the server could not be read)")
    assert line in leftovers.body
    assert "circuit breaker open" in app.supervisor.exit_reason
    assert app.summary_text  # the shutdown sequence still ran
    assert SUPERVISION.breaker.failures > options.breaker.failures
