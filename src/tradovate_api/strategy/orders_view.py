"""The strategy's read-only view of its orders.

A strategy needs to look at its requests (the tickets it got back, by client order id) and at
the account's working orders; it must not reach the order manager, which would let it send
without risk checks or rewrite the manager's records. So the context hands it this view: the
manager's tickets through a read-only mapping (each ticket a frozen struct the manager alone
updates) and the working orders read from the account store's view.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..orders.contracts import ContractBook
from ..orders.tickets import OrderTicket, TicketState
from ..readonly import SetOnce
from ..stores import AccountView, OrderState


class OrdersView(SetOnce):
    """``ctx.orders``: the traded account's tickets and working orders, read-only."""

    __slots__ = ("_account", "_account_id", "_contracts", "_tickets")

    def __init__(self, tickets: Mapping[str, OrderTicket], account: AccountView,
                 account_id: int, contracts: ContractBook) -> None:
        self._tickets = tickets
        self._account = account
        self._account_id = account_id
        self._contracts = contracts

    @property
    def tickets(self) -> Mapping[str, OrderTicket]:
        """Every recent ticket by ``cl_ord_id``, oldest first (a live read-only mapping)."""
        return self._tickets

    def ticket(self, cl_ord_id: str) -> OrderTicket | None:
        """The ticket of one request (``None`` if unknown or pruned from the history)."""
        return self._tickets.get(cl_ord_id)

    def unknown(self) -> tuple[OrderTicket, ...]:
        """Tickets whose answer was lost: new orders in their contract are refused until
        the account data settle them."""
        return tuple(t for t in self._tickets.values() if t.state is TicketState.UNKNOWN)

    def working(self, symbol: str | None = None) -> tuple[OrderState, ...]:
        """The traded account's orders not done yet (of one contract if ``symbol``)."""
        contract_id = None if symbol is None else self._contracts.contract_id(symbol)
        return self._account.open_orders(self._account_id, contract_id)
