"""Everything the exchange listed for the chaos run's account, kept across trade-date rolls.

The simulator's lists, like Tradovate's, drop the fills and finished orders of earlier trade
dates at the roll (the protocol reference §5.4). The soak rolls the date itself, so it takes
the record right before each roll and at every check; what it holds is every order, command,
order strategy and fill the account ever had in the run.
"""

from __future__ import annotations

from ..protocol.models import (
    CashBalance,
    Command,
    Fill,
    Order,
    OrderStrategy,
    OrderStrategyLink,
    SyncMessage,
)
from ..simulator import Simulator


class ExchangeRecord:
    """The account's history on the exchange (see the module doc); :meth:`update` reads the
    current lists and returns them."""

    def __init__(self, sim: Simulator, user_id: int, account_id: int) -> None:
        self._sim = sim
        self.user_id = user_id
        self.account_id = account_id
        self.orders: dict[int, Order] = {}
        self.commands: dict[int, Command] = {}
        self.strategies: dict[int, OrderStrategy] = {}
        self.links: dict[int, OrderStrategyLink] = {}
        self.fills: dict[int, Fill] = {}

    def update(self) -> SyncMessage:
        """The account's snapshot now, merged into the record."""
        truth = self._sim.exchange.sync(self.user_id, [self.account_id])
        self.orders.update((o.id, o) for o in truth.orders)
        self.commands.update((c.id, c) for c in truth.commands)
        self.strategies.update((s.id, s) for s in truth.order_strategies)
        self.links.update((link.id, link) for link in truth.order_strategy_links)
        self.fills.update((f.id, f) for f in truth.fills)
        return truth

    def trade_date(self) -> str:
        """The exchange's current trade date, ``YYYY-MM-DD``."""
        d = self._sim.exchange.trade_date
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"

    def cash(self, truth: SyncMessage) -> CashBalance | None:
        return next((c for c in truth.cash_balances if c.account_id == self.account_id), None)
