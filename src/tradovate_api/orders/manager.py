"""The order manager: tickets, at-most-once sending, and settling lost answers.

Every order method builds an :class:`~.tickets.OrderTicket`, validates it locally, asks the
risk manager, encodes the request with ``clOrdId`` and ``isAutomated: true`` and hands it to
the gateway — synchronously, so an order decided in an md callback leaves in that callback.

At most once (ADR 0004): a money-moving request is never re-sent. When its answer is lost (a
time-out, the socket dying) the ticket becomes UNKNOWN and new orders in its contract are
refused until the account data settle it: the ``command`` carrying its ``clOrdId`` shows up
(ACKED), or an account snapshot taken on a later connection does not contain it
(NOT_PLACED). Cancels and liquidations are never blocked: they only reduce risk.

Single-threaded like the stores: every method runs on the event loop thread, ``on_account``
and ``on_sync`` on the account reader right after the store applied the event.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ..alerts import Alert, AlertSink, Severity
from ..client.ends import RequestTimeout
from ..errors import (
    ConnectionLost,
    ErrorResponse,
    OrderRejected,
    PenaltyTicket,
    ProtocolError,
    RateLimited,
    TradovateError,
)
from ..protocol.models import (
    CancelOrder,
    CommandResult,
    LiquidatePosition,
    ModifyOrder,
    PlaceOrder,
    PlaceOrderResult,
    PlaceOSO,
    PlaceOsoResult,
    RestrainedOrderVersion,
)
from ..stores import (
    AccountChange,
    AccountView,
    NewFill,
    OrderState,
    SyncReport,
    wall_clock_ms,
)
from .contracts import ContractBook
from .gateway import OrderGateway
from .protection import ProtectiveStops
from .tickets import MONEY_MOVING, OrderTicket, TicketKind, TicketState

if TYPE_CHECKING:
    from ..risk import RiskManager

_log = logging.getLogger("tradovate_api.orders")

TicketListener = Callable[[OrderTicket], None]
"""Called with a ticket each time it is created or changes state (journal, strategy)."""

ORDER_TYPES = frozenset({"Market", "Limit", "Stop", "StopLimit"})
_NEEDS_PRICE = frozenset({"Limit", "StopLimit"})
_NEEDS_STOP = frozenset({"Stop", "StopLimit"})
_ACTIONS = ("Buy", "Sell")
_MAX_TEXT = 64
"""``text`` and ``clOrdId`` are at most 64 characters on the wire."""
_PENDING = TicketState.PENDING
_UNKNOWN = TicketState.UNKNOWN


def run_prefix() -> str:
    """A client order id prefix unique across runs: start time (s, hex) + 16 random bits."""
    return f"{int(time.time()):x}{secrets.token_hex(2)}"


def opposite(action: str) -> str:
    return "Sell" if action == "Buy" else "Buy"


class OrderManager:
    """Encodes, checks and sends order requests; tracks every request as an OrderTicket.

    ``account_id``/``account_spec`` are the traded account's id and name (both are sent, as
    the reference recommends). ``clock`` gives epoch ms. ``id_prefix`` (default
    :func:`run_prefix`) makes ``clOrdId`` = ``<prefix>-<n>`` unique across restarts.
    ``max_tickets`` bounds the history kept in :attr:`tickets` (finished ones go first)."""

    def __init__(self, gateway: OrderGateway, account: AccountView, risk: RiskManager,
                 contracts: ContractBook, alerts: AlertSink, *, account_id: int,
                 account_spec: str, clock: Callable[[], int] = wall_clock_ms,
                 id_prefix: str | None = None, max_tickets: int = 10_000) -> None:
        self._gateway = gateway
        self._account = account
        self._risk = risk
        self._contracts = contracts
        self._alerts = alerts
        self.account_id = account_id
        self.account_spec = account_spec
        self._clock = clock
        self.id_prefix = id_prefix or run_prefix()
        if len(self.id_prefix) > _MAX_TEXT - 16:
            raise ValueError("id_prefix is too long for a 64-character clOrdId")
        self._seq = 0
        if max_tickets < 1:
            raise ValueError("max_tickets must be positive")
        self._max_tickets = max_tickets
        self._prune_slack = max(1, max_tickets // 10)
        self._prune_at = max_tickets + self._prune_slack
        self._tickets: dict[str, OrderTicket] = {}
        self._view = MappingProxyType(self._tickets)
        self._open: dict[str, OrderTicket] = {}
        """PENDING and UNKNOWN tickets: the ones account data can still settle."""
        self._watched: dict[int, OrderTicket] = {}
        """ACKED placements by order id until the order is done (a late risk rejection)."""
        self._listeners: list[TicketListener] = []
        self._halted: str | None = None
        self._flatten_reason: str | None = None
        """Set by a risk halt: later fills are flattened too."""
        self._connection = 0
        """Number of the trading connection whose snapshot was applied last."""
        risk.bind(account_id, self._risk_halt)
        self.protection: ProtectiveStops | None = None
        """The protective-stop invariant, when settings ``risk.protective_stop`` is on."""
        if risk.limits.protective_stop != "off":
            self.protection = ProtectiveStops(self, account, risk.market, contracts, alerts,
                                              risk.limits, clock)
            risk.add_watch(self.protection.check)

    # ------------------------------------------------------------------ state

    @property
    def tickets(self) -> Mapping[str, OrderTicket]:
        """Tickets by ``cl_ord_id``, oldest first (bounded; a live read-only mapping)."""
        return self._view

    def add_listener(self, listener: TicketListener) -> None:
        """``listener(ticket)`` on every creation and state change; it must not raise (a
        listener that does is logged and ignored)."""
        self._listeners.append(listener)

    def unknown(self) -> tuple[OrderTicket, ...]:
        """Tickets whose outcome is not known yet (their answer was lost)."""
        return tuple(t for t in self._open.values() if t.state is _UNKNOWN)

    def pending(self) -> tuple[OrderTicket, ...]:
        """Tickets sent and not answered yet."""
        return tuple(t for t in self._open.values() if t.state is _PENDING)

    def blocked(self, contract_id: int) -> OrderTicket | None:
        """The UNKNOWN money-moving ticket that blocks new orders in a contract, if any."""
        for ticket in self._open.values():
            if (ticket.state is _UNKNOWN and ticket.contract_id == contract_id
                    and ticket.kind in MONEY_MOVING):
                return ticket
        return None

    @property
    def halted(self) -> str | None:
        """Why new orders are refused (``None``: they are not). Cancels and flattening
        still work."""
        return self._halted

    def halt(self, reason: str = "halted") -> None:
        """Refuse new orders, modifications included, for the rest of the run (shutdown,
        risk). Does not cancel or flatten by itself."""
        if self._halted is None:
            self._halted = reason
            _log.warning("orders halted: %s", reason)

    # ------------------------------------------------------------------ order methods

    def place(self, symbol: str, action: str, qty: int, *, order_type: str = "Market",
              price: float | None = None, stop_price: float | None = None,
              trigger: str = "", time_in_force: str | None = None,
              protective: bool = False) -> OrderTicket:
        """``order/placeorder``: Market, Limit (``price``), Stop (``stop_price``) or
        StopLimit (both). ``protective``: a stop that protects a position — it is sent even
        while new orders are halted (the shutdown places a missing stop); risk still
        checks it."""
        spec = self._contracts.get(symbol)
        ticket = self._new(TicketKind.PLACE, symbol, spec.contract_id if spec else 0,
                           action=action, qty=qty, order_type=order_type, price=price,
                           stop_price=stop_price, trigger=trigger)
        if spec is None:
            return self._refuse(ticket, f"unknown contract {symbol!r} (not in the contract "
                                f"book: {', '.join(self._contracts.symbols) or 'none'})")
        problem = _check_order(action, qty, order_type, price, stop_price, spec.tick_size)
        if problem is None and protective and order_type not in ("Stop", "StopLimit"):
            problem = f"a protective order is a stop, not {order_type}"
        if problem is None:
            problem = self._gate(ticket, protective=protective)
        if problem is not None:
            return self._refuse(ticket, problem)
        body = PlaceOrder(action=action, symbol=symbol, order_qty=qty, order_type=order_type,
                          account_spec=self.account_spec, account_id=self.account_id,
                          cl_ord_id=ticket.cl_ord_id, price=price, stop_price=stop_price,
                          time_in_force=time_in_force, text=_text(trigger), is_automated=True)
        return self._send(ticket, "order/placeorder", body, PlaceOrderResult)

    def bracket(self, symbol: str, action: str, qty: int, *, entry_type: str = "Market",
                price: float | None = None, stop_price: float | None = None,
                take_profit: float | None = None, stop_loss: float | None = None,
                trigger: str = "") -> OrderTicket:
        """``order/placeoso``: an entry and its exits, sent by the server once the entry
        fills — a Limit at ``take_profit`` and/or a Stop at ``stop_loss`` (prices), which
        cancel each other. The legs carry ``<clOrdId>-tp`` / ``<clOrdId>-sl``."""
        spec = self._contracts.get(symbol)
        ticket = self._new(TicketKind.OSO, symbol, spec.contract_id if spec else 0,
                           action=action, qty=qty, order_type=entry_type, price=price,
                           stop_price=stop_price, take_profit=take_profit,
                           stop_loss=stop_loss, trigger=trigger)
        if spec is None:
            return self._refuse(ticket, f"unknown contract {symbol!r}")
        problem = _check_order(action, qty, entry_type, price, stop_price, spec.tick_size)
        if problem is None:
            problem = _check_brackets(action, take_profit, stop_loss, spec.tick_size)
        if problem is None:
            problem = self._gate(ticket)
        if problem is not None:
            return self._refuse(ticket, problem)
        exit_action = opposite(action)
        legs = []
        if take_profit is not None:
            legs.append(RestrainedOrderVersion(action=exit_action, order_type="Limit",
                                               price=take_profit,
                                               cl_ord_id=f"{ticket.cl_ord_id}-tp"))
        if stop_loss is not None:
            legs.append(RestrainedOrderVersion(action=exit_action, order_type="Stop",
                                               stop_price=stop_loss,
                                               cl_ord_id=f"{ticket.cl_ord_id}-sl"))
        body = PlaceOSO(action=action, symbol=symbol, order_qty=qty, order_type=entry_type,
                        account_spec=self.account_spec, account_id=self.account_id,
                        cl_ord_id=ticket.cl_ord_id, price=price, stop_price=stop_price,
                        text=_text(trigger), is_automated=True, bracket1=legs[0],
                        bracket2=legs[1] if len(legs) > 1 else None)
        return self._send(ticket, "order/placeoso", body, PlaceOsoResult)

    def modify(self, order: OrderTicket | int, *, qty: int | None = None,
               price: float | None = None, stop_price: float | None = None,
               trigger: str = "") -> OrderTicket:
        """``order/modifyorder``: the order's current version with the given fields
        changed (the endpoint re-sends the whole version)."""
        order_id = order.order_id if isinstance(order, OrderTicket) else order
        state = self._account.order(order_id) if order_id is not None else None
        contract_id = (state.order.contract_id or 0) if state is not None else 0
        ticket = self._new(TicketKind.MODIFY, self._symbol_of(contract_id), contract_id,
                           order_id=order_id, price=price, stop_price=stop_price,
                           trigger=trigger)
        if state is None or state.version is None:
            return self._refuse(ticket, f"order {order_id} is not known (yet) to the account "
                                "store; modify needs its current version")
        version = state.version
        ticket.action = state.order.action
        ticket.qty = version.order_qty if qty is None else qty
        ticket.order_type = version.order_type
        ticket.price = version.price if price is None else price
        ticket.stop_price = version.stop_price if stop_price is None else stop_price
        if state.is_done:
            return self._refuse(ticket, f"order {order_id} is already {state.status}")
        spec = self._contracts.get(contract_id)
        tick = spec.tick_size if spec is not None else None
        problem = _check_order(ticket.action, ticket.qty, ticket.order_type, ticket.price,
                               ticket.stop_price, tick)
        if problem is None and ticket.qty <= state.filled_qty:
            problem = (f"qty {ticket.qty} must exceed the {state.filled_qty} already filled")
        if problem is None:
            problem = self._gate(ticket)
        if problem is not None:
            return self._refuse(ticket, problem)
        body = ModifyOrder(order_id=state.id, order_qty=ticket.qty,
                           order_type=ticket.order_type, cl_ord_id=ticket.cl_ord_id,
                           price=ticket.price, stop_price=ticket.stop_price,
                           max_show=version.max_show, peg_difference=version.peg_difference,
                           time_in_force=version.time_in_force,
                           expire_time=version.expire_time, text=version.text,
                           is_automated=True)
        return self._send(ticket, "order/modifyorder", body, CommandResult)

    def cancel(self, order: OrderTicket | int, *, trigger: str = "") -> OrderTicket:
        """``order/cancelorder``. Never blocked by a halt or an unknown outcome."""
        order_id = order.order_id if isinstance(order, OrderTicket) else order
        state = self._account.order(order_id) if order_id is not None else None
        contract_id = (state.order.contract_id or 0) if state is not None else (
            order.contract_id if isinstance(order, OrderTicket) else 0)
        ticket = self._new(TicketKind.CANCEL, self._symbol_of(contract_id), contract_id,
                           order_id=order_id, trigger=trigger)
        if order_id is None:
            return self._refuse(ticket, "the order has no id yet (its placement is not "
                                "acknowledged)")
        if state is not None:
            ticket.action, ticket.qty = state.order.action, state.remaining or 0
            if state.is_done:
                return self._refuse(ticket, f"order {order_id} is already {state.status}")
        body = CancelOrder(order_id=order_id, cl_ord_id=ticket.cl_ord_id, is_automated=True)
        return self._send(ticket, "order/cancelorder", body, CommandResult)

    def cancel_all(self, symbol: str | None = None, *, trigger: str = "") -> list[OrderTicket]:
        """Cancel every working order of the account (in one contract if ``symbol``),
        except those a cancel is already in flight for and held OSO legs whose entry is
        cancelled too (the server cancels them with it)."""
        contract_id = None
        if symbol is not None:
            spec = self._contracts.get(symbol)
            if spec is None:
                return [self._refuse(self._new(TicketKind.CANCEL, symbol, 0, trigger=trigger),
                                     f"unknown contract {symbol!r}")]
            contract_id = spec.contract_id
        return self._cancel_orders(contract_id, trigger)

    def _net(self, contract_id: int) -> int:
        """The position to flatten: the server's, or — when its ``position`` update has not
        arrived yet — the one the account's fills make. Liquidation is computed by the
        server from its own books, so acting on either never over-closes."""
        position = self._account.position(self.account_id, contract_id)
        if position is not None and position.net_pos != 0:
            return position.net_pos
        return self._fill_positions().get(contract_id, 0)

    def _fill_positions(self) -> dict[int, int]:
        try:
            pnls = self._account.pnls()
        except TradovateError:  # a contract without product facts: fills unusable here
            return {}
        return {p.contract_id: p.net_pos for p in pnls
                if p.account_id == self.account_id and p.net_pos != 0}

    def _cancel_orders(self, contract_id: int | None, trigger: str) -> list[OrderTicket]:
        states = [s for s in self._account.open_orders(self.account_id, contract_id)
                  if s.status != "PendingCancel"]
        cancelling = {t.order_id for t in self._open.values() if t.kind is TicketKind.CANCEL}
        targets = {s.id for s in states}
        return [self.cancel(s.id, trigger=trigger) for s in states
                if s.id not in cancelling and s.order.parent_id not in targets]

    def flatten(self, symbol: str | int | None = None, *,
                trigger: str = "") -> list[OrderTicket]:
        """``order/liquidateposition`` for every open position of the account (or the one
        in ``symbol``, a symbol or a contract id — any contract, traded or not): the server
        cancels the contract's orders and closes its net position. Orders in contracts
        without a position are cancelled. Never blocked."""
        tickets: list[OrderTicket] = []
        if isinstance(symbol, int):
            contract_ids = [symbol]
        elif symbol is not None:
            spec = self._contracts.get(symbol)
            if spec is None:
                return [self._refuse(self._new(TicketKind.LIQUIDATE, symbol, 0,
                                               trigger=trigger),
                                     f"unknown contract {symbol!r}")]
            contract_ids = [spec.contract_id]
        else:
            contract_ids = sorted({p.contract_id for p in self._account.positions.values()
                                   if p.account_id == self.account_id and p.net_pos != 0}
                                  | {s.order.contract_id or 0 for s in
                                     self._account.open_orders(self.account_id)}
                                  | set(self._fill_positions()))
        liquidating = {t.contract_id for t in self._open.values()
                       if t.kind is TicketKind.LIQUIDATE}
        for contract_id in contract_ids:
            net = self._net(contract_id)
            if net == 0:
                tickets.extend(self._cancel_orders(contract_id, trigger))
                continue
            if contract_id in liquidating:
                continue
            ticket = self._new(TicketKind.LIQUIDATE, self._symbol_of(contract_id), contract_id,
                               action="Sell" if net > 0 else "Buy", qty=abs(net),
                               order_type="Market", trigger=trigger)
            body = LiquidatePosition(account_id=self.account_id, contract_id=contract_id,
                                     is_automated=True)
            tickets.append(self._send(ticket, "order/liquidateposition", body,
                                      PlaceOrderResult))
        return tickets

    # ------------------------------------------------------------------ sending

    def _new(self, kind: TicketKind, symbol: str, contract_id: int, **fields: Any) -> OrderTicket:
        self._seq += 1
        return OrderTicket(cl_ord_id=f"{self.id_prefix}-{self._seq}", kind=kind, symbol=symbol,
                           contract_id=contract_id, created_ms=self._clock(), **fields)

    def _symbol_of(self, contract_id: int) -> str:
        spec = self._contracts.get(contract_id)
        if spec is not None:
            return spec.symbol
        contract = self._account.contract(contract_id)
        return contract.name if contract is not None else str(contract_id)

    def _gate(self, ticket: OrderTicket, *, protective: bool = False) -> str | None:
        """Why a new order or modification cannot go now (halt, unknown outcome, risk)."""
        if self._halted is not None and not protective:
            return f"orders halted: {self._halted}"
        blocker = self.blocked(ticket.contract_id)
        if blocker is not None:
            return (f"blocked: the outcome of {blocker.kind} {blocker.cl_ord_id} in "
                    f"{blocker.symbol} is unknown until the account data settle it")
        buy = sell = 0
        if ticket.kind is not TicketKind.MODIFY:
            buy, sell = self._in_flight(ticket.contract_id)
        return self._risk.check(ticket, buy, sell)

    def _in_flight(self, contract_id: int) -> tuple[int, int]:
        """Quantities of open placements in a contract the account store does not show."""
        buy = sell = 0
        for t in self._open.values():
            if (t.contract_id != contract_id
                    or t.kind not in (TicketKind.PLACE, TicketKind.OSO)
                    or (t.order_id is not None and self._account.order(t.order_id) is not None)):
                continue
            if t.action == "Buy":
                buy += t.qty
            else:
                sell += t.qty
        return buy, sell

    def _refuse(self, ticket: OrderTicket, reason: str) -> OrderTicket:
        ticket.state = TicketState.REFUSED
        ticket.reason = reason
        _log.info("order refused: %s %s %s %s: %s", ticket.kind, ticket.action, ticket.qty,
                  ticket.symbol, reason)
        self._record(ticket)
        self._notify(ticket)
        return ticket

    def _send(self, ticket: OrderTicket, endpoint: str, body: Any,
              result_type: Any) -> OrderTicket:
        ticket.connection = self._connection
        try:
            future = self._gateway.send(endpoint, body, result_type)
        except ConnectionLost as exc:
            return self._refuse(ticket, f"not sent: {exc}")
        ticket.sent_ns = time.perf_counter_ns()
        self._record(ticket)
        self._open[ticket.cl_ord_id] = ticket
        future.add_done_callback(functools.partial(self._answered, ticket))
        self._notify(ticket)
        return ticket

    def _record(self, ticket: OrderTicket) -> None:
        tickets = self._tickets
        tickets[ticket.cl_ord_id] = ticket
        if len(tickets) > self._prune_at:
            self._prune()

    def _prune(self) -> None:
        """Forget the oldest finished tickets down to ``max_tickets``; open tickets and
        working placements stay. The next attempt waits for another tenth of growth, so a
        history held up by open tickets is not rescanned on every order."""
        tickets = self._tickets
        excess = len(tickets) - self._max_tickets
        finished: list[str] = []
        for key, t in tickets.items():
            if len(finished) >= excess:
                break
            if not t.is_open and t.order_id not in self._watched:
                finished.append(key)
        for key in finished:
            del tickets[key]
        self._prune_at = max(len(tickets), self._max_tickets) + self._prune_slack

    def _notify(self, ticket: OrderTicket) -> None:
        for listener in self._listeners:
            try:
                listener(ticket)
            except Exception:
                _log.exception("ticket listener %r failed", listener)

    # ------------------------------------------------------------------ answers

    def _answered(self, ticket: OrderTicket, future: Any) -> None:
        ticket.answered_ns = time.perf_counter_ns()
        if future.cancelled():
            self._lost(ticket, "the request was cancelled before its answer")
            return
        error = future.exception()
        if error is None:
            self._acked(ticket, future.result())
        elif isinstance(error, RequestTimeout | ConnectionLost | ProtocolError) or (
                isinstance(error, ErrorResponse) and error.status >= 500):
            self._lost(ticket, f"{type(error).__name__}: {error}")
        else:
            self._rejected(ticket, error)

    def _acked(self, ticket: OrderTicket, result: Any) -> None:
        if isinstance(result, PlaceOsoResult):
            ticket.bracket_ids = tuple(i for i in (result.oso1_id, result.oso2_id)
                                       if i is not None)
        if isinstance(result, PlaceOrderResult):
            ticket.order_id = result.order_id if result.order_id is not None \
                else ticket.order_id
        elif isinstance(result, CommandResult):
            ticket.command_id = result.command_id
        if ticket.state is not _PENDING:
            return  # already settled by the account data; the ids are a bonus
        self._settle(ticket, TicketState.ACKED)

    def _rejected(self, ticket: OrderTicket, error: BaseException) -> None:
        if ticket.state is not _PENDING:
            return
        reason = (f"{error.failure_reason}: {error.failure_text}"
                  if isinstance(error, OrderRejected) and error.failure_text
                  else str(error))
        if isinstance(error, RateLimited | PenaltyTicket):
            self._alerts.emit(Alert(Severity.URGENT, "orders.rate_limited",
                                    f"Order request refused by rate limiting: {error}",
                                    "Tradovate throttles this user; the request was not "
                                    "executed and is not re-sent."))
        else:
            self._alerts.emit(Alert(Severity.ROUTINE, "orders.rejected",
                                    f"{ticket.kind} {ticket.action} {ticket.qty} "
                                    f"{ticket.symbol} rejected: {reason}"))
        ticket.reason = reason
        self._settle(ticket, TicketState.REJECTED)

    def _lost(self, ticket: OrderTicket, reason: str) -> None:
        if ticket.state is not _PENDING:
            return
        ticket.state = _UNKNOWN
        ticket.reason = f"answer lost ({reason}); outcome unknown"
        money = ticket.kind in MONEY_MOVING
        _log.error("order outcome unknown: %s %s %s %s (%s): %s", ticket.kind, ticket.action,
                   ticket.qty, ticket.symbol, ticket.cl_ord_id, reason)
        self._alerts.emit(Alert(
            Severity.URGENT if money else Severity.ROUTINE, "orders.unknown",
            f"Order outcome unknown: {ticket.kind} {ticket.action} {ticket.qty} "
            f"{ticket.symbol}",
            f"clOrdId {ticket.cl_ord_id}: {reason}. It is not re-sent; "
            + ("new orders in this contract wait until the account data show whether it "
               "was executed." if money else "the next account snapshot settles it.")))
        self._notify(ticket)

    def _settle(self, ticket: OrderTicket, state: TicketState) -> None:
        ticket.state = state
        self._open.pop(ticket.cl_ord_id, None)
        if (state is TicketState.ACKED and ticket.order_id is not None
                and ticket.kind in (TicketKind.PLACE, TicketKind.OSO)):
            order = self._account.order(ticket.order_id)
            if order is None or not order.is_done:
                self._watched[ticket.order_id] = ticket
            elif order.status == "Rejected":
                self._reject_late(ticket, order)
        if ticket.state is TicketState.REJECTED:
            _log.warning("order rejected: %s %s %s %s (%s): %s", ticket.kind, ticket.action,
                         ticket.qty, ticket.symbol, ticket.cl_ord_id, ticket.reason)
        self._notify(ticket)

    def _order_done(self, ticket: OrderTicket, order: OrderState) -> None:
        """A watched placement's order finished; a rejection after acceptance rejects the
        ticket."""
        self._watched.pop(order.id, None)
        if order.status == "Rejected" and ticket.state is TicketState.ACKED:
            self._reject_late(ticket, order)
            self._notify(ticket)

    def _reject_late(self, ticket: OrderTicket, order: OrderState) -> None:
        ticket.reason = ": ".join(x for x in (order.reject_reason, order.reject_text) if x) \
            or "rejected after acceptance"
        ticket.state = TicketState.REJECTED
        self._alerts.emit(Alert(Severity.ROUTINE, "orders.rejected",
                                f"{ticket.action} {ticket.qty} {ticket.symbol} rejected "
                                f"after acceptance: {ticket.reason}"))

    # ------------------------------------------------------------------ account data

    def on_account(self, changes: Iterable[AccountChange]) -> None:
        """Settle tickets from a ``props`` event the account store just applied: an order
        carrying an open ticket's ``clOrdId`` acknowledges it; a watched order that ends
        ``Rejected`` rejects it; a liquidated position settles a lost liquidation."""
        if self._open:
            self._settle_from_store(final=False)
        if self._flatten_reason is not None:
            self._flatten_late_fills(changes)
        if self._watched:
            for change in changes:
                if type(change) is OrderState and change.is_done:
                    ticket = self._watched.get(change.id)
                    if ticket is not None:
                        self._order_done(ticket, change)

    def on_sync(self, report: SyncReport, connection: int) -> None:
        """A snapshot of trading connection number ``connection`` was applied: everything the
        server executed before it is in it. Tickets whose answer was lost on an earlier
        connection are settled now: ACKED when it shows their ``clOrdId``, NOT_PLACED when
        it does not (a liquidation: ACKED if the position is flat)."""
        self._connection = connection
        self._settle_from_store(final=True, before=connection)
        for order_id, ticket in list(self._watched.items()):
            order = self._account.order(order_id)
            if order is not None and order.is_done:
                self._order_done(ticket, order)

    def on_disconnect(self) -> None:
        """The trading connection is gone: every unanswered request's outcome is unknown."""
        for ticket in list(self._open.values()):
            self._lost(ticket, "the trading connection was lost")

    def _settle_from_store(self, *, final: bool, before: int = 0) -> None:
        account = self._account
        for ticket in list(self._open.values()):
            if ticket.kind is TicketKind.LIQUIDATE:
                position = account.position(self.account_id, ticket.contract_id)
                flat = position is None or position.net_pos == 0
                if ticket.state is _UNKNOWN and flat:
                    self._settle(ticket, TicketState.ACKED)
                elif final and ticket.connection < before:
                    self._not_placed(ticket, "the position is still open after the "
                                     "reconnect: the liquidation was not executed")
                continue
            state = account.order_by_cl_ord_id(ticket.cl_ord_id)
            if state is not None:
                if ticket.kind in (TicketKind.PLACE, TicketKind.OSO):
                    ticket.order_id = state.id
                    if ticket.kind is TicketKind.OSO and not ticket.bracket_ids:
                        ticket.bracket_ids = self._legs(ticket.cl_ord_id)
                if ticket.state is _UNKNOWN:
                    _log.warning("order outcome settled: %s (%s) was executed",
                                 ticket.cl_ord_id, ticket.kind)
                self._settle(ticket, TicketState.ACKED)
            elif final and ticket.connection < before:
                self._not_placed(ticket, "the account snapshot after the reconnect has no "
                                 "command with its clOrdId: it was not executed")

    def _legs(self, cl_ord_id: str) -> tuple[int, ...]:
        legs = (self._account.order_by_cl_ord_id(f"{cl_ord_id}-{leg}") for leg in ("tp", "sl"))
        return tuple(state.id for state in legs if state is not None)

    def _not_placed(self, ticket: OrderTicket, reason: str) -> None:
        was_unknown = ticket.state is _UNKNOWN
        ticket.reason = reason
        _log.warning("order outcome settled: %s (%s) was not executed", ticket.cl_ord_id,
                     ticket.kind)
        if was_unknown:
            self._alerts.emit(Alert(Severity.ROUTINE, "orders.settled",
                                    f"Order outcome settled: {ticket.kind} {ticket.action} "
                                    f"{ticket.qty} {ticket.symbol} was not executed",
                                    f"clOrdId {ticket.cl_ord_id}; the contract is unblocked."))
        self._settle(ticket, TicketState.NOT_PLACED)

    # ------------------------------------------------------------------ risk

    def _risk_halt(self, reason: str) -> None:
        """The risk manager's halt: refuse new orders, cancel everything, flatten — and keep
        flattening what fills later (an order that traded before its cancel arrived)."""
        self.halt(reason)
        self._flatten_reason = f"risk: {reason}"
        self.flatten(trigger=self._flatten_reason)

    def _flatten_late_fills(self, changes: Iterable[AccountChange]) -> None:
        liquidations = {t.order_id for t in self._tickets.values()
                        if t.kind is TicketKind.LIQUIDATE and t.order_id is not None}
        late = {c.fill.contract_id for c in changes
                if type(c) is NewFill and c.order.account_id == self.account_id
                and c.order.id not in liquidations}
        for contract_id in sorted(late):
            _log.warning("a fill arrived after the risk halt; flattening contract %d again",
                         contract_id)
            self.flatten(contract_id, trigger=self._flatten_reason or "risk")


def _text(trigger: str) -> str | None:
    return trigger[:_MAX_TEXT] if trigger else None


def _on_grid(price: float, tick: float) -> bool:
    ticks = price / tick
    return abs(ticks - round(ticks)) < 1e-6


def _check_order(action: str, qty: int, order_type: str, price: float | None,
                 stop_price: float | None, tick: float | None) -> str | None:
    """A clear local error for a request the server would refuse anyway."""
    if action not in _ACTIONS:
        return f"action must be 'Buy' or 'Sell', got {action!r}"
    if isinstance(qty, bool) or not isinstance(qty, int) or qty < 1:
        return f"qty must be a positive integer, got {qty!r}"
    if order_type not in ORDER_TYPES:
        return f"order type must be one of {', '.join(sorted(ORDER_TYPES))}, got {order_type!r}"
    if (order_type in _NEEDS_PRICE) != (price is not None):
        return (f"a {order_type} order needs a price" if order_type in _NEEDS_PRICE
                else f"a {order_type} order takes no price")
    if (order_type in _NEEDS_STOP) != (stop_price is not None):
        return (f"a {order_type} order needs a stop_price" if order_type in _NEEDS_STOP
                else f"a {order_type} order takes no stop_price")
    for label, value in (("price", price), ("stop_price", stop_price)):
        if value is None:
            continue
        if not value > 0:
            return f"{label} must be positive, got {value!r}"
        if tick is not None and not _on_grid(value, tick):
            return f"{label} {value} is not on the tick grid ({tick})"
    return None


def _check_brackets(action: str, take_profit: float | None, stop_loss: float | None,
                    tick: float) -> str | None:
    if take_profit is None and stop_loss is None:
        return "a bracket needs take_profit and/or stop_loss"
    for label, value in (("take_profit", take_profit), ("stop_loss", stop_loss)):
        if value is not None and (not value > 0 or not _on_grid(value, tick)):
            return f"{label} {value} is not a positive price on the tick grid ({tick})"
    if take_profit is not None and stop_loss is not None:
        wrong = take_profit <= stop_loss if action == "Buy" else take_profit >= stop_loss
        if wrong:
            side = "above" if action == "Buy" else "below"
            return f"take_profit must be {side} stop_loss for a {action} entry"
    return None
