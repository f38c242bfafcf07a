"""Account store against hand-computed sequences of sync snapshots and props events."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradovate_api.protocol import EntityEvent, Props, PropsEvent, decode_messages, encode_messages
from tradovate_api.protocol.models import (
    Account,
    CashBalance,
    Command,
    CommandReport,
    Contract,
    ContractMaturity,
    ExecutionReport,
    Fill,
    Order,
    OrderVersion,
    Position,
    Product,
    SyncMessage,
    TradeDate,
    WireModel,
)
from tradovate_api.stores import (
    AccountView,
    AccountWriter,
    BustedFill,
    MissingContractSpec,
    NewFill,
    OrderState,
    OrderStatusChange,
    Removed,
    create_account_store,
)

ACC, ES, NQ = 33, 2710963, 2710964
TS = "2024-01-02T15:00:00.000Z"
TD = TradeDate(year=2024, month=1, day=2)
COMMISSION = 2.05

ES_PRODUCT = Product(id=810, name="ES", currency_id=1, product_type="Futures",
                     description="E-mini S&P", exchange_id=1, contract_group_id=1,
                     status="Verified", value_per_point=50.0, price_format_type="Decimal",
                     price_format=-2, tick_size=0.25)
ES_MATURITY = ContractMaturity(id=46104, product_id=810, expiration_month=202403,
                               expiration_date="2024-03-15T13:30Z", is_front=True)
ES_CONTRACT = Contract(id=ES, name="ESH4", contract_maturity_id=46104)
ACCOUNT = Account(id=ACC, name="DEMO1", user_id=90, account_type="Customer", active=True,
                  clearing_house_id=2, risk_category_id=2, auto_liq_profile_id=2,
                  margin_account_type="Speculator", legal_status="Individual", timestamp=TS)


def _store() -> tuple[AccountView, AccountWriter]:
    view, writer = create_account_store(commission_per_side={"ES": COMMISSION})
    writer.add_reference([ES_PRODUCT, ES_MATURITY, ES_CONTRACT])
    return view, writer


def _event(entity_type: str, entity: WireModel, event_type: str = "Created") -> EntityEvent:
    """Through the wire: encode a props frame and decode it as the reader would."""
    frame = encode_messages([PropsEvent(Props(entity_type=entity_type, event_type=event_type,
                                              entity=msgspec.Raw(msgspec.json.encode(entity))))])
    (message,) = decode_messages(frame[1:])
    assert isinstance(message, EntityEvent)
    return message


def _order(ident: int, action: str = "Buy", status: str = "Working",
           contract_id: int = ES) -> Order:
    return Order(id=ident, account_id=ACC, contract_id=contract_id, timestamp=TS, action=action,
                 ord_status=status, admin=False)


def _command(ident: int, order_id: int, kind: str = "New", status: str = "Pending",
             cl_ord_id: str | None = None) -> Command:
    return Command(id=ident, order_id=order_id, timestamp=TS, command_type=kind,
                   command_status=status, cl_ord_id=cl_ord_id)


def _version(ident: int, order_id: int, qty: int, price: float | None = None) -> OrderVersion:
    return OrderVersion(id=ident, order_id=order_id, order_qty=qty,
                        order_type="Limit" if price is not None else "Market", price=price)


def _fill(ident: int, order_id: int, action: str, qty: int, price: float,
          active: bool = True, paired: int = 0) -> Fill:
    return Fill(id=ident, order_id=order_id, contract_id=ES, timestamp=TS, trade_date=TD,
                action=action, qty=qty, price=price, active=active, finally_paired=paired)


def _position(net: int, price: float | None, bought: int = 0, sold: int = 0) -> Position:
    return Position(id=500, account_id=ACC, contract_id=ES, timestamp=TS, trade_date=TD,
                    net_pos=net, net_price=price, bought=bought, bought_value=0.0, sold=sold,
                    sold_value=0.0, prev_pos=0)


def _apply_all(writer: AccountWriter, *events: EntityEvent) -> list[object]:
    changes: list[object] = []
    for event in events:
        changes += writer.apply(event)
    return changes


def _trade(writer: AccountWriter, order_id: int, fill_id: int, action: str, qty: int,
           price: float) -> None:
    _apply_all(writer, _event("order", _order(order_id, action, "Filled")),
               _event("fill", _fill(fill_id, order_id, action, qty, price)))


def test_order_lifecycle_with_partial_fills() -> None:
    view, writer = _store()
    changes = _apply_all(
        writer,
        _event("command", _command(11, 10, cl_ord_id="strategy-1")),
        _event("orderVersion", _version(11, 10, 3, price=5000.0)),
        _event("order", _order(10, status="PendingNew")))
    state = view.order(10)
    assert state is not None
    assert changes == [state]  # command/version before the order: one state once it exists
    assert (state.status, state.version, state.cl_ord_id) == (
        "PendingNew", _version(11, 10, 3, price=5000.0), "strategy-1")
    assert view.order_by_cl_ord_id("strategy-1") is state
    report = CommandReport(id=12, command_id=11, timestamp=TS, command_status="AtExecution",
                           ord_status="Working")
    assert writer.apply(_event("commandReport", report)) == [report]  # state unchanged
    assert view.command_reports(11) == (report,)
    (working,) = writer.apply(_event("order", _order(10), "Updated"))
    assert isinstance(working, OrderState)
    assert (working.status, working.remaining, working.partially_filled) == ("Working", 3, False)
    first = _fill(20, 10, "Buy", 1, 5000.0)
    fill_changes = writer.apply(_event("fill", first))
    assert [type(c) for c in fill_changes] == [OrderState, NewFill]
    partial = fill_changes[0]
    assert isinstance(partial, OrderState)
    assert (partial.filled_qty, partial.remaining, partial.partially_filled) == (1, 2, True)
    assert fill_changes[1] == NewFill(first, _order(10))
    writer.apply(_event("fill", _fill(21, 10, "Buy", 2, 4999.75)))
    (filled,) = writer.apply(_event("order", _order(10, status="Filled"), "Updated"))
    assert isinstance(filled, OrderState)
    assert (filled.is_done, filled.filled_qty, filled.remaining) == (True, 3, 0)
    assert filled.avg_fill_price == pytest.approx((5000.0 + 2 * 4999.75) / 3)
    assert view.open_orders() == ()
    assert view.fills(10) == (first, _fill(21, 10, "Buy", 2, 4999.75))


def test_current_version_follows_accepted_modifications_only() -> None:
    view, writer = _store()
    _apply_all(writer, _event("command", _command(11, 10, status="AtExecution")),
               _event("orderVersion", _version(11, 10, 1, price=5000.0)),
               _event("order", _order(10)),
               _event("command", _command(13, 10, kind="Modify")),
               _event("orderVersion", _version(13, 10, 2, price=4999.0)))
    state = view.order(10)
    assert state is not None
    assert state.version is not None
    assert state.version.id == 11  # the modification is still pending
    (accepted,) = writer.apply(_event("command", _command(13, 10, "Modify", "AtExecution"),
                                      "Updated"))
    assert isinstance(accepted, OrderState)
    assert accepted.version == _version(13, 10, 2, price=4999.0)
    _apply_all(writer, _event("command", _command(15, 10, kind="Modify")),
               _event("orderVersion", _version(15, 10, 9, price=1.0)))
    rejected = CommandReport(id=16, command_id=15, timestamp=TS, command_status="RiskRejected",
                             reject_reason="RiskCheckFailed", text="too big")
    changes = writer.apply(_event("commandReport", rejected))
    state = view.order(10)
    assert state is not None
    assert changes == [state, rejected]
    assert state.version is not None
    assert state.version.id == 13
    assert (state.reject_reason, state.reject_text) == ("RiskCheckFailed", "too big")
    assert [v.id for v in view.versions(10)] == [11, 13, 15]


def test_fill_before_its_order_is_linked_and_delivered_once() -> None:
    view, writer = _store()
    fill = _fill(20, 10, "Buy", 2, 5000.0)
    assert writer.apply(_event("fill", fill)) == []
    assert not view.is_delivered(20)
    assert view.pnl(ACC, ES).net_pos == 0
    position = _position(2, 5000.0, bought=2)
    assert writer.apply(_event("position", position)) == [position]
    changes = writer.apply(_event("order", _order(10, status="Filled")))
    assert [type(c) for c in changes] == [OrderState, NewFill]
    assert changes[1] == NewFill(fill, _order(10, status="Filled"))
    assert view.is_delivered(20)
    assert view.pnl(ACC, ES).net_pos == 2
    # Updates of the same fill (pairing progress) and a repeated order never deliver again.
    repaired = _fill(20, 10, "Buy", 2, 5000.0, paired=1)
    assert all(not isinstance(c, NewFill) for c in _apply_all(
        writer, _event("fill", repaired, "Updated"),
        _event("order", _order(10, status="Filled"), "Updated")))
    assert view.pnl(ACC, ES).net_pos == 2


def test_busted_fill_leaves_the_pnl_and_is_reported() -> None:
    view, writer = _store()
    _trade(writer, 10, 20, "Buy", 1, 5000.0)
    _trade(writer, 11, 21, "Sell", 1, 5002.0)
    assert view.pnl(ACC, ES).realized == pytest.approx(100.0)
    busted = _fill(21, 11, "Sell", 1, 5002.0, active=False)
    changes = writer.apply(_event("fill", busted, "Updated"))
    assert [type(c) for c in changes] == [OrderState, BustedFill]
    assert changes[1] == BustedFill(busted, _order(11, "Sell", "Filled"))
    state = view.order(11)
    assert state is not None
    assert state.filled_qty == 0
    pnl = view.pnl(ACC, ES, mark=5001.0)
    assert (pnl.net_pos, pnl.realized) == (1, 0.0)
    assert pnl.open == pytest.approx(50.0)
    assert pnl.commissions == pytest.approx(COMMISSION)
    assert writer.apply(_event("fill", busted, "Updated")) == []


def test_pnl_arithmetic_buy_two_sell_one_and_one() -> None:
    view, writer = _store()
    _trade(writer, 10, 20, "Buy", 2, 5000.25)
    pnl = view.pnl(ACC, ES, mark=5002.0)
    assert (pnl.net_pos, pnl.avg_price, pnl.realized) == (2, 5000.25, 0.0)
    assert pnl.open == pytest.approx((5002.0 - 5000.25) * 2 * 50)
    _trade(writer, 11, 21, "Sell", 1, 5001.00)
    pnl = view.pnl(ACC, ES, mark=5002.0)
    assert pnl.realized == pytest.approx(0.75 * 50)
    assert pnl.open == pytest.approx((5002.0 - 5000.25) * 50)
    _trade(writer, 12, 22, "Sell", 1, 4999.75)
    pnl = view.pnl(ACC, ES, mark=4000.0)
    assert pnl.realized == pytest.approx((0.75 - 0.5) * 50) == 12.5
    assert pnl.commissions == pytest.approx(4 * COMMISSION)
    assert pnl.net_realized == pytest.approx(12.5 - 8.2)
    assert (pnl.net_pos, pnl.avg_price, pnl.open) == (0, None, 0.0)
    assert pnl.total == pytest.approx(4.3)


def test_open_pnl_of_a_short_and_without_a_mark() -> None:
    view, writer = _store()
    _trade(writer, 10, 20, "Sell", 3, 5000.0)
    _trade(writer, 11, 21, "Buy", 1, 4995.0)
    pnl = view.pnl(ACC, ES, mark=4990.0)
    assert (pnl.net_pos, pnl.avg_price) == (-2, 5000.0)
    assert pnl.realized == pytest.approx(250.0)
    assert pnl.open == pytest.approx(2 * 10 * 50)
    assert view.pnl(ACC, ES).open is None
    assert view.pnl(ACC, ES).total is None
    assert [p.contract_id for p in view.pnls(lambda _cid: 4990.0)] == [ES]


def test_fills_arriving_out_of_id_order_are_paired_fifo_by_id() -> None:
    view, writer = _store()
    _trade(writer, 11, 22, "Buy", 1, 102.0)
    _trade(writer, 12, 23, "Sell", 1, 105.0)
    assert view.pnl(ACC, ES).realized == pytest.approx(3 * 50)
    _trade(writer, 10, 21, "Buy", 1, 100.0)  # the oldest fill arrives last
    pnl = view.pnl(ACC, ES, mark=102.0)
    assert pnl.realized == pytest.approx(5 * 50)
    assert (pnl.net_pos, pnl.avg_price, pnl.open) == (1, 102.0, 0.0)


def test_pnl_needs_the_product_unless_configured() -> None:
    view, writer = create_account_store()
    _trade(writer, 10, 20, "Buy", 1, 100.0)
    with pytest.raises(MissingContractSpec):
        view.pnl(ACC, ES)
    view, writer = create_account_store(value_per_point={"ES": 50.0},
                                        default_commission_per_side=1.0)
    writer.add_reference([ES_CONTRACT])
    _trade(writer, 10, 20, "Buy", 1, 100.0)
    _trade(writer, 11, 21, "Sell", 1, 101.0)
    pnl = view.pnl(ACC, ES)
    assert (pnl.realized, pnl.commissions) == (50.0, 2.0)


def _snapshot(orders: list[Order], fills: list[Fill], positions: list[Position],
              cash: float = 1000.0) -> SyncMessage:
    return SyncMessage(
        accounts=[ACCOUNT], orders=orders, fills=fills, positions=positions,
        cash_balances=[CashBalance(id=77, account_id=ACC, timestamp=TS, trade_date=TD,
                                   currency_id=1, amount=cash)],
        products=[ES_PRODUCT], contract_maturities=[ES_MATURITY], contracts=[ES_CONTRACT])


def test_reconciliation_reports_the_fill_missed_while_disconnected_exactly_once() -> None:
    view, writer = create_account_store(commission_per_side={"ES": COMMISSION})
    entry = _fill(20, 10, "Buy", 1, 5000.0)
    first = writer.apply_snapshot(_snapshot(
        [_order(10, status="Filled"), _order(11, "Sell", "Working")], [entry],
        [_position(1, 5000.0, bought=1)]))
    assert first.initial
    assert first.new_fills == (NewFill(entry, _order(10, status="Filled")),)
    assert view.synced
    assert view.account_by_name("DEMO1") == ACCOUNT
    assert view.cash_balance(ACC) is not None
    # Disconnected: the exit order filled and the position closed; then we resync.
    exit_fill = _fill(21, 11, "Sell", 1, 5003.0)
    flat = _position(0, None, bought=1, sold=1)
    report = writer.apply_snapshot(_snapshot(
        [_order(10, status="Filled"), _order(11, "Sell", "Filled")], [entry, exit_fill], [flat]))
    assert not report.initial
    assert report.new_fills == (NewFill(exit_fill, _order(11, "Sell", "Filled")),)
    assert report.orders == (OrderStatusChange(11, "Working", "Filled", view.order(11)),)
    assert len(report.positions) == 1
    diff = report.positions[0]
    assert (diff.before, diff.after) == (_position(1, 5000.0, bought=1), flat)
    assert view.position(ACC, ES) == flat
    pnl = view.pnl(ACC, ES)
    assert pnl.realized == pytest.approx(150.0)
    assert pnl.commissions == pytest.approx(2 * COMMISSION)
    # The same truth again changes nothing; a late replay of the event delivers nothing.
    again = writer.apply_snapshot(_snapshot(
        [_order(10, status="Filled"), _order(11, "Sell", "Filled")], [entry, exit_fill], [flat]))
    assert not again.changed
    late = writer.apply(_event("fill", exit_fill))
    assert all(not isinstance(c, NewFill) for c in late)
    assert view.pnl(ACC, ES).realized == pytest.approx(150.0)


def test_reconciliation_reports_busted_and_vanished_state() -> None:
    view, writer = _store()
    fill = _fill(20, 10, "Buy", 1, 5000.0)
    writer.apply_snapshot(_snapshot([_order(10, status="Filled"), _order(12)], [fill],
                                    [_position(1, 5000.0, bought=1)]))
    report = writer.apply_snapshot(_snapshot(
        [_order(10, status="Filled")], [_fill(20, 10, "Buy", 1, 5000.0, active=False)], []))
    assert report.new_fills == ()
    assert report.busted_fills == (BustedFill(_fill(20, 10, "Buy", 1, 5000.0, active=False),
                                              _order(10, status="Filled")),)
    assert report.orders == (OrderStatusChange(12, "Working", None, None),)
    assert report.positions[0].after is None
    assert view.pnl(ACC, ES).net_pos == 0
    assert view.order(12) is None


def test_deleted_entities_are_removed() -> None:
    view, writer = _store()
    position = _position(1, 5000.0, bought=1)
    writer.apply(_event("position", position))
    assert view.positions == {500: position}
    assert writer.apply(_event("position", position, "Deleted")) == [Removed("position", 500)]
    assert view.position(ACC, ES) is None
    _trade(writer, 10, 20, "Buy", 1, 5000.0)
    writer.apply(_event("fill", _fill(20, 10, "Buy", 1, 5000.0), "Deleted"))
    assert view.pnl(ACC, ES).net_pos == 0
    assert view.fill(20) is None


def test_reports_and_other_entities_are_kept() -> None:
    view, writer = _store()
    report = ExecutionReport(id=30, command_id=11, name="30", account_id=ACC, contract_id=ES,
                             timestamp=TS, order_id=10, exec_type="New", action="Buy",
                             ord_status="Working")
    assert writer.apply(_event("executionReport", report)) == [report]
    assert view.execution_reports(10) == (report,)
    frame = (b'[{"e":"props","d":{"entityType":"marginSnapshot","eventType":"Updated",'
             b'"entity":[{"id":33,"timestamp":"2024-01-02T15:00:00.000Z",'
             b'"riskTimePeriodId":2,"initialMargin":100,"maintenanceMargin":90,'
             b'"totalUsedMargin":100,"fullInitialMargin":100}]}}]')
    (event,) = decode_messages(frame)
    assert isinstance(event, EntityEvent)
    assert writer.apply(event) == []
    assert view.entity("marginSnapshot", 33).initial_margin == 100


def test_view_is_read_only() -> None:
    view, writer = _store()
    writer.apply(_event("account", ACCOUNT))
    for name in ("apply", "apply_snapshot", "add_reference"):
        assert not hasattr(view, name)
    with pytest.raises(TypeError):
        view.accounts[1] = ACCOUNT  # type: ignore[index]
    with pytest.raises(AttributeError):
        view.accounts[ACC].name = "x"  # type: ignore[misc]


@given(trades=st.lists(st.tuples(st.sampled_from(["Buy", "Sell"]), st.integers(1, 5),
                                 st.integers(19_000, 21_000)), max_size=12),
       mark=st.one_of(st.none(), st.integers(19_000, 21_000)))
def test_net_pnl_is_the_sum_of_the_account_pnls(trades: list[tuple[str, int, int]],
                                                mark: int | None) -> None:
    view, writer = _store()
    for n, (action, qty, ticks) in enumerate(trades):
        _trade(writer, 100 + n, 200 + n, action, qty, ticks * 0.25)
    price = None if mark is None else mark * 0.25
    expected = sum(p.net_realized + (p.open or 0.0) for p in view.pnls(lambda _cid: price)
                   if p.account_id == ACC)
    assert view.net_pnl(ACC, lambda _cid: price) == pytest.approx(expected, abs=1e-6)
    assert view.net_pnl(ACC + 1, lambda _cid: price) == 0.0


def test_an_event_replayed_after_newer_ones_does_not_take_the_account_back() -> None:
    """The soak's find: a cancelled protective stop replayed as Working was taken for the
    position's protection until the next snapshot; a stale position would be worse."""
    view, writer = _store()
    stop = _order(40, "Sell", "Working")
    _apply_all(writer, _event("order", stop), _event("order", _order(40, "Sell", "Canceled"),
                                                     "Updated"))
    assert writer.apply(_event("order", stop, "Updated")) == []
    state = view.order(40)
    assert state is not None
    assert state.status == "Canceled"
    assert view.open_orders(ACC, ES) == ()
    _apply_all(writer, _event("position", _position(1, 5000.0, bought=1)),
               _event("position", _position(2, 5000.0, bought=2), "Updated"))
    assert writer.apply(_event("position", _position(1, 5000.0, bought=1), "Updated")) == []
    position = view.position(ACC, ES)
    assert position is not None
    assert position.net_pos == 2
    cash = CashBalance(id=7, account_id=ACC, timestamp=TS, trade_date=TD, amount=50_000.0)
    newer = CashBalance(id=7, account_id=ACC, timestamp=TS, trade_date=TD, amount=49_990.0)
    _apply_all(writer, _event("cashBalance", cash), _event("cashBalance", newer, "Updated"))
    writer.apply(_event("cashBalance", cash, "Updated"))  # same moment, a replaced version
    assert view.cash_balance(ACC) == newer
    assert view.stale_events == 3
    # A snapshot is the exchange's whole state: applied as it is.
    writer.apply_snapshot(SyncMessage(orders=[stop], positions=[_position(1, 5000.0, 1)],
                                      cash_balances=[cash]))
    assert view.cash_balance(ACC) == cash
    assert (view.position(ACC, ES) or _position(0, None)).net_pos == 1
