"""Brackets as Tradovate order strategies: the request's ``params``, checked before sending,
and how its strategy is recognised again.

``orderStrategy/startorderstrategy`` (the protocol reference §6.7) with
``orderStrategyTypeId`` 2 ("multibracket") takes the entry and its brackets as ``params``, a
JSON *string* of at most 8192 characters: ``entryVersion`` (``orderQty``, ``orderType``,
``price``, ``stopPrice``, ``timeInForce``) and ``brackets``, each ``qty`` contracts with a
``profitTarget`` and/or a ``stopLoss``: signed offsets from the entry's fill price, in price
points (the unit is undocumented, §11 #15; Tradovate's examples and the simulator use points).
The server places each bracket's target and stop as an OCO pair sized to each fill of the
entry, so a bracket never outgrows the position that fill opened.

Signs follow the examples: a Buy entry takes ``profitTarget > 0`` and ``stopLoss < 0``, a Sell
entry the opposite. :func:`check_strategy` refuses, before anything is sent, every request the
server would refuse or misread: wrong signs, offsets off the tick grid, quantities that do not
add up, a trailing stop without a stop.

The request carries the ticket's client id twice: as ``customTag50`` (the server copies it
onto the strategy and, in the simulator, onto its orders' commands) and, as a UUID derived
from it (:func:`strategy_uuid`), as ``uuid``. :func:`carries` says whether a strategy entity
is a ticket's: that is how a strategy whose answer was lost is found again.
"""

from __future__ import annotations

import functools
import math
import uuid
from collections.abc import Sequence

import msgspec

from ..protocol.models import OrderStrategy

MULTIBRACKET = 2
"""``orderStrategyTypeId`` of "multibracket", the one order strategy type (§6.7)."""
MAX_PARAMS = 8192
"""Longest ``params`` string the endpoint takes (§6.7)."""
_NAMESPACE = uuid.UUID("6f1b8a5e-7c2d-4f0e-9a3b-5d4c2e1f0a9b")
"""Namespace of :func:`strategy_uuid` (any fixed value; it only has to stay the same)."""


class StrategyBracket(msgspec.Struct, frozen=True, gc=False):
    """``qty`` contracts of an order strategy's entry and their exits: a Limit
    ``target_offset`` points from the fill price and/or a Stop (a TrailingStop with
    ``trailing_stop``) ``stop_offset`` points from it. Offsets are signed as on the wire
    (``profitTarget``/``stopLoss``): for a Buy entry the target is above (> 0) and the stop
    below (< 0), for a Sell entry the opposite."""

    qty: int
    target_offset: float | None = None
    stop_offset: float | None = None
    trailing_stop: bool = False


class _EntryVersion(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    order_qty: int
    order_type: str
    price: float | None = None
    stop_price: float | None = None
    time_in_force: str | None = None


class _Bracket(msgspec.Struct, frozen=True, rename="camel", omit_defaults=True):
    qty: int
    trailing_stop: bool
    profit_target: float | None = None
    stop_loss: float | None = None


class _Params(msgspec.Struct, frozen=True, rename="camel"):
    entry_version: _EntryVersion
    brackets: list[_Bracket]


@functools.lru_cache(maxsize=4096)
def strategy_uuid(client_id: str) -> str:
    """The ``uuid`` an order strategy request with this client id carries (a UUID, whatever
    format the server may expect, derived from the client id so that it can be matched).
    Cached: every strategy event matches it against each followed ticket (uuid5 is a SHA-1,
    a few µs)."""
    return str(uuid.uuid5(_NAMESPACE, client_id))


def carries(strategy: OrderStrategy, client_id: str) -> bool:
    """Whether ``strategy`` was created by the request with this client id."""
    return strategy.custom_tag50 == client_id or strategy.uuid == strategy_uuid(client_id)


def _on_grid(value: float, tick: float) -> bool:
    ticks = value / tick
    return abs(ticks - round(ticks)) < 1e-6


def _check_offset(label: str, value: float | None, positive: bool, action: str,
                  tick: float) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) \
            or not math.isfinite(value) or value == 0:
        return f"{label} must be a finite non-zero number of points, got {value!r}"
    if (value > 0) != positive:
        return (f"{label} must be {'positive' if positive else 'negative'} for a {action} "
                f"entry (a signed offset from the fill price, in points), got {value:g}")
    if not _on_grid(value, tick):
        return f"{label} {value:g} is not a whole number of ticks ({tick:g})"
    return None


def check_strategy(action: str, qty: int, brackets: Sequence[StrategyBracket],
                   tick: float) -> str | None:
    """A clear local error for brackets the server would refuse or misread, else ``None``
    (the entry itself is checked like any order)."""
    if not brackets:
        return "an order strategy needs at least one bracket"
    buy = action == "Buy"
    total = 0
    for index, bracket in enumerate(brackets):
        where = f"bracket {index + 1}: " if len(brackets) > 1 else ""
        if not isinstance(bracket, StrategyBracket):
            return f"{where}brackets must be StrategyBracket values, got {bracket!r}"
        bracket_qty = bracket.qty
        if isinstance(bracket_qty, bool) or not isinstance(bracket_qty, int) \
                or bracket_qty < 1:
            return f"{where}qty must be a positive integer, got {bracket_qty!r}"
        total += bracket_qty
        if bracket.target_offset is None and bracket.stop_offset is None:
            return f"{where}a bracket needs target_offset and/or stop_offset"
        problem = (_check_offset(f"{where}target_offset", bracket.target_offset, buy, action,
                                 tick)
                   or _check_offset(f"{where}stop_offset", bracket.stop_offset, not buy,
                                    action, tick))
        if problem is not None:
            return problem
        if not isinstance(bracket.trailing_stop, bool):
            return f"{where}trailing_stop must be True or False, got {bracket.trailing_stop!r}"
        if bracket.trailing_stop and bracket.stop_offset is None:
            return f"{where}trailing_stop needs a stop_offset"
    if total != qty:
        return f"the brackets' quantities add up to {total}, the entry's qty is {qty}"
    return None


def strategy_params(qty: int, order_type: str, price: float | None, stop_price: float | None,
                    time_in_force: str | None,
                    brackets: Sequence[StrategyBracket]) -> str:
    """The ``params`` JSON string of a checked multibracket request."""
    params = _Params(
        _EntryVersion(qty, order_type, price, stop_price, time_in_force),
        [_Bracket(b.qty, b.trailing_stop, _points(b.target_offset), _points(b.stop_offset))
         for b in brackets])
    return msgspec.json.encode(params).decode()


def _points(value: float | None) -> float | None:
    return None if value is None else round(float(value), 10)


class StrategyRequest(msgspec.Struct, frozen=True, gc=False):
    """What a multibracket order strategy's ``params`` ask for: its entry and its brackets
    (read back by :func:`read_params`: the trade copier repeats a leader's strategy)."""

    qty: int
    order_type: str
    price: float | None
    stop_price: float | None
    time_in_force: str | None
    brackets: tuple[StrategyBracket, ...]


class _ReadBracket(msgspec.Struct, frozen=True, rename="camel"):
    qty: int
    profit_target: float | None = None
    stop_loss: float | None = None
    trailing_stop: bool = False


class _ReadParams(msgspec.Struct, frozen=True, rename="camel"):
    entry_version: _EntryVersion
    brackets: list[_ReadBracket]


_params_decoder = msgspec.json.Decoder(_ReadParams)


def read_params(params: str | None) -> StrategyRequest | None:
    """The entry and brackets of a strategy's ``params`` (as :func:`strategy_params` writes
    them, and as Tradovate's own platform does); ``None`` if they cannot be read."""
    if not params:
        return None
    try:
        decoded = _params_decoder.decode(params)
    except msgspec.DecodeError:
        return None
    entry = decoded.entry_version
    return StrategyRequest(entry.order_qty, entry.order_type, entry.price, entry.stop_price,
                           entry.time_in_force,
                           tuple(StrategyBracket(b.qty, b.profit_target, b.stop_loss,
                                                 b.trailing_stop) for b in decoded.brackets))
