"""The daily-loss check fails closed: while the day's P&L cannot be computed (a fill in a
contract whose value per point is unknown) new entries are refused with the reason and one
urgent alert; cancels and orders that reduce the position go through; trading resumes by
itself once the contract's product is known. Orders go through the real order manager to
the simulator's matching engine in-process."""

from __future__ import annotations

import json

from trading_helpers import Harness

from tradovate_api.alerts import Severity
from tradovate_api.orders import TicketState
from tradovate_api.protocol import EntityEvent, decode_messages
from tradovate_api.protocol.models import Contract, ContractMaturity, Product
from tradovate_api.settings import Risk
from tradovate_api.strategy import Strategy

UNKNOWN = 990_001
"""A contract traded in the account (by hand, another app) that the run knows nothing of."""


def props(entity_type: str, entity: dict[str, object]) -> EntityEvent:
    frame = json.dumps([{"e": "props", "d": {"entityType": entity_type,
                                             "eventType": "Created", "entity": entity}}])
    (message,) = decode_messages(frame.encode())
    assert isinstance(message, EntityEvent)
    return message


def risk_alerts(h: Harness) -> list[tuple[str, Severity]]:
    return [(a.key, a.severity) for a in h.alerts.recent if a.key.startswith("risk.")]


async def test_unknown_contract_spec_refuses_entries_until_it_is_known() -> None:
    h = Harness(Strategy(), risk=Risk(max_position=10, max_order_qty=10,
                                      max_orders_per_second=1000.0, max_daily_loss=500.0))
    h.set_book("ESZ6", [(5000.00, 50)], [(5000.25, 50)], 5000.0)
    h.start()
    h.ctx.buy("ESZ6", 2)
    await h.settle()
    assert h.ctx.position("ESZ6") == 2
    day = h.account.trade_date(h.account_id)
    assert day is not None
    trade_date = {"year": day.year, "month": day.month, "day": day.day}
    h.account_writer.apply(props("order", {
        "id": 880_001, "accountId": h.account_id, "contractId": UNKNOWN,
        "timestamp": "2026-11-18T08:26:40Z", "action": "Buy", "ordStatus": "Filled",
        "admin": False}))
    h.account_writer.apply(props("fill", {
        "id": 880_002, "orderId": 880_001, "contractId": UNKNOWN,
        "timestamp": "2026-11-18T08:26:40Z", "tradeDate": trade_date, "action": "Buy",
        "qty": 1, "price": 101.5, "active": True, "finallyPaired": 0}))

    refused = h.ctx.buy("ESZ6", 1)
    assert refused.state is TicketState.REFUSED
    assert refused.reason == (f"daily loss unknown (no product (value per point) known for "
                              f"contract {UNKNOWN}): new entries refused")
    assert h.ctx.buy("ESZ6", 1).state is TicketState.REFUSED
    assert h.ctx.sell("ESZ6", 3).state is TicketState.REFUSED  # would open a short
    working = h.ctx.sell("ESZ6", 1, order_type="Limit", price=5100.0)  # reduces the long
    assert working.state is TicketState.PENDING
    await h.settle()
    assert working.order_id is not None
    assert h.orders.cancel(working.order_id).state is TicketState.PENDING
    await h.settle()
    assert risk_alerts(h) == [("risk.daily_loss_unknown", Severity.URGENT)]  # once
    assert h.risk.halted is None

    h.account_writer.add_reference([
        Product(id=990, name="ZZ", currency_id=1, product_type="Futures", description="ZZ",
                exchange_id=1, contract_group_id=1, status="Verified", value_per_point=10.0,
                price_format_type="Decimal", price_format=-2, tick_size=0.5),
        ContractMaturity(id=991, product_id=990, expiration_month=202612,
                         expiration_date="2026-12-18T14:30Z", is_front=True),
        Contract(id=UNKNOWN, name="ZZZ6", contract_maturity_id=991)])
    resumed = h.ctx.buy("ESZ6", 1)
    assert resumed.state is TicketState.PENDING
    assert risk_alerts(h) == [("risk.daily_loss_unknown", Severity.URGENT),
                              ("risk.daily_loss_known", Severity.ROUTINE)]
