"""Fuzzing the stores with decoded input: whatever valid or mutated ``md``/``chart``/``props``
messages arrive, in whatever order and however often, the writers never raise and never break
their invariants (DOM sides sorted with matching totals, quotes equal to a reference merge,
time and sales ordered, unique and bounded, bars ordered; each fill delivered exactly once,
positions and P&L equal to the fills the server holds)."""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

import msgspec
from fuzz_strategies import CONTRACTS, market_message, mutated_json, wire_struct
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradovate_api.protocol import (
    ChartEvent,
    EntityEvent,
    MarketDataEvent,
    Messages,
    decode_frame,
)
from tradovate_api.protocol import models as m
from tradovate_api.stores import (
    BustedFill,
    MarketDataView,
    MissingContractSpec,
    NewFill,
    create_account_store,
    create_market_store,
)

FUZZ = settings(max_examples=250, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TRADES_KEPT = 12
BARS_KEPT = 3
_ENTRY_FIELDS = {"Bid": ("bid", "bid_size"), "Offer": ("ask", "ask_size"),
                 "Trade": ("last", "last_size"), "TotalTradeVolume": (None, "total_volume"),
                 "OpenInterest": (None, "open_interest"), "HighPrice": ("high", None),
                 "LowPrice": ("low", None), "OpeningPrice": ("open", None),
                 "SettlementPrice": ("settlement", None)}


def _decoded(message: Any) -> list[Any]:
    frame = decode_frame(b"a" + msgspec.json.encode([message]))
    assert isinstance(frame, Messages)
    return frame.items


def _check_market_invariants(view: MarketDataView, expected_quotes: dict[int, dict[str, Any]]
                             ) -> None:
    for contract_id, book in view.doms.items():
        bids = [level.price for level in book.bids]
        offers = [level.price for level in book.offers]
        assert bids == sorted(bids, reverse=True)
        assert offers == sorted(offers)
        assert book.bid_size_total == sum(level.size for level in book.bids)
        assert book.offer_size_total == sum(level.size for level in book.offers)
        assert book.contract_id == contract_id
    for contract_id, quote in view.quotes.items():
        fields = expected_quotes[contract_id]
        actual = {name: getattr(quote, name) for name in fields}
        assert actual == fields, f"quote of {contract_id} is not the merge of its pushes"
    for contract_id in CONTRACTS:
        trades = view.trades(contract_id)
        keys = [(t.timestamp_ms, t.id) for t in trades]
        assert keys == sorted(keys)
        assert len({t.id for t in trades}) == len(trades)
        assert len(trades) <= TRADES_KEPT
        bars = view.bars(contract_id, "1m")
        stamps = [bar.timestamp for bar in bars]
        assert stamps == sorted(set(stamps))
        assert len(bars) <= BARS_KEPT
        view.window(contract_id)
        view.mark_price(contract_id)
    view.window()
    view.dom_totals()


def _merge_expected(expected: dict[int, dict[str, Any]], quote: m.Quote) -> None:
    fields = expected.setdefault(quote.contract_id, {})
    for wire_name, (price_field, size_field) in _ENTRY_FIELDS.items():
        entry = getattr(quote.entries, {"Offer": "offer", "Bid": "bid", "Trade": "trade",
                                        "TotalTradeVolume": "total_trade_volume",
                                        "OpenInterest": "open_interest",
                                        "HighPrice": "high_price", "LowPrice": "low_price",
                                        "OpeningPrice": "opening_price",
                                        "SettlementPrice": "settlement_price"}[wire_name])
        for field, value in ((price_field, entry and entry.price),
                             (size_field, entry and entry.size)):
            if field is not None:
                if value is not None:
                    fields[field] = value
                else:
                    fields.setdefault(field, None)


@FUZZ
@given(messages=st.lists(market_message | market_message.flatmap(mutated_json), max_size=25))
def test_market_store_survives_any_decoded_stream(messages: list[Any]) -> None:
    clock = [1_700_000_050_000]
    view, writer = create_market_store(clock_ms=lambda: clock[0],
                                       trades_per_contract=TRADES_KEPT,
                                       bars_per_series=BARS_KEPT)
    writer.register_chart(CONTRACTS[0], 7, 8)
    writer.register_chart(CONTRACTS[1], 9, 10, series="1m")
    expected: dict[int, dict[str, Any]] = {}
    bad_packets = 0
    for message in messages:
        for event in _decoded(message):
            if not isinstance(event, MarketDataEvent | ChartEvent):
                continue
            changes = writer.apply(event)
            if isinstance(event, ChartEvent):
                bad_packets += sum(1 for p in event.data.charts
                                   if p.id in (7, 8, 9, 10) and not p.eoh and p.tks
                                   and None in (p.bp, p.bt, p.ts))
            if isinstance(event, MarketDataEvent):
                for quote in event.data.quotes:
                    _merge_expected(expected, quote)
                assert len(changes) == len(event.data.quotes) + len(event.data.doms)
        clock[0] += 250
        _check_market_invariants(view, expected)
    assert view.bad_packets == bad_packets, "a malformed tick packet was not skipped and counted"
    writer.clear_books()
    assert not view.quotes
    assert not view.doms


# ------------------------------------------------------------------------ account store

ACCOUNTS = (1, 2)
ACCOUNT_CONTRACTS = {101: "ESM4", 102: "NQM4"}
TS = "2024-03-01T14:30:00Z"
TD = m.TradeDate(year=2024, month=3, day=1)


@st.composite
def _world(draw: st.DrawFn) -> dict[str, list[list[m.WireModel]]]:
    """Per-entity version chains of a small account history: orders (PendingNew → Working
    → Filled/Canceled), their New commands with a clOrdId, fills (some busted later) and
    positions. Each chain's versions reach the client in order; chains interleave freely."""
    orders: list[list[m.WireModel]] = []
    commands: list[list[m.WireModel]] = []
    fills: list[list[m.WireModel]] = []
    positions: list[list[m.WireModel]] = []
    next_fill = 100
    for order_id in range(1, draw(st.integers(1, 6)) + 1):
        account = draw(st.sampled_from(ACCOUNTS))
        contract = draw(st.sampled_from(sorted(ACCOUNT_CONTRACTS)))
        action = draw(st.sampled_from(["Buy", "Sell"]))

        def order(status: str, order_id: int = order_id, account: int = account,
                  contract: int = contract, action: str = action) -> m.Order:
            return m.Order(id=order_id, account_id=account, contract_id=contract, timestamp=TS,
                           action=action, ord_status=status, admin=False)

        final = draw(st.sampled_from(["Filled", "Canceled", "Working"]))
        orders.append([order("PendingNew"), order("Working")]
                      + ([order(final)] if final != "Working" else []))
        commands.append([m.Command(id=order_id, order_id=order_id, timestamp=TS,
                                   command_type="New", command_status="OnHold",
                                   cl_ord_id=f"run-{order_id}")])
        for _ in range(draw(st.integers(0, 3))):
            fill = m.Fill(id=next_fill, order_id=order_id, contract_id=contract, timestamp=TS,
                          trade_date=TD, action=action, qty=draw(st.integers(1, 3)),
                          price=draw(st.integers(16_000, 16_040)) * 0.25, active=True,
                          finally_paired=0)
            chain: list[m.WireModel] = [fill]
            if draw(st.booleans()) and draw(st.booleans()):
                chain.append(msgspec.structs.replace(fill, active=False))
            fills.append(chain)
            next_fill += 1
    for position_id, (account, contract) in enumerate(
            sorted({(o[0].account_id, o[0].contract_id) for o in orders}), start=500):
        positions.append([
            m.Position(id=position_id, account_id=account, contract_id=contract, timestamp=TS,
                       trade_date=TD, net_pos=draw(st.integers(-5, 5)), bought=0,
                       bought_value=0.0, sold=0, sold_value=0.0, prev_pos=0)
            for _ in range(draw(st.integers(1, 3)))])
    return {"order": orders, "command": commands, "fill": fills, "position": positions}


_ENTITY_NAME = {m.Order: "order", m.Command: "command", m.Fill: "fill", m.Position: "position"}
_SYNC_FIELD = {"order": "orders", "command": "commands", "fill": "fills",
               "position": "positions"}


def _props_event(entity: m.WireModel, event_type: str) -> EntityEvent:
    entity_type = _ENTITY_NAME[type(entity)]
    items = _decoded({"e": "props", "d": {"entityType": entity_type, "eventType": event_type,
                                          "entity": msgspec.to_builtins(entity)}})
    event = items[0]
    assert isinstance(event, EntityEvent)
    return event


@FUZZ
@given(world=_world(), data=st.data())
def test_account_store_delivers_each_fill_once_whatever_the_order(world: dict[str, Any],
                                                                  data: st.DataObject) -> None:
    view, writer = create_account_store(value_per_point={"ES": 50.0, "NQ": 20.0})
    writer.add_reference([m.Contract(id=cid, name=name, contract_maturity_id=1)
                          for cid, name in ACCOUNT_CONTRACTS.items()])
    chains = [chain for kind in world.values() for chain in kind]
    emitted = [0] * len(chains)
    delivered: Counter[int] = Counter()
    busted: Counter[int] = Counter()

    def count(changes: list[Any]) -> None:
        for change in changes:
            if isinstance(change, NewFill):
                delivered[change.fill.id] += 1
            elif isinstance(change, BustedFill):
                busted[change.fill.id] += 1

    def snapshot() -> None:
        entities: dict[str, list[Any]] = {field: [] for field in _SYNC_FIELD.values()}
        for index, chain in enumerate(chains):
            # The server is ahead of what was delivered: events in between were missed.
            emitted[index] = data.draw(st.integers(emitted[index], len(chain)))
            if emitted[index]:
                latest = chain[emitted[index] - 1]
                entities[_SYNC_FIELD[_ENTITY_NAME[type(latest)]]].append(latest)
        report = writer.apply_snapshot(m.SyncMessage(**entities))
        count(list(report.new_fills) + list(report.busted_fills))

    snapshots_left = 4
    while pending := [i for i, chain in enumerate(chains) if emitted[i] < len(chain)]:
        # Bounded: each pass emits one version, or takes one of at most 4 snapshots.
        if snapshots_left and data.draw(st.integers(0, 9)) == 9:
            snapshots_left -= 1
            snapshot()
            continue
        index = data.draw(st.sampled_from(pending))
        entity = chains[index][emitted[index]]
        event = _props_event(entity, "Created" if emitted[index] == 0 else "Updated")
        emitted[index] += 1
        for _ in range(data.draw(st.integers(1, 2))):  # sometimes delivered twice
            count(writer.apply(event))
    if data.draw(st.booleans()):
        snapshot()

    finals = {type(chain[-1]): {} for chain in chains}
    for chain in chains:
        finals[type(chain[-1])][chain[-1].id] = chain[-1]
    fills: dict[int, m.Fill] = finals.get(m.Fill, {})
    orders: dict[int, m.Order] = finals.get(m.Order, {})
    assert all(n == 1 for n in delivered.values()), f"a fill was delivered twice: {delivered}"
    for fill_id, fill in fills.items():
        if fill.active:
            assert delivered[fill_id] == 1, f"active fill {fill_id} never delivered"
        assert busted[fill_id] <= delivered[fill_id]
        assert view.fill(fill_id) == fill
    for order_id, order in orders.items():
        state = view.order(order_id)
        assert state is not None
        assert state.order == order
        assert state.cl_ord_id == f"run-{order_id}"
        assert view.order_by_cl_ord_id(f"run-{order_id}") == state
        active = [f for f in fills.values() if f.order_id == order_id and f.active]
        assert state.filled_qty == sum(f.qty for f in active)
    for account in ACCOUNTS:
        for contract in ACCOUNT_CONTRACTS:
            active = [f for f in fills.values() if f.active
                      and orders[f.order_id].account_id == account
                      and f.contract_id == contract]
            net = sum(f.qty if f.action == "Buy" else -f.qty for f in active)
            pnl = view.pnl(account, contract, mark=4000.0)
            assert pnl.net_pos == net
            assert pnl.commissions == 0.0
    for position in finals.get(m.Position, {}).values():
        assert view.position(position.account_id, position.contract_id) == position


_ENTITY_TYPES = sorted(m.ENTITY_CLASSES)


@st.composite
def _arbitrary_props(draw: st.DrawFn) -> Any:
    entity_type = draw(st.sampled_from(_ENTITY_TYPES))
    entity = draw(wire_struct(m.ENTITY_CLASSES[entity_type]))
    if draw(st.booleans()):
        entity = [entity, draw(wire_struct(m.ENTITY_CLASSES[entity_type]))]
    message = {"e": "props", "d": {"entityType": entity_type, "entity": entity,
                                   "eventType": draw(st.sampled_from(
                                       ["Created", "Updated", "Deleted", "Other"]))}}
    return draw(st.just(message) | mutated_json(message))


@FUZZ
@given(messages=st.lists(_arbitrary_props(), max_size=20),
       sync=st.none() | wire_struct(m.SyncMessage), sync_at=st.integers(0, 20))
def test_account_store_survives_arbitrary_entities(messages: list[Any], sync: Any,
                                                   sync_at: int) -> None:
    view, writer = create_account_store(default_commission_per_side=1.0,
                                        value_per_point={"ES": 50.0})
    seen: Counter[int] = Counter()
    for index, message in enumerate([*messages, None]):
        if index == sync_at and sync is not None:
            snapshot = msgspec.convert(sync, m.SyncMessage)
            report = writer.apply_snapshot(snapshot)
            seen.update(f.fill.id for f in report.new_fills)
        if message is None:
            break
        for event in _decoded(message):
            if isinstance(event, EntityEvent):
                seen.update(c.fill.id for c in writer.apply(event) if isinstance(c, NewFill))
    assert all(n == 1 for n in seen.values())
    for (account_id, contract_id) in {(s.order.account_id, s.order.contract_id)
                                      for s in view.orders.values()}:
        if contract_id is not None:
            with contextlib.suppress(MissingContractSpec):  # documented: product unknown
                view.pnl(account_id, contract_id, mark=1.0)
    view.open_orders()
    for state in view.orders.values():
        assert state.filled_qty == sum(f.qty for f in state.fills)
