"""What a strategy may use: the context protocol, ``Strategy.ctx``'s type.

A strategy is user code that runs inside the process that holds real positions. It must see
current state and ask for orders, and nothing more: the protocol below is the whole surface.
Reading goes through read-only views (market data, account, the strategy's orders), whose
attributes, private ones included, are read-only mappings, immutable values or other
read-only views: no store, no store's state, no writer and no order manager. Every order
intent goes through the order manager, which runs the risk checks on each one; a refused
intent returns a ticket in state ``REFUSED`` instead of raising. The runtime's concrete
:class:`~tradovate_api.strategy.context.StrategyContext` implements it; typing ``ctx`` as
the protocol keeps a strategy from depending on anything else of the context.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from ..alerts import Severity
from ..orders.contracts import ContractSpec
from ..orders.order_strategy import StrategyBracket
from ..orders.tickets import OrderTicket
from ..stores import AccountView, MarketDataView
from .orders_view import OrdersView


class StrategyAPI(Protocol):
    """``strategy.ctx``: read-only views, parameters, clock, logging, alerts and order
    intents (see the module doc)."""

    # ------------------------------------------------------------------ views

    @property
    def market(self) -> MarketDataView:
        """Quotes, depth, time and sales, rolling windows and bars (read-only, current)."""

    @property
    def account(self) -> AccountView:
        """Orders, fills, positions, cash and P&L of the account data (read-only, current)."""

    @property
    def orders(self) -> OrdersView:
        """The strategy's tickets and the account's working orders (read-only)."""

    @property
    def params(self) -> Any:
        """The strategy's ``Params`` instance (or the read-only ``[strategy]`` table)."""

    @property
    def log(self) -> logging.Logger: ...

    @property
    def account_id(self) -> int:
        """The traded account."""

    @property
    def trading_symbol(self) -> str | None:
        """The configured contract to trade (settings ``trading.symbol``)."""

    @property
    def instruments(self) -> tuple[str, ...]:
        """Symbols of every contract of the run."""

    def now_ms(self) -> int:
        """Epoch milliseconds from the run's clock (simulated in replays)."""

    def contract_id(self, symbol: str) -> int: ...

    def symbol(self, contract_id: int) -> str: ...

    def spec(self, symbol_or_id: str | int) -> ContractSpec: ...

    def round_price(self, symbol: str, price: float) -> float: ...

    def position(self, symbol: str) -> int:
        """The server's net position of the traded account in a contract (0 if none)."""

    # ------------------------------------------------------------------ intents

    def place(self, symbol: str, action: str, qty: int, *, order_type: str = "Market",
              price: float | None = None, stop_price: float | None = None,
              trigger: str = "") -> OrderTicket: ...

    def buy(self, symbol: str, qty: int, *, order_type: str = "Market",
            price: float | None = None, stop_price: float | None = None,
            trigger: str = "") -> OrderTicket: ...

    def sell(self, symbol: str, qty: int, *, order_type: str = "Market",
             price: float | None = None, stop_price: float | None = None,
             trigger: str = "") -> OrderTicket: ...

    def bracket(self, symbol: str, action: str, qty: int, *, entry_type: str = "Market",
                price: float | None = None, take_profit: float | None = None,
                stop_loss: float | None = None, trigger: str = "") -> OrderTicket: ...

    def oco(self, symbol: str, action: str, qty: int, *, take_profit: float,
            stop_loss: float, trigger: str = "") -> OrderTicket: ...

    def bracket_strategy(self, symbol: str, action: str, qty: int, *,
                         entry_type: str = "Market", price: float | None = None,
                         target_offset: float | None = None,
                         stop_offset: float | None = None, trailing_stop: bool = False,
                         brackets: Sequence[StrategyBracket] | None = None,
                         trigger: str = "") -> OrderTicket: ...

    def interrupt_strategy(self, ticket_or_strategy_id: OrderTicket | int) -> OrderTicket: ...

    def modify(self, ticket_or_order_id: OrderTicket | int, *, qty: int | None = None,
               price: float | None = None, stop_price: float | None = None
               ) -> OrderTicket: ...

    def cancel(self, ticket_or_order_id: OrderTicket | int) -> OrderTicket: ...

    def cancel_all(self, symbol: str | None = None) -> list[OrderTicket]: ...

    def flatten(self, symbol: str | None = None, trigger: str = "") -> list[OrderTicket]: ...

    # ------------------------------------------------------------------ time and alerts

    def wake_at(self, ms: int) -> None:
        """Call ``on_timer`` at epoch millisecond ``ms``."""

    def alert(self, severity: Severity | str, key: str, title: str, body: str = "") -> None:
        """Tell the trader (``urgent``: SMS and e-mail; ``routine``: e-mail)."""
