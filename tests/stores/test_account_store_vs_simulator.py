"""Property: the account store fed the simulator's entity changes ends where the simulator's
own ledger is (positions, realized P&L, cash after commissions), also after a resync."""

from __future__ import annotations

import datetime as dt
import random

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradovate_api.protocol import EntityEvent, decode_entities
from tradovate_api.protocol.models import (
    CancelOrder,
    Contract,
    ContractMaturity,
    LiquidatePosition,
    ModifyOrder,
    PlaceOrder,
    PlaceOSO,
    PriceLevel,
    Product,
    RestrainedOrderVersion,
    Tick,
)
from tradovate_api.simulator.book import Book, MarketUpdate
from tradovate_api.simulator.changes import EntityChange
from tradovate_api.simulator.engine import Exchange
from tradovate_api.simulator.instruments import Instrument, InstrumentCatalog
from tradovate_api.stores import AccountView, AccountWriter, NewFill, create_account_store

ES = 7001
VPP, COMMISSION, BALANCE, TICK = 50.0, 2.05, 100_000.0, 0.25
KINDS = ("market", "limit", "stop", "bracket", "cancel", "modify", "liquidate", "move", "move",
         "move", "reject")

Op = tuple[str, str, int, int, int]
"""(kind, action, quantity, price offset in ticks, random seed of the step)."""


def _catalog() -> InstrumentCatalog:
    product = Product(id=1, name="ES", currency_id=1, product_type="Futures", description="ES",
                      exchange_id=1, contract_group_id=1, status="Verified",
                      value_per_point=VPP, price_format_type="Decimal", price_format=-2,
                      tick_size=TICK)
    maturity = ContractMaturity(id=2, product_id=1, expiration_month=202612,
                                expiration_date="2026-12-18T14:30Z", is_front=True)
    contract = Contract(id=ES, name="ESZ6", contract_maturity_id=2)
    return InstrumentCatalog([Instrument(product, maturity, contract, COMMISSION, 5000.0)])


class Market:
    """A simulator exchange with one user and account trading ES on a random book."""

    def __init__(self, rng_seed: int) -> None:
        self.book = Book(ES, TICK)
        self.now = dt.datetime(2026, 11, 24, 15, tzinfo=dt.UTC).timestamp()
        self.exchange = Exchange(_catalog(), {ES: self.book}, lambda: self.now,
                                 rng=random.Random(rng_seed))
        self.user = self.exchange.add_user("prop").id
        self.account = self.exchange.add_account(self.user, "P1", BALANCE).id
        self.mid = 20_000
        self.orders: list[int] = []
        self._rebuild(random.Random(rng_seed))

    def _rebuild(self, rnd: random.Random) -> None:
        self.book.bids = [PriceLevel(price=(self.mid - i) * TICK, size=rnd.randint(1, 5))
                          for i in range(1, 6)]
        self.book.offers = [PriceLevel(price=(self.mid + i) * TICK, size=rnd.randint(1, 5))
                            for i in range(1, 6)]
        self.book.last_price = self.mid * TICK

    def step(self, op: Op) -> list[EntityChange]:
        kind, action, qty, offset, seed = op
        rnd = random.Random(seed)
        self.now += 1.0
        ex, user = self.exchange, self.user
        base = {"action": action, "symbol": "ESZ6", "order_qty": qty,
                "account_id": self.account}
        away = offset * (-1 if action == "Buy" else 1)
        if kind in ("market", "limit", "stop"):
            fields: dict[str, object] = {}
            if kind == "limit":
                fields["price"] = (self.mid + away) * TICK
            if kind == "stop":
                fields["stop_price"] = (self.mid + (abs(offset) + 1) * (
                    1 if action == "Buy" else -1)) * TICK
            order_type = {"market": "Market", "limit": "Limit", "stop": "Stop"}[kind]
            result, changes = ex.place_order(user, PlaceOrder(order_type=order_type, **base,
                                                              **fields))  # type: ignore[arg-type]
            self.orders += [] if result.order_id is None else [result.order_id]
            return changes
        if kind == "bracket":
            exit_side = "Sell" if action == "Buy" else "Buy"
            sign = 1 if exit_side == "Sell" else -1
            oso, changes = ex.place_oso(user, PlaceOSO(
                order_type="Market", **base,  # type: ignore[arg-type]
                bracket1=RestrainedOrderVersion(action=exit_side, order_type="Limit",
                                                price=(self.mid + sign * 4) * TICK),
                bracket2=RestrainedOrderVersion(action=exit_side, order_type="Stop",
                                                stop_price=(self.mid - sign * 4) * TICK)))
            self.orders += [i for i in (oso.order_id, oso.oso1_id, oso.oso2_id) if i]
            return changes
        if kind == "cancel" and self.orders:
            return ex.cancel_order(user, CancelOrder(order_id=rnd.choice(self.orders)))[1]
        if kind == "modify" and self.orders:
            return ex.modify_order(user, ModifyOrder(
                order_id=rnd.choice(self.orders), order_qty=qty, order_type="Limit",
                price=(self.mid + away) * TICK))[1]
        if kind == "liquidate":
            return ex.liquidate_position(user, LiquidatePosition(account_id=self.account,
                                                                 contract_id=ES))[1]
        if kind == "reject":
            ex.reject_next(after_accept=rnd.random() < 0.5)
            return []
        self.mid += offset - 1
        trades = [(ES, Tick(id=seed * 10 + k, timestamp_ms=seed, price_ticks=t,
                            price=t * TICK, size=rnd.randint(1, 4)))
                  for k, t in enumerate(self.mid + rnd.randint(-2, 2)
                                        for _ in range(rnd.randint(0, 3)))]
        self._rebuild(rnd)
        return ex.on_market(MarketUpdate(now_ms=seed, trades=trades))


def _feed(writer: AccountWriter, changes: list[EntityChange]) -> None:
    """As the account reader would: wire-encode each change, decode, apply."""
    for change in changes:
        raw = msgspec.json.encode(change.entity)
        writer.apply(EntityEvent(change.entity_type, change.event_type,
                                 decode_entities(change.entity_type, raw)))


def _assert_matches_simulator(view: AccountView, market: Market) -> None:
    sync = market.exchange.sync(market.user)
    assert sync.positions, "the account traded at least once"
    realized = commissions = 0.0
    for position in sync.positions:
        assert view.position(position.account_id, position.contract_id) == position
        pnl = view.pnl(position.account_id, position.contract_id)
        assert pnl.net_pos == position.net_pos
        if position.net_price is None:
            assert pnl.avg_price is None
        else:
            assert pnl.avg_price == pytest.approx(position.net_price, abs=1e-9)
        realized += pnl.realized
        commissions += pnl.commissions
    (cash,) = sync.cash_balances
    assert cash.realized_pnl is not None
    assert realized == pytest.approx(cash.realized_pnl, abs=0.005)
    assert BALANCE + realized - commissions == pytest.approx(cash.amount, abs=0.005)
    assert view.cash_balance(market.account) == cash
    for order in sync.orders:
        state = view.order(order.id)
        assert state is not None
        assert state.order == order


ops = st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(("Buy", "Sell")),
                         st.integers(1, 4), st.integers(-3, 5), st.integers(0, 2**20)),
               min_size=1, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=ops, rng_seed=st.integers(0, 1000))
def test_store_fed_simulator_changes_matches_its_ledger(steps: list[Op], rng_seed: int) -> None:
    market = Market(rng_seed)
    view, writer = create_account_store(commission_per_side={"ES": COMMISSION})
    writer.apply_snapshot(market.exchange.sync(market.user))
    for op in [("market", "Buy", 1, 0, 1), *steps]:
        _feed(writer, market.step(op))
    _assert_matches_simulator(view, market)
    before = {f.id for f in view.fills()}
    report = writer.apply_snapshot(market.exchange.sync(market.user))
    assert not report.changed
    assert {f.id for f in view.fills()} == before


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=ops, rng_seed=st.integers(0, 1000), data=st.data())
def test_resync_after_a_disconnect_delivers_each_missed_fill_once(
        steps: list[Op], rng_seed: int, data: st.DataObject) -> None:
    market = Market(rng_seed)
    view, writer = create_account_store(commission_per_side={"ES": COMMISSION})
    writer.apply_snapshot(market.exchange.sync(market.user))
    all_ops: list[Op] = [("market", "Buy", 1, 0, 1), *steps]
    cut = data.draw(st.integers(0, len(all_ops)), label="disconnect after op")
    for op in all_ops[:cut]:
        _feed(writer, market.step(op))
    delivered = {f.id for f in view.fills() if view.is_delivered(f.id)}
    missed: list[EntityChange] = []
    for op in all_ops[cut:]:
        missed += market.step(op)
    report = writer.apply_snapshot(market.exchange.sync(market.user))
    missed_fills = {c.entity.id for c in missed  # type: ignore[attr-defined]
                    if c.entity_type == "fill" and c.event_type == "Created"}
    assert sorted(f.fill.id for f in report.new_fills) == sorted(missed_fills)
    assert not delivered & missed_fills
    _assert_matches_simulator(view, market)
    # Fill events that were in flight when the socket dropped arrive after the resync: none
    # is delivered twice and the ledger does not move.
    for change in missed:
        if change.entity_type != "fill":
            continue
        raw = msgspec.json.encode(change.entity)
        for record in writer.apply(EntityEvent(change.entity_type, change.event_type,
                                               decode_entities(change.entity_type, raw))):
            assert not isinstance(record, NewFill)
    sync = market.exchange.sync(market.user)
    for position in sync.positions:
        assert view.pnl(position.account_id, position.contract_id).net_pos == position.net_pos


def _superseded(sent: list[EntityChange]) -> list[EntityChange]:
    """Changes of an entity sent again in a newer version since (a replay of one is stale)."""
    newest: dict[tuple[str, int], int] = {}
    for index, change in enumerate(sent):
        newest[(change.entity_type, change.entity.id)] = index  # type: ignore[attr-defined]
    return [c for i, c in enumerate(sent)
            if newest[(c.entity_type, c.entity.id)] > i  # type: ignore[attr-defined]
            and c.event_type != "Deleted"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=ops, rng_seed=st.integers(0, 1000), data=st.data())
def test_stale_replayed_events_never_take_the_store_back(
        steps: list[Op], rng_seed: int, data: st.DataObject) -> None:
    """Tradovate documents no ordering across events (§3.2, §5.3): an event can arrive again
    after newer versions of its entity (the simulator's ``replayed_events``). A replayed
    older version must not undo a newer one: a done order never works again, a position
    never loses fills of its day, a cash balance never goes back — else the client keeps a
    cancelled stop as protection, or a filled order as working, until the next snapshot."""
    market = Market(rng_seed)
    view, writer = create_account_store(commission_per_side={"ES": COMMISSION})
    writer.apply_snapshot(market.exchange.sync(market.user))
    sent: list[EntityChange] = []
    for op in [("market", "Buy", 1, 0, 1), *steps]:
        changes = market.step(op)
        _feed(writer, changes)
        sent += changes
        stale = _superseded(sent[-60:])
        for _ in range(data.draw(st.integers(0, 3), label="replays")):
            if stale:
                _feed(writer, [data.draw(st.sampled_from(stale), label="replayed")])
    _assert_matches_simulator(view, market)
    for order in market.exchange.sync(market.user).orders:
        state = view.order(order.id)
        assert state is not None
        assert state.order.ord_status == order.ord_status
