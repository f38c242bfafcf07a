"""Replay a market-data recording through the live code path with simulated execution.

Each recorded frame goes through the protocol core's :func:`decode_frame`, the market store's
single writer and the strategy's :class:`~tradovate_api.strategy.dispatch.Dispatcher`,
exactly as on the md socket; orders go through the real
:class:`~tradovate_api.orders.OrderManager` and :class:`~tradovate_api.orders.risk.RiskManager`
to a :class:`~.execution.ReplayGateway`, whose answers and account events come back through
the real account store. The clock is the recording's: the result depends only on the
recording and the configuration, so two runs make the same decisions and fills.

The entries may also come from elsewhere than recording files (``entries``): frames already
decoded into :class:`~tradovate_api.protocol.Messages`, with the notes a recording has —
how a DBN file replays without a recording (:mod:`tradovate_api.research.dbn_replay`).

Between frames the replay runs, in time order, whatever falls due: requests reaching the
simulated exchange, answers and fills reaching the client, strategy timers
(``ctx.wake_at``). ``speed`` ``None`` runs as fast as possible; ``1.0`` paces frames at their
recorded spacing (``2.0`` twice as fast).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any, TypeAlias

import msgspec

from ..alerts import AlertLog
from ..orders.contracts import ContractBook
from ..orders.manager import OrderManager
from ..orders.risk import RiskManager
from ..orders.tickets import OrderTicket
from ..protocol import ChartEvent, EntityEvent, MarketDataEvent, Messages, decode_frame
from ..recording import (
    ChartNote,
    ConnectionNote,
    Entry,
    RecordingError,
    ReferenceNote,
    StrategyNote,
    in_effect_order,
    mark_history,
    read_entries,
)
from ..reports import Point, SessionHistory
from ..settings import Risk
from ..simulator.engine import Exchange
from ..simulator.instruments import catalog_from_contracts
from ..stores import NewFill, create_account_store, create_market_store
from ..strategy import Strategy
from ..strategy.context import StrategyContext
from ..strategy.dispatch import Dispatcher
from .clock import ReplayClock
from .execution import RecordedBooks, ReplayGateway
from .results import FillRecord, ReplayResult, ReplayStats, build_result, equity_now

ACCOUNT_NAME = "REPLAY"
REPLAY_USER = "replay"
_START_LOOKAHEAD = 100_000
"""Frames searched for the note saying when the live strategy started."""
_SAMPLE_MS = 1_000
"""Mark prices are sampled this often (recording time) for the report's charts."""


class ReplayConfig(msgspec.Struct, frozen=True, kw_only=True):
    """How a replay executes orders and paces itself."""

    speed: float | None = None
    """``None``: as fast as possible; ``1.0``: recorded pace; ``2.0``: twice as fast."""
    latency_ms: float = 0.0
    """One way: a request reaches the exchange this long after it is sent, and its answer
    and account events come back this long after that."""
    slippage_ticks: int = 0
    """Marketable orders fill this many ticks worse than the recorded book."""
    commission_per_side: float = 0.0
    """Fee per contract per fill side for products not in ``commissions``."""
    commissions: dict[str, float] = msgspec.field(default_factory=dict)
    """Product (``"ES"``) → fee per contract per side."""
    balance: float = 50_000.0
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    """The strategy's parameters (settings ``[strategy]``)."""
    risk: Risk = msgspec.field(default_factory=Risk)
    trading_symbol: str | None = None
    """The contract to trade; default: the first recorded contract."""
    drain_ms: int = 5_000
    """After the last frame, answers and fills due within this long are still delivered."""

    def __post_init__(self) -> None:
        if self.speed is not None and self.speed <= 0:
            raise ValueError("speed must be positive (or None for as fast as possible)")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if self.slippage_ticks < 0:
            raise ValueError("slippage_ticks must not be negative")
        if self.commission_per_side < 0 or any(v < 0 for v in self.commissions.values()):
            raise ValueError("commissions must not be negative")

    def commission(self, product: str) -> float:
        return self.commissions.get(product, self.commission_per_side)


ReplayEntry: TypeAlias = Entry | tuple[int, Messages]
"""A recording's entry, or a frame already decoded (entries given to :class:`Replay`)."""


def _read_ahead(entries: Iterator[ReplayEntry]) -> tuple[ContractBook, list[ReplayEntry],
                                                         bool]:
    """The contract book from the reference notes before the first frame, and whether the
    recording says when the strategy started (looked for in the first
    :data:`_START_LOOKAHEAD` frames); returns the entries read ahead too."""
    ahead: list[ReplayEntry] = []
    contracts: dict[int, Any] = {}
    maturities: dict[int, Any] = {}
    products: dict[int, Any] = {}
    frames = 0
    started = False
    for entry in entries:
        ahead.append(entry)
        item = entry[1]
        if type(item) is bytes or type(item) is Messages:
            frames += 1
            if frames > _START_LOOKAHEAD:
                break
        elif isinstance(item, ReferenceNote) and not frames:
            contracts.update((c.id, c) for c in item.contracts)
            maturities.update((m.id, m) for m in item.maturities)
            products.update((p.id, p) for p in item.products)
        elif isinstance(item, StrategyNote) and item.event == "started":
            started = True
            break
    if not contracts:
        raise RecordingError("the recording has no contract reference data (record through "
                             "the trading app, which notes the contracts it subscribes)")
    book = ContractBook.from_entities(contracts.values(), maturities.values(),
                                      products.values())
    return book, ahead, started


class Replay:
    """One replay run of ``strategy`` over recording ``files`` (in order), or over
    ``entries`` taken from ``files`` by other means (decoded frames and notes, in the order
    they take effect)."""

    def __init__(self, files: Iterable[str | Path], strategy: Strategy,
                 config: ReplayConfig | None = None, *,
                 entries: Iterable[ReplayEntry] | None = None) -> None:
        self.files = [Path(f) for f in files]
        if not self.files:
            raise RecordingError("no recording files given")
        self.entries = entries
        self.strategy = strategy
        self.config = config or ReplayConfig()
        self.clock = ReplayClock()
        self.alerts = AlertLog()
        self.fills: list[FillRecord] = []
        self.tickets: dict[str, OrderTicket] = {}
        self.stats = ReplayStats()

    async def run(self) -> ReplayResult:
        config, clock = self.config, self.clock
        entries: Iterator[ReplayEntry] = (
            iter(self.entries) if self.entries is not None
            else mark_history(in_effect_order(read_entries(self.files))))
        contracts, ahead, start_noted = _read_ahead(entries)
        first_ts = next((ts for ts, item in ahead
                         if type(item) is bytes or type(item) is Messages), None)
        clock.now_ns = first_ts if first_ts is not None else (ahead[0][0] if ahead else 0)

        market, md_writer = create_market_store(clock_ms=clock.now_ms)
        account, account_writer = create_account_store(
            commission_per_side={spec.product_name: config.commission(spec.product_name)
                                 for spec in contracts},
            default_commission_per_side=config.commission_per_side)
        account_writer.add_reference(contracts.reference_entities())
        books = RecordedBooks(market, {spec.contract_id: spec.tick_size for spec in contracts},
                              config.slippage_ticks)
        exchange = Exchange(catalog_from_contracts(contracts, config.commission), books.books,
                            clock.seconds)
        user = exchange.add_user(REPLAY_USER)
        acct = exchange.add_account(user.id, ACCOUNT_NAME, config.balance)
        gateway = ReplayGateway(exchange, books, clock, user_id=user.id,
                                latency_ms=config.latency_ms)
        risk = RiskManager(config.risk, account, market, self.alerts, clock.now_ms,
                           account_id=acct.id)
        orders = OrderManager(gateway, account, risk, contracts, self.alerts,
                              account_id=acct.id, account_spec=acct.name, clock=clock.now_ms,
                              id_prefix="replay")
        orders.add_listener(self._ticket)
        ctx = StrategyContext(market=market, account=account, orders=orders,
                              contracts=contracts, alerts=self.alerts, account_id=acct.id,
                              params=config.params, clock=clock.now_ms,
                              log=logging.getLogger(f"tradovate_api.replay.{self.strategy.name}"),
                              trading_symbol=config.trading_symbol)
        dispatcher = Dispatcher(self.strategy, ctx, orders=orders, alerts=self.alerts,
                                risk=risk, live_timers=False)
        history = SessionHistory(max_points=1_000_000)

        def sample_equity() -> None:
            value = equity_now(account, market)
            if value is not None:
                self.stats.equity.append(Point(clock.now_ms(), value))

        def apply_account(events: list[EntityEvent]) -> None:
            for event in events:
                changes = account_writer.apply(event)
                filled = False
                for change in changes:
                    if type(change) is NewFill:
                        self._fill(change, clock.now_ms())
                        filled = True
                dispatcher.account(changes)
                if filled:
                    sample_equity()

        dispatcher.sync(account_writer.apply_snapshot(exchange.sync(user.id)), 1)
        started = not start_noted
        if started:  # else where the recording says the live strategy started
            dispatcher.start()

        stats = self.stats
        mapped: set[int] = set()
        pace_start = time.monotonic()
        wall_start = time.perf_counter()
        next_sample_ns = clock.now_ns
        sample_ns = _SAMPLE_MS * 1_000_000
        apply_md = md_writer.apply
        market_hook = dispatcher.market
        frames = events = 0
        speed = config.speed
        pace_from = first_ts or 0

        async def settle(until_ns: int) -> None:
            """Run requests, answers and timers due by ``until_ns`` in time order."""
            while True:
                due_gw = gateway.next_due_ns
                due_timer = dispatcher.next_timer_ms
                timer_ns = None if due_timer is None else due_timer * 1_000_000
                if due_gw is not None and due_gw <= until_ns and (
                        timer_ns is None or due_gw <= timer_ns):
                    if gateway.run_due(due_gw, apply_account):
                        await asyncio.sleep(0)  # the order manager's callbacks
                        await asyncio.sleep(0)
                elif timer_ns is not None and timer_ns <= until_ns:
                    clock.advance(timer_ns)
                    dispatcher.run_timers(clock.now_ms())
                else:
                    return

        for ts, item in chain(ahead, entries):
            item_kind = type(item)
            if item_kind is not bytes and item_kind is not Messages:
                if not started and isinstance(item, StrategyNote) and item.event == "started":
                    dispatcher.start()
                    started = True
                else:
                    self._note(item, md_writer, mapped)
                continue
            due_gw = gateway.next_due_ns  # settle only when something falls due
            due_timer = dispatcher.next_timer_ms
            if (due_gw is not None and due_gw <= ts) or (
                    due_timer is not None and due_timer * 1_000_000 <= ts):
                await settle(ts)
            if speed is not None:
                delay = pace_start + (ts - pace_from) / 1e9 / speed - time.monotonic()
                if delay > 0.001:
                    await asyncio.sleep(delay)
            if ts > clock.now_ns:
                clock.now_ns = ts
            frames += 1
            frame = decode_frame(item) if item_kind is bytes else item  # type: ignore[arg-type]
            if type(frame) is not Messages:
                continue
            # Orders start working only in ``settle``, so once per frame is enough.
            working = gateway.working
            for message in frame.items:
                kind = type(message)
                if kind is not MarketDataEvent and kind is not ChartEvent:
                    continue
                events += 1
                changes = apply_md(message)  # type: ignore[arg-type]
                if changes and started:
                    if working:
                        gateway.on_market(changes)
                    market_hook(changes)
            if clock.now_ns >= next_sample_ns:
                history.sample(market, clock.now_ms())
                sample_equity()
                next_sample_ns = clock.now_ns + sample_ns
        stats.frames, stats.md_events = frames, events
        last_ns = clock.now_ns
        await settle(last_ns + config.drain_ms * 1_000_000)
        dispatcher.stop()
        sample_equity()
        stats.wall_seconds = time.perf_counter() - wall_start
        stats.first_ns = first_ts or 0
        stats.last_ns = last_ns
        stats.alerts = [a.key for a in self.alerts.recent]
        return build_result(account, market, history, self.tickets.values(), self.fills, stats,
                            now_ms=clock.now_ms())

    def _note(self, item: Any, md_writer: Any, mapped: set[int]) -> None:
        if isinstance(item, ChartNote):
            md_writer.register_chart(item.contract_id, item.historical_id, item.realtime_id,
                                     series=item.series,
                                     history_first=bool(item.history_first))
            mapped.update(i for i in (item.historical_id, item.realtime_id) if i is not None)
        elif isinstance(item, ConnectionNote) and item.event == "connected":
            md_writer.clear_books()
            for chart_id in mapped:
                md_writer.unregister_chart(chart_id)
            mapped.clear()
        elif isinstance(item, ReferenceNote):
            self.stats.late_reference_notes += 1

    def _ticket(self, ticket: OrderTicket) -> None:
        self.tickets[ticket.cl_ord_id] = ticket

    def _fill(self, change: NewFill, now_ms: int) -> None:
        fill = change.fill
        self.fills.append(FillRecord(now_ms, fill.id, fill.order_id, fill.contract_id,
                                     fill.action, fill.qty, fill.price, fill.timestamp))


async def run_replay(files: Iterable[str | Path], strategy: Strategy,
                     config: ReplayConfig | None = None, *,
                     entries: Iterable[ReplayEntry] | None = None) -> ReplayResult:
    """Replay ``files`` (or ``entries`` from them) with ``strategy``; see :class:`Replay`."""
    return await Replay(files, strategy, config, entries=entries).run()
