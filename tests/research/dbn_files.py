"""Small DBN files for the research tests, written with databento-dbn itself."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import databento_dbn as dbn

from tradovate_api.research.dbn_sample import INSTRUMENT_ID, metadata, write_dbn

START = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
T0 = int(START.timestamp() * 1e9)
MS = 1_000_000


def px(price: float) -> int:
    """A price in DBN fixed point (1e-9)."""
    return round(price * 1e9)


def level(bid: float, ask: float, bid_sz: int = 10, ask_sz: int = 12) -> Any:
    return dbn.BidAskPair(bid_px=px(bid), ask_px=px(ask), bid_sz=bid_sz, ask_sz=ask_sz,
                          bid_ct=1, ask_ct=1)


def mbp1(t_ms: int, bid: float, ask: float, *, action: str = "A", side: str = "B",
         price: float | None = None, size: int = 1, sequence: int = 0, flags: int = 0,
         bid_sz: int = 10, ask_sz: int = 12, iid: int = INSTRUMENT_ID) -> Any:
    return dbn.MBP1Msg(
        publisher_id=1, instrument_id=iid, ts_event=T0 + t_ms * MS - 1_000,
        price=px(price if price is not None else bid), size=size, action=dbn.Action(action),
        side=dbn.Side(side), depth=0, ts_recv=T0 + t_ms * MS, flags=flags | dbn.F_LAST,
        sequence=sequence, levels=level(bid, ask, bid_sz, ask_sz))


def mbp10(t_ms: int, bid: float, ask: float, tick: float = 0.25, *, action: str = "A",
          side: str = "B", price: float | None = None, size: int = 1,
          sequence: int = 0) -> Any:
    levels = [level(bid - i * tick, ask + i * tick, 10 + i, 20 + i) for i in range(10)]
    return dbn.MBP10Msg(
        publisher_id=1, instrument_id=INSTRUMENT_ID, ts_event=T0 + t_ms * MS - 1_000,
        price=px(price if price is not None else bid), size=size, action=dbn.Action(action),
        side=dbn.Side(side), depth=0, ts_recv=T0 + t_ms * MS, flags=dbn.F_LAST,
        sequence=sequence, levels=levels)


def trade(t_ms: int, price: float, size: int, side: str, sequence: int = 0) -> Any:
    return dbn.TradeMsg(
        publisher_id=1, instrument_id=INSTRUMENT_ID, ts_event=T0 + t_ms * MS - 1_000,
        price=px(price), size=size, action=dbn.Action.TRADE, side=dbn.Side(side), depth=0,
        ts_recv=T0 + t_ms * MS, flags=dbn.F_LAST, sequence=sequence)


def write(path: Path, schema: str, records: list[Any], symbol: str = "ESZ6") -> Path:
    end = (records[-1].ts_recv if records else T0) + 1
    return write_dbn(path, metadata(schema, symbol, INSTRUMENT_ID, T0, end), records)
