"""State stores: the market-data store and the account store, each with a single writer.

Each store is created as a ``(view, writer)`` pair. The writer, the only object with
mutating methods, belongs to exactly one task (the md reader, the account reader); views are
read-only and can be shared freely. See :mod:`.market` and :mod:`.account`.
"""

from __future__ import annotations

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
from .trades import Side, Trade, aggressor
from .window import WindowStats

__all__ = [
    "BarUpdated", "DomBook", "HistoryEnded", "MarketChange", "MarketDataView",
    "MarketDataWriter", "QuoteState", "Side", "Trade", "TradesAdded", "WindowStats",
    "aggressor", "create_market_store", "wall_clock_ms",
]
