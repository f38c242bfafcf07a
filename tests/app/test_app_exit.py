"""Ctrl+C never leaves a position naked (issue 15, defect 5).

At the shipped shutdown settings (cancel entries, keep protective stops, no flatten) with
protective stops on: the bracket's stop and its OCO target stay working, the entries are
cancelled, a position without a stop gets one before the exit, and what is open and what
protects it is printed (summary), logged and alerted. Stops that would together be bigger
than the position are trimmed to it; a standalone target protects nothing and goes; without
a protective stop the position is reported NOT PROTECTED with an urgent alert.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from app_helpers import Recorder, make_app, make_settings, running

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.orders import TicketState
from tradovate_api.runtime import SupervisorOptions
from tradovate_api.runtime.app import TradingApp
from tradovate_api.simulator import Simulator

PROTECTED = {"protective_stop": "place", "protective_stop_points": 10.0, "max_position": 3}
NO_RENDERED_REPORT = {"end_of_session": False}
"""The summary without the end-of-session report's rendering (a child process that, on a
loaded machine, can outlast the shutdown's time budget)."""


def app_for(sim: Simulator, tmp_path: Path, clock: Any, alerts: AlertLog,
            **sections: Any) -> TradingApp:
    settings = make_settings(sim, tmp_path, reports=NO_RENDERED_REPORT, **sections)
    return make_app(sim, settings, Recorder(), alerts, clock=lambda: int(clock() * 1000),
                    supervisor_options=SupervisorOptions.from_settings(settings))


def server_orders(sim: Simulator, app: TradingApp) -> dict[int, tuple[str, str, str]]:
    """Order id → (action, type, status) on the server."""
    user = sim.exchange.account(app.account_id or 0)
    assert user is not None
    sync = sim.exchange.sync(user.user_id)
    types = {v.order_id: v.order_type for v in sync.order_versions}
    return {o.id: (o.action, types.get(o.id, "?"), o.ord_status) for o in sync.orders}


def server_position(sim: Simulator, app: TradingApp) -> int:
    user = sim.exchange.account(app.account_id or 0)
    assert user is not None
    contract_id = app.contracts.contract_id(app.symbol)
    return sum(p.net_pos for p in sim.exchange.sync(user.user_id).positions
               if p.contract_id == contract_id)


def bid(app: TradingApp) -> float:
    quote = app.market.quote(app.contracts.contract_id(app.symbol))
    assert quote is not None
    assert quote.bid is not None
    return quote.bid


async def working(app: TradingApp, count: int, net: int) -> None:
    def ready() -> bool:
        position = app.account.position(app.account_id or 0,
                                        app.contracts.contract_id(app.symbol))
        return (position is not None and position.net_pos == net
                and len([o for o in app.account.open_orders(app.account_id)
                         if o.status == "Working"]) == count)
    await asyncio.wait_for(app.account_changed.until(ready), 10)


async def test_ctrl_c_keeps_the_brackets_stop_and_target_and_cancels_the_entries(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    alerts = AlertLog()
    app = app_for(sim, tmp_path, clock, alerts, risk=PROTECTED)
    async with running(app) as run:
        orders = app.orders
        assert orders is not None
        price = bid(app)
        bracket = orders.bracket(app.symbol, "Buy", 1, take_profit=price + 20.0,
                                 stop_loss=price - 10.0, trigger="bracket")
        await working(app, 2, 1)
        entry = orders.place(app.symbol, "Buy", 1, order_type="Limit", price=price - 30.0,
                             trigger="resting entry")
        assert entry.state is TicketState.PENDING
        await working(app, 3, 1)
        code = await run.stop()
    assert code == 0
    target_id, stop_id = bracket.bracket_ids
    server = server_orders(sim, app)
    assert server[stop_id] == ("Sell", "Stop", "Working")
    assert server[target_id] == ("Sell", "Limit", "Working")
    assert server[entry.order_id or 0] == ("Buy", "Limit", "Canceled")
    assert server_position(sim, app) == 1
    (line,) = app.exit_lines
    assert line.startswith(f"{app.symbol} +1 @ ")
    assert f"— protected by Sell Stop 1 @ {price - 10.0:g}, Sell Limit 1 @ " \
           f"{price + 20.0:g} (OCO) (on the server)" in line
    assert line in app.summary_text
    (open_alert,) = [a for a in alerts.recent if a.key == "shutdown.open_positions"]
    assert open_alert.severity is Severity.ROUTINE
    assert line in open_alert.body
    assert "shutdown.leftovers" not in [a.key for a in alerts.recent]


async def test_a_position_without_a_stop_at_ctrl_c_gets_one_before_the_exit(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    """The grace time is long only so that the position is still naked at Ctrl+C."""
    alerts = AlertLog()
    app = app_for(sim, tmp_path, clock, alerts,
                  risk={**PROTECTED, "protective_stop_grace_seconds": 3600.0})
    async with running(app) as run:
        orders = app.orders
        assert orders is not None
        orders.place(app.symbol, "Sell", 1, trigger="naked short")
        await working(app, 0, -1)
        code = await run.stop()
    assert code == 0
    assert list(server_orders(sim, app).values()).count(("Buy", "Stop", "Working")) == 1
    assert server_position(sim, app) == -1
    (line,) = app.exit_lines
    assert line.startswith(f"{app.symbol} -1 @ ")
    assert "— protected by Buy Stop 1 @ " in line
    assert line.endswith("(on the server)")
    assert [a.key for a in alerts.recent if a.severity is Severity.URGENT] == []


async def test_stops_beyond_the_position_and_a_standalone_target_are_cancelled(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    alerts = AlertLog()
    app = app_for(sim, tmp_path, clock, alerts,
                  risk={**PROTECTED, "max_orders_per_second": 20.0})
    async with running(app) as run:
        orders = app.orders
        assert orders is not None
        price = bid(app)
        orders.place(app.symbol, "Buy", 1, trigger="long")
        await working(app, 0, 1)
        near = orders.place(app.symbol, "Sell", 1, order_type="Stop", stop_price=price - 5.0)
        far = orders.place(app.symbol, "Sell", 1, order_type="Stop", stop_price=price - 15.0)
        target = orders.place(app.symbol, "Sell", 1, order_type="Limit", price=price + 25.0)
        await working(app, 3, 1)
        code = await run.stop()
    assert code == 0
    server = server_orders(sim, app)
    assert server[near.order_id or 0][2] == "Working"  # the one nearest the market
    assert server[far.order_id or 0][2] == "Canceled"  # would open a short once both fired
    assert server[target.order_id or 0][2] == "Canceled"  # not linked to the stop
    (line,) = app.exit_lines
    assert f"— protected by Sell Stop 1 @ {price - 5.0:g} (on the server)" in line


async def test_without_a_protective_stop_the_position_is_reported_not_protected(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    """Protective stops switched off to show what the exit says when nothing protects."""
    alerts = AlertLog()
    app = app_for(sim, tmp_path, clock, alerts, risk={"protective_stop": "off"})
    async with running(app) as run:
        orders = app.orders
        assert orders is not None
        orders.place(app.symbol, "Sell", 1, trigger="short")
        await working(app, 0, -1)
        code = await run.stop()
    assert code == 0
    (line,) = app.exit_lines
    assert line.startswith(f"{app.symbol} -1 @ ")
    assert line.endswith("— NOT PROTECTED (on the server)")
    (leftovers,) = [a for a in alerts.recent if a.key == "shutdown.leftovers"]
    assert leftovers.severity is Severity.URGENT
    assert line in leftovers.body
    assert line in app.summary_text
