"""The ``params`` string of ``orderStrategy/startorderstrategy`` (reference §6.7), checked.

``params`` is a JSON *string* (at most 8192 characters) holding ``entryVersion`` (``orderQty``,
``orderType``, ``price``, ``stopPrice``, ``timeInForce``, ``expireTime``; ``orderId`` is
ignored) and ``brackets`` (each ``qty``, ``profitTarget``, ``stopLoss``, ``trailingStop``).
``profitTarget`` and ``stopLoss`` are signed offsets from the entry's fill price in **price
points** (the unit is undocumented, §11 #15; Tradovate's example robot derives them from a
price range rounded to cents, which only makes sense in points). The signs follow the
examples: a Buy entry takes ``profitTarget > 0`` and ``stopLoss < 0``, a Sell entry the
opposite; a wrong sign is refused. ``0``, ``null`` or an absent offset means no such leg; a
bracket needs at least one. The brackets' quantities must add up to the entry's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

MAX_PARAMS_LENGTH = 8192
Failure = tuple[str, str]


@dataclass(frozen=True, slots=True)
class EntryVersion:
    order_qty: int
    order_type: str
    price: float | None = None
    stop_price: float | None = None
    time_in_force: str | None = None
    expire_time: str | None = None


@dataclass(frozen=True, slots=True)
class Bracket:
    """One bracket: ``qty`` contracts of the entry protected by a target and/or a stop."""

    qty: int
    profit_target: float | None
    stop_loss: float | None
    trailing_stop: bool


@dataclass(frozen=True, slots=True)
class StrategyPlan:
    entry: EntryVersion
    brackets: tuple[Bracket, ...]


def _number(raw: dict[str, Any], key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}.{key} must be a number")
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{where}.{key} must be a finite number")
    return float(value)


def _quantity(raw: dict[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}.{key} must be a positive integer")
    return value


def _text(raw: dict[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{where}.{key} must be a string")
    return value


def _entry(raw: Any) -> EntryVersion:
    if not isinstance(raw, dict):
        raise ValueError("params.entryVersion must be an object")
    order_type = _text(raw, "orderType", "entryVersion")
    if order_type is None:
        raise ValueError("params.entryVersion.orderType is required")
    return EntryVersion(order_qty=_quantity(raw, "orderQty", "entryVersion"),
                        order_type=order_type,
                        price=_number(raw, "price", "entryVersion"),
                        stop_price=_number(raw, "stopPrice", "entryVersion"),
                        time_in_force=_text(raw, "timeInForce", "entryVersion"),
                        expire_time=_text(raw, "expireTime", "entryVersion"))


def _bracket(raw: Any, index: int, is_buy: bool) -> Bracket:
    where = f"brackets[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"params.{where} must be an object")
    target = _number(raw, "profitTarget", where) or None
    stop = _number(raw, "stopLoss", where) or None
    trailing = raw.get("trailingStop", False)
    if not isinstance(trailing, bool):
        raise ValueError(f"{where}.trailingStop must be true or false")
    if target is None and stop is None:
        raise ValueError(f"{where} needs a profitTarget or a stopLoss")
    side = "Buy" if is_buy else "Sell"
    if target is not None and (target > 0) != is_buy:
        raise ValueError(f"{where}.profitTarget must be {'positive' if is_buy else 'negative'}"
                         f" for a {side} entry (an offset from the fill price)")
    if stop is not None and (stop < 0) != is_buy:
        raise ValueError(f"{where}.stopLoss must be {'negative' if is_buy else 'positive'}"
                         f" for a {side} entry (an offset from the fill price)")
    if trailing and stop is None:
        raise ValueError(f"{where}.trailingStop needs a stopLoss")
    return Bracket(qty=_quantity(raw, "qty", where), profit_target=target, stop_loss=stop,
                   trailing_stop=trailing)


def parse_params(params: str | None, action: str) -> StrategyPlan | Failure:
    """The plan of a multibracket strategy, or ``(failureReason, text)``."""
    if action not in ("Buy", "Sell"):
        return ("UnknownReason", f"Invalid action {action!r}: expected Buy or Sell")
    if not isinstance(params, str) or not params:
        return ("UnknownReason", "params is required: a JSON string with entryVersion and "
                                 "brackets")
    if len(params) > MAX_PARAMS_LENGTH:
        return ("UnknownReason", f"params is longer than {MAX_PARAMS_LENGTH} characters")
    try:
        raw = msgspec.json.decode(params)
    except msgspec.DecodeError as exc:
        return ("UnknownReason", f"params is not JSON: {exc}")
    try:
        if not isinstance(raw, dict):
            raise ValueError("params must be a JSON object")
        entry = _entry(raw.get("entryVersion"))
        brackets_raw = raw.get("brackets")
        if not isinstance(brackets_raw, list) or not brackets_raw:
            raise ValueError("params.brackets must be a non-empty list")
        brackets = tuple(_bracket(b, i, action == "Buy") for i, b in enumerate(brackets_raw))
    except ValueError as exc:
        return ("UnknownReason", str(exc))
    total = sum(b.qty for b in brackets)
    if total != entry.order_qty:
        return ("UnknownReason", f"the brackets' qty add up to {total}, the entry's orderQty "
                                 f"is {entry.order_qty}")
    return StrategyPlan(entry, brackets)
