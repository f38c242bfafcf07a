"""The market-data session: quote/DOM/histogram subscriptions and charts, replayed after every
reconnect.

Tradovate allows one subscription of each type per contract and gives no id for it, and
closing a socket drops all of them, so the session keeps the registry: every subscription is
re-sent on each new connection. A re-subscription the server refuses stays in the registry
(it is sent again on every connection and by :meth:`MarketDataSession.retry_refused`) and is
reported through ``subscription_refused``; ``subscription_restored`` says when every feed of
that symbol is live again — until then the symbol's data are missing and the runtime stops
new entries in it. Charts do have ids — a ``historicalId`` and a ``realtimeId``,
and packets carry either — and they change on every new connection, so a
:class:`ChartSubscription` is the stable handle and :meth:`MarketDataSession.chart_for` maps a
packet id to it. Events go straight from the reader to the consumer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any

from ..errors import (
    ConnectionLost,
    ErrorResponse,
    PenaltyTicket,
    RateLimited,
    RequestError,
    Unauthorized,
)
from ..protocol.models.results import ChartSubscriptionResult, MarketDataSubscriptionResult
from ..protocol.models.subscriptions import (
    CancelChart,
    ChartDescription,
    GetChart,
    SymbolRequest,
    TimeRange,
)
from .connection import Connection, ConnectionOptions, EventConsumer
from .session import Session
from .tokens import TokenProvider, TokenRejected

_log = logging.getLogger("tradovate_api.client.md")

Symbol = str | int
SymbolListener = Callable[[Symbol, str], None]
"""Called with a symbol and a reason (refused: the server's answer; restored: ``""``)."""


class Feed(StrEnum):
    """A subscription type; the value is the endpoint suffix."""

    QUOTE = "Quote"
    DOM = "DOM"
    HISTOGRAM = "Histogram"


class ChartSubscription:
    """A chart kept across reconnects. The ids are those of the current connection (``None``
    until the server has answered); packets carry either id."""

    __slots__ = ("historical_id", "realtime_id", "request")

    def __init__(self, request: GetChart) -> None:
        self.request = request
        self.historical_id: int | None = None
        self.realtime_id: int | None = None

    @property
    def ids(self) -> tuple[int, ...]:
        return tuple(i for i in (self.historical_id, self.realtime_id) if i is not None)

    def __repr__(self) -> str:
        return (f"ChartSubscription(symbol={self.request.symbol!r}, "
                f"historical_id={self.historical_id}, realtime_id={self.realtime_id})")


class MarketDataSession(Session):
    """The md socket. ``run()`` is the supervisor's "md read" task."""

    def __init__(self, url: str, token: TokenProvider, on_event: EventConsumer, *,
                 name: str = "md", options: ConnectionOptions | None = None,
                 token_rejected: TokenRejected | None = None) -> None:
        super().__init__(url, token, on_event, name=name, options=options,
                         token_rejected=token_rejected)
        self._feeds: dict[tuple[Feed, Symbol], None] = {}
        self._charts: list[ChartSubscription] = []
        self._chart_ids: dict[int, ChartSubscription] = {}
        self._refused: dict[tuple[Feed, Symbol] | ChartSubscription, str] = {}
        self.subscription_refused: SymbolListener | None = None
        """Told when the server refuses re-sending a subscription or chart of a symbol (the
        symbol's data stop; the subscription is kept and tried again)."""
        self.subscription_restored: SymbolListener | None = None
        """Told when every refused subscription of a symbol has been accepted again."""

    # ------------------------------------------------------------------ registry

    @property
    def subscriptions(self) -> list[tuple[Feed, Symbol]]:
        """Every quote/DOM/histogram subscription, in the order made."""
        return list(self._feeds)

    @property
    def charts(self) -> list[ChartSubscription]:
        return list(self._charts)

    def chart_for(self, packet_id: int) -> ChartSubscription | None:
        """The chart a packet belongs to (by its historical or real-time id)."""
        return self._chart_ids.get(packet_id)

    @property
    def refused(self) -> dict[Symbol, str]:
        """Symbols with a subscription or chart the server refused to re-establish, with the
        last reason."""
        return {_symbol_of(what): reason for what, reason in self._refused.items()}

    # ------------------------------------------------------------------ subscribe

    async def subscribe_quote(self, symbol: Symbol, response_timeout: float | None = None
                              ) -> MarketDataSubscriptionResult | None:
        return await self.subscribe(Feed.QUOTE, symbol, response_timeout)

    async def subscribe_dom(self, symbol: Symbol, response_timeout: float | None = None
                            ) -> MarketDataSubscriptionResult | None:
        return await self.subscribe(Feed.DOM, symbol, response_timeout)

    async def subscribe_histogram(self, symbol: Symbol, response_timeout: float | None = None
                                  ) -> MarketDataSubscriptionResult | None:
        return await self.subscribe(Feed.HISTOGRAM, symbol, response_timeout)

    async def subscribe(self, feed: Feed, symbol: Symbol, response_timeout: float | None = None
                        ) -> MarketDataSubscriptionResult | None:
        """Subscribe and remember it. Returns the server's result, or ``None`` when already
        subscribed or not connected now (it is then sent on the next connection). A refusal
        (unknown symbol...) raises and is forgotten; a lost connection keeps it for replay."""
        key = (feed, symbol)
        if key in self._feeds:
            return None
        self._feeds[key] = None
        connection = self.connection
        if connection is None:
            return None
        try:
            result: MarketDataSubscriptionResult = await connection.request(
                f"md/subscribe{feed.value}", SymbolRequest(symbol=symbol),
                result_type=MarketDataSubscriptionResult, response_timeout=response_timeout)
        except RequestError:
            self._feeds.pop(key, None)
            raise
        return result

    async def unsubscribe(self, feed: Feed, symbol: Symbol,
                          response_timeout: float | None = None) -> None:
        """Forget a subscription and, when connected, tell the server."""
        key = (feed, symbol)
        if key not in self._feeds:
            return
        del self._feeds[key]
        self._refused.pop(key, None)
        connection = self.connection
        if connection is not None:
            await connection.request(f"md/unsubscribe{feed.value}", SymbolRequest(symbol=symbol),
                                     response_timeout=response_timeout)

    async def unsubscribe_quote(self, symbol: Symbol,
                                response_timeout: float | None = None) -> None:
        await self.unsubscribe(Feed.QUOTE, symbol, response_timeout)

    async def unsubscribe_dom(self, symbol: Symbol,
                              response_timeout: float | None = None) -> None:
        await self.unsubscribe(Feed.DOM, symbol, response_timeout)

    async def unsubscribe_histogram(self, symbol: Symbol,
                                    response_timeout: float | None = None) -> None:
        await self.unsubscribe(Feed.HISTOGRAM, symbol, response_timeout)

    # ------------------------------------------------------------------ charts

    async def get_chart(self, symbol: Symbol, description: ChartDescription,
                        time_range: TimeRange, response_timeout: float | None = None
                        ) -> ChartSubscription:
        """Request a chart (history, then real-time updates) and keep it across reconnects.
        When not connected it is requested on the next connection; a refusal raises."""
        chart = ChartSubscription(GetChart(symbol=symbol, chart_description=description,
                                           time_range=time_range))
        self._charts.append(chart)
        connection = self.connection
        if connection is None:
            return chart
        try:
            await self._request_chart(connection, chart, response_timeout)
        except RequestError:
            self._forget_chart(chart)
            raise
        return chart

    async def cancel_chart(self, chart: ChartSubscription | int,
                           response_timeout: float | None = None) -> None:
        """Cancel a chart (by handle or either id): the server is sent the ``realtimeId``."""
        found = self._chart_ids.get(chart) if isinstance(chart, int) else chart
        if found is None or found not in self._charts:
            return
        realtime_id = found.realtime_id or found.historical_id
        self._forget_chart(found)
        connection = self.connection
        if connection is not None and realtime_id is not None:
            await connection.request("md/cancelChart", CancelChart(subscription_id=realtime_id),
                                     response_timeout=response_timeout)

    def _request_chart(self, connection: Connection, chart: ChartSubscription,
                       timeout: float | None) -> asyncio.Future[Any]:
        def record_ids(result: Any) -> None:
            # On the reader, before any packet that follows the response is dispatched.
            if isinstance(result, ChartSubscriptionResult):
                self._unmap(chart)
                chart.historical_id = result.historical_id
                chart.realtime_id = result.realtime_id
                for chart_id in chart.ids:
                    self._chart_ids[chart_id] = chart

        return connection.send_request("md/getChart", chart.request,
                                       result_type=ChartSubscriptionResult, timeout=timeout,
                                       on_result=record_ids)

    def _unmap(self, chart: ChartSubscription) -> None:
        for chart_id in chart.ids:
            if self._chart_ids.get(chart_id) is chart:
                del self._chart_ids[chart_id]

    def _forget_chart(self, chart: ChartSubscription) -> None:
        self._unmap(chart)
        self._refused.pop(chart, None)
        if chart in self._charts:
            self._charts.remove(chart)

    async def unsubscribe_all(self, response_timeout: float | None = None) -> None:
        """Unsubscribe everything and cancel every chart (shutdown); failures are logged."""
        for feed, symbol in list(self._feeds):
            try:
                await self.unsubscribe(feed, symbol, response_timeout)
            except (RequestError, ConnectionLost, TimeoutError) as exc:
                _log.warning("%s: unsubscribe %s %s failed: %s", self.name, feed, symbol, exc)
        for chart in list(self._charts):
            try:
                await self.cancel_chart(chart, response_timeout)
            except (RequestError, ConnectionLost, TimeoutError) as exc:
                _log.warning("%s: cancel chart failed: %s", self.name, exc)

    # ------------------------------------------------------------------ replay

    async def _restore(self, connection: Connection) -> None:
        """Re-send every subscription and chart on the new connection (pipelined). Refused
        ones (unknown symbol...) are kept, reported and tried again; a lost connection, a
        time-out, a rate limit or a server error ends this attempt and keeps them all."""
        for chart in self._charts:
            self._unmap(chart)
            chart.historical_id = chart.realtime_id = None
        sent_feeds: set[tuple[Feed, Symbol]] = set()
        sent_charts: set[int] = set()
        while True:
            feeds = [key for key in self._feeds if key not in sent_feeds]
            charts = [c for c in self._charts if id(c) not in sent_charts]
            if not feeds and not charts:
                return
            sent_feeds.update(feeds)
            sent_charts.update(id(c) for c in charts)
            calls: list[tuple[Any, asyncio.Future[Any]]] = []
            for feed, symbol in feeds:
                calls.append(((feed, symbol), connection.send_request(
                    f"md/subscribe{feed.value}", SymbolRequest(symbol=symbol),
                    result_type=MarketDataSubscriptionResult)))
            for chart in charts:
                calls.append((chart, self._request_chart(connection, chart, None)))
            await self._settle(calls)

    async def retry_refused(self) -> None:
        """Send the refused subscriptions and charts again on the current connection (no-op
        when there are none or it is not connected); failures are logged."""
        connection = self.connection
        if connection is None or not self._refused:
            return
        calls: list[tuple[Any, asyncio.Future[Any]]] = []
        for what in list(self._refused):
            if isinstance(what, ChartSubscription):
                self._unmap(what)
                calls.append((what, self._request_chart(connection, what, None)))
            else:
                feed, symbol = what
                calls.append((what, connection.send_request(
                    f"md/subscribe{feed.value}", SymbolRequest(symbol=symbol),
                    result_type=MarketDataSubscriptionResult)))
        try:
            await self._settle(calls)
        except (RequestError, ConnectionLost, TimeoutError) as exc:
            _log.warning("%s: retrying refused subscriptions failed: %s", self.name, exc)

    async def _settle(self, calls: Iterable[tuple[Any, asyncio.Future[Any]]]) -> None:
        calls = list(calls)
        results = await asyncio.gather(*(f for _, f in calls), return_exceptions=True)
        failure: BaseException | None = None
        for (what, _), result in zip(calls, results, strict=True):
            if isinstance(result, RequestError) and not _transient(result):
                self._refuse(what, str(result))
            elif isinstance(result, BaseException):
                failure = failure or result
            else:
                self._accepted(what)
        if failure is not None:
            raise failure

    def _refuse(self, what: tuple[Feed, Symbol] | ChartSubscription, reason: str) -> None:
        symbol = _symbol_of(what)
        first = all(_symbol_of(other) != symbol for other in self._refused)
        self._refused[what] = reason
        _log.warning("%s: re-subscribing %r refused (kept, tried again): %s", self.name, what,
                     reason)
        if first and self.subscription_refused is not None:
            self.subscription_refused(symbol, reason)

    def _accepted(self, what: tuple[Feed, Symbol] | ChartSubscription) -> None:
        if self._refused.pop(what, None) is None:
            return
        symbol = _symbol_of(what)
        _log.info("%s: %r accepted again", self.name, what)
        if (self.subscription_restored is not None
                and all(_symbol_of(other) != symbol for other in self._refused)):
            self.subscription_restored(symbol, "")


def _symbol_of(what: tuple[Feed, Symbol] | ChartSubscription) -> Symbol:
    return what.request.symbol if isinstance(what, ChartSubscription) else what[1]


def _transient(error: RequestError) -> bool:
    """A refusal that says nothing about the subscription itself (rate limit or penalty, a
    token that expired meanwhile, server trouble): the subscription is kept and the attempt
    fails, rather than going blind."""
    return isinstance(error, RateLimited | PenaltyTicket | Unauthorized) or (
        isinstance(error, ErrorResponse) and error.status >= 500)
