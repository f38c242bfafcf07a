"""Quantities in flight per contract and side, kept up to date instead of summed per order.

The risk check's max-position limit adds to the position and the working orders every
placement the account store does not show yet: sent and unanswered or of unknown outcome, or
acknowledged before its order's entity arrived. Summing those over every open and working
ticket before each order made an order cost more the more were in flight (a burst of 2,000:
~100 µs each, warm). :class:`InFlight` keeps the sum instead:

- a ticket without an order id is always in flight: its quantity is added to its contract's
  counter when it becomes counted and taken off when it stops (the order manager calls
  :meth:`InFlight.update` whenever a ticket's standing can change: sent, taken over, settled,
  watched, unwatched, given an order id);
- a ticket with an order id is in flight only while the store does not show that order,
  which changes without the order manager doing anything. Such tickets are kept apart and
  checked against the store when the quantities are read; one found shown is set aside and
  not checked again — until the store forgets orders (an order deleted, a snapshot replacing
  memory: :attr:`~tradovate_api.stores.AccountView.orders_forgotten`), when every ticket set
  aside is checked again.

Each ticket moves at most once between those two groups per forgetting, so a read costs the
tickets really waiting for their order's entity, not every order of the session.
"""

from __future__ import annotations

from ..stores import AccountView
from .ticket_index import TicketIndex
from .tickets import OrderTicket


class InFlight:
    """Quantities of placements the account store does not show yet (see the module doc).

    ``update(ticket, counted)`` files a ticket: ``counted`` is whether it is an entering
    placement held open or watched by the order manager. ``quantities(contract_id)`` is
    ``(buy, sell)``."""

    __slots__ = ("_account", "_counted", "_forgotten", "_qty", "_shown", "_unshown")

    def __init__(self, account: AccountView) -> None:
        self._account = account
        self._qty: dict[int, list[int]] = {}
        """Contract id → [buy, sell] of the counted tickets without an order id."""
        self._counted: dict[str, tuple[int, int, int]] = {}
        """``cl_ord_id`` → (contract id, buy, sell) it added to :attr:`_qty`."""
        self._unshown: TicketIndex[str] = TicketIndex()
        """Counted tickets with an order id the store did not show when last checked."""
        self._shown: dict[str, OrderTicket] = {}
        """Counted tickets with an order id the store showed (not in flight)."""
        self._forgotten = account.orders_forgotten

    def update(self, ticket: OrderTicket, counted: bool) -> None:
        """File ``ticket`` again after anything that can change its standing."""
        key = ticket.cl_ord_id
        added = self._counted.pop(key, None)
        if added is not None:
            counter = self._qty[added[0]]
            counter[0] -= added[1]
            counter[1] -= added[2]
        self._unshown.pop(key)
        self._shown.pop(key, None)
        if not counted:
            return
        if ticket.order_id is None:
            buy, sell = (ticket.qty, 0) if ticket.action == "Buy" else (0, ticket.qty)
            self._counted[key] = (ticket.contract_id, buy, sell)
            qty = self._qty.get(ticket.contract_id)
            if qty is None:
                qty = self._qty[ticket.contract_id] = [0, 0]
            qty[0] += buy
            qty[1] += sell
        else:
            self._unshown.put(key, ticket)

    def quantities(self, contract_id: int) -> tuple[int, int]:
        """(buy, sell) quantities in flight in a contract."""
        account = self._account
        if account.orders_forgotten != self._forgotten:
            self._forgotten = account.orders_forgotten
            for key, ticket in self._shown.items():
                self._unshown.put(key, ticket)
            self._shown.clear()
        qty = self._qty.get(contract_id)
        buy, sell = (0, 0) if qty is None else qty
        waiting = self._unshown.in_contract(contract_id)
        if waiting:
            shown: list[OrderTicket] = []
            for ticket in waiting:
                if account.order(ticket.order_id or 0) is not None:
                    shown.append(ticket)
                elif ticket.action == "Buy":
                    buy += ticket.qty
                else:
                    sell += ticket.qty
            for ticket in shown:
                self._unshown.pop(ticket.cl_ord_id)
                self._shown[ticket.cl_ord_id] = ticket
        return buy, sell
