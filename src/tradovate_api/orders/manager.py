"""The order manager: tickets, at-most-once sending, and settling lost answers.

Every order method builds an :class:`~.tickets.OrderTicket`, validates it locally, asks the
risk manager, encodes the request with ``clOrdId`` and ``isAutomated: true`` and hands it to
the gateway — synchronously, so an order decided in an md callback leaves in that callback.

At most once (ADR 0004, ADR 0006): a money-moving request is never re-sent. When its answer is
lost (a time-out, the socket dying, a 5xx, an unreadable body) the ticket becomes UNKNOWN and
new orders and modifications in its contract are refused until positive evidence settles it:
the account data show its ``command`` (ACKED, or REJECTED when the command was rejected), or
the :class:`~.resolver.OutcomeResolver` reads the server's complete command list after the
grace period and finds none (NOT_PLACED). A reconnect's snapshot without it proves nothing:
the exchange can still execute a request whose socket died. Cancels and liquidations are never
blocked: they only reduce risk. Should a NOT_PLACED request appear after all, its ticket turns
ACKED with an urgent alert. An earlier run's request that its journal left unanswered is
followed the same way after a restart (:meth:`OrderManager.take_over`).

Protective stops (:class:`~.protection.ProtectiveStops`) go through their own methods: checked
like any order, exempt from the halt, the block and the risk limits (they only reduce risk),
refused if they could open a position.

Order strategies (:meth:`OrderManager.bracket_strategy`, ``orderStrategy/startorderstrategy``)
follow the same rules: the request carries the ticket's id as ``customTag50`` (and, made a
UUID, as ``uuid``); the account data settle a lost answer when they show the strategy or its
entry's command, the resolver when the server's command or strategy list does or, after the
grace period, does not. An ACKED strategy ticket keeps following its strategy (its entry, the
targets and stops each fill creates, a rejection) until the strategy ends. An interrupt
(:meth:`OrderManager.interrupt_strategy`) only cancels orders and is never blocked, like a
cancel.

Single-threaded like the stores: every method runs on the event loop thread, ``on_account``
and ``on_sync`` on the account reader right after the store applied the event.
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    Command,
    CommandReport,
    CommandResult,
    InterruptOrderStrategy,
    LiquidatePosition,
    ModifyOrder,
    OrderStrategy,
    OrderStrategyStatusResponse,
    PlaceOCO,
    PlaceOcoResult,
    PlaceOrder,
    PlaceOrderResult,
    PlaceOSO,
    PlaceOsoResult,
    Position,
    RestrainedOrderVersion,
    StartOrderStrategy,
)
from ..stores import (
    STRATEGY_DONE,
    AccountChange,
    AccountView,
    NewFill,
    OrderState,
    StrategyState,
    SyncReport,
    wall_clock_ms,
)
from .cause import MarketCause
from .contracts import ContractBook
from .gateway import OrderGateway
from .in_flight import InFlight
from .order_strategy import (
    MAX_PARAMS,
    MULTIBRACKET,
    StrategyBracket,
    carries,
    check_strategy,
    strategy_params,
    strategy_uuid,
)
from .outcomes import Verdict, command_verdict, finished_order_verdict
from .protection import Coverage, ProtectiveStops, coverage, coverages
from .refusals import RefusalLog
from .ticket_index import TicketIndex
from .tickets import (
    MONEY_MOVING,
    NOT_CONNECTED,
    PLACING,
    PROTECTIVE_SUFFIX,
    OrderTicket,
    TicketKind,
    TicketState,
    set_action,
    set_answered_ns,
    set_bracket_ids,
    set_checked_ns,
    set_command_id,
    set_connection,
    set_order_id,
    set_order_type,
    set_price,
    set_qty,
    set_reason,
    set_refusal,
    set_sent_ns,
    set_state,
    set_stop_price,
    set_strategy_id,
    set_taken_over_ns,
)

if TYPE_CHECKING:
    from .risk import RiskManager

_log = logging.getLogger("tradovate_api.orders")

TicketListener = Callable[[OrderTicket], None]
"""Called with a ticket each time it is created or changes state (journal, strategy)."""
BeforeSend = Callable[[OrderTicket], "str | None"]
"""Called with a ticket right before its request is written (the journal's write-ahead);
returns why it must not be sent, or ``None``."""

ORDER_TYPES = frozenset({"Market", "Limit", "Stop", "StopLimit"})
_NEEDS_PRICE = frozenset({"Limit", "StopLimit"})
_NEEDS_STOP = frozenset({"Stop", "StopLimit"})
_ACTIONS = ("Buy", "Sell")
_MAX_TEXT = 64
"""``text`` and ``clOrdId`` are at most 64 characters on the wire."""
_PENDING = TicketState.PENDING
_UNKNOWN = TicketState.UNKNOWN
LATE_WATCH = 256
"""NOT_PLACED tickets watched at most for a very late appearance (the newest ones)."""
_PROTECTIVE_TRIGGER = "protective stop"
_ENTERING = frozenset({TicketKind.PLACE, TicketKind.OSO, TicketKind.OCO, TicketKind.STRATEGY})
"""Placements that add working orders (a liquidation only ever closes)."""
START_STRATEGY = "orderStrategy/startorderstrategy"
INTERRUPT_STRATEGY = "orderStrategy/interruptorderstrategy"
_STOPPED = "StoppedByUser"
"""Status of an order strategy an interrupt stopped."""
_FAILED = "ExecutionFailed"
"""Status of an order strategy whose entry was rejected."""
_COMMANDS = frozenset({TicketKind.MODIFY, TicketKind.CANCEL})
"""Requests on an existing order, settled by their command's verdict."""


def run_prefix() -> str:
    """A client order id prefix unique across runs: start time (s, hex) + 16 random bits."""
    return f"{int(time.time()):x}{secrets.token_hex(2)}"


def opposite(action: str) -> str:
    return "Sell" if action == "Buy" else "Buy"


class OrderManager:
    """Encodes, checks and sends order requests; tracks every request as an OrderTicket.

    ``account_id``/``account_spec`` are the traded account's id and name (both are sent, as
    the reference recommends); every ticket carries the id. Each intent method takes
    ``source``, who asks (a strategy's name; the tickets of the framework's own requests —
    protective stops, risk halts, shutdown — have none). ``clock`` gives epoch ms.
    ``id_prefix`` (default :func:`run_prefix`) makes ``clOrdId`` = ``<prefix>-<n>`` unique
    across restarts.
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
        self._open: TicketIndex[str] = TicketIndex()
        """PENDING and UNKNOWN tickets: the ones account data can still settle."""
        self._unknown: TicketIndex[str] = TicketIndex()
        """The UNKNOWN money-moving tickets of :attr:`_open`: what blocks a contract."""
        self._watched: TicketIndex[int] = TicketIndex()
        """ACKED placements by order id until the order is done (a late risk rejection)."""
        self._flight = InFlight(account)
        """Quantities of the entering tickets of :attr:`_open` and :attr:`_watched` the
        account store does not show yet (every change of those goes through
        :meth:`_refile`)."""
        self._watched_commands: OrderedDict[int, OrderTicket] = OrderedDict()
        """ACKED modifications and cancels by command id until their command is decided."""
        self._absent: OrderedDict[str, OrderTicket] = OrderedDict()
        """NOT_PLACED tickets by ``cl_ord_id``, watched for a very late appearance."""
        self._strategies: OrderedDict[str, OrderTicket] = OrderedDict()
        """ACKED order strategy tickets by ``cl_ord_id`` until their strategy has ended with
        its entry known: their entry, exits and a rejection follow the account data."""
        self._refusals = RefusalLog(_log, clock, level=logging.INFO)
        """Refusals are logged one line per kind per interval (a strategy hammering a limit
        must not fill the log)."""
        self._listeners: list[TicketListener] = []
        self._before_send: BeforeSend | None = None
        self.cause = MarketCause()
        """The market-data event being handled (written by the md reader): its stamps go
        into every ticket created meanwhile."""
        self._halted: str | None = None
        self._flatten_reason: str | None = None
        """Set by a risk halt: later fills are flattened too."""
        self._connection = 0
        """Number of the trading connection whose snapshot was applied last."""
        self._account_live = True
        """False from the end of a trading connection until the next one's snapshot is
        applied: meanwhile the account data may be stale."""
        risk.bind(account_id, self._risk_halt, self._risk_flatten)
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

    def set_before_send(self, hook: BeforeSend | None) -> None:
        """``hook(ticket)`` runs right before each request is written on the wire (the
        journal writes it ahead there). A reason it returns refuses the request instead of
        sending it; it must not raise."""
        self._before_send = hook

    def unknown(self) -> tuple[OrderTicket, ...]:
        """Tickets whose outcome is not known yet (their answer was lost)."""
        return tuple(t for t in self._open.values() if t.state is _UNKNOWN)

    def pending(self) -> tuple[OrderTicket, ...]:
        """Tickets sent and not answered yet."""
        return tuple(t for t in self._open.values() if t.state is _PENDING)

    def blocked(self, contract_id: int) -> OrderTicket | None:
        """The UNKNOWN money-moving ticket that blocks new orders in a contract, if any (of
        several, the first sent)."""
        unknown = self._unknown.in_contract(contract_id)
        if not unknown:
            return None
        if len(unknown) > 1:  # the first sent: the order of the open tickets
            for ticket in self._open.in_contract(contract_id):
                if ticket.state is _UNKNOWN and ticket.kind in MONEY_MOVING:
                    return ticket
        return next(iter(unknown))

    @property
    def account_live(self) -> bool:
        """Whether the account data are current: no trading connection has ended since the
        last snapshot was applied."""
        return self._account_live

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
              source: str = "") -> OrderTicket:
        """``order/placeorder``: Market, Limit (``price``), Stop (``stop_price``) or
        StopLimit (both)."""
        spec = self._contracts.get(symbol)
        ticket = self._new(TicketKind.PLACE, symbol, spec.contract_id if spec else 0,
                           action=action, qty=qty, order_type=order_type, price=price,
                           stop_price=stop_price, trigger=trigger, source=source)
        if spec is None:
            return self._refuse(ticket, f"unknown contract {symbol!r} (not in the contract "
                                f"book: {', '.join(self._contracts.symbols) or 'none'})",
                                "unknown contract")
        problem = _check_order(action, qty, order_type, price, stop_price, spec.tick_size)
        if problem is not None:
            return self._refuse(ticket, problem, "invalid")
        refusal = self._gate(ticket)
        if refusal is not None:
            return self._refuse(ticket, *refusal)
        body = PlaceOrder(action=action, symbol=symbol, order_qty=qty, order_type=order_type,
                          account_spec=self.account_spec, account_id=self.account_id,
                          cl_ord_id=ticket.cl_ord_id, price=price, stop_price=stop_price,
                          time_in_force=time_in_force, text=_text(trigger), is_automated=True)
        return self._send(ticket, "order/placeorder", body, PlaceOrderResult)

    def bracket(self, symbol: str, action: str, qty: int, *, entry_type: str = "Market",
                price: float | None = None, stop_price: float | None = None,
                take_profit: float | None = None, stop_loss: float | None = None,
                trigger: str = "", source: str = "") -> OrderTicket:
        """``order/placeoso``: an entry and its exits, sent by the server once the entry
        fills — a Limit at ``take_profit`` and/or a Stop at ``stop_loss`` (prices), which
        cancel each other. The legs carry ``<clOrdId>-tp`` / ``<clOrdId>-sl``."""
        spec = self._contracts.get(symbol)
        ticket = self._new(TicketKind.OSO, symbol, spec.contract_id if spec else 0,
                           action=action, qty=qty, order_type=entry_type, price=price,
                           stop_price=stop_price, take_profit=take_profit,
                           stop_loss=stop_loss, trigger=trigger, source=source)
        if spec is None:
            return self._refuse(ticket, f"unknown contract {symbol!r}", "unknown contract")
        problem = _check_order(action, qty, entry_type, price, stop_price, spec.tick_size)
        if problem is None:
            problem = _check_brackets(action, take_profit, stop_loss, spec.tick_size)
        if problem is not None:
            return self._refuse(ticket, problem, "invalid")
        refusal = self._gate(ticket)
        if refusal is not None:
            return self._refuse(ticket, *refusal)
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

    def oco(self, symbol: str, action: str, qty: int, *, take_profit: float,
            stop_loss: float, trigger: str = "", source: str = "") -> OrderTicket:
        """``order/placeoco`` (reference §6.5): exits for an open position — a Limit at
        ``take_profit`` and a Stop at ``stop_loss``, both ``action`` (the closing side), which
        the server links so that a fill of one cancels the other: target and stop can never
        both fill. The stop counts as the position's stop (a protective stop steps aside).
        The Stop leg carries ``<clOrdId>-sl``."""
        spec = self._contracts.get(symbol)
        ticket = self._new(TicketKind.OCO, symbol, spec.contract_id if spec else 0,
                           action=action, qty=qty, order_type="Limit", price=take_profit,
                           take_profit=take_profit, stop_loss=stop_loss, trigger=trigger,
                           source=source)
        if spec is None:
            return self._refuse(ticket, f"unknown contract {symbol!r}", "unknown contract")
        problem = _check_order(action, qty, "Limit", take_profit, None, spec.tick_size)
        if problem is None:
            problem = _check_order(action, qty, "Stop", None, stop_loss, spec.tick_size)
        if problem is None:  # exits: priced like the brackets of an entry the other way
            problem = _check_brackets(opposite(action), take_profit, stop_loss,
                                      spec.tick_size)
        if problem is not None:
            return self._refuse(ticket, problem, "invalid")
        refusal = self._gate(ticket)
        if refusal is not None:
            return self._refuse(ticket, *refusal)
        body = PlaceOCO(action=action, symbol=symbol, order_qty=qty, order_type="Limit",
                        account_spec=self.account_spec, account_id=self.account_id,
                        cl_ord_id=ticket.cl_ord_id, price=take_profit, text=_text(trigger),
                        is_automated=True,
                        other=RestrainedOrderVersion(action=action, order_type="Stop",
                                                     stop_price=stop_loss,
                                                     cl_ord_id=f"{ticket.cl_ord_id}-sl"))
        return self._send(ticket, "order/placeoco", body, PlaceOcoResult)

    def bracket_strategy(self, symbol: str, action: str, qty: int, *,
                         entry_type: str = "Market", price: float | None = None,
                         stop_price: float | None = None, target_offset: float | None = None,
                         stop_offset: float | None = None, trailing_stop: bool = False,
                         brackets: Sequence[StrategyBracket] | None = None,
                         time_in_force: str | None = None, trigger: str = "",
                         source: str = "") -> OrderTicket:
        """``orderStrategy/startorderstrategy`` (multibracket, reference §6.7): an entry
        whose every fill the server protects at once with a Limit ``target_offset`` points
        and a Stop (TrailingStop with ``trailing_stop``) ``stop_offset`` points from that
        fill's price, linked OCO and sized to the fill. Offsets are signed as on the wire: a
        Buy takes a positive target and a negative stop, a Sell the opposite; on the tick
        grid. ``brackets`` splits the entry into several brackets (their quantities add up to
        ``qty``) instead of one of ``qty`` with the offsets given here.

        The request carries the ticket's id as ``customTag50`` and, made a UUID, as
        ``uuid``; risk-checked like any entry. ``ticket.strategy_id`` is the server's
        strategy, ``order_id`` its entry, ``bracket_ids`` the targets and stops created so
        far (they follow the account data until the strategy ends)."""
        spec = self._contracts.get(symbol)
        legs = (tuple(brackets) if brackets is not None
                else (StrategyBracket(qty, target_offset, stop_offset, trailing_stop),))
        ticket = self._new(TicketKind.STRATEGY, symbol, spec.contract_id if spec else 0,
                           action=action, qty=qty, order_type=entry_type, price=price,
                           stop_price=stop_price, trigger=trigger, brackets=legs,
                           source=source)
        if spec is None:
            return self._refuse(ticket, f"unknown contract {symbol!r}", "unknown contract")
        problem = None
        if brackets is not None and (target_offset is not None or stop_offset is not None
                                     or trailing_stop):
            problem = "give either brackets or target_offset/stop_offset, not both"
        problem = (problem
                   or _check_order(action, qty, entry_type, price, stop_price, spec.tick_size)
                   or check_strategy(action, qty, legs, spec.tick_size))
        params = "" if problem is not None else strategy_params(
            qty, entry_type, price, stop_price, time_in_force, legs)
        if problem is None and len(params) > MAX_PARAMS:
            problem = (f"too many brackets: the request's params would be {len(params)} "
                       f"characters, at most {MAX_PARAMS}")
        if problem is not None:
            return self._refuse(ticket, problem, "invalid")
        refusal = self._gate(ticket)
        if refusal is not None:
            return self._refuse(ticket, *refusal)
        body = StartOrderStrategy(symbol=symbol, order_strategy_type_id=MULTIBRACKET,
                                  action=action, account_id=self.account_id,
                                  account_spec=self.account_spec, params=params,
                                  uuid=strategy_uuid(ticket.cl_ord_id),
                                  custom_tag50=ticket.cl_ord_id, is_automated=True)
        return self._send(ticket, START_STRATEGY, body, OrderStrategyStatusResponse)

    def interrupt_strategy(self, strategy: OrderTicket | int, *,
                           trigger: str = "", source: str = "") -> OrderTicket:
        """``orderStrategy/interruptorderstrategy`` for an order strategy (its STRATEGY ticket
        or its id): the server cancels its remaining orders — an unfilled entry, the targets
        and stops of its fills — and ends it ``StoppedByUser``. A position it opened stays
        (a protective stop covers it after the grace, per ``risk.protective_stop``). Never
        blocked by a halt or an unknown outcome, like a cancel. The endpoint takes no client
        id: the outcome of a lost answer is read from the strategy's status."""
        strategy_id = strategy.strategy_id if isinstance(strategy, OrderTicket) else strategy
        if isinstance(strategy_id, bool) or not isinstance(strategy_id, int | None):
            return self._refuse(self._new(TicketKind.INTERRUPT, "", 0, trigger=trigger,
                                          source=source),
                                f"an order strategy is its ticket or its id (an int), got "
                                f"{strategy_id!r}", "invalid")
        state = self._account.order_strategy(strategy_id) if strategy_id is not None else None
        contract_id = (state.strategy.contract_id if state is not None else (
            strategy.contract_id if isinstance(strategy, OrderTicket) else 0))
        ticket = self._new(TicketKind.INTERRUPT, self.symbol_of(contract_id), contract_id,
                           strategy_id=strategy_id, trigger=trigger, source=source)
        if strategy_id is None:
            return self._refuse(ticket, "the order strategy has no id yet (its start is not "
                                "acknowledged)", "invalid")
        if state is not None:
            set_action(ticket, state.strategy.action)
            if state.is_done:
                return self._refuse(ticket, f"order strategy {strategy_id} is already "
                                    f"{state.status}", "invalid")
        body = InterruptOrderStrategy(order_strategy_id=strategy_id)
        return self._send(ticket, INTERRUPT_STRATEGY, body, OrderStrategyStatusResponse)

    def modify(self, order: OrderTicket | int, *, qty: int | None = None,
               price: float | None = None, stop_price: float | None = None,
               trigger: str = "", source: str = "") -> OrderTicket:
        """``order/modifyorder``: the order's current version with the given fields
        changed (the endpoint re-sends the whole version)."""
        order_id = order.order_id if isinstance(order, OrderTicket) else order
        state = self._account.order(order_id) if order_id is not None else None
        contract_id = (state.order.contract_id or 0) if state is not None else 0
        ticket = self._new(TicketKind.MODIFY, self.symbol_of(contract_id), contract_id,
                           order_id=order_id, price=price, stop_price=stop_price,
                           trigger=trigger, source=source)
        if state is None or state.version is None:
            return self._refuse(ticket, f"order {order_id} is not known (yet) to the account "
                                "store; modify needs its current version", "invalid")
        version = state.version
        set_action(ticket, state.order.action)
        set_qty(ticket, version.order_qty if qty is None else qty)
        set_order_type(ticket, version.order_type)
        set_price(ticket, version.price if price is None else price)
        set_stop_price(ticket, version.stop_price if stop_price is None else stop_price)
        if state.is_done:
            return self._refuse(ticket, f"order {order_id} is already {state.status}",
                                "invalid")
        problem = self._check_modify(ticket, state)
        if problem is not None:
            return self._refuse(ticket, problem, "invalid")
        refusal = self._gate(ticket)
        if refusal is not None:
            return self._refuse(ticket, *refusal)
        return self._send_modify(ticket, state)

    def _check_modify(self, ticket: OrderTicket, state: OrderState) -> str | None:
        tick = self.tick_size(ticket.contract_id)
        problem = _check_order(ticket.action, ticket.qty, ticket.order_type, ticket.price,
                               ticket.stop_price, tick)
        if problem is None and ticket.qty <= state.filled_qty:
            problem = f"qty {ticket.qty} must exceed the {state.filled_qty} already filled"
        return problem

    def _send_modify(self, ticket: OrderTicket, state: OrderState) -> OrderTicket:
        version = state.version
        assert version is not None
        body = ModifyOrder(order_id=state.id, order_qty=ticket.qty,
                           order_type=ticket.order_type, cl_ord_id=ticket.cl_ord_id,
                           price=ticket.price, stop_price=ticket.stop_price,
                           max_show=version.max_show, peg_difference=version.peg_difference,
                           time_in_force=version.time_in_force,
                           expire_time=version.expire_time, text=version.text,
                           is_automated=True)
        return self._send(ticket, "order/modifyorder", body, CommandResult)

    def cancel(self, order: OrderTicket | int, *, trigger: str = "",
               source: str = "") -> OrderTicket:
        """``order/cancelorder``. Never blocked by a halt or an unknown outcome."""
        return self._cancel(order, trigger, "", source)

    def _cancel(self, order: OrderTicket | int, trigger: str, suffix: str,
                source: str = "") -> OrderTicket:
        order_id = order.order_id if isinstance(order, OrderTicket) else order
        state = self._account.order(order_id) if order_id is not None else None
        contract_id = (state.order.contract_id or 0) if state is not None else (
            order.contract_id if isinstance(order, OrderTicket) else 0)
        ticket = self._new(TicketKind.CANCEL, self.symbol_of(contract_id), contract_id,
                           suffix=suffix, order_id=order_id, trigger=trigger, source=source)
        if order_id is None:
            return self._refuse(ticket, "the order has no id yet (its placement is not "
                                "acknowledged)", "invalid")
        if state is not None:
            set_action(ticket, state.order.action)
            set_qty(ticket, state.remaining or 0)
            if state.is_done:
                return self._refuse(ticket, f"order {order_id} is already {state.status}",
                                    "invalid")
        body = CancelOrder(order_id=order_id, cl_ord_id=ticket.cl_ord_id, is_automated=True)
        return self._send(ticket, "order/cancelorder", body, CommandResult)

    def cancel_all(self, symbol: str | None = None, *, trigger: str = "",
                   keep_protective: bool = False, source: str = "") -> list[OrderTicket]:
        """Cancel every working order of the account (in one contract if ``symbol``),
        except those a cancel is already in flight for and held OSO legs whose entry is
        cancelled too (the server cancels them with it); with ``keep_protective`` the
        protective stops stay working too."""
        contract_id = None
        if symbol is not None:
            spec = self._contracts.get(symbol)
            if spec is None:
                return [self._refuse(self._new(TicketKind.CANCEL, symbol, 0, trigger=trigger,
                                               source=source),
                                     f"unknown contract {symbol!r}", "unknown contract")]
            contract_id = spec.contract_id
        return self._cancel_orders(contract_id, trigger, keep_protective, source)

    # ------------------------------------------------------------------ protective stops

    def place_protective_stop(self, contract_id: int, qty: int, stop_price: float,
                              *, trigger: str = _PROTECTIVE_TRIGGER) -> OrderTicket:
        """A Stop on the closing side of the account's position in ``contract_id`` (for
        :class:`~.protection.ProtectiveStops`). Checked like any order and refused if it
        could open a position (no position, or ``qty`` above it); never held back by the
        halt, an unknown outcome or the risk limits: it only reduces risk. Its client order
        id ends with ``-ps``."""
        net = self._position(contract_id)
        action = "Sell" if net > 0 else "Buy"
        ticket = self._new(TicketKind.PLACE, self.symbol_of(contract_id), contract_id,
                           suffix=PROTECTIVE_SUFFIX, action=action, qty=qty,
                           order_type="Stop", stop_price=stop_price, trigger=trigger)
        problem = None
        if net == 0:
            problem = "no open position to protect"
        elif qty > abs(net):
            problem = (f"a protective stop of {qty} would exceed the position {net:+d}: it "
                       "could open one")
        if problem is None:
            problem = _check_order(action, qty, "Stop", None, stop_price,
                                   self.tick_size(contract_id))
        if problem is not None:
            return self._refuse(ticket, problem, "protective stop")
        body = PlaceOrder(action=action, symbol=ticket.symbol, order_qty=qty,
                          order_type="Stop", account_spec=self.account_spec,
                          account_id=self.account_id, cl_ord_id=ticket.cl_ord_id,
                          stop_price=stop_price, text=_text(trigger), is_automated=True)
        return self._send(ticket, "order/placeorder", body, PlaceOrderResult)

    def resize_protective_stop(self, order_id: int, qty: int, stop_price: float,
                               *, trigger: str = _PROTECTIVE_TRIGGER) -> OrderTicket:
        """Make a working protective stop cover ``qty`` (its unfilled quantity) at
        ``stop_price`` (``order/modifyorder``). Refused unless the order is a protective
        stop on the closing side of the position and ``qty`` is not above the position;
        exempt from the halt, the block and the risk limits like
        :meth:`place_protective_stop`."""
        state = self._account.order(order_id)
        contract_id = (state.order.contract_id or 0) if state is not None else 0
        ticket = self._new(TicketKind.MODIFY, self.symbol_of(contract_id), contract_id,
                           suffix=PROTECTIVE_SUFFIX, order_id=order_id, qty=qty,
                           stop_price=stop_price, trigger=trigger)
        if state is None or state.version is None or state.is_done:
            return self._refuse(ticket, f"order {order_id} is not a working order",
                                "protective stop")
        net = self._position(contract_id)
        set_action(ticket, state.order.action)
        set_order_type(ticket, state.version.order_type)
        set_qty(ticket, state.filled_qty + qty)
        problem = None
        if not (state.cl_ord_id or "").endswith(PROTECTIVE_SUFFIX):
            problem = f"order {order_id} is not a protective stop"
        elif net == 0 or ticket.action != ("Sell" if net > 0 else "Buy"):
            problem = f"order {order_id} is not on the closing side of the position {net:+d}"
        elif qty > abs(net):
            problem = (f"a protective stop of {qty} would exceed the position {net:+d}: it "
                       "could open one")
        if problem is None:
            problem = self._check_modify(ticket, state)
        if problem is not None:
            return self._refuse(ticket, problem, "protective stop")
        return self._send_modify(ticket, state)

    def cancel_protective_stop(self, order_id: int, *, trigger: str = _PROTECTIVE_TRIGGER
                               ) -> OrderTicket:
        """Cancel a protective stop (its cancel's client order id ends with ``-ps`` too)."""
        return self._cancel(order_id, trigger, PROTECTIVE_SUFFIX)

    def coverage(self, contract_id: int) -> Coverage:
        """What protects the account's position in ``contract_id`` right now: its working
        closing-side stops (the protective ones marked), read-only."""
        return coverage(self._account, self.account_id, contract_id,
                        self.symbol_of(contract_id))

    def coverages(self) -> tuple[Coverage, ...]:
        """:meth:`coverage` of every contract with an open position or a working
        protective stop (the shutdown summary: what is still open and what protects it)."""
        return coverages(self._account, self.account_id, self.symbol_of)

    def liquidating(self, contract_id: int) -> bool:
        """A liquidation of the contract was sent and is not answered yet."""
        return any(t.kind is TicketKind.LIQUIDATE and t.contract_id == contract_id
                   and t.state is _PENDING for t in self._open.values())

    def _position(self, contract_id: int) -> int:
        """The server's net position of the account in a contract (0 if none)."""
        position = self._account.position(self.account_id, contract_id)
        return 0 if position is None else position.net_pos

    def tick_size(self, contract_id: int) -> float | None:
        """The contract's tick size (the contract book's, else the account data's product),
        ``None`` if unknown."""
        spec = self._contracts.get(contract_id)
        if spec is not None:
            return spec.tick_size
        product = self._account.product_of(contract_id)
        return None if product is None else product.tick_size

    # ------------------------------------------------------------------ flattening

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

    def _cancel_orders(self, contract_id: int | None, trigger: str,
                       keep_protective: bool = False, source: str = "") -> list[OrderTicket]:
        states = [s for s in self._account.open_orders(self.account_id, contract_id)
                  if s.status != "PendingCancel" and not (
                      keep_protective and (s.cl_ord_id or "").endswith(PROTECTIVE_SUFFIX))]
        cancelling = {t.order_id for t in self._open.values() if t.kind is TicketKind.CANCEL}
        targets = {s.id for s in states}
        return [self.cancel(s.id, trigger=trigger, source=source) for s in states
                if s.id not in cancelling and s.order.parent_id not in targets]

    def flatten(self, symbol: str | int | None = None, *, trigger: str = "",
                source: str = "") -> list[OrderTicket]:
        """``order/liquidateposition`` for every open position of the account (or the one
        in ``symbol``, a symbol or a contract id — any contract, traded or not): the server
        cancels the contract's orders and closes its net position. Orders in contracts
        without a position are cancelled. Never blocked. The liquidation carries the
        ticket's id in ``customTag50`` (the endpoint has no ``clOrdId``, reference §6.6), by
        which its order is found again."""
        tickets: list[OrderTicket] = []
        if isinstance(symbol, int):
            contract_ids = [symbol]
        elif symbol is not None:
            spec = self._contracts.get(symbol)
            if spec is None:
                return [self._refuse(self._new(TicketKind.LIQUIDATE, symbol, 0,
                                               trigger=trigger, source=source),
                                     f"unknown contract {symbol!r}", "unknown contract")]
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
                tickets.extend(self._cancel_orders(contract_id, trigger, source=source))
                continue
            if contract_id in liquidating:
                continue
            ticket = self._new(TicketKind.LIQUIDATE, self.symbol_of(contract_id), contract_id,
                               action="Sell" if net > 0 else "Buy", qty=abs(net),
                               order_type="Market", trigger=trigger, source=source)
            body = LiquidatePosition(account_id=self.account_id, contract_id=contract_id,
                                     custom_tag50=ticket.cl_ord_id, is_automated=True)
            tickets.append(self._send(ticket, "order/liquidateposition", body,
                                      PlaceOrderResult))
        return tickets

    # ------------------------------------------------------------------ sending

    def _new(self, kind: TicketKind, symbol: str, contract_id: int, *, suffix: str = "",
             **fields: Any) -> OrderTicket:
        self._seq += 1
        cause = self.cause
        return OrderTicket(cl_ord_id=f"{self.id_prefix}-{self._seq}{suffix}", kind=kind,
                           symbol=symbol, contract_id=contract_id,
                           account_id=self.account_id, created_ms=self._clock(),
                           frame_ns=cause.frame_ns, decoded_ns=cause.decoded_ns,
                           decided_ns=time.perf_counter_ns(), **fields)

    def symbol_of(self, contract_id: int) -> str:
        """The contract's symbol (the contract book's, else the account data's)."""
        spec = self._contracts.get(contract_id)
        if spec is not None:
            return spec.symbol
        contract = self._account.contract(contract_id)
        return contract.name if contract is not None else str(contract_id)

    def _gate(self, ticket: OrderTicket) -> tuple[str, str] | None:
        """Why a new order or modification cannot go now (halt, unknown outcome, risk), as
        (reason, kind of refusal)."""
        if self._halted is not None:
            return f"orders halted: {self._halted}", "halted"
        blocker = self.blocked(ticket.contract_id)
        if blocker is not None:
            return (f"blocked: the outcome of {blocker.kind} {blocker.cl_ord_id} in "
                    f"{blocker.symbol} is unknown until the account data or the server's "
                    f"order list settle it", f"blocked in {blocker.symbol}")
        buy = sell = 0
        if ticket.kind is not TicketKind.MODIFY:
            buy, sell = self._in_flight(ticket.contract_id)
        reason = self._risk.check(ticket, buy, sell)
        return None if reason is None else (reason, "risk")

    def _in_flight(self, contract_id: int) -> tuple[int, int]:
        """Quantities of placements in a contract the account store does not show yet: sent
        and unanswered or unknown, or acknowledged before their order's entity arrived."""
        buy, sell = self._flight.quantities(contract_id)
        for t in self._strategies.values():  # acknowledged, entry not known yet
            if t.contract_id == contract_id and t.order_id is None:
                if t.action == "Buy":
                    buy += t.qty
                else:
                    sell += t.qty
        return buy, sell

    def _refile(self, ticket: OrderTicket) -> None:
        """Count ``ticket`` in flight or not, after its standing may have changed (held open
        or watched, its order id)."""
        self._flight.update(ticket, ticket.kind in _ENTERING and (
            ticket.cl_ord_id in self._open or self._watched.holds(ticket)))

    def _refuse(self, ticket: OrderTicket, reason: str, kind: str) -> OrderTicket:
        """Refuse ``ticket`` before sending. Logged one line per ``kind`` of refusal per
        interval, with a count (:class:`~.refusals.RefusalLog`)."""
        set_state(ticket, TicketState.REFUSED)
        set_reason(ticket, reason)
        set_refusal(ticket, kind)
        self._refusals.note(kind, f"order refused: {ticket.kind} {ticket.action} {ticket.qty} "
                                  f"{ticket.symbol}: {reason}")
        self._record(ticket)
        self._notify(ticket)
        return ticket

    def _send(self, ticket: OrderTicket, endpoint: str, body: Any,
              result_type: Any) -> OrderTicket:
        set_checked_ns(ticket, time.perf_counter_ns())
        set_connection(ticket, self._connection)
        if self._before_send is not None:
            refusal = self._before_send(ticket)
            if refusal is not None:
                return self._refuse(ticket, refusal, "journal")
        try:
            future = self._gateway.send(endpoint, body, result_type)
        except ConnectionLost as exc:
            return self._refuse(ticket, f"not sent: {exc}", NOT_CONNECTED)
        set_sent_ns(ticket, time.perf_counter_ns())
        self._record(ticket)
        self._open.put(ticket.cl_ord_id, ticket)
        self._refile(ticket)
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
        set_answered_ns(ticket, time.perf_counter_ns())
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
        if isinstance(result, OrderStrategyStatusResponse):
            if result.order_strategy is None:
                self._lost(ticket, "ProtocolError: the answer carries no orderStrategy")
                return
            set_strategy_id(ticket, result.order_strategy.id)
        if isinstance(result, PlaceOsoResult):
            set_bracket_ids(ticket, tuple(i for i in (result.oso1_id, result.oso2_id)
                                          if i is not None))
        elif isinstance(result, PlaceOcoResult) and result.oco_id is not None:
            set_bracket_ids(ticket, (result.oco_id,))
        if isinstance(result, PlaceOrderResult):
            set_order_id(ticket, result.order_id if result.order_id is not None
                         else ticket.order_id)
            self._refile(ticket)
        elif isinstance(result, CommandResult):
            set_command_id(ticket, result.command_id)
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
        set_reason(ticket, reason)
        self._settle(ticket, TicketState.REJECTED)

    def _lost(self, ticket: OrderTicket, reason: str) -> None:
        if ticket.state is not _PENDING:
            return
        set_state(ticket, _UNKNOWN)
        set_reason(ticket, f"answer lost ({reason}); outcome unknown")
        money = ticket.kind in MONEY_MOVING
        if money:
            self._unknown.put(ticket.cl_ord_id, ticket)
        _log.error("order outcome unknown: %s %s %s %s (%s): %s", ticket.kind, ticket.action,
                   ticket.qty, ticket.symbol, ticket.cl_ord_id, reason)
        self._alerts.emit(Alert(
            Severity.URGENT if money else Severity.ROUTINE, "orders.unknown",
            f"Order outcome unknown: {ticket.kind} {ticket.action} {ticket.qty} "
            f"{ticket.symbol}",
            f"clOrdId {ticket.cl_ord_id}: {reason}. It is not re-sent; "
            + ("new orders in this contract wait until the account data or the server's "
               "order list (read after a grace period) show whether it was executed."
               if money else "the account data or the server's order list settle it.")))
        self._notify(ticket)

    def _settle(self, ticket: OrderTicket, state: TicketState) -> None:
        set_state(ticket, state)
        self._open.pop(ticket.cl_ord_id)
        self._unknown.pop(ticket.cl_ord_id)
        if state is TicketState.ACKED and ticket.kind is TicketKind.STRATEGY:
            self._follow_strategy(ticket)  # its entry (order_id) and a rejection
        if ticket.state is TicketState.ACKED and ticket.order_id is not None:
            if ticket.kind in _ENTERING:
                self._watch_entry(ticket)
            elif ticket.kind in _COMMANDS and ticket.command_id is not None:
                self._watch_command(ticket)
        self._refile(ticket)
        if ticket.state is TicketState.REJECTED:
            _log.warning("order rejected: %s %s %s %s (%s): %s", ticket.kind, ticket.action,
                         ticket.qty, ticket.symbol, ticket.cl_ord_id, ticket.reason)
        self._notify(ticket)

    def _watch_entry(self, ticket: OrderTicket) -> None:
        """An ACKED placement's order, watched until it is done: a rejection after
        acceptance rejects the ticket."""
        assert ticket.order_id is not None
        order = self._account.order(ticket.order_id)
        if order is None or not order.is_done:
            replaced = self._watched.get(ticket.order_id)
            self._watched.put(ticket.order_id, ticket)
            self._refile(ticket)
            if replaced is not None and replaced is not ticket:
                self._refile(replaced)
        elif order.status == "Rejected":
            self._reject_late(ticket, order)

    def _watch_command(self, ticket: OrderTicket) -> None:
        """An answered modify or cancel: its command may still be rejected (RiskRejected,
        ExecutionRejected); watch it until decided."""
        assert ticket.command_id is not None
        verdict, reason = self._verdict(ticket, self._account.command(ticket.command_id))
        if verdict is Verdict.REJECTED:
            self._reject_command(ticket, reason)
        elif verdict is Verdict.UNDECIDED:
            watched = self._watched_commands
            watched[ticket.command_id] = ticket
            if len(watched) > self._max_tickets:
                watched.popitem(last=False)

    def _order_done(self, ticket: OrderTicket, order: OrderState) -> None:
        """A watched placement's order finished; a rejection after acceptance rejects the
        ticket."""
        self._watched.pop(order.id)
        self._refile(ticket)
        if order.status == "Rejected" and ticket.state is TicketState.ACKED:
            self._reject_late(ticket, order)
            self._notify(ticket)

    def _reject_late(self, ticket: OrderTicket, order: OrderState) -> None:
        set_reason(ticket, ": ".join(x for x in (order.reject_reason, order.reject_text) if x)
                   or "rejected after acceptance")
        set_state(ticket, TicketState.REJECTED)
        self._alerts.emit(Alert(Severity.ROUTINE, "orders.rejected",
                                f"{ticket.action} {ticket.qty} {ticket.symbol} rejected "
                                f"after acceptance: {ticket.reason}"))

    def _reject_command(self, ticket: OrderTicket, reason: str) -> None:
        """An acknowledged modify or cancel whose command was rejected: it had no effect."""
        self._watched_commands.pop(ticket.command_id or 0, None)
        set_reason(ticket, reason or "rejected after acceptance")
        set_state(ticket, TicketState.REJECTED)
        _log.warning("order rejected: %s %s (%s): %s", ticket.kind, ticket.symbol,
                     ticket.cl_ord_id, ticket.reason)
        self._alerts.emit(Alert(Severity.ROUTINE, "orders.rejected",
                                f"{ticket.kind} of order {ticket.order_id} in {ticket.symbol} "
                                f"rejected after acceptance: {ticket.reason}"))
        self._notify(ticket)

    def _verdict(self, ticket: OrderTicket, command: Command | None) -> tuple[Verdict, str]:
        """A modify's or cancel's fate from its command in the account store: its status and
        reports, else (still undecided) the state of the order it targets."""
        if command is None:
            return Verdict.UNDECIDED, ""
        verdict, reason = command_verdict(command, self._account.command_reports(command.id))
        if verdict is Verdict.UNDECIDED:
            verdict, reason = finished_order_verdict(ticket.kind is TicketKind.CANCEL, command,
                                                     self._account.order(command.order_id))
        return verdict, reason

    # ------------------------------------------------------------------ account data

    def on_account(self, changes: Iterable[AccountChange]) -> None:
        """Settle tickets from a ``props`` event the account store just applied: an order
        carrying an open ticket's ``clOrdId`` acknowledges it; a modify's or cancel's command
        decides it; a watched order that ends ``Rejected`` (or a watched command rejected)
        rejects it; a NOT_PLACED ticket whose order appears after all is acknowledged with an
        urgent alert. Then the protective stops follow the positions."""
        changes = changes if isinstance(changes, list) else list(changes)
        if self._open:
            self._settle_from_store()
        if self._absent:
            self._find_late(self._appeared(changes))
        if self._flatten_reason is not None:
            self._flatten_late_fills(changes)
        if self._strategies:
            for change in changes:
                if type(change) is StrategyState:
                    self._strategy_changed(change)
        if self._watched or self._watched_commands:
            for change in changes:
                kind = type(change)
                if kind is OrderState and change.is_done:  # type: ignore[union-attr]
                    ticket = self._watched.get(change.id)  # type: ignore[union-attr]
                    if ticket is not None:
                        self._order_done(ticket, change)  # type: ignore[arg-type]
                elif kind is CommandReport:
                    self._command_reported(change.command_id)  # type: ignore[union-attr]
        if self.protection is not None and any(
                type(c) is Position or type(c) is OrderState for c in changes):
            self.protection.check()

    def on_sync(self, report: SyncReport, connection: int) -> None:
        """A snapshot of trading connection number ``connection`` was applied. It settles
        what it shows (an order or a decided command for an open ticket, a watched order or
        command finished); a ticket it does not show stays UNKNOWN — the exchange may still
        execute it — until the resolver's read of the server's order list."""
        self._connection = connection
        self._account_live = True
        self._settle_from_store()
        for ticket in list(self._strategies.values()):
            state = self._strategy_state(ticket)
            if state is not None:
                self._strategy_changed(state)
        if self._absent:
            self._find_late(list(self._absent))
        for order_id, ticket in list(self._watched.items()):
            order = self._account.order(order_id)
            if order is not None and order.is_done:
                self._order_done(ticket, order)
        for command_id in list(self._watched_commands):
            self._command_reported(command_id)
        if self.protection is not None:
            self.protection.check()

    def on_disconnect(self) -> None:
        """The trading connection is gone: every unanswered request's outcome is unknown."""
        self._account_live = False
        for ticket in list(self._open.values()):
            self._lost(ticket, "the trading connection was lost")

    def _command_reported(self, command_id: int) -> None:
        ticket = self._watched_commands.get(command_id)
        if ticket is None:
            return
        verdict, reason = self._verdict(ticket, self._account.command(command_id))
        if verdict is Verdict.REJECTED:
            self._reject_command(ticket, reason)
        elif verdict is Verdict.ACCEPTED:
            del self._watched_commands[command_id]

    def _settle_from_store(self) -> None:
        for ticket in list(self._open.values()):
            self._settle_open(ticket)

    def _settle_open(self, ticket: OrderTicket) -> bool:
        """Settle an open ticket if the account data show its outcome; True if settled."""
        kind = ticket.kind
        if kind is TicketKind.STRATEGY:
            return self._settle_strategy(ticket)
        if kind is TicketKind.INTERRUPT:
            return self._settle_interrupt(ticket)
        if kind in PLACING:
            return self._settle_placement(ticket)
        return self._settle_command(ticket)

    def _settle_placement(self, ticket: OrderTicket) -> bool:
        """ACKED when the store has the order its ``clOrdId`` created (REJECTED when that
        order was rejected); True if settled."""
        state = self._account.order_by_cl_ord_id(ticket.cl_ord_id)
        if state is None:
            return False
        self._take_order(ticket, state.id, state.order.oco_id)
        if ticket.state is not _PENDING:
            _log.warning("order outcome settled: %s (%s) was executed", ticket.cl_ord_id,
                         ticket.kind)
        self._settle(ticket, TicketState.ACKED)
        return True

    def _take_order(self, ticket: OrderTicket, order_id: int, oco_id: int | None) -> None:
        set_order_id(ticket, order_id)
        self._refile(ticket)
        if ticket.kind is TicketKind.OSO and not ticket.bracket_ids:
            set_bracket_ids(ticket, self._legs(ticket.cl_ord_id))
        elif ticket.kind is TicketKind.OCO and not ticket.bracket_ids and oco_id is not None:
            set_bracket_ids(ticket, (oco_id,))

    def _settle_command(self, ticket: OrderTicket) -> bool:
        """A modify or cancel: settled by its command's verdict, never by the command's mere
        existence; True if settled."""
        command = self._account.command_by_cl_ord_id(ticket.cl_ord_id)
        verdict, reason = self._verdict(ticket, command)
        if verdict is Verdict.UNDECIDED or command is None:
            return False
        set_command_id(ticket, command.id)
        if ticket.state is not _PENDING:
            _log.warning("order outcome settled: %s (%s) was %s", ticket.cl_ord_id,
                         ticket.kind, verdict.value)
        self._settle_verdict(ticket, verdict, reason)
        return True

    def _settle_verdict(self, ticket: OrderTicket, verdict: Verdict, reason: str) -> None:
        """REJECTED (with the server's reason) or ACKED, as the command's verdict says."""
        if verdict is Verdict.REJECTED:
            set_reason(ticket, reason)
            self._settle(ticket, TicketState.REJECTED)
        else:
            self._settle(ticket, TicketState.ACKED)

    # ------------------------------------------------------------------ order strategies

    def _strategy_state(self, ticket: OrderTicket) -> StrategyState | None:
        """The order strategy of a STRATEGY ticket (by id, else by the client id its request
        carried as ``customTag50`` or ``uuid``), or the one an INTERRUPT targets."""
        account = self._account
        if ticket.strategy_id is not None:
            state = account.order_strategy(ticket.strategy_id)
            if state is not None or ticket.kind is not TicketKind.STRATEGY:
                return state
        if ticket.kind is not TicketKind.STRATEGY:
            return None
        return (account.order_strategy_by_client_id(ticket.cl_ord_id)
                or account.order_strategy_by_client_id(strategy_uuid(ticket.cl_ord_id)))

    def _strategy_entry(self, ticket: OrderTicket, state: StrategyState | None) -> int | None:
        """A STRATEGY ticket's entry: its strategy's ``Entry`` link, else the order whose
        command carried the request's ``customTag50`` (unless a link makes it a target or a
        stop: they carry it too)."""
        if state is not None and state.entry_id is not None:
            return state.entry_id
        entry = self._account.order_by_cl_ord_id(ticket.cl_ord_id)
        if entry is None:
            return None
        owner = self._account.strategy_of_order(entry.id)
        return entry.id if owner is None or owner.entry_id == entry.id else None

    def _strategy_found(self, ticket: OrderTicket) -> bool:
        """The account data show a STRATEGY ticket's strategy or its entry: take their ids;
        True if so."""
        state = self._strategy_state(ticket)
        entry_id = self._strategy_entry(ticket, state)
        if state is None and entry_id is None:
            return False
        if state is not None:
            set_strategy_id(ticket, state.id)
        if entry_id is not None:
            set_order_id(ticket, entry_id)
            self._refile(ticket)
        return True

    def _settle_strategy(self, ticket: OrderTicket) -> bool:
        """ACKED when the account data show the strategy its request created or its entry
        (REJECTED when the entry was rejected or the strategy failed); True if settled."""
        if not self._strategy_found(ticket):
            return False
        if ticket.state is not _PENDING:
            _log.warning("order outcome settled: %s (%s) was executed", ticket.cl_ord_id,
                         ticket.kind)
        self._settle(ticket, TicketState.ACKED)
        return True

    def _settle_interrupt(self, ticket: OrderTicket) -> bool:
        """Settled once the account data show its strategy ended: ``StoppedByUser`` →
        ACKED; any other end → REJECTED (it ended first: nothing was left to interrupt).
        True if settled."""
        state = self._strategy_state(ticket)
        if state is None or not state.is_done:
            return False
        if ticket.state is not _PENDING:
            _log.warning("order outcome settled: %s (%s): order strategy %d ended %s",
                         ticket.cl_ord_id, ticket.kind, state.id, state.status)
        self._interrupt_verdict(ticket, state.strategy)
        return True

    def _interrupt_verdict(self, ticket: OrderTicket, strategy: OrderStrategy) -> None:
        if strategy.status == _STOPPED:
            self._settle(ticket, TicketState.ACKED)
        else:
            set_reason(ticket, f"order strategy {strategy.id} ended {strategy.status} first")
            self._settle(ticket, TicketState.REJECTED)

    def _follow_strategy(self, ticket: OrderTicket) -> None:
        """An ACKED STRATEGY ticket: take its strategy's ids from the account data and keep
        following it until the strategy has ended."""
        state = self._strategy_state(ticket)
        if state is not None:
            self._strategy_update(ticket, state)
        followed = self._strategies
        if ticket.state is TicketState.ACKED and (state is None or not state.is_done):
            followed[ticket.cl_ord_id] = ticket
            if len(followed) > self._max_tickets:
                followed.popitem(last=False)
        else:
            followed.pop(ticket.cl_ord_id, None)

    def _strategy_update(self, ticket: OrderTicket, state: StrategyState) -> None:
        """A followed strategy changed: its entry (watched for a rejection after
        acceptance) and exits; ``ExecutionFailed`` rejects the ticket."""
        set_strategy_id(ticket, state.id)
        entry_id = self._strategy_entry(ticket, state)
        if entry_id is not None and entry_id != ticket.order_id:
            set_order_id(ticket, entry_id)
            self._refile(ticket)
            if ticket.state is TicketState.ACKED:
                self._watch_entry(ticket)
        set_bracket_ids(ticket, state.bracket_ids)
        if state.status == _FAILED and ticket.state is TicketState.ACKED:
            entry = self._account.order(ticket.order_id) if ticket.order_id else None
            reason = state.strategy.failure_message or (
                None if entry is None else ": ".join(
                    x for x in (entry.reject_reason, entry.reject_text) if x))
            set_reason(ticket, reason or "the order strategy failed (ExecutionFailed)")
            set_state(ticket, TicketState.REJECTED)
            self._alerts.emit(Alert(Severity.ROUTINE, "orders.rejected",
                                    f"order strategy {ticket.action} {ticket.qty} "
                                    f"{ticket.symbol} failed: {ticket.reason}"))

    def _strategy_changed(self, state: StrategyState) -> None:
        """The account data changed an order strategy: update the ticket following it."""
        for key, ticket in list(self._strategies.items()):
            if ticket.strategy_id != state.id and not carries(state.strategy, key):
                continue
            before = ticket.state
            self._strategy_update(ticket, state)
            if state.is_done or ticket.state is not TicketState.ACKED:
                del self._strategies[key]
            if ticket.state is not before:
                self._notify(ticket)
            return

    def _legs(self, cl_ord_id: str) -> tuple[int, ...]:
        legs = (self._account.order_by_cl_ord_id(f"{cl_ord_id}-{leg}") for leg in ("tp", "sl"))
        return tuple(state.id for state in legs if state is not None)

    # ------------------------------------------------------------------ earlier runs

    def take_over(self, ticket: OrderTicket) -> bool:
        """Follow an earlier run's request of unknown outcome — sent before that run ended,
        never answered, not in this run's first snapshot — exactly like a request of this run
        whose answer was lost (ADR 0006): UNKNOWN, blocking new orders and modifications in
        its contract if it moves money, counted in flight by the risk limits, and settled only
        by positive evidence: the account data show its command (ACKED — an order executed
        after the restart — or REJECTED), or the outcome resolver's read of the server's
        order list, at least the grace period after the earlier run gave the answer up (its
        time-out after ``ticket.sent_ns``, or now if that is sooner), has none
        (NOT_PLACED). Listeners hear of it now and of every change after.

        ``ticket`` comes from the journal: state UNKNOWN and ``sent_ns`` its send time on
        ``time.perf_counter_ns``'s clock. Returns False, doing nothing, for a ticket in
        another state, a client order id already known, or an interrupt (it carries no client
        id: nothing could ever settle it)."""
        if (ticket.state is not _UNKNOWN or ticket.cl_ord_id in self._tickets
                or ticket.kind is TicketKind.INTERRUPT):
            return False
        set_taken_over_ns(ticket, time.perf_counter_ns())
        self._record(ticket)
        self._open.put(ticket.cl_ord_id, ticket)
        if ticket.kind in MONEY_MOVING:
            self._unknown.put(ticket.cl_ord_id, ticket)
        self._refile(ticket)
        _log.warning("order outcome unknown, taken over from an earlier run: %s %s %s %s "
                     "(%s)%s", ticket.kind, ticket.action, ticket.qty, ticket.symbol,
                     ticket.cl_ord_id,
                     "; new orders in this contract wait" if ticket.kind in MONEY_MOVING
                     else "")
        self._notify(ticket)
        self._settle_open(ticket)
        return True

    # ------------------------------------------------------------------ the resolver's verdicts

    def settle_absent(self, ticket: OrderTicket, reason: str) -> None:
        """The resolver read a complete list of the server's commands, after the grace
        period, without one for ``ticket``: it was not executed (NOT_PLACED). Ignored unless
        the ticket is still UNKNOWN."""
        if ticket.state is not _UNKNOWN:
            return
        set_reason(ticket, reason)
        _log.warning("order outcome settled: %s (%s) was not executed: %s", ticket.cl_ord_id,
                     ticket.kind, reason)
        if ticket.kind in MONEY_MOVING:
            self._alerts.emit(Alert(Severity.ROUTINE, "orders.settled",
                                    f"Order outcome settled: {ticket.kind} {ticket.action} "
                                    f"{ticket.qty} {ticket.symbol} was not executed",
                                    f"clOrdId {ticket.cl_ord_id}: {reason}; the contract is "
                                    "unblocked."))
        if ticket.kind is not TicketKind.INTERRUPT:  # no client id the server could show
            absent = self._absent
            absent[ticket.cl_ord_id] = ticket
            if len(absent) > LATE_WATCH:
                absent.popitem(last=False)
        self._settle(ticket, TicketState.NOT_PLACED)

    def settle_listed(self, ticket: OrderTicket, command: Command,
                      reports: Iterable[CommandReport]) -> bool:
        """The server's command list has ``command`` for UNKNOWN ``ticket``: a placement is
        ACKED (REJECTED if the command was rejected); a modify or cancel is settled by the
        command's verdict and stays UNKNOWN while it is undecided (the account data will
        decide it). True if settled."""
        if ticket.state is not _UNKNOWN:
            return False
        verdict, reason = command_verdict(command, reports)
        if ticket.kind not in PLACING and verdict is Verdict.UNDECIDED:
            verdict, reason = self._verdict(ticket, command)
            if verdict is Verdict.UNDECIDED:
                return False
        if ticket.kind in PLACING:
            self._take_order(ticket, command.order_id, None)
        else:
            set_command_id(ticket, command.id)
        _log.warning("order outcome settled from the server's order list: %s (%s) was %s",
                     ticket.cl_ord_id, ticket.kind,
                     "rejected" if verdict is Verdict.REJECTED else "executed")
        self._settle_verdict(ticket, verdict, reason)
        return True

    def settle_strategy(self, ticket: OrderTicket, strategy: OrderStrategy) -> bool:
        """The server's order strategy list shows ``strategy`` for UNKNOWN ``ticket``: the
        STRATEGY whose request created it is ACKED (REJECTED if it failed); an INTERRUPT of
        it is ACKED if it was stopped, REJECTED if it ended otherwise, and stays UNKNOWN
        (False) while the strategy still works. True if settled."""
        if ticket.state is not _UNKNOWN:
            return False
        if ticket.kind is TicketKind.INTERRUPT:
            if strategy.status not in STRATEGY_DONE:
                return False
            _log.warning("order outcome settled from the server's order strategies: %s (%s): "
                         "order strategy %d ended %s", ticket.cl_ord_id, ticket.kind,
                         strategy.id, strategy.status)
            self._interrupt_verdict(ticket, strategy)
            return True
        if ticket.kind is not TicketKind.STRATEGY:
            return False
        set_strategy_id(ticket, strategy.id)
        _log.warning("order outcome settled from the server's order strategies: %s (%s) was "
                     "executed (order strategy %d, %s)", ticket.cl_ord_id, ticket.kind,
                     strategy.id, strategy.status)
        if strategy.status == _FAILED:
            set_reason(ticket, strategy.failure_message
                       or "the order strategy failed (ExecutionFailed)")
            self._settle(ticket, TicketState.REJECTED)
        else:
            self._settle(ticket, TicketState.ACKED)
        return True

    def _appeared(self, changes: list[AccountChange]) -> list[str]:
        """Client order ids of NOT_PLACED tickets an event touched: an order created by one
        (its ``OrderState``) or a report on a modify's or cancel's command."""
        absent, account = self._absent, self._account
        keys: list[str] = []
        for change in changes:
            kind = type(change)
            if kind is OrderState:
                key = change.cl_ord_id  # type: ignore[union-attr]
            elif kind is CommandReport:
                command = account.command(change.command_id)  # type: ignore[union-attr]
                key = None if command is None else command.cl_ord_id
            elif kind is StrategyState:
                strategy = change.strategy  # type: ignore[union-attr]
                keys.extend(k for k, t in absent.items()
                            if t.kind is TicketKind.STRATEGY and carries(strategy, k))
                continue
            else:
                continue
            if key is not None and key in absent:
                keys.append(key)
        return keys

    def _find_late(self, keys: list[str]) -> None:
        """NOT_PLACED tickets (of ``keys``) that appear in the account data after all: the
        exchange executed them later than the grace period allowed for. Acknowledge (or
        reject) them and say so urgently; their order and position are managed like any
        other."""
        account = self._account
        for key in keys:
            ticket = self._absent.get(key)
            if ticket is None:
                continue
            if ticket.kind is TicketKind.STRATEGY:
                if not self._strategy_found(ticket):
                    continue
                verdict = Verdict.ACCEPTED
            elif ticket.kind in PLACING:
                state = account.order_by_cl_ord_id(key)
                if state is None:
                    continue
                self._take_order(ticket, state.id, state.order.oco_id)
                verdict = Verdict.ACCEPTED
            else:
                command = account.command_by_cl_ord_id(key)
                verdict, reason = self._verdict(ticket, command)
                if command is None or verdict is Verdict.UNDECIDED:
                    continue
                set_command_id(ticket, command.id)
                set_reason(ticket, reason)
            del self._absent[key]
            _log.error("order %s (%s) settled as not executed has appeared after all",
                       key, ticket.kind)
            self._alerts.emit(Alert(
                Severity.URGENT, "orders.late_execution",
                f"Order executed after it was settled as not placed: {ticket.kind} "
                f"{ticket.action} {ticket.qty} {ticket.symbol}",
                f"clOrdId {key}: the server executed it later than "
                "risk.unknown_order_grace_seconds allowed for. Its order and any position "
                "are managed like any other (protective stop, risk limits); check the "
                "strategy did not act twice."))
            self._settle(ticket, TicketState.REJECTED if verdict is Verdict.REJECTED
                         else TicketState.ACKED)

    # ------------------------------------------------------------------ risk

    def _risk_halt(self, reason: str) -> None:
        """The risk manager's halt: refuse new orders, cancel everything, flatten — and keep
        flattening what fills later (an order that traded before its cancel arrived)."""
        self.halt(reason)
        self._flatten_reason = f"risk: {reason}"
        self.flatten(trigger=self._flatten_reason)

    def _risk_flatten(self, reason: str) -> None:
        """The risk manager's flatten without a halt (``flat_by``): cancel everything and
        close every position; new orders stay allowed (the risk check refuses entries)."""
        self.flatten(trigger=f"risk: {reason}")

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
