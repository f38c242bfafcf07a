"""Server frames (§3.1): ``o``, ``h``, ``a[...]``, ``c[code,"reason"]`` decode to the right
typed values from every input type picows can hand over, and junk becomes a FrameError."""

from __future__ import annotations

import msgspec
import pytest
from protocol_golden import golden

from tradovate_api.protocol import (
    HEARTBEAT,
    HEARTBEAT_FRAME,
    OPEN,
    OPEN_FRAME,
    Close,
    EntityEvent,
    FrameError,
    Heartbeat,
    MarketDataEvent,
    Messages,
    Open,
    Response,
    decode_frame,
    encode_close,
    encode_messages,
)
from tradovate_api.protocol.models import Contract, MarketData, Order, Quote, QuoteEntries


def as_bytearray(data: bytes) -> bytearray:
    return bytearray(data)


def as_memoryview(data: bytes) -> memoryview:
    return memoryview(bytearray(data))


def as_str(data: bytes) -> str:
    return data.decode()


INPUT_TYPES = [bytes, as_bytearray, as_memoryview, as_str]


@pytest.mark.parametrize("wrap", INPUT_TYPES)
def test_open_and_heartbeat_frames(wrap):
    assert decode_frame(wrap(golden("frame_open.txt"))) == Open()
    assert decode_frame(wrap(golden("frame_heartbeat.txt"))) == Heartbeat()
    assert decode_frame(wrap(OPEN_FRAME)) is OPEN
    assert decode_frame(wrap(HEARTBEAT_FRAME)) is HEARTBEAT


@pytest.mark.parametrize("wrap", INPUT_TYPES)
def test_close_frame(wrap):
    assert decode_frame(wrap(golden("frame_close.txt"))) == Close(3000, "Go away!")


def test_encode_close_and_constants_are_the_documented_bytes():
    assert encode_close(3000, "Go away!") == golden("frame_close.txt")
    assert golden("frame_open.txt") == OPEN_FRAME
    assert golden("frame_heartbeat.txt") == HEARTBEAT_FRAME


@pytest.mark.parametrize("wrap", INPUT_TYPES)
def test_response_frame_from_websockets_md(wrap):
    frame = decode_frame(wrap(golden("frame_response_clz6.txt")))
    assert isinstance(frame, Messages)
    [response] = frame.items
    assert isinstance(response, Response)
    assert (response.s, response.i) == (200, 23)
    assert response.body == b'{"id":65543,"name":"CLZ6","contractMaturityId":6727}'
    assert msgspec.json.decode(response.body, type=Contract) == Contract(
        id=65543, name="CLZ6", contract_maturity_id=6727)


@pytest.mark.parametrize("wrap", INPUT_TYPES)
def test_props_frame_from_websockets_md(wrap):
    frame = decode_frame(wrap(golden("frame_props_order_created.txt")))
    assert frame == Messages([EntityEvent("order", "Created", (Order(
        id=210518, account_id=25, contract_id=560901, timestamp="2016-11-04T00:02:36.626Z",
        action="Sell", ord_status="PendingNew", admin=False),))])


def test_picows_memoryview_response_body_survives_buffer_reuse():
    """picows hands a memoryview over a buffer it reuses; a kept Response must not change."""
    buffer = bytearray(golden("frame_response_clz6.txt"))
    frame = decode_frame(memoryview(buffer))
    assert isinstance(frame, Messages)
    buffer[:] = b"x" * len(buffer)
    [response] = frame.items
    assert isinstance(response, Response)
    assert response.body == b'{"id":65543,"name":"CLZ6","contractMaturityId":6727}'


def test_memoryview_slice_with_offset_decodes():
    data = b"junk" + golden("frame_issue28_props.txt")
    frame = decode_frame(memoryview(data)[4:])
    assert isinstance(frame, Messages)
    assert [m.entity_type for m in frame.items] == ["command", "orderVersion"]


def test_a_frame_whose_element_is_not_an_object_is_a_message_error():
    """``a["message"]`` is the SockJS example; Tradovate messages are objects."""
    frame = decode_frame(golden("frame_array_string.txt"))
    assert isinstance(frame, Messages)
    [item] = frame.items
    assert type(item).__name__ == "MessageError"
    assert item.raw == b'"message"'


@pytest.mark.parametrize("data", [
    b"", b"x", b"oo", b"o ", b"hh", b"a", b"a[", b"a{}", b"a[1,", b"c", b"c[3000]",
    b'c["3000","x"]', b"c[3000,\"x\",1]", b"\xff\xfe", b"A[]", b" o",
])
def test_malformed_frames_are_frame_errors(data):
    frame = decode_frame(data)
    assert isinstance(frame, FrameError)
    assert frame.data == data[:512]
    assert frame.reason


def test_frame_error_data_is_truncated():
    frame = decode_frame(b"z" * 5000)
    assert isinstance(frame, FrameError)
    assert frame.data == b"z" * 512


def test_str_with_lone_surrogate_is_a_frame_error_not_an_exception():
    assert isinstance(decode_frame("a[\ud800]"), FrameError)
    assert isinstance(decode_frame("\udfff"), FrameError)


def test_absurd_nesting_is_a_frame_error_not_a_recursion_error():
    assert isinstance(decode_frame(b"a" + b"[" * 100_000), FrameError)
    deep = b'a[{"e":"md","d":{"quotes":' + b"[" * 100_000 + b"}}]"
    assert isinstance(decode_frame(deep), FrameError)


def test_empty_a_frame_is_zero_messages():
    assert decode_frame(b"a[]") == Messages([])


def test_encode_messages_round_trips_through_decode_frame():
    quote = Quote(contract_id=1, timestamp="2017-04-13T04:59:06.588Z", entries=QuoteEntries())
    event = MarketDataEvent(MarketData(quotes=[quote]))
    response = Response(s=200, i=7, d=msgspec.Raw(b'{"ok":true}'))
    frame = encode_messages([response, event])
    assert frame == (b'a[{"s":200,"i":7,"d":{"ok":true}},{"e":"md","d":{"quotes":[{"contractId":1,'
                     b'"timestamp":"2017-04-13T04:59:06.588Z","entries":{}}]}}]')
    decoded = decode_frame(frame)
    assert isinstance(decoded, Messages)
    assert decoded.items[1] == event
    assert decoded.items[0].body == b'{"ok":true}'


@pytest.mark.parametrize("d", [msgspec.Raw(), msgspec.Raw(b""), None])
def test_response_without_body_encodes_like_the_authorize_reply(d):
    response = Response(s=200, i=2) if d is None else Response(s=200, i=2, d=d)
    assert encode_messages([response]) == golden("frame_authorize_ok.txt")
    assert response.body is None
