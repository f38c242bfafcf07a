"""Protective stops (on by default) track the position: sized to what the strategy's own stops
leave uncovered, resized and cancelled with the position, replaced on the new side when it
flips, never refused by the entry limits, never able to open a position, and no refusal storm
when something keeps failing. Orders go to the simulator's matching engine in-process."""

from __future__ import annotations

import logging

import pytest
from trading_helpers import ES, Harness, quote_frame

from tradovate_api.alerts import Severity
from tradovate_api.orders import TicketKind, TicketState
from tradovate_api.protocol.models import PlaceOrder
from tradovate_api.settings import Risk
from tradovate_api.simulator.book import MarketUpdate
from tradovate_api.strategy import Strategy

BASE = {"max_position": 10, "max_order_qty": 10, "max_orders_per_second": 1000.0,
        "max_daily_loss": 1_000_000.0, "protective_stop_grace_seconds": 1.0}


def harness(**limits: object) -> Harness:
    h = Harness(Strategy(), risk=Risk(**{**BASE, **limits}))  # type: ignore[arg-type]
    market_at(h, 5000.00, 5000.25)
    h.start()
    return h


def market_at(h: Harness, bid: float, ask: float) -> None:
    """The exchange's book and the md quote move together."""
    h.set_book("ESZ6", [(bid, 50)], [(ask, 50)], bid)
    h.feed_md(quote_frame(ES.contract_id, bid, ask))


async def after_grace(h: Harness) -> None:
    """The watch notices, the grace time passes, the watch acts; answers and events land."""
    h.risk.evaluate()
    h.clock.now_ms += 1500
    h.risk.evaluate()
    await h.settle()


async def trade(h: Harness, action: str, qty: int) -> None:
    (h.ctx.buy if action == "Buy" else h.ctx.sell)("ESZ6", qty)
    await h.settle()


def working(h: Harness) -> list[tuple[str, int, float | None, bool]]:
    """Working stop orders: (action, unfilled qty, stop price, protective)."""
    return sorted((s.order.action, s.remaining or 0,
                   s.version.stop_price if s.version else None,
                   (s.cl_ord_id or "").endswith("-ps"))
                  for s in h.account.open_orders() if s.version
                  and s.version.order_type == "Stop")


def urgent(h: Harness) -> list[str]:
    return [a.title for a in h.alerts.recent
            if a.key == "risk.protective_stop" and a.severity is Severity.URGENT]


async def test_default_settings_protect_every_position_at_the_daily_loss_distance() -> None:
    limits = Risk()
    assert limits.protective_stop == "place"
    assert limits.protective_stop_points is None
    h = Harness(Strategy(), risk=Risk(max_orders_per_second=100.0))
    market_at(h, 5000.00, 5000.25)
    h.start()
    await trade(h, "Buy", 1)
    h.risk.evaluate()
    assert working(h) == []  # within the grace time the strategy may place its own
    h.clock.now_ms += 2500
    h.risk.evaluate()
    await h.settle()
    # Bought at 5000.25; 500 (max_daily_loss) / (1 lot × 50 per point) = 10 points below.
    assert working(h) == [("Sell", 1, 4990.25, True)]
    assert urgent(h) == []  # tracking the position is routine, not an alarm


async def test_the_stop_is_cancelled_when_the_position_closes() -> None:
    h = harness(protective_stop_points=5.0)
    await trade(h, "Buy", 1)
    await after_grace(h)
    assert working(h) == [("Sell", 1, 4995.25, True)]
    await trade(h, "Sell", 1)  # the strategy closes with a market order
    await h.settle()
    assert h.ctx.position("ESZ6") == 0
    assert working(h) == []  # nothing left that could open a short


async def test_the_stop_shrinks_at_once_and_grows_after_the_grace_time() -> None:
    h = harness(protective_stop_points=5.0)
    await trade(h, "Buy", 3)
    await after_grace(h)
    assert working(h) == [("Sell", 3, 4995.25, True)]
    await trade(h, "Sell", 2)
    await h.settle()
    assert working(h) == [("Sell", 1, 4995.25, True)]  # at once: never above the position
    await trade(h, "Buy", 2)
    h.risk.evaluate()
    await h.settle()
    assert working(h) == [("Sell", 1, 4995.25, True)]  # growing waits for the grace time
    await after_grace(h)
    assert working(h) == [("Sell", 3, 4995.25, True)]
    kinds = [t.kind for t in h.orders.tickets.values() if t.protective]
    assert kinds == [TicketKind.PLACE, TicketKind.MODIFY, TicketKind.MODIFY]  # resized


async def test_a_flip_cancels_the_old_stop_and_protects_the_new_side() -> None:
    h = harness(protective_stop_points=5.0)
    await trade(h, "Buy", 1)
    await after_grace(h)
    assert working(h) == [("Sell", 1, 4995.25, True)]
    await trade(h, "Sell", 3)  # long 1 → short 2, filled at 5000.00
    await h.settle()
    assert h.ctx.position("ESZ6") == -2
    assert working(h) == []  # a Sell stop on a short would add to it: gone at once
    await after_grace(h)
    assert working(h) == [("Buy", 2, 5005.0, True)]


async def test_the_strategys_stops_count_and_coverage_never_exceeds_the_position() -> None:
    h = harness(protective_stop_points=5.0)
    await trade(h, "Buy", 2)
    h.ctx.sell("ESZ6", 1, order_type="Stop", stop_price=4990.0)
    await h.settle()
    await after_grace(h)
    assert working(h) == [("Sell", 1, 4990.0, False), ("Sell", 1, 4995.25, True)]
    cover = h.orders.coverage(ES.contract_id)
    assert (cover.net_pos, cover.covered, cover.naked) == (2, 2, 0)
    h.ctx.sell("ESZ6", 1, order_type="Stop", stop_price=4989.0)  # the strategy covers it all
    await h.settle()
    assert working(h) == [("Sell", 1, 4989.0, False), ("Sell", 1, 4990.0, False)]


async def test_a_position_beyond_max_position_is_protected_not_refused() -> None:
    h = harness(max_position=1, protective_stop_points=5.0)
    # Opened outside the strategy (another application, a position carried in): 3 lots.
    body = PlaceOrder(action="Buy", symbol="ESZ6", order_qty=3, order_type="Market",
                      account_id=h.account_id, is_automated=True)
    h.execute(h.exchange.place_order(h.user_id, body)[1])
    await h.settle()
    assert h.ctx.position("ESZ6") == 3
    assert h.ctx.buy("ESZ6", 1).state is TicketState.REFUSED  # entries still are
    await after_grace(h)
    assert working(h) == [("Sell", 3, 4995.25, True)]
    assert h.ctx.position("ESZ6") == 3  # protected, not flattened
    assert urgent(h) == []


async def test_a_protective_stop_can_never_open_a_position() -> None:
    h = harness(protective_stop_points=5.0)
    flat = h.orders.place_protective_stop(ES.contract_id, 1, 4990.0)
    assert flat.state is TicketState.REFUSED
    assert flat.reason == "no open position to protect"
    await trade(h, "Buy", 1)
    too_big = h.orders.place_protective_stop(ES.contract_id, 2, 4990.0)
    assert too_big.state is TicketState.REFUSED
    assert "would exceed the position +1" in too_big.reason
    off_grid = h.orders.place_protective_stop(ES.contract_id, 1, 4990.1)
    assert off_grid.state is TicketState.REFUSED  # validated like any order
    assert "tick grid" in off_grid.reason
    assert h.exchange_gateway.sent == [("order/placeorder", h.exchange_gateway.sent[0][1])]


async def test_it_is_exempt_from_the_halt_and_the_order_rate() -> None:
    h = harness(protective_stop_points=5.0, max_orders_per_second=1.0)
    await trade(h, "Buy", 1)
    h.orders.halt("shutdown")
    assert h.ctx.buy("ESZ6", 1).state is TicketState.REFUSED
    await after_grace(h)
    assert working(h) == [("Sell", 1, 4995.25, True)]


async def test_an_oco_exit_is_the_positions_stop_and_its_target_cancels_it() -> None:
    h = harness(protective_stop_points=5.0)
    await trade(h, "Buy", 1)
    oco = h.orders.oco("ESZ6", "Sell", 1, take_profit=5010.0, stop_loss=4992.0)
    await h.settle()
    assert oco.state is TicketState.ACKED
    assert oco.order_id is not None
    assert len(oco.bracket_ids) == 1
    await after_grace(h)
    assert working(h) == [("Sell", 1, 4992.0, False)]  # no protective stop on top of it
    market_at(h, 5010.25, 5010.50)  # the target fills; the server cancels the stop
    h.execute(h.exchange.on_market(MarketUpdate(now_ms=h.clock.now_ms)))
    await h.settle()
    assert h.ctx.position("ESZ6") == 0
    assert h.account.open_orders() == ()


async def test_a_failing_stop_backs_off_without_a_refusal_storm(
        caplog: pytest.LogCaptureFixture) -> None:
    h = harness(protective_stop_points=5.0)
    await trade(h, "Buy", 1)
    h.exchange.reject_next(1000, "RiskCheckTimeout")
    caplog.set_level(logging.INFO, logger="tradovate_api")
    h.risk.evaluate()
    for _ in range(300):  # five minutes of the 0.25 s watch, plus every account event
        h.clock.now_ms += 1000
        h.risk.evaluate()
        await h.settle()
    sent = [t for t in h.orders.tickets.values() if t.protective]
    assert 4 <= len(sent) <= 12  # backing off to once a minute, not 1200 attempts
    assert all(t.state is TicketState.REJECTED for t in sent)
    assert 1 <= len(urgent(h)) <= 6  # at most one alert a minute
    failures = [r for r in caplog.records if r.name == "tradovate_api.orders.protection"
                and r.levelno >= logging.WARNING]
    assert 1 <= len(failures) <= 6  # one line a minute, with a count
    assert h.ctx.position("ESZ6") == 1  # a rejected stop is retried, not a flatten loop


async def test_flatten_mode_closes_an_uncovered_position() -> None:
    h = harness(protective_stop="flatten")
    await trade(h, "Buy", 1)
    await after_grace(h)
    assert h.ctx.position("ESZ6") == 0
    assert [t.kind for t in h.orders.tickets.values()] == [TicketKind.PLACE,
                                                           TicketKind.LIQUIDATE]
    assert urgent(h) == ["Position +1 ESZ6 had no protective stop: flattened"]


async def test_a_stop_already_through_the_market_flattens_instead() -> None:
    h = harness(protective_stop_points=0.25)
    await trade(h, "Buy", 1)
    market_at(h, 4999.75, 5000.00)  # the stop would be 5000.00
    await after_grace(h)
    assert h.ctx.position("ESZ6") == 0
    (flatten,) = [t for t in h.orders.tickets.values() if t.kind is TicketKind.LIQUIDATE]
    assert flatten.state is TicketState.ACKED
    assert urgent(h) == ["Position +1 ESZ6 had no protective stop: flattened"]


async def test_coverage_says_what_protects_each_position() -> None:
    h = harness(protective_stop_points=5.0)
    assert h.orders.coverages() == ()
    await trade(h, "Sell", 2)
    (naked,) = h.orders.coverages()
    assert (naked.symbol, naked.net_pos, naked.covered, naked.naked) == ("ESZ6", -2, 0, 2)
    await after_grace(h)
    assert h.orders.protection is not None
    (cover,) = h.orders.protection.coverages()
    assert (cover.net_pos, cover.covered, cover.naked) == (-2, 2, 0)
    (stop,) = cover.stops
    assert (stop.action, stop.qty, stop.stop_price, stop.protective) == ("Buy", 2, 5005.0,
                                                                         True)

