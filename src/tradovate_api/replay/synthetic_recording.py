"""Deterministic recordings made from the simulator's market generator, without sockets.

Each generator step's quotes, DOMs and prints are encoded exactly as the simulator's md
socket encodes them (one ``md`` event per quote or DOM, a ``chart`` event of packed ticks per
contract) and recorded with the step's time, with the reference and chart notes a live
recording has. ``batched`` puts a step's messages in one frame, as the simulator's default
wire does; otherwise each message is its own frame (its ``--tidy`` wire). Same arguments,
same bytes: replay tests and the replay benchmark use these when they need a recording of a
given size quickly. It joins the simulator's market and the recording writer, which stand
apart (neither imports the other), so it lives here, above both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from ..protocol import ChartEvent, MarketDataEvent, encode_messages, pack_ticks
from ..protocol.models import ChartData, MarketData, Tick
from ..recording.writer import MdRecorder
from ..simulator.instruments import InstrumentCatalog, default_instruments
from ..simulator.marketgen import MarketGenerator

DEFAULT_START = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
"""A Tuesday, 09:00 Chicago time: inside the regular session."""


def synthesize(directory: str | Path, *, seconds: float = 60.0, step_ms: int = 50,
               seed: int = 1, products: Sequence[str] = ("ES", "NQ"),
               start: dt.datetime = DEFAULT_START, label: str = "synthetic",
               batched: bool = True) -> list[Path]:
    """Record ``seconds`` of simulated market (a step every ``step_ms``) into ``directory``;
    returns the files written (one, unless the span crosses a session change)."""
    if step_ms <= 0 or seconds <= 0:
        raise ValueError("seconds and step_ms must be positive")
    chosen = [inst for inst in default_instruments(start.date())
              if inst.product.name in products]
    if not chosen:
        raise ValueError(f"no default instrument of products {', '.join(products)}")
    catalog = InstrumentCatalog(chosen)
    start_ms = int(start.timestamp() * 1000)
    generator = MarketGenerator(catalog, seed=seed, now_ms=start_ms)
    recorder = MdRecorder(directory, label=label, flush_interval=3600.0,
                          clock_ns=lambda: start_ms * 1_000_000)
    recorder.reference([i.contract for i in chosen], [i.maturity for i in chosen],
                       [i.product for i in chosen])
    chart_ids: dict[int, int] = {}
    for index, inst in enumerate(chosen):
        chart_ids[inst.contract_id] = realtime = 2 * index + 2
        recorder.chart(inst.contract_id, realtime - 1, realtime)
    tick_sizes = {i.contract_id: i.tick_size for i in chosen}
    now_ms = start_ms
    for _ in range(int(seconds * 1000 // step_ms)):
        now_ms += step_ms
        ts = now_ms * 1_000_000
        update = generator.step(now_ms)
        messages: list[MarketDataEvent | ChartEvent] = [
            MarketDataEvent(MarketData(quotes=[quote])) for quote in update.quotes]
        messages.extend(MarketDataEvent(MarketData(doms=[dom])) for dom in update.doms)
        prints: dict[int, list[Tick]] = {}
        for contract_id, tick in update.trades:
            prints.setdefault(contract_id, []).append(tick)
        messages.extend(ChartEvent(ChartData(charts=[pack_ticks(
            chart_ids[contract_id], ticks, tick_sizes[contract_id],
            generator.trade_date(now_ms))])) for contract_id, ticks in prints.items())
        if batched and messages:
            recorder.frame_at(ts, encode_messages(messages))
        else:
            for message in messages:
                recorder.frame_at(ts, encode_messages([message]))
    recorder.close(60.0)
    return list(recorder.files)
