"""What a strategy sees and does: read-only stores, parameters, clock, logging and orders."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..alerts import AlertSink, Severity
from ..orders.contracts import ContractBook
from ..orders.tickets import OrderTicket
from ..stores import AccountView, MarketDataView

if TYPE_CHECKING:
    from ..orders.manager import OrderManager


class StrategyContext:
    """``strategy.ctx``: market and account views, ``params`` (settings ``[strategy]``),
    ``now_ms()``, ``log``, contract look-ups and the order methods. Order methods never raise
    for a refusal: they return an :class:`~tradovate_api.orders.OrderTicket` whose ``state``
    is ``REFUSED`` and whose ``reason`` says why."""

    def __init__(self, *, market: MarketDataView, account: AccountView, orders: OrderManager,
                 contracts: ContractBook, alerts: AlertSink, account_id: int,
                 params: Mapping[str, Any] | None = None,
                 clock: Callable[[], int] | None = None,
                 log: logging.Logger | None = None) -> None:
        raise NotImplementedError

    def now_ms(self) -> int:
        raise NotImplementedError

    def contract_id(self, symbol: str) -> int:
        raise NotImplementedError

    def symbol(self, contract_id: int) -> str:
        raise NotImplementedError

    def buy(self, symbol: str, qty: int, *, order_type: str = "Market",
            price: float | None = None, stop_price: float | None = None,
            trigger: str = "") -> OrderTicket:
        raise NotImplementedError

    def sell(self, symbol: str, qty: int, *, order_type: str = "Market",
             price: float | None = None, stop_price: float | None = None,
             trigger: str = "") -> OrderTicket:
        raise NotImplementedError

    def bracket(self, symbol: str, action: str, qty: int, *, entry_type: str = "Market",
                price: float | None = None, take_profit: float | None = None,
                stop_loss: float | None = None, trigger: str = "") -> OrderTicket:
        raise NotImplementedError

    def modify(self, ticket_or_order_id: OrderTicket | int, *, qty: int | None = None,
               price: float | None = None, stop_price: float | None = None) -> OrderTicket:
        raise NotImplementedError

    def cancel(self, ticket_or_order_id: OrderTicket | int) -> OrderTicket:
        raise NotImplementedError

    def cancel_all(self, symbol: str | None = None) -> list[OrderTicket]:
        raise NotImplementedError

    def flatten(self, symbol: str | None = None, trigger: str = "") -> list[OrderTicket]:
        raise NotImplementedError

    def wake_at(self, ms: int) -> None:
        raise NotImplementedError

    def alert(self, severity: Severity | str, key: str, title: str, body: str = "") -> None:
        raise NotImplementedError
