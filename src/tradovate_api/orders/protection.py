"""Protective stops (settings ``risk.protective_stop``, on by default): every open position
has working stop orders on its closing side covering it — and never more than it.

A protective stop *tracks* the position (ADR 0006):

* its quantity is the position's size minus what the strategy's own working closing-side
  stops already cover (bracket and OCO stop legs included), so the total stop coverage is
  never above the position;
* it shrinks at once when the position shrinks, is cancelled at once when the position is
  flat (or entirely covered by the strategy's stops), and when the position flips the old stop
  — now on the opening side — is cancelled at once and a new one placed on the new side;
* it is placed or grown only after ``protective_stop_grace_seconds`` (the strategy may place
  its own first), ``protective_stop_points`` beyond the position's price — or, when that is
  not set, where this position alone would lose ``max_daily_loss`` — on the tick grid, away
  from the market; a stop that would already be through the market flattens instead;
* it goes through :meth:`~.manager.OrderManager.place_protective_stop` and friends: checked
  like any order, refused if it could open a position, never refused by the halt, an unknown
  outcome or the risk limits (it only reduces risk);
* one request per contract at a time, and after a refused or rejected one the next waits
  (backing off); failures are logged one line per contract per interval and alerted at most
  once per minute: no refusal storm.

``flatten`` mode places no stop: an uncovered position is flattened after the grace time.
Protective stops carry a client order id ending in ``-ps`` and are recognised by it in the
account data (a previous run's too). :func:`coverage` says what protects a position.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Protocol

import msgspec

from ..alerts import Alert, AlertSink, Severity
from ..errors import TradovateError
from ..protocol.models import Position
from ..settings import Risk
from ..stores import AccountView, MarketDataView, OrderState
from .contracts import ContractBook
from .refusals import RefusalLog
from .tickets import NOT_CONNECTED, PROTECTIVE_SUFFIX, OrderTicket, TicketState

_log = logging.getLogger("tradovate_api.orders.protection")

STOP_TYPES = frozenset({"Stop", "StopLimit", "TrailingStop", "TrailingStopLimit"})
REFLECT_MS = 2_000
"""How long an acknowledged request of ours may take to show in the account data before the
next one in its contract goes anyway."""
MAX_BACKOFF_MS = 60_000
ALERT_INTERVAL_MS = 60_000


class StopCover(msgspec.Struct, frozen=True, gc=False):
    """One working stop order on a position's closing side (or a protective stop left over
    on a flat or reversed position, which protects nothing)."""

    order_id: int
    action: str
    qty: int
    """Unfilled quantity."""
    stop_price: float | None
    status: str
    protective: bool
    """Placed by the protective-stop invariant (not by the strategy)."""


class Coverage(msgspec.Struct, frozen=True, gc=False):
    """What protects a position right now (read-only, from the account data)."""

    contract_id: int
    symbol: str
    net_pos: int
    stops: tuple[StopCover, ...]

    @property
    def covered(self) -> int:
        """Quantity the working closing-side stops cover."""
        closing = "Sell" if self.net_pos > 0 else "Buy"
        return sum(s.qty for s in self.stops
                   if self.net_pos != 0 and s.action == closing and s.status == "Working")

    @property
    def naked(self) -> int:
        """Quantity of the position no working stop covers."""
        return max(0, abs(self.net_pos) - self.covered)


def is_protective(state: OrderState) -> bool:
    return (state.cl_ord_id or "").endswith(PROTECTIVE_SUFFIX)


def _is_stop(state: OrderState) -> bool:
    version = state.version
    return version is not None and version.order_type in STOP_TYPES


def coverage(account: AccountView, account_id: int, contract_id: int,
             symbol: str) -> Coverage:
    """The account's position in a contract and the stops on its closing side, plus any
    protective stop still working whatever its side (read-only)."""
    position = account.position(account_id, contract_id)
    net = 0 if position is None else position.net_pos
    closing = "Sell" if net > 0 else "Buy"
    stops = tuple(
        StopCover(s.id, s.order.action, s.remaining or 0,
                  s.version.stop_price if s.version is not None else None, s.status,
                  is_protective(s))
        for s in account.open_orders(account_id, contract_id)
        if _is_stop(s) and (is_protective(s) or (net != 0 and s.order.action == closing)))
    return Coverage(contract_id, symbol, net, stops)


def coverages(account: AccountView, account_id: int,
              symbol_of: Callable[[int], str]) -> tuple[Coverage, ...]:
    """:func:`coverage` of every contract with an open position or a working protective
    stop of the account."""
    contracts = {p.contract_id for p in account.positions.values()
                 if p.account_id == account_id and p.net_pos != 0}
    contracts.update(s.order.contract_id or 0 for s in account.open_orders(account_id)
                     if is_protective(s))
    return tuple(coverage(account, account_id, c, symbol_of(c)) for c in sorted(contracts))


class ProtectedOrders(Protocol):
    """What the protective stops need from the order manager."""

    @property
    def account_id(self) -> int: ...

    @property
    def account_live(self) -> bool: ...

    def place_protective_stop(self, contract_id: int, qty: int,
                              stop_price: float) -> OrderTicket: ...

    def resize_protective_stop(self, order_id: int, qty: int,
                               stop_price: float) -> OrderTicket: ...

    def cancel_protective_stop(self, order_id: int, *, trigger: str) -> OrderTicket: ...

    def flatten(self, symbol: str | int | None = None, *,
                trigger: str = "") -> list[OrderTicket]: ...

    def liquidating(self, contract_id: int) -> bool: ...

    def tick_size(self, contract_id: int) -> float | None: ...

    def symbol_of(self, contract_id: int) -> str: ...


class _Change:
    """A placement, resize or flatten of ours in one contract, until the account data show
    it (or :data:`REFLECT_MS` after it was acknowledged)."""

    __slots__ = ("acked_ms", "shown", "ticket")

    def __init__(self, ticket: OrderTicket, shown: Callable[[], bool]) -> None:
        self.ticket = ticket
        self.shown = shown
        self.acked_ms: int | None = None


class ProtectiveStops:
    """Keeps the invariant for the order manager's account (see the module doc).
    :meth:`check` runs on the risk watch (periodically) and after every account event that
    touches an order or a position."""

    def __init__(self, orders: ProtectedOrders, account: AccountView, market: MarketDataView,
                 contracts: ContractBook, alerts: AlertSink, limits: Risk,
                 clock: Callable[[], int]) -> None:
        self._orders = orders
        self._account = account
        self._market = market
        self._contracts = contracts
        self._alerts = alerts
        self._limits = limits
        self._clock = clock
        self._short_since: dict[int, int] = {}
        """Contract → when its stops first fell short of the position (ms)."""
        self._changes: dict[int, _Change] = {}
        self._cancels: dict[int, OrderTicket] = {}
        """Order id → our cancel of it, until the order is done or the cancel failed."""
        self._retry_at: dict[int, int] = {}
        self._failures: dict[int, int] = {}
        self._alerted: dict[tuple[int, str], int] = {}
        self._failure_log = RefusalLog(_log, clock, interval_ms=ALERT_INTERVAL_MS,
                                       level=logging.ERROR)
        self.placed = 0
        self.resized = 0
        self.cancelled = 0
        self.flattened = 0
        self.failures = 0

    # ------------------------------------------------------------------ queries

    def coverage(self, contract_id: int) -> Coverage:
        """What protects the position in ``contract_id`` (see :func:`coverage`)."""
        return coverage(self._account, self._orders.account_id, contract_id,
                        self._orders.symbol_of(contract_id))

    def coverages(self) -> tuple[Coverage, ...]:
        """Every open position and working protective stop of the account."""
        return coverages(self._account, self._orders.account_id, self._orders.symbol_of)

    def protect(self, contract_id: int) -> OrderTicket | None:
        """Place (or grow) the stop a position lacks *now*: no grace time, and even while
        new orders are halted (the shutdown keeps positions protected this way). Never
        flattens. ``None`` when the position is flat or covered, a request of ours in the
        contract is still unsettled, or no stop can be placed (no price, or the market is
        already beyond it)."""
        orders = self._orders
        if orders.liquidating(contract_id):
            return None
        position = self._account.position(orders.account_id, contract_id)
        net = 0 if position is None else position.net_pos
        if net == 0 or self._busy(contract_id, self._clock()):
            return None
        ours, want = self._shortfall(contract_id, net)
        keep = ours[0] if ours else None
        if want <= (0 if keep is None else keep.remaining or 0):
            return None
        price = self._stop_price(contract_id, net, position)
        if price is None:
            return None
        if keep is not None:
            return self._resize(keep, want, price, net)
        return self._place(contract_id, want, price, net)

    def _shortfall(self, contract_id: int, net: int) -> tuple[list[OrderState], int]:
        """Our protective stops on the closing side of ``net`` (not being cancelled), and
        the quantity they should cover: the position less the strategy's own working
        closing-side stops."""
        closing = "Sell" if net > 0 else "Buy"
        working = self._account.open_orders(self._orders.account_id, contract_id)
        ours = [s for s in working if is_protective(s) and s.id not in self._cancels
                and s.status != "PendingCancel" and s.order.action == closing]
        theirs = sum(s.remaining or 0 for s in working
                     if not is_protective(s) and s.order.action == closing
                     and s.status == "Working" and _is_stop(s))
        return ours, max(0, abs(net) - theirs)

    # ------------------------------------------------------------------ the invariant

    def check(self) -> None:
        """One pass over the account's positions and protective stops. Nothing is done while
        the trading connection is down: the account data are stale and no request could go
        (the next snapshot brings the positions as they are)."""
        if not self._orders.account_live:
            return
        now = self._clock()
        account_id = self._orders.account_id
        contracts = {p.contract_id for p in self._account.positions.values()
                     if p.account_id == account_id and p.net_pos != 0}
        contracts.update(s.order.contract_id or 0
                         for s in self._account.open_orders(account_id) if is_protective(s))
        contracts.update(self._changes)
        contracts.update(self._short_since)
        for contract_id in sorted(contracts):
            self._track(contract_id, now)
        for order_id, ticket in list(self._cancels.items()):
            state = self._account.order(order_id)
            if (state is None or state.is_done) or ticket.state in _FAILED:
                del self._cancels[order_id]

    def _track(self, contract_id: int, now: int) -> None:
        orders = self._orders
        if orders.liquidating(contract_id):
            return  # the liquidation cancels the contract's orders and closes the position
        position = self._account.position(orders.account_id, contract_id)
        net = 0 if position is None else position.net_pos
        closing = "Sell" if net > 0 else "Buy"
        working = self._account.open_orders(orders.account_id, contract_id)
        ours = [s for s in working if is_protective(s) and s.id not in self._cancels
                and s.status != "PendingCancel"]
        # A protective stop on a flat position or on the opening side could open (or grow)
        # a position: cancel it at once, whatever else is going on.
        for state in ours:
            if net == 0 or state.order.action != closing:
                self._cancel(state, "the position is flat" if net == 0
                             else f"the position flipped to {net:+d}")
        if net == 0:
            self._short_since.pop(contract_id, None)
            self._forget_failures(contract_id)
            self._changes.pop(contract_id, None)
            return
        ours, want = self._shortfall(contract_id, net)
        busy = self._busy(contract_id, now)
        if want == 0:
            for state in ours:
                self._cancel(state, "the strategy's own stops cover the position")
            self._short_since.pop(contract_id, None)
            return
        for state in ours[1:]:
            self._cancel(state, "one protective stop per position")
        keep = ours[0] if ours else None
        have = 0 if keep is None else keep.remaining or 0
        if have >= want:
            self._short_since.pop(contract_id, None)
            if have > want and not busy and keep is not None:
                self._resize(keep, want, None, net)  # shrink at once, at its price
            return
        since = self._short_since.setdefault(contract_id, now)
        if busy or now - since < self._grace_ms() or now < self._retry_at.get(contract_id, 0):
            return
        if self._limits.protective_stop == "flatten":
            self._flatten(contract_id, net, "")
            return
        price = self._stop_price(contract_id, net, position)
        if keep is not None:
            self._resize(keep, want, price, net)
        elif price is not None:
            self._place(contract_id, want, price, net)
        else:
            self._flatten(contract_id, net, "A stop could not be placed (no position price, "
                          "or the market is already beyond it).")

    def _grace_ms(self) -> float:
        return self._limits.protective_stop_grace_seconds * 1000

    def _busy(self, contract_id: int, now: int) -> bool:
        """A placement, resize or flatten of ours in the contract is unanswered, unknown, or
        acknowledged and not yet in the account data."""
        change = self._changes.get(contract_id)
        if change is None:
            return False
        ticket = change.ticket
        if ticket.is_open:
            return True
        if ticket.refusal == NOT_CONNECTED:  # not a failure: it goes again once connected
            del self._changes[contract_id]
            return False
        if ticket.state in _FAILED:
            self._failed(contract_id, ticket, now)
            del self._changes[contract_id]
            return now < self._retry_at.get(contract_id, 0)
        if change.acked_ms is None:
            change.acked_ms = now
        if change.shown() or now - change.acked_ms >= REFLECT_MS:
            del self._changes[contract_id]
            self._forget_failures(contract_id)
            return False
        return True

    # ------------------------------------------------------------------ acting

    def _stop_price(self, contract_id: int, net: int,
                    position: Position | None) -> float | None:
        """Where the stop goes: ``protective_stop_points`` (or the daily-loss distance)
        beyond the position's price, on the tick grid away from the market, at least one
        tick above zero; ``None`` when no price is known or the stop would be through the
        market."""
        price = self._entry_price(contract_id, position)
        tick = self._orders.tick_size(contract_id)
        points = self._points(contract_id, net)
        if price is None or tick is None or points is None:
            return None
        raw = price - points if net > 0 else price + points
        if not math.isfinite(raw):
            return None
        ticks = raw / tick
        stop = round((math.floor(ticks + 1e-9) if net > 0 else math.ceil(ticks - 1e-9))
                     * tick, 10)
        stop = max(stop, tick)
        quote = self._market.quote(contract_id)
        if quote is not None:
            if net > 0:
                market = [p for p in (quote.bid, quote.last) if p is not None]
                if market and stop >= min(market):
                    return None
            else:
                market = [p for p in (quote.ask, quote.last) if p is not None]
                if market and stop <= max(market):
                    return None
        return stop

    def _entry_price(self, contract_id: int, position: Position | None) -> float | None:
        """The position's price: the server's ``netPrice``, else the average price of the
        open lots from the account's fills, else the last price."""
        if position is not None and position.net_price is not None:
            return position.net_price
        try:
            price = self._account.pnl(self._orders.account_id, contract_id).avg_price
        except TradovateError:
            price = None
        if price is None:
            quote = self._market.quote(contract_id)
            price = None if quote is None else quote.last
        return price

    def _points(self, contract_id: int, net: int) -> float | None:
        """The configured distance, or the one at which this position alone loses
        ``max_daily_loss``: ``max_daily_loss / (|net| × value per point)``."""
        points = self._limits.protective_stop_points
        if points is not None:
            return points
        spec = self._contracts.get(contract_id)
        try:
            vpp = spec.value_per_point if spec is not None \
                else self._account.value_per_point(contract_id)
        except TradovateError:
            return None
        if not vpp > 0:
            return None
        return self._limits.max_daily_loss / (abs(net) * vpp)

    def _place(self, contract_id: int, qty: int, price: float, net: int) -> OrderTicket:
        ticket = self._orders.place_protective_stop(contract_id, qty, price)
        self._changes[contract_id] = _Change(
            ticket, lambda: self._account.order_by_cl_ord_id(ticket.cl_ord_id) is not None)
        if ticket.state is not TicketState.REFUSED:
            self.placed += 1
            _log.info("protective stop for %+d %s: %s %d at %g", net, ticket.symbol,
                      ticket.action, qty, price)
        return ticket

    def _resize(self, state: OrderState, qty: int, price: float | None,
                net: int) -> OrderTicket | None:
        version = state.version
        assert version is not None
        stop = price if price is not None else version.stop_price
        if stop is None:
            return None
        ticket = self._orders.resize_protective_stop(state.id, qty, stop)
        order_qty = state.filled_qty + qty

        def shown() -> bool:
            current = self._account.order(state.id)
            return (current is None or current.is_done or (
                current.version is not None and current.version.order_qty == order_qty))

        self._changes[state.order.contract_id or 0] = _Change(ticket, shown)
        if ticket.state is not TicketState.REFUSED:
            self.resized += 1
            _log.info("protective stop %d resized to %d at %g for the position %+d %s",
                      state.id, qty, stop, net, ticket.symbol)
        return ticket

    def _cancel(self, state: OrderState, why: str) -> None:
        ticket = self._orders.cancel_protective_stop(state.id, trigger=f"protective stop: "
                                                                    f"{why}")
        if ticket.state is TicketState.REFUSED:
            return
        self._cancels[state.id] = ticket
        self.cancelled += 1
        _log.info("protective stop %d cancelled: %s", state.id, why)

    def _flatten(self, contract_id: int, net: int, why: str) -> None:
        tickets = self._orders.flatten(contract_id, trigger="no protective stop")
        name = self._orders.symbol_of(contract_id)
        if tickets:
            ticket = tickets[0]
            self._changes[contract_id] = _Change(ticket, lambda: self._net(contract_id) == 0)
        self.flattened += 1
        _log.error("position %+d %s had no protective stop: flattened", net, name)
        self._alert(contract_id, "flattened",
                    f"Position {net:+d} {name} had no protective stop: flattened", why)

    def _net(self, contract_id: int) -> int:
        position = self._account.position(self._orders.account_id, contract_id)
        return 0 if position is None else position.net_pos

    # ------------------------------------------------------------------ failures

    def _failed(self, contract_id: int, ticket: OrderTicket, now: int) -> None:
        """A request of ours was refused, rejected or not placed: wait before the next one
        (grace × 2^failures, at most a minute); log and alert without flooding."""
        self.failures += 1
        count = self._failures.get(contract_id, 0) + 1
        self._failures[contract_id] = count
        wait = min(max(self._grace_ms(), 1000.0) * 2 ** (count - 1), MAX_BACKOFF_MS)
        self._retry_at[contract_id] = now + int(wait)
        title = (f"Protective stop request {ticket.kind} {ticket.action} {ticket.qty} "
                 f"{ticket.symbol} {ticket.state}: {ticket.reason}")
        self._failure_log.note(f"failed in {ticket.symbol}", title)
        self._alert(contract_id, "failed", title,
                    f"Attempt {count}; the next one in {wait / 1000:g}s. The position may be "
                    "unprotected meanwhile.")

    def _forget_failures(self, contract_id: int) -> None:
        self._failures.pop(contract_id, None)
        self._retry_at.pop(contract_id, None)

    def _alert(self, contract_id: int, what: str, title: str, body: str) -> None:
        now = self._clock()
        key = (contract_id, what)
        last = self._alerted.get(key)
        if last is not None and now - last < ALERT_INTERVAL_MS:
            return
        self._alerted[key] = now
        self._alerts.emit(Alert(Severity.URGENT, "risk.protective_stop", title, body))


_FAILED = frozenset({TicketState.REFUSED, TicketState.REJECTED, TicketState.NOT_PLACED})
