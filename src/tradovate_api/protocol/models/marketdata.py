"""Market-data payloads pushed on the md socket: quotes, DOM, histograms, chart packets.

Prices and sizes are floats: newer feeds carry fractional sizes, and msgspec accepts JSON
integers for float fields at no extra cost.
"""

from __future__ import annotations

import msgspec

from ._base import TradeDate, WireModel


class QuoteEntry(WireModel, frozen=True):
    """One quote entry; either ``price`` or ``size`` may be absent."""

    price: float | None = None
    size: float | None = None


class QuoteEntries(WireModel, frozen=True, rename="pascal"):
    """The named entries of a quote (``Bid``, ``Offer``, ``Trade``…); any may be absent."""

    bid: QuoteEntry | None = None
    offer: QuoteEntry | None = None
    trade: QuoteEntry | None = None
    total_trade_volume: QuoteEntry | None = None
    open_interest: QuoteEntry | None = None
    high_price: QuoteEntry | None = None
    low_price: QuoteEntry | None = None
    opening_price: QuoteEntry | None = None
    settlement_price: QuoteEntry | None = None
    empty_book: QuoteEntry | None = None


class Quote(WireModel, frozen=True):
    """One contract's quote update (entries absent here keep their previous value)."""

    contract_id: int
    timestamp: str
    entries: QuoteEntries
    id: int | None = None


class PriceLevel(WireModel, frozen=True):
    """One DOM level."""

    price: float
    size: float


class Dom(WireModel, frozen=True):
    """A depth-of-market snapshot: bids best (highest) first, offers best (lowest) first."""

    contract_id: int
    timestamp: str
    bids: list[PriceLevel] = msgspec.field(default_factory=list)
    offers: list[PriceLevel] = msgspec.field(default_factory=list)


class Histogram(WireModel, frozen=True):
    """Volume at price: ``items`` maps a tick offset from ``base`` (as text) to volume."""

    contract_id: int
    timestamp: str
    base: float
    items: dict[str, float] = msgspec.field(default_factory=dict)
    trade_date: TradeDate | None = None
    refresh: bool = msgspec.field(default_factory=bool)  # always on the wire, as documented
    id: int | None = None


class MarketData(WireModel, frozen=True):
    """The ``d`` of an ``md`` event: any mix of quotes, DOMs and histograms."""

    quotes: list[Quote] = msgspec.field(default_factory=list)
    doms: list[Dom] = msgspec.field(default_factory=list)
    histograms: list[Histogram] = msgspec.field(default_factory=list)


class Bar(WireModel, frozen=True):
    """One chart bar (minute, daily, volume… bars share this shape)."""

    timestamp: str
    open: float
    high: float
    low: float
    close: float
    # default_factory keeps zero volumes on the wire (Tradovate always sends them).
    up_volume: float = msgspec.field(default_factory=float)
    down_volume: float = msgspec.field(default_factory=float)
    up_ticks: float = msgspec.field(default_factory=float)
    down_ticks: float = msgspec.field(default_factory=float)
    bid_volume: float = msgspec.field(default_factory=float)
    offer_volume: float = msgspec.field(default_factory=float)
    histogram: str | None = None


class PackedTick(WireModel, frozen=True):
    """A tick as packed on the wire, relative to its packet's base price and time.

    Field names are the wire's one- and two-letter keys; see :func:`unpack_ticks`.
    """

    id: int
    t: int
    p: int
    s: float
    b: int | None = None
    a: int | None = None
    bs: float | None = None
    as_: float | None = msgspec.field(default=None, name="as")


class ChartPacket(WireModel, frozen=True):
    """One element of ``charts``: a bar packet, a packed tick packet, or an end-of-history mark.

    ``id`` matches the ``historicalId`` or the ``realtimeId`` returned by ``md/getChart``.
    """

    id: int
    td: int | None = None
    bars: list[Bar] | None = None
    s: str | None = None
    bp: int | None = None
    bt: int | None = None
    ts: float | None = None
    tks: list[PackedTick] | None = None
    eoh: bool = False


class ChartData(WireModel, frozen=True):
    """The ``d`` of a ``chart`` event."""

    charts: list[ChartPacket] = msgspec.field(default_factory=list)


class Tick(msgspec.Struct, frozen=True, gc=False):
    """An unpacked, absolute tick.

    ``price_ticks`` is the exact integer price in tick units; ``price`` is that times the
    tick size. Bid/ask fields are present only when the packet carried a (non-zero) size.
    """

    id: int
    timestamp_ms: int
    price_ticks: int
    price: float
    size: float
    bid_price: float | None = None
    bid_size: float | None = None
    ask_price: float | None = None
    ask_size: float | None = None
