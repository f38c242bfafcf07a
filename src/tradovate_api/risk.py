"""Risk limits, checked before every order is sent, and the watches that halt trading.

:class:`RiskManager` answers :meth:`RiskManager.check` with a refusal reason (``None``: go)
for each ticket the order manager is about to send: kill switch (a file that exists, or a
signal), halted (daily loss), trading-hours window, max order quantity, max position per
contract counting working orders and requests in flight, max orders per second. Cancels and
liquidations always pass: they only reduce risk. A daily loss (realized after commissions plus
open P&L) beyond the limit, or the kill switch, halts trading and flattens everything through
the handler the order manager registers. Every breach is an urgent ``risk.*`` alert.
"""

from __future__ import annotations

from collections.abc import Callable

from .alerts import AlertSink
from .orders.tickets import OrderTicket
from .settings import Risk
from .stores import AccountView, MarketDataView

HaltHandler = Callable[[str], None]
"""Called with the reason when trading must stop and positions be flattened."""


class RiskManager:
    """Pre-trade checks and the daily-loss / kill-switch watches (see the module doc)."""

    def __init__(self, limits: Risk, account: AccountView, market: MarketDataView,
                 alerts: AlertSink, clock: Callable[[], int], *,
                 account_id: int | None = None) -> None:
        raise NotImplementedError

    def on_halt(self, handler: HaltHandler) -> None:
        """Register who halts and flattens (the order manager does so itself)."""
        raise NotImplementedError

    @property
    def halted(self) -> str | None:
        """Why trading is halted (``None``: it is not)."""
        raise NotImplementedError

    def check(self, ticket: OrderTicket, in_flight_buy: int = 0,
              in_flight_sell: int = 0) -> str | None:
        """The reason to refuse ``ticket`` or ``None``. ``in_flight_*`` are quantities of
        requests sent in the contract that the account store does not show yet."""
        raise NotImplementedError

    def kill(self, reason: str = "kill switch") -> None:
        """Halt and flatten now (SIGUSR2, the kill file, an operator)."""
        raise NotImplementedError

    def evaluate(self) -> None:
        """Run the watches once: kill file, daily loss (call on fills and periodically)."""
        raise NotImplementedError
