"""Each risk limit refuses and alerts; daily loss and the kill switch (file and signal) halt and
flatten. Orders go to the simulator's matching engine in-process; the stores are real."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import signal
from pathlib import Path

import pytest
from trading_helpers import ES, Harness, ScriptedGateway, quote_frame

from tradovate_api.alerts import Severity
from tradovate_api.errors import ConfigError, ConnectionLost
from tradovate_api.orders import TicketKind, TicketState
from tradovate_api.protocol.models import PlaceOrder
from tradovate_api.settings import Risk, TimeWindow, settings_from_mapping
from tradovate_api.strategy import Strategy

LOOSE = {"max_position": 10, "max_order_qty": 10, "max_orders_per_second": 1000.0,
         "max_daily_loss": 1_000_000.0}


def harness(gateway: object = None, **limits: object) -> Harness:
    h = Harness(Strategy(), risk=Risk(**{**LOOSE, **limits}), gateway=gateway)  # type: ignore[arg-type]
    h.set_book("ESZ6", [(5000.00, 50)], [(5000.25, 50)], 5000.0)
    h.start()
    return h


def risk_alerts(h: Harness) -> list[tuple[str, Severity]]:
    return [(a.key, a.severity) for a in h.alerts.recent if a.key.startswith("risk.")]


async def test_max_order_qty() -> None:
    h = harness(max_order_qty=2)
    ticket = h.ctx.buy("ESZ6", 3)
    assert ticket.state is TicketState.REFUSED
    assert ticket.reason == "order quantity 3 exceeds max_order_qty 2"
    assert h.exchange_gateway.sent == []
    assert risk_alerts(h) == [("risk.max_order_qty", Severity.URGENT)]
    assert h.ctx.buy("ESZ6", 2).state is TicketState.PENDING


async def test_max_position_counts_the_position_and_working_orders() -> None:
    h = harness(max_position=2)
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING
    working = h.ctx.buy("ESZ6", 1, order_type="Limit", price=4900.0)
    await h.settle()
    assert h.ctx.position("ESZ6") == 1
    assert working.state is TicketState.ACKED
    refused = h.ctx.buy("ESZ6", 1)
    assert refused.state is TicketState.REFUSED
    assert refused.reason.startswith("Buy 1 ESZ6 could make the position 3 (with working "
                                     "orders), over max_position 2")
    assert risk_alerts(h) == [("risk.max_position", Severity.URGENT)]
    grow = h.ctx.modify(working, qty=2)
    assert grow.state is TicketState.REFUSED
    assert "could make the position 3" in grow.reason
    assert h.ctx.sell("ESZ6", 3).state is TicketState.PENDING  # −1 + 3 = 2 short at most
    await h.settle()
    assert h.ctx.position("ESZ6") == -2


async def test_max_position_counts_requests_in_flight() -> None:
    gateway = ScriptedGateway()
    h = harness(gateway, max_position=2)
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING
    third = h.ctx.buy("ESZ6", 1)
    assert third.state is TicketState.REFUSED
    assert "could make the position 3" in third.reason
    assert gateway.endpoints() == ["order/placeorder", "order/placeorder"]


async def test_orders_per_second() -> None:
    h = harness(max_orders_per_second=2.0)
    assert [h.ctx.buy("ESZ6", 1).state for _ in range(3)] == [
        TicketState.PENDING, TicketState.PENDING, TicketState.REFUSED]
    refused = h.ctx.sell("ESZ6", 1)
    assert refused.reason == "more than 2 orders per second"
    assert risk_alerts(h) == [("risk.orders_per_second", Severity.URGENT)]  # once per minute
    h.clock.now_ms += 500  # half a second refills one order
    assert h.ctx.sell("ESZ6", 1).state is TicketState.PENDING
    assert h.ctx.sell("ESZ6", 1).state is TicketState.REFUSED
    cancel = h.orders.cancel(123)  # cancels never count
    assert cancel.state is TicketState.PENDING


async def test_orders_per_hour_stay_under_tradovates_request_limit() -> None:
    """Tradovate allows 5,000 requests an hour per user and warns (423) at 90 % of it, then
    locks the user out for an hour (reference §7.1): the shipped hourly budget for new orders
    leaves room below that for cancels, exits, protective stops and everything else — and the
    per-second limit alone (2/s = 7,200/h) would not."""
    shipped = Risk()
    assert shipped.max_orders_per_second * 3600 > 5000
    assert shipped.max_orders_per_hour <= 5000 * 0.9 * 2 / 3
    h = harness(max_orders_per_hour=3)
    assert [h.ctx.buy("ESZ6", 1).state for _ in range(4)] == [
        TicketState.PENDING, TicketState.PENDING, TicketState.PENDING, TicketState.REFUSED]
    refused = h.ctx.sell("ESZ6", 1)
    assert refused.reason == "more than 3 orders in the last hour"
    assert risk_alerts(h) == [("risk.orders_per_hour", Severity.URGENT)]
    assert h.orders.cancel(123).state is TicketState.PENDING  # cancels never count
    h.clock.now_ms += 3_599_000
    assert h.ctx.sell("ESZ6", 1).state is TicketState.REFUSED
    h.clock.now_ms += 1_000  # the hour's orders leave the window
    assert [h.ctx.sell("ESZ6", 1).state for _ in range(4)] == [
        TicketState.PENDING, TicketState.PENDING, TicketState.PENDING, TicketState.REFUSED]


async def test_trading_hours_window() -> None:
    window = TimeWindow(start="08:30", end="15:00", timezone="America/Chicago")
    h = harness(trading_hours=window)
    chicago = dt.datetime(2026, 11, 18, 7, 0, tzinfo=dt.timezone(dt.timedelta(hours=-6)))
    h.clock.now_ms = int(chicago.timestamp() * 1000)
    ticket = h.ctx.buy("ESZ6", 1)
    assert ticket.state is TicketState.REFUSED
    assert ticket.reason == "outside trading hours 08:30–15:00 America/Chicago"
    assert risk_alerts(h) == [("risk.trading_hours", Severity.URGENT)]
    h.clock.now_ms += 3 * 3600 * 1000  # 10:00 in Chicago
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING


def market_at(h: Harness, bid: float, ask: float) -> None:
    """The exchange's book and the md quote move together."""
    h.set_book("ESZ6", [(bid, 50)], [(ask, 50)])
    h.feed_md(quote_frame(ES.contract_id, bid, ask))


async def test_daily_loss_halts_and_flattens() -> None:
    h = harness(max_daily_loss=100.0)
    market_at(h, 5000.00, 5000.25)
    h.ctx.buy("ESZ6", 2, order_type="Market")
    resting = h.ctx.sell("ESZ6", 1, order_type="Limit", price=5100.0)
    await h.settle()
    assert h.ctx.position("ESZ6") == 2
    assert h.risk.daily_pnl() == pytest.approx(2 * 50 * (5000.125 - 5000.25) - 2 * 2.05)
    assert h.orders.halted is None
    # Bought 2 at 5000.25; the market falls: marked at the mid 4998.125 the day is −216.6.
    market_at(h, 4998.00, 4998.25)
    h.risk.evaluate()  # the periodic watch
    assert h.risk.halted == "daily loss 216.60 reached max_daily_loss 100"
    assert h.orders.halted == h.risk.halted
    (liquidate,) = [t for t in h.orders.tickets.values() if t.kind is TicketKind.LIQUIDATE]
    await h.settle()
    assert liquidate.state is TicketState.ACKED
    assert h.ctx.position("ESZ6") == 0
    resting_order = h.account.order(resting.order_id or 0)
    assert resting_order is not None
    assert resting_order.status == "Canceled"  # liquidation cancels the contract's orders
    assert risk_alerts(h) == [("risk.daily_loss", Severity.URGENT)]
    refused = h.ctx.buy("ESZ6", 1)
    assert refused.state is TicketState.REFUSED
    assert refused.reason.startswith("orders halted: daily loss")


async def test_daily_loss_is_checked_before_an_order() -> None:
    h = harness(max_daily_loss=100.0)
    market_at(h, 5000.00, 5000.25)
    h.ctx.buy("ESZ6", 2)
    await h.settle()
    market_at(h, 4998.00, 4998.25)  # no watch has run since
    ticket = h.ctx.buy("ESZ6", 1)
    assert ticket.state is TicketState.REFUSED
    assert ticket.reason == "trading halted: daily loss 216.60 reached max_daily_loss 100"
    await h.settle()
    assert h.ctx.position("ESZ6") == 0


async def test_a_fill_runs_the_daily_loss_watch() -> None:
    h = harness(max_daily_loss=8.0)
    market_at(h, 5000.00, 5000.25)
    h.ctx.buy("ESZ6", 1)
    await h.settle()  # the fill: −6.25 open − 2.05 commission = −8.30
    assert h.risk.halted == "daily loss 8.30 reached max_daily_loss 8"
    assert h.ctx.position("ESZ6") == 0


async def test_kill_switch_file(tmp_path: Path) -> None:
    kill = tmp_path / "KILL"
    h = harness(kill_switch_file=str(kill))
    h.ctx.buy("ESZ6", 1)
    await h.settle()
    h.risk.evaluate()
    assert h.risk.halted is None
    kill.touch()
    h.risk.evaluate()  # the periodic watch sees it
    assert h.risk.halted == f"kill switch file {kill} exists"
    await h.settle()
    assert h.ctx.position("ESZ6") == 0
    assert risk_alerts(h) == [("risk.kill_switch", Severity.URGENT)]
    refused = h.ctx.buy("ESZ6", 1)
    assert refused.reason.startswith("orders halted: kill switch file")
    kill.unlink()
    assert h.ctx.buy("ESZ6", 1).state is TicketState.REFUSED  # a halt lasts for the run


async def test_kill_switch_file_is_checked_before_an_order(tmp_path: Path) -> None:
    kill = tmp_path / "KILL"
    h = harness(kill_switch_file=str(kill))
    kill.touch()
    ticket = h.ctx.buy("ESZ6", 1)
    assert ticket.state is TicketState.REFUSED
    assert ticket.reason == f"trading halted: kill switch file {kill} exists"
    assert h.exchange_gateway.sent == []


async def test_kill_switch_file_present_at_start_halts_at_the_first_snapshot(
        tmp_path: Path) -> None:
    kill = tmp_path / "KILL"
    kill.touch()
    h = harness(kill_switch_file=str(kill))
    assert h.risk.halted == f"kill switch file {kill} exists"
    assert h.ctx.buy("ESZ6", 1).reason.startswith("orders halted: kill switch file")


async def test_kill_switch_signal() -> None:
    h = harness()
    h.ctx.buy("ESZ6", 1)
    working = h.ctx.buy("ESZ6", 1, order_type="Limit", price=4900.0)
    await h.settle()
    loop = asyncio.get_running_loop()
    assert h.risk.install_signal_handler(loop)
    try:
        halted = asyncio.Event()
        h.orders.add_listener(lambda t: halted.set() if h.risk.halted else None)
        os.kill(os.getpid(), signal.SIGUSR2)
        async with asyncio.timeout(5):
            await halted.wait()
    finally:
        loop.remove_signal_handler(signal.SIGUSR2)
    assert h.risk.halted == "signal SIGUSR2"
    await h.settle()
    assert h.ctx.position("ESZ6") == 0
    order = h.account.order(working.order_id or 0)
    assert order is not None
    assert order.status == "Canceled"
    assert risk_alerts(h) == [("risk.kill_switch", Severity.URGENT)]


async def test_cancel_and_flatten_are_never_refused() -> None:
    h = harness(max_orders_per_second=1.0)
    working = h.ctx.sell("ESZ6", 1, order_type="Limit", price=5100.0)
    await h.settle()
    h.orders.halt("test")
    assert h.ctx.buy("ESZ6", 1).state is TicketState.REFUSED
    assert h.ctx.cancel(working).state is TicketState.PENDING
    await h.settle()
    assert h.account.open_orders() == ()


@pytest.mark.parametrize(("raw", "message"), [
    ({"protective_stop_points": 0}, "protective_stop_points"),
    ({"protective_stop": "sometimes"}, "invalid enum value 'sometimes'"),
    ({"unknown_order_grace_seconds": -1}, "unknown_order_grace_seconds"),
    ({"unknown_order_alert_seconds": 0}, "unknown_order_alert_seconds"),
])
def test_protective_stop_settings_are_validated(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        settings_from_mapping({"risk": raw})


async def test_fills_after_a_halt_are_flattened_too() -> None:
    h = harness()
    market_at(h, 5000.00, 5000.25)
    h.risk.kill("operator")
    await h.settle()
    assert h.orders.halted == "operator"
    # An order that was already on its way (or placed by another application) fills now.
    result, changes = h.exchange.place_order(h.user_id, PlaceOrder(
        action="Buy", symbol="ESZ6", order_qty=2, order_type="Market",
        account_id=h.account_id))
    assert result.order_id is not None
    h.exchange_gateway.changes.extend(changes)
    await h.settle()
    assert h.ctx.position("ESZ6") == 0
    (liquidate,) = [t for t in h.orders.tickets.values() if t.kind is TicketKind.LIQUIDATE]
    assert (liquidate.action, liquidate.qty, liquidate.state) == ("Sell", 2, TicketState.ACKED)


async def test_a_strategy_hammering_a_limit_logs_one_line_per_interval_with_a_count(
        caplog: pytest.LogCaptureFixture) -> None:
    h = harness(max_position=1)
    caplog.set_level(logging.INFO, logger="tradovate_api")
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING
    await h.settle()
    for _ in range(10_000):  # a strategy re-trying on every quote
        assert h.ctx.buy("ESZ6", 1).state is TicketState.REFUSED
    def refusals() -> list[str]:
        return [r.getMessage() for r in caplog.records
                if "refused" in r.getMessage() and r.name != "tradovate_api.alerts"]

    lines = refusals()
    assert len(lines) == 2  # the limit's line and the order manager's, once each
    h.clock.now_ms += 10_000
    h.ctx.buy("ESZ6", 1)
    lines = refusals()
    assert len(lines) == 4
    assert lines[-2].endswith("(and 9999 more like it since the previous line)")
    assert h.risk.breaches["max_position"] == 10_001
    assert risk_alerts(h) == [("risk.max_position", Severity.URGENT)]


async def test_orders_blocked_by_an_unknown_outcome_are_logged_boundedly(
        caplog: pytest.LogCaptureFixture) -> None:
    gateway = ScriptedGateway()
    h = harness(gateway)
    caplog.set_level(logging.INFO, logger="tradovate_api")
    lost = h.ctx.buy("ESZ6", 1)
    gateway.sent[0][2].set_exception(ConnectionLost("socket died"))
    await asyncio.sleep(0)
    assert lost.state is TicketState.UNKNOWN
    for _ in range(5_000):
        assert h.ctx.buy("ESZ6", 1).reason.startswith("blocked: ")
    blocked = [r for r in caplog.records if "blocked: " in r.getMessage()]
    assert len(blocked) == 1
