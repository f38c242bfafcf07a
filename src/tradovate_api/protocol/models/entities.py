"""Tradovate entities as ``<entity>/item``, ``user/syncrequest`` and ``props`` events carry them.

Required here are the fields the client relies on — ids, the account and contract an entity
belongs to, actions, quantities, prices, statuses, and the fields the journal and P&L read
(timestamps of orders, fills, positions and cash, trade dates). Every other field is optional
and omitted on encode when absent, even where the official schema marks it required
(``Fill.finallyPaired``, ``Position.prevPos``, an account's risk category...): the server may
omit one or send an odd type, and a decode must not lose the entity for it (the lenient
decoder drops an unreadable optional field, see :mod:`tradovate_api.protocol.lenient`).
Enumerations are plain strings (see :mod:`tradovate_api.protocol.models.enums`) so a value
added by the server never breaks decoding.
"""

from __future__ import annotations

import msgspec

from ._base import TradeDate, WireModel


class User(WireModel, frozen=True):
    id: int
    name: str
    timestamp: str | None = None
    email: str | None = None
    status: str | None = None
    professional: bool | None = None
    organization_id: int | None = None
    linked_user_id: int | None = None
    foreign_introducing_broker_id: int | None = None


class Account(WireModel, frozen=True):
    id: int
    name: str
    user_id: int
    active: bool
    account_type: str | None = None
    clearing_house_id: int | None = None
    risk_category_id: int | None = None
    auto_liq_profile_id: int | None = None
    margin_account_type: str | None = None
    legal_status: str | None = None
    timestamp: str | None = None  # absent from the official account/list example
    readonly: bool | None = None
    restricted: bool | None = None
    closed: bool | None = None


class Currency(WireModel, frozen=True):
    id: int
    name: str
    symbol: str | None = None


class Exchange(WireModel, frozen=True):
    id: int
    name: str


class Product(WireModel, frozen=True):
    id: int
    name: str
    currency_id: int
    product_type: str
    description: str
    exchange_id: int
    contract_group_id: int
    status: str
    value_per_point: float
    price_format_type: str
    price_format: int
    tick_size: float
    months: str | None = None
    is_secured: bool | None = None
    risk_discount_contract_group_id: int | None = None
    exchange_channel_id: int | None = None
    is_micro: bool | None = None
    market_data_source: str | None = None
    allow_provider_contract_info: bool | None = None
    lookup_weight: int | None = None
    has_replay: bool | None = None


class ContractMaturity(WireModel, frozen=True):
    id: int
    product_id: int
    expiration_month: int
    expiration_date: str
    is_front: bool
    first_intent_date: str | None = None
    underlying_id: int | None = None
    archived: bool | None = None
    seq_no: int | None = None


class Contract(WireModel, frozen=True):
    id: int
    name: str
    contract_maturity_id: int
    status: str | None = None
    provider_tick_size: float | None = None
    timestamp: str | None = None


class ContractGroup(WireModel, frozen=True):
    id: int
    name: str


class Order(WireModel, frozen=True):
    """An order's identity and status; quantity and prices live in :class:`OrderVersion`."""

    id: int
    account_id: int
    timestamp: str
    action: str
    ord_status: str
    admin: bool | None = None
    contract_id: int | None = None
    spread_definition_id: int | None = None
    execution_provider_id: int | None = None
    oco_id: int | None = None
    parent_id: int | None = None
    linked_id: int | None = None


class OrderVersion(WireModel, frozen=True):
    """Quantity/type/prices of an order; its id equals the id of the command that made it."""

    id: int
    order_id: int
    order_qty: int
    order_type: str
    price: float | None = None
    stop_price: float | None = None
    max_show: int | None = None
    peg_difference: float | None = None
    time_in_force: str | None = None
    expire_time: str | None = None
    text: str | None = None


class Command(WireModel, frozen=True):
    id: int
    order_id: int
    command_type: str
    command_status: str
    timestamp: str | None = None
    cl_ord_id: str | None = None
    sender_id: int | None = None
    user_session_id: int | None = None
    activation_time: str | None = None
    custom_tag50: str | None = None
    is_automated: bool | None = None


class CommandReport(WireModel, frozen=True):
    id: int
    command_id: int
    command_status: str
    timestamp: str | None = None
    reject_reason: str | None = None
    text: str | None = None
    ord_status: str | None = None


class ExecutionReport(WireModel, frozen=True):
    id: int
    command_id: int
    account_id: int
    contract_id: int
    order_id: int
    exec_type: str
    action: str
    name: str | None = None
    timestamp: str | None = None
    trade_date: TradeDate | None = None
    exec_ref_id: str | None = None
    ord_status: str | None = None
    cum_qty: int | None = None
    avg_px: float | None = None
    last_qty: int | None = None
    last_px: float | None = None
    reject_reason: str | None = None
    text: str | None = None
    exchange_order_id: str | None = None


class Fill(WireModel, frozen=True):
    id: int
    order_id: int
    contract_id: int
    timestamp: str
    trade_date: TradeDate
    action: str
    qty: int
    price: float
    active: bool
    finally_paired: int | None = None
    external: bool | None = None


class FillPair(WireModel, frozen=True):
    id: int
    position_id: int
    buy_fill_id: int
    sell_fill_id: int
    qty: int
    buy_price: float
    sell_price: float
    active: bool


class Position(WireModel, frozen=True):
    id: int
    account_id: int
    contract_id: int
    timestamp: str
    trade_date: TradeDate
    net_pos: int
    bought: int
    bought_value: float
    sold: int
    sold_value: float
    prev_pos: int | None = None
    """The position carried from the previous trade date (``None``: not sent or
    unreadable)."""
    net_price: float | None = None
    prev_price: float | None = None


class CashBalance(WireModel, frozen=True):
    id: int
    account_id: int
    timestamp: str
    trade_date: TradeDate
    amount: float
    currency_id: int | None = None
    realized_pnl: float | None = msgspec.field(default=None, name="realizedPnL")
    week_realized_pnl: float | None = msgspec.field(default=None, name="weekRealizedPnL")
    amount_sod: float | None = msgspec.field(default=None, name="amountSOD")


class MarginSnapshot(WireModel, frozen=True):
    """Margin use of an account; its id equals the account id."""

    id: int
    timestamp: str
    risk_time_period_id: int
    initial_margin: float
    maintenance_margin: float
    total_used_margin: float
    full_initial_margin: float
    auto_liq_level: float | None = None
    liq_only_level: float | None = None


class AccountRiskStatus(WireModel, frozen=True):
    """The exchange's risk state of an account (liquidate-only, locked...); its id equals
    the account id."""

    id: int
    admin_action: str | None = None
    admin_timestamp: str | None = None
    liquidate_only: str | None = None
    user_triggered_liq_only: bool | None = None


class UserAccountAutoLiq(WireModel, frozen=True):
    """Auto-liquidation settings of an account; its id equals the account id. Every limit
    is optional: an absent one is not applied."""

    id: int
    changes_locked: bool | None = None
    margin_percentage_alert: float | None = None
    daily_loss_percentage_alert: float | None = None
    daily_loss_alert: float | None = None
    margin_percentage_liq_only: float | None = None
    daily_loss_percentage_liq_only: float | None = None
    daily_loss_liq_only: float | None = None
    margin_percentage_auto_liq: float | None = None
    daily_loss_percentage_auto_liq: float | None = None
    daily_loss_auto_liq: float | None = None
    weekly_loss_auto_liq: float | None = None
    flatten_timestamp: str | None = None
    trailing_max_drawdown: float | None = None
    trailing_max_drawdown_limit: float | None = None
    trailing_max_drawdown_mode: str | None = None
    """``EOD`` or ``RealTime``."""
    daily_profit_auto_liq: float | None = None
    weekly_profit_auto_liq: float | None = None
    do_not_unlock: bool | None = None


class OrderStrategy(WireModel, frozen=True):
    id: int
    account_id: int
    timestamp: str
    contract_id: int
    order_strategy_type_id: int
    action: str
    status: str
    initiator_id: int | None = None
    params: str | None = None
    uuid: str | None = None
    failure_message: str | None = None
    sender_id: int | None = None
    custom_tag50: str | None = None
    user_session_id: int | None = None


class OrderStrategyLink(WireModel, frozen=True):
    id: int
    order_strategy_id: int
    order_id: int
    label: str


class OrderStrategyType(WireModel, frozen=True):
    id: int
    name: str
    enabled: bool
