"""Order strategies in the account store: ``orderStrategy`` and ``orderStrategyLink`` entities
from props events and the snapshot, in any order, and the read-only views over them; and the
client order id an order strategy's orders share (its request's ``customTag50``), which must
find the entry, not a bracket."""

from __future__ import annotations

import msgspec

from tradovate_api.protocol import EntityEvent, Props, PropsEvent, decode_messages, encode_messages
from tradovate_api.protocol.models import (
    Account,
    Command,
    Order,
    OrderStrategy,
    OrderStrategyLink,
    SyncMessage,
    WireModel,
)
from tradovate_api.stores import (
    AccountView,
    AccountWriter,
    OrderState,
    Removed,
    StrategyState,
    create_account_store,
)

ACC, ES = 33, 2710963
TS = "2024-01-02T15:00:00.000Z"
TAG = "run1-7"
ACCOUNT = Account(id=ACC, name="DEMO1", user_id=90, account_type="Customer", active=True,
                  clearing_house_id=2, risk_category_id=2, auto_liq_profile_id=2,
                  margin_account_type="Speculator", legal_status="Individual", timestamp=TS)
ENTRY, TARGET, STOP = 101, 104, 107


def _event(entity_type: str, entity: WireModel, event_type: str = "Created") -> EntityEvent:
    frame = encode_messages([PropsEvent(Props(entity_type=entity_type, event_type=event_type,
                                              entity=msgspec.Raw(msgspec.json.encode(entity))))])
    (message,) = decode_messages(frame[1:])
    assert isinstance(message, EntityEvent)
    return message


def _strategy(status: str = "ActiveStrategy", ident: int = 50, tag: str | None = TAG,
              uuid: str | None = "u-1") -> OrderStrategy:
    return OrderStrategy(id=ident, account_id=ACC, timestamp=TS, contract_id=ES,
                         order_strategy_type_id=2, action="Buy", status=status,
                         custom_tag50=tag, uuid=uuid)


def _link(ident: int, order_id: int, label: str, strategy_id: int = 50) -> OrderStrategyLink:
    return OrderStrategyLink(id=ident, order_strategy_id=strategy_id, order_id=order_id,
                             label=label)


def _order(ident: int, action: str = "Buy", status: str = "Working") -> Order:
    return Order(id=ident, account_id=ACC, contract_id=ES, timestamp=TS, action=action,
                 ord_status=status, admin=False, parent_id=None if ident == ENTRY else ENTRY)


def _command(order_id: int) -> Command:
    """A New command of the strategy's order: no clOrdId, the request's customTag50."""
    return Command(id=order_id + 1, order_id=order_id, timestamp=TS, command_type="New",
                   command_status="AtExecution", custom_tag50=TAG)


def _store() -> tuple[AccountView, AccountWriter]:
    view, writer = create_account_store()
    writer.apply_snapshot(SyncMessage(accounts=[ACCOUNT]))
    return view, writer


def _apply(writer: AccountWriter, entity_type: str, entity: WireModel,
           event_type: str = "Created") -> list[object]:
    return list(writer.apply(_event(entity_type, entity, event_type)))


def _strategy_with_brackets(writer: AccountWriter) -> None:
    """The simulator's order: strategy, entry (order, command, link), then per fill the
    target and the stop (orders, commands, links)."""
    _apply(writer, "orderStrategy", _strategy())
    for order_id, action, label, link_id in ((ENTRY, "Buy", "Entry", 60),
                                             (TARGET, "Sell", "Target", 61),
                                             (STOP, "Sell", "Stop", 62)):
        _apply(writer, "command", _command(order_id))
        _apply(writer, "order", _order(order_id, action))
        _apply(writer, "orderStrategyLink", _link(link_id, order_id, label))


def test_a_strategy_and_its_orders_from_props() -> None:
    view, writer = _store()
    changes = _apply(writer, "orderStrategy", _strategy())
    (state,) = changes
    assert isinstance(state, StrategyState)
    assert (state.id, state.status, state.is_done, state.entry_id) == (
        50, "ActiveStrategy", False, None)
    _strategy_with_brackets(writer)
    state_now = view.order_strategy(50)
    assert state_now is not None
    assert state_now.entry_id == ENTRY
    assert state_now.bracket_ids == (TARGET, STOP)
    assert state_now.order_ids() == (ENTRY, TARGET, STOP)
    assert [s.id for s in view.strategy_orders(50)] == [ENTRY, TARGET, STOP]
    assert [s.id for s in view.strategy_orders(50, "Stop")] == [STOP]
    for order_id in (ENTRY, TARGET, STOP):
        owner = view.strategy_of_order(order_id)
        assert owner is not None
        assert owner.id == 50
    assert view.strategy_of_order(999) is None
    assert view.order_strategy_by_client_id(TAG) is state_now
    assert view.order_strategy_by_client_id("u-1") is state_now
    assert view.order_strategies(ACC, working=True) == (state_now,)
    ended = _apply(writer, "orderStrategy", _strategy("StoppedByUser"), "Updated")
    assert [c.status for c in ended if isinstance(c, StrategyState)] == ["StoppedByUser"]
    done = view.order_strategy(50)
    assert done is not None
    assert done.is_done
    assert view.order_strategies(ACC, working=True) == ()
    assert view.order_strategies() == (done,)


def test_a_link_reported_once_per_change_and_duplicates_report_nothing() -> None:
    _, writer = _store()
    _apply(writer, "orderStrategy", _strategy())
    first = _apply(writer, "orderStrategyLink", _link(60, ENTRY, "Entry"))
    assert [type(c) for c in first] == [StrategyState]
    assert _apply(writer, "orderStrategyLink", _link(60, ENTRY, "Entry")) == []  # duplicate
    assert _apply(writer, "orderStrategy", _strategy()) == []  # replayed, unchanged


def test_links_before_their_strategy_are_kept() -> None:
    view, writer = _store()
    assert _apply(writer, "orderStrategyLink", _link(60, ENTRY, "Entry")) == []
    assert view.strategy_of_order(ENTRY) is None  # no strategy entity yet
    (state,) = _apply(writer, "orderStrategy", _strategy())
    assert isinstance(state, StrategyState)
    assert state.entry_id == ENTRY
    owner = view.strategy_of_order(ENTRY)
    assert owner is not None
    assert owner.id == 50


def test_the_client_order_id_finds_the_entry_not_a_bracket() -> None:
    """Every order of a strategy carries its request's customTag50: the order manager finds
    the entry by it (a lost answer), so the first command carrying it must win — on main the
    stop, created last, took the id."""
    view, writer = _store()
    _strategy_with_brackets(writer)
    found = view.order_by_cl_ord_id(TAG)
    assert found is not None
    assert found.id == ENTRY
    command = view.command_by_cl_ord_id(TAG)
    assert command is not None
    assert command.order_id == ENTRY
    stop = view.order(STOP)
    assert stop is not None
    assert stop.cl_ord_id == TAG  # each order still says whose request made it


def test_brackets_arriving_before_the_entry_do_not_take_its_client_order_id() -> None:
    view, writer = _store()
    for order_id in (STOP, TARGET, ENTRY):  # out of order (a replayed or delayed event)
        _apply(writer, "command", _command(order_id))
        _apply(writer, "order", _order(order_id))
    found = view.order_by_cl_ord_id(TAG)
    assert found is not None
    assert found.id == ENTRY


def test_the_snapshot_replaces_strategies_and_links() -> None:
    view, writer = _store()
    _apply(writer, "orderStrategy", _strategy(ident=49, tag="old", uuid=None))
    snapshot = SyncMessage(
        accounts=[ACCOUNT], orders=[_order(ENTRY, status="Filled"), _order(TARGET, "Sell"),
                                    _order(STOP, "Sell")],
        commands=[_command(STOP), _command(ENTRY), _command(TARGET)],
        order_strategies=[_strategy()],
        order_strategy_links=[_link(62, STOP, "Stop"), _link(60, ENTRY, "Entry"),
                              _link(61, TARGET, "Target")])
    writer.apply_snapshot(snapshot)
    assert view.order_strategy(49) is None
    assert view.order_strategy_by_client_id("old") is None
    state = view.order_strategy_by_client_id(TAG)
    assert state is not None
    assert (state.entry_id, state.bracket_ids) == (ENTRY, (TARGET, STOP))
    entry = view.order_by_cl_ord_id(TAG)
    assert isinstance(entry, OrderState)
    assert entry.id == ENTRY


def test_deleted_strategies_and_links_are_forgotten() -> None:
    view, writer = _store()
    _strategy_with_brackets(writer)
    changes = _apply(writer, "orderStrategyLink", _link(62, STOP, "Stop"), "Deleted")
    assert Removed("orderStrategyLink", 62) in changes
    state = view.order_strategy(50)
    assert state is not None
    assert state.bracket_ids == (TARGET,)
    assert view.strategy_of_order(STOP) is None
    changes = _apply(writer, "orderStrategy", _strategy(), "Deleted")
    assert changes == [Removed("orderStrategy", 50)]
    assert view.order_strategy(50) is None
    assert view.order_strategy_by_client_id(TAG) is None
    assert view.strategy_of_order(ENTRY) is None
