"""Replay throughput and the cost of leaving md recording on.

Replay (issue 8's target: at least 200,000 md events/s on this machine): a deterministic
recording made from the simulator's market generator (ES + NQ, a step every 20 ms) is replayed
through decode → market store → dispatcher → strategy. Variants, each timed in every round in
turn so machine load hits them alike:

* ``decode only`` and ``decode + store``: the first stages alone, to show where time goes;
* ``pipeline``: frames already in memory, ``decode_frame`` → ``MarketDataWriter.apply`` →
  ``Dispatcher.market`` → a strategy that does nothing — the events/s the issue names;
* ``replay``: the whole ``run_replay`` (file reading and zstd, notes, the simulated exchange,
  timers, the result) with that strategy;
* ``replay reference``: ``run_replay`` with the reference strategy (real work per event).

The recording batches each step's messages in one frame, as the simulator's default wire
does; ``--tidy`` makes one message per frame instead (more frames, same events).

Recording cost: the md reader's extra work per frame when recording is on
(``MdRecorder.frame``: a timestamp, a copy, a deque append) against the same loop without it,
and the writer thread's time per frame (packing, zstd, write), with the compression ratio.

Run: ``.venv/bin/python bench/replay_bench.py [--seconds 600] [--rounds 5] [--tidy]``.
Writes ``bench/results/replay.json`` (``--out``); ``--smoke`` (what ``python -m bench --quick``
passes with its short recording) gives no verdict on the target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradovate_api.alerts import AlertLog
from tradovate_api.orders import ContractBook, OrderManager
from tradovate_api.orders.risk import RiskManager
from tradovate_api.protocol import ChartEvent, MarketDataEvent, Messages, decode_frame
from tradovate_api.recording import ChartNote, MdRecorder, RecordingReader, ReferenceNote
from tradovate_api.replay import ReplayConfig, run_replay
from tradovate_api.replay.synthetic_recording import synthesize
from tradovate_api.settings import Risk
from tradovate_api.stores import create_account_store, create_market_store
from tradovate_api.strategies.reference import ReferenceStrategy
from tradovate_api.strategy import Strategy
from tradovate_api.strategy.context import StrategyContext
from tradovate_api.strategy.dispatch import Dispatcher

TARGET_EVENTS_PER_SECOND = 200_000
RESULTS = Path(__file__).parent / "results" / "replay.json"
_CHUNK = 250
"""Frames per recorder flush in the recording-cost measurement."""
REFERENCE_PARAMS = {"large_trade": 30.0, "ts_pressure_threshold": 20.0, "dom_threshold": 10.0,
                    "trade_close_trigger": 100.0, "pressure_ratchet": False}


class Idle(Strategy):
    """Receives every hook and does nothing: the framework's own cost."""


def load(path: Path) -> tuple[list[bytes], list[ChartNote], ReferenceNote, int]:
    entries = list(RecordingReader(path).entries())
    frames = [item for _, item in entries if isinstance(item, bytes)]
    charts = [item for _, item in entries if isinstance(item, ChartNote)]
    reference = next(item for _, item in entries if isinstance(item, ReferenceNote))
    events = sum(len(f.items) for f in map(decode_frame, frames) if isinstance(f, Messages))
    return frames, charts, reference, events


def decode_seconds(frames: list[bytes]) -> float:
    """``decode_frame`` alone (the first stage of the pipeline)."""
    started = time.perf_counter()
    for data in frames:
        decode_frame(data)
    return time.perf_counter() - started


def store_seconds(frames: list[bytes], charts: list[ChartNote]) -> float:
    """decode → market store (the first two stages)."""
    _, writer = create_market_store(clock_ms=lambda: 0)
    for note in charts:
        writer.register_chart(note.contract_id, note.historical_id, note.realtime_id)
    apply = writer.apply
    started = time.perf_counter()
    for data in frames:
        frame = decode_frame(data)
        if type(frame) is Messages:
            for message in frame.items:
                if type(message) is MarketDataEvent or type(message) is ChartEvent:
                    apply(message)
    return time.perf_counter() - started


def pipeline_seconds(frames: list[bytes], charts: list[ChartNote],
                     reference: ReferenceNote) -> float:
    """decode → market store → dispatcher → idle strategy, frames in memory."""
    now = [0]
    market, writer = create_market_store(clock_ms=lambda: now[0])
    for note in charts:
        writer.register_chart(note.contract_id, note.historical_id, note.realtime_id)
    account, _ = create_account_store()
    contracts = ContractBook.from_entities(reference.contracts, reference.maturities,
                                           reference.products)
    alerts = AlertLog()
    risk = RiskManager(Risk(), account, market, alerts, lambda: now[0], account_id=1)

    class NoGateway:
        def send(self, endpoint: str, body: Any, result_type: Any) -> Any:
            raise AssertionError("the idle strategy sends nothing")

    orders = OrderManager(NoGateway(), account, risk, contracts, alerts, account_id=1,
                          account_spec="BENCH", clock=lambda: now[0], id_prefix="bench")
    ctx = StrategyContext(market=market, account=account, orders=orders, contracts=contracts,
                          alerts=alerts, account_id=1, clock=lambda: now[0])
    dispatcher = Dispatcher(Idle(), ctx, orders=orders, alerts=alerts, live_timers=False)
    dispatcher.start()
    apply, dispatch = writer.apply, dispatcher.market
    started = time.perf_counter()
    for data in frames:
        frame = decode_frame(data)
        if type(frame) is Messages:
            for message in frame.items:
                if type(message) is MarketDataEvent or type(message) is ChartEvent:
                    changes = apply(message)
                    if changes:
                        dispatch(changes)
    return time.perf_counter() - started


def replay_seconds(files: list[Path], strategy: Strategy, config: ReplayConfig) -> float:
    result = asyncio.run(run_replay(files, strategy, config))
    return result.summary.md_events / result.summary.events_per_second


def recording_costs(frames: list[bytes], directory: Path) -> dict[str, float]:
    """ns per frame on the reader with and without recording, and the writer thread's time
    per frame (packing, zstd, write), measured apart: the reader appends a chunk of frames
    (about a flush interval's worth on a busy feed) while the writer waits, then the writer
    writes it."""
    views = [memoryview(f) for f in frames]
    sink: list[int] = []

    started = time.perf_counter_ns()
    for view in views:  # the reader without recording: hand the view on
        sink.append(len(view))
    bare = time.perf_counter_ns() - started

    recorder = MdRecorder(directory, flush_interval=3600.0)
    recorded = writer = 0
    for start in range(0, len(views), _CHUNK):  # steady state: the writer frees each chunk
        chunk = views[start:start + _CHUNK]
        began = time.perf_counter_ns()
        for view in chunk:
            recorder.frame(view)
            sink.append(len(view))
        flushed = time.perf_counter_ns()
        recorder.flush(60)
        recorded += flushed - began
        writer += time.perf_counter_ns() - flushed
    recorder.close(60)
    return {
        "reader_ns_per_frame_without": bare / len(frames),
        "reader_ns_per_frame_with": recorded / len(frames),
        "reader_extra_ns_per_frame": (recorded - bare) / len(frames),
        "writer_us_per_frame": writer / 1000 / len(frames),
        "bytes_per_frame_raw": recorder.bytes_in / len(frames),
        "bytes_per_frame_compressed": recorder.bytes_out / len(frames),
        "compression_ratio": recorder.bytes_in / recorder.bytes_out,
    }


def median_range(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def verdict(met: bool | None) -> str:
    """What the target line says: nothing at smoke sizes (their numbers are noise)."""
    if met is None:
        return "no verdict (smoke sizes)"
    return "met" if met else "NOT met"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0,
                        help="recorded market time (default 600 s)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tidy", action="store_true", help="one message per frame")
    parser.add_argument("--smoke", action="store_true",
                        help="sizes too small to judge the target: no verdict")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help=f"the JSON result (default {RESULTS})")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # risk refusals of the reference strategy, by design
    with tempfile.TemporaryDirectory() as tmp:
        files = synthesize(Path(tmp) / "rec", seconds=args.seconds, step_ms=20,
                           batched=not args.tidy)
        frames, charts, reference, events = load(files[0])
        variants: dict[str, Callable[[], float]] = {
            "decode only": lambda: decode_seconds(frames),
            "decode + store": lambda: store_seconds(frames, charts),
            "pipeline": lambda: pipeline_seconds(frames, charts, reference),
            "replay": lambda: replay_seconds(files, Idle(), ReplayConfig()),
            "replay reference": lambda: replay_seconds(
                files, ReferenceStrategy(), ReplayConfig(params=REFERENCE_PARAMS,
                                                         risk=Risk(max_daily_loss=1e9))),
        }
        rates: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, run in variants.items():
                rates[name].append(events / run())
        costs = [recording_costs(frames, Path(tmp) / f"md{i}") for i in range(args.rounds)]
    cost = {key: statistics.median(c[key] for c in costs) for key in costs[0]}
    result = {
        "machine": platform.platform(), "python": sys.version.split()[0],
        "recording": {"seconds": args.seconds, "frames": len(frames), "md_events": events,
                      "batched": not args.tidy},
        "events_per_second": {name: median_range(v) for name, v in rates.items()},
        "target_events_per_second": TARGET_EVENTS_PER_SECOND,
        "target_met": None if args.smoke else (
            statistics.median(rates["pipeline"]) >= TARGET_EVENTS_PER_SECOND),
        "recording_cost": cost,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"{len(frames):,} frames, {events:,} md events "
          f"({'batched' if not args.tidy else 'one message per frame'})")
    for name, summary in result["events_per_second"].items():  # type: ignore[attr-defined]
        print(f"{name:<18} {summary['median']:>10,.0f} events/s "
              f"(min {summary['min']:,.0f}, max {summary['max']:,.0f})")
    print(f"target {TARGET_EVENTS_PER_SECOND:,}/s through decode → stores → a strategy that "
          f"does nothing (the pipeline line; the reference strategy's target is the research "
          f"bench's): {verdict(result['target_met'])}")
    print(f"recording on the reader: +{cost['reader_extra_ns_per_frame']:.0f} ns/frame "
          f"({cost['reader_ns_per_frame_with']:.0f} vs {cost['reader_ns_per_frame_without']:.0f}"
          f"); writer thread {cost['writer_us_per_frame']:.2f} µs/frame; "
          f"{cost['bytes_per_frame_compressed']:.0f} B/frame on disk "
          f"(zstd {cost['compression_ratio']:.1f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
