"""DBN records (trades, MBP-1, MBP-10) → Tradovate md messages with the notes a recording has.

:class:`DbnConverter` reads one DBN file and yields, in time order, what a live md recording
holds: a reference note (the contracts, maturities and products the file's instruments map
to), a chart note per contract, then one frame per venue packet — the quotes, DOMs and
tick-chart ticks the md socket would have sent. :mod:`.dbn_import` writes them into a
recording; :mod:`.dbn_replay` hands them to the replay directly. Either way the replay runs
the live decode → stores → dispatcher → strategy path on the same messages, so the two
give the same backtest.

Mapping:

* time: a record's ``ts_recv`` (Databento's capture time, as our recorder stamps receive
  time); records sharing a ``ts_recv`` (one venue packet) form one frame;
* book (MBP-1, MBP-10): one quote (best bid/offer) per contract and frame, the book after
  the frame's last record; MBP-10 also one DOM of its defined levels;
* prints (trades, and MBP records with action ``T``): tick-chart ticks whose bid/ask carry
  the DBN aggressor side (a buy aggressor prints at the ask), so the strategy API reads the
  side as it does live;
* prices: fixed-point (1e-9) → whole ticks of the contract's tick size.

What would make a backtest silently wrong stops the conversion with a one-line
:class:`~.dbn_file.DbnFileError`: an unsupported or mixed schema, an instrument that maps to
no Tradovate contract, a price off the contract's tick grid (on CME outrights that means the
symbol map names the wrong product). What real files do contain is counted
(:data:`WARNINGS`): crossed books (skipped, the previous book stands), records the venue
flagged after a feed gap, sequence numbers or receive times going backwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import msgspec

from ..protocol import ChartEvent, MarketDataEvent, pack_ticks
from ..protocol.models import (
    ChartData,
    Dom,
    MarketData,
    PriceLevel,
    Quote,
    QuoteEntries,
    QuoteEntry,
    Tick,
)
from ..recording import ChartNote, ReferenceNote
from ..recording.sessions import trade_date
from .dbn_file import DbnFileError, read_dbn
from .symbols import ContractEntities, SymbolMap

SUPPORTED_SCHEMAS = ("trades", "mbp-1", "mbp-10")
_RECORD_SCHEMAS = {"TradeMsg": "trades", "MBP1Msg": "mbp-1", "MBP10Msg": "mbp-10"}
_PASSIVE_RECORDS = frozenset({"SymbolMappingMsg", "SystemMsg", "SystemMsgV1"})
"""Records that carry no market data (mappings are read, the rest skipped)."""
_UNDEF_PRICE = (1 << 63) - 1
_UNDEF_TIMESTAMP = (1 << 64) - 1
_F_MAYBE_BAD_BOOK = 1 << 2

WARNINGS = {
    "crossed_book": "book updates with best bid at or above best offer (skipped; the "
                    "previous book stands)",
    "maybe_bad_book": "records the venue flagged after a feed gap (F_MAYBE_BAD_BOOK: the book "
                      "may be wrong until the next snapshot)",
    "sequence_backwards": "records whose sequence number did not increase for their "
                          "instrument (repeated or out of order)",
    "time_backwards": "records received before the previous one (kept at the previous time)",
    "no_aggressor": "prints without an aggressor side (the strategy reads them as Unknown)",
}
"""Counted warnings: key → what it counts (summaries print the non-zero ones)."""

FrameMessages: TypeAlias = list[MarketDataEvent | ChartEvent]
Converted: TypeAlias = tuple[int, ReferenceNote | ChartNote | FrameMessages]
"""``(receive time ns, note or one frame's messages)``."""


class ConversionSummary(msgspec.Struct, kw_only=True):
    """What a conversion read and made."""

    source: str
    dataset: str
    schema: str
    records: int = 0
    frames: int = 0
    prints: int = 0
    first_ns: int = 0
    last_ns: int = 0
    contracts: dict[str, int] = msgspec.field(default_factory=dict)
    """Tradovate contract name → records."""
    warnings: dict[str, int] = msgspec.field(default_factory=dict)
    files: list[str] = msgspec.field(default_factory=list)
    """Recordings written (an import; empty for a direct replay)."""


def summary_lines(summary: ConversionSummary) -> list[str]:
    """The summary as commands print it: one line per fact, one per non-zero warning."""
    def stamp(ns: int) -> str:
        return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")

    contracts = ", ".join(f"{name} {count:,}" for name, count in summary.contracts.items())
    lines = [
        f"source      {summary.source} ({summary.dataset}, {summary.schema})",
        f"records     {summary.records:,} in {summary.frames:,} frames, {summary.prints:,} "
        f"prints; contracts {contracts or 'none'}",
    ]
    if summary.records:
        lines.append(f"span        {stamp(summary.first_ns)} → {stamp(summary.last_ns)}")
    for key, count in summary.warnings.items():
        if count:
            lines.append(f"warning     {count:,} {WARNINGS[key]}")
    lines.extend(f"wrote       {path}" for path in summary.files)
    return lines


@dataclass(slots=True)
class _Instrument:
    """One contract's conversion state within the current frame."""

    entities: ContractEntities
    chart_id: int
    tick_nanos: int
    records: int = 0
    sequence: int = 0
    next_tick_id: int = 1
    volume: float = 0.0
    bid: QuoteEntry | None = None
    offer: QuoteEntry | None = None
    bids: list[PriceLevel] = field(default_factory=list)
    offers: list[PriceLevel] = field(default_factory=list)
    book_changed: bool = False
    trade: QuoteEntry | None = None
    ticks: list[Tick] = field(default_factory=list)
    prices: dict[int, float] = field(default_factory=dict)
    """Fixed-point price → price, for prices already checked to lie on the tick grid."""


def _instrument_symbols(metadata: Any, symbols: SymbolMap) -> dict[int, str]:
    """instrument_id → DBN symbol, from the metadata's mappings and the symbol map's
    numeric keys (files in ``instrument_id`` symbology carry no mappings)."""
    out: dict[int, str] = {}
    for symbol, intervals in (metadata.mappings or {}).items():
        for interval in intervals:
            ident = str(interval["symbol"])
            if ident.isdigit():
                out[int(ident)] = symbol
    for key in symbols.renames:
        if key.isdigit():
            out.setdefault(int(key), key)
    return out


class DbnConverter:
    """One DBN file's md messages and notes (see the module docstring); iterate
    :meth:`entries` once, then read :attr:`summary`."""

    def __init__(self, source: str | Path, symbols: SymbolMap | None = None) -> None:
        self.source = Path(source)
        self.symbols = symbols or SymbolMap()
        self.by_id: dict[int, _Instrument] = {}
        self.summary = ConversionSummary(source=str(self.source), dataset="", schema="",
                                         warnings=dict.fromkeys(WARNINGS, 0))
        self._second = -1
        self._second_text = ""
        self._day = 0

    def entries(self) -> Iterator[Converted]:
        records = read_dbn(self.source)
        metadata = next(records)
        schema = str(metadata.schema) if metadata.schema is not None else ""
        if schema not in SUPPORTED_SCHEMAS:
            raise DbnFileError(f"{self.source}: schema {schema or 'mixed'!r} is not supported "
                               f"(supported: {', '.join(SUPPORTED_SCHEMAS)})")
        self.summary.dataset, self.summary.schema = str(metadata.dataset), schema
        start = dt.datetime.fromtimestamp(metadata.start / 1e9, dt.UTC).date()
        yield from self._convert(records, schema, _instrument_symbols(metadata, self.symbols),
                                 start, metadata.start)
        self.summary.contracts = {inst.entities.contract.name: inst.records
                                  for inst in self.by_id.values()}

    def _notes(self, symbols: dict[int, str], start: dt.date) -> list[ReferenceNote | ChartNote]:
        """Every mapped instrument becomes a contract with a tick chart, noted before the
        first frame (a replay trades only contracts its reference notes name first)."""
        entities: dict[str, ContractEntities] = {}
        for ident, symbol in sorted(symbols.items()):
            try:
                found = self.symbols.entities(symbol, start)
            except ValueError:
                continue  # unusable symbols fail only if a record of theirs shows up
            entities[symbol] = found
            tick_nanos = round(found.tick_size * 1e9)
            self.by_id[ident] = _Instrument(found, 2 * len(self.by_id) + 2, tick_nanos)
        unique = list({e.contract.id: e for e in entities.values()}.values())
        notes: list[ReferenceNote | ChartNote] = [ReferenceNote(
            [e.contract for e in unique], [e.maturity for e in unique],
            list({e.product.id: e.product for e in unique}.values()))]
        notes.extend(ChartNote(inst.entities.contract.id, inst.chart_id - 1, inst.chart_id,
                               history_first=False) for inst in self.by_id.values())
        return notes

    def _unknown(self, ident: int, symbols: dict[int, str], start: dt.date) -> DbnFileError:
        symbol = symbols.get(ident)
        if symbol is None:
            return DbnFileError(f"{self.source}: instrument_id {ident} has no symbol in the "
                                f"file's metadata; map it with --symbol-map ([symbols] "
                                f"\"{ident}\" = \"ESZ6\")")
        try:
            self.symbols.entities(symbol, start)
        except ValueError as exc:
            return DbnFileError(f"{self.source}: {exc}")
        return DbnFileError(f"{self.source}: instrument_id {ident} ({symbol}) appeared after "
                            f"the first market record; it is not in the file's metadata")

    def _convert(self, records: Iterator[Any], schema: str, symbols: dict[int, str],
                 start: dt.date, start_ns: int) -> Iterator[Converted]:
        summary, warnings, by_id = self.summary, self.summary.warnings, self.by_id
        resolved = False
        frame_ts = last_ts = 0
        touched: dict[int, _Instrument] = {}
        depth = schema != "trades"
        full_book = schema == "mbp-10"
        for record in records:
            kind = type(record).__name__
            record_schema = _RECORD_SCHEMAS.get(kind)
            if record_schema is None:
                if kind in _PASSIVE_RECORDS:
                    if kind == "SymbolMappingMsg" and not resolved:
                        symbols[record.instrument_id] = record.stype_out_symbol
                    continue
                raise DbnFileError(f"{self.source}: a {kind} record in a {schema} file "
                                   f"(mixed schemas are not supported)")
            if record_schema != schema:
                raise DbnFileError(f"{self.source}: a {record_schema} record in a {schema} "
                                   f"file (mixed schemas are not supported)")
            if not resolved:
                for note in self._notes(symbols, start):
                    yield start_ns, note
                resolved = True
            inst = by_id.get(record.instrument_id)
            if inst is None:
                raise self._unknown(record.instrument_id, symbols, start)
            ts = record.ts_recv
            if ts == _UNDEF_TIMESTAMP:
                ts = record.ts_event
            if ts < last_ts:
                warnings["time_backwards"] += 1
                ts = last_ts
            if ts != frame_ts and touched:
                yield frame_ts, self._frame(frame_ts, touched, depth, full_book)
            frame_ts = last_ts = ts
            if not summary.records:
                summary.first_ns = ts
            summary.records += 1
            inst.records += 1
            sequence = record.sequence
            if sequence:
                if sequence <= inst.sequence:
                    warnings["sequence_backwards"] += 1
                inst.sequence = sequence
            if record.flags & _F_MAYBE_BAD_BOOK:
                warnings["maybe_bad_book"] += 1
            touched[record.instrument_id] = inst
            if depth:
                self._book(record, inst, full_book)
            if not depth or record.action == "T":
                self._print(record, inst, ts)
        if touched:
            yield frame_ts, self._frame(frame_ts, touched, depth, full_book)
        summary.last_ns = last_ts

    def _price(self, px: int, inst: _Instrument) -> tuple[int, float]:
        ticks, rest = divmod(px, inst.tick_nanos)
        if rest:
            raise DbnFileError(
                f"{self.source}: price {px / 1e9:.9g} of {inst.entities.contract.name} is off "
                f"its tick size {inst.entities.tick_size:g} (wrong product in the symbol map?)")
        return ticks, round(ticks * inst.entities.tick_size, 9)

    def _level_price(self, px: int, inst: _Instrument) -> float:
        """A book price, checked once per distinct price (a book revisits the same few)."""
        price = inst.prices.get(px)
        if price is None:
            price = inst.prices[px] = self._price(px, inst)[1]
        return price

    def _book(self, record: Any, inst: _Instrument, full_book: bool) -> None:
        levels = record.levels
        top = levels[0]
        if (top.bid_px != _UNDEF_PRICE and top.ask_px != _UNDEF_PRICE and top.bid_sz
                and top.ask_sz and top.bid_px >= top.ask_px):
            self.summary.warnings["crossed_book"] += 1
            return
        bids: list[PriceLevel] = []
        offers: list[PriceLevel] = []
        cached = inst.prices.get
        for level in levels if full_book else levels[:1]:
            bid_px, bid_sz, ask_px, ask_sz = level.bid_px, level.bid_sz, level.ask_px, level.ask_sz
            if bid_sz and bid_px != _UNDEF_PRICE:
                bids.append(PriceLevel(cached(bid_px) or self._level_price(bid_px, inst),
                                       float(bid_sz)))
            if ask_sz and ask_px != _UNDEF_PRICE:
                offers.append(PriceLevel(cached(ask_px) or self._level_price(ask_px, inst),
                                         float(ask_sz)))
        inst.bid = QuoteEntry(bids[0].price, bids[0].size) if bids else QuoteEntry()
        inst.offer = QuoteEntry(offers[0].price, offers[0].size) if offers else QuoteEntry()
        inst.bids, inst.offers = bids, offers
        inst.book_changed = True

    def _print(self, record: Any, inst: _Instrument, ts: int) -> None:
        price_ticks, price = self._price(record.price, inst)
        size = float(record.size)
        side = record.side
        bid_price = bid_size = ask_price = ask_size = None
        if side == "B":  # buy aggressor: lifted the offer
            ask_price, ask_size = price, (inst.offer.size if inst.offer and inst.offer.size
                                          else size)
        elif side == "A":  # sell aggressor: hit the bid
            bid_price, bid_size = price, (inst.bid.size if inst.bid and inst.bid.size
                                          else size)
        else:
            self.summary.warnings["no_aggressor"] += 1
        inst.ticks.append(Tick(inst.next_tick_id, ts // 1_000_000, price_ticks, price, size,
                               bid_price, bid_size, ask_price, ask_size))
        inst.next_tick_id += 1
        inst.volume += size
        inst.trade = QuoteEntry(price, size)
        self.summary.prints += 1

    def _frame(self, ts: int, touched: dict[int, _Instrument], depth: bool,
               full_book: bool) -> FrameMessages:
        """The messages of one frame: what changed for each contract touched."""
        second, millis = divmod(ts // 1_000_000, 1000)
        if second != self._second:
            self._second = second
            self._second_text = dt.datetime.fromtimestamp(second, dt.UTC).strftime(
                "%Y-%m-%dT%H:%M:%S")
            self._day = int(trade_date(ts).strftime("%Y%m%d"))
        stamp = f"{self._second_text}.{millis:03d}Z"
        messages: FrameMessages = []
        for inst in touched.values():
            contract_id = inst.entities.contract.id
            if inst.book_changed or inst.trade is not None:
                entries = QuoteEntries(
                    bid=inst.bid if depth else None, offer=inst.offer if depth else None,
                    trade=inst.trade,
                    total_trade_volume=QuoteEntry(size=inst.volume) if inst.trade else None)
                messages.append(MarketDataEvent(MarketData(quotes=[
                    Quote(contract_id=contract_id, timestamp=stamp, entries=entries)])))
            if full_book and inst.book_changed:
                messages.append(MarketDataEvent(MarketData(doms=[
                    Dom(contract_id=contract_id, timestamp=stamp, bids=inst.bids,
                        offers=inst.offers)])))
            if inst.ticks:
                messages.append(ChartEvent(ChartData(charts=[pack_ticks(
                    inst.chart_id, inst.ticks, inst.entities.tick_size, self._day)])))
                inst.ticks = []
            inst.book_changed, inst.trade = False, None
        touched.clear()
        self.summary.frames += 1
        return messages
