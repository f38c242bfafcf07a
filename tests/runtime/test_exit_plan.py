"""What the shutdown keeps and cancels (issue 15, defect 5), on hand-made account states:
closing-side stops up to the position's size, nearest the market first, and their OCO
partners are kept; everything else — standalone targets, extra stops, same-side orders,
orders of flat contracts — is an entry; the report says what protects each position."""

from __future__ import annotations

import msgspec

from tradovate_api.protocol.models import (
    Order,
    OrderVersion,
    Position,
    SyncMessage,
    TradeDate,
)
from tradovate_api.runtime.exit_plan import describe, plan_exit
from tradovate_api.stores import AccountView, create_account_store

ACC, ES, NQ = 7, 100, 200
TS = "2026-03-02T15:00:00Z"
TD = TradeDate(year=2026, month=3, day=2)
NAMES = {ES: "ESH6", NQ: "NQH6"}


def order(ident: int, action: str, kind: str, *, stop: float | None = None,
          price: float | None = None, qty: int = 1, contract: int = ES,
          status: str = "Working", oco: int | None = None,
          parent: int | None = None) -> tuple[Order, OrderVersion]:
    return (Order(id=ident, account_id=ACC, contract_id=contract, timestamp=TS, action=action,
                  ord_status=status, oco_id=oco, parent_id=parent),
            OrderVersion(id=ident, order_id=ident, order_qty=qty, order_type=kind, price=price,
                         stop_price=stop))


def position(net: int, price: float, contract: int = ES) -> Position:
    return Position(id=contract, account_id=ACC, contract_id=contract, timestamp=TS,
                    trade_date=TD, net_pos=net, net_price=price, bought=max(net, 0),
                    bought_value=0.0, sold=max(-net, 0), sold_value=0.0)


def account(*orders: tuple[Order, OrderVersion], positions: tuple[Position, ...] = ()
            ) -> AccountView:
    view, writer = create_account_store()
    writer.apply_snapshot(SyncMessage(orders=[o for o, _ in orders],
                                      order_versions=[v for _, v in orders],
                                      positions=list(positions)))
    return view


def ids(states: object) -> list[int]:
    return sorted(s.id for s in states)  # type: ignore[attr-defined]


def test_a_brackets_stop_and_its_oco_target_are_kept_and_entries_go() -> None:
    view = account(order(1, "Sell", "Stop", stop=4990.0, oco=2),
                   order(2, "Sell", "Limit", price=5030.0, oco=1),
                   order(3, "Buy", "Limit", price=4950.0),
                   order(4, "Sell", "Limit", price=21000.0, contract=NQ),
                   positions=(position(1, 5000.0),))
    plan = plan_exit(view, ACC, NAMES.__getitem__)
    (long,) = plan.positions
    assert (ids(long.stops), ids(long.linked)) == ([1], [2])
    assert long.protected
    assert ids(plan.entries) == [3, 4]
    assert not plan.settled
    lines = describe(plan, NAMES.__getitem__, confirmed=True)
    assert lines[0] == ("ESH6 +1 @ 5000 — protected by Sell Stop 1 @ 4990, "
                        "Sell Limit 1 @ 5030 (OCO) (on the server)")
    assert lines[1:] == ["working: Buy Limit 1 @ 4950 ESH6 — not cancelled (on the server)",
                         "working: Sell Limit 1 @ 21000 NQH6 — not cancelled (on the server)"]


def test_stops_beyond_the_position_and_a_standalone_target_are_entries() -> None:
    view = account(order(1, "Buy", "Stop", stop=5015.0),  # nearest the market: kept
                   order(2, "Buy", "Stop", stop=5030.0),  # would open a long once both fire
                   order(3, "Buy", "Limit", price=4980.0),  # standalone target
                   order(4, "Sell", "Stop", stop=4900.0),  # same side as the short: entry
                   positions=(position(-1, 5000.0),))
    plan = plan_exit(view, ACC, NAMES.__getitem__)
    (short,) = plan.positions
    assert ids(short.stops) == [1]
    assert short.linked == ()
    assert ids(plan.entries) == [2, 3, 4]
    assert describe(plan, NAMES.__getitem__, confirmed=True)[0] == (
        "ESH6 -1 @ 5000 — protected by Buy Stop 1 @ 5015 (on the server)")


def test_a_position_without_enough_stop_is_not_protected() -> None:
    view = account(order(1, "Sell", "Stop", stop=4990.0),
                   positions=(position(2, 5000.0), position(-3, 21000.0, NQ)))
    plan = plan_exit(view, ACC, NAMES.__getitem__)
    assert [p.protected for p in plan.positions] == [False, False]
    assert [p.symbol for p in plan.unprotected] == ["ESH6", "NQH6"]
    assert describe(plan, NAMES.__getitem__, confirmed=False) == [
        "ESH6 +2 @ 5000 — NOT PROTECTED: only 1 of 2 covered by Sell Stop 1 @ 4990 "
        "(last known: the server could not be read)",
        "NQH6 -3 @ 21000 — NOT PROTECTED (last known: the server could not be read)"]


def test_a_stop_not_yet_working_is_kept_but_does_not_protect_yet() -> None:
    view = account(order(1, "Sell", "Stop", stop=4990.0, status="PendingNew"),
                   positions=(position(1, 5000.0),))
    plan = plan_exit(view, ACC, NAMES.__getitem__)
    (long,) = plan.positions
    assert ids(long.stops) == [1]
    assert not long.protected
    assert plan.entries == ()


def test_flat_with_nothing_working_is_settled_and_says_nothing() -> None:
    flat = msgspec.structs.replace(position(1, 5000.0), net_pos=0)
    plan = plan_exit(account(positions=(flat,)), ACC, NAMES.__getitem__)
    assert plan.settled
    assert describe(plan, NAMES.__getitem__, confirmed=True) == []
