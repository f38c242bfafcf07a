"""Fuzzing the decoders beyond ``tests/protocol/test_protocol_properties.py`` (which covers
round trips and byte junk): here the inputs are *structurally* mutated valid messages —
missing, extra, null and wrongly typed fields, wrong nesting, out-of-range numbers — and the
properties are isolation (a bad message never costs its neighbours), batching invariance,
entity decoding, and response matching."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from fuzz_strategies import (
    golden_messages,
    json_values,
    market_message,
    mutated_bytes,
    mutated_json,
    wire_struct,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradovate_api.errors import TradovateError
from tradovate_api.protocol import (
    BadEntity,
    ChartEvent,
    ClockEvent,
    EntityEvent,
    MarketDataEvent,
    MessageError,
    Messages,
    PendingRequests,
    Response,
    ShutdownEvent,
    UnknownEntity,
    UnknownEvent,
    decode_entities,
    decode_frame,
    decode_sync,
    error_text,
)
from tradovate_api.protocol import models as m

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

MESSAGE_TYPES = (Response, MarketDataEvent, ChartEvent, EntityEvent, ClockEvent, ShutdownEvent,
                 UnknownEvent, MessageError)
GOLDEN = golden_messages()
_any_message = st.sampled_from(GOLDEN) | market_message


def _frame(messages: list[Any]) -> bytes:
    return b"a" + msgspec.json.encode(messages)


def _single(message: Any) -> Any:
    decoded = decode_frame(_frame([message]))
    assert isinstance(decoded, Messages)
    assert len(decoded.items) == 1
    return decoded.items[0]


def test_golden_messages_are_loaded() -> None:
    kinds = {type(_single(message)) for message in GOLDEN}
    assert {MarketDataEvent, ChartEvent, EntityEvent, Response} <= kinds


@FUZZ
@given(before=_any_message, after=_any_message, data=st.data())
def test_a_mutated_message_never_costs_its_neighbours(before: Any, after: Any,
                                                      data: st.DataObject) -> None:
    bad = data.draw(mutated_json(data.draw(_any_message)))
    decoded = decode_frame(_frame([before, bad, after]))
    assert isinstance(decoded, Messages)
    assert len(decoded.items) == 3
    assert decoded.items[0] == _single(before)
    assert decoded.items[2] == _single(after)
    assert isinstance(decoded.items[1], MESSAGE_TYPES)


@FUZZ
@given(messages=st.lists(_any_message | st.sampled_from(GOLDEN).flatmap(mutated_json),
                         min_size=1, max_size=6))
def test_batching_never_changes_what_is_decoded(messages: list[Any]) -> None:
    """The one-pass fast path and the per-message fallback agree: a frame of n messages
    decodes to exactly what n one-message frames decode to."""
    decoded = decode_frame(_frame(messages))
    assert isinstance(decoded, Messages)
    assert [_comparable(item) for item in decoded.items] == [
        _comparable(_single(message)) for message in messages]


def _comparable(item: Any) -> Any:
    """A ``MessageError``'s ``raw`` is the original text on the per-message path but a
    re-encoding (without unknown keys) on the fast path: diagnostics only, so compare the
    reason."""
    return ("error", item.reason) if isinstance(item, MessageError) else item


@FUZZ
@given(data=st.data(), entity_type=st.sampled_from(sorted(m.ENTITY_CLASSES)),
       as_array=st.booleans())
def test_entities_decode_or_are_kept_raw_and_never_cost_their_neighbours(
        data: st.DataObject, entity_type: str, as_array: bool) -> None:
    cls = m.ENTITY_CLASSES[entity_type]
    entity = data.draw(wire_struct(cls))
    neighbour = data.draw(wire_struct(cls))
    payload = data.draw(st.just(entity) | mutated_json(entity))
    if as_array:
        payload = [payload, neighbour]
    raw = msgspec.json.encode(payload)
    entities = decode_entities(entity_type, raw)
    assert all(isinstance(e, cls | BadEntity) for e in entities)
    if as_array:
        assert isinstance(entities[-1], cls), "a valid neighbour was lost"
    if payload == entity:
        assert isinstance(entities[0], cls), "a valid entity was refused"
    for bad in entities:
        if isinstance(bad, BadEntity):
            assert bad.reason
    # The same entity inside a props event of an otherwise valid frame: never raises, and
    # an unreadable entity is a BadEntity inside the event.
    event = {"e": "props", "d": {"entityType": entity_type, "eventType": "Updated",
                                 "entity": payload}}
    decoded = _single(event)
    assert isinstance(decoded, EntityEvent)
    assert decoded.entities == entities


@FUZZ
@given(entity_type=st.text(max_size=12).filter(lambda t: t not in m.ENTITY_CLASSES),
       entity=json_values)
def test_unknown_entity_types_are_kept_raw(entity_type: str, entity: Any) -> None:
    event = {"e": "props", "d": {"entityType": entity_type, "eventType": "Created",
                                 "entity": entity}}
    decoded = _single(event)
    assert isinstance(decoded, EntityEvent)
    assert all(isinstance(e, UnknownEntity) for e in decoded.entities)
    parts = entity if isinstance(entity, list) else [entity]
    assert [e.to_builtins() for e in decoded.entities] == parts


_ids = st.one_of(st.none(), st.integers(-5, 2**63 - 1), st.floats(allow_nan=False),
                 st.sampled_from(["1", "2", "01", " 1", "1 ", "١", "²", "3", "", "x",
                                  "9" * 30]), st.text(max_size=6))
_RESULT_TYPES = [None, m.Contract, list[m.Account], m.PlaceOrderResult, m.SyncMessage,
                 m.AccessTokenResponse]


@FUZZ
@given(statuses=st.lists(st.integers(-1, 999), min_size=1, max_size=6),
       ids=st.lists(_ids, min_size=1, max_size=6), data=st.data())
def test_resolve_matches_only_pending_ids_and_never_raises(statuses: list[int], ids: list[Any],
                                                           data: st.DataObject) -> None:
    pending = PendingRequests()
    for n in range(3):
        pending.add(f"endpoint/{n}", data.draw(st.sampled_from(_RESULT_TYPES)))
    for status, request_id in zip(statuses, ids, strict=False):
        body = data.draw(st.none() | json_values.map(msgspec.json.encode)
                         | st.sampled_from(GOLDEN).flatmap(mutated_json).map(msgspec.json.encode)
                         | st.binary(max_size=40).flatmap(mutated_bytes))
        wire = b'{"s":%d,"i":%s%s}' % (status, msgspec.json.encode(request_id),
                                       b',"d":' + body if body else b"")
        decoded = decode_frame(b"a[" + wire + b"]")
        if not isinstance(decoded, Messages):  # the body is not JSON: build it in memory
            if isinstance(request_id, float):
                continue
            decoded = Messages([Response(s=status, i=request_id, d=msgspec.Raw(body or b""))])
        response = decoded.items[0]
        if not isinstance(response, Response):
            assert isinstance(response, MessageError)
            continue
        expected = response.i
        if isinstance(expected, str) and expected.isascii() and expected.isdigit():
            expected = int(expected)
        was_pending = expected in pending
        resolution = pending.resolve(response)
        assert (resolution is not None) == was_pending
        if resolution is None:
            continue
        assert resolution.pending.request_id == expected
        assert expected not in pending, "a request resolved twice"
        result = resolution.result
        assert result is None or isinstance(result, TradovateError) or (
            resolution.pending.result_type is not None)


@FUZZ
@given(body=st.none() | st.binary(max_size=700) | json_values.map(msgspec.json.encode)
       | st.text(max_size=700).map(lambda t: msgspec.json.encode(t)))
def test_error_text_is_bounded_and_never_raises(body: bytes | None) -> None:
    text = error_text(body)
    assert isinstance(text, str)
    assert len(text) <= 500


@pytest.mark.parametrize("junk", [b"a" + b"[" * 100_000, b"a[" + b'{"e":' * 50_000,
                                  b"a" + b"[1," * 200_000 + b"1" + b"]" * 200_000])
def test_absurd_nesting_and_size_are_values_not_crashes(junk: bytes) -> None:
    decoded = decode_frame(junk)
    assert not isinstance(decoded, Messages) or all(
        isinstance(item, MESSAGE_TYPES) for item in decoded.items)


_SNAPSHOT_GROUPS = (("fills", "fill"), ("positions", "position"), ("orders", "order"),
                    ("cashBalances", "cashBalance"), ("orderVersions", "orderVersion"))


@FUZZ
@given(data=st.data())
def test_a_snapshot_keeps_every_readable_entity_and_names_the_rest(data: st.DataObject) -> None:
    """A snapshot of valid and mutated entities: every entity is either decoded or reported
    as bad — none is lost silently — and an unmutated one is always decoded."""
    body: dict[str, Any] = {"users": [{"id": 1, "name": "sim"}]}
    valid: dict[str, int] = {}
    for wire, entity_type in _SNAPSHOT_GROUPS:
        cls = m.ENTITY_CLASSES[entity_type]
        items = data.draw(st.lists(wire_struct(cls), max_size=3))
        mutated = [data.draw(mutated_json(item)) for item in items]
        # Unmutated means the same JSON: in Python ``False == 0 == 0.0``, on the wire not.
        valid[entity_type] = sum(1 for a, b in zip(items, mutated, strict=True)
                                 if msgspec.json.encode(a) == msgspec.json.encode(b))
        body[wire] = mutated
    decoded = decode_sync(msgspec.json.encode(body))
    attribute = {f.encode_name: f.name for f in msgspec.structs.fields(m.SyncMessage)}
    for wire, entity_type in _SNAPSHOT_GROUPS:
        kept = len(getattr(decoded.message, attribute[wire]))
        bad = sum(1 for b in decoded.bad if b.entity_type == entity_type)
        assert kept + bad == len(body[wire])
        assert kept >= valid[entity_type]
