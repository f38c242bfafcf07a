"""Packed tick charts (§4.7): price = (bp + p) × ts, time = bt + t, bid/ask only when their
size is present and non-zero, and packing is the exact inverse."""

from __future__ import annotations

import msgspec
import pytest
from protocol_golden import golden

from tradovate_api.protocol import pack_ticks, unpack_ticks
from tradovate_api.protocol.models import ChartData, ChartPacket, PackedTick, Tick


def documented_packet(name: str) -> ChartPacket:
    return msgspec.json.decode(golden(name), type=ChartData).charts[0]


def test_documented_tick_js_variant():
    assert unpack_ticks(documented_packet("chart_ticks_js.json")) == [Tick(
        id=11768401, timestamp_ms=1563421179735, price_ticks=11917, price=2979.25, size=3,
        bid_price=2979.0, bid_size=122, ask_price=2979.25, ask_size=28)]


def test_documented_tick_oas_variant_with_fractional_sizes():
    [tick] = unpack_ticks(documented_packet("chart_ticks_oas.json"))
    assert (tick.bid_price, tick.bid_size, tick.ask_price, tick.ask_size) == (
        2979.0, 122.21, 2979.25, 28.35)


def packet(*ticks: PackedTick, bp: int = 11917, ts: float = 0.25) -> ChartPacket:
    return ChartPacket(id=7, s="db", td=20190718, bp=bp, bt=1563421179735, ts=ts,
                       tks=list(ticks))


def test_relative_price_and_time():
    ticks = unpack_ticks(packet(PackedTick(id=1, t=0, p=0, s=1),
                                PackedTick(id=2, t=250, p=3, s=2),
                                PackedTick(id=3, t=-40, p=-5, s=1.5)))
    assert [(t.id, t.timestamp_ms, t.price_ticks, t.price, t.size) for t in ticks] == [
        (1, 1563421179735, 11917, 2979.25, 1),
        (2, 1563421179985, 11920, 2980.0, 2),
        (3, 1563421179695, 11912, 2978.0, 1.5),
    ]


@pytest.mark.parametrize(("tick", "bid", "ask"), [
    (PackedTick(id=1, t=0, p=0, s=1, b=-1, a=0), (None, None), (None, None)),
    (PackedTick(id=1, t=0, p=0, s=1, b=-1, a=0, bs=0, as_=0), (None, None), (None, None)),
    (PackedTick(id=1, t=0, p=0, s=1, b=-1, bs=4), (2979.0, 4), (None, None)),
    (PackedTick(id=1, t=0, p=0, s=1, a=1, as_=9), (None, None), (2979.5, 9)),
    (PackedTick(id=1, t=0, p=0, s=1, bs=4, as_=9), (None, None), (None, None)),
])
def test_bid_and_ask_only_with_a_non_zero_size(tick, bid, ask):
    [out] = unpack_ticks(packet(tick))
    assert (out.bid_price, out.bid_size) == bid
    assert (out.ask_price, out.ask_size) == ask


def test_tick_size_scaling_for_other_products():
    [tick] = unpack_ticks(packet(PackedTick(id=1, t=0, p=2, s=1), bp=5000, ts=0.1))
    assert tick.price_ticks == 5002
    assert tick.price == 5002 * 0.1


def test_bar_and_end_of_history_packets_have_no_ticks():
    assert unpack_ticks(ChartPacket(id=16335, eoh=True)) == []
    assert unpack_ticks(ChartPacket(id=9, td=20170413, bars=[])) == []
    assert unpack_ticks(packet()) == []


def test_tick_packet_without_bases_is_rejected():
    with pytest.raises(ValueError, match="lacks bp/bt/ts"):
        unpack_ticks(ChartPacket(id=5, tks=[PackedTick(id=1, t=0, p=0, s=1)]))


def test_pack_is_the_inverse_of_unpack_for_the_documented_packet():
    original = documented_packet("chart_ticks_js.json")
    ticks = unpack_ticks(original)
    assert pack_ticks(original.id, ticks, 0.25, 20190718) == original


def test_pack_relative_to_the_first_tick_and_omits_absent_quotes():
    ticks = [Tick(id=10, timestamp_ms=1000, price_ticks=400, price=100.0, size=1.0),
             Tick(id=11, timestamp_ms=1500, price_ticks=402, price=100.5, size=2.0,
                  bid_price=100.25, bid_size=3.0)]
    packed = pack_ticks(3, ticks, 0.25, 20240611, source="rt")
    assert msgspec.json.encode(packed) == (
        b'{"id":3,"td":20240611,"s":"rt","bp":400,"bt":1000,"ts":0.25,"tks":['
        b'{"id":10,"t":0,"p":0,"s":1.0},{"id":11,"t":500,"p":2,"s":2.0,"b":1,"bs":3.0}]}')
    assert unpack_ticks(packed) == ticks


def test_pack_refuses_an_empty_list():
    with pytest.raises(ValueError, match="empty"):
        pack_ticks(1, [], 0.25, 20240611)
