"""Time-and-sales prints with their aggressor side, made from unpacked tick-chart ticks.

The side comes from the bid and ask that Tradovate packs into every tick-chart tick (the book
at the moment of the print): a print at or above the ask was bought by an aggressive buyer, at
or below the bid sold by an aggressive seller (the ask is tested first, so a print in a locked
market counts as a buy, as in the reference strategy); anything else, including a tick that
carried no bid/ask, is ``Unknown``. Quote ``Trade`` entries are not used for time and sales:
quotes repeat the last trade whenever only the bid or ask moves, so they cannot be counted.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from ..protocol.models import Tick


class Side(StrEnum):
    """Aggressor side of a print."""

    BUY = "Buy"
    SELL = "Sell"
    UNKNOWN = "Unknown"


class Trade(msgspec.Struct, frozen=True, gc=False):
    """One print of ``contract_id``; ``id`` is the exchange tick id, time in epoch ms."""

    contract_id: int
    id: int
    timestamp_ms: int
    price: float
    size: float
    side: Side
    bid: float | None = None
    ask: float | None = None


def aggressor(tick: Tick) -> Side:
    """Buy at/above the tick's ask, Sell at/below its bid, otherwise Unknown."""
    if tick.ask_price is not None and tick.price >= tick.ask_price:
        return Side.BUY
    if tick.bid_price is not None and tick.price <= tick.bid_price:
        return Side.SELL
    return Side.UNKNOWN


def trade_from_tick(contract_id: int, tick: Tick) -> Trade:
    return Trade(contract_id, tick.id, tick.timestamp_ms, tick.price, tick.size, aggressor(tick),
                 tick.bid_price, tick.ask_price)
