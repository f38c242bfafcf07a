"""The simulated order book of each contract, shared by the market generator and the engine.

Single writer: only the market generator (or a replay source) mutates a :class:`Book`; the
matching engine and the md socket read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..protocol.models import Dom, PriceLevel, Quote, Tick


@dataclass(slots=True)
class Book:
    """Depth of one contract. ``bids`` best (highest) first, ``offers`` best (lowest) first."""

    contract_id: int
    tick_size: float
    bids: list[PriceLevel] = field(default_factory=list)
    offers: list[PriceLevel] = field(default_factory=list)
    last_price: float | None = None
    last_size: float = 0.0
    total_volume: float = 0.0

    @property
    def best_bid(self) -> float | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_offer(self) -> float | None:
        return self.offers[0].price if self.offers else None


@dataclass(slots=True)
class MarketUpdate:
    """What one generator step changed: the md socket sends quotes/DOMs, the engine matches
    resting orders against ``trades`` and the books, charts append ``trades``."""

    now_ms: int
    quotes: list[Quote] = field(default_factory=list)
    doms: list[Dom] = field(default_factory=list)
    trades: list[tuple[int, Tick]] = field(default_factory=list)
    """(contract_id, trade) in time order."""
