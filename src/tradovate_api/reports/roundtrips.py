"""Round trips (flat → flat) of one account in one contract, made from its fills.

A trader reads a session as trades, not as fills: each trade has an entry (the fills that
opened or added to the position) and an exit (the fills that reduced it to flat). Exits are
matched to the entry lots first-in first-out, in fill-id order, exactly as the account store's
P&L ledger does, so the trades' gross P&L adds up to the store's realized P&L. A fill that
crosses zero closes the trade and opens the next one with its remainder; commissions are
charged per contract per side on whichever trade each contract belongs to.

A position carried in from the previous trade date opens the day's first trade, at its price
(the settlement) and the session start, with no commission (it was charged when it was
traded). Carried contracts without a price make a trade whose P&L is unknown: it is left out
(the position line says how many contracts were unpriced).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import msgspec

from .data import FillMarker, FillRole, TradeLine


class FillIn(msgspec.Struct, frozen=True, gc=False):
    """An active fill with its time and why its order was sent."""

    id: int
    t_ms: int
    is_buy: bool
    qty: int
    price: float
    trigger: str


class Carried(msgspec.Struct, frozen=True, gc=False):
    """The position carried in from the previous trade date: ``qty`` signed, at ``price``
    (``None``: unpriced), since ``t_ms`` (the session start)."""

    qty: int
    price: float | None
    t_ms: int
    trigger: str


class _Open:
    """The trade being built while the position is not flat."""

    __slots__ = ("carried", "commissions", "entry_ms", "entry_triggers", "entry_value",
                 "exit_ms", "exit_qty", "exit_triggers", "exit_value", "points", "qty", "sign",
                 "unpriced")

    def __init__(self, sign: int, t_ms: int) -> None:
        self.sign = sign
        self.entry_ms = t_ms
        self.qty = 0
        self.entry_value = 0.0
        self.exit_qty = 0
        self.exit_value = 0.0
        self.exit_ms: int | None = None
        self.points = 0.0
        self.commissions = 0.0
        self.entry_triggers: list[str] = []
        self.exit_triggers: list[str] = []
        self.carried = False
        self.unpriced = False


def _join(triggers: Iterable[str]) -> str:
    """Distinct non-empty triggers in order of first appearance."""
    return "; ".join(dict.fromkeys(t for t in triggers if t))


def round_trips(fills: Iterable[FillIn], *, account_id: int, contract_id: int, symbol: str,
                value_per_point: float, commission_per_side: float,
                carried: Carried | None = None) -> tuple[list[TradeLine], list[FillMarker]]:
    """The trades (the last one possibly still open) and a chart marker per fill;
    ``carried`` is the position the trade date opened with."""
    trades: list[TradeLine] = []
    markers: list[FillMarker] = []
    lots: deque[list[float]] = deque()
    """Open lots ``[qty, price]``, oldest first, all on the side of ``current.sign``."""
    current: _Open | None = None

    def finish(trade: _Open) -> None:
        if trade.unpriced:
            return
        gross = trade.points * value_per_point
        trades.append(TradeLine(
            account_id, contract_id, symbol, "Long" if trade.sign > 0 else "Short", trade.qty,
            trade.entry_ms, trade.entry_value / trade.qty, trade.exit_qty, trade.exit_ms,
            trade.exit_value / trade.exit_qty if trade.exit_qty else None, gross,
            trade.commissions, gross - trade.commissions, _join(trade.entry_triggers),
            _join(trade.exit_triggers), trade.carried))

    if carried is not None and carried.qty:
        current = _Open(1 if carried.qty > 0 else -1, carried.t_ms)
        current.carried = True
        current.unpriced = carried.price is None
        price = 0.0 if carried.price is None else carried.price
        lots.append([float(abs(carried.qty)), price])
        current.qty = abs(carried.qty)
        current.entry_value = abs(carried.qty) * price
        current.entry_triggers.append(carried.trigger)

    for fill in sorted(fills, key=_by_id):
        sign = 1 if fill.is_buy else -1
        remaining = fill.qty
        closed = 0
        if current is not None and sign != current.sign:
            while remaining and lots:
                lot = lots[0]
                take = min(remaining, int(lot[0]))
                current.points += (fill.price - lot[1]) * take * current.sign
                lot[0] -= take
                remaining -= take
                closed += take
                if lot[0] == 0:
                    lots.popleft()
            current.exit_qty += closed
            current.exit_value += closed * fill.price
            current.exit_ms = fill.t_ms
            current.commissions += closed * commission_per_side
            current.exit_triggers.append(fill.trigger)
            if not lots:
                finish(current)
                current = None
        if remaining:
            if current is None:
                current = _Open(sign, fill.t_ms)
            lots.append([float(remaining), fill.price])
            current.qty += remaining
            current.entry_value += remaining * fill.price
            current.commissions += remaining * commission_per_side
            current.entry_triggers.append(fill.trigger)
        role: FillRole = "entry" if not closed else ("reverse" if remaining else "exit")
        markers.append(FillMarker(fill.t_ms, "Buy" if fill.is_buy else "Sell", fill.qty,
                                  fill.price, role, fill.trigger))
    if current is not None:
        finish(current)
    return trades, markers


def _by_id(fill: FillIn) -> int:
    return fill.id
