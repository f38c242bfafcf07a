"""Chart subscriptions: packed tick history and real time, bars, ids, eoh, cancel, errors.

Every packet is sent through the real protocol core (encode an ``a`` frame, decode it, unpack
the ticks) and compared with the generator's own trade history.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import msgspec
import pytest

from tradovate_api.protocol import ChartEvent, Messages, decode_frame, encode_messages
from tradovate_api.protocol.models import (
    Bar,
    ChartData,
    ChartDescription,
    ChartPacket,
    GetChart,
    Tick,
    TimeRange,
)
from tradovate_api.protocol.ticks import unpack_ticks
from tradovate_api.simulator.charts import TICKS_PER_PACKET, ChartSubscriptions
from tradovate_api.simulator.engine_time import cme_trade_date, iso_timestamp
from tradovate_api.simulator.instruments import Instrument, InstrumentCatalog, default_instruments
from tradovate_api.simulator.marketgen import MarketGenerator

T0 = int(dt.datetime(2026, 11, 24, 16, 0, tzinfo=dt.UTC).timestamp() * 1000)  # 10:00 CT
STEP_MS = 25


@dataclass
class Market:
    gen: MarketGenerator
    es: Instrument
    nq: Instrument


def market(seed: int = 1, warm_ms: int = 300_000, now: int = T0) -> Market:
    cat = InstrumentCatalog(default_instruments(dt.date(2026, 11, 24)))
    gen = MarketGenerator(cat, seed=seed, now_ms=now)
    gen.warm_up(now, warm_ms, STEP_MS)
    es, nq = cat.by_name("ESZ6"), cat.by_name("NQZ6")
    assert es is not None
    assert nq is not None
    return Market(gen, es, nq)


def request(kind: str = "Tick", size: int = 1, **time_range: object) -> GetChart:
    if not time_range:
        time_range = {"as_much_as_elements": 100_000}
    return GetChart(symbol="ESZ6",
                    chart_description=ChartDescription(underlying_type=kind, element_size=size,
                                                       element_size_unit="UnderlyingUnits"),
                    time_range=TimeRange(**time_range))  # type: ignore[arg-type]


def wire(packets: Sequence[ChartPacket]) -> list[ChartPacket]:
    """The packets as a client decodes them from an ``a[{"e":"chart",...}]`` frame."""
    frame = decode_frame(encode_messages([ChartEvent(ChartData(charts=list(packets)))]))
    assert isinstance(frame, Messages)
    (event,) = frame.items
    assert isinstance(event, ChartEvent)
    return event.data.charts


def trade_date(ms: int) -> int:
    d = cme_trade_date(ms / 1000)
    return d.year * 10_000 + d.month * 100 + d.day


def check_tick_packet(packet: ChartPacket, packet_id: int) -> list[Tick]:
    assert packet.id == packet_id
    assert packet.s == "db"
    assert packet.tks is not None
    assert 0 < len(packet.tks) <= TICKS_PER_PACKET
    ticks = unpack_ticks(packet)
    assert {trade_date(t.timestamp_ms) for t in ticks} == {packet.td}
    return ticks


def run(m: Market, charts: ChartSubscriptions, steps: int,
        start: int = T0) -> tuple[list[ChartPacket], list[tuple[int, Tick]]]:
    packets: list[ChartPacket] = []
    trades: list[tuple[int, Tick]] = []
    for i in range(steps):
        update = m.gen.step(start + i * STEP_MS)
        trades.extend(update.trades)
        packets.extend(wire(charts.on_update(update)))
    return packets, trades


# ----------------------------------------------------------------- tick charts


def test_tick_history_reconstructs_the_trade_history_exactly() -> None:
    m = market()
    charts = ChartSubscriptions(m.gen, history_id="historical", history_limit=100_000)
    result, packets = charts.subscribe(m.es, request())
    assert result.mode == "RealTime"
    assert result.historical_id is not None
    assert result.realtime_id is not None
    assert result.error_code is None
    decoded = wire(packets)
    *history, eoh = decoded
    assert eoh == ChartPacket(id=result.realtime_id, eoh=True)
    assert msgspec.json.encode(packets[-1]) == b'{"id":%d,"eoh":true}' % result.realtime_id
    ticks = [t for p in history for t in check_tick_packet(p, result.historical_id)]
    expected = list(m.gen.ticks(m.es.contract_id))
    assert len(expected) > 1000
    assert ticks == expected
    assert len(history) == -(-len(expected) // TICKS_PER_PACKET)


@pytest.mark.parametrize("kind", ["Tick", "MinuteBar"])
def test_history_is_sent_under_the_realtime_id_by_default(kind: str) -> None:
    # Tradovate's example clients keep only packets under the realtime id (reference §4.5-4.8)
    m = market()
    default = ChartSubscriptions(m.gen, history_limit=100_000)
    historical = ChartSubscriptions(m.gen, history_id="historical", history_limit=100_000)
    result, packets = default.subscribe(m.es, request(kind))
    assert result.realtime_id is not None
    assert {p.id for p in wire(packets)} == {result.realtime_id}
    _, reference = historical.subscribe(m.es, request(kind))
    assert [p.tks or p.bars for p in wire(packets)] == [p.tks or p.bars
                                                         for p in wire(reference)]


def test_tick_history_honours_the_time_range() -> None:
    m = market()
    charts = ChartSubscriptions(m.gen, history_id="historical", history_limit=100_000)
    all_ticks = list(m.gen.ticks(m.es.contract_id))

    def history(**time_range: object) -> list[Tick]:
        result, packets = charts.subscribe(m.es, request(**time_range))
        assert result.historical_id is not None
        return [t for p in wire(packets)[:-1] for t in check_tick_packet(p, result.historical_id)]

    assert history(as_much_as_elements=250) == all_ticks[-250:]
    closest, far = T0 - 200_000, T0 - 260_000
    window = [t for t in all_ticks if far <= t.timestamp_ms <= closest]
    assert history(closest_timestamp=iso_timestamp(closest / 1000),
                   as_far_as_timestamp=iso_timestamp(far / 1000)) == window
    assert history(closest_timestamp=iso_timestamp(closest / 1000),
                   as_much_as_elements=30) == [t for t in all_ticks
                                               if t.timestamp_ms <= closest][-30:]
    # minute precision, as the reference's request examples are written
    minute = dt.datetime(2026, 11, 24, 15, 57, tzinfo=dt.UTC)
    cut = int(minute.timestamp() * 1000)
    assert history(as_far_as_timestamp="2026-11-24T15:57Z") == [
        t for t in all_ticks if t.timestamp_ms >= cut]
    middle = all_ticks[len(all_ticks) // 2]
    assert history(closest_tick_id=middle.id, as_much_as_elements=10) == [
        t for t in all_ticks if t.id <= middle.id][-10:]


def test_history_is_capped_and_empty_history_still_ends_with_eoh() -> None:
    m = market()
    charts = ChartSubscriptions(m.gen, history_id="historical", history_limit=120)
    result, packets = charts.subscribe(m.es, request())
    assert result.historical_id is not None
    ticks = [t for p in wire(packets)[:-1] for t in check_tick_packet(p, result.historical_id)]
    assert ticks == list(m.gen.ticks(m.es.contract_id))[-120:]
    result, packets = charts.subscribe(m.es, request(as_far_as_timestamp="2030-01-01T00:00Z"))
    assert packets == [ChartPacket(id=result.realtime_id or 0, eoh=True)]


def test_tick_packets_never_straddle_a_trade_date() -> None:
    # 16:58 CT to 17:02 CT: the 17:00 CT session open starts the next trade date
    start = int(dt.datetime(2026, 11, 24, 23, 2, tzinfo=dt.UTC).timestamp() * 1000)
    m = market(warm_ms=240_000, now=start)
    charts = ChartSubscriptions(m.gen, history_id="historical", history_limit=100_000)
    result, packets = charts.subscribe(m.es, request())
    assert result.historical_id is not None
    history = wire(packets)[:-1]
    ticks = [t for p in history for t in check_tick_packet(p, result.historical_id)]
    assert ticks == list(m.gen.ticks(m.es.contract_id))
    assert {p.td for p in history} == {20261124, 20261125}


def test_realtime_ticks_follow_the_history() -> None:
    m = market()
    charts = ChartSubscriptions(m.gen)
    result, _ = charts.subscribe(m.es, request(as_much_as_elements=10))
    packets, trades = run(m, charts, 400)
    assert result.realtime_id is not None
    ticks = [t for p in packets for t in check_tick_packet(p, result.realtime_id)]
    assert ticks == [t for cid, t in trades if cid == m.es.contract_id]
    assert len(ticks) > 50


def test_with_rng_tick_packets_arrive_out_of_order_but_complete() -> None:
    m = market(warm_ms=600_000)
    charts = ChartSubscriptions(m.gen, history_id="historical", rng=random.Random(7),
                                history_limit=100_000)
    swapped_history = 0
    for _ in range(20):
        result, packets = charts.subscribe(m.es, request())
        assert result.historical_id is not None
        history = [check_tick_packet(p, result.historical_id) for p in wire(packets)[:-1]]
        starts = [h[0].timestamp_ms for h in history]
        swapped_history += starts != sorted(starts)
        flat = [t for h in history for t in h]
        assert sorted(flat, key=lambda t: t.id) == list(m.gen.ticks(m.es.contract_id))
        assert charts.cancel(result.realtime_id or 0)
    assert swapped_history > 0
    result, _ = charts.subscribe(m.es, request(as_much_as_elements=1))
    packets, trades = run(m, charts, 2000)
    packets += wire(charts.on_update(m.gen.step(T0 + 2000 * STEP_MS)))  # flush held packets
    chunks = [check_tick_packet(p, result.realtime_id or 0) for p in packets]
    out_of_order = sum(later[0].id < earlier[-1].id for earlier, later in pairwise(chunks))
    assert out_of_order > 0
    got = sorted((t for c in chunks for t in c), key=lambda t: t.id)
    assert got == [t for cid, t in trades if cid == m.es.contract_id]


# ----------------------------------------------------------------- bar charts


def expected_bars(ticks: Sequence[Tick], key_of: dict[int, int] | None,
                  period_ms: int) -> dict[int, Bar]:
    """Bars implied by the trades, keyed by bar start (tick rule for up/down, trades at the
    offer for offer volume)."""
    bars: dict[int, Bar] = {}
    previous: float | None = None
    up = True
    for t in ticks:
        if previous is not None and t.price != previous:
            up = t.price > previous
        previous = t.price
        start = key_of[t.id] if key_of is not None else t.timestamp_ms - t.timestamp_ms % period_ms
        bar = bars.get(start)
        size = t.size
        at_offer = t.price == t.ask_price
        if bar is None:
            bar = Bar(timestamp=iso_timestamp(start / 1000), open=t.price, high=t.price,
                      low=t.price, close=t.price)
        bars[start] = msgspec.structs.replace(
            bar, high=max(bar.high, t.price), low=min(bar.low, t.price), close=t.price,
            up_volume=bar.up_volume + (size if up else 0),
            down_volume=bar.down_volume + (0 if up else size),
            up_ticks=bar.up_ticks + up, down_ticks=bar.down_ticks + (not up),
            bid_volume=bar.bid_volume + (0 if at_offer else size),
            offer_volume=bar.offer_volume + (size if at_offer else 0))
    return bars


def bars_of(packets: Sequence[ChartPacket], packet_id: int) -> list[Bar]:
    out = []
    for p in packets:
        assert p.id == packet_id
        assert p.bars
        assert not p.tks
        out.extend(p.bars)
    return out


@pytest.mark.parametrize("minutes", [1, 2, 5])
def test_minute_bar_history_and_realtime_match_the_trades(minutes: int) -> None:
    m = market()
    charts = ChartSubscriptions(m.gen, history_id="historical")
    result, packets = charts.subscribe(m.es, request("MinuteBar", minutes))
    assert result.historical_id is not None
    assert result.realtime_id is not None
    *history, eoh = wire(packets)
    assert eoh == ChartPacket(id=result.realtime_id, eoh=True)
    assert {p.td for p in history} == {20261124}
    period = minutes * 60_000
    got = {b.timestamp: b for b in bars_of(history, result.historical_id)}
    expected = expected_bars(list(m.gen.ticks(m.es.contract_id)), None, period)
    assert got == {b.timestamp: b for b in expected.values()}
    realtime, _ = run(m, charts, 6000)  # 2.5 minutes
    sent = bars_of(realtime, result.realtime_id)
    assert len(sent) > 100  # the current bar is re-sent as it changes
    for bar in sent:
        got[bar.timestamp] = bar
    expected = expected_bars(list(m.gen.ticks(m.es.contract_id)), None, period)
    assert got == {b.timestamp: b for b in expected.values()}


def test_bar_history_time_range() -> None:
    m = market()
    charts = ChartSubscriptions(m.gen, history_id="historical")
    result, packets = charts.subscribe(m.es, request("MinuteBar", 1, as_much_as_elements=2))
    bars = bars_of(wire(packets)[:-1], result.historical_id or 0)
    assert [b.timestamp for b in bars] == ["2026-11-24T15:58:00.000Z",
                                           "2026-11-24T15:59:00.000Z"]
    result, packets = charts.subscribe(m.es, request(
        "MinuteBar", 1, closest_timestamp="2026-11-24T15:57:00.000Z",
        as_far_as_timestamp="2026-11-24T15:56Z"))
    bars = bars_of(wire(packets)[:-1], result.historical_id or 0)
    assert [b.timestamp for b in bars] == ["2026-11-24T15:56:00.000Z",
                                           "2026-11-24T15:57:00.000Z"]


def test_daily_bars_follow_trade_dates() -> None:
    start = int(dt.datetime(2026, 11, 24, 23, 2, tzinfo=dt.UTC).timestamp() * 1000)
    m = market(warm_ms=240_000, now=start)
    charts = ChartSubscriptions(m.gen, history_id="historical")
    result, packets = charts.subscribe(m.es, request("DailyBar", 1))
    history = wire(packets)[:-1]
    assert [p.td for p in history] == [20261124, 20261125]
    days = {20261124: int(dt.datetime(2026, 11, 24, tzinfo=dt.UTC).timestamp() * 1000),
            20261125: int(dt.datetime(2026, 11, 25, tzinfo=dt.UTC).timestamp() * 1000)}
    ticks = list(m.gen.ticks(m.es.contract_id))
    key_of = {t.id: days[trade_date(t.timestamp_ms)] for t in ticks}
    got = bars_of(history, result.historical_id or 0)
    assert got == list(expected_bars(ticks, key_of, 0).values())
    assert [b.timestamp for b in got] == ["2026-11-24T00:00:00.000Z", "2026-11-25T00:00:00.000Z"]
    realtime, _ = run(m, charts, 200, start=start)
    last = bars_of(realtime, result.realtime_id or 0)[-1]
    ticks = list(m.gen.ticks(m.es.contract_id))
    key_of = {t.id: days[trade_date(t.timestamp_ms)] for t in ticks}
    assert last == expected_bars(ticks, key_of, 0)[days[20261125]]


# ----------------------------------------------------------------- ids, cancel, errors


def test_ids_are_unique_across_connections_and_realtime_comes_first() -> None:
    m = market(warm_ms=10_000)
    a, b = ChartSubscriptions(m.gen), ChartSubscriptions(m.gen)
    ids = []
    for charts in (a, b, a):
        result, _ = charts.subscribe(m.es, request())
        assert result.realtime_id is not None
        assert result.historical_id is not None
        assert result.realtime_id < result.historical_id
        ids += [result.realtime_id, result.historical_id]
    assert len(set(ids)) == len(ids)
    assert (len(a), len(b)) == (2, 1)


@pytest.mark.parametrize("which", ["historical", "realtime"])
def test_cancel_by_either_id_stops_the_chart(which: str) -> None:
    m = market(warm_ms=10_000)
    charts = ChartSubscriptions(m.gen)
    kept, _ = charts.subscribe(m.nq, request())
    gone, _ = charts.subscribe(m.es, request("MinuteBar", 1))
    assert gone.historical_id is not None
    assert gone.realtime_id is not None
    ident = gone.historical_id if which == "historical" else gone.realtime_id
    assert charts.cancel(ident)
    assert len(charts) == 1
    assert not charts.cancel(gone.historical_id)
    assert not charts.cancel(gone.realtime_id)
    packets, trades = run(m, charts, 400)
    assert {p.id for p in packets} == {kept.realtime_id}
    assert any(cid == m.es.contract_id for cid, _ in trades)
    assert charts.cancel(kept.realtime_id or 0)
    assert run(m, charts, 50)[0] == []


def test_unknown_symbol_gets_the_documented_error_shape() -> None:
    m = market(warm_ms=0)
    charts = ChartSubscriptions(m.gen)
    result, packets = charts.subscribe(None, request())
    assert packets == []
    body = msgspec.json.decode(msgspec.json.encode(result))
    assert body["errorCode"] == "UnknownSymbol"
    assert "ESZ6" in body["errorText"]
    assert "historicalId" not in body
    assert "realtimeId" not in body
    assert len(charts) == 0


@pytest.mark.parametrize(("kind", "size", "unit", "code"), [
    ("Tick", 5, "UnderlyingUnits", "OperationNotSupported"),
    ("DailyBar", 2, "UnderlyingUnits", "OperationNotSupported"),
    ("Custom", 1, "UnderlyingUnits", "OperationNotSupported"),
    ("MinuteBar", 5, "Volume", "OperationNotSupported"),
    ("MinuteBar", 0, "UnderlyingUnits", "UnknownReason"),
])
def test_invalid_chart_descriptions_are_refused(kind: str, size: int, unit: str,
                                                code: str) -> None:
    m = market(warm_ms=0)
    charts = ChartSubscriptions(m.gen)
    body = GetChart(symbol="ESZ6",
                    chart_description=ChartDescription(underlying_type=kind, element_size=size,
                                                       element_size_unit=unit),
                    time_range=TimeRange(as_much_as_elements=10))
    result, packets = charts.subscribe(m.es, body)
    assert packets == []
    assert result.error_code == code
    assert result.error_text
    assert result.historical_id is None
    assert len(charts) == 0


def test_invalid_time_ranges_are_refused() -> None:
    m = market(warm_ms=0)
    charts = ChartSubscriptions(m.gen)
    for time_range in (TimeRange(), TimeRange(closest_timestamp="yesterday"),
                       TimeRange(as_much_as_elements=-1)):
        body = GetChart(symbol="ESZ6", chart_description=ChartDescription(
            underlying_type="Tick", element_size=1, element_size_unit="UnderlyingUnits"),
            time_range=time_range)
        result, packets = charts.subscribe(m.es, body)
        assert packets == []
        assert result.error_code == "UnknownReason"
        assert result.error_text
