"""Child process of the crash tests: the real TradingApp against a simulator given by URL, with
the journal and md recording on. Arguments: mode, settings (JSON), the offset (seconds) of the
simulator's clock from the wall clock (``open_clock``: the market is open).

``trade`` mode buys once at market, then rests a sell limit far above the market and prints
``RESTING``; on SIGUSR1 it buys once more, makes sure the journal has the request, and prints
``SENT <clOrdId>`` (the test then kills it with SIGKILL). ``blocked`` mode prints ``READY`` on
the first quote; on SIGUSR1 it buys once and prints ``SENT <clOrdId> <state>`` at once,
without waiting for the journal (whose writer the test holds up). ``ahead`` mode buys once
and kills itself with SIGKILL right after the request was written ahead, before its frame
is written (``DYING <clOrdId>``). ``leave`` mode buys 2, then leaves a protective stop, a
take-profit limit and a second entry limit working and prints ``LEFT <json>``. ``strategy``
mode prints ``READY`` on the first quote; on SIGUSR1 it buys 1 as an order strategy, and prints
``LEFT <json>`` once its target and stop work.
``late-market`` and ``late-limit`` modes print ``READY`` on the first quote; on SIGUSR1 they buy
once (at market, or a limit far below) like ``trade`` (the test arms the simulator's
``late_execution`` first). ``report`` mode prints the restart reconciliation report as
``REPORT <json>`` once the strategy starts and the earlier runs' orders are dealt with (and
``ALERTS <json>``), then shuts down. ``follow`` mode prints the report too, then tries a market
buy at once (``PROBE <state> <reason>``), waits until the earlier runs' requests of unknown
outcome are settled and dealt with (``EARLIER <json>``: their states; ``DECISIONS <json>``) and
every position is covered by stops, then prints ``ALERTS <json>`` and shuts down.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import msgspec

from tradovate_api.alerts import AlertLog
from tradovate_api.orders import OrderTicket, TicketState
from tradovate_api.protocol.models import Position
from tradovate_api.runtime.app import TradingApp
from tradovate_api.runtime.journal_attach import JournalObserver
from tradovate_api.runtime.persistence import Persistence
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import settings_from_mapping
from tradovate_api.stores import NewFill, OrderState, QuoteState
from tradovate_api.strategy import Strategy


def say(*words: object) -> None:
    print(*words, flush=True)


class Scripted(Strategy):
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.entry: OrderTicket | None = None
        self.resting: OrderTicket | None = None
        self.left: list[OrderTicket] = []
        self.app: TradingApp | None = None
        self.persistence: Persistence | None = None
        self.alerts = AlertLog()
        self.ready = False
        self.task: asyncio.Task[None] | None = None

    def on_start(self) -> None:
        if self.mode in ("report", "follow"):
            self.task = asyncio.get_running_loop().create_task(self.report())

    async def report(self) -> None:
        assert self.app is not None
        assert self.persistence is not None
        observer = self.persistence.journal_observer
        assert observer is not None
        assert observer.reconciler is not None
        if observer.cleanup is not None:
            await observer.cleanup  # its alert is emitted before it returns
        say("REPORT", msgspec.json.encode(observer.reconciler.restart).decode())
        if self.mode == "follow":
            await self.follow(observer)
        say("ALERTS", json.dumps([[str(a.severity), a.key, a.title]
                                  for a in self.alerts.recent]))
        self.app.request_shutdown("report printed")

    async def follow(self, observer: JournalObserver) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        probe = self.ctx.buy(symbol, 1, trigger="probe while an earlier request is unknown")
        say("PROBE", probe.state, json.dumps(probe.reason))
        earlier = observer.earlier
        if earlier is None:
            say("EARLIER", "{}")
            say("DECISIONS", "[]")
            return
        assert self.app is not None  # the harness reaches the manager through its app
        assert self.app.orders is not None
        account, orders = self.ctx.account, self.app.orders

        def settled() -> bool:
            cancelling = [d.order_id for d in earlier.decisions if d.decision == "cancel"]
            return (not earlier.following
                    and all(s is not None and s.is_done
                            for s in map(account.order, cancelling))
                    and all(c.covered >= abs(c.net_pos) for c in orders.coverages()))

        for _ in range(1200):  # bounded: two minutes
            if settled():
                break
            await asyncio.sleep(0.1)
        say("EARLIER", json.dumps({t.cl_ord_id: [str(t.state), t.order_id, t.reason]
                                   for t in earlier.taken}))
        say("DECISIONS", json.dumps([[d.order_id, d.decision] for d in earlier.decisions]))

    def on_quote(self, quote: QuoteState) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        if quote.ask is None or quote.bid is None \
                or quote.contract_id != self.ctx.contract_id(symbol):
            return
        tick = self.ctx.spec(symbol).tick_size
        if self.mode == "trade" and self.entry is None:
            self.entry = self.ctx.buy(symbol, 1, trigger="entry")
            self.target = quote.ask + 20 * tick
        elif self.mode in ("blocked", "late-market", "late-limit", "strategy") \
                and not self.ready:
            self.ready = True
            self.bid = quote.bid
            say("READY")
        elif self.mode == "ahead" and self.entry is None:
            self.die_after_writing_ahead()
            self.entry = self.ctx.buy(symbol, 1, trigger="killed after writing ahead")
        elif self.mode == "leave" and self.entry is None:
            self.entry = self.ctx.buy(symbol, 2, trigger="entry of 2")
            self.bid, self.ask = quote.bid, quote.ask

    def die_after_writing_ahead(self) -> None:
        assert self.persistence is not None
        journal = self.persistence.journal
        assert journal is not None
        assert self.app is not None  # the harness reaches the manager through its app
        assert self.app.orders is not None
        orders = self.app.orders

        def write_ahead_then_die(ticket: OrderTicket) -> str | None:
            refusal = journal.before_send(ticket)
            say("DYING", ticket.cl_ord_id, refusal)
            os.kill(os.getpid(), signal.SIGKILL)  # between the write-ahead and the frame
            return refusal

        orders.set_before_send(write_ahead_then_die)

    def on_position(self, position: Position) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        if self.mode != "leave" or self.left or position.net_pos != 2 \
                or position.contract_id != self.ctx.contract_id(symbol):
            return
        tick = self.ctx.spec(symbol).tick_size
        self.left = [
            self.ctx.sell(symbol, 2, order_type="Stop", stop_price=self.bid - 40 * tick,
                          trigger="protective stop"),
            self.ctx.sell(symbol, 2, order_type="Limit", price=self.ask + 40 * tick,
                          trigger="take profit"),
            self.ctx.buy(symbol, 1, order_type="Limit", price=self.bid - 60 * tick,
                         trigger="second entry")]

    def on_order(self, order: OrderState) -> None:
        entry = self.entry
        if self.mode != "strategy" or self.left or entry is None \
                or len(entry.bracket_ids) != 2:
            return
        legs = [self.ctx.account.order(i) for i in entry.bracket_ids]
        if all(leg is not None and leg.status == "Working" for leg in legs):
            assert self.persistence is not None
            assert self.persistence.journal is not None
            self.left = [entry]
            self.persistence.journal.flush()
            say("LEFT", json.dumps({"cl_ord_id": entry.cl_ord_id, "entry": entry.order_id,
                                    "legs": list(entry.bracket_ids)}))

    def on_fill(self, fill: NewFill) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        if self.mode == "trade" and self.entry is not None \
                and fill.order.id == self.entry.order_id and self.resting is None:
            self.resting = self.ctx.sell(symbol, 1, order_type="Limit", price=self.target,
                                         trigger="take profit")

    def on_ticket(self, ticket: OrderTicket) -> None:
        if ticket is self.resting and ticket.state is TicketState.ACKED:
            say("RESTING", ticket.cl_ord_id, ticket.order_id, ticket.price)
        if self.mode == "leave" and self.left and ticket in self.left \
                and all(t.state is TicketState.ACKED for t in self.left):
            assert self.persistence is not None
            assert self.persistence.journal is not None
            self.persistence.journal.flush()
            say("LEFT", json.dumps({name: [t.cl_ord_id, t.order_id] for name, t in
                                    zip(("stop", "target", "entry"), self.left, strict=True)}))

    def buy_more(self) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        assert self.persistence is not None
        assert self.persistence.journal is not None
        tick = self.ctx.spec(symbol).tick_size
        if self.mode == "strategy":
            self.entry = self.ctx.bracket_strategy(symbol, "Buy", 1, target_offset=40 * tick,
                                                   stop_offset=-40 * tick,
                                                   trigger="strategy entry")
            return
        ticket = (self.ctx.buy(symbol, 1, order_type="Limit", price=self.bid - 40 * tick,
                               trigger="sent just before the crash")
                  if self.mode == "late-limit" else
                  self.ctx.buy(symbol, 1, trigger="sent just before the crash"))
        if self.mode != "blocked":  # blocked: the journal's writer is held up by the test
            self.persistence.journal.flush()
        say("SENT", ticket.cl_ord_id, ticket.state)


async def main(mode: str, raw: str, offset: float) -> int:
    settings = settings_from_mapping(msgspec.json.decode(raw))
    strategy = Scripted(mode)
    persistence = Persistence(settings, label=mode)
    app = TradingApp(settings, TradovateCredentials(name="sim", password=Secret("sim")),
                     strategy, alerts=persistence.alerts(strategy.alerts),
                     handle_signals=False, clock=lambda: int((time.time() + offset) * 1000))
    persistence.attach(app)
    strategy.app, strategy.persistence = app, persistence
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, strategy.buy_more)
    return await app.run()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3]))))
