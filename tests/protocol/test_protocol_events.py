"""Events (§3.2, §4, §5.3, §8): md, chart, props, clock, shutdown and unknown kinds decode to
the documented values, alone, batched with responses, and next to a malformed message."""

from __future__ import annotations

import msgspec
import pytest
from protocol_golden import chart_frame, event_frame, golden

from tradovate_api.protocol import (
    BadEntity,
    ChartEvent,
    ClockEvent,
    EntityEvent,
    MarketDataEvent,
    MessageError,
    Messages,
    Response,
    Shutdown,
    ShutdownEvent,
    UnknownEntity,
    UnknownEvent,
    decode_entities,
    decode_frame,
    decode_messages,
)
from tradovate_api.protocol.models import (
    Bar,
    ChartPacket,
    Command,
    Dom,
    Histogram,
    MarketData,
    OrderVersion,
    PackedTick,
    PriceLevel,
    Quote,
    QuoteEntries,
    QuoteEntry,
    TradeDate,
)


def messages(frame: bytes) -> list[object]:
    decoded = decode_frame(frame)
    assert isinstance(decoded, Messages), decoded
    return list(decoded.items)


def only(frame: bytes) -> object:
    [message] = messages(frame)
    return message


DOCUMENTED_QUOTE = Quote(
    timestamp="2017-04-13T04:59:06.588Z", contract_id=123456, entries=QuoteEntries(
        bid=QuoteEntry(price=18405, size=7), total_trade_volume=QuoteEntry(size=4118),
        offer=QuoteEntry(price=18410, size=12), low_price=QuoteEntry(price=18355),
        trade=QuoteEntry(price=18405, size=2), open_interest=QuoteEntry(size=40702),
        opening_price=QuoteEntry(price=18515), high_price=QuoteEntry(price=18520),
        settlement_price=QuoteEntry(price=18520)))


# ------------------------------------------------------------------ md

def test_quote_event():
    event = only(event_frame("event_quote.json"))
    assert isinstance(event, MarketDataEvent)
    assert event.data.quotes == [DOCUMENTED_QUOTE]
    assert event.data.doms == []
    assert event.data.histograms == []
    entries = event.data.quotes[0].entries
    assert entries.total_trade_volume == QuoteEntry(price=None, size=4118.0)
    assert entries.high_price == QuoteEntry(price=18520.0, size=None)
    assert entries.empty_book is None


def test_quote_fractional_values_and_empty_book():
    frame = (b'a[{"e":"md","d":{"quotes":[{"timestamp":"t","contractId":1,"id":5,"entries":'
             b'{"Bid":{"price":18405.123,"size":7.123},"EmptyBook":{},"Unknown":{"x":1}}}]}}]')
    event = only(frame)
    assert isinstance(event, MarketDataEvent)
    [quote] = event.data.quotes
    assert quote.id == 5
    assert quote.entries.bid == QuoteEntry(price=18405.123, size=7.123)
    assert quote.entries.empty_book == QuoteEntry()


def test_dom_event():
    event = only(event_frame("event_dom.json"))
    assert event == MarketDataEvent(MarketData(doms=[Dom(
        contract_id=123456, timestamp="2017-04-13T11:33:57.488Z",
        bids=[PriceLevel(price=2335.25, size=33), PriceLevel(price=2333, size=758)],
        offers=[PriceLevel(price=2335.5, size=255), PriceLevel(price=2337.75, size=466)])]))


def test_histogram_event():
    event = only(event_frame("event_histogram.json"))
    assert isinstance(event, MarketDataEvent)
    assert event.data.histograms == [Histogram(
        contract_id=123456, timestamp="2017-04-13T11:33:57.412Z",
        trade_date=TradeDate(year=2017, month=4, day=13), base=2338.75,
        items={"-14": 5906, "2": 1234}, refresh=False)]


# ------------------------------------------------------------------ chart

def test_bar_chart_event():
    event = only(event_frame("event_bar_chart.json"))
    assert isinstance(event, ChartEvent)
    assert event.data.charts == [ChartPacket(id=9, td=20170413, bars=[Bar(
        timestamp="2017-04-13T11:00:00.000Z", open=2334.25, high=2334.5, low=2333,
        close=2333.75, up_volume=4712, down_volume=201, up_ticks=1333, down_ticks=82,
        bid_volume=2857, offer_volume=2056)])]


@pytest.mark.parametrize(("name", "td", "bs", "as_"), [
    ("chart_ticks_js.json", 20190718, 122, 28),
    ("chart_ticks_oas.json", 20210718, 122.21, 28.35),
])
def test_packed_tick_chart_and_end_of_history(name, td, bs, as_):
    event = only(chart_frame(name))
    assert isinstance(event, ChartEvent)
    packet, end = event.data.charts
    assert packet == ChartPacket(id=16335, s="db", td=td, bp=11917, bt=1563421179735, ts=0.25,
                                 tks=[PackedTick(t=0, p=0, s=3, b=-1, a=0, bs=bs, as_=as_,
                                                 id=11768401)])
    assert not packet.eoh
    assert end == ChartPacket(id=16335, eoh=True)
    assert end.bars is None
    assert end.tks is None


# ------------------------------------------------------------------ props

def test_issue_28_command_and_order_version_in_one_frame():
    command, version = messages(golden("frame_issue28_props.txt"))
    assert command == EntityEvent("command", "Created", (Command(
        id=62539, order_id=62496, timestamp="2018-05-02T15:35:00.495Z", command_type="Modify",
        command_status="Pending", sender_id=18899, user_session_id=0),))
    assert version == EntityEvent("orderVersion", "Created", (OrderVersion(
        id=62539, order_id=62496, order_qty=1, order_type="Stop", stop_price=2633,
        time_in_force="Day", text="DOM"),))
    assert version.entities[0].price is None


def props(entity_type: str, event_type: str, entity: bytes) -> bytes:
    return (b'a[{"e":"props","d":{"entityType":"%s","eventType":"%s","entity":%s}}]'
            % (entity_type.encode(), event_type.encode(), entity))


def test_props_entity_array():
    fills = golden("body_fill_list.json")
    event = only(props("fill", "Updated", fills))
    assert isinstance(event, EntityEvent)
    assert (event.entity_type, event.event_type) == ("fill", "Updated")
    assert [f.id for f in event.entities] == [4914944371, 4914944436]
    assert [f.external for f in event.entities] == [False, False]


def test_props_single_object_gives_one_entity():
    event = only(props("contract", "Deleted", golden("body_contract_item.json")))
    assert isinstance(event, EntityEvent)
    assert event.event_type == "Deleted"
    assert len(event.entities) == 1
    assert event.entities[0].name == "ESM2"


def test_unknown_entity_type_is_kept_raw():
    margins = golden("body_product_margin_ldeps.json")
    event = only(props("productMargin", "Updated", margins))
    assert isinstance(event, EntityEvent)
    assert [type(e) for e in event.entities] == [UnknownEntity, UnknownEntity]
    first, second = event.entities
    assert first.entity_type == "productMargin"
    assert first.raw == (b'{"id":814,"initialMargin":17050,"maintenanceMargin":15500,'
                         b'"timestamp":"2022-04-21T00:09:12.512Z"}')
    assert second.to_builtins()["id"] == 799
    single = only(props("userPlugin", "Created", b'{"id":1, "x" : [1,2]}'))
    assert single == EntityEvent("userPlugin", "Created",
                                 (UnknownEntity("userPlugin", b'{"id":1, "x" : [1,2]}'),))


def test_decode_entities_directly():
    assert decode_entities("orderStrategyLink", b'{"id":1,"orderStrategyId":2,"orderId":3,'
                                                b'"label":"entry"}')[0].label == "entry"
    assert decode_entities("contract", b" []") == ()
    (bad,) = decode_entities("contract", b'{"id":1}')
    assert isinstance(bad, BadEntity)
    assert "name" in bad.reason
    with pytest.raises(msgspec.DecodeError):
        decode_entities("contract", b'{"id":1')


def test_props_with_an_unreadable_known_entity_keeps_it_raw_beside_good_ones():
    frame = (b'a[{"e":"props","d":{"entityType":"order","eventType":"Created","entity":{"id":1}}},'
             + event_frame("event_dom.json")[2:])
    event, dom = messages(frame)
    assert isinstance(event, EntityEvent)
    (bad,) = event.bad
    assert "accountId" in bad.reason
    assert msgspec.json.decode(bad.raw) == {"id": 1}
    assert isinstance(dom, MarketDataEvent)


# ------------------------------------------------------------------ clock, shutdown, unknown

def test_clock_event_with_string_d():
    assert only(golden("frame_clock.txt")) == ClockEvent("2019-08-26T16:43:08.599Z", 20)


def test_paused_clock_and_bad_clock_string():
    assert only(b'a[{"e":"clock","d":"{\\"t\\":\\"x\\",\\"s\\":0}"}]') == ClockEvent("x", 0)
    bad = only(b'a[{"e":"clock","d":"not json"}]')
    assert isinstance(bad, MessageError)


@pytest.mark.parametrize("code", ["Maintenance", "ConnectionQuotaReached", "IPQuotaReached"])
def test_shutdown_reason_codes(code):
    frame = b'a[{"e":"shutdown","d":{"reasonCode":"%s","reason":"bye"}}]' % code.encode()
    assert only(frame) == ShutdownEvent(Shutdown(reason_code=code, reason="bye"))
    bare = only(b'a[{"e":"shutdown","d":{"reasonCode":"%s"}}]' % code.encode())
    assert bare == ShutdownEvent(Shutdown(reason_code=code))


def test_unknown_event_kind_is_kept():
    event = only(b'a[{"e":"userStatus","d":{"a":[1, 2]}}]')
    assert event == UnknownEvent("userStatus", b'{"a":[1, 2]}')
    assert only(b'a[{"e":"future"}]') == UnknownEvent("future", b"")


@pytest.mark.parametrize("message", [
    b'{"x":1}', b'{"e":5,"d":{}}', b'{"e":"md"}', b'{"e":"md","d":null}',
    b'{"e":"md","d":{"doms":[{"contractId":"x"}]}}', b'{"s":"200","i":1}', b"[1]", b"null",
])
def test_malformed_messages_become_message_errors(message):
    frame = b"a[" + golden("msg_response_contract.json") + b"," + message + b"]"
    response, error = messages(frame)
    assert isinstance(response, Response)
    assert response.i == 26
    assert isinstance(error, MessageError)
    assert error.raw == message
    assert error.reason


# ------------------------------------------------------------------ batching

def test_frame_batching_responses_and_events_keeps_wire_order():
    parts = [golden("event_quote.json"), golden("msg_response_contract.json"),
             golden("event_dom.json"), golden("msg_response_not_found.json"),
             b'{"e":"shutdown","d":{"reasonCode":"Maintenance"}}',
             golden("frame_props_order_created.txt")[2:-1], golden("event_histogram.json")]
    items = messages(b"a[" + b",".join(parts) + b"]")
    assert [type(m) for m in items] == [MarketDataEvent, Response, MarketDataEvent, Response,
                                        ShutdownEvent, EntityEvent, MarketDataEvent]
    assert items[0].data.quotes == [DOCUMENTED_QUOTE]
    assert (items[1].i, items[3].i, items[3].s) == (26, 1, 404)
    assert items[5].entities[0].id == 210518


def test_batched_md_events_take_the_fast_path_and_match_one_by_one():
    parts = [golden("event_quote.json"), golden("event_dom.json"),
             golden("event_histogram.json"), golden("event_bar_chart.json")]
    batched = messages(b"a[" + b",".join(parts) + b"]")
    assert batched == [only(b"a[" + p + b"]") for p in parts]


def test_decode_messages_accepts_bytes_and_memoryview():
    payload = golden("frame_issue28_props.txt")[1:]
    assert decode_messages(payload) == decode_messages(memoryview(payload))
    with pytest.raises(msgspec.DecodeError):
        decode_messages(b"not json")
