"""The dispatcher: store changes → strategy hooks, with exceptions isolated.

The md reader calls :meth:`Dispatcher.market` with what ``MarketDataWriter.apply`` returned;
the account reader calls :meth:`Dispatcher.account` with what ``AccountWriter.apply`` returned
and :meth:`Dispatcher.sync` with each snapshot's ``SyncReport``. The order manager always sees
account data first (so tickets are settled before the strategy looks), then the strategy's
hooks run, in the reader's call stack: an order decided in ``on_quote`` is written on the
trading socket before ``market`` returns.

A hook that raises never reaches the reader: the exception is logged, an urgent
``strategy.exception`` alert goes out and, with ``pause_on_error``, the strategy is paused —
no hooks until :meth:`Dispatcher.resume` — while orders, risk watches and the stores carry on.
What a paused strategy misses of its account is kept for it: every fill (each delivered
exactly once) and the latest state of each order, position and ticket, delivered by
:meth:`Dispatcher.resume` before anything newer. Market data is not kept (the stores hold the
current picture).
Hooks are only called between :meth:`start` and :meth:`stop`; a market hook the strategy
does not define by the end of ``on_start`` (the base class's no-op) is not called at all.

Timers: ``ctx.wake_at(ms)`` and the optional periodic timer call ``on_timer(ms)``. Due timers
fire before each dispatched batch (so replays that drive the clock stay deterministic) and,
with ``live_timers``, from the event loop at their time. A replay advancing a simulated clock
calls :meth:`run_timers` with each :attr:`next_timer_ms` before later events.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from ..alerts import Alert, AlertSink, Severity
from ..orders.manager import OrderManager
from ..orders.risk import RiskManager
from ..orders.tickets import OrderTicket, TicketState
from ..protocol.models import Position
from ..stores import (
    AccountChange,
    BarUpdated,
    DomBook,
    MarketChange,
    NewFill,
    OrderState,
    QuoteState,
    SyncReport,
    TradesAdded,
)
from .base import Strategy
from .context import StrategyContext
from .params import strategy_params

_log = logging.getLogger("tradovate_api.strategy.dispatch")

MAX_TIMERS = 10_000
"""Pending ``wake_at`` times kept at most (a strategy scheduling without bound is a bug)."""
_SILENT_TICKET_STATES = frozenset({TicketState.PENDING, TicketState.REFUSED})
"""States a strategy learns from the order method's return value, not from ``on_ticket``."""


class HookStats:
    """Calls and exceptions of one hook, and the time spent in it (ns) when the dispatcher
    measures hooks (``measure_hooks``; otherwise ``total_ns`` and ``max_ns`` stay 0)."""

    __slots__ = ("calls", "errors", "max_ns", "total_ns")

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.total_ns = 0
        self.max_ns = 0

    @property
    def mean_ns(self) -> float:
        return self.total_ns / self.calls if self.calls else 0.0

    def __repr__(self) -> str:
        return (f"HookStats(calls={self.calls}, errors={self.errors}, "
                f"mean_ns={self.mean_ns:.0f}, max_ns={self.max_ns})")


_HOOKS = ("on_start", "on_quote", "on_dom", "on_trade", "on_bar", "on_order", "on_fill",
          "on_position", "on_ticket", "on_timer", "on_stop")
_MARKET_HOOKS: tuple[tuple[type, str], ...] = (
    (QuoteState, "on_quote"), (DomBook, "on_dom"), (TradesAdded, "on_trade"),
    (BarUpdated, "on_bar"))


def _overridden(strategy: Strategy, hooks: Iterable[tuple[type, str]]
                ) -> dict[type, tuple[str, Callable[[Any], None]]]:
    """The hooks ``strategy`` defines itself: calling the base class's no-op for every market
    event of a strategy that does not listen to it is pure cost on the reader."""
    table = {}
    for kind, name in hooks:
        hook = getattr(strategy, name)
        if getattr(hook, "__func__", None) is not getattr(Strategy, name):
            table[kind] = (name, hook)
    return table


class Dispatcher:
    """Feeds a strategy (see the module doc). ``orders`` is the order manager the context
    sends to (the dispatcher hands it account data first and hears of its tickets);
    ``alerts`` receives the strategy's exceptions; ``risk`` (optional) is evaluated after
    fills and snapshots so a daily-loss breach halts at once. ``pause_on_error`` is settings
    ``trading.pause_on_error``; ``measure_hooks`` (``trading.measure_hooks``) times every
    hook call: two clock reads per call, off by default because the md reader calls a hook
    for every change. ``feeds_orders=False``: the caller hands account data to the order
    manager and the risk manager itself, once for several dispatchers on one account (the
    runtime's many-strategy feed). ``label`` names the strategy in logs and alerts (default:
    its ``name``; the runtime gives ``name@account`` when a run has several). The context's
    ``params``
    become the strategy's typed ``Params`` here (:func:`~.params.strategy_params`)."""

    def __init__(self, strategy: Strategy, ctx: StrategyContext, *, orders: OrderManager,
                 alerts: AlertSink, risk: RiskManager | None = None,
                 pause_on_error: bool = True, timer_interval_ms: int | None = None,
                 live_timers: bool = True, measure_hooks: bool = False,
                 feeds_orders: bool = True, label: str | None = None) -> None:
        if timer_interval_ms is not None and timer_interval_ms <= 0:
            raise ValueError("timer_interval_ms must be positive")
        self.strategy = strategy
        self.label = label or strategy.name
        self.ctx = ctx
        ctx.params = strategy_params(strategy, ctx.params)  # ConfigError names a bad key
        self._orders = orders
        self._risk = risk
        self._feeds_orders = feeds_orders
        self._alerts = alerts
        self.pause_on_error = pause_on_error
        self.timer_interval_ms = timer_interval_ms
        self._live_timers = live_timers
        self._running = False
        self._paused = False
        self.stats: dict[str, HookStats] = {name: HookStats() for name in _HOOKS}
        """Per-hook counters (calls, exceptions, time)."""
        self.measure_hooks = measure_hooks
        self._call = self._call_timed if measure_hooks else self._call_plain
        self._market_hooks: dict[type, tuple[str, Callable[[Any], None]]] = {}
        """Change type → (hook name, hook) for the market hooks the strategy overrides."""
        self._missed = _Missed()
        self._timers: list[tuple[int, bool]] = []
        self._timer_set: set[int] = set()
        self._handle: asyncio.TimerHandle | None = None
        self._armed_ms: int | None = None
        self._orders.add_listener(self._ticket_changed)

    # ------------------------------------------------------------------ life cycle

    @property
    def running(self) -> bool:
        return self._running

    @property
    def paused(self) -> bool:
        """True after a hook raised with ``pause_on_error``: no hooks until resumed."""
        return self._paused

    @property
    def missed(self) -> int:
        """Account updates kept for the paused strategy (fills, orders, positions, tickets)."""
        return len(self._missed)

    def resume(self) -> None:
        """Call the hooks again: first with what the strategy missed while paused (orders,
        then fills in arrival order, then positions, then tickets), then with new events.
        A hook raising during that delivery pauses it again; the rest stays kept."""
        if not self._paused:
            return
        _log.warning("strategy %s resumed; delivering %d missed account updates",
                     self.label, len(self._missed))
        self._paused = False
        if self._running:
            self._deliver_missed()

    def _deliver_missed(self) -> None:
        missed, strategy = self._missed, self.strategy
        while not self._paused:
            item = missed.pop()
            if item is None:
                return
            hook, change = item
            self._call(hook, getattr(strategy, hook), change)

    def pause(self, reason: str = "paused") -> None:
        """Stop calling hooks (orders, risk and stores carry on)."""
        if not self._paused:
            _log.warning("strategy %s paused: %s", self.label, reason)
        self._paused = True

    def start(self) -> None:
        """Give the strategy its context and call ``on_start`` (after the first account
        snapshot). An exception here propagates: a strategy that cannot start ends the run
        with its error."""
        if self._running:
            return
        self.strategy.ctx = self.ctx
        self.ctx.bind_timer(self.wake_at)
        started = time.perf_counter_ns()
        stats = self.stats["on_start"]
        try:
            self.strategy.on_start()
        except Exception:
            stats.errors += 1
            _log.exception("strategy %s failed to start", self.label)
            raise
        finally:
            stats.calls += 1
            stats.total_ns += time.perf_counter_ns() - started
        self._market_hooks = _overridden(self.strategy, _MARKET_HOOKS)
        self._running = True
        if self.timer_interval_ms is not None:
            self._schedule(self.ctx.now_ms() + self.timer_interval_ms, periodic=True)

    def stop(self) -> None:
        """Call ``on_stop`` (isolated, even when paused) and stop dispatching."""
        if not self._running:
            return
        self._running = False
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._call("on_stop", self.strategy.on_stop, None)

    # ------------------------------------------------------------------ events

    def market(self, changes: Iterable[MarketChange]) -> None:
        """Changes ``MarketDataWriter.apply`` returned (the md reader's hot path)."""
        if not self._running or self._paused:
            return
        if self._timers and self._timers[0][0] <= self.ctx.now_ms():
            self.run_timers(self.ctx.now_ms())
        hooks = self._market_hooks
        call = self._call
        for change in changes:
            hook = hooks.get(type(change))
            if hook is None:
                continue
            call(hook[0], hook[1], change)
            if self._paused:
                return

    def account(self, changes: Iterable[AccountChange]) -> None:
        """Changes ``AccountWriter.apply`` returned (one ``props`` event)."""
        changes = changes if isinstance(changes, list) else list(changes)
        if self._feeds_orders:
            self._orders.on_account(changes)
            if self._risk is not None and any(type(c) is NewFill for c in changes):
                self._risk.evaluate()
        if not self._running:
            return
        if self._paused:
            self._missed.keep(changes)
            return
        if self._timers and self._timers[0][0] <= self.ctx.now_ms():
            self.run_timers(self.ctx.now_ms())
        strategy = self.strategy
        for index, change in enumerate(changes):
            kind = type(change)
            if kind is OrderState:
                self._call("on_order", strategy.on_order, change)
            elif kind is NewFill:
                self._call("on_fill", strategy.on_fill, change)
            elif kind is Position:
                self._call("on_position", strategy.on_position, change)
            if self._paused:
                self._missed.keep(changes[index + 1:])
                return

    def sync(self, report: SyncReport, connection: int) -> None:
        """A snapshot was applied (``connection`` numbers the trading connection). Lost
        order answers are settled first; then the strategy hears of every order, fill and
        position that changed while disconnected (each fill exactly once)."""
        if self._feeds_orders:
            self._orders.on_sync(report, connection)
            if self._risk is not None:
                self._risk.evaluate()
        if not self._running:
            return
        changes: list[AccountChange] = [c.state for c in report.orders if c.state is not None]
        changes.extend(report.new_fills)
        changes.extend(d.after for d in report.positions if d.after is not None)
        if self._paused:
            self._missed.keep(changes)
            return
        self._missed.keep(changes)
        self._deliver_missed()

    def _ticket_changed(self, ticket: OrderTicket) -> None:
        if not self._running or ticket.state in _SILENT_TICKET_STATES:
            return
        if self._paused:
            self._missed.keep_ticket(ticket)
            return
        self._call("on_ticket", self.strategy.on_ticket, ticket)

    # ------------------------------------------------------------------ timers

    def wake_at(self, ms: int) -> None:
        """Schedule ``on_timer(ms)`` (duplicates of a pending time are ignored)."""
        self._schedule(ms, periodic=False)

    @property
    def next_timer_ms(self) -> int | None:
        return self._timers[0][0] if self._timers else None

    def run_timers(self, now_ms: int) -> None:
        """Fire every timer due at ``now_ms``, oldest first, each with its own time."""
        timers = self._timers
        while timers and timers[0][0] <= now_ms and self._running and not self._paused:
            ms, periodic = heapq.heappop(timers)
            if periodic:
                assert self.timer_interval_ms is not None
                self._schedule(max(ms + self.timer_interval_ms, now_ms + 1), periodic=True)
            else:
                self._timer_set.discard(ms)
            self._call("on_timer", self.strategy.on_timer, ms)
        self._arm()

    def _schedule(self, ms: int, *, periodic: bool) -> None:
        if not periodic:
            if ms in self._timer_set:
                return
            if len(self._timers) >= MAX_TIMERS:
                _log.error("strategy %s: more than %d timers pending; wake_at(%d) dropped",
                           self.label, MAX_TIMERS, ms)
                return
            self._timer_set.add(ms)
        heapq.heappush(self._timers, (ms, periodic))
        self._arm()

    def _arm(self) -> None:
        """Keep one event-loop timer armed for the earliest pending time (live mode)."""
        if not self._live_timers or not self._running:
            return
        earliest = self._timers[0][0] if self._timers else None
        if earliest == self._armed_ms:
            return
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._armed_ms = earliest
        if earliest is None:
            return
        delay = max(earliest - self.ctx.now_ms(), 0) / 1000.0
        self._handle = asyncio.get_running_loop().call_later(delay, self._on_loop_timer)

    def _on_loop_timer(self) -> None:
        self._handle = None
        self._armed_ms = None
        now = self.ctx.now_ms()
        if self._timers and self._timers[0][0] > now:
            self._arm()  # the clock lags the loop's a little: wait for it
            return
        self.run_timers(now)

    # ------------------------------------------------------------------ isolation

    def _call_plain(self, name: str, hook: Callable[[Any], None] | Callable[[], None],
                    arg: Any) -> None:
        stats = self.stats[name]
        stats.calls += 1
        try:
            if arg is None:
                hook()  # type: ignore[call-arg]
            else:
                hook(arg)  # type: ignore[call-arg]
        except Exception as exc:
            stats.errors += 1
            self._failed(name, exc)

    def _call_timed(self, name: str, hook: Callable[[Any], None] | Callable[[], None],
                    arg: Any) -> None:
        started = time.perf_counter_ns()
        try:
            self._call_plain(name, hook, arg)
        finally:
            elapsed = time.perf_counter_ns() - started
            stats = self.stats[name]
            stats.total_ns += elapsed
            if elapsed > stats.max_ns:
                stats.max_ns = elapsed

    def _failed(self, hook: str, exc: Exception) -> None:
        name = self.label
        pausing = self.pause_on_error and hook != "on_stop"
        _log.error("strategy %s.%s raised %s: %s%s", name, hook, type(exc).__name__, exc,
                   "; strategy paused" if pausing else "", exc_info=exc)
        where = "".join(traceback.format_exception(exc, limit=-8))[-3000:]
        self._alerts.emit(Alert(
            Severity.URGENT, "strategy.exception",
            f"Strategy {name}.{hook} raised {type(exc).__name__}: {exc}"[:300],
            ("The strategy is paused (no more events) until resumed; orders, risk limits "
             "and positions are still managed.\n\n" if pausing else
             "The strategy keeps receiving events.\n\n") + where))
        if pausing:
            self._paused = True


class _Missed:
    """What a paused strategy has not seen: fills in arrival order (each once), the latest
    state of each order, position and ticket. Popped in delivery order: orders, fills,
    positions, tickets."""

    __slots__ = ("fills", "orders", "positions", "tickets")

    def __init__(self) -> None:
        self.orders: dict[int, OrderState] = {}
        self.fills: dict[int, NewFill] = {}
        self.positions: dict[tuple[int, int], Position] = {}
        self.tickets: dict[str, OrderTicket] = {}

    def __len__(self) -> int:
        return len(self.orders) + len(self.fills) + len(self.positions) + len(self.tickets)

    def keep(self, changes: Iterable[AccountChange]) -> None:
        for change in changes:
            kind = type(change)
            if kind is OrderState:
                self.orders.pop(change.id, None)  # type: ignore[union-attr]
                self.orders[change.id] = change  # type: ignore[union-attr,assignment]
            elif kind is NewFill:
                self.fills.setdefault(change.fill.id, change)  # type: ignore[union-attr,arg-type]
            elif kind is Position:
                key = (change.account_id, change.contract_id)  # type: ignore[union-attr]
                self.positions.pop(key, None)
                self.positions[key] = change  # type: ignore[assignment]

    def keep_ticket(self, ticket: OrderTicket) -> None:
        self.tickets.pop(ticket.cl_ord_id, None)
        self.tickets[ticket.cl_ord_id] = ticket

    def pop(self) -> tuple[str, Any] | None:
        """The next ``(hook name, argument)`` to deliver, or ``None`` when nothing is left."""
        if self.orders:
            return "on_order", self.orders.pop(next(iter(self.orders)))
        if self.fills:
            return "on_fill", self.fills.pop(next(iter(self.fills)))
        if self.positions:
            return "on_position", self.positions.pop(next(iter(self.positions)))
        if self.tickets:
            return "on_ticket", self.tickets.pop(next(iter(self.tickets)))
        return None
