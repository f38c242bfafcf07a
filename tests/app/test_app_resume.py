"""Issue 15, defect 9, in a running app against the simulator: a strategy paused by an
exception gets, on SIGUSR1 (``TradingApp.resume_strategy``), the fill it missed exactly once
and the order's latest state; a market-data subscription refused after a reconnect stops new
entries in its contract (exits still go) until it is live again."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

from app_helpers import (
    CREDENTIALS,
    OPTIONS,
    Recorder,
    WatchedAlerts,
    make_app,
    make_settings,
    running,
)

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.orders import TicketState
from tradovate_api.runtime import SupervisorOptions
from tradovate_api.runtime.app import TradingApp
from tradovate_api.simulator import Simulator
from tradovate_api.stores import QuoteState


class FailsOnceOnAQuote(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def on_quote(self, quote: QuoteState) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("strategy bug")
        super().on_quote(quote)


def app_for(sim: Simulator, tmp_path: Path, clock: Any, strategy: Recorder,
            alerts: AlertLog) -> TradingApp:
    settings = make_settings(sim, tmp_path, risk={"max_orders_per_second": 20.0})
    return make_app(sim, settings, strategy, alerts, clock=lambda: int(clock() * 1000),
                    supervisor_options=SupervisorOptions.from_settings(settings))


async def until_position(app: TradingApp, net: int) -> None:
    def reached() -> bool:
        found = app.account.position(app.account_id or 0,
                                     app.contracts.contract_id(app.symbol))
        return (0 if found is None else found.net_pos) == net
    await asyncio.wait_for(app.account_changed.until(reached), 10)


async def test_sigusr1_resumes_the_strategy_with_the_fill_it_missed_exactly_once(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    strategy = FailsOnceOnAQuote()
    alerts = WatchedAlerts()
    settings = make_settings(sim, tmp_path)
    app = TradingApp(settings, CREDENTIALS, strategy, alerts=alerts,
                     clock=lambda: int(clock() * 1000), connection_options=OPTIONS,
                     supervisor_options=SupervisorOptions.from_settings(settings),
                     handle_signals=True)  # SIGUSR1 (and SIGINT/SIGTERM) while it runs
    async with running(app):
        dispatcher, orders = app.dispatcher, app.orders
        assert dispatcher is not None
        assert orders is not None
        await alerts.until_key("strategy.exception")  # the first quote raised
        assert dispatcher.paused
        ticket = orders.place(app.symbol, "Buy", 1, trigger="while paused")
        await until_position(app, 1)
        assert strategy.of("fill") == []
        os.kill(os.getpid(), signal.SIGUSR1)
        await strategy.until(lambda: len(strategy.of("fill")) == 1)
        assert not dispatcher.paused
        (fill,) = strategy.of("fill")
        assert fill.order.id == ticket.order_id
        assert [o.status for o in strategy.of("order") if o.id == ticket.order_id] == ["Filled"]
        assert "strategy.resumed" in [a.key for a in alerts.recent]
        assert app.resume_strategy() is False  # not paused any more
        closing = orders.place(app.symbol, "Sell", 1, trigger="after resuming")
        assert closing.state is TicketState.PENDING
        await strategy.until(lambda: len(strategy.of("fill")) == 2)
    assert len({f.fill.id for f in strategy.of("fill")}) == 2


async def test_a_refused_md_resubscription_stops_entries_in_its_contract_until_live(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    alerts = AlertLog()
    app = app_for(sim, tmp_path, clock, Recorder(), alerts)
    async with running(app):
        md, orders = app.md, app.orders
        assert md is not None
        assert orders is not None
        assert md.subscription_refused is not None
        assert md.subscription_restored is not None
        orders.place(app.symbol, "Buy", 1, trigger="before")
        await until_position(app, 1)
        md.subscription_refused(app.symbol, "Unknown symbol")  # as the md session reports it
        (alert,) = [a for a in alerts.recent if a.key == "md.subscription_refused"]
        assert alert.severity is Severity.URGENT
        assert app.symbol in alert.title
        entry = orders.place(app.symbol, "Buy", 1, trigger="entry while blind")
        assert entry.state is TicketState.REFUSED
        assert "suspended" in entry.reason
        other = app.contracts.symbols[1]
        assert orders.place(other, "Buy", 1, trigger="other contract").state \
            is TicketState.PENDING
        exit_ticket = orders.place(app.symbol, "Sell", 1, trigger="exit while blind")
        assert exit_ticket.state is TicketState.PENDING
        md.subscription_restored(app.symbol, "")
        assert "md.subscription_restored" in [a.key for a in alerts.recent]
        await until_position(app, 0)
        again = orders.place(app.symbol, "Buy", 1, trigger="entry when live again")
        assert again.state is TicketState.PENDING, again.reason
