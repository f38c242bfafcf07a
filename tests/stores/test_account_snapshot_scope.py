"""A snapshot scoped to one login's accounts: a run trading under two logins gets one
snapshot per login's trading connection, and each must replace only its own accounts —
before the scope, the second login's first snapshot wiped the first login's positions,
orders, fills and cash from the store."""

from __future__ import annotations

import pytest
from test_account_store import (
    ACC,
    ACCOUNT,
    COMMISSION,
    ES,
    ES_CONTRACT,
    ES_MATURITY,
    ES_PRODUCT,
    TD,
    TS,
    _fill,
    _order,
    _position,
)

from tradovate_api.protocol.models import (
    Account,
    CashBalance,
    Fill,
    Order,
    Position,
    SyncMessage,
    UserAccountAutoLiq,
)
from tradovate_api.stores import NewFill, create_account_store

OTHER = 44
"""An account of the second login."""
OTHER_ACCOUNT = Account(id=OTHER, name="BETA1", user_id=91, account_type="Customer",
                        active=True, clearing_house_id=2, risk_category_id=2,
                        auto_liq_profile_id=2, margin_account_type="Speculator",
                        legal_status="Individual", timestamp=TS)


def _other_order(ident: int, status: str) -> Order:
    return Order(id=ident, account_id=OTHER, contract_id=ES, timestamp=TS, action="Sell",
                 ord_status=status, admin=False)


def _other_fill(ident: int, order_id: int, price: float) -> Fill:
    return Fill(id=ident, order_id=order_id, contract_id=ES, timestamp=TS, trade_date=TD,
                action="Sell", qty=1, price=price, active=True, finally_paired=0)


def _other_position(net: int) -> Position:
    return Position(id=600, account_id=OTHER, contract_id=ES, timestamp=TS, trade_date=TD,
                    net_pos=net, net_price=5001.0, bought=0, bought_value=0.0, sold=-net,
                    sold_value=0.0, prev_pos=0)


def _first_login(orders: list[Order], fills: list[Fill], position: Position) -> SyncMessage:
    return SyncMessage(
        accounts=[ACCOUNT], orders=orders, fills=fills, positions=[position],
        cash_balances=[CashBalance(id=77, account_id=ACC, timestamp=TS, trade_date=TD,
                                   currency_id=1, amount=1000.0)],
        products=[ES_PRODUCT], contract_maturities=[ES_MATURITY], contracts=[ES_CONTRACT])


def _second_login(orders: list[Order], fills: list[Fill], net: int) -> SyncMessage:
    return SyncMessage(
        accounts=[OTHER_ACCOUNT], orders=orders, fills=fills, positions=[_other_position(net)],
        cash_balances=[CashBalance(id=88, account_id=OTHER, timestamp=TS, trade_date=TD,
                                   currency_id=1, amount=2000.0)],
        user_account_auto_liqs=[UserAccountAutoLiq(id=OTHER, daily_loss_auto_liq=500.0)],
        products=[ES_PRODUCT], contract_maturities=[ES_MATURITY], contracts=[ES_CONTRACT])


def test_each_logins_snapshot_replaces_only_its_own_accounts() -> None:
    view, writer = create_account_store(commission_per_side={"ES": COMMISSION})
    mine = _fill(20, 10, "Buy", 1, 5000.0)
    first = writer.apply_snapshot(_first_login([_order(10, status="Filled"), _order(11)],
                                               [mine], _position(1, 5000.0, bought=1)),
                                  scope={ACC})
    assert first.initial
    theirs = _other_fill(30, 31, 5001.0)
    second = writer.apply_snapshot(
        _second_login([_other_order(31, "Filled")], [theirs], -1), scope={OTHER})
    # The second login's snapshot added its account and reported only its own news...
    assert second.new_fills == (NewFill(theirs, _other_order(31, "Filled")),)
    assert [d.account_id for d in second.positions] == [OTHER]
    assert {o.order_id for o in second.orders} == {31}
    # ...and the first login's account is all there.
    assert view.account(ACC) == ACCOUNT
    assert view.account(OTHER) == OTHER_ACCOUNT
    assert view.position(ACC, ES) == _position(1, 5000.0, bought=1)
    assert view.position(OTHER, ES) == _other_position(-1)
    assert {o.id for o in view.open_orders(ACC)} == {11}
    assert view.cash_balance(ACC) is not None
    assert view.cash_balance(OTHER) is not None
    assert view.pnl(ACC, ES).net_pos == 1
    assert view.pnl(OTHER, ES).net_pos == -1
    assert view.entity("userAccountAutoLiq", OTHER) is not None
    # The first login reconnects: its order filled meanwhile. Only its news is reported,
    # and the second login's account stays as it was.
    exit_fill = _fill(21, 11, "Sell", 1, 5003.0)
    again = writer.apply_snapshot(
        _first_login([_order(10, status="Filled"), _order(11, "Sell", "Filled")],
                     [mine, exit_fill], _position(0, None, bought=1, sold=1)), scope={ACC})
    assert again.new_fills == (NewFill(exit_fill, _order(11, "Sell", "Filled")),)
    assert [d.account_id for d in again.positions] == [ACC]
    assert again.busted_fills == ()
    assert view.position(OTHER, ES) == _other_position(-1)
    assert view.pnl(OTHER, ES).net_pos == -1
    assert view.pnl(ACC, ES).realized == pytest.approx(150.0)
    assert view.entity("userAccountAutoLiq", OTHER) is not None
    assert view.fill(30) == theirs


def test_a_scoped_snapshot_drops_its_own_accounts_vanished_entities() -> None:
    view, writer = create_account_store(commission_per_side={"ES": COMMISSION})
    writer.apply_snapshot(_second_login([_other_order(31, "Working")], [], -1),
                          scope={OTHER})
    writer.apply_snapshot(_first_login([_order(10)], [], _position(1, 5000.0, bought=1)),
                          scope={ACC})
    report = writer.apply_snapshot(_first_login([], [], _position(1, 5000.0, bought=1)),
                                   scope={ACC})
    assert [(o.order_id, o.after) for o in report.orders] == [(10, None)]
    assert view.order(10) is None
    assert view.order(31) is not None  # the other login's working order is untouched
