"""The daily loss limit follows the exchange's trade date: a position carried overnight counts
from its settlement, yesterday's fills never count today, the day restarts when the roll
arrives (not at local midnight), and while the P&L cannot be computed new entries are refused
(fail closed), never cancels or orders that reduce the position.

The risk manager reads a real account store fed with wire-decoded entities and a real
market-data store fed with quote events."""

from __future__ import annotations

import datetime as dt

import pytest
from overnight_wire import (
    ACC,
    DAY2,
    ES,
    cash,
    overnight_long_two,
    position,
    props,
    quote,
    round_trip,
    snapshot,
    store,
)

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.orders import OrderTicket, TicketKind
from tradovate_api.orders.risk import PNL_UNKNOWN_GRACE_MS, RiskManager
from tradovate_api.settings import Risk
from tradovate_api.stores import AccountView, AccountWriter, create_market_store

NOON_CT = int(dt.datetime(2024, 1, 3, 18, tzinfo=dt.UTC).timestamp() * 1000)


class Rig:
    """A risk manager bound to account ``ACC`` with a manual clock; halts are recorded."""

    def __init__(self, view: AccountView, writer: AccountWriter, limit: float) -> None:
        self.view, self.writer = view, writer
        self.now_ms = NOON_CT
        self.market, self.md = create_market_store(clock_ms=lambda: self.now_ms)
        self.alerts = AlertLog()
        self.risk = RiskManager(Risk(max_position=10, max_order_qty=10,
                                     max_orders_per_second=1000.0, max_daily_loss=limit),
                                view, self.market, self.alerts, lambda: self.now_ms)
        self.halts: list[str] = []
        self.risk.bind(ACC, self.halts.append)
        self._tickets = 0

    def quote(self, bid: float, ask: float) -> None:
        self.md.apply(quote(ES, bid, ask))

    def ticket(self, action: str = "Buy", qty: int = 1,
               kind: TicketKind = TicketKind.PLACE) -> OrderTicket:
        self._tickets += 1
        return OrderTicket(cl_ord_id=f"t{self._tickets}", kind=kind, symbol="ESH4",
                           contract_id=ES, action=action, qty=qty, order_type="Market",
                           order_id=1 if kind is TicketKind.CANCEL else None)

    def alert_keys(self) -> list[tuple[str, Severity]]:
        return [(a.key, a.severity) for a in self.alerts.recent if a.key.startswith("risk.")]


def flat_rig(limit: float) -> Rig:
    view, writer = store()
    writer.apply_snapshot(snapshot(positions=[], cash_balances=[cash(0.0)]))
    return Rig(view, writer, limit)


def test_an_overnight_loss_against_the_settlement_reaches_the_limit() -> None:
    """Long 2 carried at 4800.00; the market at 4796.875 is −312.50 on the day."""
    rig = Rig(*overnight_long_two(), limit=300.0)
    rig.quote(4799.75, 4800.0)
    assert rig.risk.check(rig.ticket()) is None
    rig.quote(4796.75, 4797.0)
    reason = rig.risk.check(rig.ticket())
    assert reason == "trading halted: daily loss 312.50 reached max_daily_loss 300"
    assert rig.halts == ["daily loss 312.50 reached max_daily_loss 300"]


def test_the_day_restarts_at_the_roll_not_at_local_midnight() -> None:
    rig = flat_rig(limit=300.0)
    round_trip(rig.writer, 10, 4800.0, 4795.0)  # −250 − 2 × 2.05 on the first trade date
    assert rig.risk.daily_pnl() == pytest.approx(-254.10)
    assert rig.risk.check(rig.ticket()) is None
    rig.now_ms += 12 * 3600 * 1000  # past midnight everywhere: the trade date is the exchange's
    assert rig.risk.daily_pnl() == pytest.approx(-254.10)
    # The CME session ends: flat position and cash move to the new trade date.
    rig.writer.apply(props("position", position(0, 0, None, day=DAY2)))
    rig.writer.apply(props("cashBalance", cash(0.0, day=DAY2)))
    assert rig.risk.daily_pnl() == 0.0
    round_trip(rig.writer, 20, 4800.0, 4799.0, day=DAY2)  # −54.10: −308.20 over two days
    assert rig.risk.daily_pnl() == pytest.approx(-54.10)
    assert rig.risk.check(rig.ticket()) is None
    assert rig.halts == []
    round_trip(rig.writer, 30, 4800.0, 4795.0, day=DAY2)  # today's loss reaches the limit
    assert rig.risk.check(rig.ticket()) == (
        "trading halted: daily loss 308.20 reached max_daily_loss 300")
    assert rig.alert_keys() == [("risk.daily_loss", Severity.URGENT)]


def test_a_halt_at_the_limit_lasts_the_run_across_the_roll() -> None:
    rig = flat_rig(limit=200.0)
    round_trip(rig.writer, 10, 4800.0, 4795.0)
    rig.risk.evaluate()
    assert rig.halts == ["daily loss 254.10 reached max_daily_loss 200"]
    rig.writer.apply(props("position", position(0, 0, None, day=DAY2)))
    rig.writer.apply(props("cashBalance", cash(0.0, day=DAY2)))
    assert rig.risk.daily_pnl() == 0.0
    assert rig.risk.check(rig.ticket()) == (
        "trading halted: daily loss 254.10 reached max_daily_loss 200")


def test_an_unpriced_carried_position_fails_closed_until_its_price_arrives() -> None:
    """The roll's cash update first: the carried long 2 has no price yet, so the day's P&L
    is unknown; entries are refused, the reducing sell and a cancel are not."""
    rig = Rig(*overnight_long_two(), limit=300.0)
    rig.quote(4809.75, 4810.0)
    rig.writer.apply(props("cashBalance", cash(0.0, day=DAY2)))
    reason = rig.risk.check(rig.ticket())
    assert reason == ("daily loss unknown (+2 ESH4 carried into trade date 2024-01-04 without "
                      "a price (no prevPrice)): new entries refused")
    assert rig.risk.check(rig.ticket("Sell", 3)) == reason  # would turn the position short
    assert rig.risk.check(rig.ticket("Sell", 2)) is None
    assert rig.risk.check(rig.ticket("Sell", kind=TicketKind.CANCEL)) is None
    assert rig.risk.check(rig.ticket()) == reason
    assert rig.alert_keys() == [("risk.daily_loss_unknown", Severity.URGENT)]  # once
    assert rig.risk.breaches["daily_loss_unknown"] == 3
    rig.writer.apply(props("position", position(2, 2, 4810.0, day=DAY2)))
    assert rig.risk.check(rig.ticket()) is None
    assert rig.risk.daily_pnl() == pytest.approx(2 * (4809.875 - 4810.0) * 50)
    assert rig.alert_keys() == [("risk.daily_loss_unknown", Severity.URGENT),
                                ("risk.daily_loss_known", Severity.ROUTINE)]
    assert rig.halts == []


def test_the_watch_alerts_once_when_the_pnl_stays_unknown() -> None:
    rig = Rig(*overnight_long_two(), limit=300.0)
    rig.writer.apply(props("cashBalance", cash(0.0, day=DAY2)))
    rig.risk.evaluate()
    assert rig.alert_keys() == []  # the roll's position update may be a moment behind
    rig.now_ms += PNL_UNKNOWN_GRACE_MS
    rig.risk.evaluate()
    rig.now_ms += PNL_UNKNOWN_GRACE_MS
    rig.risk.evaluate()
    assert rig.alert_keys() == [("risk.daily_loss_unknown", Severity.URGENT)]
    assert rig.halts == []
