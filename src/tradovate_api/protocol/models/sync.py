"""``user/syncrequest``: the request and the snapshot it answers with."""

from __future__ import annotations

import msgspec

from ._base import WireModel
from .entities import (
    Account,
    AccountRiskStatus,
    CashBalance,
    Command,
    CommandReport,
    Contract,
    ContractGroup,
    ContractMaturity,
    Currency,
    Exchange,
    ExecutionReport,
    Fill,
    FillPair,
    MarginSnapshot,
    Order,
    OrderStrategy,
    OrderStrategyLink,
    OrderStrategyType,
    OrderVersion,
    Position,
    Product,
    User,
    UserAccountAutoLiq,
)


class SyncRequest(WireModel, frozen=True):
    """Retail docs send ``users``; some samples ``accounts``; partners ``splitResponses`` +
    ``entityTypes``. All are optional here so any of the three shapes can be built."""

    users: list[int] | None = None
    accounts: list[int] | None = None
    split_responses: bool | None = None
    entity_types: list[str] | None = None


class SyncMessage(WireModel, frozen=True):
    """The initial snapshot; later changes arrive as ``props`` events."""

    users: list[User] = msgspec.field(default_factory=list)
    contract_groups: list[ContractGroup] = msgspec.field(default_factory=list)
    accounts: list[Account] = msgspec.field(default_factory=list)
    account_risk_statuses: list[AccountRiskStatus] = msgspec.field(default_factory=list)
    margin_snapshots: list[MarginSnapshot] = msgspec.field(default_factory=list)
    user_account_auto_liqs: list[UserAccountAutoLiq] = msgspec.field(default_factory=list)
    cash_balances: list[CashBalance] = msgspec.field(default_factory=list)
    currencies: list[Currency] = msgspec.field(default_factory=list)
    positions: list[Position] = msgspec.field(default_factory=list)
    fill_pairs: list[FillPair] = msgspec.field(default_factory=list)
    orders: list[Order] = msgspec.field(default_factory=list)
    contracts: list[Contract] = msgspec.field(default_factory=list)
    contract_maturities: list[ContractMaturity] = msgspec.field(default_factory=list)
    products: list[Product] = msgspec.field(default_factory=list)
    exchanges: list[Exchange] = msgspec.field(default_factory=list)
    commands: list[Command] = msgspec.field(default_factory=list)
    command_reports: list[CommandReport] = msgspec.field(default_factory=list)
    execution_reports: list[ExecutionReport] = msgspec.field(default_factory=list)
    order_versions: list[OrderVersion] = msgspec.field(default_factory=list)
    fills: list[Fill] = msgspec.field(default_factory=list)
    order_strategies: list[OrderStrategy] = msgspec.field(default_factory=list)
    order_strategy_links: list[OrderStrategyLink] = msgspec.field(default_factory=list)
    order_strategy_types: list[OrderStrategyType] = msgspec.field(default_factory=list)
