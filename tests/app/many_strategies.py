"""Strategies the many-accounts tests load by class name (``many_strategies:Trader``), as a
settings file's ``[[strategies]]`` names them."""

from __future__ import annotations

from tradovate_api.strategy import OrderTicket, PositiveInt, QuoteState, Strategy, StrategyParams


class TraderParams(StrategyParams, frozen=True):
    every_ms: PositiveInt = 300
    """Time between two orders."""
    raise_after: int = 0
    """Raise in ``on_quote`` from this many quotes on (0: never)."""


class Trader(Strategy):
    """Goes long one lot of its contract, then flat, then long..., one market order every
    ``every_ms``; with ``raise_after`` it raises instead, from that quote on."""

    Params = TraderParams

    def __init__(self) -> None:
        self.quotes = 0
        self.last_ms = 0
        self.ticket: OrderTicket | None = None
        self.tickets: list[OrderTicket] = []

    def on_quote(self, quote: QuoteState) -> None:
        ctx = self.ctx
        symbol = ctx.trading_symbol
        assert symbol is not None
        if quote.contract_id != ctx.contract_id(symbol):
            return
        self.quotes += 1
        params: TraderParams = ctx.params
        if params.raise_after and self.quotes >= params.raise_after:
            raise RuntimeError(f"deliberate failure on quote {self.quotes}")
        now = ctx.now_ms()
        if now - self.last_ms < params.every_ms or (self.ticket is not None
                                                    and self.ticket.is_open):
            return
        self.last_ms = now
        action = "Sell" if ctx.position(symbol) > 0 else "Buy"
        self.ticket = ctx.place(symbol, action, 1, trigger="many-accounts test")
        self.tickets.append(self.ticket)
