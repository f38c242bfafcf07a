"""Simulated execution for replays: the simulator's matching engine against the recorded book.

:class:`ReplayGateway` is the replay's :class:`~tradovate_api.orders.OrderGateway`. A request
reaches the exchange ``latency`` after it was sent (recording time), is executed by the
simulator's :class:`~tradovate_api.simulator.engine.Exchange` against the book as recorded at
that moment, and its answer and account events come back ``latency`` later. The answer is
turned into a typed result (or the same ``OrderRejected``... error) by the protocol core's
:func:`~tradovate_api.protocol.interpret`, and the events are real ``props`` entities, so the
order manager, account store and strategy hooks run exactly the code they run live.

Resting orders fill on recorded prints and on the book crossing them (the engine's rules, see
:mod:`tradovate_api.simulator.engine`). Slippage widens the book the engine sees by
``slippage_ticks`` on each side, so a marketable order pays that much more per contract than
the recorded touch; resting limit orders fill at their price. Commissions are the engine's
per-side fees, the same figures the account store uses for P&L.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Iterable, Mapping
from itertools import count
from typing import Any

import msgspec

from ..protocol import EntityEvent, interpret
from ..protocol.models import (
    CancelOrder,
    InterruptOrderStrategy,
    LiquidatePosition,
    ModifyOrder,
    PlaceOCO,
    PlaceOrder,
    PlaceOSO,
    PriceLevel,
    StartOrderStrategy,
    Tick,
)
from ..simulator.book import Book, MarketUpdate
from ..simulator.changes import EntityChange
from ..simulator.engine import Exchange
from ..stores import DomBook, MarketChange, MarketDataView, QuoteState, TradesAdded
from .clock import ReplayClock

_encode = msgspec.json.Encoder().encode


class RecordedBooks:
    """The book the matching engine sees: the market store's latest DOM of each contract (or
    top of book from its quote when the recording has no DOM), widened by the slippage.

    Built from the market store's view only when an order needs it, so replaying market
    data without working orders costs nothing here."""

    def __init__(self, market: MarketDataView, tick_sizes: Mapping[int, float],
                 slippage_ticks: int) -> None:
        if slippage_ticks < 0:
            raise ValueError("slippage_ticks must not be negative")
        self.market = market
        self.books: dict[int, Book] = {cid: Book(cid, ts) for cid, ts in tick_sizes.items()}
        self._slip = {cid: slippage_ticks * ts for cid, ts in tick_sizes.items()}
        self._built: dict[int, object] = {}
        """The DOM (or quote) each book was last built from."""
        self.prints: list[tuple[int, Tick]] = []
        """Real-time prints since the last :meth:`take_update`."""

    def note_prints(self, changes: Iterable[MarketChange]) -> None:
        """Collect the real-time prints of applied changes (only while orders work)."""
        for change in changes:
            if type(change) is TradesAdded and change.realtime:
                book = self.books.get(change.contract_id)
                if book is None:
                    continue
                tick_size = book.tick_size
                self.prints.extend((change.contract_id, Tick(
                    t.id, t.timestamp_ms, round(t.price / tick_size), t.price, t.size, t.bid,
                    None, t.ask, None)) for t in change.trades)

    def refresh(self) -> None:
        """Bring every book up to date with the market store (before the engine reads)."""
        market = self.market
        for cid, book in self.books.items():
            source: DomBook | QuoteState | None = market.dom(cid) or market.quote(cid)
            if source is not None and source is not self._built.get(cid):
                self._built[cid] = source
                self._build(book, source)
            last = market.last_trade(cid)
            if last is not None:
                book.last_price, book.last_size = last.price, last.size
            elif book.last_price is None:
                quote = market.quote(cid)
                book.last_price = None if quote is None else quote.last

    def _build(self, book: Book, source: DomBook | QuoteState) -> None:
        slip = self._slip[book.contract_id]
        if isinstance(source, DomBook):
            bids: Iterable[PriceLevel] = source.bids
            offers: Iterable[PriceLevel] = source.offers
        else:
            bids = () if source.bid is None else (
                PriceLevel(price=source.bid, size=source.bid_size or 0),)
            offers = () if source.ask is None else (
                PriceLevel(price=source.ask, size=source.ask_size or 0),)
        if slip:
            book.bids = [PriceLevel(price=round(lv.price - slip, 10), size=lv.size)
                         for lv in bids]
            book.offers = [PriceLevel(price=round(lv.price + slip, 10), size=lv.size)
                           for lv in offers]
        else:
            book.bids, book.offers = list(bids), list(offers)

    def take_update(self, now_ms: int) -> MarketUpdate:
        """The prints since the last call, as the engine's market update."""
        prints, self.prints = self.prints, []
        return MarketUpdate(now_ms, trades=prints)


_Action = tuple[int, int, int, Any]
"""(due ns, 0 = request arrives / 1 = answer delivered, sequence, payload)."""


class ReplayGateway:
    """An :class:`~tradovate_api.orders.OrderGateway` backed by the simulator's exchange."""

    def __init__(self, exchange: Exchange, books: RecordedBooks, clock: ReplayClock, *,
                 user_id: int, latency_ms: float = 0.0) -> None:
        if latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        self.exchange = exchange
        self.books = books
        self.clock = clock
        self.user_id = user_id
        self.latency_ns = round(latency_ms * 1_000_000)
        self.requests = 0
        self.actions: list[_Action] = []
        """Requests on their way and answers on their way back, as a heap by due time (empty:
        nothing in flight)."""
        self._seq = count()
        self._routes: dict[str, tuple[type[Any], Callable[[int, Any], Any]]] = {
            "order/placeorder": (PlaceOrder, exchange.place_order),
            "order/placeoso": (PlaceOSO, exchange.place_oso),
            "order/placeoco": (PlaceOCO, exchange.place_oco),
            "order/modifyorder": (ModifyOrder, exchange.modify_order),
            "order/cancelorder": (CancelOrder, exchange.cancel_order),
            "order/liquidateposition": (LiquidatePosition, exchange.liquidate_position),
            "orderStrategy/startorderstrategy": (StartOrderStrategy,
                                                 exchange.start_order_strategy),
            "orderStrategy/interruptorderstrategy": (InterruptOrderStrategy,
                                                     exchange.interrupt_order_strategy),
        }

    # ------------------------------------------------------------------ OrderGateway

    def send(self, endpoint: str, body: Any, result_type: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.requests += 1
        heapq.heappush(self.actions, (self.clock.now_ns + self.latency_ns, 0, next(self._seq),
                                       (endpoint, body, result_type, future)))
        return future

    # ------------------------------------------------------------------ driving

    @property
    def next_due_ns(self) -> int | None:
        return self.actions[0][0] if self.actions else None

    def on_market(self, changes: Iterable[MarketChange]) -> None:
        """After a md event: let working orders trade against the new book and prints.
        Callers skip this while :attr:`working` is false (nothing could trade)."""
        books = self.books
        books.note_prints(changes)
        books.refresh()
        fills = self.exchange.on_market(books.take_update(self.clock.now_ms()))
        if fills:
            self._deliver_later(None, None, fills)

    @property
    def working(self) -> bool:
        """Whether the exchange holds orders that can still trade."""
        return self.exchange.has_live_orders

    def run_due(self, now_ns: int, apply: Callable[[list[EntityEvent]], None]) -> bool:
        """Execute every request that has arrived and deliver every answer that is due by
        ``now_ns``, in time order; ``apply`` takes delivered account events. Returns whether
        any answer was delivered (its awaiters need a turn of the event loop)."""
        delivered = False
        actions = self.actions
        while actions and actions[0][0] <= now_ns:
            due, kind, _, payload = heapq.heappop(actions)
            self.clock.advance(due)
            if kind == 0:
                self._arrive(*payload)
                continue
            future, result, changes = payload
            if future is not None and not future.done():
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
            if changes:
                apply([EntityEvent(c.entity_type, c.event_type, (c.entity,)) for c in changes])
            delivered = True
        return delivered

    def _arrive(self, endpoint: str, body: Any, result_type: Any,
                future: asyncio.Future[Any]) -> None:
        route = self._routes.get(endpoint)
        if route is None:
            self._deliver_later(future, interpret(404, _encode(
                {"errorText": f"Not found: {endpoint}"}), result_type), [])
            return
        model, handler = route
        request = body if isinstance(body, model) else msgspec.json.decode(
            body if isinstance(body, bytes | bytearray) else _encode(body), type=model)
        self.books.refresh()
        result, changes = handler(self.user_id, request)
        self._deliver_later(future, interpret(200, _encode(result), result_type), changes)

    def _deliver_later(self, future: asyncio.Future[Any] | None, result: Any,
                       changes: list[EntityChange]) -> None:
        heapq.heappush(self.actions, (self.clock.now_ns + self.latency_ns, 1, next(self._seq),
                                       (future, result, changes)))
