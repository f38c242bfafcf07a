"""A preset's trailing drawdown on the simulator (real websockets on loopback, the shipped
settings otherwise: protective stops, circuit breaker, max position): the account breaches
its trailing drawdown, is halted and flattened on the exchange, and the status line and the
final summary show the distance to the trailing level."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app_helpers import Recorder, make_app, make_settings, running

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.orders import TicketKind, TicketState
from tradovate_api.runtime import SupervisorOptions
from tradovate_api.simulator import Simulator

# Entering pays the spread: marked at the mid, the position is at least half a tick (6.25)
# below what the cash was before the fill, plus the fee: a 5.00 trailing drawdown breaks.
TIGHT = {"preset": {"tight": {"trailing_drawdown": 5.0, "trailing_mode": "intraday"}},
         "use_preset": "tight"}


async def test_a_trailing_drawdown_breach_halts_and_flattens_the_account(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    alerts = AlertLog()
    settings = make_settings(sim, tmp_path, risk=TIGHT, reports={"end_of_session": False})
    app = make_app(sim, settings, Recorder(), alerts, clock=lambda: int(clock() * 1000),
                   supervisor_options=SupervisorOptions.from_settings(settings))
    async with running(app) as run:
        orders = app.orders
        assert orders is not None
        await asyncio.wait_for(app.account_changed.until(
            lambda: app.account.cash_balance(app.account_id or 0) is not None), 10)
        start = app.account.cash_balance(app.account_id or 0)
        assert start is not None
        # The watch has seen the balance before the entry: the first high-water.
        await asyncio.wait_for(app.account_changed.until(
            lambda: app.risk.rules.trailing is not None
            and app.risk.rules.trailing.high_water == start.amount), 10)
        assert "dd 5 over" in app.status_line()
        entry = orders.place(app.symbol, "Buy", 1, trigger="entry")
        assert entry.state is TicketState.PENDING

        def flat_and_halted() -> bool:
            position = app.account.position(app.account_id or 0,
                                            app.contracts.contract_id(app.symbol))
            return (orders.halted is not None and position is not None
                    and position.net_pos == 0)
        await asyncio.wait_for(app.account_changed.until(flat_and_halted), 10)
        assert orders.halted is not None
        assert orders.halted.startswith("trailing drawdown: balance ")
        assert f"(high-water {start.amount:,.2f} - trailing_drawdown 5.00)" in orders.halted
        liquidations = [t for t in orders.tickets.values() if t.kind is TicketKind.LIQUIDATE]
        assert liquidations
        user = sim.exchange.account(app.account_id or 0)
        assert user is not None
        assert all(p.net_pos == 0 for p in sim.exchange.sync(user.user_id).positions)
        (halt,) = [a for a in alerts.recent if a.key == "risk.trailing_drawdown"]
        assert halt.severity is Severity.URGENT
        assert f"high_water={start.amount:.2f}" in halt.body
        refused = orders.place(app.symbol, "Buy", 1, trigger="after the halt")
        assert refused.state is TicketState.REFUSED
        await run.stop()
    assert "risk limits   dd " in app.summary_text
