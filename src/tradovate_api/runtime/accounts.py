"""The traded accounts and the strategies on them: what one run holds per account and per
strategy, and the intents each account offers.

A run trades one or more accounts of the login (settings ``[[accounts]]``; without them the
one ``[trading]`` names — the single case is the list of one). Each account gets its own
:class:`~tradovate_api.orders.risk.RiskManager` and
:class:`~tradovate_api.orders.OrderManager` (an :class:`AccountRun`), so that a halt of one
account — its kill switch, its daily loss — never stops another. Each strategy gets one
instance, context and dispatcher per account it trades (a :class:`StrategyRun`): a strategy on
three accounts is three independent instances whose intents go to their own account, and an
exception in one pauses that one only.

:class:`AccountIntents` is an account's order intents bound to it (place, modify, cancel,
flatten...), for what sends orders on an account without being a strategy (the trade copier).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from ..orders import OrderManager, OrderTicket, OutcomeResolver
from ..orders.risk import RiskManager
from ..settings import AccountSettings
from ..strategy import Strategy
from ..strategy.dispatch import Dispatcher


class AccountIntents:
    """One account's order intents, each bound to the account's order manager (every one
    checked by the account's risk manager, journaled ahead and tracked as a ticket). They are
    the order manager's own bound methods, with its signatures: calling one costs no more than
    a strategy's order. Nothing here reaches the manager's records or goes around its
    checks."""

    __slots__ = ("account_id", "bracket", "cancel", "cancel_all", "flatten", "modify", "name",
                 "oco", "place", "tickets")

    def __init__(self, orders: OrderManager) -> None:
        self.account_id = orders.account_id
        self.name = orders.account_spec
        self.place = orders.place
        self.bracket = orders.bracket
        self.oco = orders.oco
        self.modify = orders.modify
        self.cancel = orders.cancel
        self.cancel_all = orders.cancel_all
        self.flatten = orders.flatten
        self.tickets = orders.tickets
        """The account's tickets by client order id (read-only)."""


@dataclass(slots=True)
class AccountRun:
    """One traded account: its settings entry, id and name, its risk manager, its order
    manager and the resolver of its lost answers."""

    settings: AccountSettings
    account_id: int
    name: str
    risk: RiskManager
    orders: OrderManager
    resolver: OutcomeResolver

    @property
    def intents(self) -> AccountIntents:
        return AccountIntents(self.orders)


@dataclass(slots=True)
class StrategyRun:
    """One strategy on one account: its instance (with its own context) and dispatcher."""

    name: str
    """The ``[[strategies]]`` name (the strategy's class name in the single case)."""
    account: AccountRun
    strategy: Strategy
    dispatcher: Dispatcher

    @property
    def label(self) -> str:
        """``name@account`` (logs, alerts, the status line)."""
        return f"{self.name}@{self.account.name}"


def intents_by_account(accounts: Sequence[AccountRun]) -> Mapping[int, AccountIntents]:
    """Account id → that account's intents (the trade copier's way to order on followers)."""
    return {account.account_id: account.intents for account in accounts}


class AccountRisks:
    """Every account's risk manager behind the entry suspensions that concern them all (a
    refused market-data subscription, account data that cannot be trusted)."""

    __slots__ = ("_risks",)

    def __init__(self, risks: Sequence[RiskManager]) -> None:
        self._risks = tuple(risks)

    def suspend_entries(self, contract_id: int | None, reason: str, source: str = "") -> None:
        for risk in self._risks:
            risk.suspend_entries(contract_id, reason, source)

    def resume_entries(self, contract_id: int | None, source: str = "") -> None:
        for risk in self._risks:
            risk.resume_entries(contract_id, source)


class TicketsOfAccounts(Mapping[str, OrderTicket]):
    """Every account's tickets by client order id, read-only (client order ids are unique
    across the accounts of a run: each order manager has its own prefix)."""

    __slots__ = ("_maps",)

    def __init__(self, accounts: Sequence[AccountRun]) -> None:
        self._maps = tuple(a.orders.tickets for a in accounts)

    def __getitem__(self, cl_ord_id: str) -> OrderTicket:
        for tickets in self._maps:
            ticket = tickets.get(cl_ord_id)
            if ticket is not None:
                return ticket
        raise KeyError(cl_ord_id)

    def __iter__(self) -> Iterator[str]:
        for tickets in self._maps:
            yield from tickets

    def __len__(self) -> int:
        return sum(len(t) for t in self._maps)
