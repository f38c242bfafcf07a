"""Other endpoint results: subscriptions, charts, cash snapshots, order strategies."""

from __future__ import annotations

import msgspec

from ._base import WireModel
from .entities import OrderStrategy


class CashBalanceSnapshot(WireModel, frozen=True):
    """Result of ``cashBalance/getcashbalancesnapshot``."""

    error_text: str | None = None
    total_cash_value: float | None = None
    total_pnl: float | None = msgspec.field(default=None, name="totalPnL")
    initial_margin: float | None = None
    maintenance_margin: float | None = None
    net_liq: float | None = None
    open_pnl: float | None = msgspec.field(default=None, name="openPnL")
    realized_pnl: float | None = msgspec.field(default=None, name="realizedPnL")
    week_realized_pnl: float | None = msgspec.field(default=None, name="weekRealizedPnL")


class MarketDataSubscriptionResult(WireModel, frozen=True):
    """Result of ``md/subscribeQuote``/``DOM``/``Histogram`` (the docs show no example)."""

    mode: str | None = None
    subscription_id: int | None = None
    error_text: str | None = None
    error_code: str | None = None


class ChartSubscriptionResult(WireModel, frozen=True):
    """Result of ``md/getChart``: keep both ids; packets carry either."""

    historical_id: int | None = None
    realtime_id: int | None = None
    mode: str | None = None
    error_text: str | None = None
    error_code: str | None = None


class OrderStrategyStatusResponse(WireModel, frozen=True):
    error_text: str | None = None
    failure_reason: str | None = None
    order_strategy: OrderStrategy | None = None


class SimpleResponse(WireModel, frozen=True):
    """``{"ok": true}`` style results, e.g. ``replay/initializeclock``."""

    ok: bool | None = None
    error_text: str | None = None
