"""The two readers' callbacks: the only writers of the stores, and the start of the order path.

Each session calls one callback per decoded event on its reader: the md reader
(:meth:`Readers.on_md`) is the market store's only writer, the account reader
(:meth:`Readers.on_account`) the account store's — one per login when the run has several
(:meth:`Readers.for_login`), each applying its login's snapshots to its login's accounts
only. Each applies the event, tells the
observers, then hands the changes to the strategy feed (each account's orders first, then the
strategies). This is
the hot path — md frame → store → strategy → order on the wire — so the callbacks are bound
methods called directly by the sessions, with no layer between, and do nothing per event that
can wait.

What a reader cannot trust (an unreadable money entity, dropped input, a reader failing
half-way, an incomplete snapshot) goes to the :class:`~.resync.ResyncGuard`; the order
listener (:meth:`Readers.on_ticket`) measures tick-to-order (md event delivered → frame
written).

Each order's latency breakdown starts here: while the strategy handles a market-data event,
the md reader leaves the frame's arrival and the event's delivery in the order manager's
:class:`~tradovate_api.orders.cause.MarketCause` (two int stores per event, cleared after),
so every ticket created meanwhile carries them; the account reader stamps an order's first
fill on its ticket (``filled_ns``) and tells the observers (the journal stores it).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from ..alerts import Alert, AlertSink, Severity
from ..client import Connection, MarketDataSession, SyncSnapshot
from ..orders import ContractBook, OrderTicket, TicketState
from ..orders.cause import MarketCause
from ..orders.tickets import set_filled_ns
from ..protocol import MONEY_ENTITY_TYPES, ChartEvent, EntityEvent, MarketDataEvent
from ..protocol.messages import Message, UnknownEntity
from ..stores import AccountWriter, MarketDataWriter, NewFill, SyncReport
from .changed import Changed
from .metrics import RuntimeMetrics
from .observer import AppObserver, notify
from .resync import ResyncGuard
from .strategy_feed import StrategyFeed
from .throttled_alerts import ThrottledAlerts

_log = logging.getLogger("tradovate_api.runtime.readers")

READER_ALERT_SECONDS = 300.0
"""At most one alert per kind of reader problem this often."""


@dataclass(slots=True)
class _Parts:
    """What the readers hand events to, made once the app is wired."""

    md: MarketDataSession
    feed: StrategyFeed
    guard: ResyncGuard
    contracts: ContractBook
    cause: MarketCause
    tickets: Mapping[str, OrderTicket]


class Readers:
    """The readers' callbacks over the stores' writers. ``observers`` is the app's list (told
    what the readers apply); ``account_changed`` is notified after every account event
    applied. The sessions may call in only after :meth:`attach`."""

    def __init__(self, md_writer: MarketDataWriter, account_writer: AccountWriter,
                 metrics: RuntimeMetrics, observers: list[AppObserver],
                 account_changed: Changed, alerts: AlertSink) -> None:
        self._md_writer = md_writer
        self._account_writer = account_writer
        self._metrics = metrics
        self._observers = observers
        self._account_changed = account_changed
        self._alerts = alerts
        self._p: _Parts | None = None
        self._md_connection = 0
        self._mapped_charts: set[int] = set()
        self._md_socket: Connection | None = None
        self._throttled: ThrottledAlerts | None = None
        self.scope: frozenset[int] | None = None
        """The ids of the accounts of this reader's login, when the run has several logins:
        its snapshots replace only those (and the accounts the snapshot lists); ``None``: a
        snapshot is the whole picture."""
        self.snapshots = 0
        """Snapshots applied (the run starts once every login's first one is)."""
        self.account_event_ns = 0
        """``perf_counter_ns`` when the account reader took its current event, before the
        store applied it (an observer's measure of the reader's path, like the md reader's
        event delivery for tick-to-order)."""

    def for_login(self, scope: frozenset[int]) -> Readers:
        """The account reader of another login's trading connection: the same store writer,
        observers and counters, its own strategy feed and guard (:meth:`attach`), its
        snapshots scoped to its accounts (``scope``). Its md callback is never used."""
        sibling = Readers(self._md_writer, self._account_writer, self._metrics,
                          self._observers, self._account_changed, self._alerts)
        sibling.scope = scope
        return sibling

    def attach(self, md: MarketDataSession, feed: StrategyFeed, guard: ResyncGuard,
               contracts: ContractBook, cause: MarketCause,
               tickets: Mapping[str, OrderTicket]) -> None:
        """``cause``: the order manager's (see the module doc); ``tickets``: its tickets by
        client order id (a fill's ticket is found there)."""
        self._p = _Parts(md, feed, guard, contracts, cause, tickets)

    def _parts(self) -> _Parts:
        if self._p is None:
            raise RuntimeError("the readers are not attached")
        return self._p

    # ------------------------------------------------------------------ md reader

    def on_md(self, event: Message) -> None:
        """The md reader: the market store's only writer, then the strategy."""
        received = time.perf_counter_ns()
        p = self._p
        if p is None:  # cannot happen: the md socket opens after wiring
            return
        if p.md.connects != self._md_connection:
            self._new_md_connection(p.md.connects)
        kind = type(event)
        if kind is ChartEvent:
            self._map_charts(event)  # type: ignore[arg-type]
        elif kind is not MarketDataEvent:
            return
        changes = self._md_writer.apply(event)  # type: ignore[arg-type]
        self._metrics.md_events += 1
        if changes:  # the dispatcher ignores them until the strategy has started
            cause = p.cause
            socket = self._md_socket
            cause.frame_ns = 0 if socket is None else socket.frame_ns
            cause.decoded_ns = received
            try:
                p.feed.market(changes)
            finally:
                cause.frame_ns = cause.decoded_ns = 0

    def _new_md_connection(self, number: int) -> None:
        """A new md socket: its books are stale until the first push, and chart ids of the
        old connection mean nothing now."""
        self._md_connection = number
        self._md_socket = self._parts().md.connection
        self._md_writer.clear_books()
        for chart_id in self._mapped_charts:
            self._md_writer.unregister_chart(chart_id)
        self._mapped_charts.clear()
        notify(self._observers, "on_md_connection", number)

    def _map_charts(self, event: ChartEvent) -> None:
        p = self._parts()
        for packet in event.data.charts:
            if packet.id in self._mapped_charts:
                continue
            chart = p.md.chart_for(packet.id)
            if chart is None or not chart.ids:
                continue
            spec = p.contracts.get(chart.request.symbol)
            if spec is None:
                continue
            # History may come under either id (or the answer may give only one): every
            # packet before the chart's eoh is history.
            historical_id = chart.ids[0]
            self._md_writer.register_chart(spec.contract_id, historical_id, chart.realtime_id,
                                           history_first=True)
            self._mapped_charts.update(chart.ids)
            notify(self._observers, "on_chart", spec.contract_id, historical_id,
                   chart.realtime_id)

    def md_problem(self, kind: str, detail: str) -> None:
        """The md reader failed on an event (malformed md input is only counted and logged
        by the connection: it cannot touch the account)."""
        if kind != "consumer":
            return
        self._reader_alerts().emit(Alert(Severity.URGENT, "md.reader_failed",
                                         "The market-data reader failed on an event",
                                         f"{detail}. Market data keep flowing; the failed "
                                         f"event's changes may be missing."))

    def _reader_alerts(self) -> ThrottledAlerts:
        if self._throttled is None:
            self._throttled = ThrottledAlerts(self._alerts, READER_ALERT_SECONDS,
                                              asyncio.get_running_loop().time)
        return self._throttled

    # ------------------------------------------------------------------ account reader

    def on_account(self, event: Message | SyncSnapshot) -> None:
        """The account reader: the account store's only writer, then orders and strategy."""
        kind = type(event)
        if kind is SyncSnapshot:
            snapshot: SyncSnapshot = event  # type: ignore[assignment]
            report = self._apply_snapshot(snapshot)
            if report is None:
                return
            self._metrics.account_events += 1
            if self._observers:
                notify(self._observers, "on_snapshot", snapshot, report)
            if not report.initial:
                self._metrics.resyncs += 1
                self._metrics.fills += len(report.new_fills)
                self._report_differences(report, snapshot.connection)
            self._parts().feed.sync(report, snapshot.connection)
        elif kind is EntityEvent:
            self.account_event_ns = time.perf_counter_ns()
            entity_event: EntityEvent = event  # type: ignore[assignment]
            changes = self._account_writer.apply(entity_event)
            self._metrics.account_events += 1
            for change in changes:
                if type(change) is NewFill:
                    self._metrics.fills += 1
                    self._fill_received(change)
            if self._observers:
                notify(self._observers, "on_account_event", entity_event, changes)
            self._parts().feed.account(changes)
            if entity_event.repaired or entity_event.bad:
                self._odd_entities(entity_event)
        else:
            return
        self._account_changed.notify()

    def _fill_received(self, fill: NewFill) -> None:
        """Stamp the first fill of an order on its ticket and tell the observers."""
        state = self._account_writer.view.order(fill.fill.order_id)
        if state is None or state.cl_ord_id is None:
            return
        ticket = self._parts().tickets.get(state.cl_ord_id)
        if ticket is None or ticket.filled_ns or ticket.order_id not in (None,
                                                                        fill.fill.order_id):
            return
        set_filled_ns(ticket, time.perf_counter_ns())
        if self._observers:
            notify(self._observers, "on_order_filled", ticket)

    def _apply_snapshot(self, snapshot: SyncSnapshot) -> SyncReport | None:
        """Apply a snapshot if it is complete; an incomplete one, or one that fails to apply
        (the store keeps its previous state), is a problem for the resync guard."""
        guard = self._parts().guard
        if snapshot.repaired:
            _log.warning("snapshot #%d: unreadable optional fields ignored: %s",
                         snapshot.connection, ", ".join(sorted(set(snapshot.repaired))))
        lost = [b for b in snapshot.bad if b.entity_type in MONEY_ENTITY_TYPES]
        if lost:
            guard.problem("account.snapshot_incomplete", "Account snapshot incomplete",
                          f"{len(lost)} entities of the snapshot of trading connection "
                          f"#{snapshot.connection} could not be read ({_kinds(lost)}; first: "
                          f"{lost[0].reason}); it was not applied")
            return None
        try:
            scope = self.scope
            report = self._account_writer.apply_snapshot(
                snapshot.message, None if scope is None
                else scope | {a.id for a in snapshot.message.accounts})
        except Exception as exc:
            _log.exception("applying the snapshot of trading connection #%d failed",
                           snapshot.connection)
            guard.problem("account.snapshot_failed", "Account snapshot failed to apply",
                          f"{type(exc).__name__}: {exc}; the account data are those before "
                          f"the snapshot")
            return None
        guard.snapshot_applied()
        self.snapshots += 1
        return report

    def _odd_entities(self, event: EntityEvent) -> None:
        if event.repaired:
            _log.warning("%s %s: unreadable optional fields ignored: %s", event.entity_type,
                         event.event_type, ", ".join(sorted(set(event.repaired))))
        bad = event.bad
        if not bad:
            return
        if event.entity_type not in MONEY_ENTITY_TYPES:
            _log.error("%d unreadable %s entities skipped: %s", len(bad), event.entity_type,
                       bad[0].reason)
            return
        self._parts().guard.problem(
            "account.unreadable_entity", f"Unreadable {event.entity_type} from Tradovate",
            f"{len(bad)} {event.entity_type} entities of a {event.event_type} event could "
            f"not be read ({bad[0].reason}); the rest of the event was applied")

    def trading_problem(self, kind: str, detail: str) -> None:
        """The trading reader dropped input (it may have been an account event) or failed
        on an event half-way: the account data may be wrong."""
        if kind == "consumer":
            self._parts().guard.problem("account.reader_failed",
                                        "The account reader failed on an event", detail)
        else:
            self._parts().guard.problem("account.unreadable_input",
                                        "Unreadable input on the trading socket", detail)

    def _report_differences(self, report: SyncReport, connection: int) -> None:
        """A resync after a reconnect: say what changed while we were away."""
        if not report.changed:
            _log.info("resync #%d: account state unchanged", connection)
            return
        body = (f"{len(report.new_fills)} fills, {len(report.busted_fills)} busted fills, "
                f"{len(report.orders)} order status changes and {len(report.positions)} "
                f"position changes happened while the trading socket was disconnected")
        _log.warning("resync #%d: %s", connection, body,
                     extra={"new_fills": [f.fill.id for f in report.new_fills],
                            "orders": [(o.order_id, o.before, o.after) for o in report.orders]})
        severity = Severity.URGENT if report.busted_fills else Severity.ROUTINE
        self._alerts.emit(Alert(severity, "account.resync_differences",
                                "Account changed while disconnected", body))

    # ------------------------------------------------------------------ order listener

    def on_ticket(self, ticket: OrderTicket) -> None:
        """Counts requests sent; one sent while the strategy handled a market event is a
        tick-to-order sample (md event delivered → frame written). A ticket is reported as
        PENDING exactly once, right after it was written; later reports are state changes."""
        if not ticket.sent_ns or ticket.state is not TicketState.PENDING:
            return
        self._metrics.orders_sent += 1
        if ticket.decoded_ns:
            self._metrics.record_tick_to_order(ticket.sent_ns - ticket.decoded_ns)


def _kinds(entities: Iterable[UnknownEntity]) -> str:
    counts: dict[str, int] = {}
    for entity in entities:
        counts[entity.entity_type] = counts.get(entity.entity_type, 0) + 1
    return ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items()))
