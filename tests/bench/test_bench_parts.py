"""The benchmark's building blocks: frames are the wire format, probes round-trip their
sequence number, statistics are right, targets are judged only on a full run, the per-order
breakdown is summarised."""

from __future__ import annotations

import math
from typing import Any

import msgspec
import pytest

from bench import harness, wire
from bench.report import markdown
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


def _summary(idle_p50: float, cpu: float) -> dict[str, Any]:
    ratios = {"idle p50_us full/bare": spread([idle_p50, idle_p50 * 1.1, idle_p50 * 0.9]),
              "idle client_cpu_us_per_frame full/bare": spread([cpu, cpu, cpu])}
    return {"table": {}, "ratios": ratios, "breakdown": {}}


def _result(targets: list[dict[str, Any]]) -> dict[str, Any]:
    return {"command": "python -m bench", "params": {"rounds": 3, "clients": ["full"]},
            "machine": {"date": "d", "python": "3.11", "machine": "x86_64", "cpus": 2,
                        "loadavg": [1.0, 1.0, 1.0],
                        "versions": {"msgspec": "1", "picows": "1", "uvloop": "1",
                                     "websockets": "1"}},
            "summary": _summary(1.0, 1.0), "targets": targets, "loadavg_end": [1.0, 1.0, 1.0]}


def test_only_a_full_run_judges_the_targets() -> None:
    summary = _summary(1.2, 3.0)
    judged = {t["target"]: t["met"] for t in harness.targets(summary, [], None)}
    assert judged == {"idle tick-to-order p50: full ≤ 1.25× bare": True,
                      "idle client CPU per probe: full ≤ 2× bare": False}
    smoke = harness.targets(summary, [], None, judge=False)
    assert [t["met"] for t in smoke] == [None, None]
    assert [t["measured"] for t in smoke] == [1.2, 3.0]
    text = markdown(_result(smoke))
    assert "not judged" in text
    assert "MISSED" not in text
    assert " met |" not in text
    full = markdown(_result(harness.targets(summary, [], None)))
    assert "| **MISSED** |" in full
    assert "| met |" in full
    assert "2 CPUs" in full
    assert "Python 3.11" in full
    assert "uvloop 1" in full


def test_the_breakdown_is_summarised_over_rounds_per_stage() -> None:
    runs = [{"scenario": "idle", "client": "full", "round": r,
             "client_result": {"breakdown": {"send": {"label": "risk passed → written",
                                                      "count": 10, "p50_us": 10.0 + r,
                                                      "p99_us": 50.0 + r}}}}
            for r in range(3)]
    runs.append({"scenario": "idle", "client": "bare", "round": 0, "client_result": {}})
    out = harness.breakdown(runs, ["full", "bare"])
    assert set(out["idle"]) == {"full"}
    send = out["idle"]["full"]["send"]
    assert (send["p50_us"].median, send["p50_us"].n, send["p99_us"].max) == (11.0, 3, 52.0)
    result = _result([])
    result["summary"]["breakdown"] = out
    assert "| full | idle (paced probes) | risk passed → written | 11.0 [10.0–12.0] |" in \
        markdown(result)
