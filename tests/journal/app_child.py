"""Child process of the crash test: the real TradingApp against a simulator given by URL, with
the journal and md recording on.

``trade`` mode buys once at market, then rests a sell limit far above the market and prints
``RESTING``; on SIGUSR1 it buys once more, makes sure the journal has the request, and prints
``SENT <clOrdId>`` (the test then kills it with SIGKILL). ``report`` mode only prints the
restart reconciliation report as ``REPORT <json>`` once the strategy starts, then shuts down.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time

import msgspec

from tradovate_api.alerts import AlertLog
from tradovate_api.orders import OrderTicket, TicketState
from tradovate_api.runtime.app import TradingApp
from tradovate_api.runtime.persistence import Persistence
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import settings_from_mapping
from tradovate_api.stores import NewFill, QuoteState
from tradovate_api.strategy import Strategy


def say(*words: object) -> None:
    print(*words, flush=True)


class Scripted(Strategy):
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.entry: OrderTicket | None = None
        self.resting: OrderTicket | None = None
        self.app: TradingApp | None = None
        self.persistence: Persistence | None = None

    def on_start(self) -> None:
        if self.mode == "report":
            assert self.app is not None
            assert self.persistence is not None
            observer = self.persistence.journal_observer
            assert observer is not None
            assert observer.reconciler is not None
            say("REPORT", msgspec.json.encode(observer.reconciler.restart).decode())
            self.app.request_shutdown("report printed")

    def on_quote(self, quote: QuoteState) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        if self.mode == "trade" and self.entry is None and quote.ask is not None \
                and quote.contract_id == self.ctx.contract_id(symbol):
            self.entry = self.ctx.buy(symbol, 1, trigger="entry")
            self.target = quote.ask + 20 * self.ctx.spec(symbol).tick_size

    def on_fill(self, fill: NewFill) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        if self.entry is not None and fill.order.id == self.entry.order_id \
                and self.resting is None:
            self.resting = self.ctx.sell(symbol, 1, order_type="Limit", price=self.target,
                                         trigger="take profit")

    def on_ticket(self, ticket: OrderTicket) -> None:
        if ticket is self.resting and ticket.state is TicketState.ACKED:
            say("RESTING", ticket.cl_ord_id, ticket.order_id, ticket.price)

    def buy_more(self) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        assert self.persistence is not None
        assert self.persistence.journal is not None
        ticket = self.ctx.buy(symbol, 1, trigger="sent just before the crash")
        self.persistence.journal.flush()
        say("SENT", ticket.cl_ord_id, ticket.state)


async def main(mode: str, raw: str, clock_offset: str) -> int:
    settings = settings_from_mapping(msgspec.json.decode(raw))
    strategy = Scripted(mode)
    persistence = Persistence(settings, label=mode)
    offset_ms = round(float(clock_offset) * 1000)  # the simulator's clock, ahead of now
    app = TradingApp(settings, TradovateCredentials(name="sim", password=Secret("sim")),
                     strategy, alerts=persistence.alerts(AlertLog()), handle_signals=False,
                     clock=lambda: time.time_ns() // 1_000_000 + offset_ms)
    persistence.attach(app)
    strategy.app, strategy.persistence = app, persistence
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, strategy.buy_more)
    return await app.run()


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3])))
