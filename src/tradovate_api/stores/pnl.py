"""Position and P&L of one account in one contract, computed from its fills.

Fills are matched first-in first-out, in fill-id order (the order the exchange assigned them),
as Tradovate pairs them into fill pairs: a closing fill realizes ``(sell - buy) × qty`` points
against the oldest open lots. Open P&L is marked against the remaining lots. A fill that arrives
late (an id below the last one applied) or is busted makes the ledger replay its fills from
scratch, so the result never depends on arrival order.
"""

from __future__ import annotations

from collections import deque

import msgspec


class PnL(msgspec.Struct, frozen=True, gc=False):
    """Money P&L of one (account, contract): ``realized`` is gross of commissions,
    ``commissions`` the sum over every fill side, ``open`` marked at ``mark``
    (``None`` without a mark while a position is open)."""

    account_id: int
    contract_id: int
    net_pos: int
    avg_price: float | None
    realized: float
    commissions: float
    open: float | None
    mark: float | None

    @property
    def net_realized(self) -> float:
        """Realized P&L after commissions."""
        return self.realized - self.commissions

    @property
    def total(self) -> float | None:
        """Realized after commissions plus open P&L (``None`` if open P&L is unknown)."""
        return None if self.open is None else self.net_realized + self.open


class FifoLedger:
    """Fills of one (account, contract) and the FIFO lots they leave open."""

    __slots__ = ("_fills", "_last_id", "_lots", "bought", "realized_points", "sold")

    def __init__(self) -> None:
        self._fills: dict[int, tuple[bool, int, float]] = {}
        self._last_id: int | None = None
        self._lots: deque[list[float]] = deque()
        """Open lots ``[signed qty, price]``, oldest first, all on one side."""
        self.bought = 0
        self.sold = 0
        self.realized_points = 0.0

    def __contains__(self, fill_id: int) -> bool:
        return fill_id in self._fills

    @property
    def net_pos(self) -> int:
        return self.bought - self.sold

    @property
    def traded_qty(self) -> int:
        """Contracts traded on both sides (what commissions are charged on)."""
        return self.bought + self.sold

    @property
    def avg_price(self) -> float | None:
        """Quantity-weighted price of the open lots; ``None`` when flat."""
        qty = sum(abs(lot[0]) for lot in self._lots)
        if qty == 0:
            return None
        return sum(abs(lot[0]) * lot[1] for lot in self._lots) / qty

    def open_points(self, mark: float) -> float:
        """Open P&L at ``mark`` in points times contracts."""
        return sum(lot[0] * (mark - lot[1]) for lot in self._lots)

    def add(self, fill_id: int, is_buy: bool, qty: int, price: float) -> None:
        """Book a fill (ignored if already booked)."""
        if fill_id in self._fills:
            return
        self._fills[fill_id] = (is_buy, qty, price)
        if self._last_id is None or fill_id > self._last_id:
            self._last_id = fill_id
            self._book(is_buy, qty, price)
        else:
            self._replay()

    def remove(self, fill_id: int) -> None:
        """Unbook a fill (busted or deleted)."""
        if self._fills.pop(fill_id, None) is not None:
            self._replay()

    def _replay(self) -> None:
        self._lots.clear()
        self.bought = self.sold = 0
        self.realized_points = 0.0
        self._last_id = None
        for fill_id in sorted(self._fills):
            self._last_id = fill_id
            self._book(*self._fills[fill_id])

    def _book(self, is_buy: bool, qty: int, price: float) -> None:
        if is_buy:
            self.bought += qty
        else:
            self.sold += qty
        sign = 1 if is_buy else -1
        remaining = qty
        lots = self._lots
        while remaining and lots and (lots[0][0] > 0) != is_buy:
            lot = lots[0]
            take = min(remaining, int(abs(lot[0])))
            self.realized_points += (lot[1] - price) * take if is_buy else (price - lot[1]) * take
            lot[0] += sign * take
            remaining -= take
            if lot[0] == 0:
                lots.popleft()
        if remaining:
            lots.append([float(sign * remaining), price])
