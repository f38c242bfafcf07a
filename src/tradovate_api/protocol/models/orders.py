"""Order request bodies and their results.

Request bodies omit absent fields when encoded. Every order-moving body has ``is_automated``;
the framework always sets it to ``True`` (the exchange requires it for non-human orders).
"""

from __future__ import annotations

import msgspec

from ._base import WireModel


class PlaceOrder(WireModel, frozen=True):
    """Body of ``order/placeorder``; also the base of the OSO/OCO bodies."""

    action: str
    symbol: str
    order_qty: int
    order_type: str
    account_spec: str | None = None
    account_id: int | None = None
    cl_ord_id: str | None = None
    price: float | None = None
    stop_price: float | None = None
    max_show: int | None = None
    peg_difference: float | None = None
    time_in_force: str | None = None
    expire_time: str | None = None
    text: str | None = None
    activation_time: str | None = None
    custom_tag50: str | None = None
    is_automated: bool | None = None


class RestrainedOrderVersion(WireModel, frozen=True):
    """A bracket leg of an OSO/OCO: no symbol and no quantity of its own."""

    action: str
    order_type: str
    cl_ord_id: str | None = None
    price: float | None = None
    stop_price: float | None = None
    max_show: int | None = None
    peg_difference: float | None = None
    time_in_force: str | None = None
    expire_time: str | None = None
    text: str | None = None


class PlaceOSO(PlaceOrder, frozen=True, kw_only=True):
    """Body of ``order/placeoso``: an entry order with one or two brackets sent on its fill."""

    bracket1: RestrainedOrderVersion
    bracket2: RestrainedOrderVersion | None = None


class PlaceOCO(PlaceOrder, frozen=True, kw_only=True):
    """Body of ``order/placeoco``: two orders where a fill of one cancels the other."""

    other: RestrainedOrderVersion


class ModifyOrder(WireModel, frozen=True):
    """Body of ``order/modifyorder``: re-sends the whole version (qty, type, prices)."""

    order_id: int
    order_qty: int
    order_type: str
    cl_ord_id: str | None = None
    price: float | None = None
    stop_price: float | None = None
    max_show: int | None = None
    peg_difference: float | None = None
    time_in_force: str | None = None
    expire_time: str | None = None
    text: str | None = None
    activation_time: str | None = None
    custom_tag50: str | None = None
    is_automated: bool | None = None


class CancelOrder(WireModel, frozen=True):
    """Body of ``order/cancelorder``."""

    order_id: int
    cl_ord_id: str | None = None
    activation_time: str | None = None
    custom_tag50: str | None = None
    is_automated: bool | None = None


class LiquidatePosition(WireModel, frozen=True):
    """Body of ``order/liquidateposition``: cancel the contract's orders and flatten it."""

    account_id: int
    contract_id: int
    # Required on the wire: a default_factory is never omitted by ``omit_defaults``.
    admin: bool = msgspec.field(default_factory=bool)
    custom_tag50: str | None = None
    is_automated: bool | None = None


class StartOrderStrategy(WireModel, frozen=True):
    """Body of ``orderStrategy/startorderstrategy``; ``params`` is a JSON *string*."""

    symbol: str
    order_strategy_type_id: int
    action: str
    account_id: int | None = None
    account_spec: str | None = None
    params: str | None = None
    uuid: str | None = None
    custom_tag50: str | None = None
    is_automated: bool | None = None


class InterruptOrderStrategy(WireModel, frozen=True):
    """Body of ``orderStrategy/interruptorderstrategy``: stop a strategy, cancelling its
    remaining orders."""

    order_strategy_id: int


class PlaceOrderResult(WireModel, frozen=True):
    """Result of ``order/placeorder`` and ``order/liquidateposition``."""

    order_id: int | None = None
    failure_reason: str | None = None
    failure_text: str | None = None


class PlaceOsoResult(PlaceOrderResult, frozen=True):
    oso1_id: int | None = None
    oso2_id: int | None = None


class PlaceOcoResult(PlaceOrderResult, frozen=True):
    oco_id: int | None = None


class CommandResult(WireModel, frozen=True):
    """Result of ``order/modifyorder`` and ``order/cancelorder``."""

    command_id: int | None = None
    failure_reason: str | None = None
    failure_text: str | None = None
