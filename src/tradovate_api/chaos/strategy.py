"""A strategy that trades all the time, so injected faults hit orders in flight.

It is not meant to make money. Every step (timer-driven, so it keeps trying while market data
are down — those orders are refused locally, which is part of what a chaos run exercises) it
does one thing, drawn from its own seeded random source:

* flat, nothing working: open one or two lots at market, or as a bracket (``order/placeoso``), or as
  an order strategy (``orderStrategy/startorderstrategy``), or rest a limit order far from the
  market (which a later step moves once or cancels);
* flat with orders of its own still working (a resting limit, a bracket's leftover leg): cancel
  them (or move the resting limit once);
* a position: hold it for a random 0.5–8 s — long enough for the framework's protective stop
  to be placed after its grace time — then close it: at market, or by liquidation
  (``order/liquidateposition``), after cancelling its own exits (an order strategy is
  interrupted).

It never places a second request while one of its own is unanswered or of unknown outcome.
Each fill it is told about is counted and passed to ``on_delivered``, so the soak can prove
every fill reaches the strategy exactly once.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

from ..orders.protection import is_protective
from ..orders.tickets import OrderTicket
from ..stores import NewFill, OrderState
from ..strategy import Strategy

_REST_OFFSET_TICKS = 40
"""How far from the best bid the resting limit order sits (it must not fill)."""
_HOLD_MS = (500, 8_000)
_ENTRY_QTY = (1, 1, 2)
"""Entries are one lot, or two (an order the ``partial fills across reconnect`` fault can
split)."""
_EXIT_TICKS = (3, 8)
"""Bracket exits this many ticks from the market (they fill within seconds)."""


class ChurnStrategy(Strategy):
    """Trades the context's ``trading_symbol`` every ``interval_ms``, one or two lots."""

    def __init__(self, interval_ms: int = 500, seed: int = 0) -> None:
        self.interval_ms = interval_ms
        self._rng = random.Random(seed)
        self._open: list[OrderTicket] = []
        self._held_since: int | None = None
        self._hold_ms = 0
        self._moved: set[int] = set()
        self.two_lots = False
        """Make every entry two lots (while the soak wants an order it can split)."""
        self.fills: Counter[int] = Counter()
        """Fill id → times ``on_fill`` was called with it (must be 1 for each)."""
        self.on_delivered: Callable[[NewFill], None] | None = None

    @property
    def symbol(self) -> str:
        symbol = self.ctx.trading_symbol
        assert symbol is not None, "the contract book is empty"
        return symbol

    def on_start(self) -> None:
        self.ctx.wake_at(self.ctx.now_ms() + self.interval_ms)

    def on_fill(self, fill: NewFill) -> None:
        self.fills[fill.fill.id] += 1
        if self.on_delivered is not None:
            self.on_delivered(fill)

    def on_timer(self, now_ms: int) -> None:
        self.ctx.wake_at(now_ms + self.interval_ms)
        self._open = [t for t in self._open if t.is_open]
        if self._open:
            return  # one request at a time; an unknown outcome blocks the contract anyway
        position = self.ctx.position(self.symbol)
        mine = self._working()
        if position:
            self._hold(now_ms, position, mine)
            return
        self._held_since = None
        if mine:
            self._tidy(mine)
        else:
            self._enter()

    # ------------------------------------------------------------------ steps

    def _working(self) -> list[OrderState]:
        """The strategy's own working orders in its contract (protective stops excluded:
        they belong to the framework)."""
        ctx = self.ctx
        return [s for s in ctx.account.open_orders(ctx.account_id, ctx.contract_id(self.symbol))
                if not is_protective(s)]

    def _hold(self, now_ms: int, position: int, mine: list[OrderState]) -> None:
        if self._held_since is None:
            self._held_since = now_ms
            self._hold_ms = self._rng.randint(*_HOLD_MS)
        if now_ms - self._held_since < self._hold_ms:
            return
        if self._rng.random() < 0.25:
            self._send(*self.ctx.flatten(self.symbol, trigger="churn liquidate"))
            return
        strategies = {self.ctx.account.strategy_of_order(s.id) for s in mine}
        running = [s for s in strategies if s is not None and not s.is_done]
        if running:
            self._send(self.ctx.interrupt_strategy(running[0].id))
        elif mine:
            self._send(self.ctx.cancel(mine[0].id))
        else:
            action = "Sell" if position > 0 else "Buy"
            place = self.ctx.buy if action == "Buy" else self.ctx.sell
            self._send(place(self.symbol, abs(position), trigger="churn close"))

    def _tidy(self, mine: list[OrderState]) -> None:
        order = mine[0]
        version = order.version
        if (order.id not in self._moved and version is not None and version.price is not None
                and version.order_type == "Limit" and self._rng.random() < 0.4):
            self._moved.add(order.id)
            tick = self.ctx.spec(self.symbol).tick_size
            self._send(self.ctx.modify(order.id, price=version.price - tick))
            return
        self._send(self.ctx.cancel(order.id))

    def _enter(self) -> None:
        quote = self.ctx.market.quote(self.ctx.contract_id(self.symbol))
        if quote is None or quote.bid is None or quote.ask is None:
            return
        draw = self._rng.random()
        action = self._rng.choice(("Buy", "Sell"))
        qty = self._rng.choice(_ENTRY_QTY)
        if self.two_lots:
            qty = 2
        spec = self.ctx.spec(self.symbol)
        ticks = self._rng.randint(*_EXIT_TICKS) * spec.tick_size
        buy = action == "Buy"
        if draw < 0.35:
            place = self.ctx.buy if buy else self.ctx.sell
            self._send(place(self.symbol, qty, trigger="churn open"))
        elif draw < 0.5:
            target = (quote.ask + ticks) if buy else (quote.bid - ticks)
            stop = (quote.bid - ticks) if buy else (quote.ask + ticks)
            self._send(self.ctx.bracket(self.symbol, action, qty,
                                        take_profit=self.ctx.round_price(self.symbol, target),
                                        stop_loss=self.ctx.round_price(self.symbol, stop),
                                        trigger="churn bracket"))
        elif draw < 0.65:
            sign = 1 if buy else -1
            self._send(self.ctx.bracket_strategy(self.symbol, action, qty,
                                                 target_offset=sign * ticks,
                                                 stop_offset=-sign * ticks,
                                                 trigger="churn order strategy"))
        elif draw < 0.9:
            price = self.ctx.round_price(self.symbol,
                                         quote.bid - _REST_OFFSET_TICKS * spec.tick_size)
            self._send(self.ctx.buy(self.symbol, 1, order_type="Limit", price=price,
                                    trigger="churn rest"))

    def _send(self, *tickets: OrderTicket) -> None:
        self._open.extend(t for t in tickets if t.is_open)
