"""A snapshot applies atomically (issue 15, defect 8): one that fails half-way leaves the
previous state exactly as it was — orders, fills, positions, cash, P&L, the delivered fill ids
and the view's live mappings — and a later good snapshot applies normally."""

from __future__ import annotations

import msgspec
import pytest
from test_account_store import (
    ACC,
    ACCOUNT,
    ES,
    TD,
    TS,
    _fill,
    _order,
    _position,
    _store,
    _version,
)

from tradovate_api.protocol.models import CashBalance, SyncMessage
from tradovate_api.stores import AccountView


def _snapshot(fill_qty: object = 1) -> SyncMessage:
    """An account long 1 ES from order 10 (fill 20) and a resting sell limit (order 11);
    a second buy (order 12, fill 21) of quantity ``fill_qty``."""
    fills = [_fill(20, 10, "Buy", 1, 5000.0)]
    # Struct constructors do not validate: a value only a broken decode or store could
    # produce reaches the ledger and makes the apply raise half-way.
    fills.append(msgspec.structs.replace(_fill(21, 12, "Buy", 1, 5001.0),
                                         qty=fill_qty))  # type: ignore[arg-type]
    return SyncMessage(
        accounts=[ACCOUNT],
        orders=[_order(10, "Buy", "Filled"), _order(11, "Sell", "Working"),
                _order(12, "Buy", "Filled")],
        order_versions=[_version(10, 10, 1), _version(11, 11, 1, price=5010.0),
                        _version(12, 12, 1)],
        fills=fills,
        positions=[_position(2, 5000.5, bought=2)],
        cash_balances=[CashBalance(id=1, account_id=ACC, timestamp=TS, trade_date=TD,
                                   currency_id=1, amount=50_000.0)])


def _picture(view: AccountView) -> object:
    return (view.synced, dict(view.orders), view.fills(), dict(view.positions),
            dict(view.cash_balances), view.open_orders(), view.pnls(),
            [view.is_delivered(i) for i in (20, 21)])


def test_a_snapshot_that_fails_half_way_leaves_the_previous_state_intact() -> None:
    view, writer = _store()
    first = SyncMessage(accounts=[ACCOUNT], orders=[_order(10, "Buy", "Filled")],
                        order_versions=[_version(10, 10, 1)],
                        fills=[_fill(20, 10, "Buy", 1, 5000.0)],
                        positions=[_position(1, 5000.0, bought=1)])
    writer.apply_snapshot(first)
    orders, positions = view.orders, view.positions
    before = _picture(view)
    with pytest.raises(TypeError):
        writer.apply_snapshot(_snapshot(fill_qty="one"))
    assert _picture(view) == before
    assert view.order(11) is None
    assert view.position(ACC, ES) == _position(1, 5000.0, bought=1)
    assert view.pnl(ACC, ES).net_pos == 1
    # the mappings handed out earlier are the live ones
    assert orders is view.orders
    assert positions is view.positions
    report = writer.apply_snapshot(_snapshot())
    assert [f.fill.id for f in report.new_fills] == [21]
    assert view.order(11) is not None
    assert dict(orders) == dict(view.orders)
    assert view.pnl(ACC, ES).net_pos == 2


def test_a_first_snapshot_that_fails_leaves_the_store_unsynced_and_empty() -> None:
    view, writer = _store()
    with pytest.raises(TypeError):
        writer.apply_snapshot(_snapshot(fill_qty=None))
    assert not view.synced
    assert dict(view.orders) == {}
    assert view.fills() == ()
    assert not view.is_delivered(20)
    report = writer.apply_snapshot(_snapshot())
    assert report.initial
    assert view.synced
