"""Typed models of every JSON object the Tradovate REST API and websockets exchange."""

from __future__ import annotations

from typing import Any, TypeAlias

import msgspec

from ._base import TradeDate, WireModel
from .auth import AccessTokenRequest, AccessTokenResponse, MeResponse
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
from .marketdata import (
    Bar,
    ChartData,
    ChartPacket,
    Dom,
    Histogram,
    MarketData,
    PackedTick,
    PriceLevel,
    Quote,
    QuoteEntries,
    QuoteEntry,
    Tick,
)
from .orders import (
    CancelOrder,
    CommandResult,
    InterruptOrderStrategy,
    LiquidatePosition,
    ModifyOrder,
    PlaceOCO,
    PlaceOcoResult,
    PlaceOrder,
    PlaceOrderResult,
    PlaceOSO,
    PlaceOsoResult,
    RestrainedOrderVersion,
    StartOrderStrategy,
)
from .results import (
    CashBalanceSnapshot,
    ChartSubscriptionResult,
    MarketDataSubscriptionResult,
    OrderStrategyStatusResponse,
    SimpleResponse,
)
from .subscriptions import CancelChart, ChartDescription, GetChart, SymbolRequest, TimeRange
from .sync import SyncMessage, SyncRequest

Entity: TypeAlias = (
    User | Account | AccountRiskStatus | MarginSnapshot | UserAccountAutoLiq | CashBalance
    | Currency | Position | FillPair | Order | Contract | ContractMaturity | Product | Exchange
    | ContractGroup | Command | CommandReport | ExecutionReport | OrderVersion | Fill
    | OrderStrategy | OrderStrategyLink | OrderStrategyType
)

ENTITY_CLASSES: dict[str, type[Any]] = {
    "user": User,
    "account": Account,
    "accountRiskStatus": AccountRiskStatus,
    "marginSnapshot": MarginSnapshot,
    "userAccountAutoLiq": UserAccountAutoLiq,
    "cashBalance": CashBalance,
    "currency": Currency,
    "position": Position,
    "fillPair": FillPair,
    "order": Order,
    "contract": Contract,
    "contractMaturity": ContractMaturity,
    "product": Product,
    "exchange": Exchange,
    "contractGroup": ContractGroup,
    "command": Command,
    "commandReport": CommandReport,
    "executionReport": ExecutionReport,
    "orderVersion": OrderVersion,
    "fill": Fill,
    "orderStrategy": OrderStrategy,
    "orderStrategyLink": OrderStrategyLink,
    "orderStrategyType": OrderStrategyType,
}
"""Wire ``entityType`` name → model class."""

ENTITY_TYPES: dict[str, tuple[msgspec.json.Decoder[Any], msgspec.json.Decoder[Any]]] = {
    name: (msgspec.json.Decoder(cls), msgspec.json.Decoder(list[cls]))  # type: ignore[valid-type]
    for name, cls in ENTITY_CLASSES.items()
}
"""Wire ``entityType`` → (decoder of one object, decoder of an array)."""

__all__ = [
    "ENTITY_CLASSES", "ENTITY_TYPES", "AccessTokenRequest", "AccessTokenResponse", "Account",
    "AccountRiskStatus", "Bar", "CancelChart", "CancelOrder", "CashBalance",
    "CashBalanceSnapshot", "ChartData", "ChartDescription", "ChartPacket",
    "ChartSubscriptionResult", "Command", "CommandReport", "CommandResult", "Contract",
    "ContractGroup", "ContractMaturity", "Currency", "Dom", "Entity", "Exchange",
    "ExecutionReport", "Fill", "FillPair", "GetChart", "Histogram", "InterruptOrderStrategy",
    "LiquidatePosition",
    "MarginSnapshot", "MarketData", "MarketDataSubscriptionResult", "MeResponse", "ModifyOrder",
    "Order", "OrderStrategy", "OrderStrategyLink", "OrderStrategyStatusResponse",
    "OrderStrategyType", "OrderVersion", "PackedTick", "PlaceOCO", "PlaceOSO", "PlaceOcoResult",
    "PlaceOrder", "PlaceOrderResult", "PlaceOsoResult", "Position", "PriceLevel", "Product",
    "Quote", "QuoteEntries", "QuoteEntry", "RestrainedOrderVersion", "SimpleResponse",
    "StartOrderStrategy", "SymbolRequest", "SyncMessage", "SyncRequest", "Tick", "TimeRange",
    "TradeDate", "User", "UserAccountAutoLiq", "WireModel",
]
