"""Strategies for the replay tests. Each keeps a ``trace`` of what it saw, with the context's
clock, so runs can be compared exactly."""

from __future__ import annotations

from typing import Any

from tradovate_api.orders import OrderTicket
from tradovate_api.protocol.models import Position
from tradovate_api.stores import NewFill, OrderState, QuoteState
from tradovate_api.strategy import Strategy


class Alternating(Strategy):
    """Every ``every``-th quote of the traded contract: a market order, alternately buy and
    sell, whose trigger names the quote that caused it."""

    every = 40

    def on_start(self) -> None:
        self.quotes = 0
        self.trace: list[Any] = []
        self.every = int(self.ctx.params.get("every", type(self).every))

    def on_quote(self, quote: QuoteState) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        if quote.contract_id != self.ctx.contract_id(symbol):
            return
        self.quotes += 1
        if self.quotes % self.every:
            return
        buy = (self.quotes // self.every) % 2 == 1
        trigger = f"quote {quote.timestamp} bid {quote.bid} ask {quote.ask}"
        ticket = (self.ctx.buy if buy else self.ctx.sell)(symbol, 1, trigger=trigger)
        self.trace.append(("order", self.ctx.now_ms(), ticket.action, trigger))

    def on_fill(self, fill: NewFill) -> None:
        self.trace.append(("fill", self.ctx.now_ms(), fill.fill.action, fill.fill.price))


class Busy(Strategy):
    """Limit orders that are modified and cancelled, a bracket, timers and a final flatten:
    every order path the replay's execution has."""

    def on_start(self) -> None:
        self.trace: list[Any] = []
        self.quotes = 0
        self.resting: OrderTicket | None = None
        self.ctx.wake_at(self.ctx.now_ms() + 1_500)

    def on_quote(self, quote: QuoteState) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        if quote.contract_id != self.ctx.contract_id(symbol) or quote.bid is None:
            return
        self.quotes += 1
        tick = self.ctx.spec(symbol).tick_size
        phase = self.quotes % 60
        if phase == 1:
            self.resting = self.ctx.buy(symbol, 1, order_type="Limit", price=quote.bid - tick,
                                        trigger="join the bid")
        elif phase == 20 and self.resting is not None and self.resting.order_id is not None:
            self.ctx.modify(self.resting, price=quote.bid)
        elif phase == 40 and self.resting is not None and self.resting.order_id is not None:
            self.ctx.cancel(self.resting)
        elif phase == 50 and quote.ask is not None:
            self.ctx.bracket(symbol, "Sell", 1, take_profit=quote.bid - 4 * tick,
                             stop_loss=quote.ask + 4 * tick, trigger="bracket")

    def on_timer(self, now_ms: int) -> None:
        self.trace.append(("timer", now_ms, self.ctx.now_ms()))
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        if len([t for t in self.trace if t[0] == "timer"]) % 4 == 0:
            self.ctx.flatten(symbol, trigger="every fourth timer")
        self.ctx.wake_at(now_ms + 1_500)

    def on_order(self, order: OrderState) -> None:
        self.trace.append(("order", self.ctx.now_ms(), order.id, order.status))

    def on_fill(self, fill: NewFill) -> None:
        self.trace.append(("fill", self.ctx.now_ms(), fill.fill.id, fill.fill.action,
                           fill.fill.qty, fill.fill.price))

    def on_position(self, position: Position) -> None:
        self.trace.append(("position", self.ctx.now_ms(), position.net_pos))


class StrategyBrackets(Strategy):
    """Every 50th quote of the traded contract, when flat with nothing working: a market buy
    as an order strategy, its target and stop ``ticks`` ticks from the fill."""

    def on_start(self) -> None:
        self.quotes = 0
        self.tickets: list[OrderTicket] = []
        self.ticks = int(self.ctx.params.get("ticks", 4))

    def on_quote(self, quote: QuoteState) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        contract_id = self.ctx.contract_id(symbol)
        if quote.contract_id != contract_id:
            return
        self.quotes += 1
        if self.quotes % 50 or self.ctx.position(symbol) != 0 \
                or self.ctx.account.open_orders(self.ctx.account_id, contract_id):
            return
        points = self.ticks * self.ctx.spec(symbol).tick_size
        self.tickets.append(self.ctx.bracket_strategy(
            symbol, "Buy", 1, target_offset=points, stop_offset=-points, trigger="strategy"))


class RestingBuy(Strategy):
    """One buy limit ``ticks_below`` the first bid, then nothing."""

    def on_start(self) -> None:
        self.ticket: OrderTicket | None = None
        self.fills: list[NewFill] = []

    def on_quote(self, quote: QuoteState) -> None:
        symbol = self.ctx.trading_symbol
        assert symbol is not None
        if self.ticket is None and quote.contract_id == self.ctx.contract_id(symbol) \
                and quote.bid is not None:
            price = quote.bid - int(self.ctx.params["ticks_below"]) * 0.25
            self.ticket = self.ctx.buy(symbol, 1, order_type="Limit", price=price,
                                       trigger="rest below")

    def on_fill(self, fill: NewFill) -> None:
        self.fills.append(fill)


class Sleeper(Strategy):
    """Asks for timers at odd times and notes when they come."""

    def on_start(self) -> None:
        self.calls: list[tuple[int, int]] = []
        self.ctx.wake_at(self.ctx.now_ms() + 123)

    def on_timer(self, now_ms: int) -> None:
        self.calls.append((now_ms, self.ctx.now_ms()))
        if len(self.calls) < 20:
            self.ctx.wake_at(now_ms + 337)


class Raiser(Strategy):
    """Raises on the fifth quote."""

    def on_start(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: QuoteState) -> None:
        self.quotes += 1
        if self.quotes == 5:
            raise RuntimeError("boom")
