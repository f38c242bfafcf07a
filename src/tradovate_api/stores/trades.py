"""Time-and-sales prints with their aggressor side, made from unpacked tick-chart ticks.

The side is read from the bid and ask packed into each tick
(:func:`~tradovate_api.protocol.aggressor`). Quote ``Trade`` entries are not used for time and
sales: quotes repeat the last trade whenever only the bid or ask moves, so they cannot be
counted.
"""

from __future__ import annotations

import msgspec

from ..protocol import Side, aggressor
from ..protocol.models import Tick


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


def trade_from_tick(contract_id: int, tick: Tick) -> Trade:
    return Trade(contract_id, tick.id, tick.timestamp_ms, tick.price, tick.size, aggressor(tick),
                 tick.bid_price, tick.ask_price)
