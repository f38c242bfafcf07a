"""A market from a recording: the simulator serves recorded md instead of its random walk.

:class:`RecordedMarket` takes the market generator's place (``SimulatorConfig.replay_file``):
each step it releases the recorded frames whose time has come (the recording's first frame
maps to the simulator's start, ``replay_speed`` times as fast), so clients subscribed over the
md socket get the recorded quotes and DOMs, tick charts get the recorded prints (not a
chart's recorded history, which servers send under the realtime id before its ``eoh``), and
the matching engine fills orders against the recorded book. Times are moved to the present
(quote and DOM timestamps, print times), so a client's time windows work as they do live.
When the recording ends the market stays as it last was.

The simulator stands on the protocol core alone and reads no recording files: whoever starts
it with ``replay_file`` opens the recording
(:func:`tradovate_api.replay.simulator_recording.open_for_simulator`) and passes in a
:class:`RecordedMarketData`: the recorded instruments, and the recording's entries in the
order they take effect, each a raw md frame or one of the two notes playing needs
(:class:`ChartOpened`, :class:`Reconnected`). Instruments are the recording's, with the
default instruments' fees for known products.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter

import msgspec

from ..errors import TradovateError
from ..protocol import (
    ChartEvent,
    MarketDataEvent,
    Messages,
    Side,
    aggressor,
    decode_frame,
    unpack_ticks,
)
from ..protocol.models import Dom, Quote, QuoteEntries
from .book import MarketUpdate
from .config import DEFAULT_COMMISSION
from .engine_time import iso_timestamp
from .instruments import (
    ContractFacts,
    InstrumentCatalog,
    catalog_from_contracts,
    default_instruments,
)
from .marketgen import MarketGenerator


@dataclass(frozen=True, slots=True)
class ChartOpened:
    """The recorded md connection's chart ``realtime_id`` belongs to ``contract_id``;
    ``history_first``: packets before its ``eoh`` are history, not prints to play."""

    realtime_id: int
    contract_id: int
    history_first: bool


@dataclass(frozen=True, slots=True)
class Reconnected:
    """The recorded md connection (re)connected: chart ids start over."""


RecordedEntry = tuple[int, bytes | ChartOpened | Reconnected]
"""(receive time ns, a raw md frame or a note)."""


@dataclass(frozen=True, slots=True)
class RecordedMarketData:
    """A recording opened for the simulator by its caller."""

    contracts: Collection[ContractFacts]
    """The recorded instruments (the reference notes at the start of the recording)."""
    entries: Iterable[RecordedEntry]
    """In the order they take effect; read as the market plays (once). A broken recording
    raises a :class:`~tradovate_api.errors.TradovateError` while it is read."""


_log = logging.getLogger("tradovate_api.simulator.recorded")
_price = attrgetter("price")


def recorded_instruments(contracts: Iterable[ContractFacts],
                         today: dt.date) -> InstrumentCatalog:
    """The recorded instruments, with the default instruments' fees for known products
    (:data:`DEFAULT_COMMISSION` for others)."""
    fees = {i.product.name: i.commission_per_side for i in default_instruments(today)}
    return catalog_from_contracts(contracts,
                                  lambda product: fees.get(product, DEFAULT_COMMISSION))


class RecordedMarket(MarketGenerator):
    """Plays recorded md through the simulator (see the module doc)."""

    def __init__(self, catalog: InstrumentCatalog, entries: Iterable[RecordedEntry], *,
                 now_ms: int, speed: float = 1.0) -> None:
        super().__init__(catalog, now_ms=now_ms)
        if speed <= 0:
            raise ValueError("speed must be positive")
        for market in self._markets.values():
            market.book.bids, market.book.offers = [], []
        self._entries: Iterator[RecordedEntry] = iter(entries)
        self._next: RecordedEntry | None = None
        self._speed = speed
        self._start_ms = now_ms
        self._recorded_start_ns: int | None = None
        self._offset_ms = 0
        self._charts: dict[int, int] = {}
        """Real-time chart id of the recording → contract id."""
        self._history: set[int] = set()
        """Real-time chart ids whose history has not ended: what they carry until their
        ``eoh`` is the recorded history (servers send it under the realtime id too), not
        prints to play again."""
        self._quotes: dict[int, Quote] = {}
        self._doms: dict[int, Dom] = {}
        self.finished = False
        self.frames = 0
        self._peek()

    def _peek(self) -> None:
        try:
            self._next = next(self._entries)
        except StopIteration:
            self._next = None
            if not self.finished:
                self.finished = True
                _log.info("recording played to its end after %d frames", self.frames)
        except TradovateError as exc:  # a broken recording
            self._next = None
            self.finished = True
            _log.error("recording stopped: %s", exc)

    def warm_up(self, now_ms: int, duration_ms: int, interval_ms: int) -> int:
        """No invented history: charts start with what the recording has played."""
        return 0

    def step(self, now_ms: int) -> MarketUpdate:
        update = MarketUpdate(now_ms)
        while self._next is not None:
            ts, item = self._next
            if type(item) is bytes:
                if self._recorded_start_ns is None:
                    self._recorded_start_ns = ts
                    self._offset_ms = self._start_ms - ts // 1_000_000
                due = self._start_ms + (ts - self._recorded_start_ns) / 1e6 / self._speed
                if due > now_ms:
                    break
                self.frames += 1
                self._play(ts // 1_000_000 + self._offset_ms, item, update)
            elif isinstance(item, ChartOpened):
                self._charts[item.realtime_id] = item.contract_id
                if item.history_first:
                    self._history.add(item.realtime_id)
            elif isinstance(item, Reconnected):
                self._charts.clear()
                self._history.clear()
            self._peek()
        return update

    def _play(self, at_ms: int, data: bytes, update: MarketUpdate) -> None:
        frame = decode_frame(data)
        if type(frame) is not Messages:
            return
        stamp = iso_timestamp(at_ms / 1000)
        for message in frame.items:
            if isinstance(message, MarketDataEvent):
                for quote in message.data.quotes:
                    if quote.contract_id in self._markets:
                        moved = msgspec.structs.replace(quote, timestamp=stamp)
                        self._quotes[quote.contract_id] = moved
                        update.quotes.append(moved)
                for dom in message.data.doms:
                    market = self._markets.get(dom.contract_id)
                    if market is not None:
                        moved_dom = msgspec.structs.replace(dom, timestamp=stamp)
                        self._doms[dom.contract_id] = moved_dom
                        market.book.bids = sorted(dom.bids, key=_price, reverse=True)
                        market.book.offers = sorted(dom.offers, key=_price)
                        update.doms.append(moved_dom)
            elif isinstance(message, ChartEvent):
                for packet in message.data.charts:
                    if packet.eoh:
                        self._history.discard(packet.id)
                        continue
                    if packet.id in self._history:
                        continue  # recorded history: already printed before the recording
                    contract_id = self._charts.get(packet.id)
                    market = None if contract_id is None else self._markets.get(contract_id)
                    if market is None or not packet.tks:
                        continue
                    for tick in unpack_ticks(packet):
                        moved_tick = msgspec.structs.replace(
                            tick, timestamp_ms=tick.timestamp_ms + self._offset_ms)
                        bought = aggressor(tick) is Side.BUY
                        self._record(market, moved_tick, int(tick.size), bought)
                        update.trades.append((market.inst.contract_id, moved_tick))

    def quote(self, contract_id: int) -> Quote:
        """The last recorded quote (an empty one before the first)."""
        self._market(contract_id)
        return self._quotes.get(contract_id) or Quote(
            contract_id=contract_id, timestamp=iso_timestamp(self._start_ms / 1000),
            entries=QuoteEntries())

    def dom(self, contract_id: int) -> Dom:
        """The last recorded DOM (an empty one before the first)."""
        self._market(contract_id)
        return self._doms.get(contract_id) or Dom(
            contract_id=contract_id, timestamp=iso_timestamp(self._start_ms / 1000), bids=[],
            offers=[])
