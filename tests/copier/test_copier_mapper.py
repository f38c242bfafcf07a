"""The leader-event → intent mapper and its ledger, on hand-built account changes: each
leader order, version, cancel, strategy and fill is acted on once, whatever repeats."""

from __future__ import annotations

from tradovate_api.orders.copier import CopyLedger, IntentKind, LeaderMapper
from tradovate_api.orders.copier.ledger import copy_text, leader_of_text
from tradovate_api.protocol.models import Fill, Order, OrderStrategy, OrderVersion
from tradovate_api.protocol.models._base import TradeDate
from tradovate_api.stores import NewFill, OrderState, StrategyState, create_account_store

LEADER, OTHER, ES = 10, 11, 400
STAMP = "2026-11-24T15:00:00Z"
PARAMS = ('{"entryVersion":{"orderQty":2,"orderType":"Limit","price":5000.0},'
          '"brackets":[{"qty":1,"profitTarget":4.0,"stopLoss":-2.0,"trailingStop":false},'
          '{"qty":1,"profitTarget":8.0,"stopLoss":-2.0}]}')


def state(order_id: int, *, account: int = LEADER, status: str = "Working",
          version: int | None = 1, qty: int = 2, order_type: str = "Limit",
          price: float | None = 5000.0, stop: float | None = None, filled: int = 0,
          parent: int | None = None, admin: bool | None = None,
          cl_ord_id: str | None = None) -> OrderState:
    order = Order(id=order_id, account_id=account, timestamp=STAMP, action="Buy",
                  ord_status=status, contract_id=ES, parent_id=parent, admin=admin)
    ver = None if version is None else OrderVersion(id=version, order_id=order_id,
                                                     order_qty=qty, order_type=order_type,
                                                     price=price, stop_price=stop)
    return OrderState(order, ver, (), filled, None, cl_ord_id=cl_ord_id)


def mapper(mode: str = "orders", own_prefix: str | None = None) -> tuple[LeaderMapper,
                                                                          CopyLedger]:
    account, _ = create_account_store()
    ledger = CopyLedger(3)
    return LeaderMapper(LEADER, account, ledger, mode=mode, own_prefix=own_prefix), ledger


def test_an_order_is_placed_once_then_modified_once_per_version_then_cancelled_once() -> None:
    m, ledger = mapper()
    first = state(1)
    [intent] = m.on_changes([first], 111)
    assert (intent.kind, intent.leader_id, intent.action, intent.qty, intent.order_type,
            intent.price) == (IntentKind.PLACE, 1, "Buy", 2, "Limit", 5000.0)
    assert intent.order is ledger.orders[1]
    assert ledger.orders[1].seen_ns == 111
    # The same event again (a duplicated props event, a snapshot after a reconnect).
    assert not m.on_changes([first, first], 222)
    moved = state(1, version=7, price=4999.0)
    [modify] = m.on_changes([moved], 333)
    assert (modify.kind, modify.qty, modify.price) == (IntentKind.MODIFY, 2, 4999.0)
    assert not m.on_changes([moved], 444)
    # A new version that changes nothing we mirror (say, its text) is not a modify.
    assert not m.on_changes([state(1, version=8, price=4999.0)], 555)
    gone = state(1, version=8, price=4999.0, status="Canceled")
    [cancel] = m.on_changes([gone], 666)
    assert cancel.kind is IntentKind.CANCEL
    assert not m.on_changes([gone, gone], 777)


def test_what_is_not_copied() -> None:
    m, ledger = mapper()
    changes = [
        state(1, account=OTHER),  # another account
        state(2, version=None),  # no version yet: waits
        state(3, parent=99),  # a bracket's leg
        state(4, admin=True),  # the exchange's own (auto-liquidation)
        state(5, cl_ord_id="abc-3-ps"),  # the app's protective stop
        state(6, status="Rejected"),  # never worked
        state(7, order_type="TrailingStop", price=None, stop=4990.0),
    ]
    intents = m.on_changes(changes, 1)
    assert [(i.kind, i.leader_id) for i in intents] == [(IntentKind.UNSUPPORTED, 7)]
    assert set(ledger.skipped) == {3, 4, 5, 6, 7}
    assert not ledger.orders
    # Its version arrives: now it is copied.
    [placed] = m.on_changes([state(2)], 2)
    assert placed.kind is IntentKind.PLACE


def test_an_order_first_seen_filled_is_copied_as_a_market_order() -> None:
    m, _ = mapper()
    [intent] = m.on_changes([state(1, status="Filled", filled=2)], 1)
    assert (intent.order_type, intent.price, intent.qty) == ("Market", None, 2)


def test_source_strategy_copies_only_the_runs_own_orders() -> None:
    m, ledger = mapper(own_prefix="run1")
    intents = m.on_changes([state(1, cl_ord_id="run1-4"), state(2, cl_ord_id=None),
                            state(3, cl_ord_id="run2-1")], 1)
    assert [i.leader_id for i in intents] == [1]
    assert set(ledger.skipped) == {2, 3}


def test_a_strategy_is_one_bracket_its_entry_follows_it_and_an_interrupt_goes_once() -> None:
    m, ledger = mapper()
    entity = OrderStrategy(id=50, account_id=LEADER, timestamp=STAMP, contract_id=ES,
                           order_strategy_type_id=2, action="Buy", status="ActiveStrategy",
                           params=PARAMS)
    [bracket] = m.on_changes([StrategyState(entity, ())], 1)
    assert (bracket.kind, bracket.qty, bracket.order_type, bracket.price) == (
        IntentKind.BRACKET, 2, "Limit", 5000.0)
    assert [(b.qty, b.target_offset, b.stop_offset) for b in bracket.brackets] == [
        (1, 4.0, -2.0), (1, 8.0, -2.0)]
    assert not m.on_changes([StrategyState(entity, ())], 2)
    # Its entry order arrives before the link: it belongs to the strategy, not copied alone;
    # its modification goes to the followers' entries (the strategies' tickets).
    assert not m.on_changes([state(60)], 3)
    assert ledger.orders[60].tickets is ledger.strategies[50].tickets
    assert ledger.strategies[50].entry_id == 60
    [modify] = m.on_changes([state(60, version=2, price=4998.0)], 4)
    assert modify.kind is IntentKind.MODIFY
    stopped = StrategyState(OrderStrategy(
        id=50, account_id=LEADER, timestamp=STAMP, contract_id=ES, order_strategy_type_id=2,
        action="Buy", status="StoppedByUser", params=PARAMS), ())
    [interrupt] = m.on_changes([stopped], 5)
    assert interrupt.kind is IntentKind.INTERRUPT
    assert not m.on_changes([stopped], 6)


def test_fills_mode_copies_each_fill_once_as_the_cumulative_fill() -> None:
    m, ledger = mapper("fills")
    order = state(1).order
    date = TradeDate(year=2026, month=11, day=24)

    def fill(fill_id: int, qty: int) -> NewFill:
        return NewFill(Fill(id=fill_id, order_id=1, contract_id=ES, timestamp=STAMP,
                            trade_date=date, action="Buy", qty=qty, price=5000.0,
                            active=True), order)

    assert not m.on_changes([state(1)], 1)  # orders themselves are not copied
    [first] = m.on_changes([fill(100, 1)], 2)
    assert (first.kind, first.qty, first.order_type) == (IntentKind.FILL, 1, "Market")
    assert not m.on_changes([fill(100, 1)], 3)  # the same fill again
    [second] = m.on_changes([fill(101, 2)], 4)
    assert second.qty == 3  # cumulative: 1 + 2
    assert ledger.orders[1].filled == 3


def test_copy_text_names_the_leader_order() -> None:
    assert copy_text(4711) == "copy 4711"
    assert leader_of_text("copy 4711") == 4711
    assert leader_of_text("copy x") is None
    assert leader_of_text(None) is None
    assert leader_of_text("protective stop") is None
