"""The copier: the leader's account changes in, each follower's orders out, at once.

:class:`CopierService` is fed by the account reader, right after the account store applied an
event (:meth:`CopierService.on_account`) or a snapshot (:meth:`CopierService.on_sync`); it is
not a writer of anything but its own ledger. For every intent the :class:`~.mapper.LeaderMapper`
finds it calls each follower's :class:`~tradovate_api.orders.OrderManager` in turn —
synchronously: the manager writes the frame on the trading socket inside the call, so the
last follower's order leaves before the reader takes the next event, with no await and no
queue. Each follower's order passes that follower's own checks (halt, unknown outcomes, its
risk limits, the journal's write-ahead); a follower that refuses or raises is alerted after
the fan-out and never stops the others.

Then the managers of the followers the event concerns settle their tickets from the same
changes, and the fills on followers are checked for drift (:mod:`.drift`): alerted, closed
with an opposite Market order, or adopted, per ``on_drift``.

A modify or cancel for a follower whose copy is not acknowledged yet (no order id) waits in
``_pending`` and goes as soon as the account data give the id; the latest state of the leader
order is what is sent then.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence

from ...alerts import Alert, AlertSink, Severity
from ...protocol.models import CashBalance, Position
from ...stores import AccountChange, AccountView, NewFill, OrderState, StrategyState, SyncReport
from ..manager import OrderManager, opposite
from ..order_strategy import StrategyBracket
from ..tickets import TicketState
from .drift import Drift, DriftDetector
from .ledger import CopyLedger, LeaderOrder, copy_text, leader_of_text
from .mapper import Intent, IntentKind, LeaderMapper
from .sizing import Sizing
from .summary import FollowerSummary, copier_summary

_log = logging.getLogger("tradovate_api.orders.copier")

_REFUSED = TicketState.REFUSED
_SETTLED_WITHOUT_ORDER = frozenset({TicketState.REFUSED, TicketState.REJECTED,
                                    TicketState.NOT_PLACED})
DRIFT_TEXT = "copier: drift"
"""``text`` of the order that closes a drift (``on_drift = "flatten"``)."""


class Follower:
    """A follower account: its id and name, its sizing and its own order manager."""

    __slots__ = ("account_id", "name", "orders", "sizing")

    def __init__(self, account_id: int, name: str, sizing: Sizing,
                 orders: OrderManager) -> None:
        if orders.account_id != account_id:
            raise ValueError(f"follower {name}: its order manager trades account "
                             f"{orders.account_id}, not {account_id}")
        self.account_id = account_id
        self.name = name
        self.sizing = sizing
        self.orders = orders


class CopierService:
    """Mirrors ``leader_id``'s orders on ``followers`` (see the module doc). ``mode``:
    ``"orders"`` or ``"fills"``; ``on_drift``: ``"alert"``, ``"flatten"`` or ``"adopt"``;
    ``own_prefix``: copy only orders whose client id has this prefix (``source =
    "strategy"``); ``clock_ns``: ``perf_counter_ns``."""

    def __init__(self, leader_id: int, followers: Sequence[Follower], account: AccountView,
                 alerts: AlertSink, *, mode: str = "orders", on_drift: str = "alert",
                 own_prefix: str | None = None,
                 clock_ns: Callable[[], int] = time.perf_counter_ns) -> None:
        if not followers:
            raise ValueError("the copier needs at least one follower")
        ids = [f.account_id for f in followers]
        if leader_id in ids or len(set(ids)) != len(ids):
            raise ValueError("followers must be distinct accounts other than the leader")
        if on_drift not in ("alert", "flatten", "adopt"):
            raise ValueError(f"on_drift must be alert, flatten or adopt, got {on_drift!r}")
        self.leader_id = leader_id
        self.followers: tuple[Follower, ...] = tuple(followers)
        self._indexed = tuple(enumerate(self.followers))
        self._by_account = {f.account_id: f for f in self.followers}
        self._account = account
        self._alerts = alerts
        self.mode = mode
        self.on_drift = on_drift
        self._clock_ns = clock_ns
        self.ledger = CopyLedger(len(self.followers))
        self.mapper = LeaderMapper(leader_id, account, self.ledger, mode=mode,
                                   own_prefix=own_prefix)
        self._drift = DriftDetector(account, self.ledger,
                                    {f.account_id: f.orders.id_prefix for f in followers})
        self._symbol_of = self.followers[0].orders.symbol_of
        self._pending: dict[tuple[int, int], IntentKind] = {}
        """(leader order id, follower index) → the MODIFY or CANCEL waiting for the follower
        order's id (a later one replaces an earlier one; the leader order's latest version
        is what is sent)."""
        self._pending_interrupts: set[tuple[int, int]] = set()
        """(leader strategy id, follower index): interrupts waiting for the follower
        strategy's id."""
        self._synced = False
        self.stopped = False
        """Set when the run shuts down (:meth:`stop`): nothing more is copied."""
        self.drifts: list[Drift] = []
        """Drift seen this run, oldest first."""

    def summary(self) -> list[FollowerSummary]:
        """Leader vs each follower so far (:mod:`.summary`)."""
        return copier_summary(self.ledger, self._account, [f.name for f in self.followers])

    # ------------------------------------------------------------------ the reader's calls

    def on_account(self, changes: Sequence[AccountChange], seen_ns: int = 0) -> None:
        """A ``props`` event applied to the account store: copy what the leader did, then let
        the followers' managers settle their tickets and look for drift. ``seen_ns``: when
        its frame arrived (``perf_counter_ns``; 0: now)."""
        self._copy(changes, seen_ns or self._clock_ns())
        self._settle_followers(changes)
        self._check_drift(changes)

    def _settle_followers(self, changes: Sequence[AccountChange]) -> None:
        """Each follower's manager settles its tickets from the event — only the followers
        whose account it touches (an event of one account costs one manager, not twenty);
        an event that names no account (a command report, a removal) goes to all."""
        by_account = self._by_account
        touched: list[Follower] = []
        for change in changes:
            kind = type(change)
            if kind is OrderState or kind is NewFill:
                account_id = change.order.account_id  # type: ignore[union-attr]
            elif kind is Position or kind is CashBalance:
                account_id = change.account_id  # type: ignore[union-attr]
            elif kind is StrategyState:
                account_id = change.strategy.account_id  # type: ignore[union-attr]
            else:
                touched = list(self.followers)
                break
            follower = by_account.get(account_id)
            if follower is not None and follower not in touched:
                touched.append(follower)
        for follower in touched:
            follower.orders.on_account(changes)

    def on_sync(self, report: SyncReport, connection: int) -> None:
        """A ``user/syncrequest`` snapshot was applied. The first one the copier sees marks
        everything already on the leader as not to be copied (it predates the copier, or an
        earlier run copied it) and relinks the followers' copies an earlier run placed; a
        later one (a reconnect) copies what the leader did while the socket was down, once."""
        for follower in self.followers:
            follower.orders.on_sync(report, connection)
        if not self._synced:
            self._synced = True
            self._adopt_existing()
            return
        self._copy(self._leader_states(), self._clock_ns())
        self._check_drift(report.new_fills)

    def stop(self) -> None:
        """The run is shutting down: copy nothing more. The shutdown cancels and secures each
        follower itself; mirroring the leader's cancels as well only raced it (the follower's
        cancel of an order the shutdown had just cancelled was rejected ``TooLate`` and
        alerted). The followers' tickets are still settled and drift still watched."""
        self.stopped = True

    # ------------------------------------------------------------------ fan-out (hot path)

    def _copy(self, changes: Iterable[AccountChange], seen_ns: int) -> None:
        if self.stopped:
            return
        intents = self.mapper.on_changes(changes, seen_ns)
        if intents:
            self._apply(intents)
        if self._pending or self._pending_interrupts:
            self._retry_pending()

    def _apply(self, intents: Iterable[Intent]) -> None:
        failures: list[tuple[Follower, str]] = []
        for intent in intents:
            kind = intent.kind
            if kind is IntentKind.PLACE:
                self._place(intent, failures)
            elif kind is IntentKind.FILL:
                self._copy_fill(intent, failures)
            elif kind is IntentKind.MODIFY or kind is IntentKind.CANCEL:
                self._change(intent, failures)
            elif kind is IntentKind.BRACKET:
                self._bracket(intent, failures)
            elif kind is IntentKind.INTERRUPT:
                self._interrupt(intent)
            else:
                _log.warning("copier: leader %s %d not copied: %s", intent.action,
                             intent.leader_id, intent.reason)
                self._alerts.emit(Alert(Severity.ROUTINE, "copier.not_copied",
                                        "A leader order was not copied", intent.reason))
        if failures:
            self._report_failures(failures)

    def _place(self, intent: Intent, failures: list[tuple[Follower, str]]) -> None:
        record = intent.order
        assert record is not None
        symbol = self._symbol_of(intent.contract_id)
        trigger = copy_text(intent.leader_id)
        tickets = record.tickets
        for index, follower in self._indexed:
            try:
                ticket = follower.orders.place(
                    symbol, intent.action, follower.sizing.qty(intent.qty),
                    order_type=intent.order_type, price=intent.price,
                    stop_price=intent.stop_price, trigger=trigger)
            except Exception as exc:  # one follower never stops the others
                failures.append((follower, f"{type(exc).__name__}: {exc}"))
                continue
            tickets[index] = ticket
            if ticket.state is _REFUSED:
                failures.append((follower, ticket.reason or "refused"))

    def _copy_fill(self, intent: Intent, failures: list[tuple[Follower, str]]) -> None:
        record = intent.order
        assert record is not None
        symbol = self._symbol_of(intent.contract_id)
        trigger = copy_text(intent.leader_id)
        sent = record.sent
        for index, follower in self._indexed:
            qty = follower.sizing.qty(intent.qty) - sent[index]
            if qty <= 0:
                continue
            try:
                ticket = follower.orders.place(symbol, intent.action, qty, trigger=trigger)
            except Exception as exc:
                failures.append((follower, f"{type(exc).__name__}: {exc}"))
                continue
            record.tickets[index] = ticket
            if ticket.state is _REFUSED:
                failures.append((follower, ticket.reason or "refused"))
            else:
                sent[index] += qty

    def _bracket(self, intent: Intent, failures: list[tuple[Follower, str]]) -> None:
        record = intent.strategy
        assert record is not None
        symbol = self._symbol_of(intent.contract_id)
        trigger = copy_text(intent.leader_id)
        for index, follower in self._indexed:
            sizing = follower.sizing
            brackets = tuple(StrategyBracket(sizing.qty(b.qty), b.target_offset,
                                             b.stop_offset, b.trailing_stop)
                             for b in intent.brackets)
            try:
                ticket = follower.orders.bracket_strategy(
                    symbol, intent.action, sum(b.qty for b in brackets),
                    entry_type=intent.order_type, price=intent.price,
                    stop_price=intent.stop_price, brackets=brackets, trigger=trigger)
            except Exception as exc:
                failures.append((follower, f"{type(exc).__name__}: {exc}"))
                continue
            record.tickets[index] = ticket
            if ticket.state is _REFUSED:
                failures.append((follower, ticket.reason or "refused"))

    def _change(self, intent: Intent, failures: list[tuple[Follower, str]]) -> None:
        record = intent.order
        assert record is not None
        for index, follower in self._indexed:
            problem = self._change_one(intent.kind, record, index, follower)
            if problem is not None:
                failures.append((follower, problem))

    def _change_one(self, kind: IntentKind, record: LeaderOrder, index: int,
                    follower: Follower) -> str | None:
        """Modify or cancel follower ``index``'s copy of a leader order now, or leave it
        pending until its id is known; a refusal's reason, else ``None``."""
        order_id = record.follower_order(index)
        if order_id is None:
            ticket = record.tickets[index]
            if ticket is not None and ticket.state not in _SETTLED_WITHOUT_ORDER:
                self._pending[(record.order_id, index)] = kind
            return None
        state = self._account.order(order_id)
        if state is not None and state.is_done:
            return None  # filled or gone on the follower: nothing left to change
        trigger = copy_text(record.order_id)
        if kind is IntentKind.CANCEL:
            ticket = follower.orders.cancel(order_id, trigger=trigger)
        else:
            ticket = follower.orders.modify(order_id, qty=follower.sizing.qty(record.qty),
                                            price=record.price, stop_price=record.stop_price,
                                            trigger=trigger)
        return ticket.reason or "refused" if ticket.state is _REFUSED else None

    def _interrupt(self, intent: Intent) -> None:
        record = intent.strategy
        assert record is not None
        for index, follower in self._indexed:
            ticket = record.tickets[index]
            if ticket is None:
                continue
            if ticket.strategy_id is None:
                if ticket.state not in _SETTLED_WITHOUT_ORDER:
                    self._pending_interrupts.add((intent.leader_id, index))
                continue
            follower.orders.interrupt_strategy(ticket, trigger=copy_text(intent.leader_id))

    # ------------------------------------------------------------------ waiting changes

    def _retry_pending(self) -> None:
        failures: list[tuple[Follower, str]] = []
        orders = self.ledger.orders
        for key, kind in list(self._pending.items()):
            order_id, index = key
            record = orders[order_id]
            ticket = record.tickets[index]
            if ticket is None or ticket.state in _SETTLED_WITHOUT_ORDER:
                del self._pending[key]
            elif ticket.order_id is not None:
                del self._pending[key]
                problem = self._change_one(kind, record, index, self.followers[index])
                if problem is not None:
                    failures.append((self.followers[index], problem))
        strategies = self.ledger.strategies
        for key in list(self._pending_interrupts):
            strategy_id, index = key
            ticket = strategies[strategy_id].tickets[index]
            if ticket is None or ticket.state in _SETTLED_WITHOUT_ORDER:
                self._pending_interrupts.discard(key)
            elif ticket.strategy_id is not None:
                self._pending_interrupts.discard(key)
                self.followers[index].orders.interrupt_strategy(
                    ticket, trigger=copy_text(strategy_id))
        if failures:
            self._report_failures(failures)

    # ------------------------------------------------------------------ failures and drift

    def _report_failures(self, failures: list[tuple[Follower, str]]) -> None:
        for follower, reason in failures:
            _log.warning("copier: follower %s did not copy: %s", follower.name, reason)
            self._alerts.emit(Alert(Severity.ROUTINE, "copier.follower_refused",
                                    f"Follower {follower.name} did not copy the leader",
                                    f"{reason}. The other followers are not affected."))

    def _check_drift(self, changes: Iterable[AccountChange]) -> None:
        detector = self._drift
        for change in changes:
            if type(change) is NewFill:
                drift = detector.check(change)
                if drift is not None:
                    self._drifted(drift)

    def _drifted(self, drift: Drift) -> None:
        self.drifts.append(drift)
        follower = next(f for f in self.followers if f.account_id == drift.account_id)
        what = (f"{drift.action} {drift.qty} @ {drift.price:g} in "
                f"{self._symbol_of(drift.contract_id)} (fill {drift.fill_id}, order "
                f"{drift.order_id})")
        if self.on_drift == "adopt":
            _log.info("copier: follower %s traded outside the copier, adopted: %s",
                      follower.name, what)
            return
        _log.warning("copier: follower %s traded outside the copier: %s", follower.name, what)
        detail = "Not placed by the copier: the follower no longer matches the leader."
        if self.on_drift == "flatten":
            ticket = follower.orders.place(self._symbol_of(drift.contract_id),
                                           opposite(drift.action), drift.qty,
                                           trigger=DRIFT_TEXT)
            detail += (f" Closed with {ticket.action} {ticket.qty} Market ({ticket.state}"
                       f"{': ' + ticket.reason if ticket.reason else ''}).")
        self._alerts.emit(Alert(Severity.URGENT, "copier.drift",
                                f"Follower {follower.name} traded outside the copier: {what}",
                                detail))

    # ------------------------------------------------------------------ snapshots

    def _adopt_existing(self) -> None:
        """First snapshot: the leader's orders and strategies are not copied; the
        followers' orders an earlier run placed (``text`` "copy <leader id>") are linked
        back to their leader order, so its later changes are still mirrored."""
        ledger, account = self.ledger, self._account
        leader = self.leader_id
        copies: dict[int, dict[int, int]] = {}
        indexes = {f.account_id: i for i, f in self._indexed}
        for state in account.open_orders():
            index = indexes.get(state.order.account_id)
            if index is None or state.version is None:
                continue
            leader_order = leader_of_text(state.version.text)
            if leader_order is not None:
                copies.setdefault(leader_order, {})[index] = state.id
        for order_id, state in account.orders.items():
            if state.order.account_id != leader:
                continue
            linked = copies.get(order_id)
            version = state.version
            if linked and version is not None and not state.is_done:
                record = ledger.add_order(order_id, contract_id=state.order.contract_id or 0,
                                          qty=version.order_qty, price=version.price,
                                          stop_price=version.stop_price,
                                          version_id=version.id, seen_ns=0)
                for index, follower_order in linked.items():
                    record.order_ids[index] = follower_order
            else:
                ledger.skip(order_id, "on the leader before the copier started")
        for strategy in account.order_strategies(leader):
            ledger.add_strategy(strategy.id, contract_id=strategy.strategy.contract_id,
                                action=strategy.strategy.action, entry_id=strategy.entry_id)
        for fill in account.fills():
            order = account.order(fill.order_id)
            if order is not None and order.order.account_id == leader:
                ledger.take_fill(fill.id)
        _log.info("copier: leader %d, %d followers (%s), copying %s; %d leader orders "
                  "before the start are not copied, %d relinked", leader,
                  len(self.followers), ", ".join(f"{f.name} {f.sizing.describe()}"
                                                 for f in self.followers),
                  self.mode, len(ledger.skipped), len(ledger.orders))

    def _leader_states(self) -> list[AccountChange]:
        """After a reconnect: what the leader has now, as changes for the mapper — its
        strategies, orders and fills (the ledger ignores what it has decided already)."""
        leader = self.leader_id
        account = self._account
        changes: list[AccountChange] = list(account.order_strategies(leader))
        changes.extend(s for s in account.orders.values() if s.order.account_id == leader)
        for state in account.orders.values():
            if state.order.account_id == leader:
                changes.extend(NewFill(fill, state.order) for fill in state.fills)
        return changes
