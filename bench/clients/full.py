"""The full framework: ``TradingApp`` exactly as ``tradovate-api run`` builds it.

Login and contract look-ups over REST, the picows md and trading sessions under the
supervisor, the market and account stores, the dispatcher, a strategy that buys one lot at
the bid of every probe quote through ``ctx.buy`` — local validation, risk checks (limits set
wide so the bench never trips them) and the order manager's tickets — and the live gateway
that writes the order on the trading socket (its ``RESULT`` carries the orders' latency
breakdown by stage, from the tickets' stamps). The journal (wired through ``Persistence``, as
the CLI does) and the log file are on, as in a real run, in a temporary directory.
``--busy-poll`` switches on ``connection.busy_poll`` (the ``full-busy`` client).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench import wire
from bench.clients.common import Counters, parse_args
from tradovate_api.alerts import AlertLog
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
                  max_daily_loss=1e9),
        log=LogSettings(path=str(directory / "bench.jsonl")),
        auth=AuthSettings(token_cache=str(directory / "token.json")),
        journal=JournalSettings(path=str(directory / "journal.db")),
        reports=Reports(directory=str(directory / "reports")),
        connection=Connection(busy_poll=busy_poll))


async def finish_when_fed(app: TradingApp, strategy: ProbeStrategy) -> None:
    """The feeder closes the md socket when its scenario is over: report, then shut down."""
    await app.started.wait()
    md = app.md
    assert md is not None
    connection = md.connection
    if connection is not None:
        await connection.wait_ended()
    counters = strategy.counters
    counters.data_frames = (app.metrics.md_events - strategy.frames_baseline
                            if counters.counting else 0)
    latency = app.metrics.latency()
    orders = app.orders
    stages = latency_breakdown(orders.tickets.values()) if orders is not None else ()
    counters.finish(client="full", refused=strategy.refused,
                    in_process_tick_to_order_us={"count": latency.count, "p50": latency.p50_us,
                                                 "p99": latency.p99_us},
                    breakdown={s.name: {"label": s.label, "count": s.count, "p50_us": s.p50_us,
                                        "p99_us": s.p99_us} for s in stages})
    app.request_shutdown("the feeder is done")


async def main_async(url: str, rest: str, limit_s: float, *, busy_poll: bool = False) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-full-") as tmp:
        counters = Counters()
        app: TradingApp | None = None

        def frames_seen() -> int:
            assert app is not None
            return app.metrics.md_events

        strategy = ProbeStrategy(counters, frames_seen)
        settings = bench_settings(Path(tmp), busy_poll=busy_poll)
        persistence = Persistence(settings, label=strategy.name)  # as `tradovate-api run`
        app = TradingApp(settings, TradovateCredentials(name="bench", password=Secret("bench")),
                         strategy, endpoints=Endpoints(rest, f"{url}/trading", f"{url}/md"),
                         alerts=persistence.alerts(AlertLog()), handle_signals=False)
        persistence.attach(app)
        if persistence.journal is None:
            raise RuntimeError("the bench measures with the journal on")
        watcher = asyncio.create_task(finish_when_fed(app, strategy))
        try:
            async with asyncio.timeout(limit_s):
                code = await app.run()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        if app.start_error:
            print(f"full client did not start: {app.start_error}", file=sys.stderr)
        return code


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, busy_poll_option=True)
    if args.rest is None:
        raise SystemExit("--rest is required for the full client (the app logs in over REST)")
    logging.getLogger().setLevel(logging.WARNING)
    from tradovate_api.client import run

    return run(main_async(args.url, args.rest, args.timeout, busy_poll=args.busy_poll))


if __name__ == "__main__":
    sys.exit(main())
