"""Each account's trailing-drawdown high-water, kept across runs in the journal.

A prop firm trails its drawdown from the highest balance the account ever reached (intraday
with open P&L, or at each day's close); a run that started again from the balance it finds —
after the nightly restart, a crash, an upgrade — would hold the account to a lower level than
the firm does. So the journal keeps each account's high-water (and, ``eod``, the trade date it
last rolled on): restored when the run is prepared, before the first order's risk check,
never lowering what the settings' ``starting_balance`` gives; recorded when it moves (checked
once a second, off the order path) and at shutdown. A record made under a different rule
(mode or drawdown changed in the preset) is not used, and the alert says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Mapping

from ..alerts import Alert, AlertSink, Severity
from ..journal.records import TrailingRecord
from ..journal.writer import Journal
from ..orders.account_rules import TrailingDrawdown

_log = logging.getLogger("tradovate_api.risk")

RECORD_SECONDS = 1.0
"""How often a moved high-water is journaled: a crash loses at most this much of its rise."""


class HighWaterKeeper:
    """The trailing drawdowns of a run's accounts (account id → its rule, ``None`` for an
    account without one), kept in ``journal``."""

    def __init__(self, journal: Journal, trailing: Mapping[int, TrailingDrawdown | None],
                 alerts: AlertSink) -> None:
        self._journal = journal
        self._trailing = {a: rule for a, rule in trailing.items() if rule is not None}
        self._alerts = alerts
        self._recorded: dict[int, tuple[float, dt.date | None]] = {}
        self._task: asyncio.Task[None] | None = None

    def restore(self, previous: Mapping[int, TrailingRecord]) -> list[int]:
        """Take each account's high-water from an earlier run; the accounts it raised."""
        raised: list[int] = []
        for account_id, rule in self._trailing.items():
            record = previous.get(account_id)
            if record is None:
                continue
            if record.mode != rule.mode or record.drawdown != rule.drawdown:
                self._alerts.emit(Alert(
                    Severity.ROUTINE, "risk.high_water_not_restored",
                    "The trailing drawdown's high-water of earlier runs was not used",
                    f"Account {account_id}: it was kept for a {record.mode} drawdown of "
                    f"{record.drawdown:,.2f} (high-water {record.high_water:,.2f}); the preset "
                    f"now says {rule.mode} {rule.drawdown:,.2f}, so the high-water starts "
                    f"again from starting_balance or the balance now."))
                continue
            day = None if record.trade_date is None else dt.date.fromisoformat(record.trade_date)
            if rule.restore(record.high_water, day):
                raised.append(account_id)
                _log.info("risk: account %d: trailing high-water %.2f restored from an earlier "
                          "run", account_id, record.high_water,
                          extra={"account_id": account_id, "high_water": record.high_water})
            self._recorded[account_id] = (record.high_water, day)
        return raised

    def record(self) -> None:
        """Journal every high-water (or eod trade date) that moved since it was recorded."""
        for account_id, rule in self._trailing.items():
            now = (rule.high_water, rule.trade_date)
            if rule.high_water == float("-inf") or self._recorded.get(account_id) == now:
                continue
            self._recorded[account_id] = now
            self._journal.trailing(account_id, rule.high_water, rule.mode, rule.drawdown,
                                   None if rule.trade_date is None
                                   else rule.trade_date.isoformat())

    def start(self) -> None:
        """Record once a second until :meth:`stop`."""
        if self._trailing and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._every(RECORD_SECONDS), name="record trailing high-water")

    async def stop(self) -> None:
        """Stop recording, and record what moved last."""
        task = self._task
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.record()

    async def _every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                self.record()
            except Exception:  # the journal's own failures are its alerts; never stop here
                _log.exception("recording the trailing high-water failed")

