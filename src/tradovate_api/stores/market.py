"""The market-data store: last quotes, DOM books, time and sales, pressure windows and bars.

Single writer. :func:`create_market_store` returns a ``(MarketDataView, MarketDataWriter)``
pair. Only the writer has mutating methods, and it must be handed to exactly one task: the
market-data reader, which calls :meth:`MarketDataWriter.apply` with every decoded ``md`` and
``chart`` event. Every other task (strategy, status display, risk) gets the view, whose methods
return immutable data only: frozen records, tuples and read-only mappings. Writes never
``await``, so on the single event-loop thread a reader never sees a half-applied event.

What the writer keeps, per contract:

* the last quote, merged: a quote push updates only the entries (and within an entry only the
  ``price``/``size``) it carries; everything else keeps its previous value;
* the DOM book: each ``doms`` push replaces both sides; levels are sorted best first and the
  sides' total sizes summed once per push, on first read (see :class:`DomBook`);
* time and sales from tick charts (:mod:`~tradovate_api.protocol.aggressor` gives the
  aggressor side) in a bounded buffer ordered by (timestamp, tick id), deduplicated by tick
  id because history and real-time packets overlap and packets can arrive out of order;
* rolling aggressor-volume windows (per contract and pooled over all contracts);
* bars per chart: the current bar is re-sent as it changes and replaces the bar with the
  same timestamp.

:meth:`MarketDataWriter.apply` returns what changed, so the dispatcher can call the strategy's
``on_quote``/``on_dom``/``on_trade``/``on_bar`` without scanning: a :class:`QuoteState`, a
:class:`DomBook`, a :class:`TradesAdded`, a :class:`BarUpdated` or a :class:`HistoryEnded`.
Histogram pushes are not stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from operator import attrgetter
from types import MappingProxyType
from typing import TypeAlias

import msgspec

from ..protocol.messages import ChartEvent, MarketDataEvent
from ..protocol.models import Bar, ChartPacket, Dom, PriceLevel, Quote
from ..protocol.ticks import unpack_ticks
from ..readonly import SetOnce
from .ring import SortedRing
from .trades import Trade, trade_from_tick
from .window import RollingWindow, WindowStats, narrowed_width

_PRICE = attrgetter("price")
_SIZE = attrgetter("size")


def wall_clock_ms() -> int:
    """Milliseconds since the epoch (the default clock of the pressure windows)."""
    return time.time_ns() // 1_000_000


# ----------------------------------------------------------------------------- records


class QuoteState(msgspec.Struct, frozen=True, gc=False):
    """The merged last quote of a contract; ``None`` = never received."""

    contract_id: int
    timestamp: str
    bid: float | None = None
    bid_size: float | None = None
    ask: float | None = None
    ask_size: float | None = None
    last: float | None = None
    last_size: float | None = None
    total_volume: float | None = None
    open_interest: float | None = None
    high: float | None = None
    low: float | None = None
    open: float | None = None
    settlement: float | None = None

    @property
    def mid(self) -> float | None:
        if self.bid is None or self.ask is None:
            return None
        return (self.bid + self.ask) / 2


_SortedBook: TypeAlias = tuple[tuple[PriceLevel, ...], tuple[PriceLevel, ...], float, float]
"""A book's sides, sorted best first, and their total sizes."""


class DomBook:
    """A contract's depth: ``bids`` highest first, ``offers`` lowest first. Immutable.

    Made from a ``doms`` push at no cost beyond its decode: the levels are sorted (the wire
    sends them best first, but the store does not rely on it) and each side's total size
    summed on the first read of any of them, then kept. A book replaced before anyone looked
    at it (most of a busy feed) is never sorted or summed. Filling that cache on a read does
    not make the reader a second writer of the store: it is a pure function of the push the
    writer stored, and every reader would compute the same value.
    """

    __slots__ = ("_dom", "_read")

    def __init__(self, dom: Dom) -> None:
        self._dom = dom
        self._read: _SortedBook | None = None

    @property
    def contract_id(self) -> int:
        return self._dom.contract_id

    @property
    def timestamp(self) -> str:
        return self._dom.timestamp

    @property
    def bids(self) -> tuple[PriceLevel, ...]:
        return (self._read or self._sort())[0]

    @property
    def offers(self) -> tuple[PriceLevel, ...]:
        return (self._read or self._sort())[1]

    @property
    def bid_size_total(self) -> float:
        return (self._read or self._sort())[2]

    @property
    def offer_size_total(self) -> float:
        return (self._read or self._sort())[3]

    @property
    def best_bid(self) -> PriceLevel | None:
        bids = self.bids
        return bids[0] if bids else None

    @property
    def best_ask(self) -> PriceLevel | None:
        offers = self.offers
        return offers[0] if offers else None

    def _sort(self) -> _SortedBook:
        bids = tuple(sorted(self._dom.bids, key=_PRICE, reverse=True))
        offers = tuple(sorted(self._dom.offers, key=_PRICE))
        read = self._read = (bids, offers, sum(map(_SIZE, bids)), sum(map(_SIZE, offers)))
        return read

    def _key(self) -> tuple[int, str, tuple[PriceLevel, ...], tuple[PriceLevel, ...]]:
        return (self.contract_id, self.timestamp, self.bids, self.offers)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DomBook):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"DomBook(contract_id={self.contract_id}, timestamp={self.timestamp!r}, "
                f"bids={self.bids!r}, offers={self.offers!r})")


class TradesAdded(msgspec.Struct, frozen=True, gc=False):
    """New (not seen before) prints of one chart packet, ordered by (timestamp, id).

    ``realtime`` is false for packets of the chart's historical id."""

    contract_id: int
    trades: tuple[Trade, ...]
    realtime: bool


class BarUpdated(msgspec.Struct, frozen=True, gc=False):
    """A bar of chart ``series`` of a contract; ``is_new`` is false when it replaced the bar
    with the same timestamp (the current bar re-sent)."""

    contract_id: int
    series: str
    bar: Bar
    is_new: bool
    realtime: bool


class HistoryEnded(msgspec.Struct, frozen=True, gc=False):
    """The ``eoh`` mark of a chart: its history is complete."""

    contract_id: int
    series: str
    chart_id: int


MarketChange: TypeAlias = QuoteState | DomBook | TradesAdded | BarUpdated | HistoryEnded


class _Chart(msgspec.Struct, gc=False):
    contract_id: int
    series: str
    historical_id: int
    realtime_id: int | None
    history_first: bool = False
    """Requested with history: packets before ``eoh`` are history whatever their id."""
    history_ended: bool = False

    def realtime(self, packet_id: int) -> bool:
        """Whether a packet carrying ``packet_id`` is real time (not history)."""
        if packet_id != self.realtime_id:
            return False
        return self.history_ended or not self.history_first


# ----------------------------------------------------------------------------- state


class _TimeAndSales:
    """One contract's prints, bounded, deduplicated by tick id."""

    __slots__ = ("ids", "ring")

    def __init__(self, capacity: int) -> None:
        self.ids: set[int] = set()
        self.ring: SortedRing[tuple[int, int], Trade] = SortedRing(capacity, self._evicted)

    def _evicted(self, trade: Trade) -> None:
        self.ids.discard(trade.id)

    def add(self, trade: Trade) -> bool:
        if trade.id in self.ids:
            return False
        if not self.ring.add((trade.timestamp_ms, trade.id), trade):
            return False
        self.ids.add(trade.id)
        return True


class _MarketState:
    """Everything the writer writes and the view reads."""

    def __init__(self, clock_ms: Callable[[], int], trades_per_contract: int, window_ms: int,
                 bars_per_series: int) -> None:
        if trades_per_contract <= 0 or bars_per_series <= 0:
            raise ValueError("buffer capacities must be positive")
        self.clock_ms = clock_ms
        self.trades_per_contract = trades_per_contract
        self.window_ms = window_ms
        self.bars_per_series = bars_per_series
        self.quotes: dict[int, QuoteState] = {}
        self.doms: dict[int, DomBook] = {}
        self.tns: dict[int, _TimeAndSales] = {}
        self.windows: dict[int, RollingWindow] = {}
        self.pooled = RollingWindow(window_ms)
        self.bars: dict[tuple[int, str], SortedRing[str, Bar]] = {}
        self.charts: dict[int, _Chart] = {}
        self.counters: dict[str, int] = {"bad_packets": 0}
        """Tick packets skipped as unreadable (a table, so the view reads it live through a
        read-only mapping)."""


# ----------------------------------------------------------------------------- view


class MarketDataView(SetOnce):
    """Read-only access to the market-data store (any task may hold one).

    The view holds read-only mappings of the store's tables, the store's clock and its window
    width, and nothing else: no attribute, private ones included, is the store's state or a
    writable table, so a view handed to a strategy cannot write the store."""

    __slots__ = ("_bars", "_charts", "_clock_ms", "_counters", "_doms", "_pooled", "_quotes",
                 "_tns", "_window_ms", "_windows")

    def __init__(self, state: _MarketState) -> None:
        ro = MappingProxyType
        self._quotes = ro(state.quotes)
        self._doms = ro(state.doms)
        self._tns = ro(state.tns)
        self._windows = ro(state.windows)
        self._pooled = ro({None: state.pooled})
        """The pooled window as a one-entry read-only table (see the class doc)."""
        self._bars = ro(state.bars)
        self._charts = ro(state.charts)
        self._counters = ro(state.counters)
        self._clock_ms = state.clock_ms
        self._window_ms = state.window_ms

    @property
    def quotes(self) -> Mapping[int, QuoteState]:
        """Last quote per contract id (a live read-only mapping)."""
        return self._quotes

    @property
    def doms(self) -> Mapping[int, DomBook]:
        """DOM book per contract id (a live read-only mapping)."""
        return self._doms

    def quote(self, contract_id: int) -> QuoteState | None:
        return self._quotes.get(contract_id)

    def dom(self, contract_id: int) -> DomBook | None:
        return self._doms.get(contract_id)

    def dom_totals(self, contract_ids: Iterable[int] | None = None) -> tuple[float, float]:
        """(Σ bid sizes, Σ offer sizes) over all levels of the given contracts' books (all
        books when ``None``): the pooled DOM sums of the reference strategy."""
        doms = self._doms
        books = doms.values() if contract_ids is None else (
            doms[c] for c in contract_ids if c in doms)
        bids = offers = 0.0
        for book in books:
            bids += book.bid_size_total
            offers += book.offer_size_total
        return bids, offers

    def mark_price(self, contract_id: int) -> float | None:
        """A price to mark positions at: quote mid, else DOM mid, else the last trade."""
        quote = self._quotes.get(contract_id)
        if quote is not None and quote.mid is not None:
            return quote.mid
        book = self._doms.get(contract_id)
        if book is not None and book.bids and book.offers:
            return (book.bids[0].price + book.offers[0].price) / 2
        last = self.last_trade(contract_id)
        if last is not None:
            return last.price
        return quote.last if quote is not None else None

    def trades(self, contract_id: int, last: int | None = None) -> tuple[Trade, ...]:
        """Time and sales of a contract ordered by (timestamp, id); the ``last`` newest only
        if given."""
        tns = self._tns.get(contract_id)
        return () if tns is None else tns.ring.snapshot(last)

    def last_trade(self, contract_id: int) -> Trade | None:
        tns = self._tns.get(contract_id)
        return None if tns is None else tns.ring.newest()

    def window(self, contract_id: int | None = None, now_ms: int | None = None,
               width_ms: int | None = None) -> WindowStats:
        """Aggressor volume of the rolling window of a contract (``None``: pooled over all
        contracts) at ``now_ms`` (default: the store's clock); ``width_ms`` (at most the
        store's window) narrows it, at the cost of summing the narrower window's prints."""
        now = self._clock_ms() if now_ms is None else now_ms
        window = self._window(contract_id)
        if window is None:
            width = self._window_ms if width_ms is None else narrowed_width(width_ms,
                                                                            self._window_ms)
            return WindowStats(now, now - width, 0.0, 0.0, 0.0, 0, None)
        return window.stats(now, width_ms)

    def window_trades(self, contract_id: int | None = None,
                      now_ms: int | None = None) -> tuple[Trade, ...]:
        """The prints inside the window, oldest first (a copy of the window: not for every
        event; :meth:`oldest_window_trade_ms` and :meth:`newest_window_trade` answer the
        per-event questions without one)."""
        now = self._clock_ms() if now_ms is None else now_ms
        window = self._window(contract_id)
        return () if window is None else window.trades(now)

    def oldest_window_trade_ms(self, contract_id: int | None = None, now_ms: int | None = None,
                               width_ms: int | None = None) -> int | None:
        """Timestamp of the oldest print inside the window at ``now_ms`` (``width_ms``, at
        most the store's window, narrows it); it leaves the window after ``+ width``. O(1)
        in the common case, a binary search otherwise, never a copy of the window."""
        now = self._clock_ms() if now_ms is None else now_ms
        window = self._window(contract_id)
        return None if window is None else window.oldest_ms(now, width_ms)

    def newest_window_trade(self, contract_id: int | None = None, *, min_size: float = 0.0,
                            now_ms: int | None = None,
                            width_ms: int | None = None) -> Trade | None:
        """The newest print of at least ``min_size`` inside the window at ``now_ms``
        (narrowed by ``width_ms``), searched from the newest back, never a copy."""
        now = self._clock_ms() if now_ms is None else now_ms
        window = self._window(contract_id)
        return None if window is None else window.newest_at_least(now, min_size, width_ms)

    def next_window_expiry_ms(self, contract_id: int | None = None) -> int | None:
        """When the oldest print held by the window leaves it: the moment to re-evaluate a
        strategy that depends on the window."""
        window = self._window(contract_id)
        return None if window is None else window.next_expiry_ms()

    def bars(self, contract_id: int, series: str = "") -> tuple[Bar, ...]:
        """Bars of a contract's chart ``series``, oldest first."""
        ring = self._bars.get((contract_id, series))
        return () if ring is None else ring.snapshot()

    def chart_contract(self, chart_id: int) -> int | None:
        """The contract a registered chart id (historical or real-time) belongs to."""
        chart = self._charts.get(chart_id)
        return None if chart is None else chart.contract_id

    @property
    def bad_packets(self) -> int:
        """Tick packets skipped because they could not be unpacked (no ``bp``/``bt``/``ts``)."""
        return self._counters["bad_packets"]

    def _window(self, contract_id: int | None) -> RollingWindow | None:
        return self._pooled[None] if contract_id is None else self._windows.get(contract_id)


# ----------------------------------------------------------------------------- writer


def _merge_quote(prev: QuoteState | None, quote: Quote) -> QuoteState:
    """``prev`` updated with the entries (and fields) present in ``quote``."""
    p = prev if prev is not None else QuoteState(quote.contract_id, quote.timestamp)
    e = quote.entries
    bid, offer, trade = e.bid, e.offer, e.trade
    volume, interest = e.total_trade_volume, e.open_interest
    high, low, opening, settle = e.high_price, e.low_price, e.opening_price, e.settlement_price
    return QuoteState(
        quote.contract_id, quote.timestamp,
        p.bid if bid is None or bid.price is None else bid.price,
        p.bid_size if bid is None or bid.size is None else bid.size,
        p.ask if offer is None or offer.price is None else offer.price,
        p.ask_size if offer is None or offer.size is None else offer.size,
        p.last if trade is None or trade.price is None else trade.price,
        p.last_size if trade is None or trade.size is None else trade.size,
        p.total_volume if volume is None or volume.size is None else volume.size,
        p.open_interest if interest is None or interest.size is None else interest.size,
        p.high if high is None or high.price is None else high.price,
        p.low if low is None or low.price is None else low.price,
        p.open if opening is None or opening.price is None else opening.price,
        p.settlement if settle is None or settle.price is None else settle.price,
    )


class MarketDataWriter:
    """The only object that mutates the market-data store; give it to the md reader alone."""

    __slots__ = ("_s", "_view")

    def __init__(self, state: _MarketState, view: MarketDataView) -> None:
        self._s = state
        self._view = view

    @property
    def view(self) -> MarketDataView:
        return self._view

    def register_chart(self, contract_id: int, historical_id: int,
                       realtime_id: int | None = None, *, series: str = "",
                       history_first: bool = False) -> None:
        """Route the packets of an ``md/getChart`` subscription (both of its ids) to a
        contract; bars are kept under ``series`` (e.g. ``"1m"``), ticks go to the contract's
        time and sales. Packets under the realtime id are real time, except with
        ``history_first`` (the chart was requested with history) until its ``eoh``: servers
        send history under the realtime id too (reference §4.5-4.8)."""
        chart = _Chart(contract_id, series, historical_id, realtime_id, history_first)
        self._s.charts[historical_id] = chart
        if realtime_id is not None:
            self._s.charts[realtime_id] = chart

    def unregister_chart(self, chart_id: int) -> None:
        """Forget a chart by either of its ids (after ``md/cancelChart``); data is kept."""
        chart = self._s.charts.pop(chart_id, None)
        if chart is None:
            return
        for ident in (chart.historical_id, chart.realtime_id):
            if ident is not None and self._s.charts.get(ident) is chart:
                del self._s.charts[ident]

    def clear_books(self) -> None:
        """Forget quotes and DOMs (after the md socket reconnected they are stale until the
        first push); time and sales and bars stay, deduplication absorbs the overlap."""
        self._s.quotes.clear()
        self._s.doms.clear()

    def apply(self, event: MarketDataEvent | ChartEvent) -> list[MarketChange]:
        """Apply one decoded ``md`` or ``chart`` event; return what changed, in order."""
        if type(event) is MarketDataEvent:
            return self._apply_md(event)
        return self._apply_chart(event)  # type: ignore[arg-type]

    def expire(self, now_ms: int | None = None) -> None:
        """Drop prints that left the rolling windows (called from the writer's timer or
        after each chart event)."""
        now = self._s.clock_ms() if now_ms is None else now_ms
        self._s.pooled.advance(now)
        for window in self._s.windows.values():
            window.advance(now)

    def _apply_md(self, event: MarketDataEvent) -> list[MarketChange]:
        data = event.data
        changes: list[MarketChange] = []
        if data.quotes:
            quotes = self._s.quotes
            for quote in data.quotes:
                merged = _merge_quote(quotes.get(quote.contract_id), quote)
                quotes[quote.contract_id] = merged
                changes.append(merged)
        if data.doms:
            doms = self._s.doms
            for dom in data.doms:
                book = DomBook(dom)
                doms[dom.contract_id] = book
                changes.append(book)
        return changes

    def _apply_chart(self, event: ChartEvent) -> list[MarketChange]:
        changes: list[MarketChange] = []
        traded = False
        for packet in event.data.charts:
            chart = self._s.charts.get(packet.id)
            if chart is None:
                continue
            if packet.eoh:
                chart.history_ended = True
                changes.append(HistoryEnded(chart.contract_id, chart.series, packet.id))
            elif packet.tks:
                added = self._add_ticks(chart, packet)
                if added is not None:
                    changes.append(added)
                    traded = True
            elif packet.bars:
                self._add_bars(chart, packet, changes)
        if traded:
            self.expire()
        return changes

    def _add_ticks(self, chart: _Chart, packet: ChartPacket) -> TradesAdded | None:
        s = self._s
        contract_id = chart.contract_id
        tns = s.tns.get(contract_id)
        if tns is None:
            tns = s.tns[contract_id] = _TimeAndSales(s.trades_per_contract)
            s.windows[contract_id] = RollingWindow(s.window_ms)
        try:
            ticks = unpack_ticks(packet)
        except ValueError:  # malformed packet: skip it, keep the rest of the event
            s.counters["bad_packets"] += 1
            return None
        window, pooled = s.windows[contract_id], s.pooled
        added: list[Trade] = []
        for tick in ticks:
            trade = trade_from_tick(contract_id, tick)
            if tns.add(trade):
                window.add(trade)
                pooled.add(trade)
                added.append(trade)
        if not added:
            return None
        added.sort(key=lambda t: (t.timestamp_ms, t.id))
        return TradesAdded(contract_id, tuple(added), chart.realtime(packet.id))

    def _add_bars(self, chart: _Chart, packet: ChartPacket,
                  changes: list[MarketChange]) -> None:
        key = (chart.contract_id, chart.series)
        ring = self._s.bars.get(key)
        if ring is None:
            ring = self._s.bars[key] = SortedRing(self._s.bars_per_series)
        realtime = chart.realtime(packet.id)
        for bar in packet.bars or ():
            is_new = ring.put(bar.timestamp, bar)
            changes.append(BarUpdated(chart.contract_id, chart.series, bar, is_new, realtime))


def create_market_store(*, clock_ms: Callable[[], int] = wall_clock_ms,
                        trades_per_contract: int = 10_000, window_ms: int = 1_000,
                        bars_per_series: int = 5_000) -> tuple[MarketDataView, MarketDataWriter]:
    """A new market-data store as its (read-only view, single writer) pair.

    ``clock_ms`` gives "now" for the rolling windows (inject one for deterministic replays);
    ``trades_per_contract`` bounds time and sales, ``bars_per_series`` each bar series.
    """
    state = _MarketState(clock_ms, trades_per_contract, window_ms, bars_per_series)
    view = MarketDataView(state)
    return view, MarketDataWriter(state, view)
