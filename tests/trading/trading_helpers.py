"""Deterministic rigs for the trading layer without sockets.

:class:`ExchangeGateway` is an ``OrderGateway`` whose counterparty is the simulator's pure
matching engine (``Exchange``) on books the test controls; its entity changes are delivered
to the account store by :meth:`Harness.settle`, the way the account reader would, after the
strategy's callback returned. :class:`ScriptedGateway` records requests and lets the test
answer (or never answer) each one. :class:`LosingGateway` loses the answers of chosen
requests, after the exchange executed them or before it ever saw them. :class:`Harness`
wires stores, contract book, risk, order manager, context and dispatcher on a manual clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from tradovate_api.alerts import AlertLog
from tradovate_api.errors import ConnectionLost, OrderRejected, TradovateError
from tradovate_api.orders import ContractBook, OrderManager, OutcomeResolver
from tradovate_api.orders.resolver import ServerCommands
from tradovate_api.orders.risk import RiskManager
from tradovate_api.protocol import (
    EntityEvent,
    Messages,
    decode_entities,
    decode_frame,
    encode_messages,
)
from tradovate_api.protocol.messages import ChartEvent, MarketDataEvent
from tradovate_api.protocol.models import (
    CancelOrder,
    ChartData,
    Dom,
    InterruptOrderStrategy,
    LiquidatePosition,
    MarketData,
    ModifyOrder,
    PlaceOCO,
    PlaceOrder,
    PlaceOSO,
    PriceLevel,
    Quote,
    QuoteEntries,
    QuoteEntry,
    StartOrderStrategy,
    Tick,
)
from tradovate_api.protocol.ticks import pack_ticks
from tradovate_api.settings import Risk
from tradovate_api.simulator.book import Book
from tradovate_api.simulator.changes import EntityChange
from tradovate_api.simulator.engine import Exchange
from tradovate_api.simulator.instruments import (
    InstrumentCatalog,
    default_instruments,
    reference_entities,
)
from tradovate_api.stores import create_account_store, create_market_store
from tradovate_api.strategy import Strategy
from tradovate_api.strategy.context import StrategyContext
from tradovate_api.strategy.dispatch import Dispatcher

TODAY = dt.date(2026, 11, 24)
"""Front months ESZ6, NQZ6 (the simulator's stable ids)."""
CATALOG = InstrumentCatalog(default_instruments(TODAY))
ES = CATALOG.by_name("ESZ6")
NQ = CATALOG.by_name("NQZ6")
assert ES is not None
assert NQ is not None
T0 = 1_795_000_000_000
"""Epoch ms of the scripted sessions' start (2026-11-18 ~08:26 UTC)."""
LOOSE = Risk(max_position=10, max_order_qty=10, max_orders_per_second=1000.0,
             max_daily_loss=1_000_000.0)


class ManualClock:
    """Epoch milliseconds under test control; ``seconds`` for the exchange's timestamps."""

    def __init__(self, now_ms: int = T0) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def seconds(self) -> float:
        return self.now_ms / 1000


def book_levels(bids: list[tuple[float, float]], offers: list[tuple[float, float]]
                ) -> tuple[list[PriceLevel], list[PriceLevel]]:
    return ([PriceLevel(price=p, size=s) for p, s in bids],
            [PriceLevel(price=p, size=s) for p, s in offers])


class ExchangeGateway:
    """An ``OrderGateway`` trading against the simulator's matching engine in-process."""

    def __init__(self, exchange: Exchange, user_id: int) -> None:
        self.exchange = exchange
        self.user_id = user_id
        self.sent: list[tuple[str, Any]] = []
        self.changes: list[EntityChange] = []
        self.connected = True

    def send(self, endpoint: str, body: Any, result_type: Any) -> asyncio.Future[Any]:
        if not self.connected:
            raise ConnectionLost("exchange gateway: not connected")
        self.sent.append((endpoint, body))
        ex, user = self.exchange, self.user_id
        handlers: dict[str, Callable[[], tuple[Any, list[EntityChange]]]] = {
            "order/placeorder": lambda: ex.place_order(user, _as(body, PlaceOrder)),
            "order/placeoso": lambda: ex.place_oso(user, _as(body, PlaceOSO)),
            "order/placeoco": lambda: ex.place_oco(user, _as(body, PlaceOCO)),
            "order/modifyorder": lambda: ex.modify_order(user, _as(body, ModifyOrder)),
            "order/cancelorder": lambda: ex.cancel_order(user, _as(body, CancelOrder)),
            "order/liquidateposition": lambda: ex.liquidate_position(
                user, _as(body, LiquidatePosition)),
            "orderStrategy/startorderstrategy": lambda: ex.start_order_strategy(
                user, _as(body, StartOrderStrategy)),
            "orderStrategy/interruptorderstrategy": lambda: ex.interrupt_order_strategy(
                user, _as(body, InterruptOrderStrategy)),
        }
        result, changes = handlers[endpoint]()
        self.changes.extend(changes)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        failure = getattr(result, "failure_reason", None)
        if failure is not None:
            future.set_exception(OrderRejected(failure, getattr(result, "failure_text", None)
                                               or getattr(result, "error_text", None)))
        else:
            future.set_result(result)
        return future


def _as(body: Any, kind: type[Any]) -> Any:
    """The body as the server decodes it (wire round trip)."""
    return msgspec.json.decode(msgspec.json.encode(body), type=kind)


class LosingGateway:
    """Sends through ``inner`` but loses the answer of the next ``count`` requests: their
    futures fail with ``error`` (default ``ConnectionLost``). With ``executed`` the exchange
    handles them first (the answer died on the way back), else they never reach it."""

    def __init__(self, inner: ExchangeGateway) -> None:
        self.inner = inner
        self.count = 0
        self.executed = True
        self.error: TradovateError = ConnectionLost("the socket died before the answer")
        self.lost: list[tuple[str, Any]] = []

    def lose(self, count: int = 1, *, executed: bool = True,
             error: TradovateError | None = None) -> None:
        self.count, self.executed = count, executed
        if error is not None:
            self.error = error

    def send(self, endpoint: str, body: Any, result_type: Any) -> asyncio.Future[Any]:
        if self.count <= 0:
            return self.inner.send(endpoint, body, result_type)
        self.count -= 1
        self.lost.append((endpoint, body))
        if self.executed:
            answered = self.inner.send(endpoint, body, result_type)
            if answered.done() and not answered.cancelled():
                answered.exception()  # retrieved: this answer is the one that gets lost
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_exception(self.error)
        return future


class ScriptedGateway:
    """Records every request; the test resolves each future itself (or never does)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any, asyncio.Future[Any]]] = []
        self.connected = True

    def send(self, endpoint: str, body: Any, result_type: Any) -> asyncio.Future[Any]:
        if not self.connected:
            raise ConnectionLost("scripted gateway: not connected")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.sent.append((endpoint, body, future))
        return future

    def endpoints(self) -> list[str]:
        return [e for e, _, _ in self.sent]


class Harness:
    """The trading layer on a manual clock against an in-process exchange.

    The exchange has one user and account; ``books`` are what it fills against (set them
    with :meth:`set_book`). ``settle()`` lets answers arrive and delivers entity changes to
    the account store and dispatcher until nothing is left."""

    def __init__(self, strategy: Strategy, *, risk: Risk = LOOSE,
                 params: dict[str, Any] | None = None, symbols: tuple[str, ...] = ("ESZ6",),
                 trading_symbol: str | None = None, pause_on_error: bool = True,
                 gateway: Any = None, account_name: str = "DEMO1",
                 measure_hooks: bool = False, max_tickets: int = 10_000,
                 losing: bool = False) -> None:
        """``losing`` puts a :class:`LosingGateway` (``self.losing``) in front of the
        exchange."""
        self.clock = ManualClock()
        self.books = {inst.contract_id: Book(inst.contract_id, inst.tick_size)
                      for inst in CATALOG}
        self.exchange = Exchange(CATALOG, self.books, self.clock.seconds,
                                 reference=reference_entities())
        self.user_id = self.exchange.add_user("trader").id
        account = self.exchange.add_account(self.user_id, account_name, 100_000.0)
        self.account_id = account.id
        self.exchange_gateway = ExchangeGateway(self.exchange, self.user_id)
        self.losing = LosingGateway(self.exchange_gateway)
        self.gateway = gateway if gateway is not None else (
            self.losing if losing else self.exchange_gateway)
        self.market, self.market_writer = create_market_store(clock_ms=self.clock)
        self.account, self.account_writer = create_account_store(
            commission_per_side={"ES": 2.05, "NQ": 2.05})
        specs = [CATALOG.by_name(s) for s in symbols]
        self.contracts = ContractBook.from_entities(
            [i.contract for i in specs if i], [i.maturity for i in specs if i],
            [i.product for i in specs if i])
        self.account_writer.add_reference(self.contracts.reference_entities())
        self.alerts = AlertLog()
        self.risk = RiskManager(risk, self.account, self.market, self.alerts, self.clock)
        self.orders = OrderManager(self.gateway, self.account, self.risk, self.contracts,
                                   self.alerts, account_id=self.account_id,
                                   account_spec=account_name, clock=self.clock,
                                   id_prefix="test", max_tickets=max_tickets)
        self.strategy = strategy
        self.ctx = StrategyContext(market=self.market, account=self.account,
                                   orders=self.orders, contracts=self.contracts,
                                   alerts=self.alerts, account_id=self.account_id,
                                   params=params, clock=self.clock,
                                   trading_symbol=trading_symbol)
        self.dispatcher = Dispatcher(strategy, self.ctx, orders=self.orders, alerts=self.alerts,
                                     risk=self.risk,
                                     pause_on_error=pause_on_error, live_timers=False,
                                     measure_hooks=measure_hooks)
        self.connection = 0

    # ------------------------------------------------------------------ driving

    def set_book(self, symbol: str, bids: list[tuple[float, float]],
                 offers: list[tuple[float, float]], last: float | None = None) -> None:
        inst = CATALOG.by_name(symbol)
        assert inst is not None
        book = self.books[inst.contract_id]
        book.bids, book.offers = book_levels(bids, offers)
        book.last_price = last if last is not None else book.last_price

    def sync(self) -> None:
        """Apply the exchange's snapshot as a (re)connect would."""
        self.connection += 1
        report = self.account_writer.apply_snapshot(self.exchange.sync(self.user_id))
        self.dispatcher.sync(report, self.connection)

    def start(self) -> None:
        self.sync()
        self.dispatcher.start()

    async def advance(self, to_ms: int) -> None:
        """Move the clock to ``to_ms``, firing every timer due on the way at its time (and
        settling what each one did before the next)."""
        while True:
            due = self.dispatcher.next_timer_ms
            if due is None or due > to_ms:
                break
            self.clock.now_ms = max(self.clock.now_ms, due)
            self.dispatcher.run_timers(due)
            await self.settle()
        self.clock.now_ms = max(self.clock.now_ms, to_ms)

    def execute(self, changes: list[EntityChange]) -> None:
        """Entity changes the exchange made outside the order manager's requests (another
        application, a late execution): delivered by the next :meth:`settle`."""
        self.exchange_gateway.changes.extend(changes)

    def feed_md(self, event: Any) -> None:
        self.dispatcher.market(self.market_writer.apply(event))

    async def settle(self) -> None:
        """Let futures resolve, then deliver the exchange's entity changes one ``props``
        event at a time (wire round trip), until nothing is pending."""
        for _ in range(1000):
            await asyncio.sleep(0)
            changes = self.exchange_gateway.changes
            if not changes:
                await asyncio.sleep(0)
                if not self.exchange_gateway.changes:
                    return
                continue
            change = changes.pop(0)
            raw = msgspec.json.encode(change.entity)
            event = EntityEvent(change.entity_type, change.event_type,
                                decode_entities(change.entity_type, raw))
            self.dispatcher.account(self.account_writer.apply(event))
        raise AssertionError("settle did not converge")


# ----------------------------------------------------------------------------- md frames

TICK = 0.25
CHARTS = {ES.contract_id: (11, 12), NQ.contract_id: (21, 22)}
"""(historical id, real-time id) of each contract's tick chart."""


def _wire(event: Any) -> Any:
    """Through the wire and back: the recorded frame as the md reader decodes it."""
    frame = decode_frame(encode_messages([event]))
    assert isinstance(frame, Messages)
    (message,) = frame.items
    return message


def dom_frame(contract_id: int, bids: list[tuple[float, float]],
              offers: list[tuple[float, float]]) -> Any:
    return _wire(MarketDataEvent(MarketData(doms=[Dom(
        contract_id=contract_id, timestamp="2026-11-18T08:26:40Z",
        bids=[PriceLevel(price=p, size=s) for p, s in bids],
        offers=[PriceLevel(price=p, size=s) for p, s in offers])])))


def quote_frame(contract_id: int, bid: float, ask: float) -> Any:
    return _wire(MarketDataEvent(MarketData(quotes=[Quote(
        contract_id=contract_id, timestamp="2026-11-18T08:26:40Z",
        entries=QuoteEntries(bid=QuoteEntry(price=bid, size=10),
                             offer=QuoteEntry(price=ask, size=10)))])))


def print_frame(contract_id: int, *prints: tuple[int, int, float, float, str]) -> Any:
    """Tick chart packet of ``(tick id, ms, price, size, side)``; the side is encoded the way
    the exchange shows it: a buy prints at the ask, a sell at the bid, an Unknown inside a
    two-tick spread."""
    ticks = []
    for ident, at, price, size, side in prints:
        bid, ask = {"Buy": (price - TICK, price), "Sell": (price, price + TICK),
                    "Unknown": (price - TICK, price + TICK)}[side]
        ticks.append(Tick(ident, at, round(price / TICK), price, size, bid, 5.0, ask, 5.0))
    packet = pack_ticks(CHARTS[contract_id][1], ticks, TICK, 20261118)
    return _wire(ChartEvent(ChartData(charts=[packet])))


RESOLVER_GRACE = 0.2
"""The outcome resolver's grace in these rigs (seconds; shipped: 10)."""


@contextlib.asynccontextmanager
async def resolving(h: Harness, server: ServerCommands, **timings: float
                    ) -> AsyncIterator[OutcomeResolver]:
    """The outcome resolver running on ``h``'s order manager, reading ``server``, with the
    rigs' short grace and back-off unless ``timings`` say otherwise."""
    resolver = OutcomeResolver(h.orders, server, h.alerts,
                               **{"grace": RESOLVER_GRACE, "backoff": 0.05, **timings})
    task = asyncio.create_task(resolver.run())
    try:
        yield resolver
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def until(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    """Wait, at most ``limit`` seconds, until ``predicate`` holds."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the resolver's sleeps have no event to await
            await asyncio.sleep(0.01)
