"""``tradovate-api data import``: a DBN file (trades, MBP-1 or MBP-10) → an md recording.

The output is the project's own recording format (:mod:`tradovate_api.recording`): Tradovate
md frames — quotes, DOMs and tick-chart prints, exactly as the md socket sends them — with
the reference and chart notes a live recording carries. So a DBN backtest *is* a replay:
the same decode → stores → dispatcher → strategy path as live, the same simulated execution
and the same report as ``tradovate-api replay`` of a recording we made ourselves. Converting
once and replaying many times is also the fast path for sweeps (docs/performance.md,
"DBN: import or read directly").

Mapping:

* time: a record's ``ts_recv`` (Databento's capture time, as our recorder stamps receive
  time); records sharing a ``ts_recv`` (one venue packet) form one frame;
* book (MBP-1, MBP-10): one quote (best bid/offer) per contract and frame, the book after
  the frame's last record; MBP-10 also one DOM of its defined levels;
* prints (trades, and MBP records with action ``T``): tick-chart ticks whose bid/ask carry
  the DBN aggressor side (a buy aggressor prints at the ask), so the strategy API reads the
  side as it does live;
* prices: fixed-point (1e-9) → whole ticks of the contract's tick size.

What would make a backtest silently wrong stops the import with a one-line
:class:`~.dbn_file.DbnFileError` and removes what was written: an unsupported or mixed
schema, an instrument that maps to no Tradovate contract, a price off the contract's tick
grid (on CME outrights that means the symbol map names the wrong product). What real files
do contain is counted and printed (:data:`WARNINGS`): crossed books (skipped, the previous
book stands), records the venue flagged after a feed gap, sequence numbers or receive times
going backwards.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from ..protocol import ChartEvent, MarketDataEvent, encode_messages, pack_ticks
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
from ..recording import MdRecorder
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
_FLUSH_FRAMES = 20_000
"""Frames handed to the recorder's writer thread before waiting for it (bounded memory)."""

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
"""Counted warnings: key → what it counts (the summary prints the non-zero ones)."""


class ImportSummary(msgspec.Struct, kw_only=True):
    """What an import read and wrote."""

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


def summary_lines(summary: ImportSummary) -> list[str]:
    """The summary as the command prints it: one line per fact, one per non-zero warning."""
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


def _remove(files: Iterable[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)


class DbnImporter:
    """Converts one DBN file into a recording in ``out_dir`` (see the module docstring)."""

    def __init__(self, source: str | Path, out_dir: str | Path,
                 symbols: SymbolMap | None = None) -> None:
        self.source = Path(source)
        self.out_dir = Path(out_dir)
        self.symbols = symbols or SymbolMap()
        self.by_id: dict[int, _Instrument] = {}
        self.summary = ImportSummary(source=str(self.source), dataset="", schema="",
                                     warnings=dict.fromkeys(WARNINGS, 0))

    def run(self) -> ImportSummary:
        records = read_dbn(self.source)
        metadata = next(records)
        schema = str(metadata.schema) if metadata.schema is not None else ""
        if schema not in SUPPORTED_SCHEMAS:
            raise DbnFileError(f"{self.source}: schema {schema or 'mixed'!r} is not supported "
                               f"(supported: {', '.join(SUPPORTED_SCHEMAS)})")
        self.summary.dataset, self.summary.schema = str(metadata.dataset), schema
        start = dt.datetime.fromtimestamp(metadata.start / 1e9, dt.UTC).date()
        recorder = MdRecorder(self.out_dir, label=self.source.name.split(".")[0],
                              flush_interval=0.05, clock_ns=lambda: metadata.start)
        try:
            self._convert(records, schema, _instrument_symbols(metadata, self.symbols), start,
                          recorder)
        except BaseException:
            recorder.close(60.0)
            _remove(recorder.files)  # half a file must not be replayed as the whole
            raise
        if not recorder.close(60.0) or recorder.dropped or recorder.errors:
            _remove(recorder.files)
            raise DbnFileError(f"{self.out_dir}: the recording could not be written completely "
                               f"(dropped {recorder.dropped}, errors {recorder.errors})")
        self.summary.files = [str(path) for path in recorder.files]
        self.summary.contracts = {inst.entities.contract.name: inst.records
                                  for inst in self.by_id.values()}
        return self.summary

    def _resolve(self, symbols: dict[int, str], start: dt.date,
                 recorder: MdRecorder) -> None:
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
        unique = {e.contract.id: e for e in entities.values()}.values()
        recorder.reference([e.contract for e in unique], [e.maturity for e in unique],
                           [e.product for e in {e.product.id: e for e in unique}.values()])
        for inst in self.by_id.values():
            recorder.chart(inst.entities.contract.id, inst.chart_id - 1, inst.chart_id)

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
                 start: dt.date, recorder: MdRecorder) -> None:
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
                self._resolve(symbols, start, recorder)
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
                self._flush(frame_ts, touched, recorder, depth, full_book)
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
            self._flush(frame_ts, touched, recorder, depth, full_book)
        summary.last_ns = last_ts

    def _price(self, px: int, inst: _Instrument) -> tuple[int, float]:
        ticks, rest = divmod(px, inst.tick_nanos)
        if rest:
            raise DbnFileError(
                f"{self.source}: price {px / 1e9:.9g} of {inst.entities.contract.name} is off "
                f"its tick size {inst.entities.tick_size:g} (wrong product in the symbol map?)")
        return ticks, round(ticks * inst.entities.tick_size, 9)

    def _book(self, record: Any, inst: _Instrument, full_book: bool) -> None:
        levels = record.levels
        top = levels[0]
        if (top.bid_px != _UNDEF_PRICE and top.ask_px != _UNDEF_PRICE and top.bid_sz
                and top.ask_sz and top.bid_px >= top.ask_px):
            self.summary.warnings["crossed_book"] += 1
            return
        bids: list[PriceLevel] = []
        offers: list[PriceLevel] = []
        for level in levels if full_book else levels[:1]:
            if level.bid_px != _UNDEF_PRICE and level.bid_sz:
                bids.append(PriceLevel(self._price(level.bid_px, inst)[1], float(level.bid_sz)))
            if level.ask_px != _UNDEF_PRICE and level.ask_sz:
                offers.append(PriceLevel(self._price(level.ask_px, inst)[1],
                                         float(level.ask_sz)))
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

    def _flush(self, ts: int, touched: dict[int, _Instrument], recorder: MdRecorder,
               depth: bool, full_book: bool) -> None:
        stamp = dt.datetime.fromtimestamp(ts // 1_000_000 / 1000, dt.UTC).strftime(
            "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        messages: list[MarketDataEvent | ChartEvent] = []
        day = int(trade_date(ts).strftime("%Y%m%d"))
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
                    inst.chart_id, inst.ticks, inst.entities.tick_size, day)])))
                inst.ticks = []
            inst.book_changed, inst.trade = False, None
        touched.clear()
        if messages:
            recorder.frame_at(ts, encode_messages(messages))
            self.summary.frames += 1
            if self.summary.frames % _FLUSH_FRAMES == 0:
                recorder.flush(60.0)


def import_dbn(source: str | Path, out_dir: str | Path,
               symbols: SymbolMap | None = None) -> ImportSummary:
    """Convert ``source`` into a recording under ``out_dir``; see :class:`DbnImporter`."""
    return DbnImporter(source, out_dir, symbols).run()


def import_files(sources: Iterable[str | Path], out_dir: str | Path,
                 symbols: SymbolMap | None = None) -> list[ImportSummary]:
    """Each source into its own subdirectory of ``out_dir`` (named after the file)."""
    out = Path(out_dir)
    return [import_dbn(src, out / Path(src).name.split(".")[0], symbols) for src in sources]
