"""An earlier run's requests of unknown outcome, followed by this run like its own.

A run that dies between sending a request and hearing its answer leaves it in the journal
unacknowledged (``PENDING``, ``UNKNOWN``, or only written ahead: ``INTENT``). The restart's
first snapshot settles one it shows (placed). One it does not show proves nothing: the exchange
can execute a request whose socket died, later than that snapshot (ADR 0006). So such a request
becomes an UNKNOWN ticket of this run's order manager (``OrderManager.take_over``) with the
send time the journal has: it blocks new orders in its contract, like any lost answer, until it
appears in the account data or the outcome resolver's read of the server's order list, at
least ``risk.unknown_order_grace_seconds`` after it was sent, proves it absent. The journal
hears every change of it like any ticket.

Should it appear — the exchange executed it after the restart — :class:`EarlierRequests` says so
urgently and treats its order as the restart treats the orders an earlier run left working
(:func:`~.reconcile.decide`): an entry still working is cancelled (settings
``journal.cancel_previous_orders``), a stop on the closing side of the open position is kept.
A position it opened gets its protective stop like any other (``risk.protective_stop``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from ..alerts import Alert, AlertSink, Severity
from ..orders.tickets import OrderTicket, TicketKind, TicketState
from .reconcile import CANCEL, WorkingOrder, decide
from .records import RequestRecord

if TYPE_CHECKING:
    from ..orders import OrderManager
    from ..stores import AccountView

_log = logging.getLogger("tradovate_api.journal")

_ENTRIES = frozenset({TicketKind.PLACE, TicketKind.OSO, TicketKind.STRATEGY})
"""Requests whose own order is judged like an order left working (a liquidation only closes,
an OCO's orders are exits, a modify or cancel targets an order judged at the start)."""
_SETTLED = frozenset({TicketState.ACKED, TicketState.REJECTED})


def inherited_ticket(record: RequestRecord, sent_ns: int) -> OrderTicket | None:
    """The ticket of an earlier run's unacknowledged request, UNKNOWN, sent at ``sent_ns``
    (``time.perf_counter_ns``'s clock); ``None`` for a kind this program does not know."""
    try:
        kind = TicketKind[record.kind.upper()]
    except KeyError:
        return None
    return OrderTicket(
        cl_ord_id=record.cl_ord_id, kind=kind, symbol=record.symbol or "",
        contract_id=record.contract_id or 0, account_id=record.account_id or 0,
        source=record.source, action=record.action or "", qty=record.qty or 0,
        order_type=record.order_type or "", price=record.price, stop_price=record.stop_price,
        trigger=record.trigger, state=TicketState.UNKNOWN, order_id=record.order_id,
        reason=f"sent by an earlier run (run {record.run_id}), which ended before its answer; "
               f"outcome unknown", created_ms=record.created_ns // 1_000_000, sent_ns=sent_ns)


class EarlierRequests:
    """Hands an earlier run's requests of unknown outcome to the order manager and deals with
    those that turn out executed (see the module doc).

    Register :meth:`on_ticket` as an order manager listener; call :meth:`check` after every
    account event and snapshot. ``now_ns`` is the journal's clock (its ``created_ns``);
    ``cancel``: settings ``journal.cancel_previous_orders``."""

    def __init__(self, orders: Sequence[OrderManager], account: AccountView,
                 alerts: AlertSink, *, cancel: bool, now_ns: Callable[[], int]) -> None:
        self._orders = orders[0]
        self._by_account = {manager.account_id: manager for manager in orders}
        """Each traded account's order manager: a request goes back to its own account's
        (one journaled without its account, by an older version, to the first's)."""
        self._account = account
        self._alerts = alerts
        self.cancel = cancel
        self._now_ns = now_ns
        self.taken: tuple[OrderTicket, ...] = ()
        """Every request taken over (a handful at most: those in flight when a run died)."""
        self.tickets: dict[str, OrderTicket] = {}
        """The requests taken over and not executed or rejected (yet), by client order id."""
        self._states: dict[str, TicketState] = {}
        self._undecided: dict[str, OrderTicket] = {}
        """Executed entries whose order has not been judged yet (it may not be in the account
        data yet: an order strategy's entry follows the strategy)."""
        self.decisions: list[WorkingOrder] = []
        """What was done with the orders of requests executed after the restart."""

    def take_over(self, records: Iterable[RequestRecord]) -> tuple[OrderTicket, ...]:
        """Make each request an UNKNOWN ticket of the order manager, sent when the journal
        says; returns the tickets taken over."""
        age_base, perf = self._now_ns(), time.perf_counter_ns()
        taken = []
        for record in records:
            ticket = inherited_ticket(record, perf - max(age_base - record.created_ns, 0))
            if ticket is None:
                _log.error("request %s of an earlier run has a kind this program does not "
                           "know (%s): not followed", record.cl_ord_id, record.kind)
                continue
            self.tickets[ticket.cl_ord_id] = ticket
            self._states[ticket.cl_ord_id] = ticket.state
            if self._manager(ticket.account_id).take_over(ticket):
                taken.append(ticket)
            else:
                self.tickets.pop(ticket.cl_ord_id, None)
                self._states.pop(ticket.cl_ord_id, None)
        self.taken += tuple(taken)
        return tuple(taken)

    def _manager(self, account_id: int) -> OrderManager:
        return self._by_account.get(account_id, self._orders)

    @property
    def following(self) -> int:
        """Requests taken over whose outcome is still unknown, plus executed ones whose order
        has not been dealt with yet."""
        return (sum(1 for t in self.tickets.values() if t.state is TicketState.UNKNOWN)
                + len(self._undecided))

    def on_ticket(self, ticket: OrderTicket) -> None:
        """An order manager listener: a taken-over request was settled."""
        key = ticket.cl_ord_id
        if self.tickets.get(key) is not ticket:
            return
        before, state = self._states.get(key), ticket.state
        self._states[key] = state
        if state is before or state not in _SETTLED:
            return
        del self.tickets[key], self._states[key]
        if state is TicketState.REJECTED:
            _log.warning("request %s of an earlier run was rejected: %s", key, ticket.reason)
            return
        what = f"{ticket.kind} {ticket.action} {ticket.qty} {ticket.symbol}"
        _log.error("request %s (%s) of an earlier run was executed after the restart", key,
                   what)
        if before is not TicketState.NOT_PLACED:  # (else orders.late_execution said it)
            self._alerts.emit(Alert(
                Severity.URGENT, "journal.earlier_request_executed",
                f"An earlier run's order was executed after the restart: {what}",
                f"clOrdId {key}: sent before the earlier run ended, not in the restart's "
                f"snapshot, executed since (order {ticket.order_id}). Its order is dealt with "
                f"like the orders an earlier run left working; a position it opened gets its "
                f"protective stop."))
        if ticket.kind in _ENTRIES:
            self._undecided[key] = ticket
            self.check()

    def check(self) -> None:
        """Judge the orders of executed entries that the account data now show."""
        if not self._undecided:
            return
        for key, ticket in list(self._undecided.items()):
            state = self._account.order(ticket.order_id) if ticket.order_id else None
            if state is None or (state.version is None and not state.is_done):
                strategy = (self._account.order_strategy(ticket.strategy_id)
                            if ticket.strategy_id is not None else None)
                if strategy is not None and strategy.is_done:
                    del self._undecided[key]  # ended before its entry was seen
                continue
            del self._undecided[key]
            if not state.is_done and state.version is not None \
                    and state.version.order_type != "Market":  # a market order does not rest
                self._judge(ticket, state.id)

    def _judge(self, ticket: OrderTicket, order_id: int) -> None:
        account = self._account
        state = account.order(order_id)
        assert state is not None
        order, version = state.order, state.version
        position = account.position(order.account_id, order.contract_id or 0)
        parent = account.order(order.parent_id) if order.parent_id is not None else None
        decision, why = decide(ours=True, order_type=None if version is None
                               else version.order_type, action=order.action,
                               net=0 if position is None else position.net_pos,
                               held=parent is not None and not parent.is_done,
                               cancel=self.cancel)
        working = WorkingOrder(
            order.id, ticket.cl_ord_id, order.account_id, order.contract_id, order.action,
            None if version is None else version.order_type,
            None if version is None else version.order_qty,
            None if version is None else version.price,
            None if version is None else version.stop_price, order.ord_status,
            order.parent_id, True, decision, why)
        self.decisions.append(working)
        outcome = ""
        if decision == CANCEL:
            cancel = self._manager(order.account_id).cancel(
                order.id, trigger="an earlier run's order, executed after the restart")
            outcome = (f"; the cancel was refused: {cancel.reason}"
                       if cancel.state is TicketState.REFUSED else "; cancel sent")
        _log.warning("an earlier run's order executed after the restart: %s -> %s: %s%s",
                     working.describe(), decision, why, outcome)
        self._alerts.emit(Alert(
            Severity.URGENT if outcome.startswith("; the cancel was refused")
            or decision != CANCEL else Severity.ROUTINE,
            "journal.previous_orders",
            f"An earlier run's order, executed after the restart: {decision}",
            f"{working.describe()} -> {decision}: {why}{outcome}"))
