"""A strategy that trades all the time, so injected faults hit orders in flight.

It is not meant to make money: every step it either closes its position, opens one lot, or
rests a limit order far from the market that the next step cancels. Steps are timer-driven, so
the strategy keeps trying to trade while market data is down (those orders are refused
locally, which is part of what a chaos run exercises). Each fill it is told about is counted,
so the soak can prove every fill reaches the strategy exactly once.
"""

from __future__ import annotations

import random
from collections import Counter

from ..orders.tickets import OrderTicket, TicketState
from ..stores import NewFill
from ..strategy import Strategy

_REST_OFFSET_TICKS = 40
"""How far from the best bid the resting limit order sits (it must not fill)."""


class ChurnStrategy(Strategy):
    """Trades the context's ``trading_symbol`` every ``interval_ms``, one lot at a time."""

    def __init__(self, interval_ms: int = 300, seed: int = 0) -> None:
        self.interval_ms = interval_ms
        self._rng = random.Random(seed)
        self._resting: OrderTicket | None = None
        self.fills: Counter[int] = Counter()
        """Fill id → times ``on_fill`` was called with it (must be 1 for each)."""
        self.tickets: list[OrderTicket] = []

    @property
    def symbol(self) -> str:
        symbol = self.ctx.trading_symbol
        assert symbol is not None, "the contract book is empty"
        return symbol

    def on_start(self) -> None:
        self.ctx.wake_at(self.ctx.now_ms() + self.interval_ms)

    def on_fill(self, fill: NewFill) -> None:
        self.fills[fill.fill.id] += 1

    def on_timer(self, now_ms: int) -> None:
        self.ctx.wake_at(now_ms + self.interval_ms)
        resting = self._resting
        if resting is not None:
            if resting.state is TicketState.ACKED and resting.order_id is not None:
                order = self.ctx.account.order(resting.order_id)
                if order is not None and not order.is_done:
                    self.tickets.append(self.ctx.cancel(resting))
                    return
            if resting.is_open:
                return  # its outcome is not known yet; the contract is blocked anyway
            self._resting = None
        position = self.ctx.position(self.symbol)
        if position:
            action = "Sell" if position > 0 else "Buy"
            self._order(action, "close")
        elif self._rng.random() < 0.3:
            self._rest()
        else:
            self._order(self._rng.choice(("Buy", "Sell")), "open")

    def _order(self, action: str, why: str) -> None:
        place = self.ctx.buy if action == "Buy" else self.ctx.sell
        self.tickets.append(place(self.symbol, 1, trigger=f"churn {why}"))

    def _rest(self) -> None:
        quote = self.ctx.market.quote(self.ctx.contract_id(self.symbol))
        if quote is None or quote.bid is None:
            return
        tick = self.ctx.spec(self.symbol).tick_size
        price = self.ctx.round_price(self.symbol, quote.bid - _REST_OFFSET_TICKS * tick)
        ticket = self.ctx.buy(self.symbol, 1, order_type="Limit", price=price,
                              trigger="churn rest")
        self.tickets.append(ticket)
        if ticket.state is not TicketState.REFUSED:
            self._resting = ticket
