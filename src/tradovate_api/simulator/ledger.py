"""Position accounting of one account in one contract, the way Tradovate positions show it.

Fills are paired first-in first-out: a closing fill is matched against the oldest open lots,
each match is a fill pair, and realized P&L is the sum of ``(sell - buy) * qty`` over the pairs
(in price points; the engine multiplies by the product's value per point). ``net_price`` is the
quantity-weighted average price of the lots still open, which is what Tradovate calls the
position's average price. With FIFO pairing both numbers stay consistent: realized plus open
P&L at any mark equals total sold value minus total bought value plus the mark times net position.
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
    _lots: deque[_Lot] = field(default_factory=deque)
    _lots_long: bool = True

    @property
    def net_pos(self) -> int:
        return self.bought - self.sold

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
