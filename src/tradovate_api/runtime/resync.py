"""What the runtime does when the account data it receives cannot be trusted.

An account event it could not read (an order, fill, position... missing a field money depends
on), input the trading reader had to drop, a reader callback that raised half-way through an
event, a snapshot that is incomplete or failed to apply: each leaves the account store
possibly wrong. The :class:`ResyncGuard` then

* sends an urgent alert (one per kind per :data:`ALERT_INTERVAL` seconds; what was held back
  is counted in the next one),
* suspends new entries in every contract until a complete snapshot has been applied (exits
  still pass),
* and asks for a fresh snapshot — by ending the trading connection, so the supervisor
  reconnects and the new connection syncs. Resyncs are spaced: the first at once, then
  30 s, 60 s, ... up to 10 min apart while problems keep coming (a server that sends the
  same unreadable entity every time must not cause a reconnect storm); after a quiet
  10 minutes the spacing starts over.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..alerts import Alert, AlertSink, Severity
from ..orders.risk import RiskManager
from .accounts import AccountRisks
from .throttled_alerts import ThrottledAlerts

_log = logging.getLogger("tradovate_api.runtime.resync")

ALERT_INTERVAL = 300.0
"""Seconds between two alerts of one kind."""
FIRST_SPACING = 30.0
MAX_SPACING = 600.0
SUSPENSION = "account data"
"""The :meth:`RiskManager.suspend_entries` source of this guard."""


class ResyncGuard:
    """See the module doc. ``resync(reason)`` ends the trading connection (returns False when
    there is none; the next connection syncs anyway)."""

    def __init__(self, resync: Callable[[str], bool], alerts: AlertSink,
                 risk: RiskManager | AccountRisks,
                 *, clock: Callable[[], float] | None = None) -> None:
        self._resync = resync
        self._risk = risk
        self._clock = clock or asyncio.get_running_loop().time
        self._alerts = ThrottledAlerts(alerts, ALERT_INTERVAL, self._clock)
        self._spacing = FIRST_SPACING
        self._next_resync = 0.0
        self._last_problem = -MAX_SPACING
        self._deferred: asyncio.TimerHandle | None = None
        self.resyncs = 0
        """Resyncs asked for."""

    def problem(self, key: str, title: str, detail: str) -> None:
        """Account data may be wrong: alert, suspend entries, resync (spaced)."""
        now = self._clock()
        if now - self._last_problem >= MAX_SPACING:
            self._spacing = FIRST_SPACING
        self._last_problem = now
        _log.error("%s: %s", title, detail)
        self._alerts.emit(Alert(Severity.URGENT, key, title, (
            f"{detail}\n\nNew entries are suspended and a fresh account snapshot is "
            f"requested; exits and protective orders still work.")))
        self._risk.suspend_entries(None, f"{title}; waiting for a fresh account snapshot",
                                   SUSPENSION)
        if now >= self._next_resync:
            self._ask(title)
        elif self._deferred is None:
            self._deferred = asyncio.get_running_loop().call_later(
                self._next_resync - now, self._deferred_resync, title)

    def snapshot_applied(self) -> None:
        """A complete snapshot is in the store: entries may go again."""
        self._risk.resume_entries(None, SUSPENSION)

    def close(self) -> None:
        """Drop a waiting resync (the app stops)."""
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None

    def _deferred_resync(self, reason: str) -> None:
        self._deferred = None
        self._ask(reason)

    def _ask(self, reason: str) -> None:
        self.close()  # a resync now covers one that was waiting
        now = self._clock()
        self._next_resync = now + self._spacing
        self._spacing = min(self._spacing * 2, MAX_SPACING)
        self.resyncs += 1
        if self._resync(reason):
            _log.warning("asking for a fresh account snapshot (%s); the next resync no "
                         "sooner than in %.0fs", reason, self._next_resync - now)
