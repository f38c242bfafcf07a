"""Fan-out of market data: which md socket wants which contract's quotes, DOM, histogram.

Each generator step's quotes and DOMs are encoded once per contract and the same bytes are
queued to every subscriber, so the cost per extra subscriber is one list append. Charts are
per connection (:class:`ChartSubscriptions`), so their packets are built per socket. The hub
knows a subscriber only as a :class:`Subscriber` (the md socket is one), so the socket uses
the hub and the hub never imports the socket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import msgspec

from ..protocol import ChartEvent, MarketDataEvent
from ..protocol.models import ChartData, ChartPacket, Dom, Histogram, MarketData, Quote
from .book import MarketUpdate

if TYPE_CHECKING:
    from .charts import ChartSubscriptions
    from .marketgen import MarketGenerator

_encoder = msgspec.json.Encoder()
FEEDS = ("quote", "dom", "histogram")


class Subscriber(Protocol):
    """What the hub needs of an md socket: where its messages go and its charts."""

    @property
    def charts(self) -> ChartSubscriptions: ...

    def send(self, message: bytes) -> None: ...


def quote_event(quote: Quote) -> bytes:
    return _encoder.encode(MarketDataEvent(MarketData(quotes=[quote])))


def dom_event(dom: Dom) -> bytes:
    return _encoder.encode(MarketDataEvent(MarketData(doms=[dom])))


def histogram_event(histogram: Histogram) -> bytes:
    return _encoder.encode(MarketDataEvent(MarketData(histograms=[histogram])))


def chart_event(packets: list[ChartPacket]) -> bytes:
    return _encoder.encode(ChartEvent(ChartData(charts=packets)))


class MarketDataHub:
    """Subscriptions of every md socket, by feed and contract."""

    def __init__(self, generator: MarketGenerator) -> None:
        self._generator = generator
        self._subs: dict[str, dict[int, set[Subscriber]]] = {f: {} for f in FEEDS}
        self._charting: set[Subscriber] = set()

    def subscribe(self, feed: str, contract_id: int, session: Subscriber) -> None:
        self._subs[feed].setdefault(contract_id, set()).add(session)

    def unsubscribe(self, feed: str, contract_id: int, session: Subscriber) -> bool:
        subs = self._subs[feed].get(contract_id)
        if subs is None or session not in subs:
            return False
        subs.discard(session)
        if not subs:
            del self._subs[feed][contract_id]
        return True

    def charts_changed(self, session: Subscriber) -> None:
        """Track which sockets have live charts (only those are asked for packets)."""
        if len(session.charts):
            self._charting.add(session)
        else:
            self._charting.discard(session)

    def drop(self, session: Subscriber) -> None:
        """A socket closed: all its subscriptions end."""
        for feed in FEEDS:
            for contract_id in [c for c, s in self._subs[feed].items() if session in s]:
                self.unsubscribe(feed, contract_id, session)
        self._charting.discard(session)

    def publish(self, update: MarketUpdate) -> None:
        """Queue one step's market data to the subscribers."""
        quotes, doms = self._subs["quote"], self._subs["dom"]
        for quote in update.quotes:
            subs = quotes.get(quote.contract_id)
            if subs:
                message = quote_event(quote)
                for session in subs:
                    session.send(message)
        for dom in update.doms:
            subs = doms.get(dom.contract_id)
            if subs:
                message = dom_event(dom)
                for session in subs:
                    session.send(message)
        histograms = self._subs["histogram"]
        if histograms and update.trades:
            for histogram in self._generator.histogram_updates(update):
                subs = histograms.get(histogram.contract_id)
                if subs:
                    message = histogram_event(histogram)
                    for session in subs:
                        session.send(message)
        for session in list(self._charting):
            packets = session.charts.on_update(update)
            if packets:
                session.send(chart_event(packets))
