"""Orders: tickets, the gateway they are sent through, the order manager, the resolver of
lost answers, protective stops, order strategies, the contract book.

Public: :class:`OrderManager`, :class:`OrderTicket`, :class:`TicketState`,
:class:`TicketKind`, :class:`StrategyBracket`, :class:`OrderGateway`, :class:`LiveGateway`,
:class:`RestGateway`, :class:`OutcomeResolver`, :class:`RestServerCommands`,
:class:`ServerCommands`, :class:`Coverage`, :class:`StopCover`, :class:`ContractBook`,
:class:`ContractSpec`, :class:`UnknownContract`.
"""

from __future__ import annotations

from .contracts import ContractBook, ContractSpec, UnknownContract
from .gateway import LiveGateway, OrderGateway, RestGateway
from .manager import OrderManager, TicketListener
from .order_strategy import StrategyBracket
from .protection import Coverage, StopCover
from .resolver import OutcomeResolver, RestServerCommands, ServerCommands
from .tickets import MONEY_MOVING, OrderTicket, TicketKind, TicketState

__all__ = [
    "MONEY_MOVING", "ContractBook", "ContractSpec", "Coverage", "LiveGateway", "OrderGateway",
    "OrderManager", "OrderTicket", "OutcomeResolver", "RestGateway", "RestServerCommands",
    "ServerCommands", "StopCover", "StrategyBracket", "TicketKind", "TicketListener",
    "TicketState", "UnknownContract",
]
