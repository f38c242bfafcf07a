"""The client of a chaos run, in a process of its own so that it can be killed for real.

``python -m tradovate_api.chaos.child CONFIG`` (``CONFIG``: a :class:`ChildConfig` as JSON)
runs :class:`~tradovate_api.runtime.app.TradingApp` with the :class:`.ChurnStrategy`, the
journal and md recording (:class:`~tradovate_api.runtime.persistence.Persistence`) and alerts
through the real notification center to the run's webhook receiver — exactly as ``tradovate-api
run`` wires them, with the run's settings — against the parent's simulator. It reports on the
status channel (:mod:`.channel`) and answers ``state`` requests read from its standard input.
SIGTERM is the ordinary graceful shutdown; ``SIGXFSZ`` is ignored, so that a file-size limit
the parent puts on it (a full disk) fails writes instead of killing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections import defaultdict
from typing import Any

import msgspec

from ..alerts import Alert, Severity
from ..client import new_event_loop
from ..errors import TradovateError
from ..notify import NotificationCenter, WebhookNotifier
from ..orders import OrderTicket
from ..protocol import ChartEvent, MarketDataEvent, Messages, decode_frame
from ..runtime.app import TradingApp
from ..runtime.observer import AppObserver, PreparedApp
from ..runtime.persistence import Persistence
from ..secrets import Secret, TradovateCredentials
from ..settings import settings_from_mapping
from ..stores import NewFill
from .channel import (
    ChannelWriter,
    ChildConfig,
    ClientFill,
    ClientOrder,
    ClientPosition,
    EmittedMsg,
    ExitMsg,
    FillMsg,
    IntentMsg,
    LinkMsg,
    StartedMsg,
    StateMsg,
    TicketMsg,
)
from .strategy import ChurnStrategy

LINK_POLL_SECONDS = 0.05
"""How often the child looks at its connections (a ``link`` message goes out on a change)."""


class Reporter(AppObserver):
    """The app → the status channel."""

    def __init__(self, app: TradingApp, persistence: Persistence,
                 channel: ChannelWriter) -> None:
        self.app = app
        self.persistence = persistence
        self.channel = channel
        self.synced = 0
        self.started = False
        self._md_seen: dict[int, set[tuple[str, int]]] = defaultdict(set)

    # ------------------------------------------------------------------ app hooks

    def on_prepared(self, app: PreparedApp) -> None:
        orders = app.orders
        assert orders is not None
        journal = self.persistence.journal
        before = journal.before_send if journal is not None else None

        def witness_then_write_ahead(ticket: OrderTicket) -> str | None:
            self.channel.send(IntentMsg(
                time.monotonic(), ticket.cl_ord_id, str(ticket.kind), ticket.symbol,
                ticket.action, ticket.qty, ticket.order_type, ticket.protective))
            return None if before is None else before(ticket)

        orders.set_before_send(witness_then_write_ahead)  # after the journal's (see main)
        orders.add_listener(self._ticket)

    def on_snapshot(self, snapshot: object, report: object) -> None:
        self.synced += 1

    def on_strategy_started(self) -> None:
        self.started = True
        self.channel.send(StartedMsg(time.monotonic(),
                                     sorted(f.id for f in self.app.account.fills())))

    def _ticket(self, ticket: OrderTicket) -> None:
        self.channel.send(TicketMsg(
            time.monotonic(), ticket.cl_ord_id, str(ticket.kind), str(ticket.state),
            ticket.order_id, ticket.strategy_id, ticket.reason, ticket.refusal,
            ticket.protective, ticket.symbol))

    def delivered(self, fill: NewFill) -> None:
        self.channel.send(FillMsg(time.monotonic(), fill.fill.id))

    # ------------------------------------------------------------------ market data

    def observe_md(self, frame: memoryview) -> None:
        """Note which contracts and charts the current md connection delivered."""
        md = self.app.md
        if md is None:
            return
        number = md.connects
        if number not in self._md_seen:
            self._md_seen.clear()  # only the current connection matters (bounded memory)
        seen = self._md_seen[number]
        decoded = decode_frame(frame)
        if not isinstance(decoded, Messages):
            return
        for item in decoded.items:
            if isinstance(item, MarketDataEvent):
                seen.update(("quote", q.contract_id) for q in item.data.quotes)
                seen.update(("dom", d.contract_id) for d in item.data.doms)
            elif isinstance(item, ChartEvent):
                seen.update(("chart", p.id) for p in item.data.charts)

    def md_live(self) -> bool:
        md = self.app.md
        if md is None or not md.ready:
            return False
        seen = self._md_seen.get(md.connects, set())
        for symbol in self.app.contracts.symbols:
            contract_id = self.app.contracts.contract_id(symbol)
            if ("quote", contract_id) not in seen or ("dom", contract_id) not in seen:
                return False
        return all(any(("chart", i) in seen for i in chart.ids) for chart in md.charts)

    def link(self) -> LinkMsg:
        app = self.app
        md, trading = app.md, app.trading
        observer = self.persistence.journal_observer
        cleanup = None if observer is None else observer.cleanup
        return LinkMsg(
            time.monotonic(),
            md.connects if md is not None else 0, md is not None and md.ready, self.md_live(),
            trading.connects if trading is not None else 0,
            trading is not None and trading.ready, self.synced, self.started,
            self.synced > 0 and (cleanup is None or cleanup.done()))

    async def watch_links(self) -> None:
        """A ``link`` message whenever the connections change (polled, bounded by the run)."""
        last: tuple[Any, ...] | None = None
        while True:
            link = self.link()
            key = msgspec.structs.astuple(link)[1:]
            if key != last:
                last = key
                self.channel.send(link)
            await asyncio.sleep(LINK_POLL_SECONDS)

    # ------------------------------------------------------------------ state

    def state(self, request: int) -> StateMsg:
        app = self.app
        view = app.account
        account_id = app.account_id or 0
        day = view.trade_date(account_id)
        fills = [ClientFill(f.id, f.order_id, f.contract_id, _day(f.trade_date), f.action,
                            f.qty, f.price, f.active) for f in view.fills()]
        orders = [ClientOrder(s.id, s.status, s.order.action, s.order.contract_id, s.cl_ord_id)
                  for s in view.orders.values()]
        positions = []
        for p in view.positions.values():
            try:
                pnl = view.pnl(p.account_id, p.contract_id)
                ledger, realized = pnl.net_pos, pnl.realized
            except TradovateError:
                ledger, realized = 0, float("nan")
            positions.append(ClientPosition(p.account_id, p.contract_id, p.net_pos, p.bought,
                                            p.sold, ledger, realized))
        cash = view.cash_balance(account_id)
        now = time.perf_counter_ns()
        unknown = ([(t.cl_ord_id, (now - (t.answered_ns or t.taken_over_ns or t.sent_ns)) / 1e9)
                    for t in app.orders.unknown()]
                   if app.orders is not None else [])
        journal = self.persistence.journal
        return StateMsg(time.monotonic(), request, None if day is None else day.isoformat(),
                        fills, orders, positions, None if cash is None else cash.amount,
                        None if cash is None else cash.realized_pnl, unknown,
                        journal.lost if journal is not None else 0,
                        journal.halted if journal is not None else None)


def _day(trade_date: Any) -> str:
    return f"{trade_date.year:04d}-{trade_date.month:02d}-{trade_date.day:02d}"


async def _commands(reporter: Reporter, app: TradingApp) -> None:
    """The parent's requests, one per line on standard input: ``state N``, ``alert KEY``,
    ``lots 2`` / ``lots 1`` (every entry two lots, or as drawn), ``halt``."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        words = line.decode(errors="replace").split()
        if words[:1] == ["state"] and len(words) == 2 and words[1].isdigit():
            reporter.channel.send(reporter.state(int(words[1])))
        elif words[:1] == ["alert"] and len(words) == 2:
            started = time.perf_counter()
            app.alerts.emit(Alert(Severity.ROUTINE, words[1], f"Chaos: alert {words[1]}"))
            reporter.channel.send(EmittedMsg(time.monotonic(), words[1],
                                             time.perf_counter() - started))
        elif words[:1] == ["lots"] and len(words) == 2:
            strategy = app.strategy
            if isinstance(strategy, ChurnStrategy):
                strategy.two_lots = words[1] == "2"
        elif words[:1] == ["halt"] and app.orders is not None:
            app.orders.halt("chaos run over")


async def run_child(config: ChildConfig) -> int:
    settings = settings_from_mapping(config.settings)
    channel = ChannelWriter(config.channel_fd)
    strategy = ChurnStrategy(interval_ms=config.interval_ms, seed=config.seed)
    center = NotificationCenter(settings.notifications, {
        "webhook": WebhookNotifier(Secret(config.alert_url), timeout=2.0)})
    center.start()
    persistence = Persistence(settings, label="chaos")
    offset = config.clock_offset
    app = TradingApp(settings, TradovateCredentials(name="sim", password=Secret("sim")),
                     strategy, alerts=persistence.alerts(center), submit=center.submit,
                     clock=lambda: int((time.time() + offset) * 1000))
    persistence.attach(app)  # the journal's before_send first ...
    reporter = Reporter(app, persistence, channel)
    app.add_observer(reporter)  # ... then the witness wraps it
    app.add_frame_observer(reporter.observe_md)
    strategy.on_delivered = reporter.delivered
    helpers = [asyncio.create_task(reporter.watch_links(), name="chaos links"),
               asyncio.create_task(_commands(reporter, app), name="chaos commands")]
    code = 1
    try:
        code = await app.run()
    finally:
        for task in helpers:
            task.cancel()
        for task in helpers:
            with contextlib.suppress(BaseException):
                await task
        await center.close(3.0)
        channel.send(ExitMsg(time.monotonic(), code, list(app.exit_lines)))
    return code


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full disk fails writes, never kills
    config = msgspec.json.decode(argv[0], type=ChildConfig)
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(run_child(config))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

