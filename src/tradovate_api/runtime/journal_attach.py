"""Wiring a :class:`~tradovate_api.journal.writer.Journal` into a running :class:`.app.TradingApp`.

It lives with the app, not the journal, so that the journal never imports the runtime.

:func:`attach_journal` makes the app journal every order ticket, account event, snapshot
(reconciling the first one of the run with the journal), alert and md reconnect, and closes
the journal at shutdown. Each order's latency stamps go with its ticket's rows, its first
fill's when it is applied, and all of them once more at shutdown (an answer that arrives after
the account data settled its request changes nothing else). Everything is enqueued on the
readers; the journal's thread writes —
except each request, which the order manager writes ahead to the intent file right before it
sends it (``OrderManager.set_before_send``), and which is refused while the journal cannot
write. Once the trading socket is ready after the first snapshot, the orders earlier runs left
working are cancelled (settings ``journal.cancel_previous_orders``) and the outcome alerted;
the earlier runs' requests of unknown outcome that the first snapshot does not show are handed
to the order manager, which follows them like its own lost answers
(:mod:`tradovate_api.journal.handover`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from ..alerts import Alert, AlertSink, Severity
from ..journal.handover import EarlierRequests
from ..journal.reconcile import UNKNOWN, JournalReconciler, WorkingOrder
from ..journal.writer import Journal
from ..orders.tickets import OrderTicket, TicketState
from .high_water import HighWaterKeeper
from .observer import AppObserver, PreparedApp

if TYPE_CHECKING:
    from ..client import SyncSnapshot
    from ..protocol import EntityEvent
    from ..stores import AccountChange, SyncReport
    from .app import TradingApp

_log = logging.getLogger("tradovate_api.journal")

CLOSE_TIMEOUT = 5.0
CANCEL_CONFIRM_SECONDS = 10.0
"""How long the start-up cancels of earlier runs' orders may take to be confirmed."""


class JournalAlerts:
    """An alert sink that journals every alert, then passes it on."""

    def __init__(self, inner: AlertSink, journal: Journal) -> None:
        self.inner = inner
        self.journal = journal

    def emit(self, alert: Alert) -> None:
        self.journal.alert(alert)
        self.inner.emit(alert)


class JournalObserver(AppObserver):
    """The app's readers → the journal."""

    def __init__(self, journal: Journal, alerts: AlertSink, *,
                 cancel_previous_orders: bool = True) -> None:
        self.journal = journal
        self.alerts = alerts
        self.cancel_previous_orders = cancel_previous_orders
        self.reconciler: JournalReconciler | None = None
        self.cleanup: asyncio.Task[list[OrderTicket]] | None = None
        """Cancelling the earlier runs' working orders (started after the first snapshot);
        its result is the cancel tickets."""
        self.earlier: EarlierRequests | None = None
        """The earlier runs' requests of unknown outcome, followed by this run's order
        manager (set when the app is prepared; handed over at the first snapshot)."""
        self.high_water: HighWaterKeeper | None = None
        """The accounts' trailing-drawdown high-water, restored and kept (:mod:`.high_water`)."""
        self._app: PreparedApp | None = None

    def on_prepared(self, app: PreparedApp) -> None:
        self.journal.bind_loop(asyncio.get_running_loop())
        orders = app.orders
        assert orders is not None
        self._app = app
        for account in app.accounts:  # every account's requests are written ahead
            account.orders.add_listener(self.journal.ticket)
            account.orders.set_before_send(self.journal.before_send)
        self.reconciler = JournalReconciler(self.journal, self.alerts,
                                            account_ids={a.account_id for a in app.accounts},
                                            cancel_previous=self.cancel_previous_orders)
        self.earlier = EarlierRequests([a.orders for a in app.accounts], app.account,
                                       self.alerts,
                                       cancel=self.cancel_previous_orders,
                                       now_ns=self.journal.now_ns)
        for account in app.accounts:
            account.orders.add_listener(self.earlier.on_ticket)
        self.high_water = HighWaterKeeper(
            self.journal, {a.account_id: a.risk.rules.trailing for a in app.accounts},
            self.alerts)
        self.high_water.restore(self.journal.previous.trailing)
        self.high_water.start()

    def on_snapshot(self, snapshot: SyncSnapshot, report: SyncReport) -> None:
        if self.reconciler is None:
            return
        restart = self.reconciler.on_sync(snapshot.message, snapshot.connection, report)
        earlier = self.earlier
        if restart is not None and earlier is not None:
            # Not in the first snapshot proves nothing: followed until positive evidence.
            unknown = {u.cl_ord_id for u in restart.unacknowledged if u.outcome == UNKNOWN}
            earlier.take_over(r for r in self.journal.previous.unacknowledged
                              if r.cl_ord_id in unknown)
        if earlier is not None:
            earlier.check()
        if restart is not None and restart.to_cancel and self._app is not None:
            self.cleanup = asyncio.get_running_loop().create_task(
                self._cancel_previous(self._app, restart.to_cancel),
                name="cancel earlier runs' orders")

    async def _cancel_previous(self, app: PreparedApp,
                               targets: tuple[WorkingOrder, ...]) -> list[OrderTicket]:
        """Cancel the orders earlier runs left working, as soon as the trading socket can
        send; wait (bounded) for the account data to confirm; alert the outcome."""
        try:
            return await self._cancel_and_confirm(app, targets)
        except Exception as exc:  # a task nobody awaits: never let a failure pass silently
            _log.exception("cancelling the earlier runs' working orders failed")
            self.alerts.emit(Alert(Severity.URGENT, "journal.previous_orders",
                                   "Start: the earlier runs' working orders were not cancelled",
                                   f"{type(exc).__name__}: {exc}; "
                                   + "; ".join(t.describe() for t in targets)))
            return []

    async def _cancel_and_confirm(self, app: PreparedApp,
                                  targets: tuple[WorkingOrder, ...]) -> list[OrderTicket]:
        orders = app.orders
        assert app.trading is not None
        assert orders is not None
        for trading in app.trading_sessions:  # each login's accounts cancel over its own
            await trading.wait_ready()
        by_account = {a.account_id: a.orders for a in app.accounts}
        tickets = [by_account.get(t.account_id, orders).cancel(
            t.order_id, trigger="left working by an earlier run") for t in targets]
        ids = {t.order_id for t in targets}

        def done() -> bool:
            return all(s.is_done for s in (app.account.order(i) for i in ids) if s is not None)

        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(CANCEL_CONFIRM_SECONDS):
                await app.account_changed.until(done)
        lines = []
        failed = 0
        for target, ticket in zip(targets, tickets, strict=True):
            state = app.account.order(target.order_id)
            status = "unknown" if state is None else state.status
            if state is None or not state.is_done:
                failed += 1
            refused = f", refused: {ticket.reason}" if ticket.state is TicketState.REFUSED else ""
            lines.append(f"{target.describe()}: now {status}{refused}")
        self.alerts.emit(Alert(
            Severity.URGENT if failed else Severity.ROUTINE, "journal.previous_orders",
            f"Start: cancelled {len(targets) - failed} of {len(targets)} working orders left "
            f"by an earlier run" + (f"; {failed} still working" if failed else ""),
            "\n".join(lines)))
        return tickets

    def on_account_event(self, event: EntityEvent, changes: list[AccountChange]) -> None:
        self.journal.account_event(event)
        if self.earlier is not None:
            self.earlier.check()

    def on_order_filled(self, ticket: OrderTicket) -> None:
        self.journal.ticket_stamps(ticket)

    def on_md_connection(self, number: int) -> None:
        self.journal.connection("md", "connected", f"connection #{number}")

    def on_strategy_started(self) -> None:
        self.journal.connection("strategy", "started")


def attach_journal(app: TradingApp, journal: Journal, *,
                   cancel_previous_orders: bool = True) -> JournalObserver:
    """Journal ``app``'s run (call before ``app.run()``). Every alert of the components the
    app builds at start is journaled; for the supervisor's too, build the app with
    ``alerts=JournalAlerts(sink, journal)``. ``cancel_previous_orders``: cancel the orders
    earlier runs left working (settings ``journal.cancel_previous_orders``)."""
    wrapped = app.alerts
    if not isinstance(wrapped, JournalAlerts):
        wrapped = app.alerts = JournalAlerts(app.alerts, journal)
    inner = wrapped.inner
    journal.alerts = inner
    journal.emit_open_alerts()
    observer = JournalObserver(journal, app.alerts,
                               cancel_previous_orders=cancel_previous_orders)
    app.add_observer(observer)

    async def close() -> None:
        cleanup = observer.cleanup
        if cleanup is not None and not cleanup.done():
            cleanup.cancel()
        if observer.high_water is not None:
            await observer.high_water.stop()
        # An answer that came after the account data had settled its request changes no
        # state, so nothing journaled its stamp: the run's tickets' stamps, once more.
        for account in app.accounts:
            for ticket in account.orders.tickets.values():
                if ticket.sent_ns and not ticket.taken_over_ns:
                    journal.ticket_stamps(ticket)
        if not await asyncio.to_thread(journal.close, CLOSE_TIMEOUT):
            inner.emit(Alert(Severity.URGENT, "journal.close_failed",
                             "The journal did not finish writing at shutdown",
                             f"{journal.path}: {journal.pending} records were still queued"))

    app.add_shutdown_hook("close journal", close, final=True)
    return observer
