"""The optional protective-stop invariant: a position without a working stop on the closing
side past the grace time gets one (or is flattened), with an urgent alert."""

from __future__ import annotations

from trading_helpers import ES, Harness, quote_frame

from tradovate_api.alerts import Severity
from tradovate_api.orders import TicketKind, TicketState
from tradovate_api.settings import Risk
from tradovate_api.strategy import Strategy

BASE = {"max_position": 10, "max_order_qty": 10, "max_orders_per_second": 1000.0,
        "max_daily_loss": 1_000_000.0, "protective_stop_grace_seconds": 1.0}


async def long_one(mode: str, **extra: object) -> Harness:
    h = Harness(Strategy(), risk=Risk(**{**BASE, "protective_stop": mode, **extra}))  # type: ignore[arg-type]
    h.set_book("ESZ6", [(5000.00, 50)], [(5000.25, 50)], 5000.0)
    h.feed_md(quote_frame(ES.contract_id, 5000.00, 5000.25))
    h.start()
    h.ctx.buy("ESZ6", 1)
    await h.settle()
    assert h.ctx.position("ESZ6") == 1
    h.risk.evaluate()  # the periodic watch notices the unprotected position: grace starts
    return h


def stops(h: Harness) -> list[tuple[str, int, float | None, str]]:
    return [(s.order.action, s.remaining or 0, s.version.stop_price if s.version else None,
             s.status) for s in h.account.open_orders()]


def alerts(h: Harness) -> list[str]:
    return [a.title for a in h.alerts.recent
            if a.key == "risk.protective_stop" and a.severity is Severity.URGENT]


async def test_a_missing_stop_is_placed_after_the_grace_time() -> None:
    h = await long_one("place", protective_stop_points=5.0)
    assert stops(h) == []  # within the grace time the strategy may place its own
    h.clock.now_ms += 1500
    h.risk.evaluate()
    await h.settle()
    assert stops(h) == [("Sell", 1, 4995.25, "Working")]  # bought at 5000.25, 5 points
    assert alerts(h) == ["Position +1 ESZ6 had no protective stop: placed Sell 1 stop at "
                         "4995.25"]
    h.clock.now_ms += 5000
    h.risk.evaluate()
    assert len(h.orders.tickets) == 2  # covered: nothing more
    # A liquidation-style cancel from elsewhere removes it: it comes back.
    (stop,) = h.account.open_orders()
    h.ctx.cancel(stop.id)
    await h.settle()
    h.risk.evaluate()
    h.clock.now_ms += 1500
    h.risk.evaluate()
    await h.settle()
    assert stops(h) == [("Sell", 1, 4995.25, "Working")]
    assert len(alerts(h)) == 2


async def test_a_strategy_stop_satisfies_the_invariant() -> None:
    h = await long_one("place", protective_stop_points=5.0)
    h.ctx.sell("ESZ6", 1, order_type="Stop", stop_price=4990.0)
    await h.settle()
    h.clock.now_ms += 5000
    h.risk.evaluate()
    assert stops(h) == [("Sell", 1, 4990.0, "Working")]
    assert alerts(h) == []


async def test_flatten_mode_closes_the_position() -> None:
    h = await long_one("flatten")
    h.clock.now_ms += 1500
    h.risk.evaluate()
    await h.settle()
    assert h.ctx.position("ESZ6") == 0
    assert [t.kind for t in h.orders.tickets.values()] == [TicketKind.PLACE,
                                                           TicketKind.LIQUIDATE]
    assert alerts(h) == ["Position +1 ESZ6 had no protective stop: flattened"]


async def test_a_stop_already_through_the_market_flattens_instead() -> None:
    h = await long_one("place", protective_stop_points=0.25)
    h.set_book("ESZ6", [(4999.75, 50)], [(5000.00, 50)])
    h.feed_md(quote_frame(ES.contract_id, 4999.75, 5000.00))  # the stop would be 5000.00
    h.clock.now_ms += 1500
    h.risk.evaluate()
    await h.settle()
    assert h.ctx.position("ESZ6") == 0
    (flatten,) = [t for t in h.orders.tickets.values() if t.kind is TicketKind.LIQUIDATE]
    assert flatten.state is TicketState.ACKED
    assert alerts(h) == ["Position +1 ESZ6 had no protective stop: flattened"]
