"""The matching engine and ledger against hand-built books."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import msgspec
import pytest

from tradovate_api.protocol import decode_entities
from tradovate_api.protocol.models import (
    Account,
    CancelOrder,
    CashBalance,
    Command,
    CommandReport,
    Contract,
    ContractMaturity,
    ExecutionReport,
    Fill,
    FillPair,
    LiquidatePosition,
    MarginSnapshot,
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
    SyncMessage,
    Tick,
    WireModel,
)
from tradovate_api.simulator.book import Book, MarketUpdate
from tradovate_api.simulator.changes import EntityChange
from tradovate_api.simulator.engine import Exchange
from tradovate_api.simulator.instruments import Instrument, InstrumentCatalog

ES, NQ = 3001, 3002
ES_COMMISSION = 2.5
BALANCE = 50_000.0
NOON_CT = dt.datetime(2026, 11, 24, 18, 0, tzinfo=dt.UTC).timestamp()


def instrument(contract_id: int, name: str, root: str, value_per_point: float,
               commission: float) -> Instrument:
    product = Product(id=contract_id + 100, name=root, currency_id=1, product_type="Futures",
                      description=root, exchange_id=11, contract_group_id=21,
                      status="Verified", value_per_point=value_per_point,
                      price_format_type="Decimal", price_format=-2, tick_size=0.25)
    maturity = ContractMaturity(id=contract_id + 200, product_id=product.id,
                                expiration_month=202612,
                                expiration_date="2026-12-18T14:30:00.000Z", is_front=True)
    contract = Contract(id=contract_id, name=name, contract_maturity_id=maturity.id)
    return Instrument(product, maturity, contract, commission, 5000.0)


def set_book(book: Book, bids: list[tuple[float, float]],
             offers: list[tuple[float, float]], last: float | None = None) -> None:
    book.bids = [PriceLevel(price=p, size=s) for p, s in bids]
    book.offers = [PriceLevel(price=p, size=s) for p, s in offers]
    book.last_price = last


class Clock:
    def __init__(self, now: float = NOON_CT) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    exchange: Exchange
    books: dict[int, Book]
    user: int
    account: int
    clock: Clock


def make_world(rng: random.Random | None = None) -> World:
    catalog = InstrumentCatalog([instrument(ES, "ESZ6", "ES", 50.0, ES_COMMISSION),
                                 instrument(NQ, "NQZ6", "NQ", 20.0, 1.0)])
    books = {ES: Book(ES, 0.25), NQ: Book(NQ, 0.25)}
    set_book(books[ES], bids=[(5000.0, 5), (4999.75, 10)],
             offers=[(5000.25, 3), (5000.5, 4), (5000.75, 10)], last=5000.0)
    clock = Clock()
    exchange = Exchange(catalog, books, clock, rng=rng)
    user = exchange.add_user("alice")
    account = exchange.add_account(user.id, "DEMO1", BALANCE)
    return World(exchange, books, user.id, account.id, clock)


def order(w: World, action: str, qty: int, order_type: str = "Market", **kw: object
          ) -> PlaceOrder:
    return PlaceOrder(action=action, symbol="ESZ6", order_qty=qty, order_type=order_type,
                      account_id=w.account, is_automated=True, **kw)  # type: ignore[arg-type]


def trade(contract_id: int, price: float, size: float, now_ms: int = 1) -> MarketUpdate:
    tick = Tick(id=now_ms, timestamp_ms=now_ms, price_ticks=round(price / 0.25), price=price,
                size=size)
    return MarketUpdate(now_ms=now_ms, trades=[(contract_id, tick)])


def of(changes: list[EntityChange], entity_type: str, cls: type[WireModel]) -> list:  # type: ignore[type-arg]
    return [c.entity for c in changes if c.entity_type == entity_type
            and isinstance(c.entity, cls)]


def fills_of(changes: list[EntityChange]) -> list[Fill]:
    """Fills created (not older fills updated because they got paired)."""
    return [c.entity for c in changes if c.entity_type == "fill" and c.event_type == "Created"
            and isinstance(c.entity, Fill)]


def kinds(changes: list[EntityChange]) -> list[tuple[str, str]]:
    return [(c.entity_type, c.event_type) for c in changes]


def order_status(w: World, order_id: int) -> str:
    entity = w.exchange.item("order", order_id, w.user)
    assert isinstance(entity, Order)
    return entity.ord_status


def position(w: World, contract_id: int = ES) -> Position:
    found = [p for p in w.exchange.entities("position", w.user)
             if isinstance(p, Position) and p.contract_id == contract_id]
    assert len(found) == 1
    return found[0]


def cash(w: World) -> CashBalance:
    (balance,) = w.exchange.entities("cashBalance", w.user)
    assert isinstance(balance, CashBalance)
    return balance


# --------------------------------------------------------------------------- accounts and sync

def test_new_account_has_cash_balance_and_risk_entities_keyed_by_account() -> None:
    w = make_world()
    snap = w.exchange.sync(w.user)
    (account,) = snap.accounts
    assert (account.account_type, account.active, account.margin_account_type,
            account.legal_status, account.user_id) == ("Customer", True, "Speculator",
                                                        "Individual", w.user)
    (balance,) = snap.cash_balances
    assert balance.account_id == w.account
    assert balance.amount == BALANCE
    assert balance.currency_id == 1
    assert balance.id != w.account
    assert [m.id for m in snap.margin_snapshots] == [w.account]
    assert [r.id for r in snap.account_risk_statuses] == [w.account]
    assert [a.id for a in snap.user_account_auto_liqs] == [w.account]
    assert [u.name for u in snap.users] == ["alice"]
    assert {c.name for c in snap.contracts} == {"ESZ6", "NQZ6"}
    assert {p.name for p in snap.products} == {"ES", "NQ"}
    assert len(snap.contract_maturities) == 2
    assert [c.name for c in snap.currencies] == ["USD"]
    assert [e.id for e in snap.exchanges] == [11]
    assert [g.id for g in snap.contract_groups] == [21]
    assert snap.orders == []
    assert snap.fills == []


def test_trade_date_is_the_cme_session_date() -> None:
    w = make_world()
    w.clock.now = dt.datetime(2026, 11, 24, 23, 30, tzinfo=dt.UTC).timestamp()  # 17:30 CT
    _, changes = w.exchange.place_order(w.user, order(w, "Buy", 1))
    (fill,) = fills_of(changes)
    assert (fill.trade_date.year, fill.trade_date.month, fill.trade_date.day) == (2026, 11, 25)
    assert fill.timestamp == "2026-11-24T23:30:00.000Z"


# --------------------------------------------------------------------------- market orders

def test_market_order_walks_the_book_and_emits_the_documented_sequence() -> None:
    w = make_world()
    result, changes = w.exchange.place_order(
        w.user, order(w, "Buy", 5, cl_ord_id="c-1", custom_tag50="tag", text="hello"))
    assert result.failure_reason is None
    assert result.order_id is not None
    assert kinds(changes) == [
        ("command", "Created"), ("orderVersion", "Created"), ("order", "Created"),
        ("commandReport", "Created"), ("command", "Updated"), ("executionReport", "Created"),
        ("order", "Updated"),
        ("executionReport", "Created"), ("fill", "Created"), ("position", "Created"),
        ("cashBalance", "Updated"), ("marginSnapshot", "Updated"),
        ("executionReport", "Created"), ("order", "Updated"), ("fill", "Created"),
        ("position", "Updated"), ("cashBalance", "Updated"), ("marginSnapshot", "Updated"),
    ]
    command = changes[0].entity
    version = changes[1].entity
    assert isinstance(command, Command)
    assert isinstance(version, OrderVersion)
    assert version.id == command.id
    assert version.order_id == result.order_id
    assert (command.command_type, command.command_status, command.cl_ord_id,
            command.custom_tag50, command.is_automated) == ("New", "Pending", "c-1", "tag", True)
    assert (version.order_qty, version.order_type, version.text) == (5, "Market", "hello")
    statuses = [c.entity.ord_status for c in changes
                if c.entity_type == "order" and isinstance(c.entity, Order)]
    assert statuses == ["PendingNew", "Working", "Filled"]
    reports = of(changes, "executionReport", ExecutionReport)
    assert [(r.exec_type, r.ord_status, r.cum_qty, r.last_qty, r.last_px) for r in reports] == [
        ("New", "Working", 0, None, None),
        ("Trade", "Working", 3, 3, 5000.25),
        ("Trade", "Filled", 5, 2, 5000.5),
    ]
    assert reports[-1].avg_px == pytest.approx((3 * 5000.25 + 2 * 5000.5) / 5)
    assert all(r.command_id == command.id for r in reports)
    fills = fills_of(changes)
    assert [(f.qty, f.price, f.action, f.active) for f in fills] == [
        (3, 5000.25, "Buy", True), (2, 5000.5, "Buy", True)]
    pos = position(w)
    assert (pos.net_pos, pos.bought, pos.sold) == (5, 5, 0)
    assert pos.net_price == pytest.approx(5000.35)
    assert pos.bought_value == pytest.approx(3 * 5000.25 + 2 * 5000.5)
    assert cash(w).amount == pytest.approx(BALANCE - 5 * ES_COMMISSION)


def test_market_order_on_an_empty_side_is_refused_with_no_quote() -> None:
    w = make_world()
    w.books[ES].offers = []
    result, changes = w.exchange.place_order(w.user, order(w, "Buy", 1))
    assert result.order_id is None
    assert result.failure_reason == "NoQuote"
    assert result.failure_text
    assert "ESZ6" in result.failure_text
    assert changes == []
    assert w.exchange.entities("order", w.user) == []


def test_market_order_larger_than_the_book_keeps_working_for_the_rest() -> None:
    w = make_world()
    result, _ = w.exchange.place_order(w.user, order(w, "Buy", 20))
    assert result.order_id is not None
    assert order_status(w, result.order_id) == "Working"
    assert position(w).net_pos == 17
    w.books[ES].offers = [PriceLevel(price=5001.0, size=10)]
    changes = w.exchange.on_market(MarketUpdate(now_ms=5))
    assert [(f.qty, f.price) for f in fills_of(changes)] == [(3, 5001.0)]
    assert order_status(w, result.order_id) == "Filled"


# --------------------------------------------------------------------------- limit orders

def test_resting_limit_fills_partially_on_trades_up_to_the_traded_size() -> None:
    w = make_world()
    result, changes = w.exchange.place_order(w.user, order(w, "Buy", 4, "Limit", price=4999.75))
    assert result.order_id is not None
    assert fills_of(changes) == []
    assert order_status(w, result.order_id) == "Working"
    assert w.exchange.on_market(trade(ES, 5000.0, 10)) == []
    first = w.exchange.on_market(trade(ES, 4999.75, 1))
    (report,) = of(first, "executionReport", ExecutionReport)
    assert (report.exec_type, report.ord_status, report.cum_qty, report.last_qty) == (
        "Trade", "Working", 1, 1)
    assert order_status(w, result.order_id) == "Working"
    second = w.exchange.on_market(trade(ES, 4999.5, 10))
    assert [(f.qty, f.price) for f in fills_of(second)] == [(3, 4999.75)]
    assert order_status(w, result.order_id) == "Filled"
    assert position(w).net_pos == 4


def test_traded_size_is_shared_by_resting_orders_in_time_priority() -> None:
    w = make_world()
    first, _ = w.exchange.place_order(w.user, order(w, "Sell", 2, "Limit", price=5001.0))
    second, _ = w.exchange.place_order(w.user, order(w, "Sell", 2, "Limit", price=5001.0))
    changes = w.exchange.on_market(trade(ES, 5001.0, 3))
    by_order = [(f.order_id, f.qty) for f in fills_of(changes)]
    assert by_order == [(first.order_id, 2), (second.order_id, 1)]


def test_marketable_limit_fills_at_the_book_and_rests_the_remainder() -> None:
    w = make_world()
    result, changes = w.exchange.place_order(w.user, order(w, "Buy", 5, "Limit", price=5000.25))
    assert [(f.qty, f.price) for f in fills_of(changes)] == [(3, 5000.25)]
    assert result.order_id is not None
    assert order_status(w, result.order_id) == "Working"
    improve = w.exchange.place_order(w.user, order(w, "Sell", 1, "Limit", price=4999.0))[1]
    assert [(f.qty, f.price) for f in fills_of(improve)] == [(1, 5000.0)]


def test_resting_limit_fills_at_its_price_when_the_book_crosses_it() -> None:
    w = make_world()
    result, _ = w.exchange.place_order(w.user, order(w, "Sell", 3, "Limit", price=5001.0))
    set_book(w.books[ES], bids=[(5001.25, 1), (5001.0, 1), (5000.75, 9)],
             offers=[(5001.5, 5)], last=5001.0)
    changes = w.exchange.on_market(MarketUpdate(now_ms=2))
    assert [(f.qty, f.price) for f in fills_of(changes)] == [(2, 5001.0)]
    assert result.order_id is not None
    assert order_status(w, result.order_id) == "Working"


def test_ioc_and_fok() -> None:
    w = make_world()
    ioc, changes = w.exchange.place_order(
        w.user, order(w, "Buy", 5, "Limit", price=5000.25, time_in_force="IOC"))
    assert [f.qty for f in fills_of(changes)] == [3]
    assert ioc.order_id is not None
    assert order_status(w, ioc.order_id) == "Canceled"
    fok, changes = w.exchange.place_order(
        w.user, order(w, "Buy", 5, "Limit", price=5000.25, time_in_force="FOK"))
    assert fills_of(changes) == []
    assert fok.order_id is not None
    assert order_status(w, fok.order_id) == "Canceled"


# --------------------------------------------------------------------------- P&L

def test_round_trip_realized_pnl_commissions_and_fill_pair() -> None:
    w = make_world()
    buy, _ = w.exchange.place_order(w.user, order(w, "Buy", 2))
    set_book(w.books[ES], bids=[(5001.75, 5)], offers=[(5002.0, 5)], last=5001.75)
    sell, changes = w.exchange.place_order(w.user, order(w, "Sell", 2))
    (pair,) = of(changes, "fillPair", FillPair)
    pos = position(w)
    buy_fill = w.exchange.deps("fill", buy.order_id or 0, w.user)
    sell_fill = w.exchange.deps("fill", sell.order_id or 0, w.user)
    assert len(buy_fill) == len(sell_fill) == 1
    assert (pair.buy_fill_id, pair.sell_fill_id, pair.qty, pair.buy_price, pair.sell_price,
            pair.position_id, pair.active) == (
        buy_fill[0].id, sell_fill[0].id, 2, 5000.25, 5001.75, pos.id, True)  # type: ignore[attr-defined]
    assert [f.finally_paired for f in buy_fill + sell_fill] == [2, 2]  # type: ignore[attr-defined]
    assert (pos.net_pos, pos.bought, pos.sold, pos.net_price) == (0, 2, 2, None)
    assert pos.bought_value == pytest.approx(10000.5)
    assert pos.sold_value == pytest.approx(10003.5)
    balance = cash(w)
    assert balance.realized_pnl == pytest.approx(150.0)
    assert balance.amount == pytest.approx(BALANCE + 150.0 - 4 * ES_COMMISSION)
    snap = w.exchange.cash_balance_snapshot(w.user, w.account)
    assert snap.realized_pnl == pytest.approx(150.0)
    assert snap.open_pnl == 0.0
    assert snap.initial_margin == 0.0
    assert snap.total_cash_value == pytest.approx(BALANCE + 140.0)
    assert snap.net_liq == pytest.approx(BALANCE + 140.0)
    assert w.exchange.deps("fillPair", pos.id, w.user) == [pair]


def test_open_pnl_uses_the_book_mid_and_margin_is_plausible() -> None:
    w = make_world()
    w.exchange.place_order(w.user, order(w, "Buy", 1))
    set_book(w.books[ES], bids=[(5001.0, 5)], offers=[(5001.25, 5)], last=5001.0)
    snap = w.exchange.cash_balance_snapshot(w.user, w.account)
    assert snap.open_pnl == pytest.approx((5001.125 - 5000.25) * 50)
    assert snap.net_liq == pytest.approx(BALANCE - ES_COMMISSION + 43.75)
    assert snap.total_pnl == pytest.approx(43.75)
    assert snap.initial_margin is not None
    assert 5_000 < snap.initial_margin < 30_000
    assert snap.maintenance_margin is not None
    assert 0 < snap.maintenance_margin < snap.initial_margin
    margin = w.exchange.item("marginSnapshot", w.account, w.user)
    assert isinstance(margin, MarginSnapshot)
    assert margin.initial_margin > 0


def test_partial_close_and_flip_keep_position_and_pairs_consistent() -> None:
    w = make_world()
    w.exchange.place_order(w.user, order(w, "Buy", 3))  # 3 @ 5000.25
    set_book(w.books[ES], bids=[(5002.0, 10)], offers=[(5002.25, 10)], last=5002.0)
    w.exchange.place_order(w.user, order(w, "Sell", 5))  # close 3, open short 2 @ 5002
    pos = position(w)
    assert (pos.net_pos, pos.net_price) == (-2, 5002.0)
    pairs = [p for p in w.exchange.entities("fillPair", w.user) if isinstance(p, FillPair)]
    assert sum(p.qty for p in pairs) == 3
    assert cash(w).realized_pnl == pytest.approx(3 * 1.75 * 50)


# --------------------------------------------------------------------------- stops

def test_stop_order_triggers_on_a_trade_through_and_fills_at_the_book() -> None:
    w = make_world()
    result, changes = w.exchange.place_order(w.user, order(w, "Sell", 2, "Stop",
                                                           stop_price=4999.0))
    assert result.order_id is not None
    assert fills_of(changes) == []
    assert w.exchange.on_market(trade(ES, 4999.25, 1)) == []
    set_book(w.books[ES], bids=[(4998.75, 1), (4998.5, 5)], offers=[(4999.0, 5)], last=4999.0)
    changes = w.exchange.on_market(trade(ES, 4999.0, 1))
    assert [(f.qty, f.price) for f in fills_of(changes)] == [(1, 4998.75), (1, 4998.5)]
    assert order_status(w, result.order_id) == "Filled"


def test_stop_on_the_wrong_side_of_the_market_is_refused() -> None:
    w = make_world()
    result, changes = w.exchange.place_order(w.user, order(w, "Buy", 1, "Stop",
                                                           stop_price=4999.0))
    assert result.failure_reason == "InvalidPrice"
    assert changes == []
    assert result.failure_text
    assert "above" in result.failure_text


def test_stop_limit_triggers_then_rests_as_a_limit() -> None:
    w = make_world()
    result, _ = w.exchange.place_order(w.user, order(w, "Buy", 2, "StopLimit",
                                                     stop_price=5001.0, price=5001.25))
    set_book(w.books[ES], bids=[(5001.0, 5)], offers=[(5001.5, 5)], last=5001.0)
    assert fills_of(w.exchange.on_market(trade(ES, 5001.0, 1))) == []
    assert result.order_id is not None
    assert order_status(w, result.order_id) == "Working"
    set_book(w.books[ES], bids=[(5001.0, 5)], offers=[(5001.25, 1), (5001.5, 5)], last=5001.0)
    changes = w.exchange.on_market(MarketUpdate(now_ms=3))
    assert [(f.qty, f.price) for f in fills_of(changes)] == [(1, 5001.25)]
    changes = w.exchange.on_market(trade(ES, 5001.0, 4))
    assert [(f.qty, f.price) for f in fills_of(changes)] == [(1, 5001.25)]
    assert order_status(w, result.order_id) == "Filled"


def test_trailing_stop_follows_trades_then_triggers() -> None:
    w = make_world()
    result, changes = w.exchange.place_order(w.user, order(w, "Sell", 1, "TrailingStop",
                                                           peg_difference=-2.0))
    (version,) = of(changes, "orderVersion", OrderVersion)
    assert version.stop_price == 4998.0
    set_book(w.books[ES], bids=[(5002.75, 5)], offers=[(5003.0, 5)], last=5003.0)
    moved = w.exchange.on_market(trade(ES, 5003.0, 1))
    (updated,) = of(moved, "orderVersion", OrderVersion)
    assert (updated.id, updated.stop_price) == (version.id, 5001.0)
    assert of(w.exchange.on_market(trade(ES, 5002.0, 1)), "orderVersion", OrderVersion) == []
    set_book(w.books[ES], bids=[(5000.75, 5)], offers=[(5001.0, 5)], last=5001.0)
    fills = fills_of(w.exchange.on_market(trade(ES, 5001.0, 1)))
    assert [(f.qty, f.price) for f in fills] == [(1, 5000.75)]
    assert result.order_id is not None
    assert order_status(w, result.order_id) == "Filled"


# --------------------------------------------------------------------------- OSO / OCO

def test_oso_brackets_wait_for_the_entry_then_act_as_oco() -> None:
    w = make_world()
    body = PlaceOSO(action="Buy", symbol="ESZ6", order_qty=2, order_type="Limit",
                    price=4999.75, account_id=w.account, is_automated=True,
                    bracket1=RestrainedOrderVersion(action="Sell", order_type="Limit",
                                                    price=5002.0),
                    bracket2=RestrainedOrderVersion(action="Sell", order_type="Stop",
                                                    stop_price=4998.0))
    result, changes = w.exchange.place_oso(w.user, body)
    entry, tp, sl = result.order_id, result.oso1_id, result.oso2_id
    assert entry is not None
    assert tp is not None
    assert sl is not None
    assert (order_status(w, entry), order_status(w, tp), order_status(w, sl)) == (
        "Working", "Suspended", "Suspended")
    created = {o.id: o for o in of(changes, "order", Order)}
    assert created[tp].parent_id == entry
    assert created[sl].parent_id == entry
    versions = {v.order_id: v for v in w.exchange.entities("orderVersion", w.user)
                if isinstance(v, OrderVersion)}
    assert versions[tp].order_qty == versions[sl].order_qty == 2
    # a held bracket does not trade
    assert fills_of(w.exchange.on_market(trade(ES, 5002.0, 10))) == []
    changes = w.exchange.on_market(trade(ES, 4999.75, 5))
    assert [f.order_id for f in fills_of(changes)] == [entry]
    assert (order_status(w, entry), order_status(w, tp), order_status(w, sl)) == (
        "Filled", "Working", "Working")
    changes = w.exchange.on_market(trade(ES, 5002.0, 1))
    assert order_status(w, sl) == "Working"
    resized = [v for v in of(changes, "orderVersion", OrderVersion) if v.order_id == sl]
    assert [v.order_qty for v in resized] == [2 - 1]
    changes = w.exchange.on_market(trade(ES, 5002.25, 3))
    assert [f.order_id for f in fills_of(changes)] == [tp]
    assert (order_status(w, tp), order_status(w, sl)) == ("Filled", "Canceled")
    assert position(w).net_pos == 0
    assert cash(w).realized_pnl == pytest.approx(2 * (5002.0 - 4999.75) * 50)


def test_canceling_an_oso_entry_cancels_its_held_brackets() -> None:
    w = make_world()
    body = PlaceOSO(action="Buy", symbol="ESZ6", order_qty=1, order_type="Limit",
                    price=4990.0, account_id=w.account,
                    bracket1=RestrainedOrderVersion(action="Sell", order_type="Limit",
                                                    price=5010.0))
    result, _ = w.exchange.place_oso(w.user, body)
    assert result.oso2_id is None
    assert result.order_id
    assert result.oso1_id
    w.exchange.cancel_order(w.user, CancelOrder(order_id=result.order_id))
    assert order_status(w, result.oso1_id) == "Canceled"


def test_oco_fill_of_one_cancels_the_other() -> None:
    w = make_world()
    body = PlaceOCO(action="Sell", symbol="ESZ6", order_qty=1, order_type="Limit",
                    price=5002.0, account_id=w.account,
                    other=RestrainedOrderVersion(action="Sell", order_type="Stop",
                                                 stop_price=4998.0))
    result, _ = w.exchange.place_oco(w.user, body)
    first, other = result.order_id, result.oco_id
    assert first is not None
    assert other is not None
    orders = {o.id: o for o in w.exchange.entities("order", w.user) if isinstance(o, Order)}
    assert orders[first].oco_id == other
    assert orders[other].oco_id == first
    set_book(w.books[ES], bids=[(4997.75, 5)], offers=[(4998.0, 5)], last=4998.0)
    changes = w.exchange.on_market(trade(ES, 4998.0, 1))
    assert [(f.order_id, f.price) for f in fills_of(changes)] == [(other, 4997.75)]
    assert (order_status(w, first), order_status(w, other)) == ("Canceled", "Filled")


# --------------------------------------------------------------------------- modify / cancel

def test_modify_creates_a_version_with_the_command_id_and_can_make_it_marketable() -> None:
    w = make_world()
    placed, _ = w.exchange.place_order(w.user, order(w, "Buy", 2, "Limit", price=4999.0))
    assert placed.order_id is not None
    result, changes = w.exchange.modify_order(w.user, ModifyOrder(
        order_id=placed.order_id, order_qty=2, order_type="Limit", price=5000.25,
        cl_ord_id="m-1", is_automated=True))
    assert result.command_id is not None
    assert result.failure_reason is None
    command = changes[0].entity
    assert isinstance(command, Command)
    assert (command.id, command.command_type, command.cl_ord_id) == (
        result.command_id, "Modify", "m-1")
    (version,) = of(changes, "orderVersion", OrderVersion)
    assert (version.id, version.price, version.order_qty) == (result.command_id, 5000.25, 2)
    reports = of(changes, "executionReport", ExecutionReport)
    assert reports[0].exec_type == "Replaced"
    assert [(f.qty, f.price) for f in fills_of(changes)] == [(2, 5000.25)]
    (report,) = of(changes, "commandReport", CommandReport)
    assert (report.command_id, report.command_status) == (result.command_id, "AtExecution")
    assert len(w.exchange.deps("orderVersion", placed.order_id, w.user)) == 2


def test_modify_refusals() -> None:
    w = make_world()
    placed, _ = w.exchange.place_order(w.user, order(w, "Buy", 5, "Limit", price=5000.25))
    assert placed.order_id is not None  # 3 filled, 2 working
    result, changes = w.exchange.modify_order(w.user, ModifyOrder(
        order_id=placed.order_id, order_qty=3, order_type="Limit", price=5000.0))
    assert result.failure_reason == "UnknownReason"
    assert changes == []
    assert result.failure_text
    assert "filled" in result.failure_text
    result, _ = w.exchange.modify_order(w.user, ModifyOrder(
        order_id=placed.order_id, order_qty=5, order_type="Limit", price=5000.1))
    assert result.failure_reason == "InvalidPrice"
    result, _ = w.exchange.modify_order(w.user, ModifyOrder(
        order_id=placed.order_id, order_qty=5, order_type="Limit"))
    assert result.failure_reason == "InvalidPrice"
    result, _ = w.exchange.modify_order(w.user, ModifyOrder(
        order_id=999, order_qty=5, order_type="Limit", price=5000.0))
    assert result.failure_reason == "UnknownReason"
    assert result.failure_text
    assert "999" in result.failure_text


def test_cancel_and_cancel_too_late() -> None:
    w = make_world()
    placed, _ = w.exchange.place_order(w.user, order(w, "Buy", 1, "Limit", price=4990.0))
    assert placed.order_id is not None
    result, changes = w.exchange.cancel_order(w.user, CancelOrder(order_id=placed.order_id,
                                                                  is_automated=True))
    assert result.command_id is not None
    assert kinds(changes) == [("command", "Created"), ("commandReport", "Created"),
                              ("command", "Updated"), ("executionReport", "Created"),
                              ("order", "Updated")]
    command = changes[0].entity
    assert isinstance(command, Command)
    assert command.command_type == "Cancel"
    (report,) = of(changes, "executionReport", ExecutionReport)
    assert (report.exec_type, report.ord_status) == ("Canceled", "Canceled")
    assert order_status(w, placed.order_id) == "Canceled"
    again, changes = w.exchange.cancel_order(w.user, CancelOrder(order_id=placed.order_id))
    assert (again.failure_reason, again.command_id, changes) == ("TooLate", None, [])
    filled, _ = w.exchange.place_order(w.user, order(w, "Buy", 1))
    assert filled.order_id is not None
    late, _ = w.exchange.cancel_order(w.user, CancelOrder(order_id=filled.order_id))
    assert late.failure_reason == "TooLate"
    assert late.failure_text
    assert "Filled" in late.failure_text
    assert w.exchange.cancel_order(w.user, CancelOrder(order_id=12))[0].failure_reason == (
        "UnknownReason")
    commands = w.exchange.deps("command", placed.order_id, w.user)
    assert [c.command_type for c in commands] == ["New", "Cancel"]  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- liquidation

def test_liquidate_cancels_working_orders_and_flattens() -> None:
    w = make_world()
    w.exchange.place_order(w.user, order(w, "Buy", 3))
    resting, _ = w.exchange.place_order(w.user, order(w, "Sell", 3, "Limit", price=5010.0))
    assert resting.order_id is not None
    result, changes = w.exchange.liquidate_position(
        w.user, LiquidatePosition(account_id=w.account, contract_id=ES, is_automated=True))
    assert result.order_id is not None
    assert result.failure_reason is None
    assert order_status(w, resting.order_id) == "Canceled"
    assert order_status(w, result.order_id) == "Filled"
    assert position(w).net_pos == 0
    fills = fills_of(changes)
    assert [(f.action, f.qty, f.price) for f in fills] == [("Sell", 3, 5000.0)]
    flat, _ = w.exchange.liquidate_position(
        w.user, LiquidatePosition(account_id=w.account, contract_id=ES))
    assert flat.failure_reason == "UnknownReason"


# --------------------------------------------------------------------------- rejections

@pytest.mark.parametrize(("overrides", "reason"), [
    ({"symbol": "ZZZ9"}, "InvalidContract"),
    ({"order_qty": 0}, "UnknownReason"),
    ({"order_type": "Limit"}, "InvalidPrice"),
    ({"order_type": "Limit", "price": 5000.1}, "InvalidPrice"),
    ({"order_type": "Limit", "price": -1.0}, "InvalidPrice"),
    ({"order_type": "Stop"}, "InvalidPrice"),
    ({"order_type": "TralingStop"}, "Unsupported"),
    ({"action": "Hold"}, "UnknownReason"),
    ({"account_id": None}, "UnknownReason"),
    ({"account_id": 424242}, "Unauthorized"),
])
def test_invalid_orders_are_refused_with_a_reason_and_text(overrides: dict[str, object],
                                                           reason: str) -> None:
    w = make_world()
    body = msgspec.structs.replace(order(w, "Buy", 1), **overrides)
    result, changes = w.exchange.place_order(w.user, body)
    assert result.order_id is None
    assert result.failure_reason == reason
    assert result.failure_text
    assert changes == []


def test_account_spec_without_account_id_is_refused() -> None:
    """accountId is "in practice a required field" (reference §6.1): accountSpec alone is
    refused as a business failure, nothing is created."""
    w = make_world()
    body = msgspec.structs.replace(order(w, "Buy", 1), account_id=None, account_spec="DEMO1")
    result, changes = w.exchange.place_order(w.user, body)
    assert result.order_id is None
    assert result.failure_reason == "UnknownReason"
    assert "accountId is required" in (result.failure_text or "")
    assert changes == []
    with_id = msgspec.structs.replace(body, account_id=w.account)
    assert w.exchange.place_order(w.user, with_id)[0].order_id is not None


def test_reject_next_refuses_then_recovers() -> None:
    w = make_world()
    w.exchange.reject_next(2, "TradingLocked", text="locked for test")
    for _ in range(2):
        result, changes = w.exchange.place_order(w.user, order(w, "Buy", 1))
        assert (result.failure_reason, result.failure_text, changes) == (
            "TradingLocked", "locked for test", [])
    assert w.exchange.place_order(w.user, order(w, "Buy", 1))[0].order_id is not None


def test_reject_next_after_accept_emits_risk_rejection() -> None:
    w = make_world()
    w.exchange.reject_next(reason="MaxPosLimitReached", after_accept=True)
    result, changes = w.exchange.place_order(w.user, order(w, "Buy", 1))
    assert result.order_id is not None
    assert result.failure_reason is None
    (report,) = of(changes, "commandReport", CommandReport)
    assert (report.command_status, report.reject_reason) == ("RiskRejected", "MaxPosLimitReached")
    (execution,) = of(changes, "executionReport", ExecutionReport)
    assert (execution.exec_type, execution.ord_status) == ("Rejected", "Rejected")
    assert order_status(w, result.order_id) == "Rejected"
    assert fills_of(changes) == []


# --------------------------------------------------------------------------- isolation, queries

def test_users_never_see_or_touch_each_others_data() -> None:
    w = make_world()
    bob = w.exchange.add_user("bob")
    bob_account = w.exchange.add_account(bob.id, "DEMO2", 1000.0)
    placed, _ = w.exchange.place_order(w.user, order(w, "Buy", 1, "Limit", price=4990.0))
    assert placed.order_id is not None
    stolen = msgspec.structs.replace(order(w, "Buy", 1), account_id=w.account)
    assert w.exchange.place_order(bob.id, stolen)[0].failure_reason == "Unauthorized"
    assert w.exchange.cancel_order(bob.id, CancelOrder(order_id=placed.order_id))[0] \
        .failure_reason == "UnknownReason"
    assert w.exchange.modify_order(bob.id, ModifyOrder(
        order_id=placed.order_id, order_qty=1, order_type="Market"))[0].failure_reason == (
        "UnknownReason")
    assert w.exchange.item("order", placed.order_id, bob.id) is None
    assert w.exchange.entities("order", bob.id) == []
    assert w.exchange.deps("orderVersion", placed.order_id, bob.id) == []
    assert w.exchange.liquidate_position(bob.id, LiquidatePosition(
        account_id=w.account, contract_id=ES))[0].failure_reason == "Unauthorized"
    snap = w.exchange.sync(bob.id)
    assert [a.id for a in snap.accounts] == [bob_account.id]
    assert snap.orders == []
    assert [u.id for u in w.exchange.entities("user", bob.id)] == [bob.id]  # type: ignore[attr-defined]
    assert w.exchange.cash_balance_snapshot(bob.id, w.account).error_text
    assert [a.id for a in w.exchange.accounts_of(bob.id)] == [bob_account.id]
    assert w.exchange.account(bob_account.id) == bob_account
    assert w.exchange.account(-1) is None
    assert [u.name for u in w.exchange.users()] == ["alice", "bob"]
    assert w.exchange.user(bob.id) == bob
    assert order_status(w, placed.order_id) == "Working"


def test_sync_and_deps_cover_the_order_graph() -> None:
    w = make_world()
    second = w.exchange.add_account(w.user, "DEMO1b", 10.0)
    w.exchange.place_order(w.user, order(w, "Buy", 1))
    set_book(w.books[ES], bids=[(5001.0, 5)], offers=[(5001.25, 5)], last=5001.0)
    sold, _ = w.exchange.place_order(w.user, order(w, "Sell", 1))
    snap = w.exchange.sync(w.user)
    assert len(snap.orders) == 2
    assert len(snap.fills) == 2
    assert len(snap.fill_pairs) == 1
    assert len(snap.order_versions) == 2
    assert len(snap.commands) == 2
    assert len(snap.command_reports) == 2
    assert len(snap.execution_reports) == 4
    assert len(snap.positions) == 1
    assert len(snap.cash_balances) == 2
    only_second = w.exchange.sync(w.user, [second.id])
    assert [a.id for a in only_second.accounts] == [second.id]
    assert only_second.orders == []
    assert len(only_second.cash_balances) == 1
    assert sold.order_id is not None
    (command,) = w.exchange.deps("command", sold.order_id, w.user)
    assert isinstance(command, Command)
    assert len(w.exchange.deps("executionReport", command.id, w.user)) == 2
    assert len(w.exchange.deps("commandReport", command.id, w.user)) == 1
    assert len(w.exchange.deps("position", w.account, w.user)) == 1
    assert len(w.exchange.deps("order", w.account, w.user)) == 2
    assert len(w.exchange.deps("cashBalance", w.account, w.user)) == 1
    assert w.exchange.deps("marginSnapshot", w.account, w.user)[0].id == w.account  # type: ignore[attr-defined]
    assert [a.id for a in w.exchange.deps("account", w.user, w.user)] == [  # type: ignore[attr-defined]
        w.account, second.id]
    assert w.exchange.deps("contract", ES + 200, w.user) == [snap.contracts[0]]
    assert w.exchange.item("contract", NQ, w.user) == snap.contracts[1]
    assert w.exchange.item("contract", 1, w.user) is None
    assert w.exchange.entities("nonsense", w.user) == []


# --------------------------------------------------------------------------- wire fidelity

def _scenario(rng: random.Random | None) -> tuple[World, list[EntityChange]]:
    w = make_world(rng)
    out: list[EntityChange] = []
    for i in range(12):
        set_book(w.books[ES], bids=[(5000.0 + i, 5), (4999.75 + i, 10)],
                 offers=[(5000.25 + i, 3), (5000.5 + i, 4)], last=5000.0 + i)
        out += w.exchange.place_order(w.user, order(w, "Buy" if i % 2 else "Sell", 2))[1]
        out += w.exchange.place_oso(w.user, PlaceOSO(
            action="Buy", symbol="ESZ6", order_qty=1, order_type="Limit", price=4999.75 + i,
            account_id=w.account,
            bracket1=RestrainedOrderVersion(action="Sell", order_type="Limit",
                                            price=5003.0 + i),
            bracket2=RestrainedOrderVersion(action="Sell", order_type="Stop",
                                            stop_price=4990.0 + i)))[1]
        out += w.exchange.on_market(trade(ES, 4999.75 + i, 4, now_ms=i))
    return w, out


def test_every_emitted_entity_round_trips_through_the_client_decoder() -> None:
    w, changes = _scenario(None)
    seen = set()
    for change in changes:
        raw = msgspec.json.encode(change.entity)
        assert b"null" not in raw
        (decoded,) = decode_entities(change.entity_type, raw)
        assert decoded == change.entity
        seen.add(change.entity_type)
    assert seen == {"command", "orderVersion", "order", "commandReport", "executionReport",
                    "fill", "fillPair", "position", "cashBalance", "marginSnapshot"}
    snap = w.exchange.sync(w.user)
    assert msgspec.json.decode(msgspec.json.encode(snap), type=SyncMessage) == snap
    listing = [("account", Account), ("accountRiskStatus", None), ("userAccountAutoLiq", None)]
    for entity_type, _cls in listing:
        entities = w.exchange.entities(entity_type, w.user)
        assert decode_entities(entity_type, msgspec.json.encode(entities)) == tuple(entities)


def test_same_inputs_give_identical_output_and_rng_reorders_like_real_traffic() -> None:
    _, plain = _scenario(None)
    _, again = _scenario(None)
    assert msgspec.json.encode(plain) == msgspec.json.encode(again)
    _, shuffled = _scenario(random.Random(7))
    _, shuffled_again = _scenario(random.Random(7))
    assert msgspec.json.encode(shuffled) == msgspec.json.encode(shuffled_again)
    assert shuffled != plain
    assert sorted(msgspec.json.encode(c) for c in shuffled) == sorted(
        msgspec.json.encode(c) for c in plain)
    early = 0
    for i, change in enumerate(shuffled):
        if change.entity_type in ("fill", "position") and i + 1 < len(shuffled):
            nxt = shuffled[i + 1]
            early += nxt.entity_type == "order" and nxt.event_type == "Updated"
    assert early > 0


# --------------------------------------------------------------------------- more life cycles

def _oso(w: World, qty: int, entry_price: float) -> PlaceOSO:
    return PlaceOSO(action="Buy", symbol="ESZ6", order_qty=qty, order_type="Limit",
                    price=entry_price, account_id=w.account,
                    bracket1=RestrainedOrderVersion(action="Sell", order_type="Limit",
                                                    price=5005.0),
                    bracket2=RestrainedOrderVersion(action="Sell", order_type="Stop",
                                                    stop_price=4995.0))


def test_canceling_a_partly_filled_entry_activates_brackets_for_the_filled_qty() -> None:
    w = make_world()
    result, _ = w.exchange.place_oso(w.user, _oso(w, 3, 4999.75))
    assert result.order_id is not None
    assert result.oso1_id is not None
    assert result.oso2_id is not None
    w.exchange.on_market(trade(ES, 4999.75, 1))
    _, changes = w.exchange.cancel_order(w.user, CancelOrder(order_id=result.order_id))
    assert order_status(w, result.order_id) == "Canceled"
    for bracket in (result.oso1_id, result.oso2_id):
        assert order_status(w, bracket) == "Working"
        versions = w.exchange.deps("orderVersion", bracket, w.user)
        assert [v.order_qty for v in versions] == [3, 1]  # type: ignore[attr-defined]
    assert ("order", "Updated") in kinds(changes)


def test_modifying_a_held_bracket_keeps_it_held() -> None:
    w = make_world()
    result, _ = w.exchange.place_oso(w.user, _oso(w, 1, 4990.0))
    assert result.oso1_id is not None
    modified, changes = w.exchange.modify_order(w.user, ModifyOrder(
        order_id=result.oso1_id, order_qty=1, order_type="Limit", price=5000.0))
    assert modified.command_id is not None
    (report,) = of(changes, "commandReport", CommandReport)
    assert report.command_status == "OnHold"
    assert fills_of(changes) == []  # 5000.0 is marketable, but the bracket is held
    assert order_status(w, result.oso1_id) == "Suspended"


def test_rejected_oso_entry_rejects_its_brackets_as_parent_rejected() -> None:
    w = make_world()
    w.exchange.reject_next(reason="RiskCheckTimeout", after_accept=True)
    result, changes = w.exchange.place_oso(w.user, _oso(w, 1, 4990.0))
    assert result.order_id is not None
    assert result.oso1_id is not None
    assert order_status(w, result.order_id) == "Rejected"
    assert order_status(w, result.oso1_id) == "Rejected"
    reasons = [r.reject_reason for r in of(changes, "executionReport", ExecutionReport)]
    assert reasons == ["RiskCheckTimeout", "ParentRejected", "ParentRejected"]


def test_trailing_stop_only_allows_quantity_modifications() -> None:
    w = make_world()
    result, _ = w.exchange.place_order(w.user, order(w, "Sell", 2, "TrailingStop",
                                                     peg_difference=-2.0))
    assert result.order_id is not None
    refused, changes = w.exchange.modify_order(w.user, ModifyOrder(
        order_id=result.order_id, order_qty=2, order_type="TrailingStop", peg_difference=-3.0))
    assert refused.failure_reason == "TrailingStopNonOrderQtyModify"
    assert changes == []
    accepted, changes = w.exchange.modify_order(w.user, ModifyOrder(
        order_id=result.order_id, order_qty=1, order_type="TrailingStop"))
    assert accepted.command_id is not None
    (version,) = of(changes, "orderVersion", OrderVersion)
    assert (version.order_qty, version.stop_price, version.peg_difference) == (1, 4998.0, -2.0)


def test_reject_next_applies_to_modify_and_cancel() -> None:
    w = make_world()
    placed, _ = w.exchange.place_order(w.user, order(w, "Buy", 1, "Limit", price=4990.0))
    assert placed.order_id is not None
    w.exchange.reject_next(2, "AnotherCommandPending")
    modify = ModifyOrder(order_id=placed.order_id, order_qty=1, order_type="Limit",
                         price=4991.0)
    assert w.exchange.modify_order(w.user, modify)[0].failure_reason == "AnotherCommandPending"
    cancel = CancelOrder(order_id=placed.order_id)
    assert w.exchange.cancel_order(w.user, cancel)[0].failure_reason == "AnotherCommandPending"
    w.exchange.reject_next(reason="TooLate", after_accept=True)
    result, changes = w.exchange.cancel_order(w.user, cancel)
    assert result.command_id is not None
    (report,) = of(changes, "commandReport", CommandReport)
    assert (report.command_status, report.reject_reason) == ("RiskRejected", "TooLate")
    assert order_status(w, placed.order_id) == "Working"


def test_no_live_orders_means_no_changes_from_the_market() -> None:
    w = make_world()
    assert w.exchange.on_market(trade(ES, 4000.0, 100)) == []
