"""Lenient entity decoding (issue 15, defect 8): an unknown, missing or oddly typed optional
field never loses an entity or its neighbours; an unreadable required (money) field loses only
that entity, which is kept raw as a ``BadEntity`` with the reason; a snapshot decodes the same
way, group by group."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tradovate_api.protocol import (
    MONEY_ENTITY_TYPES,
    BadEntity,
    EntityEvent,
    Messages,
    decode_entity,
    decode_frame,
    decode_sync,
)
from tradovate_api.protocol.models import ExecutionReport, Fill, Position

FILL: dict[str, Any] = {
    "id": 11, "orderId": 2, "contractId": 3, "timestamp": "2026-03-02T15:00:00Z",
    "tradeDate": {"year": 2026, "month": 3, "day": 2}, "action": "Buy", "qty": 1,
    "price": 5012.25, "active": True, "finallyPaired": 0}
POSITION: dict[str, Any] = {
    "id": 7, "accountId": 1, "contractId": 3, "timestamp": "2026-03-02T15:00:00Z",
    "tradeDate": {"year": 2026, "month": 3, "day": 2}, "netPos": 1, "netPrice": 5012.25,
    "bought": 1, "boughtValue": 5012.25, "sold": 0, "soldValue": 0, "prevPos": 0}


def props(entity_type: str, entity: Any) -> EntityEvent:
    frame = b"a" + msgspec.json.encode([{"e": "props", "d": {
        "entityType": entity_type, "eventType": "Updated", "entity": entity}}])
    decoded = decode_frame(frame)
    assert isinstance(decoded, Messages)
    (event,) = decoded.items
    assert isinstance(event, EntityEvent), event
    return event


@pytest.mark.parametrize("odd", [
    {"finallyPaired": True}, {"finallyPaired": "yes"}, {"finallyPaired": None},
    {"finallyPaired": {"nested": [1]}}, {"external": 3}, {"brandNewField": [1, 2]},
], ids=repr)
def test_an_odd_optional_fill_field_never_loses_the_fill(odd: dict[str, Any]) -> None:
    event = props("fill", {**FILL, **odd})
    (fill,) = event.entities
    assert isinstance(fill, Fill)
    assert (fill.id, fill.qty, fill.price, fill.active) == (11, 1, 5012.25, True)
    assert event.bad == ()


def test_a_missing_finally_paired_and_prev_pos_are_none_not_a_lost_event() -> None:
    fill = {k: v for k, v in FILL.items() if k != "finallyPaired"}
    (decoded,) = props("fill", fill).entities
    assert isinstance(decoded, Fill)
    assert decoded.finally_paired is None
    position = {k: v for k, v in POSITION.items() if k != "prevPos"}
    (decoded_position,) = props("position", position).entities
    assert isinstance(decoded_position, Position)
    assert decoded_position.prev_pos is None
    assert decoded_position.net_pos == 1


def test_an_unreadable_optional_field_is_dropped_and_named() -> None:
    event = props("position", {**POSITION, "prevPos": "2", "prevPrice": [1]})
    (position,) = event.entities
    assert isinstance(position, Position)
    assert (position.prev_pos, position.prev_price, position.net_pos) == (None, None, 1)
    assert sorted(event.repaired) == ["position.prevPos", "position.prevPrice"]


def test_a_nested_optional_value_of_the_wrong_shape_is_dropped() -> None:
    report = {"id": 1, "commandId": 2, "accountId": 1, "contractId": 3, "orderId": 4,
              "execType": "Trade", "action": "Buy", "tradeDate": {"year": "2026"}}
    entity, dropped = decode_entity("executionReport", msgspec.json.encode(report))
    assert isinstance(entity, ExecutionReport)
    assert entity.trade_date is None
    assert dropped == ("tradeDate",)


@pytest.mark.parametrize("broken", [
    {"qty": "1"}, {"qty": None}, {"price": "5012.25"}, {"active": 1}, {"orderId": None},
], ids=repr)
def test_an_unreadable_money_field_loses_only_that_entity_among_its_neighbours(
        broken: dict[str, Any]) -> None:
    event = props("fill", [FILL, {**FILL, "id": 12, **broken}, {**FILL, "id": 13}])
    first, bad, third = event.entities
    assert isinstance(first, Fill)
    assert isinstance(third, Fill)
    assert (first.id, third.id) == (11, 13)
    assert isinstance(bad, BadEntity)
    assert bad.entity_type == "fill"
    assert msgspec.json.decode(bad.raw)["id"] == 12
    assert next(iter(broken)) in bad.reason
    assert event.bad == (bad,)


def test_a_missing_money_field_is_a_bad_entity() -> None:
    entity, _ = decode_entity("fill", msgspec.json.encode(
        {k: v for k, v in FILL.items() if k != "qty"}))
    assert isinstance(entity, BadEntity)
    assert "qty" in entity.reason


def test_money_entity_types_are_the_ones_the_account_state_is_made_of() -> None:
    assert {"order", "orderVersion", "command", "commandReport", "executionReport", "fill",
            "fillPair", "position", "cashBalance", "account",
            "orderStrategy"} <= MONEY_ENTITY_TYPES
    assert "marginSnapshot" not in MONEY_ENTITY_TYPES


def test_a_snapshot_with_odd_fields_decodes_whole() -> None:
    body = {"users": [{"id": 1, "name": "sim", "brandNew": True}],
            "fills": [{**FILL, "finallyPaired": True}],
            "positions": [{**POSITION, "prevPos": "x"}], "unknownGroup": [{"a": 1}]}
    decoded = decode_sync(msgspec.json.encode(body))
    assert decoded.bad == ()
    assert [f.id for f in decoded.message.fills] == [11]
    assert decoded.message.positions[0].prev_pos is None
    assert sorted(decoded.repaired) == ["fill.finallyPaired", "position.prevPos"]


def test_a_snapshot_keeps_every_readable_entity_and_reports_the_unreadable_ones() -> None:
    body = {"users": [{"id": 1, "name": "sim"}],
            "fills": [FILL, {"id": 99}, {**FILL, "id": 12}],
            "positions": {"not": "an array"}}
    decoded = decode_sync(msgspec.json.encode(body))
    assert [f.id for f in decoded.message.fills] == [11, 12]
    assert decoded.message.positions == []
    assert sorted(b.entity_type for b in decoded.bad) == ["fill", "position"]


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"{", b'{"fills": [1,'])
def test_a_snapshot_that_is_not_an_object_raises_a_decode_error(body: bytes) -> None:
    with pytest.raises((msgspec.DecodeError, msgspec.ValidationError)):
        decode_sync(body)
