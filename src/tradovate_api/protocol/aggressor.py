"""The aggressor side of a print, from the bid and ask Tradovate packs into every tick-chart
tick (the book at the moment of the print).

A print at or above the ask was bought by an aggressive buyer, at or below the bid sold by an
aggressive seller (the ask is tested first, so a print in a locked market counts as a buy, as
in the reference strategy); anything else, including a tick that carried no bid/ask, is
``Unknown``. It is a reading of the wire's ticks, so it lives in the protocol core: the
client's time and sales and the simulator playing a recording read prints the same way.
"""

from __future__ import annotations

from enum import StrEnum

from .models.marketdata import Tick


class Side(StrEnum):
    """Aggressor side of a print."""

    BUY = "Buy"
    SELL = "Sell"
    UNKNOWN = "Unknown"


def aggressor(tick: Tick) -> Side:
    """Buy at/above the tick's ask, Sell at/below its bid, otherwise Unknown."""
    if tick.ask_price is not None and tick.price >= tick.ask_price:
        return Side.BUY
    if tick.bid_price is not None and tick.price <= tick.bid_price:
        return Side.SELL
    return Side.UNKNOWN
