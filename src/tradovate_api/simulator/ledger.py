"""Position accounting of one account in one contract, the way Tradovate positions show it.

Fills are paired first-in first-out: a closing fill is matched against the oldest open lots,
each match is a fill pair, and realized P&L is the sum of ``(sell - buy) * qty`` over the pairs
(in price points; the engine multiplies by the product's value per point). ``net_price`` is the
quantity-weighted average price of the lots still open, which is what Tradovate calls the
position's average price. With FIFO pairing both numbers stay consistent: realized plus open
P&L at any mark equals total sold value minus total bought value plus the mark times net position.

A position carried from the previous trade date (``prev_pos`` at ``prev_price``, the previous
settlement) is an open lot at ``prev_price``: ``net_pos = prev_pos + bought - sold`` and today's
realized P&L of closing it is measured against ``prev_price``, as Tradovate reports it.
:meth:`PositionLedger.roll` starts a new trade date: the open lots are marked to the
settlement, which becomes ``prev_price``, and the day's totals restart.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Pair:
    """One closing match of a buy fill against a sell fill."""

    buy_fill_id: int
    sell_fill_id: int
    qty: int
    buy_price: float
    sell_price: float

    @property
    def points(self) -> float:
        """Realized P&L of the pair in price points times contracts."""
        return (self.sell_price - self.buy_price) * self.qty


@dataclass(slots=True)
class _Lot:
    fill_id: int
    qty: int
    price: float


@dataclass(slots=True)
class PositionLedger:
    """Open lots, totals and pairs of one (account, contract)."""

    bought: int = 0
    bought_value: float = 0.0
    sold: int = 0
    sold_value: float = 0.0
    prev_pos: int = 0
    prev_price: float | None = None
    _lots: deque[_Lot] = field(default_factory=deque)
    _lots_long: bool = True

    @property
    def net_pos(self) -> int:
        return self.prev_pos + self.bought - self.sold

    def carry(self, fill_id: int, prev_pos: int, prev_price: float) -> None:
        """Start from a position carried overnight (one lot named by an earlier day's fill)."""
        self.prev_pos, self.prev_price = prev_pos, prev_price
        self._lots.clear()
        if prev_pos:
            self._lots_long = prev_pos > 0
            self._lots.append(_Lot(fill_id, abs(prev_pos), prev_price))

    def roll(self, settlement: float) -> float:
        """Start the next trade date at ``settlement``: return the open P&L (points times
        contracts) the open lots had against it, which the day settles."""
        points = self.open_points(settlement)
        for lot in self._lots:
            lot.price = settlement
        self.prev_pos, self.prev_price = self.net_pos, settlement
        self.bought = self.sold = 0
        self.bought_value = self.sold_value = 0.0
        return points

    @property
    def net_price(self) -> float | None:
        """Average price of the open lots; ``None`` when flat."""
        qty = sum(lot.qty for lot in self._lots)
        if qty == 0:
            return None
        return sum(lot.qty * lot.price for lot in self._lots) / qty

    def open_points(self, mark: float) -> float:
        """Open P&L in points times contracts at ``mark``."""
        net_price = self.net_price
        return 0.0 if net_price is None else (mark - net_price) * self.net_pos

    def apply(self, fill_id: int, is_buy: bool, qty: int, price: float) -> list[Pair]:
        """Book one fill; return the pairs it closed (oldest lots first)."""
        if qty <= 0:
            raise ValueError("fill quantity must be positive")
        if is_buy:
            self.bought += qty
            self.bought_value += qty * price
        else:
            self.sold += qty
            self.sold_value += qty * price
        pairs: list[Pair] = []
        remaining = qty
        while remaining and self._lots and self._lots_long != is_buy:
            lot = self._lots[0]
            take = min(remaining, lot.qty)
            if is_buy:
                pairs.append(Pair(fill_id, lot.fill_id, take, price, lot.price))
            else:
                pairs.append(Pair(lot.fill_id, fill_id, take, lot.price, price))
            lot.qty -= take
            remaining -= take
            if lot.qty == 0:
                self._lots.popleft()
        if remaining:
            if not self._lots:
                self._lots_long = is_buy
            self._lots.append(_Lot(fill_id, remaining, price))
        return pairs
