"""Wire-shaped entities for the overnight-position and trade-date tests: the snapshot as the
JSON of a ``user/syncrequest`` answer, changes as ``props`` frames decoded by the protocol
core, exactly as the trading socket's reader gets them."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from tradovate_api.protocol import EntityEvent, decode_messages
from tradovate_api.protocol.models import SyncMessage
from tradovate_api.stores import AccountView, AccountWriter, create_account_store

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


def quote(contract_id: int, bid: float, ask: float) -> Any:
    """An ``md`` quote event as the market-data reader decodes it."""
    frame = json.dumps([{"e": "md", "d": {"quotes": [{
        "contractId": contract_id, "timestamp": "2024-01-03T15:00:00Z",
        "entries": {"Bid": {"price": bid, "size": 10}, "Offer": {"price": ask, "size": 10}}}]}}])
    (message,) = decode_messages(frame.encode())
    return message


def round_trip(writer: AccountWriter, first_id: int, buy: float, sell: float,
               day: dict[str, int] = DAY1) -> None:
    """Buy 1 then sell 1 (orders ``first_id``, ``first_id + 1``; fills 100 above) on ``day``."""
    for offset, (action, price) in enumerate((("Buy", buy), ("Sell", sell))):
        ident = first_id + offset
        writer.apply(props("order", order(ident, action), "Created"))
        writer.apply(props("fill", fill(ident + 100, ident, action, 1, price, day=day),
                           "Created"))
