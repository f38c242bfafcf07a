"""Restart reconciliation: what the journal believed against what the server's snapshot says.

After a crash the process knows nothing but its journal. The first ``user/syncrequest``
snapshot of the new run is compared with the journal's last state, and every difference is
reported instead of being silently absorbed: a request sent (or only written ahead) and never
acknowledged, and whether the snapshot shows it executed, found by its client order id — one
it does not show stays unknown (the exchange may still execute it) and the run follows it
(:mod:`.handover`); fills that
happened while the process was down; orders whose status moved, orders the journal never saw
and journal orders the server no longer lists; busted fills; positions that differ; and the
orders earlier runs left working, which this run cancels — all but protective stops still
covering an open position (see :func:`previous_orders`). Later reconnects within a run are
covered by the account store's :class:`~tradovate_api.stores.SyncReport`, which
:class:`JournalReconciler` journals too.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable

import msgspec

from ..alerts import Alert, AlertSink, Severity
from ..orders.order_strategy import carries
from ..protocol.models import Command, OrderStrategy, OrderVersion, SyncMessage
from ..stores.account import SyncReport, client_key
from ..stores.stale import ORDER_DONE
from .records import JournalState, RequestRecord
from .writer import Journal

PLACED = "placed"
UNKNOWN = "unknown"
NO_CLIENT_ID = "no client id"
_SETTLED = {PLACED: "ACKED", NO_CLIENT_ID: "RECONCILED"}
"""Journal state of an earlier run's unacknowledged request settled by the snapshot (an
``unknown`` one is not settled here: the run's order manager follows it)."""


class UnacknowledgedRequest(msgspec.Struct, frozen=True):
    """A request the journal saw sent but never answered, and what the snapshot shows.

    ``outcome``: ``placed`` (the server has a command carrying its client order id — its
    ``clOrdId``, or the ``customTag50`` of a liquidation or an order strategy — and
    ``order_id`` is the order it created: for an order strategy its entry, the first command
    carrying the id); ``unknown`` (the snapshot has none: that proves nothing, the exchange can
    still execute a request whose socket died, ADR 0006 — the run follows it as an UNKNOWN
    ticket until it appears or the server's order list, read at least
    ``risk.unknown_order_grace_seconds`` after it was sent, proves it absent); ``no client
    id`` (an order strategy interrupt, which carries none: see the working orders)."""

    cl_ord_id: str
    kind: str
    symbol: str | None
    action: str | None
    qty: int | None
    trigger: str
    journal_state: str
    outcome: str
    order_id: int | None
    order_status: str | None


class MissedFill(msgspec.Struct, frozen=True):
    """A fill in the snapshot the journal never recorded: it happened while down."""

    fill_id: int
    order_id: int
    contract_id: int
    timestamp: str
    action: str
    qty: int
    price: float
    cl_ord_id: str | None


class OrderChange(msgspec.Struct, frozen=True):
    """An order whose status differs between the journal and the snapshot (``before`` is
    ``None`` for an order the journal never saw)."""

    order_id: int
    cl_ord_id: str | None
    before: str | None
    after: str


class PositionDifference(msgspec.Struct, frozen=True):
    """A position that moved unseen: net size, price, or contracts bought/sold today."""

    account_id: int
    contract_id: int
    journal_net_pos: int
    journal_net_price: float | None
    server_net_pos: int
    server_net_price: float | None
    journal_bought: int = 0
    journal_sold: int = 0
    server_bought: int = 0
    server_sold: int = 0


class MissingOrder(msgspec.Struct, frozen=True):
    """An order the journal last saw working that the server's snapshot does not list: what
    became of it is not known."""

    order_id: int
    cl_ord_id: str | None
    journal_status: str


CANCEL = "cancel"
KEEP = "keep"
LEAVE = "leave"


class WorkingOrder(msgspec.Struct, frozen=True):
    """An order working on the server when the run starts, and what the run does with it.

    ``ours``: an earlier run of this app placed it (its client order id is in the journal).
    ``decision``: ``cancel``; ``keep`` (a protective stop still covering an open position:
    cancelling it would leave the position unprotected); ``leave`` (not this app's, or
    cancelling is switched off). ``why`` says it in words."""

    order_id: int
    cl_ord_id: str | None
    account_id: int
    contract_id: int | None
    action: str
    order_type: str | None
    qty: int | None
    price: float | None
    stop_price: float | None
    status: str
    parent_id: int | None
    ours: bool
    decision: str
    why: str

    def describe(self) -> str:
        price = self.stop_price if self.price is None else self.price
        what = " ".join(str(x) for x in (self.action, self.order_type, self.qty) if x)
        at = "" if price is None else f" @ {price:g}"
        tag = f", clOrdId {self.cl_ord_id}" if self.cl_ord_id else ""
        return (f"order {self.order_id} ({what}{at} in contract {self.contract_id}, "
                f"{self.status}{tag})")


class ReconciliationReport(msgspec.Struct, frozen=True):
    """Everything that differs between the journal and a fresh snapshot."""

    previous_run_crashed: bool
    unacknowledged: tuple[UnacknowledgedRequest, ...]
    missed_fills: tuple[MissedFill, ...]
    busted_fills: tuple[int, ...]
    order_changes: tuple[OrderChange, ...]
    positions: tuple[PositionDifference, ...]
    missing_orders: tuple[MissingOrder, ...] = ()
    working_orders: tuple[WorkingOrder, ...] = ()
    """Every order working on the server at start, with what this run does with it."""

    @property
    def changed(self) -> bool:
        return bool(self.unacknowledged or self.missed_fills or self.busted_fills
                    or self.order_changes or self.positions or self.missing_orders
                    or any(o.ours for o in self.working_orders))

    @property
    def urgent(self) -> bool:
        """Needs a human: an order's fate was unknown, a position moved unseen or an order
        left working by an earlier run stays working."""
        return bool(self.unacknowledged or self.positions or self.missed_fills
                    or self.missing_orders
                    or any(o.ours and o.decision != CANCEL for o in self.working_orders))

    @property
    def to_cancel(self) -> tuple[WorkingOrder, ...]:
        """The earlier runs' orders to cancel now (a held bracket leg goes with its entry:
        only the entry is listed)."""
        cancelling = {o.order_id for o in self.working_orders if o.decision == CANCEL}
        return tuple(o for o in self.working_orders
                     if o.decision == CANCEL and o.parent_id not in cancelling)

    def lines(self) -> list[str]:
        """The report as short human-readable lines (for alerts and ``journal show``)."""
        out: list[str] = []
        if self.previous_run_crashed:
            out.append("the previous run did not shut down cleanly")
        for req in self.unacknowledged:
            what = f"{req.kind} {req.action or ''} {req.qty or ''} {req.symbol or ''}".split()
            fate = req.outcome if req.order_id is None else (
                f"{req.outcome} as order {req.order_id} ({req.order_status})")
            if req.outcome == UNKNOWN:
                fate += (" (not in the snapshot: followed until it appears or the server's "
                         "order list, read after the grace period, proves it absent; new "
                         f"orders in {req.symbol or 'its contract'} wait)")
            out.append(f"sent, never acknowledged: {' '.join(what)} clOrdId={req.cl_ord_id} "
                       f"-> {fate}")
        for fill in self.missed_fills:
            out.append(f"fill while down: {fill.action} {fill.qty} @ {fill.price:g} "
                       f"(contract {fill.contract_id}, order {fill.order_id}, "
                       f"fill {fill.fill_id}, {fill.timestamp})")
        for fill_id in self.busted_fills:
            out.append(f"fill {fill_id} was busted")
        for change in self.order_changes:
            before = change.before or "never journaled"
            out.append(f"order {change.order_id}: {before} -> {change.after}")
        for missing in self.missing_orders:
            out.append(f"order {missing.order_id} ({missing.journal_status} in the journal"
                       + (f", clOrdId {missing.cl_ord_id}" if missing.cl_ord_id else "")
                       + ") is not in the server's order list: its fate is unknown")
        for working in self.working_orders:
            out.append(f"working at start: {working.describe()} -> {working.decision}: "
                       f"{working.why}")
        for pos in self.positions:
            out.append(f"position account {pos.account_id} contract {pos.contract_id}: journal "
                       f"net {pos.journal_net_pos} (bought {pos.journal_bought}, sold "
                       f"{pos.journal_sold}) -> server net {pos.server_net_pos} (bought "
                       f"{pos.server_bought}, sold {pos.server_sold})")
        return out


def reconcile(state: JournalState, snapshot: SyncMessage,
              account_ids: Collection[int] | None = None, *,
              cancel_previous: bool = True) -> ReconciliationReport:
    """Compare the journal's state with a snapshot; ``account_ids`` limits it to accounts.
    ``cancel_previous`` (settings ``journal.cancel_previous_orders``): whether the orders
    earlier runs left working are to be cancelled."""

    def ours(account_id: int) -> bool:
        return account_ids is None or account_id in account_ids

    orders = {o.id: o for o in snapshot.orders if ours(o.account_id)}
    by_cl_ord_id = first_commands(snapshot.commands)
    cl_ord_of_order = {c.order_id: c.cl_ord_id for c in snapshot.commands
                       if c.cl_ord_id and c.command_type == "New"}
    unacked = []
    for req in state.unacknowledged:
        command = by_cl_ord_id.get(req.cl_ord_id)
        seen = state.cl_ord_ids.get(req.cl_ord_id)  # its command reached the journal
        if command is not None or seen is not None:
            order_id = command.order_id if command is not None else seen
            assert order_id is not None
            order = orders.get(order_id)
            unacked.append(_unacked(req, PLACED, order_id,
                                    order.ord_status if order is not None else None))
        elif (strategy := _strategy_of(req, snapshot)) is not None:
            entry = next((link.order_id for link in snapshot.order_strategy_links
                          if link.order_strategy_id == strategy.id and link.label == "Entry"),
                         None)
            order = None if entry is None else orders.get(entry)
            unacked.append(_unacked(req, PLACED, entry,
                                    order.ord_status if order is not None else None))
        elif req.kind.upper() == "INTERRUPT":
            unacked.append(_unacked(req, NO_CLIENT_ID, None, None))
        else:
            unacked.append(_unacked(req, UNKNOWN, None, None))
    missed, busted = [], []
    for fill in sorted(snapshot.fills, key=lambda f: f.id):
        order = orders.get(fill.order_id)
        if order is None and account_ids is not None:
            continue
        known = state.fills.get(fill.id)
        if known is None and fill.active:
            missed.append(MissedFill(fill.id, fill.order_id, fill.contract_id, fill.timestamp,
                                     fill.action, fill.qty, fill.price,
                                     cl_ord_of_order.get(fill.order_id)))
        elif known is not None and known.active and not fill.active:
            busted.append(fill.id)
    changes = []
    for order_id in sorted(orders):
        order = orders[order_id]
        known_order = state.orders.get(order_id)
        before = None if known_order is None else known_order.ord_status
        if before != order.ord_status:
            changes.append(OrderChange(order_id, cl_ord_of_order.get(order_id), before,
                                       order.ord_status))
    missing = tuple(MissingOrder(o.order_id, o.cl_ord_id, o.ord_status)
                    for o in state.orders.values()
                    if ours(o.account_id) and o.ord_status not in ORDER_DONE
                    and o.order_id not in orders)
    return ReconciliationReport(state.crashed, tuple(unacked), tuple(missed), tuple(busted),
                                tuple(changes), _position_differences(state, snapshot, ours),
                                missing, previous_orders(state, snapshot, ours,
                                                         cancel=cancel_previous))


def first_commands(commands: Iterable[Command]) -> dict[str, Command]:
    """Client order id → the first command (lowest id) that carried it — its ``clOrdId``,
    else the ``customTag50`` of a ``New`` command (:func:`~tradovate_api.stores.account.
    client_key`). An order strategy's targets and stops carry its ``customTag50`` too, and
    so do the cancels of an interrupt: the first is the entry's, as in the account store."""
    first: dict[str, Command] = {}
    for command in commands:
        key = client_key(command)
        if key is None:
            continue
        known = first.get(key)
        if known is None or command.id < known.id:
            first[key] = command
    return first


STOP_TYPES = frozenset({"Stop", "StopLimit", "TrailingStop", "TrailingStopLimit"})


def decide(*, ours: bool, order_type: str | None, action: str, net: int, held: bool,
           cancel: bool) -> tuple[str, str]:
    """What this run does with an order an earlier run may have left working, and why:
    ``keep`` a stop on the closing side of the open position ``net`` that its entry does not
    hold any more (cancelling it would leave the position unprotected); else ``cancel`` this
    app's order (``cancel``: settings ``journal.cancel_previous_orders``), else ``leave``."""
    if not ours:
        return LEAVE, "not placed by this app (no client order id of its journal)"
    if (order_type in STOP_TYPES and net != 0 and not held
            and action == ("Sell" if net > 0 else "Buy")):
        return KEEP, (f"protective stop of the open position {net:+d}: cancelling it would "
                      f"leave the position unprotected")
    if cancel:
        return CANCEL, "left working by an earlier run of this app"
    return LEAVE, "left working by an earlier run; journal.cancel_previous_orders is off"


def previous_orders(state: JournalState, snapshot: SyncMessage, ours: Callable[[int], bool],
                    *, cancel: bool) -> tuple[WorkingOrder, ...]:
    """Every order of the snapshot still working, and what to do with it.

    An order is this app's when the client order id (or ``customTag50``) of the command
    that created it is one the journal sent — for a bracket leg, its entry's id with
    ``-tp``/``-sl``; an order strategy's targets and stops carry its ``customTag50``. This
    app's orders are cancelled (``cancel``), except a stop on the closing side of an open
    position in its contract: cancelling that would leave the position unprotected, so it is
    kept and the report says so (:func:`decide`). Orders of anyone else (a human, another
    program) are left alone."""
    new_commands = {c.order_id: c for c in snapshot.commands if c.command_type == "New"}
    versions: dict[int, OrderVersion] = {}
    for version in snapshot.order_versions:
        latest = versions.get(version.order_id)
        if latest is None or version.id > latest.id:
            versions[version.order_id] = version
    positions = {(p.account_id, p.contract_id): p.net_pos for p in snapshot.positions}
    working = sorted((o for o in snapshot.orders
                      if ours(o.account_id) and o.ord_status not in ORDER_DONE),
                     key=lambda o: o.id)
    working_ids = {o.id for o in working}
    out = []
    for order in working:
        command = new_commands.get(order.id)
        tag = None if command is None else (command.cl_ord_id or command.custom_tag50)
        mine = tag is not None and _ours(tag, command, state.maybe_working)
        current = versions.get(order.id)
        order_type = None if current is None else current.order_type
        net = positions.get((order.account_id, order.contract_id or 0), 0)
        decision, why = decide(ours=mine, order_type=order_type, action=order.action,
                               net=net, held=order.parent_id in working_ids, cancel=cancel)
        out.append(WorkingOrder(
            order.id, tag, order.account_id, order.contract_id, order.action, order_type,
            None if current is None else current.order_qty,
            None if current is None else current.price,
            None if current is None else current.stop_price, order.ord_status,
            order.parent_id, mine, decision, why))
    return _keep_oco_partners(out, {o.id: o.oco_id for o in working if o.oco_id is not None})


def _keep_oco_partners(orders: list[WorkingOrder],
                       oco: dict[int, int]) -> tuple[WorkingOrder, ...]:
    """An order OCO-linked to a kept stop (a bracket's take-profit) is kept too: whether
    cancelling one side of an OCO pair cancels the other is not documented (the protocol
    reference §6.4–6.5 describes fills only), and it must not take the stop with it."""
    kept = {o.order_id for o in orders if o.decision == KEEP}
    stop_of: dict[int, int] = {}
    """Order id → the kept stop it is OCO-linked with (``ocoId`` may be on either side)."""
    for order_id, other in oco.items():
        if order_id in kept:
            stop_of[other] = order_id
        elif other in kept:
            stop_of[order_id] = other
    out = []
    for order in orders:
        stop = stop_of.get(order.order_id)
        if order.decision == CANCEL and stop is not None:
            order = msgspec.structs.replace(
                order, decision=KEEP, why=f"OCO with the kept protective stop {stop}: "
                                          f"cancelling it could cancel the stop too")
        out.append(order)
    return tuple(out)


def _ours(tag: str, command: Command | None, ids: frozenset[str]) -> bool:
    if tag in ids:
        return True
    if command is not None and command.custom_tag50 and command.custom_tag50 in ids:
        return True
    base, _, leg = tag.rpartition("-")
    return leg in ("tp", "sl") and base in ids


def _strategy_of(req: RequestRecord, snapshot: SyncMessage) -> OrderStrategy | None:
    """The order strategy an order strategy request created, by the ``customTag50`` or
    ``uuid`` it carried (for when the server does not copy them onto its orders' commands)."""
    if req.kind.upper() != "STRATEGY":
        return None
    return next((s for s in snapshot.order_strategies if carries(s, req.cl_ord_id)), None)


def _unacked(req: RequestRecord, outcome: str, order_id: int | None,
             status: str | None) -> UnacknowledgedRequest:
    return UnacknowledgedRequest(req.cl_ord_id, req.kind, req.symbol, req.action, req.qty,
                                 req.trigger, req.state, outcome, order_id, status)


def _position_differences(state: JournalState, snapshot: SyncMessage,
                          ours: Callable[[int], bool]) -> tuple[PositionDifference, ...]:
    server = {(p.account_id, p.contract_id): p for p in snapshot.positions if ours(p.account_id)}
    journal = {k: p for k, p in state.positions.items() if ours(k[0])}
    out = []
    for key in sorted(set(server) | set(journal)):
        mine, theirs = journal.get(key), server.get(key)
        mine_shape = (0, None, 0, 0) if mine is None else (
            mine.net_pos, mine.net_price if mine.net_pos else None, mine.bought, mine.sold)
        theirs_shape = (0, None, 0, 0) if theirs is None else (
            theirs.net_pos, theirs.net_price if theirs.net_pos else None, theirs.bought,
            theirs.sold)
        if mine_shape != theirs_shape:
            out.append(PositionDifference(key[0], key[1], mine_shape[0], mine_shape[1],
                                          theirs_shape[0], theirs_shape[1], mine_shape[2],
                                          mine_shape[3], theirs_shape[2], theirs_shape[3]))
    return tuple(out)


class JournalReconciler:
    """Journals every snapshot and reconciles the first one of the run with the journal.

    Call :meth:`on_sync` from the account reader with each snapshot (and the account store's
    :class:`SyncReport` of it). The restart report is journaled, kept in :attr:`restart`, and
    raised as an alert when anything differs."""

    def __init__(self, journal: Journal, alerts: AlertSink | None = None,
                 account_ids: Collection[int] | None = None, *,
                 cancel_previous: bool = True) -> None:
        self.journal = journal
        self.alerts = alerts
        self.account_ids = account_ids
        self.cancel_previous = cancel_previous
        self.restart: ReconciliationReport | None = None

    def on_sync(self, message: SyncMessage, connection: int,
                report: SyncReport | None = None) -> ReconciliationReport | None:
        """Journal a snapshot; on the first of the run, return the restart report."""
        journal = self.journal
        first = self.restart is None
        if first:
            # Compared before the snapshot is queued: the journal state was read at open.
            self.restart = reconcile(journal.previous, message, self.account_ids,
                                     cancel_previous=self.cancel_previous)
        journal.sync_snapshot(message, connection)
        if first:
            assert self.restart is not None
            journal.reconciliation("restart", self.restart.changed, self.restart)
            for req in self.restart.unacknowledged:
                settled = _SETTLED.get(req.outcome)
                if settled is not None:
                    journal.settle_request(req.cl_ord_id, settled, req.order_id,
                                           f"settled by restart reconciliation: {req.outcome}")
            self._tell(self.restart)
            return self.restart
        if report is not None:
            journal.sync_report(report, connection)
        return None

    def _tell(self, report: ReconciliationReport) -> None:
        if self.alerts is None or not report.changed:
            return
        severity = Severity.URGENT if report.urgent else Severity.ROUTINE
        self.alerts.emit(Alert(severity, "journal.restart_differences",
                               "Restart: the server's account differs from the journal",
                               "\n".join(report.lines())))
