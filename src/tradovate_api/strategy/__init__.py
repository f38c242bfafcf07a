"""The public strategy API: everything a strategy imports, and nothing else.

Subclass :class:`Strategy`, declare typed parameters as ``Params`` (a :class:`StrategyParams`),
and use ``self.ctx`` (:class:`StrategyAPI`): read-only views of market data
(:class:`MarketDataView`), the account (:class:`AccountView`) and the strategy's orders
(:class:`OrdersView`), and order intents that go through the risk checks. The event types the
hooks receive, the ticket an intent returns and the errors a strategy raises are re-exported
here so that a strategy imports only this package (docs/strategies.md shows the import
contract that enforces it).

The runtime's side — :class:`~.context.StrategyContext` (the implementation of the API), the
:class:`~.dispatch.Dispatcher` and :func:`~.loading.load_strategy` — lives in this package's
submodules and is deliberately not exported: a strategy never builds a context or dispatches.
"""

from __future__ import annotations

from ..alerts import Severity
from ..errors import ConfigError, TradovateError
from ..orders.contracts import ContractSpec, UnknownContract
from ..orders.order_strategy import StrategyBracket
from ..orders.refusals import RefusalLog
from ..orders.tickets import OrderTicket, TicketState
from ..protocol import Side
from ..protocol.models import Position
from ..stores import (
    AccountView,
    BarUpdated,
    DomBook,
    MarketDataView,
    NewFill,
    OrderState,
    PnL,
    PnLUnknown,
    QuoteState,
    Trade,
    TradesAdded,
    WindowStats,
)
from .api import StrategyAPI
from .base import Strategy
from .orders_view import OrdersView
from .params import (
    Fraction,
    NonNegative,
    NonNegativeInt,
    Positive,
    PositiveInt,
    StrategyParams,
    strategy_params,
)

__all__ = [
    "AccountView",
    "BarUpdated",
    "ConfigError",
    "ContractSpec",
    "DomBook",
    "Fraction",
    "MarketDataView",
    "NewFill",
    "NonNegative",
    "NonNegativeInt",
    "OrderState",
    "OrderTicket",
    "OrdersView",
    "PnL",
    "PnLUnknown",
    "Position",
    "Positive",
    "PositiveInt",
    "QuoteState",
    "RefusalLog",
    "Severity",
    "Side",
    "Strategy",
    "StrategyAPI",
    "StrategyBracket",
    "StrategyParams",
    "TicketState",
    "Trade",
    "TradesAdded",
    "TradovateError",
    "UnknownContract",
    "WindowStats",
    "strategy_params",
]
