"""What the shutdown keeps, cancels and reports, read from an account view.

A position must not be left naked when the program stops. So the shutdown keeps an order only
if it *protects* an open position, and cancels every other working order — an *entry*, i.e.
an order that could open a position or make one bigger:

* protective: a stop (Stop, StopLimit, TrailingStop, TrailingStopLimit) on the closing side of
  an open position, as long as the kept stops together are no bigger than the position (a
  second stop for the same contracts would open the other way once both fire); the stops
  nearest the market are kept first;
* also kept: an order the server links to a kept stop as its OCO partner (a bracket's
  target), since a fill of either cancels the other;
* everything else is an entry — including a standalone target, which could open a position
  once the stop has closed this one.

:func:`describe` renders the plan for the summary, the log and the alert:
``ESZ6 +1 @ 5012.25 — protected by Sell Stop 1 @ 5002.25 (on the server)`` or
``NQZ6 -2 — NOT PROTECTED``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..orders.protection import STOP_TYPES
from ..stores import AccountView, OrderState

_NOT_WORKING = frozenset({"PendingCancel"})
"""Statuses of open orders that are already on their way out."""


@dataclass(frozen=True, slots=True)
class OpenPosition:
    """One open position and the orders that protect it."""

    contract_id: int
    symbol: str
    net: int
    price: float | None
    stops: tuple[OrderState, ...]
    """Kept closing-side stops, nearest the market first."""
    linked: tuple[OrderState, ...]
    """Kept OCO partners of those stops (targets)."""

    @property
    def covered(self) -> int:
        """Contracts the *working* kept stops would close."""
        return sum(_remaining(s) for s in self.stops if s.status == "Working")

    @property
    def protected(self) -> bool:
        return self.covered >= abs(self.net)


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """The account's open positions with their protection, and the entries to cancel."""

    positions: tuple[OpenPosition, ...]
    entries: tuple[OrderState, ...]
    """Working orders that protect nothing."""

    @property
    def unprotected(self) -> tuple[OpenPosition, ...]:
        return tuple(p for p in self.positions if not p.protected)

    @property
    def settled(self) -> bool:
        """Nothing left to do: no entries working and every position protected."""
        return not self.entries and not self.unprotected


def plan_exit(view: AccountView, account_id: int, symbol: Callable[[int], str]) -> ExitPlan:
    """Classify the account's working orders (see the module doc); ``symbol`` names a
    contract for the report."""
    working = [o for o in view.open_orders(account_id) if o.status not in _NOT_WORKING]
    kept: set[int] = set()
    positions: list[OpenPosition] = []
    for position in sorted(view.positions.values(), key=lambda p: p.contract_id):
        if position.account_id != account_id or position.net_pos == 0:
            continue
        net, contract_id = position.net_pos, position.contract_id
        closing = "Sell" if net > 0 else "Buy"
        candidates = [o for o in working if o.order.contract_id == contract_id
                      and o.order.action == closing and o.version is not None
                      and o.version.order_type in STOP_TYPES]
        # nearest the market first: the highest sell stop of a long, the lowest buy stop
        # of a short
        candidates.sort(key=lambda o: _stop_price(o) * (-1 if net > 0 else 1))
        stops: list[OrderState] = []
        size = 0
        for order in candidates:
            qty = _remaining(order)
            if size + qty <= abs(net):
                stops.append(order)
                size += qty
        stop_ids = {o.id for o in stops}
        linked = tuple(o for o in working if o.id not in stop_ids and (
            o.order.oco_id in stop_ids or any(s.order.oco_id == o.id for s in stops)))
        kept.update(stop_ids, (o.id for o in linked))
        positions.append(OpenPosition(contract_id, symbol(contract_id), net,
                                      position.net_price, tuple(stops), linked))
    entries = tuple(o for o in working if o.id not in kept)
    return ExitPlan(tuple(positions), entries)


def describe(plan: ExitPlan, symbol: Callable[[int], str], *, confirmed: bool) -> list[str]:
    """One line per open position, then one per entry still working; ``confirmed``: the
    account data come from the server now (else they are the last known)."""
    where = "(on the server)" if confirmed else "(last known: the server could not be read)"
    lines: list[str] = []
    for p in plan.positions:
        head = f"{p.symbol} {p.net:+d}" + ("" if p.price is None else f" @ {p.price:g}")
        orders = ", ".join([_order_text(s) for s in p.stops]
                           + [f"{_order_text(o)} (OCO)" for o in p.linked])
        if p.protected:
            lines.append(f"{head} — protected by {orders} {where}")
        elif p.stops:
            lines.append(f"{head} — NOT PROTECTED: only {p.covered} of {abs(p.net)} covered "
                         f"by {orders} {where}")
        else:
            lines.append(f"{head} — NOT PROTECTED {where}")
    for order in plan.entries:
        contract = order.order.contract_id
        name = symbol(contract) if contract is not None else "?"
        lines.append(f"working: {_order_text(order)} {name} — not cancelled {where}")
    return lines


def _order_text(order: OrderState) -> str:
    version = order.version
    if version is None:
        return f"{order.order.action} order {order.id}"
    price = version.stop_price if version.order_type in STOP_TYPES else version.price
    text = f"{order.order.action} {version.order_type} {_remaining(order)}"
    if price is not None:
        text += f" @ {price:g}"
    if order.status != "Working":
        text += f" ({order.status})"
    return text


def _stop_price(order: OrderState) -> float:
    version = order.version
    price = version.stop_price if version is not None else None
    return price if price is not None else 0.0


def _remaining(order: OrderState) -> int:
    remaining = order.remaining
    return 0 if remaining is None else max(remaining, 0)
