"""The benchmark's building blocks: frames are the wire format, probes round-trip their
sequence number, statistics are right."""

from __future__ import annotations

import math

import msgspec
import pytest

from bench import wire
from bench.stats import paired_ratios, percentile, slope, spread
from tradovate_api.protocol import ChartEvent, MarketDataEvent, Messages, decode_frame
from tradovate_api.protocol.ticks import unpack_ticks


def test_mix_frames_decode_with_the_protocol_core_and_count_their_entries() -> None:
    mix = wire.FrameMix(seed=3).frames()
    seen_ticks: set[int] = set()
    kinds = {"dom": 0, "quote": 0, "batch": 0, "ticks": 0}
    for _ in range(400):
        counted = next(mix)
        frame = decode_frame(counted.data)
        assert isinstance(frame, Messages)
        assert len(frame.items) == 1
        message = frame.items[0]
        if isinstance(message, MarketDataEvent):
            quotes, doms = len(message.data.quotes), len(message.data.doms)
            assert quotes + doms == counted.events
            if doms and all(len(d.bids) == len(d.offers) == 10 for d in message.data.doms):
                book = message.data.doms[0]
                assert [lv.price for lv in book.bids] == sorted(
                    (lv.price for lv in book.bids), reverse=True)
            kinds["batch" if quotes and doms else "dom" if doms else "quote"] += 1
        else:
            assert isinstance(message, ChartEvent)
            (packet,) = message.data.charts
            ticks = unpack_ticks(packet)
            assert len(ticks) == 4
            assert counted.events == 1
            assert seen_ticks.isdisjoint(t.id for t in ticks)  # fresh ids: never deduplicated
            seen_ticks.update(t.id for t in ticks)
            assert packet.id in {wire.chart_ids(i)[1] for i in range(len(wire.CONTRACTS))}
            kinds["ticks"] += 1
    assert kinds["dom"] > kinds["quote"] > kinds["batch"] > 0
    assert kinds["ticks"] > 0


@pytest.mark.parametrize("seq", [0, 1, 2, 17, 99_999, 1_000_003])
def test_probe_price_carries_its_sequence_number(seq: int) -> None:
    frame = decode_frame(wire.probe_frame(seq))
    assert isinstance(frame, Messages)
    (event,) = frame.items
    assert isinstance(event, MarketDataEvent)
    (quote,) = event.data.quotes
    assert quote.contract_id == wire.PROBE_CONTRACT_ID
    assert quote.entries.bid is not None
    assert quote.entries.bid.price is not None
    assert wire.probe_seq(quote.entries.bid.price) == seq


def test_sync_snapshot_encodes_and_links_every_contract_to_its_product() -> None:
    snapshot = wire.sync_snapshot()
    decoded = msgspec.json.decode(msgspec.json.encode(snapshot), type=type(snapshot))
    assert decoded == snapshot
    maturities = {m.id: m.product_id for m in snapshot.contract_maturities}
    products = {p.id for p in snapshot.products}
    assert {c.id for c in snapshot.contracts} == set(wire.all_contracts())
    assert all(maturities[c.contract_maturity_id] in products for c in snapshot.contracts)


def test_statistics() -> None:
    assert percentile([5, 1, 3, 2, 4], 0.5) == 3
    assert percentile([1, 2], 0.99) == pytest.approx(1.99)
    assert percentile([7], 0.99) == 7
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
    assert slope([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(2.0)
    assert slope([0, 0], [1, 2]) == 0.0
    assert paired_ratios([2.0, None, 9.0], [1.0, 3.0, 3.0]) == [2.0, 3.0]
    s = spread([3.0, 1.0, 2.0])
    assert (s.median, s.min, s.max, s.n) == (2.0, 1.0, 3.0, 3)
    assert s.fmt(1) == "2.0 [1.0–3.0]"
    assert math.isnan(spread([]).median)
    assert spread([]).fmt() == "–"
