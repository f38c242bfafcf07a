"""The order manager: tickets, at-most-once sending, and settling lost answers.

See :mod:`.tickets` for the ticket life cycle and ADR 0004 for the unknown-state design.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING

from ..alerts import AlertSink
from ..stores import AccountChange, AccountView, SyncReport, wall_clock_ms
from .contracts import ContractBook
from .gateway import OrderGateway
from .tickets import OrderTicket

if TYPE_CHECKING:
    from ..risk import RiskManager

TicketListener = Callable[[OrderTicket], None]


class OrderManager:
    """Encodes, checks and sends order requests; tracks every request as an OrderTicket."""

    def __init__(self, gateway: OrderGateway, account: AccountView, risk: RiskManager,
                 contracts: ContractBook, alerts: AlertSink, *, account_id: int,
                 account_spec: str, clock: Callable[[], int] = wall_clock_ms,
                 id_prefix: str | None = None) -> None:
        raise NotImplementedError

    @property
    def tickets(self) -> Mapping[str, OrderTicket]:
        raise NotImplementedError

    def add_listener(self, listener: TicketListener) -> None:
        raise NotImplementedError

    def place(self, symbol: str, action: str, qty: int, *, order_type: str = "Market",
              price: float | None = None, stop_price: float | None = None,
              trigger: str = "", time_in_force: str | None = None) -> OrderTicket:
        raise NotImplementedError

    def bracket(self, symbol: str, action: str, qty: int, *, entry_type: str = "Market",
                price: float | None = None, stop_price: float | None = None,
                take_profit: float | None = None, stop_loss: float | None = None,
                trigger: str = "") -> OrderTicket:
        raise NotImplementedError

    def modify(self, order: OrderTicket | int, *, qty: int | None = None,
               price: float | None = None, stop_price: float | None = None,
               trigger: str = "") -> OrderTicket:
        raise NotImplementedError

    def cancel(self, order: OrderTicket | int, *, trigger: str = "") -> OrderTicket:
        raise NotImplementedError

    def cancel_all(self, symbol: str | None = None, *, trigger: str = "") -> list[OrderTicket]:
        raise NotImplementedError

    def flatten(self, symbol: str | None = None, *, trigger: str = "") -> list[OrderTicket]:
        raise NotImplementedError

    def unknown(self) -> tuple[OrderTicket, ...]:
        raise NotImplementedError

    def blocked(self, contract_id: int) -> OrderTicket | None:
        raise NotImplementedError

    def on_account(self, changes: Iterable[AccountChange]) -> None:
        raise NotImplementedError

    def on_sync(self, report: SyncReport, connection: int) -> None:
        raise NotImplementedError

    def on_disconnect(self) -> None:
        raise NotImplementedError

    def halt(self, reason: str = "halted") -> None:
        raise NotImplementedError

    @property
    def halted(self) -> str | None:
        raise NotImplementedError
