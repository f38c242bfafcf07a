"""Position and P&L of one account in one contract for one trade date, counted as the exchange
counts them.

Tradovate keeps a position per (account, contract) and trade date (the protocol reference
§5.2, §5.4): ``prevPos`` contracts carried from the previous trade date at ``prevPrice`` (the
previous settlement), then the day's fills, so ``netPos = prevPos + bought − sold``. The
ledger starts its trade date with that opening lot and matches the day's fills against it
and each other first-in first-out, in fill-id order (the order the exchange assigned them),
as Tradovate pairs them into fill pairs: a closing fill realizes ``(sell − buy) × qty``
points against the oldest open lots. Open P&L is marked against the remaining lots. A fill
that arrives late (an id below the last one applied) or is busted, or an opening lot that
changes, makes the ledger replay from scratch, so the result never depends on arrival order.

An opening lot without a price (``prevPos`` carried but no ``prevPrice``) is *unpriced*: the
ledger never invents a price for it. Contracts closed against it realize nothing it can
count, and open ones have no open P&L; :attr:`FifoLedger.unpriced` says how many contracts
that concerns, and :class:`PnL` reports the P&L as incomplete (``total`` is ``None``).
"""

from __future__ import annotations

import datetime as dt
from collections import deque

import msgspec


class PnL(msgspec.Struct, frozen=True, gc=False):
    """Money P&L of one (account, contract) on one trade date: ``realized`` is gross of
    commissions, ``commissions`` the sum over the day's fill sides, ``open`` marked at
    ``mark`` (``None`` without a mark while a position is open, or while an open opening lot
    has no price). ``prev_pos`` contracts were carried in at ``prev_price``; ``unpriced`` of
    them had no price, and neither ``realized`` nor ``open`` counts those."""

    account_id: int
    contract_id: int
    net_pos: int
    avg_price: float | None
    realized: float
    commissions: float
    open: float | None
    mark: float | None
    trade_date: dt.date | None = None
    prev_pos: int = 0
    prev_price: float | None = None
    unpriced: int = 0

    @property
    def net_realized(self) -> float:
        """Realized P&L after commissions."""
        return self.realized - self.commissions

    @property
    def total(self) -> float | None:
        """Realized after commissions plus open P&L (``None`` if open P&L is unknown or an
        opening lot has no price)."""
        if self.open is None or self.unpriced:
            return None
        return self.net_realized + self.open


class _Lot:
    """Open contracts at one price (``None``: an unpriced opening lot); ``qty`` is signed and
    every lot of a ledger is on the same side."""

    __slots__ = ("price", "qty")

    def __init__(self, qty: int, price: float | None) -> None:
        self.qty = qty
        self.price = price


class FifoLedger:
    """The opening lot and fills of one (account, contract) on one trade date, and the FIFO
    lots they leave open. ``trade_date`` is ``None`` until an entity with one is seen."""

    __slots__ = ("_fills", "_last_id", "_lots", "bought", "prev_pos", "prev_price",
                 "realized_points", "sold", "trade_date", "unpriced_closed")

    def __init__(self, trade_date: dt.date | None = None, prev_pos: int = 0,
                 prev_price: float | None = None) -> None:
        self.trade_date = trade_date
        self.prev_pos = prev_pos
        self.prev_price = prev_price
        self._fills: dict[int, tuple[bool, int, float]] = {}
        self._last_id: int | None = None
        self._lots: deque[_Lot] = deque()
        self.bought = 0
        self.sold = 0
        self.realized_points = 0.0
        self.unpriced_closed = 0
        """Contracts of an unpriced opening lot closed by the day's fills."""
        self._replay()

    def __contains__(self, fill_id: int) -> bool:
        return fill_id in self._fills

    @property
    def net_pos(self) -> int:
        return self.prev_pos + self.bought - self.sold

    @property
    def traded_qty(self) -> int:
        """Contracts traded on both sides this trade date (what commissions are charged on;
        the carried opening lot was charged when it was traded)."""
        return self.bought + self.sold

    @property
    def fill_ids(self) -> tuple[int, ...]:
        """The fills counted, in id order."""
        return tuple(sorted(self._fills))

    @property
    def is_empty(self) -> bool:
        """Nothing carried in and nothing traded: it adds nothing to any figure."""
        return not self._fills and self.prev_pos == 0

    @property
    def unpriced_open(self) -> int:
        """Contracts still open from an unpriced opening lot."""
        if not self.prev_pos or self.prev_price is not None:
            return 0  # only an opening lot can be unpriced
        return sum(abs(lot.qty) for lot in self._lots if lot.price is None)

    @property
    def unpriced(self) -> int:
        """Contracts of an unpriced opening lot, still open or closed today: the P&L is
        incomplete while this is not 0."""
        return self.unpriced_open + self.unpriced_closed

    @property
    def avg_price(self) -> float | None:
        """Quantity-weighted price of the open lots; ``None`` when flat or when an open lot
        has no price."""
        qty = 0
        value = 0.0
        for lot in self._lots:
            if lot.price is None:
                return None
            qty += abs(lot.qty)
            value += abs(lot.qty) * lot.price
        return value / qty if qty else None

    def open_points(self, mark: float) -> float:
        """Open P&L at ``mark`` in points times contracts, over the priced lots (check
        :attr:`unpriced_open` first: an unpriced lot has no open P&L to count)."""
        return sum(lot.qty * (mark - lot.price) for lot in self._lots if lot.price is not None)

    def set_opening(self, prev_pos: int, prev_price: float | None) -> None:
        """The position carried into the trade date (``prevPos`` at ``prevPrice``); a
        change replays the day's fills against it."""
        if prev_price is not None and prev_pos == 0:
            prev_price = None  # nothing carried: the price means nothing to the ledger
        if (prev_pos, prev_price) != (self.prev_pos, self.prev_price):
            self.prev_pos, self.prev_price = prev_pos, prev_price
            self._replay()

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
        if self.prev_pos:
            self._lots.append(_Lot(self.prev_pos, self.prev_price))
        self.bought = self.sold = 0
        self.realized_points = 0.0
        self.unpriced_closed = 0
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
        while remaining and lots and (lots[0].qty > 0) != is_buy:
            lot = lots[0]
            take = min(remaining, abs(lot.qty))
            if lot.price is None:
                self.unpriced_closed += take
            else:
                self.realized_points += ((lot.price - price) * take if is_buy
                                         else (price - lot.price) * take)
            lot.qty += sign * take
            remaining -= take
            if lot.qty == 0:
                lots.popleft()
        if remaining:
            lots.append(_Lot(sign * remaining, price))
