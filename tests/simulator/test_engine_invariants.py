"""Random order flow against random books: the ledger and the order graph stay consistent."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict

import msgspec
import pytest

from tradovate_api.protocol import decode_entities
from tradovate_api.protocol.models import (
    CancelOrder,
    CashBalance,
    Contract,
    ContractMaturity,
    Fill,
    FillPair,
    LiquidatePosition,
    ModifyOrder,
    Order,
    OrderVersion,
    PlaceOCO,
    PlaceOrder,
    PlaceOSO,
    Position,
    PriceLevel,
    Product,
    RestrainedOrderVersion,
    Tick,
)
from tradovate_api.simulator.book import Book, MarketUpdate
from tradovate_api.simulator.changes import EntityChange
from tradovate_api.simulator.engine import Exchange
from tradovate_api.simulator.instruments import Instrument, InstrumentCatalog

ES = 7001
VPP, COMMISSION, BALANCE, TICK = 50.0, 1.5, 100_000.0, 0.25
FINAL = {"Filled", "Canceled", "Rejected"}


def _catalog() -> InstrumentCatalog:
    product = Product(id=1, name="ES", currency_id=1, product_type="Futures", description="ES",
                      exchange_id=1, contract_group_id=1, status="Verified",
                      value_per_point=VPP, price_format_type="Decimal", price_format=-2,
                      tick_size=TICK)
    maturity = ContractMaturity(id=2, product_id=1, expiration_month=202612,
                                expiration_date="2026-12-18T14:30Z", is_front=True)
    contract = Contract(id=ES, name="ESZ6", contract_maturity_id=2)
    return InstrumentCatalog([Instrument(product, maturity, contract, COMMISSION, 5000.0)])


def _rebuild(book: Book, rnd: random.Random, mid_ticks: int) -> None:
    book.bids = [PriceLevel(price=(mid_ticks - i) * TICK, size=rnd.randint(0, 6))
                 for i in range(1, 6)]
    book.offers = [PriceLevel(price=(mid_ticks + i) * TICK, size=rnd.randint(0, 6))
                   for i in range(1, 6)]
    book.last_price = mid_ticks * TICK


def _leg(rnd: random.Random, action: str, ref: int) -> RestrainedOrderVersion:
    if rnd.random() < 0.5:
        offset = rnd.randint(1, 8) * (1 if action == "Sell" else -1)
        return RestrainedOrderVersion(action=action, order_type="Limit",
                                      price=(ref + offset) * TICK)
    offset = rnd.randint(2, 8) * (-1 if action == "Sell" else 1)
    return RestrainedOrderVersion(action=action, order_type="Stop",
                                  stop_price=(ref + offset) * TICK)


def _run(seed: int, steps: int) -> tuple[Exchange, int, int, list[EntityChange]]:
    rnd = random.Random(seed)
    book = Book(ES, TICK)
    clock_now = [dt.datetime(2026, 11, 24, 15, tzinfo=dt.UTC).timestamp()]
    exchange = Exchange(_catalog(), {ES: book}, lambda: clock_now[0],
                        rng=random.Random(seed + 1))
    user = exchange.add_user("fuzz").id
    account = exchange.add_account(user, "F1", BALANCE).id
    other_user = exchange.add_user("other").id
    exchange.add_account(other_user, "F2", BALANCE)
    mid = 20_000
    _rebuild(book, rnd, mid)
    emitted: list[EntityChange] = []
    order_ids: list[int] = []
    for step in range(steps):
        clock_now[0] += 1.0
        roll = rnd.random()
        action = rnd.choice(["Buy", "Sell"])
        qty = rnd.randint(1, 6)
        base = {"action": action, "symbol": "ESZ6", "order_qty": qty, "account_id": account}
        if roll < 0.25:
            kind = rnd.choice(["Market", "Limit", "Stop", "StopLimit", "TrailingStop"])
            away = rnd.randint(-4, 6) * (-1 if action == "Buy" else 1)
            stop_away = rnd.randint(1, 6) * (1 if action == "Buy" else -1)
            fields: dict[str, object] = {}
            if kind in ("Limit", "StopLimit"):
                fields["price"] = (mid + away) * TICK
            if kind in ("Stop", "StopLimit"):
                fields["stop_price"] = (mid + stop_away) * TICK
            if kind == "TrailingStop":
                fields["peg_difference"] = rnd.randint(1, 8) * TICK
            result, changes = exchange.place_order(
                user, PlaceOrder(order_type=kind, **base, **fields))  # type: ignore[arg-type]
            if result.order_id is not None:
                order_ids.append(result.order_id)
        elif roll < 0.35:
            opposite = "Sell" if action == "Buy" else "Buy"
            body = PlaceOSO(order_type="Limit", price=(mid + rnd.randint(-3, 3)) * TICK,
                            bracket1=_leg(rnd, opposite, mid), bracket2=_leg(rnd, opposite, mid)
                            if rnd.random() < 0.7 else None, **base)  # type: ignore[arg-type]
            oso, changes = exchange.place_oso(user, body)
            order_ids += [i for i in (oso.order_id, oso.oso1_id, oso.oso2_id) if i is not None]
        elif roll < 0.4:
            oco_body = PlaceOCO(order_type="Limit", price=(mid - 5) * TICK if action == "Buy"
                                else (mid + 5) * TICK, other=_leg(rnd, action, mid),
                                **base)  # type: ignore[arg-type]
            oco, changes = exchange.place_oco(user, oco_body)
            order_ids += [i for i in (oco.order_id, oco.oco_id) if i is not None]
        elif roll < 0.5 and order_ids:
            target = rnd.choice(order_ids)
            _, changes = exchange.cancel_order(user, CancelOrder(order_id=target))
        elif roll < 0.6 and order_ids:
            target = rnd.choice(order_ids)
            _, changes = exchange.modify_order(user, ModifyOrder(
                order_id=target, order_qty=rnd.randint(1, 8), order_type="Limit",
                price=(mid + rnd.randint(-6, 6)) * TICK))
        elif roll < 0.63:
            _, changes = exchange.liquidate_position(
                user, LiquidatePosition(account_id=account, contract_id=ES))
        elif roll < 0.66:
            exchange.reject_next(reason="UnknownReason", after_accept=rnd.random() < 0.5)
            changes = []
        else:
            mid += rnd.randint(-3, 3)
            trades = [(ES, Tick(id=step * 10 + k, timestamp_ms=step, price_ticks=t,
                                price=t * TICK, size=rnd.randint(1, 5)))
                      for k, t in enumerate(mid + rnd.randint(-3, 3)
                                            for _ in range(rnd.randint(0, 3)))]
            _rebuild(book, rnd, mid)
            changes = exchange.on_market(MarketUpdate(now_ms=step, trades=trades))
        emitted += changes
    return exchange, user, other_user, emitted


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_random_flow_keeps_orders_positions_and_cash_consistent(seed: int) -> None:
    exchange, user, other_user, emitted = _run(seed, 400)
    orders = {o.id: o for o in exchange.entities("order", user) if isinstance(o, Order)}
    fills = [f for f in exchange.entities("fill", user) if isinstance(f, Fill)]
    assert fills, "the scenario should trade"
    filled: dict[int, int] = defaultdict(int)
    for fill in fills:
        filled[fill.order_id] += fill.qty
        assert fill.action == orders[fill.order_id].action
    for order_id, order in orders.items():
        versions = [v for v in exchange.deps("orderVersion", order_id, user)
                    if isinstance(v, OrderVersion)]
        qty = versions[-1].order_qty
        assert filled[order_id] <= qty
        if order.ord_status == "Filled":
            assert filled[order_id] == qty
        assert order.ord_status in FINAL | {"Working", "Suspended"}
    net = sum(f.qty if f.action == "Buy" else -f.qty for f in fills)
    positions = [p for p in exchange.entities("position", user) if isinstance(p, Position)]
    assert [p.net_pos for p in positions] == [net]
    pairs = [p for p in exchange.entities("fillPair", user) if isinstance(p, FillPair)]
    realized = sum((p.sell_price - p.buy_price) * p.qty for p in pairs) * VPP
    paired_qty = sum(p.qty for p in pairs)
    assert positions[0].bought - paired_qty == max(net, 0)
    assert positions[0].sold - paired_qty == max(-net, 0)
    by_id = {f.id: f for f in fills}
    for fill in fills:
        paired = sum(p.qty for p in pairs if fill.id in (p.buy_fill_id, p.sell_fill_id))
        assert fill.finally_paired == paired
    for pair in pairs:
        assert by_id[pair.buy_fill_id].action == "Buy"
        assert by_id[pair.sell_fill_id].action == "Sell"
    (balance,) = [c for c in exchange.entities("cashBalance", user) if isinstance(c, CashBalance)]
    commissions = sum(f.qty for f in fills) * COMMISSION
    assert balance.realized_pnl == pytest.approx(realized)
    assert balance.amount == pytest.approx(BALANCE + realized - commissions)
    assert {c.user_id for c in emitted} == {user}
    assert exchange.entities("order", other_user) == []
    for change in emitted:
        (decoded,) = decode_entities(change.entity_type, msgspec.json.encode(change.entity))
        assert decoded == change.entity


def test_random_flow_is_deterministic() -> None:
    first = _run(11, 200)[3]
    second = _run(11, 200)[3]
    assert msgspec.json.encode(first) == msgspec.json.encode(second)
