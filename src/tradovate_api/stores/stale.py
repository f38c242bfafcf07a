"""Telling a stale version of an entity from a newer one, for ``props`` events that arrive
after newer versions of their entity.

Tradovate documents no ordering across events and entities carry no version number (the
protocol reference §3.2, §5.3); an event can come again after newer ones (the simulator's
``replayed_events`` fault). Applied blindly, such a replay takes the account back: a filled or
cancelled order working again, a position missing fills of its day — and a cancelled stop
taken for the position's protection until the next snapshot. The account store drops a
version these rules call stale, each one a fact of the exchange's life cycles:

* an order that is done (filled, cancelled, rejected, expired, completed) never trades again;
  ``PendingNew`` is only ever an order's first status; a bracket leg held ``Suspended`` by its
  entry works once the entry fills and is never held again after it has worked;
* a command's ``Pending`` status only ever comes before its verdict;
* an order strategy that ended never runs again;
* a busted fill (``active: false``) is never restored;
* a position of an earlier trade date is history; within a trade date ``bought`` and ``sold``
  only grow (every fill adds to one of them);
* a cash balance of an earlier trade date, or stamped earlier, is history; one stamped at the
  same moment as the current version is stale if it equals a version it already replaced.

A snapshot is never checked: it is the exchange's whole state at one moment, and replaces
memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from ..protocol.models import (
    CashBalance,
    Command,
    Fill,
    Order,
    OrderStrategy,
    Position,
    TradeDate,
)
from .order_strategies import STRATEGY_DONE

ORDER_DONE = frozenset({"Canceled", "Completed", "Expired", "Filled", "Rejected"})
"""Order statuses after which an order never trades again."""


def stale_order(known: Order, incoming: Order, *, has_worked: bool) -> bool:
    """``incoming`` would take ``known`` back (``has_worked``: the order was ``Working``
    at some point)."""
    if known.ord_status in ORDER_DONE:
        return incoming.ord_status != known.ord_status
    if incoming.ord_status == "PendingNew":
        return known.ord_status != "PendingNew"
    return incoming.ord_status == "Suspended" and has_worked


def stale_command(known: Command, incoming: Command) -> bool:
    return incoming.command_status == "Pending" and known.command_status != "Pending"


def stale_strategy(known: OrderStrategy, incoming: OrderStrategy) -> bool:
    return known.status in STRATEGY_DONE and incoming.status != known.status


def stale_fill(known: Fill, incoming: Fill) -> bool:
    return not known.active and incoming.active


def _day(trade_date: TradeDate) -> tuple[int, int, int]:
    return (trade_date.year, trade_date.month, trade_date.day)


def stale_position(known: Position, incoming: Position) -> bool:
    known_day, day = _day(known.trade_date), _day(incoming.trade_date)
    if day != known_day:
        return day < known_day
    return incoming.bought < known.bought or incoming.sold < known.sold


def _moment(stamp: str) -> datetime | None:
    """A timestamp as an aware moment (UTC when it names no zone); ``None``: unreadable."""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def stale_cash(known: CashBalance, incoming: CashBalance,
               superseded: Iterable[CashBalance]) -> bool:
    """``superseded``: versions of this balance that newer ones replaced (recent ones)."""
    known_day, day = _day(known.trade_date), _day(incoming.trade_date)
    if day != known_day:
        return day < known_day
    then, now = _moment(incoming.timestamp), _moment(known.timestamp)
    if then is not None and now is not None and then != now:
        return then < now
    return incoming != known and any(incoming == old for old in superseded)
