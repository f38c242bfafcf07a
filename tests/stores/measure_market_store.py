"""Measure the market-data store's apply cost per event (run it with the venv python).

Events are decoded once up front (decoding is the protocol core's cost, measured elsewhere);
the loop times only ``MarketDataWriter.apply`` on realistic shapes: a 10-level DOM push, a
full quote, a bid/offer-only quote, and a tick packet of 5 prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tradovate_api.protocol import ChartEvent, MarketDataEvent, pack_ticks
from tradovate_api.protocol.models import (
    ChartData,
    Dom,
    MarketData,
    PriceLevel,
    Quote,
    QuoteEntries,
    QuoteEntry,
    Tick,
)
from tradovate_api.stores import create_market_store

ES = 1
TICK = 0.25
ROUNDS = 200_000


def _dom(i: int) -> MarketDataEvent:
    base = 20_000 + i % 7
    bids = [PriceLevel(price=(base - k) * TICK, size=10 + k + i % 5) for k in range(10)]
    offers = [PriceLevel(price=(base + 1 + k) * TICK, size=12 + k) for k in range(10)]
    return MarketDataEvent(MarketData(doms=[Dom(contract_id=ES, timestamp="2024-01-02T15:00:00Z",
                                                 bids=bids, offers=offers)]))


def _quote(i: int, full: bool) -> MarketDataEvent:
    px = (20_000 + i % 7) * TICK
    entries = QuoteEntries(
        bid=QuoteEntry(price=px, size=10), offer=QuoteEntry(price=px + TICK, size=12),
        trade=QuoteEntry(price=px, size=1) if full else None,
        total_trade_volume=QuoteEntry(size=1000 + i) if full else None,
        high_price=QuoteEntry(price=px + 5) if full else None,
        low_price=QuoteEntry(price=px - 5) if full else None)
    return MarketDataEvent(MarketData(quotes=[Quote(contract_id=ES, timestamp="t",
                                                    entries=entries)]))


def _ticks(i: int) -> ChartEvent:
    ticks = [Tick(i * 5 + k, 1_000 + i * 5 + k, 20_000, 20_000 * TICK, 1 + k, 4999.75, 10,
                  5000.0, 12) for k in range(5)]
    return ChartEvent(ChartData(charts=[pack_ticks(7, ticks, TICK, 20240102)]))


def _time(label: str, events: list[MarketDataEvent] | list[ChartEvent],
          apply: Callable[[MarketDataEvent | ChartEvent], object]) -> None:
    start = time.perf_counter()
    for event in events:
        apply(event)
    elapsed = time.perf_counter() - start
    print(f"{label:<32} {elapsed / len(events) * 1e6:6.2f} µs/event")


def main() -> None:
    now = [1_000]
    _, writer = create_market_store(clock_ms=lambda: now[0])
    writer.register_chart(ES, 7)
    doms = [_dom(i) for i in range(1000)] * (ROUNDS // 1000)
    full = [_quote(i, True) for i in range(1000)] * (ROUNDS // 1000)
    bbo = [_quote(i, False) for i in range(1000)] * (ROUNDS // 1000)
    ticks = [_ticks(i) for i in range(ROUNDS // 10)]
    _time("DOM push, 10+10 levels", doms, writer.apply)
    _time("quote, 6 entries", full, writer.apply)
    _time("quote, bid+offer only", bbo, writer.apply)
    _time("tick packet, 5 prints (new)", ticks, writer.apply)


if __name__ == "__main__":
    main()
