"""Order tickets: what the framework did with each order request, from the strategy's call to
the server's verdict.

A ticket is created for every call of an order method, before anything is sent. Its
``cl_ord_id`` goes out as the request's ``clOrdId`` (a liquidation's as its ``customTag50``,
the only client field ``order/liquidateposition`` has; an order strategy's as its
``customTag50`` and, made a UUID, its ``uuid``) and comes back on the server's ``command``
entity (and ``orderStrategy``), which is how an answer that was lost (time-out, socket death,
5xx, an unreadable body) is found again. States::

    PENDING ──► ACKED          the server has it (result or account data show the order)
       │    └─► REJECTED       the server refused it (or risk-rejected it after accepting)
       └──────► UNKNOWN ──► ACKED       the answer was lost; the account data (or the
                        │               server's command list) show it was executed
                        ├─► REJECTED    ... show its command was rejected
                        └─► NOT_PLACED  a complete command list read from the server after
                                        the grace period has no command for it
    NOT_PLACED ──► ACKED       it appears after all (an urgent ``orders.late_execution``)
    REFUSED                    refused locally (risk, halt, unknown contract): never sent

Only positive evidence settles an UNKNOWN ticket (ADR 0006): a reconnect's snapshot that does
not list it proves nothing, because the exchange can still execute a request whose socket died.

Tickets are updated in place by the :class:`~tradovate_api.orders.OrderManager` only (and
``filled_ns``, a latency stamp, by the account reader that applied the fill); everyone
else reads them (a strategy may keep the ticket it got back and look at ``state`` later). The
struct is frozen, so an attribute write (``ticket.state = ...``) raises for everyone; the
manager writes through the field setters at the end of this module (``set_state(ticket,
...)``): the field's own slot writer, no copy and no wrapper per order, so the ticket a
strategy holds stays the live record without being writable through it.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

import msgspec

from .order_strategy import StrategyBracket


class TicketState(StrEnum):
    PENDING = "pending"
    """Sent; no answer yet."""
    ACKED = "acked"
    """The server has the request (``order_id`` is known)."""
    REJECTED = "rejected"
    """The server refused it; it had no effect."""
    UNKNOWN = "unknown"
    """The answer was lost: it may or may not have been executed. New orders in the contract
    are blocked until the account data settle it."""
    NOT_PLACED = "not_placed"
    """Was UNKNOWN; the server's command list, read after the grace period, has no command
    for it: it was not executed. (Should it appear after all, the ticket turns ACKED with an
    urgent alert.)"""
    REFUSED = "refused"
    """Refused before sending (risk limit, halt, unknown outcome pending, not connected)."""

    @property
    def final(self) -> bool:
        """No further change is expected (ACKED may still turn REJECTED on a late risk
        rejection, and NOT_PLACED ACKED on a very late execution, see
        :class:`OrderTicket`)."""
        return self in _FINAL


_FINAL = frozenset({TicketState.REJECTED, TicketState.NOT_PLACED, TicketState.REFUSED})


class TicketKind(StrEnum):
    PLACE = "place"
    """``order/placeorder``."""
    OSO = "oso"
    """``order/placeoso``: an entry with take-profit and/or stop-loss brackets."""
    OCO = "oco"
    """``order/placeoco``: a take-profit Limit and a stop-loss Stop, a fill of one cancelling
    the other (exits for a position that is already open)."""
    MODIFY = "modify"
    CANCEL = "cancel"
    LIQUIDATE = "liquidate"
    """``order/liquidateposition``: cancel the contract's orders and flatten it."""
    STRATEGY = "strategy"
    """``orderStrategy/startorderstrategy``: an entry whose fills the server protects with a
    target and a stop (an OCO pair per fill), as a multibracket order strategy."""
    INTERRUPT = "interrupt"
    """``orderStrategy/interruptorderstrategy``: stop an order strategy, cancelling its
    remaining orders (a position it opened stays)."""


MONEY_MOVING = frozenset({TicketKind.PLACE, TicketKind.OSO, TicketKind.OCO,
                          TicketKind.MODIFY, TicketKind.LIQUIDATE, TicketKind.STRATEGY})
"""Kinds whose lost answer blocks the contract (a cancel or an interrupt only ever cancels
orders)."""
PLACING = frozenset({TicketKind.PLACE, TicketKind.OSO, TicketKind.OCO, TicketKind.LIQUIDATE,
                     TicketKind.STRATEGY})
"""Kinds that create an order (``order_id`` is that order, a strategy's entry); a modify's
or a cancel's ``order_id`` is the order they target."""
NOT_CONNECTED = "not connected"
"""The ``refusal`` of a ticket the gateway could not send (no trading connection): nothing was
sent, and the same request can go once the connection is back."""
PROTECTIVE_SUFFIX = "-ps"
"""Ends the client order id of every protective stop (``ProtectiveStops``), so that its
working order is recognised in the account data, across restarts too."""


class OrderTicket(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """One order request and its fate.

    ``order_id`` is the placed order (PLACE, OSO, LIQUIDATE; a STRATEGY's entry) or the
    target order (MODIFY, CANCEL); ``bracket_ids`` the OSO legs, the OCO's other order, or the
    targets and stops a STRATEGY's fills created so far. ``strategy_id`` is the
    ``orderStrategy`` a STRATEGY created or an INTERRUPT stops; ``brackets`` a STRATEGY's.
    ``trigger`` is the strategy's human-readable reason (journal, reports). ``sent_ns`` is
    ``time.perf_counter_ns()`` right after the frame was written (0 if never sent),
    ``answered_ns`` when the server's answer arrived (or was given up: a time-out, a lost
    connection); with the md event's receive time they give tick-to-order latency (an
    inherited ticket's ``sent_ns`` is its journaled send time on the same clock, possibly
    negative). The latency stamps, all on that clock (0: that stage did not happen for this
    request, or was not measured): ``frame_ns`` and ``decoded_ns`` when the market-data frame
    whose event the strategy was handling arrived and when that event reached the md reader
    (0 for an order not placed on a market-data event: a timer, a fill, a shutdown),
    ``decided_ns`` when the order method was entered, ``checked_ns`` when the request had
    passed validation and the risk check and was about to be written ahead and sent,
    ``filled_ns`` when the account reader applied its order's first fill (see
    :mod:`tradovate_api.reports.latency` for the stages made of them). ``connection`` is the
    trading connection number the request went out on. An
    ACKED ticket turns REJECTED when the server rejects the order after accepting it
    (``RiskRejected``); a NOT_PLACED one turns ACKED if its order appears after all.
    """

    cl_ord_id: str
    kind: TicketKind
    symbol: str
    contract_id: int
    account_id: int = 0
    """The account the request is for (0: not known — an earlier run's request)."""
    source: str = ""
    """Who asked: the strategy's name (``[[strategies]]`` name), or empty for the
    framework's own requests (protective stops, risk halts, shutdown)."""
    action: str = ""
    qty: int = 0
    order_type: str = ""
    price: float | None = None
    stop_price: float | None = None
    take_profit: float | None = None
    stop_loss: float | None = None
    trigger: str = ""
    state: TicketState = TicketState.PENDING
    order_id: int | None = None
    bracket_ids: tuple[int, ...] = ()
    strategy_id: int | None = None
    brackets: tuple[StrategyBracket, ...] = ()
    command_id: int | None = None
    reason: str = ""
    refusal: str = ""
    """For a REFUSED ticket, the kind of refusal (``"risk"``, ``"halted"``, ``"not connected"``,
    ...): what made it, where ``reason`` says it in words."""
    created_ms: int = 0
    frame_ns: int = 0
    decoded_ns: int = 0
    decided_ns: int = 0
    checked_ns: int = 0
    sent_ns: int = 0
    answered_ns: int = 0
    filled_ns: int = 0
    connection: int = 0
    taken_over_ns: int = 0
    """``time.perf_counter_ns()`` when this run took the ticket over from an earlier run's
    journal (a request sent before a crash, whose outcome nobody knows yet, see
    ``OrderManager.take_over``); 0 for the run's own tickets."""

    @property
    def protective(self) -> bool:
        """A protective stop placed by the framework (``risk.protective_stop``), not by the
        strategy."""
        return self.cl_ord_id.endswith(PROTECTIVE_SUFFIX)

    @property
    def inherited(self) -> bool:
        """An earlier run sent this request (see :attr:`taken_over_ns`)."""
        return self.taken_over_ns != 0

    @property
    def is_open(self) -> bool:
        """Awaiting an answer or a resolution (PENDING or UNKNOWN)."""
        return self.state is TicketState.PENDING or self.state is TicketState.UNKNOWN


# ----------------------------------------------------------------------------- writing


def _setter(name: str) -> Callable[[OrderTicket, Any], None]:
    """The slot writer of field ``name``: it bypasses the frozen struct's ``__setattr__``."""
    setter: Callable[[OrderTicket, Any], None] = OrderTicket.__dict__[name].__set__
    return setter


set_action: Callable[[OrderTicket, str], None] = _setter("action")
set_qty: Callable[[OrderTicket, int], None] = _setter("qty")
set_order_type: Callable[[OrderTicket, str], None] = _setter("order_type")
set_price: Callable[[OrderTicket, float | None], None] = _setter("price")
set_stop_price: Callable[[OrderTicket, float | None], None] = _setter("stop_price")
set_state: Callable[[OrderTicket, TicketState], None] = _setter("state")
set_order_id: Callable[[OrderTicket, int | None], None] = _setter("order_id")
set_bracket_ids: Callable[[OrderTicket, tuple[int, ...]], None] = _setter("bracket_ids")
set_strategy_id: Callable[[OrderTicket, int | None], None] = _setter("strategy_id")
set_command_id: Callable[[OrderTicket, int | None], None] = _setter("command_id")
set_reason: Callable[[OrderTicket, str], None] = _setter("reason")
set_refusal: Callable[[OrderTicket, str], None] = _setter("refusal")
set_checked_ns: Callable[[OrderTicket, int], None] = _setter("checked_ns")
set_sent_ns: Callable[[OrderTicket, int], None] = _setter("sent_ns")
set_answered_ns: Callable[[OrderTicket, int], None] = _setter("answered_ns")
set_filled_ns: Callable[[OrderTicket, int], None] = _setter("filled_ns")
set_connection: Callable[[OrderTicket, int], None] = _setter("connection")
set_taken_over_ns: Callable[[OrderTicket, int], None] = _setter("taken_over_ns")
