"""``AccountView.open_orders`` is served from an index of orders not done (the risk check
reads it before every order), kept per account and per (account, contract) as well: it must
agree with the full order table through creation, completion, deletion, a snapshot and a
reset."""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from tradovate_api.protocol import EntityEvent, Props, PropsEvent, decode_messages, encode_messages
from tradovate_api.protocol.models import Order, SyncMessage, WireModel
from tradovate_api.stores import AccountView, create_account_store

ACC, OTHER_ACC, ES, NQ = 33, 34, 2710963, 2710964
TS = "2024-01-02T15:00:00.000Z"


def _event(entity_type: str, entity: WireModel, event_type: str = "Created") -> EntityEvent:
    frame = encode_messages([PropsEvent(Props(entity_type=entity_type, event_type=event_type,
                                              entity=msgspec.Raw(msgspec.json.encode(entity))))])
    (message,) = decode_messages(frame[1:])
    assert isinstance(message, EntityEvent)
    return message


def _order(ident: int, status: str = "Working", contract_id: int = ES,
           account_id: int = ACC) -> Order:
    return Order(id=ident, account_id=account_id, contract_id=contract_id, timestamp=TS,
                 action="Buy", ord_status=status, admin=False)


def _open_ids(view: AccountView, **kwargs: int) -> list[int]:
    return [state.id for state in view.open_orders(**kwargs)]


def _scan(view: AccountView) -> list[int]:
    """What a scan of every order says is open."""
    return [order_id for order_id, state in view.orders.items() if not state.is_done]


def test_open_orders_follow_every_status_change() -> None:
    view, writer = create_account_store()
    for ident, contract, account in ((1, ES, ACC), (2, NQ, ACC), (3, ES, OTHER_ACC), (4, ES, ACC)):
        writer.apply(_event("order", _order(ident, contract_id=contract, account_id=account)))
    assert _open_ids(view) == [1, 2, 3, 4] == _scan(view)
    assert _open_ids(view, account_id=ACC) == [1, 2, 4]
    assert _open_ids(view, account_id=ACC, contract_id=ES) == [1, 4]
    writer.apply(_event("order", _order(1, "Filled"), "Updated"))
    writer.apply(_event("order", _order(3, "Canceled", account_id=OTHER_ACC), "Updated"))
    assert _open_ids(view) == [2, 4] == _scan(view)
    writer.apply(_event("order", _order(4), "Deleted"))
    assert _open_ids(view) == [2] == _scan(view)
    assert view.order(4) is None


def test_open_orders_after_a_snapshot_and_its_replacement() -> None:
    view, writer = create_account_store()
    writer.apply(_event("order", _order(9)))
    writer.apply_snapshot(SyncMessage(orders=[_order(1), _order(2, "Rejected"), _order(3)]))
    assert _open_ids(view) == [1, 3] == _scan(view)  # 9 is gone with the old state
    writer.apply_snapshot(SyncMessage(orders=[_order(1, "Filled")]))
    assert _open_ids(view) == [] == _scan(view)


_STATUSES = ("Working", "Suspended", "PendingNew", "Filled", "Canceled", "Rejected")
_step = st.tuples(st.sampled_from(("Created", "Updated", "Deleted", "snapshot")),
                  st.integers(1, 8), st.sampled_from((ACC, OTHER_ACC)),
                  st.sampled_from((ES, NQ, None)), st.sampled_from(_STATUSES))


@given(steps=st.lists(_step, max_size=60))
@settings(max_examples=150, deadline=None)
def test_each_accounts_and_contracts_open_orders_agree_with_a_scan_after_any_sequence(
        steps: list[tuple[str, int, int, int | None, str]]) -> None:
    view, writer = create_account_store()
    for kind, ident, account, contract, status in steps:
        order = Order(id=ident, account_id=account, contract_id=contract, timestamp=TS,
                      action="Buy", ord_status=status, admin=False)
        if kind == "snapshot":  # the orders the snapshot lists: every other id, this one's
            listed = [o.order for o in view.orders.values()
                      if o.id % 2 == ident % 2 and o.id != ident]
            writer.apply_snapshot(SyncMessage(orders=[*listed, order]))
        else:
            writer.apply(_event("order", order, kind))
        every_open = view.open_orders()
        assert sorted(s.id for s in every_open) == sorted(_scan(view))
        for account_id in (ACC, OTHER_ACC, 35):
            assert view.open_orders(account_id) == tuple(
                s for s in every_open if s.order.account_id == account_id)
            for contract_id in (ES, NQ):
                assert view.open_orders(account_id, contract_id) == tuple(
                    s for s in every_open if s.order.account_id == account_id
                    and s.order.contract_id == contract_id)
        for contract_id in (ES, NQ):
            assert view.open_orders(contract_id=contract_id) == tuple(
                s for s in every_open if s.order.contract_id == contract_id)
