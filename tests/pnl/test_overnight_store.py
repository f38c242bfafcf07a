"""Overnight positions and the trade date: the account store's P&L equals the exchange's.

Every entity goes through the wire as the trading socket delivers it: the snapshot as the JSON
of a ``user/syncrequest`` answer, changes as ``props`` frames decoded by the protocol core.
The exchange's figures (the protocol reference §5.2, §5.4): ``netPos = prevPos + bought −
sold``; the carried ``prevPos`` is priced at ``prevPrice`` (the previous settlement), so
long 2 carried at 4800.00, sold 1 at 4805.00, realizes 5 points × $50 = $250 today.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st
from overnight_wire import (
    ACC,
    COMMISSION,
    DAY1,
    DAY2,
    ES,
    cash,
    fill,
    order,
    overnight_long_two,
    position,
    props,
    sell_one_at_4805,
    snapshot,
    store,
)

from tradovate_api.stores import NewFill, UnpricedPosition
from tradovate_api.stores.pnl import FifoLedger


def test_an_overnight_position_opens_the_day_at_its_previous_settlement() -> None:
    view, _writer = overnight_long_two()
    pnl = view.pnl(ACC, ES, mark=4802.0)
    assert (pnl.net_pos, pnl.prev_pos, pnl.prev_price, pnl.avg_price) == (2, 2, 4800.0, 4800.0)
    assert (pnl.realized, pnl.commissions) == (0.0, 0.0)  # carried, not traded today
    assert pnl.open == pytest.approx(2 * 2.0 * 50)
    assert pnl.trade_date == dt.date(2024, 1, 3) == view.trade_date(ACC)
    assert [p.net_pos for p in view.pnls()] == [2]
    assert view.net_pnl(ACC, lambda _cid: 4802.0) == pytest.approx(200.0)


def test_long_two_overnight_sell_one_today_matches_the_exchange() -> None:
    """The issue's case: the server says +1 and realized $250; so must the store."""
    view, writer = overnight_long_two()
    changes = sell_one_at_4805(writer)
    assert sum(isinstance(c, NewFill) for c in changes) == 1
    server = view.position(ACC, ES)
    assert server is not None
    pnl = view.pnl(ACC, ES, mark=4806.0)
    assert pnl.net_pos == server.net_pos == 1
    assert pnl.realized == pytest.approx(250.0)
    cash_balance = view.cash_balance(ACC)
    assert cash_balance is not None
    assert pnl.realized == cash_balance.realized_pnl
    assert pnl.avg_price == 4800.0  # the remaining carried contract
    assert pnl.open == pytest.approx((4806.0 - 4800.0) * 50)
    assert pnl.commissions == pytest.approx(COMMISSION)  # one fill side today
    assert view.net_pnl(ACC, lambda _cid: 4806.0) == pytest.approx(250.0 - COMMISSION + 300.0)


def test_the_opening_lot_arriving_after_the_fill_replays_the_day() -> None:
    """Out of order: the day's fill first (the store assumes nothing carried), then the
    position with ``prevPos``: the ledger replays against the opening lot."""
    view, writer = store()
    writer.apply_snapshot(snapshot(positions=[], cash_balances=[cash(0.0)]))
    writer.apply(props("order", order(10, "Sell"), "Created"))
    writer.apply(props("fill", fill(20, 10, "Sell", 1, 4805.0), "Created"))
    assert view.pnl(ACC, ES).net_pos == -1
    writer.apply(props("position", position(1, 2, 4800.0, sold=1, sold_value=4805.0)))
    pnl = view.pnl(ACC, ES)
    assert (pnl.net_pos, pnl.realized) == (1, pytest.approx(250.0))


def test_the_roll_restarts_the_day_from_the_new_opening_lots() -> None:
    view, writer = overnight_long_two()
    sell_one_at_4805(writer)
    # The CME session ends: the exchange rolls the position (prevPos = netPos, prevPrice =
    # the settlement, bought/sold reset) and the cash balance to the new trade date.
    writer.apply(props("position", position(1, 1, 4810.0, day=DAY2,
                                            timestamp="2024-01-03T22:00:00Z")))
    writer.apply(props("cashBalance", cash(0.0, day=DAY2)))
    assert view.trade_date(ACC) == dt.date(2024, 1, 4)
    pnl = view.pnl(ACC, ES, mark=4812.0)
    assert (pnl.net_pos, pnl.prev_pos, pnl.avg_price) == (1, 1, 4810.0)
    assert (pnl.realized, pnl.commissions) == (0.0, 0.0)  # yesterday's $250 is yesterday's
    assert pnl.open == pytest.approx(2.0 * 50)
    assert view.net_pnl(ACC, lambda _cid: 4812.0) == pytest.approx(100.0)
    # Trading on the new day.
    writer.apply(props("order", order(11, "Sell"), "Created"))
    writer.apply(props("fill", fill(21, 11, "Sell", 1, 4808.0, day=DAY2,
                                    timestamp="2024-01-04T14:30:00Z"), "Created"))
    pnl = view.pnl(ACC, ES)
    assert (pnl.net_pos, pnl.realized) == (0, pytest.approx(-2.0 * 50))
    # Both days stay visible to reports: the first settled at the second's prevPrice.
    first, second = view.day_pnls(lambda _cid: 4812.0)
    assert first.settled
    assert not second.settled
    assert (first.pnl.trade_date, first.fill_ids) == (dt.date(2024, 1, 3), (20,))
    assert (first.pnl.net_pos, first.pnl.mark) == (1, 4810.0)
    assert first.pnl.realized == pytest.approx(250.0)
    assert first.pnl.open == pytest.approx((4810.0 - 4800.0) * 50)
    assert (second.pnl.trade_date, second.fill_ids) == (dt.date(2024, 1, 4), (21,))


def test_a_fill_of_an_earlier_trade_date_never_counts_today() -> None:
    view, writer = overnight_long_two()
    writer.apply(props("position", position(2, 2, 4790.0, day=DAY2)))
    writer.apply(props("order", order(10, "Sell"), "Created"))
    changes = writer.apply(props("fill", fill(20, 10, "Sell", 1, 4700.0, day=DAY1),
                                 "Created"))
    assert any(isinstance(c, NewFill) for c in changes)  # still delivered to the strategy
    pnl = view.pnl(ACC, ES, mark=4790.0)
    assert (pnl.net_pos, pnl.realized, pnl.commissions) == (2, 0.0, 0.0)
    assert view.net_pnl(ACC, lambda _cid: 4790.0) == 0.0
    (first, _second) = view.day_pnls(lambda _cid: 4790.0)
    assert first.fill_ids == (20,)  # it corrected the day it belongs to


def test_cash_rolling_first_leaves_the_carried_position_unpriced_until_its_update() -> None:
    """Events of the roll may come in any order: until the position says at what price it
    was carried, the store invents none and the day's P&L is unknown."""
    view, writer = overnight_long_two()
    writer.apply(props("cashBalance", cash(0.0, day=DAY2)))
    pnl = view.pnl(ACC, ES, mark=4812.0)
    assert (pnl.net_pos, pnl.prev_pos, pnl.prev_price, pnl.unpriced) == (2, 2, None, 2)
    assert (pnl.open, pnl.total, pnl.avg_price) == (None, None, None)
    with pytest.raises(UnpricedPosition, match=r"\+2 ESH4 carried into trade date 2024-01-04"):
        view.net_pnl(ACC, lambda _cid: 4812.0)
    writer.apply(props("position", position(2, 2, 4810.0, day=DAY2)))
    assert view.pnl(ACC, ES, mark=4812.0).unpriced == 0
    assert view.net_pnl(ACC, lambda _cid: 4812.0) == pytest.approx(200.0)


def test_a_carried_position_without_prev_price_is_unpriced_not_guessed() -> None:
    view, writer = store()
    writer.apply_snapshot(snapshot(positions=[position(2, 2, None)], cash_balances=[cash(0.0)]))
    writer.apply(props("order", order(10, "Sell"), "Created"))
    writer.apply(props("fill", fill(20, 10, "Sell", 1, 4805.0), "Created"))
    pnl = view.pnl(ACC, ES, mark=4806.0)
    assert (pnl.net_pos, pnl.unpriced, pnl.realized) == (1, 2, 0.0)  # 1 closed, 1 open
    assert (pnl.open, pnl.total) == (None, None)
    with pytest.raises(UnpricedPosition, match="without a price"):
        view.net_pnl(ACC, lambda _cid: 4806.0)


def test_a_snapshot_after_a_roll_while_disconnected_keeps_the_earlier_day() -> None:
    """Reconnected after the session end: the exchange lists the new day's position and no
    fills (only the current trade date's); yesterday stays a settled day for reports."""
    view, writer = overnight_long_two()
    sell_one_at_4805(writer)
    report = writer.apply_snapshot(snapshot(positions=[position(1, 1, 4810.0, day=DAY2)],
                                            cash_balances=[cash(0.0, day=DAY2)]))
    assert not report.new_fills
    pnl = view.pnl(ACC, ES, mark=4811.0)
    assert (pnl.net_pos, pnl.realized, pnl.avg_price) == (1, 0.0, 4810.0)
    assert pnl.trade_date == dt.date(2024, 1, 4)
    first, second = view.day_pnls(lambda _cid: 4811.0)
    assert (first.settled, first.pnl.realized, first.pnl.mark) == (True, 250.0, 4810.0)
    assert (second.settled, second.pnl.net_pos) == (False, 1)


def test_a_snapshot_of_the_same_day_replaces_the_day_and_keeps_no_copy() -> None:
    view, writer = overnight_long_two()
    sell_one_at_4805(writer)
    writer.apply_snapshot(snapshot(
        positions=[position(1, 2, 4800.0, sold=1, sold_value=4805.0)],
        cash_balances=[cash(250.0)], orders=[order(10, "Sell")],
        fills=[fill(20, 10, "Sell", 1, 4805.0)]))
    (day,) = view.day_pnls(lambda _cid: 4805.0)
    assert (day.settled, day.fill_ids, day.pnl.net_pos) == (False, (20,), 1)
    assert day.pnl.realized == pytest.approx(250.0)


@given(prev=st.integers(-5, 5), prev_price=st.integers(90, 110),
       fills=st.lists(st.tuples(st.booleans(), st.integers(1, 4), st.integers(90, 110)),
                      max_size=12),
       order=st.permutations(range(12)), mark=st.integers(90, 110))
def test_an_opening_lot_is_a_first_fill_that_cost_no_commission(
        prev: int, prev_price: int, fills: list[tuple[bool, int, int]], order: list[int],
        mark: int) -> None:
    """Whatever order the day's fills arrive in, the ledger equals one whose first fill
    bought (or sold) the carried position at ``prevPrice``."""
    carried = FifoLedger(dt.date(2024, 1, 3), prev, float(prev_price))
    reference = FifoLedger()
    if prev:
        reference.add(0, prev > 0, abs(prev), float(prev_price))
    arrival = [i for i in order if i < len(fills)]
    for index in arrival:
        is_buy, qty, price = fills[index]
        carried.add(index + 1, is_buy, qty, float(price))
    for index, (is_buy, qty, price) in enumerate(fills):
        reference.add(index + 1, is_buy, qty, float(price))
    assert carried.net_pos == reference.net_pos == prev + sum(
        q if b else -q for b, q, _ in fills)
    assert carried.realized_points == pytest.approx(reference.realized_points)
    assert carried.open_points(float(mark)) == pytest.approx(reference.open_points(float(mark)))
    assert carried.avg_price == reference.avg_price
    assert carried.traded_qty == reference.traded_qty - abs(prev)
    assert carried.unpriced == 0
