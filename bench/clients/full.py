"""The full framework: ``TradingApp`` exactly as ``tradovate-api run`` builds it.

Login and contract look-ups over REST, the picows md and trading sessions under the
supervisor, the market and account stores, the dispatcher, a strategy that buys one lot at
the bid of every probe quote through ``ctx.buy`` — local validation, risk checks (limits set
wide so the bench never trips them) and the order manager's tickets — and the live gateway
that writes the order on the trading socket (its ``RESULT`` carries the orders' latency
breakdown by stage, from the tickets' stamps). The journal (wired through ``Persistence``, as
the CLI does) and the log file are on, as in a real run, in a temporary directory.
``--busy-poll`` switches on ``connection.busy_poll`` (the ``full-busy`` client).
``--dashboard`` serves the dashboard as ``tradovate-api run --dashboard`` does and keeps one
headless page open on it (``bench.dashboard_page``, its own process) from before the app
starts until the feeder is done, so every probe is measured with the page receiving pushes
(the ``full-dash`` client); its ``RESULT`` tells how many snapshots the page got.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import wire
from bench.clients.common import Counters, parse_args
from tradovate_api.alerts import AlertLog, AlertSink
from tradovate_api.dashboard import DashboardServer, RecentAlerts, make_access
from tradovate_api.orders import TicketState
from tradovate_api.reports import latency_breakdown
from tradovate_api.runtime.app import TradingApp
from tradovate_api.runtime.persistence import Persistence
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import (
    AuthSettings,
    Connection,
    Endpoints,
    JournalSettings,
    LogSettings,
    Reports,
    Risk,
    Settings,
    Trading,
)
from tradovate_api.stores import DomBook, QuoteState, TradesAdded
from tradovate_api.strategy import Strategy

_PROBE = wire.PROBE_CONTRACT_ID
_REFUSED = TicketState.REFUSED
PAGE_READY_S = 20.0
"""Longest wait for the dashboard page to open (Chromium's start included), tried
``PAGE_ATTEMPTS`` times: together less than the feeder waits for the client to connect."""
PAGE_ATTEMPTS = 2
PAGE_CLOSE_S = 30.0


class ProbeStrategy(Strategy):
    """Buys 1 at the bid of each probe quote; counts every market event it is shown."""

    def __init__(self, counters: Counters, frames_seen: Any) -> None:
        self.counters = counters
        self._frames_seen = frames_seen
        self.frames_baseline = 0
        self.refused: dict[str, int] = {}

    def on_quote(self, quote: QuoteState) -> None:
        if quote.contract_id == _PROBE and quote.bid is not None:
            ticket = self.ctx.buy(wire.PROBE_SYMBOL, 1, order_type="Limit", price=quote.bid,
                                  trigger="probe")
            if ticket.state is _REFUSED:
                reason = ticket.reason or "?"
                self.refused[reason] = self.refused.get(reason, 0) + 1
            else:
                if not self.counters.counting:  # this probe's frame is the first counted
                    self.frames_baseline = self._frames_seen() - 1
                self.counters.order()
        if self.counters.counting:
            self.counters.events += 1

    def on_dom(self, book: DomBook) -> None:
        if self.counters.counting:
            self.counters.events += 1

    def on_trade(self, trades: TradesAdded) -> None:
        if self.counters.counting:
            self.counters.events += 1


def bench_settings(directory: Path, *, busy_poll: bool = False) -> Settings:
    """Every bench contract subscribed (quote, DOM, tick chart), the probe contract traded."""
    noise = [name for name, _ in wire.CONTRACTS.values()]
    return Settings(
        environment="sim", instruments=(wire.PROBE_SYMBOL, *noise),
        trading=Trading(strategy="bench.clients.full:ProbeStrategy",
                        account=wire.ACCOUNT_SPEC, symbol=wire.PROBE_SYMBOL),
        risk=Risk(max_position=1_000_000, max_order_qty=10, max_orders_per_second=1e6,
                  max_daily_loss=1e9, max_orders_per_hour=1_000_000),
        log=LogSettings(path=str(directory / "bench.jsonl")),
        auth=AuthSettings(token_cache=str(directory / "token.json")),
        journal=JournalSettings(path=str(directory / "journal.db")),
        reports=Reports(directory=str(directory / "reports")),
        connection=Connection(busy_poll=busy_poll))


class OpenDashboard:
    """The app's dashboard, served, with one headless page open on it."""

    def __init__(self, app: TradingApp, settings: Settings, alerts: RecentAlerts) -> None:
        self.server = DashboardServer(settings.dashboard, make_access(settings.dashboard, None),
                                      app, alerts)
        self._page: asyncio.subprocess.Process | None = None
        self._pushed_at_open = 0
        self._push_ns_at_open = 0
        self._opened = 0.0

    async def open(self, limit_s: float) -> None:
        """Serve, then open the page and wait until it rendered a pushed snapshot (a second
        browser if the first does not get there in time: a loaded machine can stall one)."""
        url = await self.server.start()
        address = f"{url}?token={self.server.access.token.reveal()}"
        failures = []
        for _ in range(PAGE_ATTEMPTS):
            page = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.dashboard_page", "--url", address, "--timeout",
                str(limit_s), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE)
            assert page.stdout is not None
            line = b""
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(PAGE_READY_S):
                    line = await page.stdout.readline()
            if line.strip() == b"READY":
                self._page = page
                self._pushed_at_open = self.server.pushed
                self._push_ns_at_open = self.server.push_ns
                self._opened = time.perf_counter()
                return
            failures.append((await _stop(page))[-1000:])
        await self.server.stop()
        raise RuntimeError(f"the dashboard page did not open within {PAGE_READY_S:g} s, "
                           f"{PAGE_ATTEMPTS} times: {' | '.join(failures)}")

    def measured(self) -> dict[str, Any]:
        """At the end of the measurement, since the page opened: snapshots pushed, the
        pusher's time on the event loop, breakdowns computed; and pages connected now."""
        seconds = time.perf_counter() - self._opened
        pushed = self.server.pushed - self._pushed_at_open
        busy_ms = (self.server.push_ns - self._push_ns_at_open) / 1e6
        return {"pages": len(self.server.pages), "pushed": pushed,
                "pushes_per_s": pushed / seconds if seconds > 0 else 0.0,
                "loop_ms_per_s": busy_ms / seconds if seconds > 0 else 0.0,
                "breakdowns_computed": self.server.builder.breakdown.computed}

    async def close(self) -> int | None:
        """Close the page (its browser), then stop serving; the snapshots the page
        rendered (``None``: it did not say)."""
        page, self._page = self._page, None
        updates = None
        try:
            if page is not None:
                assert page.stdin is not None
                page.stdin.close()
                try:
                    async with asyncio.timeout(PAGE_CLOSE_S):
                        out, err = await page.communicate()
                except TimeoutError:
                    page.kill()
                    await page.wait()
                    raise RuntimeError("the dashboard page did not close") from None
                for line in out.decode(errors="replace").splitlines():
                    if line.startswith("RESULT "):
                        updates = int(json.loads(line[len("RESULT "):])["updates"])
                if page.returncode:
                    print(f"dashboard page exited {page.returncode}: "
                          f"{err.decode(errors='replace')[-2000:]}", file=sys.stderr)
        finally:
            await self.server.stop()
        return updates


async def _stop(page: asyncio.subprocess.Process) -> str:
    """Stop a page that did not open (an interrupt lets it close its browser); its stderr."""
    if page.returncode is None:
        page.send_signal(signal.SIGINT)
    try:
        async with asyncio.timeout(PAGE_CLOSE_S):
            _, err = await page.communicate()
    except TimeoutError:
        page.kill()
        _, err = await page.communicate()
    return err.decode(errors="replace")


async def finish_when_fed(app: TradingApp, strategy: ProbeStrategy,
                          dashboard: OpenDashboard | None = None) -> None:
    """The feeder closes the md socket when its scenario is over: report, then shut down."""
    await app.started.wait()
    md = app.md
    assert md is not None
    connection = md.connection
    if connection is not None:
        await connection.wait_ended()
    counters = strategy.counters
    counters.stop()
    counters.data_frames = (app.metrics.md_events - strategy.frames_baseline
                            if counters.counting else 0)
    latency = app.metrics.latency()
    orders = app.orders
    stages = latency_breakdown(orders.tickets.values()) if orders is not None else ()
    extra: dict[str, Any] = {}
    if dashboard is not None:
        extra["dashboard"] = dashboard.measured()
        extra["dashboard"]["page_updates"] = await dashboard.close()
    counters.finish(client="full", refused=strategy.refused, **extra,
                    in_process_tick_to_order_us={"count": latency.count, "p50": latency.p50_us,
                                                 "p99": latency.p99_us},
                    breakdown={s.name: {"label": s.label, "count": s.count, "p50_us": s.p50_us,
                                        "p99_us": s.p99_us} for s in stages})
    app.request_shutdown("the feeder is done")


async def main_async(url: str, rest: str, limit_s: float, *, busy_poll: bool = False,
                     dashboard: bool = False) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-full-") as tmp:
        counters = Counters()
        app: TradingApp | None = None

        def frames_seen() -> int:
            assert app is not None
            return app.metrics.md_events

        strategy = ProbeStrategy(counters, frames_seen)
        settings = bench_settings(Path(tmp), busy_poll=busy_poll)
        persistence = Persistence(settings, label=strategy.name)  # as `tradovate-api run`
        alerts: AlertSink = persistence.alerts(AlertLog())
        recent = RecentAlerts(alerts) if dashboard else None
        app = TradingApp(settings, TradovateCredentials(name="bench", password=Secret("bench")),
                         strategy, endpoints=Endpoints(rest, f"{url}/trading", f"{url}/md"),
                         alerts=recent or alerts, handle_signals=False)
        persistence.attach(app)
        if persistence.journal is None:
            raise RuntimeError("the bench measures with the journal on")
        opened = OpenDashboard(app, settings, recent) if recent is not None else None
        try:
            async with asyncio.timeout(limit_s):
                if opened is not None:
                    await opened.open(limit_s)
                watcher = asyncio.create_task(finish_when_fed(app, strategy, opened))
                try:
                    code = await app.run()
                finally:
                    watcher.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watcher
        finally:
            if opened is not None:  # closed already, unless the run failed
                await opened.close()
        if app.start_error:
            print(f"full client did not start: {app.start_error}", file=sys.stderr)
        return code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, full_options=True)
    if args.rest is None:
        raise SystemExit("--rest is required for the full client (the app logs in over REST)")
    logging.getLogger().setLevel(logging.WARNING)
    from tradovate_api.client import run

    return run(main_async(args.url, args.rest, args.timeout, busy_poll=args.busy_poll,
                          dashboard=args.dashboard))


if __name__ == "__main__":
    sys.exit(main())
