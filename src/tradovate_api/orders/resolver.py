"""The outcome resolver: settles order requests whose answer was lost, from the server's own
order list, without waiting for a reconnect.

An UNKNOWN ticket (its answer timed out, its socket died, it was answered 5xx or with a body
that could not be read) may or may not have been executed — and real Tradovate can execute a
request some time after its socket died, after the next connection's snapshot was taken. So
the account data only ever settle a ticket *positively* (its command shows up: ACKED, or
REJECTED when the command was rejected). Proof of absence comes from here: once the grace
period has passed since the answer was given up (a time-out, the socket's death, an error
answer), :class:`OutcomeResolver` reads the complete
list of the user's commands from the server (REST ``command/list``, reference §1.3) and
settles every due ticket that has no command there as NOT_PLACED; one that has is settled from
that command (its reports read with ``commandReport/ldeps`` unless the command says it was
accepted: a rejection's reason is in its report). The read is retried with backoff when it
fails; a ticket still unknown after ``alert_after`` seconds raises an urgent
``orders.unknown_long`` alert, once.

Order strategies are found the same way — their entry's command carries the request's
``customTag50`` — and also, for when the server does not copy it there, in the server's list
of order strategies (REST ``orderStrategy/list``, read only while a strategy ticket is due),
which carry the request's ``customTag50`` and ``uuid`` (reference §5.2). An interrupt has no
client id at all: its outcome is its strategy's status in that list (``StoppedByUser``: done;
still working after the grace: not executed).

An earlier run's request of unknown outcome, taken over after a restart
(``OrderManager.take_over``), is settled the same way. When that run gave its answer up is not
journaled (a kill leaves no trace): no later than its time-out after the journaled send time,
and no later than the take-over; the grace runs from the sooner of the two.

The assumption (ADR 0006): the exchange executes a request, if ever, within the grace period
after the client gave up its answer, and a command list read after that shows every command
created before the read. (Counted from the sending, the shipped grace would end the moment
the shipped time-out gives the answer up: an exchange slow enough to time out could still
execute the request right after the list was read.) A request executed later still is
caught by the order manager (urgent ``orders.late_execution``; the ticket turns ACKED and its
position is protected like any other).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from ..alerts import Alert, AlertSink, Severity
from ..errors import TradovateError
from ..protocol.models import Command, CommandReport, OrderStrategy
from ..stores.account import client_key
from .contracts import Requester
from .order_strategy import carries
from .outcomes import Verdict, command_verdict
from .tickets import OrderTicket, TicketKind, TicketState

_log = logging.getLogger("tradovate_api.orders.resolver")

_NS = 1_000_000_000
_EXPECTED = (TradovateError, OSError, TimeoutError)
"""Failures of a read that need no traceback in the log (the server, the network)."""


class ServerCommands(Protocol):
    """Reads the server's commands (the resolver's only I/O)."""

    async def commands(self) -> Sequence[Command]:
        """Every command of the user the server has (a complete list)."""
        ...

    async def reports(self, command_ids: Sequence[int]) -> Sequence[CommandReport]:
        """The command reports of these commands."""
        ...

    async def strategies(self) -> Sequence[OrderStrategy]:
        """Every order strategy of the user the server has (a complete list)."""
        ...


class RestServerCommands:
    """:class:`ServerCommands` over REST: ``command/list``, ``commandReport/ldeps`` and
    ``orderStrategy/list``."""

    def __init__(self, rest: Requester) -> None:
        self._rest = rest

    async def commands(self) -> Sequence[Command]:
        result: list[Command] = await self._rest.request("command/list", None, list[Command])
        return result

    async def reports(self, command_ids: Sequence[int]) -> Sequence[CommandReport]:
        if not command_ids:
            return []
        result: list[CommandReport] = await self._rest.request(
            "commandReport/ldeps", None, list[CommandReport],
            query={"masterids": ",".join(str(i) for i in command_ids)})
        return result

    async def strategies(self) -> Sequence[OrderStrategy]:
        result: list[OrderStrategy] = await self._rest.request("orderStrategy/list", None,
                                                               list[OrderStrategy])
        return result


def _lost_ns(ticket: OrderTicket, answer_timeout_ns: int) -> int:
    """When the ticket's answer was given up (timed out, its socket died, an error came):
    the grace runs from then — a request the exchange held until the client stopped waiting
    can still execute right after (ADR 0006). An earlier run's request was given up when that
    run stopped waiting: by its time-out at the latest, or when it died, which this run does
    not know, so no later than the take-over."""
    if ticket.answered_ns:
        return ticket.answered_ns
    if ticket.inherited:
        return min(ticket.sent_ns + answer_timeout_ns, ticket.taken_over_ns)
    return ticket.sent_ns


class Resolvable(Protocol):
    """What the resolver needs from the order manager."""

    def unknown(self) -> tuple[OrderTicket, ...]: ...

    def add_listener(self, listener: Callable[[OrderTicket], None]) -> None: ...

    def settle_absent(self, ticket: OrderTicket, reason: str) -> None: ...

    def settle_listed(self, ticket: OrderTicket, command: Command,
                      reports: Iterable[CommandReport]) -> bool: ...

    def settle_strategy(self, ticket: OrderTicket, strategy: OrderStrategy) -> bool: ...


class OutcomeResolver:
    """Settles UNKNOWN tickets from the server's command list (see the module doc); run
    :meth:`run` as a supervised task.

    ``grace`` (seconds) is measured from when a request's answer was given up
    (``OrderTicket.answered_ns``, else its sending; for an earlier run's request, the end of
    that run's ``answer_timeout`` or the take-over, whichever came first); ``recheck`` is the wait
    before reading again for a ticket whose command the list showed undecided;
    ``backoff``/``max_backoff`` pace the retries of a failed read; ``alert_after`` is how long
    a ticket may stay unknown before an urgent alert. ``clock_ns`` is the clock of
    ``OrderTicket.sent_ns`` (``time.perf_counter_ns``)."""

    def __init__(self, orders: Resolvable, server: ServerCommands, alerts: AlertSink, *,
                 grace: float = 10.0, recheck: float = 2.0, backoff: float = 0.5,
                 max_backoff: float = 30.0, alert_after: float = 60.0,
                 answer_timeout: float = 10.0,
                 clock_ns: Callable[[], int] = time.perf_counter_ns) -> None:
        if grace < 0 or recheck <= 0 or backoff <= 0 or max_backoff < backoff \
                or alert_after <= 0 or answer_timeout <= 0:
            raise ValueError("resolver timings must be positive (grace may be 0)")
        self._orders = orders
        self._server = server
        self._alerts = alerts
        self.grace = grace
        self.recheck = recheck
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.alert_after = alert_after
        self.answer_timeout = answer_timeout
        self._clock_ns = clock_ns
        self._wake = asyncio.Event()
        self._not_before: dict[str, int] = {}
        """cl_ord_id → no read for it before (ns): sent + grace, later now + recheck."""
        self._alerted: set[str] = set()
        self.reads = 0
        """Command lists read."""
        self.failed_reads = 0
        self.settled = 0
        """Tickets this resolver settled."""
        orders.add_listener(self._on_ticket)

    def _on_ticket(self, ticket: OrderTicket) -> None:
        if ticket.state is TicketState.UNKNOWN:
            self._wake.set()

    # ------------------------------------------------------------------ the task

    async def run(self) -> None:
        """Until cancelled: wait for an unknown ticket to be due, read, settle."""
        failures = 0
        while True:
            unknown = self._orders.unknown()
            self._forget(unknown)
            if not unknown:
                self._wake.clear()
                await self._wake.wait()
                continue
            now = self._clock_ns()
            self._alert_long(unknown, now)
            due = [t for t in unknown if now >= self._due(t)]
            if not due:
                await self._sleep_until(min(self._next_event(t) for t in unknown))
                continue
            try:
                await self._resolve(due, now)
            except Exception as exc:  # any failed read is retried, never fatal
                failures += 1
                self.failed_reads += 1
                wait = min(self.backoff * 2 ** (failures - 1), self.max_backoff)
                if failures == 1 or failures % 10 == 0:
                    _log.warning("reading the server's order list failed (%d in a row: %s: "
                                 "%s); retrying in %gs", failures, type(exc).__name__, exc,
                                 wait, exc_info=not isinstance(exc, _EXPECTED))
                await asyncio.sleep(wait)
                continue
            failures = 0

    async def _resolve(self, due: list[OrderTicket], started: int) -> None:
        """One read of the command list (started at ``started``, after every due ticket's
        grace) and what it settles."""
        commands = await self._server.commands()
        self.reads += 1
        listed: dict[str, Command] = {}
        for entry in commands:
            key = client_key(entry)
            known = listed.get(key) if key else None
            if key and (known is None or entry.id < known.id):
                listed[key] = entry  # the first command carrying it: a strategy's entry
        found = [(t, listed[t.cl_ord_id]) for t in due if t.cl_ord_id in listed]
        unclear = [c.id for _, c in found if command_verdict(c, ())[0] is not Verdict.ACCEPTED]
        reports = list(await self._server.reports(unclear)) if unclear else []
        strategies: Sequence[OrderStrategy] = ()
        if any(t.kind is TicketKind.INTERRUPT
               or (t.kind is TicketKind.STRATEGY and t.cl_ord_id not in listed) for t in due):
            strategies = await self._server.strategies()
        for ticket in due:
            if ticket.state is not TicketState.UNKNOWN:
                continue  # the account data settled it meanwhile
            waited = (started - self._lost_ns(ticket)) / _NS
            if ticket.kind is TicketKind.INTERRUPT:
                self._interrupt(ticket, strategies, waited)
                continue
            command = listed.get(ticket.cl_ord_id)
            strategy = None if command is not None or ticket.kind is not TicketKind.STRATEGY \
                else next((s for s in strategies if carries(s, ticket.cl_ord_id)), None)
            if strategy is not None:
                if self._orders.settle_strategy(ticket, strategy):
                    self.settled += 1
            elif command is None:
                self._orders.settle_absent(
                    ticket, f"the server's order list, read {waited:.1f}s after the request's "
                    "answer was lost, has no command with its client order id"
                    + (" and no order strategy carrying it"
                       if ticket.kind is TicketKind.STRATEGY else "")
                    + ": it was not executed")
                self.settled += 1
            elif self._orders.settle_listed(
                    ticket, command, [r for r in reports if r.command_id == command.id]):
                self.settled += 1
            else:
                self._not_before[ticket.cl_ord_id] = self._clock_ns() + int(self.recheck * _NS)

    def _interrupt(self, ticket: OrderTicket, strategies: Sequence[OrderStrategy],
                   waited: float) -> None:
        """An interrupt has no client id: its strategy's status in the server's list says
        whether it was executed (ended ``StoppedByUser``), too late (ended otherwise) or not
        (still working, or not there)."""
        strategy = next((s for s in strategies if s.id == ticket.strategy_id), None)
        if strategy is not None and self._orders.settle_strategy(ticket, strategy):
            self.settled += 1
            return
        shows = (f"shows order strategy {ticket.strategy_id} still working"
                 if strategy is not None else f"has no order strategy {ticket.strategy_id}")
        self._orders.settle_absent(
            ticket, f"the server's order strategy list, read {waited:.1f}s after the "
            f"request's answer was lost, {shows}: the interrupt was not executed")
        self.settled += 1

    # ------------------------------------------------------------------ timing

    def _due(self, ticket: OrderTicket) -> int:
        return self._not_before.get(ticket.cl_ord_id,
                                    self._lost_ns(ticket) + int(self.grace * _NS))

    def _lost_ns(self, ticket: OrderTicket) -> int:
        return _lost_ns(ticket, int(self.answer_timeout * _NS))

    def _next_event(self, ticket: OrderTicket) -> int:
        due = self._due(ticket)
        if ticket.cl_ord_id in self._alerted:
            return due
        return min(due, _unknown_since(ticket) + int(self.alert_after * _NS))

    async def _sleep_until(self, when_ns: int) -> None:
        """Sleep until ``when_ns`` or until another ticket becomes unknown."""
        self._wake.clear()
        delay = max(when_ns - self._clock_ns(), 0) / _NS
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)

    def _forget(self, unknown: tuple[OrderTicket, ...]) -> None:
        """Drop the bookkeeping of tickets that are no longer unknown."""
        if not self._not_before and not self._alerted:
            return
        ids = {t.cl_ord_id for t in unknown}
        for key in [k for k in self._not_before if k not in ids]:
            del self._not_before[key]
        self._alerted &= ids

    def _alert_long(self, unknown: tuple[OrderTicket, ...], now: int) -> None:
        limit = int(self.alert_after * _NS)
        for ticket in unknown:
            if ticket.cl_ord_id in self._alerted or now - _unknown_since(ticket) < limit:
                continue
            self._alerted.add(ticket.cl_ord_id)
            waited = (now - _unknown_since(ticket)) / _NS
            _log.error("order %s (%s %s %s %s) still has no known outcome after %.0fs",
                       ticket.cl_ord_id, ticket.kind, ticket.action, ticket.qty, ticket.symbol,
                       waited)
            self._alerts.emit(Alert(
                Severity.URGENT, "orders.unknown_long",
                f"Order outcome still unknown after {waited:.0f}s: {ticket.kind} "
                f"{ticket.action} {ticket.qty} {ticket.symbol}",
                f"clOrdId {ticket.cl_ord_id}: neither the account data nor the server's order "
                "list settle it (the server unreachable?). New orders in this contract stay "
                "blocked; check the account on Tradovate."))


def _unknown_since(ticket: OrderTicket) -> int:
    """When this run started waiting for the ticket's outcome: its sending, or when it took
    an earlier run's request over (whose restart report already said it was unknown)."""
    return max(ticket.sent_ns, ticket.taken_over_ns)
