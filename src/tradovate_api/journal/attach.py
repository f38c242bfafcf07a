"""Wiring a :class:`~.writer.Journal` into a running :class:`~tradovate_api.runtime.app.TradingApp`.

:func:`attach_journal` makes the app journal every order ticket, account event, snapshot
(reconciling the first one of the run with the journal), alert and md reconnect, and closes
the journal at shutdown. Everything is enqueued on the readers; the journal's thread writes.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..alerts import Alert, AlertSink, Severity
from ..runtime.observer import AppObserver
from .reconcile import JournalReconciler
from .writer import Journal

if TYPE_CHECKING:
    from ..client import SyncSnapshot
    from ..protocol import EntityEvent
    from ..runtime.app import TradingApp
    from ..stores import AccountChange, SyncReport

CLOSE_TIMEOUT = 5.0


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

    def __init__(self, journal: Journal, alerts: AlertSink) -> None:
        self.journal = journal
        self.alerts = alerts
        self.reconciler: JournalReconciler | None = None

    def on_prepared(self, app: TradingApp) -> None:
        self.journal.bind_loop(asyncio.get_running_loop())
        orders = app.orders
        assert orders is not None
        assert app.account_id is not None
        orders.add_listener(self.journal.ticket)
        self.reconciler = JournalReconciler(self.journal, self.alerts,
                                            account_ids={app.account_id})

    def on_snapshot(self, snapshot: SyncSnapshot, report: SyncReport) -> None:
        if self.reconciler is not None:
            self.reconciler.on_sync(snapshot.message, snapshot.connection, report)

    def on_account_event(self, event: EntityEvent, changes: list[AccountChange]) -> None:
        self.journal.account_event(event)

    def on_md_connection(self, number: int) -> None:
        self.journal.connection("md", "connected", f"connection #{number}")

    def on_strategy_started(self) -> None:
        self.journal.connection("strategy", "started")


def attach_journal(app: TradingApp, journal: Journal) -> JournalObserver:
    """Journal ``app``'s run (call before ``app.run()``). Every alert of the components the
    app builds at start is journaled; for the supervisor's too, build the app with
    ``alerts=JournalAlerts(sink, journal)``."""
    wrapped = app.alerts
    if not isinstance(wrapped, JournalAlerts):
        wrapped = app.alerts = JournalAlerts(app.alerts, journal)
    inner = wrapped.inner
    journal.alerts = inner
    observer = JournalObserver(journal, app.alerts)
    app.add_observer(observer)

    async def close() -> None:
        if not await asyncio.to_thread(journal.close, CLOSE_TIMEOUT):
            inner.emit(Alert(Severity.URGENT, "journal.close_failed",
                             "The journal did not finish writing at shutdown",
                             f"{journal.path}: {journal.pending} records were still queued"))

    app.add_shutdown_hook("close journal", close)
    return observer
