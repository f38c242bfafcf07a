"""A seeded, synthetic DBN file written with databento-dbn's own encoder.

Real DBN files are bought, not shipped, so ``tradovate-api data sample``, the documented
example (docs/research.md), the tests and the benchmark need a file anyone can make: a
random walk of one CME contract's book (ten levels, one tick apart) with prints at the touch,
encoded as GLBX.MDP3 trades, MBP-1 or MBP-10 records in raw-symbol symbology, exactly as a
Databento download lays them out (metadata with the symbol → instrument_id mapping, then
records in receive-time order). Same arguments, same bytes.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import zstandard

if TYPE_CHECKING:
    from collections.abc import Sequence

    from databento_dbn.metadata import MappingInterval

DEFAULT_START = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.UTC)
"""A Tuesday, 09:00 Chicago time (as the synthetic recordings)."""
INSTRUMENT_ID = 4_242
_LEVELS = 10


@dataclass
class _Interval:
    start_date: dt.date
    end_date: dt.date
    symbol: str


@dataclass
class _Mapping:
    """A symbol's mapping, in the shape the encoder reads (``SymbolMapping`` is a protocol)."""

    raw_symbol: str
    intervals: Sequence[MappingInterval]


def metadata(schema: str, symbol: str, instrument_id: int, start_ns: int, end_ns: int,
             dataset: str = "GLBX.MDP3") -> Any:
    """DBN metadata of a one-instrument raw-symbol file (the mapping a download carries)."""
    import databento_dbn as dbn

    day = dt.datetime.fromtimestamp(start_ns / 1e9, dt.UTC).date()
    return dbn.Metadata(
        dataset=dataset, start=start_ns, end=end_ns, stype_in=dbn.SType("raw_symbol"),
        stype_out=dbn.SType("instrument_id"), schema=dbn.Schema.from_str(schema),
        symbols=[symbol], mappings=[_Mapping(symbol, [_Interval(
            day, day + dt.timedelta(days=1), str(instrument_id))])])


def write_dbn(path: str | Path, metadata_: Any, records: list[Any],
              compress: bool | None = None) -> Path:
    """``metadata_`` then ``records`` into ``path`` (zstd if ``compress``, by default when the
    name ends in ``.zst``)."""
    path = Path(path)
    data = metadata_.encode() + b"".join(bytes(record) for record in records)
    if compress or (compress is None and path.name.endswith(".zst")):
        data = zstandard.ZstdCompressor().compress(data)
    path.write_bytes(data)
    return path


def sample_records(schema: str, *, events: int = 10_000, seed: int = 1,
                   instrument_id: int = INSTRUMENT_ID, start: dt.datetime = DEFAULT_START,
                   price: float = 6850.0, tick_size: float = 0.25,
                   step_us: int = 500) -> list[Any]:
    """``events`` records of a seeded random book: mostly level changes, a print in five."""
    import databento_dbn as dbn

    if schema not in ("trades", "mbp-1", "mbp-10"):
        raise ValueError(f"schema {schema!r}: expected trades, mbp-1 or mbp-10")
    rng = random.Random(seed)
    tick = round(tick_size * 1e9)
    bid = round(price / tick_size)  # best bid in ticks
    sizes = [[rng.randint(5, 60) for _ in range(_LEVELS)] for _ in range(2)]
    ts = int(start.timestamp() * 1e9)
    out: list[Any] = []
    for sequence in range(1, events + 1):
        ts += rng.randint(1, 2 * step_us) * 1_000
        traded = rng.random() < 0.2
        side = dbn.Side.BID if rng.random() < 0.5 else dbn.Side.ASK
        if traded:  # an aggressor takes from the far side's best level
            book_side = 1 if side == dbn.Side.BID else 0
            size = rng.randint(1, 8)
            px = (bid + 1 if side == dbn.Side.BID else bid) * tick
            sizes[book_side][0] -= size
            if sizes[book_side][0] <= 0:  # level taken out: the book moves a tick
                bid += 1 if side == dbn.Side.BID else -1
                sizes[book_side] = [*sizes[book_side][1:], rng.randint(5, 60)]
                sizes[1 - book_side] = [rng.randint(5, 60), *sizes[1 - book_side][:-1]]
            action = dbn.Action.TRADE
            depth = 0
        else:
            depth = rng.randrange(_LEVELS)
            book_side = 0 if side == dbn.Side.BID else 1
            size = rng.randint(1, 10)
            if rng.random() < 0.5:
                sizes[book_side][depth] += size
                action = dbn.Action.ADD
            else:
                sizes[book_side][depth] = max(1, sizes[book_side][depth] - size)
                action = dbn.Action.CANCEL
            px = ((bid - depth) if book_side == 0 else (bid + 1 + depth)) * tick
        common: dict[str, Any] = dict(
                      publisher_id=1, instrument_id=instrument_id, ts_event=ts - 20_000,
                      price=px, size=size, action=action, side=side, depth=depth,
                      ts_recv=ts, flags=dbn.F_LAST, sequence=sequence)
        if schema == "trades":
            if traded:
                out.append(dbn.TradeMsg(**common))
            continue
        levels = [dbn.BidAskPair(bid_px=(bid - i) * tick, ask_px=(bid + 1 + i) * tick,
                                 bid_sz=sizes[0][i], ask_sz=sizes[1][i], bid_ct=1, ask_ct=1)
                  for i in range(_LEVELS if schema == "mbp-10" else 1)]
        cls = dbn.MBP10Msg if schema == "mbp-10" else dbn.MBP1Msg
        # MBP-1 takes its one level bare (the stub says a list; the runtime refuses one)
        book: Any = levels if schema == "mbp-10" else levels[0]
        out.append(cls(**common, levels=book))
    return out


def write_sample(path: str | Path, schema: str = "mbp-10", *, events: int = 10_000,
                 seed: int = 1, symbol: str = "ESZ6", start: dt.datetime = DEFAULT_START,
                 tick_size: float = 0.25, price: float = 6850.0) -> Path:
    """A sample DBN file of ``schema`` for ``symbol`` (see the module docstring)."""
    records = sample_records(schema, events=events, seed=seed, start=start,
                             tick_size=tick_size, price=price)
    start_ns = int(start.timestamp() * 1e9)
    end_ns = (records[-1].ts_recv if records else start_ns) + 1
    return write_dbn(path, metadata(schema, symbol, INSTRUMENT_ID, start_ns, end_ns), records)
