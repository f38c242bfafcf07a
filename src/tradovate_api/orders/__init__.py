"""Orders: tickets, the gateway they are sent through, the order manager, the contract book.

Public: :class:`OrderManager`, :class:`OrderTicket`, :class:`TicketState`,
:class:`TicketKind`, :class:`OrderGateway`, :class:`LiveGateway`, :class:`RestGateway`,
:class:`ContractBook`,
:class:`ContractSpec`, :class:`UnknownContract`.
"""

from __future__ import annotations

from .contracts import ContractBook, ContractSpec, UnknownContract
from .gateway import LiveGateway, OrderGateway, RestGateway
from .manager import OrderManager, TicketListener
from .tickets import MONEY_MOVING, OrderTicket, TicketKind, TicketState

__all__ = [
    "MONEY_MOVING", "ContractBook", "ContractSpec", "LiveGateway", "OrderGateway",
    "OrderManager", "OrderTicket", "RestGateway", "TicketKind", "TicketListener",
    "TicketState", "UnknownContract",
]
