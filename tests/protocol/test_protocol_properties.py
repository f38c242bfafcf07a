"""Property tests: encoding then decoding is identity for every model, frame, message and
request; packing ticks inverts unpacking; and no input, however broken, raises out of
``decode_frame``, ``parse_request`` or ``interpret``."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_golden import FIXTURES

from tradovate_api.errors import TradovateError
from tradovate_api.protocol import (
    ChartEvent,
    ClientRequest,
    ClockEvent,
    ClockWire,
    Close,
    EntityEvent,
    FrameError,
    Heartbeat,
    HeartbeatRequest,
    MarketDataEvent,
    Messages,
    Open,
    Props,
    PropsEvent,
    RequestParseError,
    Response,
    Shutdown,
    ShutdownEvent,
    decode_frame,
    encode_close,
    encode_messages,
    encode_query,
    encode_request,
    interpret,
    pack_ticks,
    parse_request,
    unpack_ticks,
)
from tradovate_api.protocol import models as m

BOUNDED = settings(max_examples=200, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ------------------------------------------------------------------ model strategies

_floats = st.floats(allow_nan=False, allow_infinity=False)
_ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
_text = st.text(max_size=12)


def _for_type(info: msgspec.inspect.Type) -> st.SearchStrategy[Any]:
    """A strategy for values of a msgspec type, as the model's Python side holds them."""
    if isinstance(info, msgspec.inspect.StructType):
        return struct_of(info.cls)
    if isinstance(info, msgspec.inspect.UnionType):
        return st.one_of([_for_type(t) for t in info.types])
    if isinstance(info, msgspec.inspect.ListType):
        return st.lists(_for_type(info.item_type), max_size=3)
    if isinstance(info, msgspec.inspect.DictType):
        return st.dictionaries(_for_type(info.key_type), _for_type(info.value_type), max_size=3)
    simple: dict[type, st.SearchStrategy[Any]] = {
        msgspec.inspect.IntType: _ints, msgspec.inspect.FloatType: _floats,
        msgspec.inspect.StrType: _text, msgspec.inspect.BoolType: st.booleans(),
        msgspec.inspect.NoneType: st.none()}
    return simple[type(info)]


def struct_of(cls: type[Any]) -> st.SearchStrategy[Any]:
    """Valid instances of a model: required fields always, optional fields sometimes."""
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    required = {f.name: _for_type(f.type) for f in info.fields if f.required}
    optional = {f.name: _for_type(f.type) for f in info.fields if not f.required}
    return st.fixed_dictionaries(required, optional=optional).map(lambda kw: cls(**kw))


MODEL_CLASSES = sorted(
    {getattr(m, name) for name in m.__all__
     if isinstance(getattr(m, name), type) and issubclass(getattr(m, name), msgspec.Struct)},
    key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.__name__)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_model_round_trips(cls, data):
    model = data.draw(struct_of(cls))
    assert msgspec.json.decode(msgspec.json.encode(model), type=cls) == model


@BOUNDED
@given(entity_type=st.sampled_from(sorted(m.ENTITY_CLASSES)), data=st.data(),
       event_type=st.sampled_from(["Created", "Updated", "Deleted"]), as_array=st.booleans())
def test_props_entities_round_trip_through_a_frame(entity_type, data, event_type, as_array):
    cls = m.ENTITY_CLASSES[entity_type]
    entities = data.draw(st.lists(struct_of(cls), min_size=1, max_size=3) if as_array
                         else struct_of(cls).map(lambda e: [e]))
    payload = entities if as_array else entities[0]
    frame = encode_messages([PropsEvent(Props(entity_type, event_type,
                                              msgspec.Raw(msgspec.json.encode(payload))))])
    assert decode_frame(frame) == Messages([EntityEvent(entity_type, event_type,
                                                        tuple(entities))])


# ------------------------------------------------------------------ frames and messages

_json_values = st.recursive(
    st.none() | st.booleans() | _ints | _floats | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8)

_response = st.builds(
    lambda s, i, d: Response(s=s, i=i, d=msgspec.Raw(msgspec.json.encode(d)) if d is not ...
                             else msgspec.Raw()),
    st.integers(100, 599), st.none() | st.integers(0, 2**31) | _text,
    st.just(...) | _json_values)
_clock = st.builds(lambda t, s: (ClockWire(msgspec.json.encode({"t": t, "s": s}).decode()),
                                 ClockEvent(t, s)), _text, _floats)

_wire_and_decoded = st.one_of(
    struct_of(m.MarketData).map(lambda d: (MarketDataEvent(d),) * 2),
    struct_of(m.ChartData).map(lambda d: (ChartEvent(d),) * 2),
    struct_of(Shutdown).map(lambda d: (ShutdownEvent(d),) * 2),
    _response.map(lambda r: (r, r)),
    _clock,
)


@BOUNDED
@given(pairs=st.lists(_wire_and_decoded, max_size=6))
def test_message_frames_round_trip(pairs):
    frame = encode_messages([wire for wire, _ in pairs])
    decoded = decode_frame(frame)
    assert decoded == Messages([expected for _, expected in pairs])
    assert decode_frame(memoryview(bytearray(frame))) == decoded


@BOUNDED
@given(code=st.integers(0, 2**31), reason=st.text())
def test_close_frames_round_trip(code, reason):
    assert decode_frame(encode_close(code, reason)) == Close(code, reason)


# ------------------------------------------------------------------ requests

_endpoint = st.from_regex(r"\A[A-Za-z][A-Za-z0-9]{0,15}/[A-Za-z][A-Za-z0-9]{0,20}\Z")
_params = st.dictionaries(st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9]{0,7}\Z"),
                          st.text(max_size=10) | st.integers(0, 10**9), max_size=4)


@BOUNDED
@given(endpoint=_endpoint, request_id=st.integers(0, 2**53), params=_params,
       body=st.binary(max_size=64) | _json_values.map(msgspec.json.encode))
def test_requests_round_trip(endpoint, request_id, params, body):
    query = encode_query(params)
    parsed = parse_request(encode_request(endpoint, request_id, query, body))
    assert parsed == ClientRequest(endpoint.lower(), endpoint, request_id, query, body)
    assert parsed.query_params() == {k: str(v) for k, v in params.items()}


# ------------------------------------------------------------------ ticks

_tick_sizes = st.sampled_from([0.25, 0.1, 0.01, 1.0, 0.03125, 0.005, 5.0])


@st.composite
def _ticks(draw: st.DrawFn) -> tuple[float, list[m.Tick]]:
    ts = draw(_tick_sizes)
    base_ms = draw(st.integers(1_500_000_000_000, 1_900_000_000_000))
    ticks = []
    for n in range(draw(st.integers(1, 8))):
        price_ticks = draw(st.integers(1, 10**7))
        quote: dict[str, float] = {}
        for side in ("bid", "ask"):
            if draw(st.booleans()):
                quote[f"{side}_price"] = draw(st.integers(1, 10**7)) * ts
                quote[f"{side}_size"] = draw(st.floats(0.001, 1e6))
        ticks.append(m.Tick(id=draw(st.integers(0, 2**53)) + n,
                            timestamp_ms=base_ms + draw(st.integers(-60_000, 60_000)),
                            price_ticks=price_ticks, price=price_ticks * ts,
                            size=draw(st.floats(0.001, 1e6)), **quote))
    return ts, ticks


@BOUNDED
@given(data=_ticks(), packet_id=st.integers(1, 2**31), trade_date=st.integers(20000101, 20991231))
def test_pack_then_unpack_is_identity(data, packet_id, trade_date):
    ts, ticks = data
    packet = pack_ticks(packet_id, ticks, ts, trade_date)
    wire = msgspec.json.decode(msgspec.json.encode(packet), type=m.ChartPacket)
    assert unpack_ticks(wire) == ticks


# ------------------------------------------------------------------ never raise

_FRAME_TYPES = (Open, Heartbeat, Close, Messages, FrameError)
_GOLDEN = [p.read_bytes() for p in sorted(FIXTURES.iterdir())
           if p.name.startswith(("frame_", "event_", "msg", "chart_", "request_", "body_"))]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    """A golden example (as an ``a`` frame when it is a message) with a few byte edits."""
    data = bytearray(draw(st.sampled_from(_GOLDEN)))
    if data[:1] in (b"{", b"["):
        data = bytearray(b"a[") + data + b"]" if data[:1] == b"{" else bytearray(b"a") + data
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        if op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif op == "truncate":
            del data[at:]
        elif at < len(data) and op == "flip":
            data[at] = draw(st.integers(0, 255))
        elif at < len(data):
            del data[at]
    return bytes(data)


_junk = st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(lambda b: b"a" + b),
                  st.binary(max_size=60).map(lambda b: b"c" + b), _mutated())


@BOUNDED
@given(data=_junk)
def test_decode_frame_never_raises(data):
    for given_as in (data, bytearray(data), memoryview(data),
                     data.decode("utf-8", errors="surrogateescape")):
        assert isinstance(decode_frame(given_as), _FRAME_TYPES)


@BOUNDED
@given(data=_junk | st.text(max_size=80).map(str.encode))
def test_parse_request_never_raises(data):
    for given_as in (data, data.decode("utf-8", errors="surrogateescape")):
        assert isinstance(parse_request(given_as), ClientRequest | HeartbeatRequest
                          | RequestParseError)


_RESULT_TYPES = [None, m.Contract, list[m.Account], m.PlaceOrderResult, m.CommandResult,
                 m.AccessTokenResponse, m.SyncMessage, dict]


@BOUNDED
@given(status=st.integers(-1, 700), body=st.none() | _junk | _json_values.map(msgspec.json.encode),
       result_type=st.sampled_from(_RESULT_TYPES))
def test_interpret_never_raises(status, body, result_type):
    result = interpret(status, body, result_type)
    if result is None or isinstance(result, TradovateError):
        return
    assert result_type is not None
    expected = result_type.__origin__ if hasattr(result_type, "__origin__") else result_type
    assert isinstance(result, expected)
