"""Overnight positions and the trade date: the account store's P&L equals the exchange's.

Every entity goes through the wire as the trading socket delivers it: the snapshot as the JSON
of a ``user/syncrequest`` answer, changes as ``props`` frames decoded by the protocol core.
The exchange's figures (the protocol reference §5.2, §5.4): ``netPos = prevPos + bought −
sold``; the carried ``prevPos`` is priced at ``prevPrice`` (the previous settlement), so
long 2 carried at 4800.00, sold 1 at 4805.00, realizes 5 points × $50 = $250 today.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import msgspec
import pytest

from tradovate_api.protocol import EntityEvent, decode_messages
from tradovate_api.protocol.models import SyncMessage
from tradovate_api.stores import (
    AccountView,
    AccountWriter,
    NewFill,
    UnpricedPosition,
    create_account_store,
)

ACC, ES, POSITION, CASH = 33, 2710963, 500, 700
COMMISSION = 2.05
DAY1 = {"year": 2024, "month": 1, "day": 3}
DAY2 = {"year": 2024, "month": 1, "day": 4}

PRODUCT = {"id": 810, "name": "ES", "currencyId": 1, "productType": "Futures",
           "description": "E-mini S&P 500", "exchangeId": 1, "contractGroupId": 1,
           "status": "Verified", "valuePerPoint": 50, "priceFormatType": "Decimal",
           "priceFormat": -2, "tickSize": 0.25}
MATURITY = {"id": 46104, "productId": 810, "expirationMonth": 202403,
            "expirationDate": "2024-03-15T13:30Z", "isFront": True}
CONTRACT = {"id": ES, "name": "ESH4", "contractMaturityId": 46104}
ACCOUNT = {"id": ACC, "name": "DEMO1", "userId": 90, "accountType": "Customer",
           "active": True, "clearingHouseId": 2, "riskCategoryId": 2, "autoLiqProfileId": 2,
           "marginAccountType": "Speculator", "legalStatus": "Individual",
           "timestamp": "2023-12-01T00:00:00Z"}


def position(net: int, prev: int, prev_price: float | None, *, bought: int = 0,
             bought_value: float = 0.0, sold: int = 0, sold_value: float = 0.0,
             day: dict[str, int] = DAY1, timestamp: str = "2024-01-02T23:00:00Z",
             ) -> dict[str, Any]:
    entity: dict[str, Any] = {
        "id": POSITION, "accountId": ACC, "contractId": ES, "timestamp": timestamp,
        "tradeDate": day, "netPos": net, "bought": bought, "boughtValue": bought_value,
        "sold": sold, "soldValue": sold_value, "prevPos": prev}
    if prev_price is not None:
        entity["prevPrice"] = prev_price
    return entity


def cash(realized: float, day: dict[str, int] = DAY1) -> dict[str, Any]:
    return {"id": CASH, "accountId": ACC, "timestamp": "2024-01-02T23:00:00Z",
            "tradeDate": day, "currencyId": 1, "amount": 50_000 + realized,
            "realizedPnL": realized, "weekRealizedPnL": realized}


def order(ident: int, action: str) -> dict[str, Any]:
    return {"id": ident, "accountId": ACC, "contractId": ES,
            "timestamp": "2024-01-03T14:30:00Z", "action": action, "ordStatus": "Filled",
            "admin": False}


def fill(ident: int, order_id: int, action: str, qty: int, price: float,
         day: dict[str, int] = DAY1, timestamp: str = "2024-01-03T14:30:00.120Z",
         ) -> dict[str, Any]:
    return {"id": ident, "orderId": order_id, "contractId": ES, "timestamp": timestamp,
            "tradeDate": day, "action": action, "qty": qty, "price": price, "active": True,
            "finallyPaired": 0}


def props(entity_type: str, entity: dict[str, Any], event: str = "Updated") -> EntityEvent:
    """One ``props`` event as the trading socket's reader decodes it."""
    frame = json.dumps([{"e": "props", "d": {"entityType": entity_type, "eventType": event,
                                             "entity": entity}}]).encode()
    (message,) = decode_messages(frame)
    assert isinstance(message, EntityEvent), message
    return message


def snapshot(*, positions: list[dict[str, Any]], cash_balances: list[dict[str, Any]],
             orders: list[dict[str, Any]] = (), fills: list[dict[str, Any]] = (),  # type: ignore[assignment]
             ) -> SyncMessage:
    raw = json.dumps({"users": [{"id": 90, "name": "trader", "timestamp": "2023-12-01T00:00Z",
                                 "email": "t@example.com", "status": "Active",
                                 "professional": False}],
                      "contractGroups": [], "accounts": [ACCOUNT], "products": [PRODUCT],
                      "contractMaturities": [MATURITY], "contracts": [CONTRACT],
                      "positions": positions, "cashBalances": cash_balances,
                      "orders": list(orders), "fills": list(fills)}).encode()
    return msgspec.json.decode(raw, type=SyncMessage)


def store() -> tuple[AccountView, AccountWriter]:
    return create_account_store(commission_per_side={"ES": COMMISSION})


def overnight_long_two() -> tuple[AccountView, AccountWriter]:
    """Long 2 carried into DAY1 at the settlement 4800.00, nothing traded yet."""
    view, writer = store()
    writer.apply_snapshot(snapshot(positions=[position(2, 2, 4800.0)],
                                   cash_balances=[cash(0.0)]))
    return view, writer


def sell_one_at_4805(writer: AccountWriter) -> list[object]:
    changes: list[object] = []
    for event in (props("order", order(10, "Sell"), "Created"),
                  props("fill", fill(20, 10, "Sell", 1, 4805.0), "Created"),
                  props("position", position(1, 2, 4800.0, sold=1, sold_value=4805.0)),
                  props("cashBalance", cash(250.0))):
        changes += writer.apply(event)
    return changes


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
    assert first.settled and not second.settled
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
