"""When reports are made: periodically (first after 30 min, then every 2 h by default) and at
the end of the session, plus sampling marks for the charts in between.

The scheduler is one supervised task on the trading loop. It copies what a report needs out
of the stores there (so a report sees whole updates; a millisecond or two), composes the
report and writes its JSON in a worker thread, and renders charts, HTML and the notification
in a child process (:mod:`.worker`), so the trading loop is never held up by matplotlib or
the disk. Nothing a report does can break trading: any failure is logged and that report is
skipped (the JSON is saved before the charts are drawn, so a charting failure still leaves
the data on disk). Notifications are handed to ``submit`` (the notification center's, which
queues and never blocks).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..notify.message import Notification
from ..settings import Reports
from ..stores import AccountView, MarketDataView
from .archive import ReportArchive
from .build import MetricsLike, TicketLike, collect_inputs, compose_report
from .data import ReportData, ReportKind
from .history import SessionHistory
from .worker import render_in_child

_log = logging.getLogger("tradovate_api.reports")


def _no_tickets() -> Iterable[TicketLike]:
    return ()


@dataclass(frozen=True, slots=True)
class ReportSources:
    """Where a report's data comes from (read only). ``tickets`` is called at report time
    (e.g. ``lambda: manager.tickets.values()``)."""

    account: AccountView
    market: MarketDataView
    metrics: MetricsLike | None = None
    tickets: Callable[[], Iterable[TicketLike]] = field(default=_no_tickets)


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class ReportScheduler:
    """Makes, saves and submits reports on the configured schedule.

    ``clock`` (monotonic seconds) and ``sleep`` drive the schedule, ``wall_ms`` stamps the
    reports; tests inject all three. ``render`` makes the notification (default: in a child
    process). ``last`` is the newest report made and ``last_path`` where its JSON went.
    """

    def __init__(self, settings: Reports, sources: ReportSources,
                 submit: Callable[[Notification], object] | None = None, *,
                 history: SessionHistory | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
                 wall_ms: Callable[[], int] = _wall_ms,
                 render: Callable[[ReportData], Awaitable[Notification]] = render_in_child,
                 ) -> None:
        self.settings = settings
        self.sources = sources
        self.history = SessionHistory() if history is None else history
        self.archive = ReportArchive(settings.directory)
        self._submit = submit
        self._clock = clock
        self._sleep = sleep
        self._wall_ms = wall_ms
        self._render = render
        self._lock = asyncio.Lock()
        self.last: ReportData | None = None
        self.last_path: Path | None = None
        self.made = 0
        self.failed = 0

    async def run(self) -> None:
        """Sample and report until cancelled (a supervised task; it never ends by itself)."""
        if not self.settings.enabled:
            await asyncio.Event().wait()
        sample_s = self.settings.sample_seconds
        every_s = self.settings.every_minutes * 60
        start = self._clock()
        next_sample = start
        next_report = start + self.settings.first_after_minutes * 60
        while True:
            now = self._clock()
            if now >= next_sample:
                self.sample()
                while next_sample <= now:
                    next_sample += sample_s
            if now >= next_report:
                await self.report("periodic")
                while next_report <= self._clock():
                    next_report += every_s
            await self._sleep(max(0.0, min(next_sample, next_report) - self._clock()))

    def sample(self) -> None:
        """Record every quoted contract's mark now (never raises)."""
        try:
            self.history.sample(self.sources.market, self._wall_ms())
        except Exception:
            _log.exception("report: sampling marks failed")

    async def report(self, kind: ReportKind = "periodic",
                     composed: Callable[[ReportData], None] | None = None
                     ) -> ReportData | None:
        """Make one report now: take its inputs on the loop, compose and save it in a thread,
        render it in a child process, submit the notification. ``composed`` gets the report
        as soon as it is composed, before the slow part (saving, rendering the charts).
        Returns the report, or ``None`` if it could not be built."""
        async with self._lock:
            src = self.sources
            try:
                self.sample()
                inputs = collect_inputs(src.account, src.market, src.metrics, src.tickets(),
                                        kind=kind, now_ms=self._wall_ms(),
                                        history=self.history)
                data = await asyncio.to_thread(compose_report, inputs)
            except Exception:
                self.failed += 1
                _log.exception("report: building the %s report failed", kind)
                return None
            self.last, self.made = data, self.made + 1
            if composed is not None:
                try:
                    composed(data)
                except Exception:
                    _log.exception("report: the %s report's first reader failed", kind)
            try:
                self.last_path = await asyncio.to_thread(self.archive.save, data)
                _log.info("report: %s report saved to %s", kind, self.last_path)
            except Exception:
                self.failed += 1
                _log.exception("report: saving the %s report failed", kind)
            try:
                notification = await self._render(data)
            except Exception:
                self.failed += 1
                _log.exception("report: rendering the %s report failed", kind)
                return data
            if self._submit is not None:
                try:
                    self._submit(notification)
                except Exception:
                    _log.exception("report: submitting the %s report failed", kind)
            return data

    async def final_report(self, composed: Callable[[ReportData], None] | None = None
                           ) -> ReportData | None:
        """The end-of-session report (shutdown calls this before the notifications flush);
        ``None`` if disabled in the settings or it failed. ``composed``: see :meth:`report`."""
        if not (self.settings.enabled and self.settings.end_of_session):
            return None
        return await self.report("session_end", composed)
