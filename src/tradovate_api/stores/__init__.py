"""State stores: the market-data store and the account store, each with a single writer.

Each store is created as a ``(view, writer)`` pair. The writer, the only object with
mutating methods, belongs to exactly one task (the md reader, the account reader); views are
read-only and can be shared freely. See :mod:`.market` and :mod:`.account`. A run under
several logins has one account reader per login, all on the event loop, each applying its
login's snapshots to its login's accounts only (``AccountWriter.apply_snapshot``'s scope).
"""

from __future__ import annotations

from .account import (
    AccountChange,
    AccountView,
    AccountWriter,
    BustedFill,
    DayPnL,
    MissingContractSpec,
    NewFill,
    OrderState,
    OrderStatusChange,
    PnLUnknown,
    PositionDiff,
    Removed,
    SyncReport,
    UnpricedPosition,
    create_account_store,
)
from .market import (
    BarUpdated,
    DomBook,
    HistoryEnded,
    MarketChange,
    MarketDataView,
    MarketDataWriter,
    QuoteState,
    TradesAdded,
    create_market_store,
    wall_clock_ms,
)
from .order_strategies import STRATEGY_DONE, StrategyState
from .pnl import PnL
from .trades import Trade
from .window import WindowStats

__all__ = [
    "STRATEGY_DONE",
    "AccountChange",
    "AccountView",
    "AccountWriter",
    "BarUpdated",
    "BustedFill",
    "DayPnL",
    "DomBook",
    "HistoryEnded",
    "MarketChange",
    "MarketDataView",
    "MarketDataWriter",
    "MissingContractSpec",
    "NewFill",
    "OrderState",
    "OrderStatusChange",
    "PnL",
    "PnLUnknown",
    "PositionDiff",
    "QuoteState",
    "Removed",
    "StrategyState",
    "SyncReport",
    "Trade",
    "TradesAdded",
    "UnpricedPosition",
    "WindowStats",
    "create_account_store",
    "create_market_store",
    "wall_clock_ms",
]
