"""The simulator's market: a seeded random walk per contract with a 10-level book and trades.

Each contract keeps a contiguous ladder of price levels (bids below the best bid, offers above
the best offer, one tick apart) with sizes that grow with depth. Every :meth:`step` the
resting sizes churn, quotes inside a wide spread get refilled or the best level is pulled, and
sometimes an aggressor trades at the best bid or offer (sometimes a burst of several trades).
A trade that takes a whole level moves that side one tick away; refills bring the spread back
to one tick on either side, so the mid price walks randomly, pulled gently back towards the
start price. Prices are integers in ticks internally, so every price is on the tick grid.

Everything is driven by one ``random.Random(seed)`` and the ``now_ms`` values passed to
:meth:`step` (which never goes backwards: an earlier time is treated as the latest one seen),
so two generators with the same seed and the same step times produce identical output
(snapshots taken before the first step are stamped with the construction time).
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from ..protocol.models import (
    Dom,
    Histogram,
    PriceLevel,
    Quote,
    QuoteEntries,
    QuoteEntry,
    Tick,
    TradeDate,
)
from .book import Book, MarketUpdate
from .engine_time import cme_trade_date, iso_timestamp
from .instruments import Instrument, InstrumentCatalog

TRADE_HISTORY_LIMIT = 50_000
"""Trades (ticks) kept per contract for tick charts; older ones are forgotten."""
MINUTE_BAR_LIMIT = 20_160
"""One-minute bars kept per contract for bar charts (14 days of continuous trading)."""

_CHURN_P = 0.7
"""Chance per step that some resting sizes change."""
_REFILL_P = 0.6
"""Chance per step that a spread wider than one tick gets a new best level."""
_PULL_P = 0.03
"""Chance per step that the best level of one side is cancelled."""
_TRADE_P = 0.3
"""Chance per step of a single trade."""
_BURST_P = 0.02
"""Chance per step of a burst of several trades by one aggressor."""
_BURST_MIN, _BURST_MAX = 3, 12
_REVERSION = 10.0
"""Aggressor bias per relative distance from the start price (1 % away → 10 % bias)."""
_MAX_BIAS = 0.2
_TOP_SIZE = {"ES": 25.0, "NQ": 6.0, "MES": 12.0, "MNQ": 8.0}
"""Typical displayed size at the best level; deeper levels hold more."""
_DEFAULT_TOP_SIZE = 10.0
_OPEN_INTEREST = {"ES": 2_100_000, "NQ": 260_000, "MES": 1_700_000, "MNQ": 300_000}
_DEFAULT_OPEN_INTEREST = 100_000
_MINUTE_MS = 60_000
_HOUR_MS = 3_600_000


@dataclass(slots=True)
class MinuteBar:
    """One minute of one contract's trades. Up/down volume and ticks follow the tick rule
    (a trade above the previous one is up, below is down, equal keeps the previous
    direction); bid/offer volume is what traded at the best bid / best offer."""

    start_ms: int
    trade_date: int
    open: float
    high: float
    low: float
    close: float
    up_volume: int = 0
    down_volume: int = 0
    up_ticks: int = 0
    down_ticks: int = 0
    bid_volume: int = 0
    offer_volume: int = 0


@dataclass(slots=True, eq=False)
class _Market:
    """Mutable state of one contract."""

    inst: Instrument
    book: Book
    tick_size: float
    start_ticks: int
    top_size: float
    bid_ticks: int
    ask_ticks: int
    bid_sizes: list[int]
    ask_sizes: list[int]
    settlement_entry: QuoteEntry
    open_interest_entry: QuoteEntry
    last_ticks: int | None = None
    last_up: bool = True
    volume: int = 0
    open_ticks: int | None = None
    high_ticks: int | None = None
    low_ticks: int | None = None
    trade_date: int = 0
    histogram: dict[int, int] = field(default_factory=dict)
    ticks: deque[Tick] = field(default_factory=lambda: deque(maxlen=TRADE_HISTORY_LIMIT))
    bars: deque[MinuteBar] = field(default_factory=lambda: deque(maxlen=MINUTE_BAR_LIMIT))


def _yyyymmdd(date: TradeDate) -> int:
    return date.year * 10_000 + date.month * 100 + date.day


class MarketGenerator:
    """Writes the books of every catalog contract and reports what each step changed."""

    def __init__(self, catalog: InstrumentCatalog, seed: int = 1, depth: int = 10, *,
                 now_ms: int | None = None, large_print_probability: float = 0.0,
                 large_print_size: int = 500) -> None:
        """``now_ms`` stamps snapshots taken before the first step (default: wall clock).
        ``large_print_probability`` is the chance per step and contract of one print of
        ``large_print_size`` against hidden liquidity (see :meth:`_large_print`)."""
        if depth < 1:
            raise ValueError("depth must be at least 1")
        if not 0.0 <= large_print_probability <= 1.0 or large_print_size < 1:
            raise ValueError("large prints need a probability in [0, 1] and a size >= 1")
        self._large_p = large_print_probability
        self._large_size = large_print_size
        self.catalog = catalog
        self.depth = depth
        self._rng = random.Random(seed)
        self._now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self._stamp = iso_timestamp(self._now_ms / 1000)
        self._stepped = False
        self._trade_dates: dict[int, TradeDate] = {}
        self._next_tick_id = 1
        self._next_chart_id = 1
        self._markets: dict[int, _Market] = {}
        self.books: dict[int, Book] = {}
        for inst in catalog:
            market = self._new_market(inst)
            self._markets[inst.contract_id] = market
            self.books[inst.contract_id] = market.book
            self._publish_book(market)

    # ----------------------------------------------------------------- set-up

    def _new_market(self, inst: Instrument) -> _Market:
        ts = inst.tick_size
        start = round(inst.start_price / ts)
        top = _TOP_SIZE.get(inst.product.name.upper(), _DEFAULT_TOP_SIZE)
        oi = _OPEN_INTEREST.get(inst.product.name.upper(), _DEFAULT_OPEN_INTEREST)
        market = _Market(
            inst=inst, book=Book(contract_id=inst.contract_id, tick_size=ts), tick_size=ts,
            start_ticks=start, top_size=top, bid_ticks=start, ask_ticks=start + 1,
            bid_sizes=[], ask_sizes=[],
            settlement_entry=QuoteEntry(price=self._price(start, ts)),
            open_interest_entry=QuoteEntry(size=oi),
            trade_date=self._trade_date_int(self._now_ms))
        market.bid_sizes = [self._fresh_size(market, i) for i in range(self.depth)]
        market.ask_sizes = [self._fresh_size(market, i) for i in range(self.depth)]
        return market

    def _fresh_size(self, market: _Market, level: int) -> int:
        return int(market.top_size * (1.0 + 0.3 * level) * (0.5 + self._rng.random())) + 1

    # ----------------------------------------------------------------- helpers

    @staticmethod
    def _price(ticks: int, tick_size: float) -> float:
        """Price of a tick count; whole prices as ints so they encode as ``6850`` like the
        wire's normalized numbers, not ``6850.0``."""
        price = ticks * tick_size
        whole = int(price)
        return whole if whole == price else price

    def _trade_date(self, now_ms: int) -> TradeDate:
        """CME session date; constant within a UTC hour (sessions change on whole hours)."""
        hour = now_ms // _HOUR_MS
        date = self._trade_dates.get(hour)
        if date is None:
            date = cme_trade_date(hour * (_HOUR_MS // 1000))
            self._trade_dates[hour] = date
        return date

    def _trade_date_int(self, now_ms: int) -> int:
        return _yyyymmdd(self._trade_date(now_ms))

    def trade_date(self, timestamp_ms: int) -> int:
        """Trade date (YYYYMMDD) of the session an instant belongs to: from 17:00 CT the next
        day's, Friday evening to Sunday evening Monday's."""
        return self._trade_date_int(timestamp_ms)

    def next_chart_id(self) -> int:
        """A chart subscription id unique within this simulator."""
        ident = self._next_chart_id
        self._next_chart_id += 1
        return ident

    def _market(self, contract_id: int) -> _Market:
        market = self._markets.get(contract_id)
        if market is None:
            raise KeyError(f"unknown contract {contract_id}")
        return market

    # ----------------------------------------------------------------- history

    def ticks(self, contract_id: int) -> Sequence[Tick]:
        """The contract's recent trades, oldest first (at most :data:`TRADE_HISTORY_LIMIT`)."""
        return self._market(contract_id).ticks

    def minute_bars(self, contract_id: int) -> Sequence[MinuteBar]:
        """The contract's recent one-minute bars, oldest first; the last one may still be
        growing (at most :data:`MINUTE_BAR_LIMIT`). Only minutes with trades have a bar."""
        return self._market(contract_id).bars

    # ----------------------------------------------------------------- stepping

    def step(self, now_ms: int) -> MarketUpdate:
        """Advance every contract one step at ``now_ms``; return the quotes and DOMs that
        changed and the trades printed, in catalog order."""
        if self._stepped:
            now_ms = max(now_ms, self._now_ms)
        self._stepped = True
        self._now_ms = now_ms
        self._stamp = iso_timestamp(now_ms / 1000)
        trade_date = self._trade_date_int(now_ms)
        update = MarketUpdate(now_ms)
        for market in self._markets.values():
            if market.trade_date != trade_date:
                self._new_session(market, trade_date)
            self._step_market(market, now_ms, update)
        return update

    def warm_up(self, now_ms: int, duration_ms: int, interval_ms: int) -> int:
        """Run steps every ``interval_ms`` over the ``duration_ms`` before ``now_ms`` so that
        charts have history at start-up; the updates are discarded. Returns the step count."""
        if interval_ms <= 0:
            raise ValueError("interval_ms must be positive")
        count = 0
        for at in range(now_ms - duration_ms, now_ms, interval_ms):
            self.step(at)
            count += 1
        return count

    def _new_session(self, market: _Market, trade_date: int) -> None:
        """A new trade date: yesterday's last trade settles, session statistics restart."""
        market.trade_date = trade_date
        if market.last_ticks is not None:
            market.settlement_entry = QuoteEntry(
                price=self._price(market.last_ticks, market.tick_size))
        market.volume = 0
        market.open_ticks = market.high_ticks = market.low_ticks = None
        market.histogram = {}

    def _step_market(self, market: _Market, now_ms: int, update: MarketUpdate) -> None:
        rng = self._rng.random
        before = (market.bid_ticks, market.ask_ticks, market.bid_sizes.copy(),
                  market.ask_sizes.copy())
        if rng() < _CHURN_P:
            self._churn(market)
        if market.ask_ticks - market.bid_ticks > 1:
            if rng() < _REFILL_P:
                self._refill(market)
        elif rng() < _PULL_P:
            self._pull(market)
        draw = rng()
        count = 0
        if draw < _BURST_P:
            count = self._rng.randint(_BURST_MIN, _BURST_MAX)
        elif draw < _BURST_P + _TRADE_P:
            count = 1
        if count:
            buy = rng() < self._buy_probability(market)
            for _ in range(count):
                update.trades.append((market.inst.contract_id,
                                      self._trade(market, buy, now_ms)))
        # Drawn only when enabled, so a generator without large prints stays identical.
        if self._large_p and rng() < self._large_p:
            count += 1
            update.trades.append((market.inst.contract_id, self._large_print(market, now_ms)))
        bid_ticks, ask_ticks, bid_sizes, ask_sizes = before
        if (market.bid_sizes != bid_sizes or market.ask_sizes != ask_sizes
                or market.bid_ticks != bid_ticks or market.ask_ticks != ask_ticks):
            self._publish_book(market)
            update.doms.append(self._dom(market))
        if (count or market.bid_ticks != bid_ticks or market.ask_ticks != ask_ticks
                or market.bid_sizes[0] != bid_sizes[0] or market.ask_sizes[0] != ask_sizes[0]):
            update.quotes.append(self._quote(market))

    def _churn(self, market: _Market) -> None:
        """Some resting orders join or leave: one to three levels change size (never to 0,
        drifting back towards the typical size of their depth)."""
        rng = self._rng.random
        for _ in range(1 + int(rng() * 3)):
            sizes = market.bid_sizes if rng() < 0.5 else market.ask_sizes
            level = int(len(sizes) * rng() * rng())  # the top of the book moves most
            scale = market.top_size * (1.0 + 0.3 * level)
            delta = int((rng() - 0.5) * 0.5 * scale + 0.1 * (scale - sizes[level]))
            sizes[level] = max(1, sizes[level] + delta)

    def _refill(self, market: _Market) -> None:
        """A new order improves one side of a wide spread by one tick."""
        if self._rng.random() < 0.5:
            market.bid_ticks += 1
            market.bid_sizes.insert(0, self._fresh_size(market, 0) // 2 + 1)
            market.bid_sizes.pop()
        else:
            market.ask_ticks -= 1
            market.ask_sizes.insert(0, self._fresh_size(market, 0) // 2 + 1)
            market.ask_sizes.pop()

    def _pull(self, market: _Market) -> None:
        """The best level of one side is cancelled; that side backs off one tick."""
        if self._rng.random() < 0.5:
            market.bid_ticks -= 1
            market.bid_sizes.pop(0)
            market.bid_sizes.append(self._fresh_size(market, self.depth - 1))
        else:
            market.ask_ticks += 1
            market.ask_sizes.pop(0)
            market.ask_sizes.append(self._fresh_size(market, self.depth - 1))

    def _buy_probability(self, market: _Market) -> float:
        mid_ticks = (market.bid_ticks + market.ask_ticks) / 2
        bias = (market.start_ticks - mid_ticks) / market.start_ticks * _REVERSION
        return 0.5 + max(-_MAX_BIAS, min(_MAX_BIAS, bias))

    def _trade(self, market: _Market, buy: bool, now_ms: int) -> Tick:
        """An aggressor takes (part of) the best offer (buy) or best bid (sell)."""
        ts = market.tick_size
        sizes = market.ask_sizes if buy else market.bid_sizes
        price_ticks = market.ask_ticks if buy else market.bid_ticks
        wanted = 1 + int(self._rng.expovariate(1.0 / (0.12 * market.top_size + 0.5)))
        size = min(sizes[0], wanted)
        tick = Tick(self._next_tick_id, now_ms, price_ticks, self._price(price_ticks, ts), size,
                    self._price(market.bid_ticks, ts), market.bid_sizes[0],
                    self._price(market.ask_ticks, ts), market.ask_sizes[0])
        self._next_tick_id += 1
        sizes[0] -= size
        if sizes[0] == 0:
            sizes.pop(0)
            sizes.append(self._fresh_size(market, self.depth - 1))
            if buy:
                market.ask_ticks += 1
            else:
                market.bid_ticks -= 1
        self._record(market, tick, size, buy)
        return tick

    def _large_print(self, market: _Market, now_ms: int) -> Tick:
        """A block trade against hidden (iceberg) liquidity at the best price: it prints
        ``large_print_size`` contracts while the displayed book stays as it was, as when a
        large resting order keeps refilling the best level."""
        buy = self._rng.random() < self._buy_probability(market)
        ts = market.tick_size
        price_ticks = market.ask_ticks if buy else market.bid_ticks
        size = self._large_size
        tick = Tick(self._next_tick_id, now_ms, price_ticks, self._price(price_ticks, ts), size,
                    self._price(market.bid_ticks, ts), market.bid_sizes[0],
                    self._price(market.ask_ticks, ts), market.ask_sizes[0])
        self._next_tick_id += 1
        self._record(market, tick, size, buy)
        return tick

    def _record(self, market: _Market, tick: Tick, size: int, buy: bool) -> None:
        """Session statistics, volume at price, tick history and the minute bar."""
        price_ticks = tick.price_ticks
        last = market.last_ticks
        up = market.last_up if last is None or price_ticks == last else price_ticks > last
        market.last_up = up
        market.last_ticks = price_ticks
        market.volume += size
        if market.open_ticks is None:
            market.open_ticks = price_ticks
        if market.high_ticks is None or price_ticks > market.high_ticks:
            market.high_ticks = price_ticks
        if market.low_ticks is None or price_ticks < market.low_ticks:
            market.low_ticks = price_ticks
        market.histogram[price_ticks] = market.histogram.get(price_ticks, 0) + size
        market.ticks.append(tick)
        book = market.book
        book.last_price = tick.price
        book.last_size = size
        book.total_volume = market.volume
        minute = tick.timestamp_ms - tick.timestamp_ms % _MINUTE_MS
        bars = market.bars
        if not bars or bars[-1].start_ms != minute:
            bars.append(MinuteBar(minute, self._trade_date_int(minute), tick.price, tick.price,
                                  tick.price, tick.price))
        bar = bars[-1]
        if tick.price > bar.high:
            bar.high = tick.price
        if tick.price < bar.low:
            bar.low = tick.price
        bar.close = tick.price
        if up:
            bar.up_volume += size
            bar.up_ticks += 1
        else:
            bar.down_volume += size
            bar.down_ticks += 1
        if buy:
            bar.offer_volume += size
        else:
            bar.bid_volume += size

    # ----------------------------------------------------------------- snapshots

    def _levels(self, best: int, sizes: list[int], step: int, ts: float) -> list[PriceLevel]:
        price = self._price
        return [PriceLevel(price=price(best + step * i, ts), size=size)
                for i, size in enumerate(sizes)]

    def _publish_book(self, market: _Market) -> None:
        """Replace (never mutate) the book's level lists: readers may hold the old ones."""
        ts = market.tick_size
        market.book.bids = self._levels(market.bid_ticks, market.bid_sizes, -1, ts)
        market.book.offers = self._levels(market.ask_ticks, market.ask_sizes, 1, ts)

    def _dom(self, market: _Market) -> Dom:
        book = market.book
        return Dom(contract_id=book.contract_id, timestamp=self._stamp, bids=book.bids,
                   offers=book.offers)

    def _quote(self, market: _Market) -> Quote:
        """Every entry there is data for, as in the reference's typical quote: Bid/Offer/Trade
        with price and size, TotalTradeVolume/OpenInterest with only size, the session prices
        with only price. Trade and the session prices are absent until the session trades."""
        ts = market.tick_size
        price = self._price
        book = market.book
        bid, offer = book.bids[0], book.offers[0]
        trade = high = low = opening = None
        if market.last_ticks is not None:
            trade = QuoteEntry(price=price(market.last_ticks, ts), size=book.last_size)
        if market.open_ticks is not None:
            opening = QuoteEntry(price=price(market.open_ticks, ts))
        if market.high_ticks is not None:
            high = QuoteEntry(price=price(market.high_ticks, ts))
        if market.low_ticks is not None:
            low = QuoteEntry(price=price(market.low_ticks, ts))
        entries = QuoteEntries(
            bid=QuoteEntry(price=bid.price, size=bid.size),
            offer=QuoteEntry(price=offer.price, size=offer.size),
            trade=trade, total_trade_volume=QuoteEntry(size=market.volume),
            open_interest=market.open_interest_entry, high_price=high, low_price=low,
            opening_price=opening, settlement_price=market.settlement_entry)
        return Quote(contract_id=book.contract_id, timestamp=self._stamp, entries=entries)

    def quote(self, contract_id: int) -> Quote:
        """The contract's current full quote (sent right after ``md/subscribeQuote``)."""
        return self._quote(self._market(contract_id))

    def dom(self, contract_id: int) -> Dom:
        """The contract's current full depth (sent right after ``md/subscribeDOM``)."""
        return self._dom(self._market(contract_id))

    def _histogram(self, market: _Market, prices: Iterator[int] | None,
                   refresh: bool) -> Histogram:
        base = market.last_ticks if market.last_ticks is not None else market.start_ticks
        volumes = market.histogram
        keys = volumes.keys() if prices is None else prices
        items: dict[str, float] = {str(p - base): volumes[p] for p in keys}
        trade_date = self._trade_date(self._now_ms)
        return Histogram(contract_id=market.inst.contract_id, timestamp=self._stamp,
                         base=self._price(base, market.tick_size), items=items,
                         trade_date=trade_date, refresh=refresh)

    def histogram(self, contract_id: int) -> Histogram:
        """The session's full volume at price (sent right after ``md/subscribeHistogram``):
        ``items`` maps the tick offset from ``base`` (the last trade price) to volume, and
        ``refresh`` is true because it replaces whatever the client had."""
        return self._histogram(self._market(contract_id), None, True)

    def histogram_updates(self, update: MarketUpdate) -> list[Histogram]:
        """Incremental histograms for the contracts that traded in ``update``: the new totals
        at the traded prices only, ``refresh`` false (merge them into the previous ones)."""
        traded: dict[int, dict[int, None]] = {}
        for contract_id, tick in update.trades:
            traded.setdefault(contract_id, {})[tick.price_ticks] = None
        out = []
        for contract_id, prices in traded.items():
            market = self._market(contract_id)
            live = (p for p in prices if p in market.histogram)
            out.append(self._histogram(market, live, False))
        return out

