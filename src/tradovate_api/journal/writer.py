"""The journal writer: the trading loop enqueues, one thread writes SQLite.

Every order ticket (decision, request, response), account event, sync snapshot and report,
alert and connection event is handed to :class:`Journal` from the event loop. The call costs a
tuple and a ``put`` on a bounded queue — nothing is encoded or written there — so the hot path
never waits on disk. A single thread drains the queue in batches, one transaction per batch,
into a WAL-mode database (``synchronous=NORMAL`` by default: a committed batch survives the
process being killed; ``FULL`` also survives a power cut, at an fsync per batch).

One write happens on the loop, on purpose: :meth:`Journal.before_send`, which the order
manager calls right before a request goes on the wire, appends the request to the write-ahead
intent file (:mod:`.intents`), so a process killed a microsecond later still leaves it behind.

Nothing is lost silently. A record the queue cannot take (full) or the database cannot store
(disk full, I/O error, a bad value) is counted, and a row in ``gaps`` says how many records
were lost and why — written in the next transaction that commits, so a full disk that loses
500 records reports 500 once it has room again. From the first lost record until that row is
committed the journal is *halted*: :meth:`Journal.before_send` refuses new orders (cancels and
liquidations still go out), with one urgent alert (``journal.write_failed`` /
``journal.overflow``) when it starts and a routine ``journal.write_resumed`` when it ends.

Opening checks the file (``PRAGMA quick_check``): a damaged journal is moved aside, never
reused and never deleted, and a fresh one is started (urgent ``journal.damaged``).

The file (and SQLite's ``-wal``/``-shm`` companions, which inherit its mode) is created with
mode 0600: it holds account numbers and the trading history.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import msgspec

from ..alerts import Alert, AlertSink, Severity
from ..background import lower_thread_priority
from ..protocol.messages import EntityEvent, UnknownEntity
from ..protocol.models import (
    CashBalance,
    Command,
    Fill,
    Order,
    Position,
    SyncMessage,
)
from ..stores.account import SyncReport, client_key
from .intents import Intent, IntentLog, intents_path
from .opening import fold_intents, open_checked
from .reader import JournalReader
from .records import JournalState
from .schema import JournalError

_log = logging.getLogger("tradovate_api.journal")
_BATCH = 512
_STOP = object()
_encode = msgspec.json.Encoder().encode
_SNAPSHOT_GROUPS = (
    ("account", "accounts"), ("order", "orders"), ("orderVersion", "order_versions"),
    ("command", "commands"), ("commandReport", "command_reports"),
    ("executionReport", "execution_reports"), ("fill", "fills"), ("fillPair", "fill_pairs"),
    ("position", "positions"), ("cashBalance", "cash_balances"),
    ("marginSnapshot", "margin_snapshots"), ("accountRiskStatus", "account_risk_statuses"),
    ("userAccountAutoLiq", "user_account_auto_liqs"),
)
"""Account data of a snapshot worth keeping (reference data such as products is not)."""
SYNCHRONOUS = ("OFF", "NORMAL", "FULL")
_WRITE_ERRORS = (sqlite3.Error, TypeError, ValueError, OverflowError)
_INTENT_ERRORS = (OSError, TypeError, ValueError, OverflowError, msgspec.MsgspecError)
_STAMPS = ("frame_ns", "decoded_ns", "decided_ns", "checked_ns", "sent_ns", "answered_ns",
           "filled_ns")
"""A request's latency stamps (see ``OrderTicket``): 0 on the ticket is NULL in the row."""
_STAMP_COLUMNS = ", ".join(_STAMPS)
_STAMPS_KEPT = ", ".join(f"{c} = COALESCE(excluded.{c}, {c})" for c in _STAMPS)
_STAMPS_UPDATED = ", ".join(f"{c} = COALESCE(?, {c})" for c in _STAMPS)
_REDUCING = frozenset({"CANCEL", "LIQUIDATE", "INTERRUPT"})
"""Ticket kinds that only cancel or close (an interrupt cancels an order strategy's orders):
sent even while the journal is halted."""


class TicketLike(Protocol):
    """What the journal reads from an order ticket (``orders.OrderTicket``)."""

    @property
    def cl_ord_id(self) -> str: ...
    @property
    def kind(self) -> Any: ...
    @property
    def symbol(self) -> str | None: ...
    @property
    def contract_id(self) -> int | None: ...
    @property
    def action(self) -> Any: ...
    @property
    def qty(self) -> int | None: ...
    @property
    def order_type(self) -> str | None: ...
    @property
    def price(self) -> float | None: ...
    @property
    def stop_price(self) -> float | None: ...
    @property
    def trigger(self) -> str: ...
    @property
    def state(self) -> Any: ...
    @property
    def order_id(self) -> int | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def frame_ns(self) -> int: ...
    @property
    def decoded_ns(self) -> int: ...
    @property
    def decided_ns(self) -> int: ...
    @property
    def checked_ns(self) -> int: ...
    @property
    def sent_ns(self) -> int: ...
    @property
    def answered_ns(self) -> int: ...
    @property
    def filled_ns(self) -> int: ...
    @property
    def account_id(self) -> int: ...
    @property
    def source(self) -> str: ...


def label_of(value: Any) -> str | None:
    """An enum member's name (``PENDING``), a string as is, ``None`` as ``None``."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return value.name
    return str(value)


class Journal:
    """An append-only trading journal in one SQLite file. Open it once per process run."""

    def __init__(self, path: str | Path, *, queue_size: int = 100_000,
                 synchronous: str = "NORMAL", label: str = "",
                 clock_ns: Callable[[], int] = time.time_ns,
                 alerts: AlertSink | None = None, linger: float = 0.005,
                 probe_seconds: float = 1.0) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be positive")
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}")
        self.path = Path(path)
        self._conn, self.damaged = open_checked(self.path, synchronous)
        """``damaged``: the damaged journal found at ``path`` and moved aside, if any."""
        if self.damaged is not None:
            _log.error("journal %s was damaged (%s); moved to %s, a new journal starts",
                       self.path, self.damaged.problem, self.damaged.moved_to)
        self.intents_path = intents_path(self.path)
        try:
            self.folded = fold_intents(self._conn, self.intents_path)
            """What the previous run's write-ahead file added (requests it never journaled)."""
            self._intents = IntentLog(self.intents_path, sync=synchronous == "FULL")
            self._intents.truncate()  # everything in it is in SQLite now
        except (JournalError, OSError) as exc:
            self._conn.close()
            if isinstance(exc, JournalError):
                raise
            raise JournalError(f"{self.intents_path}: cannot open the write-ahead file: "
                               f"{exc}") from exc
        with JournalReader(self.path) as reader:
            self.previous: JournalState = reader.state()
            """What earlier runs left (read before this run wrote anything)."""
        self._clock = clock_ns
        self.run_id = int(self._conn.execute(
            "INSERT INTO runs (started_ns, pid, label) VALUES (?, ?, ?)",
            (clock_ns(), os.getpid(), label)).lastrowid or 0)
        self.alerts = alerts
        """Where the journal's own problems go (urgent ``journal.*`` alerts)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        """The loop's thread: its records are staged and handed to the writer at the end of
        the loop's current callback (:meth:`_put`)."""
        with contextlib.suppress(RuntimeError):
            self.bind_loop(asyncio.get_running_loop())
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._staged: list[tuple[Any, ...]] = []
        self._stage_lock = threading.Lock()
        """Staging against a hand-over from another thread (:meth:`close`)."""
        self._limit = queue_size
        self.linger = linger
        """Seconds the writer waits for more records before committing a batch."""
        self.probe_seconds = probe_seconds
        """While records are lost, how often the idle writer tries to record the loss."""
        self.written = 0
        """Records committed by this run."""
        self.batches = 0
        """Transactions that committed them (``written / batches``: records per commit)."""
        self.dropped = 0
        """Records lost because the queue was full."""
        self.lost = 0
        """Records lost because the database could not store them (one per record)."""
        self._reported_drops = 0
        self._unreported: dict[str, int] = {}
        """Write losses not yet in ``gaps``: reason → records (writer thread only)."""
        self._write_failure: str | None = None
        """Set from the first lost record until its gap row is committed (the halt)."""
        self._episode_lost = 0
        self._intent_failure: str | None = None
        self._overflow_alerted = False
        self._open_alerts_sent = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="journal writer", daemon=True)
        self._thread.start()
        if alerts is not None:
            self.emit_open_alerts()

    # ------------------------------------------------------------------ hot path

    def _put(self, item: tuple[Any, ...]) -> None:
        """Queue ``item`` for the writer thread. On the loop's thread it is staged and handed
        over once the loop's current callback is done: waking the writer in the middle of
        one (an account event journaled, then the orders it causes — a copier's fan-out, a
        protective stop) let that thread take the GIL when the order path released it for
        the write-ahead ``write``, and the order waited for the thread to give it back
        (measured: the first follower's write-ahead 52 µs median, ~300 µs in a third of the
        leader's events)."""
        if self._closed:
            return
        if self._queue.qsize() + len(self._staged) >= self._limit:
            self.dropped += 1
            if not self._overflow_alerted:
                self._overflow_alerted = True
                self._alert("journal.overflow",
                            "Journal queue full: records are being lost; new orders halted",
                            f"{self.path}: the writer cannot keep up; a gap is recorded. New "
                            f"orders are refused until it has caught up (cancels and "
                            f"liquidations still go out).")
            return
        loop = self._loop
        if loop is not None and threading.get_ident() == self._loop_thread:
            with self._stage_lock:
                staged = self._staged
                staged.append(item)
                first = len(staged) == 1
            if first:
                try:
                    loop.call_soon(self._hand_over)
                except RuntimeError:  # the loop is closed: nothing would hand it over
                    self._hand_over()
            return
        self._queue.put(item)

    def _hand_over(self) -> None:
        """The staged records to the writer thread, in order."""
        with self._stage_lock:
            self._hand_over_locked()

    def _hand_over_locked(self) -> None:
        staged = self._staged
        if staged:
            self._staged = []
            put = self._queue.put
            for item in staged:
                put(item)

    def before_send(self, ticket: TicketLike) -> str | None:
        """The order manager's write-ahead hook, called right before a request is written on
        the trading socket: the request goes to the intent file first. Returns why a request
        must not be sent (``None``: send it) — a new order, modification included, is refused
        while the journal is halted (:attr:`halted`) or when its intent cannot be written;
        cancels, order strategy interrupts, liquidations and the framework's protective stops
        (a ticket whose ``protective`` is true) only reduce risk and always go."""
        kind = label_of(ticket.kind) or ""
        reduces_risk = kind in _REDUCING or getattr(ticket, "protective", False) is True
        if not reduces_risk:
            halted = self._write_halt()
            if halted is not None:
                return (f"journal cannot write ({halted}): new orders are halted until it "
                        f"can")
        if self._closed:
            return None
        try:
            self._intents.write(Intent(
                self.run_id, self._clock(), ticket.cl_ord_id, kind, ticket.symbol,
                ticket.contract_id, label_of(ticket.action), ticket.qty, ticket.order_type,
                ticket.price, ticket.stop_price, ticket.trigger or "", ticket.order_id,
                ticket.account_id or None, ticket.source))
        except _INTENT_ERRORS as exc:  # (a value that cannot be encoded fails the same way)
            self._intent_failed(exc)
            return None if reduces_risk else (
                f"journal cannot write the request ahead ({exc}): new orders are halted "
                f"until it can")
        if self._intent_failure is not None:
            self._intent_resumed()
        return None

    def ticket(self, ticket: TicketLike) -> None:
        """An order ticket was created or changed state (an ``OrderManager`` listener); its
        latency stamps so far go with it."""
        state = label_of(ticket.state) or ""
        self._put((self._write_ticket, self._clock(), (
            ticket.cl_ord_id, label_of(ticket.kind) or "", ticket.symbol, ticket.contract_id,
            label_of(ticket.action), ticket.qty, ticket.order_type, ticket.price,
            ticket.stop_price, ticket.trigger or "", state, ticket.order_id, ticket.reason,
            ticket.account_id, ticket.source, ticket.frame_ns, ticket.decoded_ns,
            ticket.decided_ns, ticket.checked_ns, ticket.sent_ns, ticket.answered_ns,
            ticket.filled_ns)))

    def ticket_stamps(self, ticket: TicketLike) -> None:
        """A ticket's latency stamps changed without a change of state (its order's first
        fill): stamps already journaled are kept, new ones added."""
        self._put((self._write_stamps, ticket.cl_ord_id, (
            ticket.frame_ns, ticket.decoded_ns, ticket.decided_ns, ticket.checked_ns,
            ticket.sent_ns, ticket.answered_ns, ticket.filled_ns)))

    def account_event(self, event: EntityEvent) -> None:
        """A ``props`` event as received on the trading socket."""
        self._put((self._write_event, self._clock(), event))

    def sync_snapshot(self, message: SyncMessage, connection: int) -> None:
        """The ``user/syncrequest`` snapshot of connection number ``connection``."""
        self._put((self._write_snapshot, self._clock(), message, connection))

    def sync_report(self, report: SyncReport, connection: int) -> None:
        """What a snapshot changed compared with memory (fills while disconnected...)."""
        self._put((self._write_reconciliation, self._clock(), "sync", report.changed,
                   sync_report_summary(report, connection)))

    def reconciliation(self, kind: str, changed: bool, report: Any) -> None:
        """A reconciliation report (any msgspec-encodable value)."""
        self._put((self._write_reconciliation, self._clock(), kind, changed, report))

    def settle_request(self, cl_ord_id: str, state: str, order_id: int | None,
                       reason: str) -> None:
        """Record how reconciliation settled an earlier run's unacknowledged request."""
        self._put((self._write_settle, self._clock(), cl_ord_id, state, order_id, reason))

    def alert(self, alert: Alert) -> None:
        self._put((self._write_alert, self._clock(), alert))

    def connection(self, session: str, event: str, detail: str = "") -> None:
        """A socket connected, ended or reconnected (``event``: a short word)."""
        self._put((self._write_connection, self._clock(), session, event, detail))

    def trailing(self, account_id: int, high_water: float, mode: str, drawdown: float,
                 trade_date: str | None) -> None:
        """An account's trailing-drawdown high-water (and, ``eod``, its last trade date),
        kept for the next run (:attr:`JournalState.trailing`)."""
        self._put((self._write_trailing, self._clock(), account_id, high_water, mode, drawdown,
                   trade_date))

    # ------------------------------------------------------------------ control

    def now_ns(self) -> int:
        """The journal's clock (``created_ns`` of its requests, ``recorded_ns``...)."""
        return self._clock()

    @property
    def pending(self) -> int:
        return self._queue.qsize() + len(self._staged)

    @property
    def halted(self) -> str | None:
        """Why new orders are refused without even trying (``None``: they are not): records
        are being lost (until the loss is on record) or the journal is closed."""
        return self._write_halt()

    @property
    def intent_failure(self) -> str | None:
        """Why the last write-ahead failed (``None``: it did not). The next new order tries
        again; it goes if its intent can be written."""
        return self._intent_failure

    def _write_halt(self) -> str | None:
        if self._write_failure is not None:
            return self._write_failure
        if self.dropped > self._reported_drops:
            return "queue full, records dropped"
        if self._closed:
            return "the journal is closed"
        return None

    def flush(self, timeout: float = 5.0) -> bool:
        """Block until everything enqueued so far is committed (not for the event loop's hot
        path: shutdown and tests). False on time-out."""
        if self._closed or not self._thread.is_alive():
            return False
        done = threading.Event()
        self._hand_over()
        self._queue.put((done.set,))
        return done.wait(timeout)

    def close(self, timeout: float = 5.0, *, clean: bool = True) -> bool:
        """Write what is queued, mark the run ended (``clean``: a normal shutdown), stop the
        thread. Returns False if the writer did not finish in time. The intent file is
        emptied when every record of the run reached SQLite."""
        if self._closed:
            return True
        with self._stage_lock:  # after what is staged; nothing staged after it
            self._closed = True
            self._hand_over_locked()
            self._queue.put((self._write_end, self._clock(), clean))
            self._queue.put(_STOP)
        intents = self._intents.written
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        self._conn.close()
        with contextlib.suppress(OSError):
            if (not self.lost and not self.dropped and not self._unreported
                    and intents == self._intents.written):
                self._intents.truncate()
        self._intents.close()
        return True

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Alerts the writer thread raises are handed to ``loop``, the thread the alert sink
        belongs to (default: the loop running when the journal was opened). Called on the
        loop's thread: records put on it are staged until the loop's callback is done."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    def emit_open_alerts(self) -> None:
        """Tell the alert sink what opening found (a damaged journal moved aside, unreadable
        intents); once. Called when the sink is set."""
        if self._open_alerts_sent or self.alerts is None:
            return
        self._open_alerts_sent = True
        if self.damaged is not None:
            self._alert("journal.damaged", "The journal was damaged; a new one was started",
                        f"{self.path} failed its integrity check ({self.damaged.problem}). "
                        f"It was moved to {self.damaged.moved_to} (not deleted) and a fresh "
                        f"journal started: the restart report cannot compare with the "
                        f"earlier runs' state.")
        if self.folded.unreadable:
            self._alert("journal.intents_unreadable",
                        "Unreadable requests in the journal's write-ahead file",
                        f"{self.intents_path}: {self.folded.unreadable} lines could not be "
                        f"read (cut short): a request may have been sent that the journal "
                        f"cannot name; check the account's orders.")

    def _alert(self, key: str, title: str, body: str,
               severity: Severity = Severity.URGENT) -> None:
        sink = self.alerts
        if sink is None:
            _log.error("%s: %s", title, body)
            return
        alert = Alert(severity, key, title, body)
        loop = self._loop
        if loop is not None and threading.current_thread() is self._thread:
            with contextlib.suppress(RuntimeError):  # loop closed: nobody left to tell
                loop.call_soon_threadsafe(sink.emit, alert)
            return
        sink.emit(alert)

    def _intent_failed(self, exc: Exception) -> None:
        if self._intent_failure is None:
            self._intent_failure = f"{type(exc).__name__}: {exc}"
            _log.error("journal: cannot write ahead to %s: %s", self.intents_path, exc)
            self._alert("journal.write_failed",
                        "Journal cannot write: new orders halted",
                        f"{self.intents_path}: {exc}. New orders are refused until a request "
                        f"can be written ahead again; cancels and liquidations still go out.")

    def _intent_resumed(self) -> None:
        _log.warning("journal: the write-ahead file takes writes again")
        self._intent_failure = None
        if self._write_halt() is None:
            self._alert("journal.write_resumed", "Journal writes again: new orders allowed",
                        f"{self.intents_path}: requests are written ahead again.",
                        Severity.ROUTINE)

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        lower_thread_priority()
        get = self._queue.get
        linger = self.linger
        stop = False
        get_nowait = self._queue.get_nowait
        while not stop:
            if self._write_failure is not None or self.dropped > self._reported_drops:
                # Records were lost: until that is on record, keep trying even when idle.
                try:
                    first = get(timeout=self.probe_seconds)
                except queue.Empty:
                    self._write_batch([])
                    continue
            else:
                first = get()
            batch = [first]
            # The records of one order (sent, answered, its account events) arrive a few
            # hundred microseconds apart: sleeping through the linger, instead of waiting on
            # the queue, commits them in one transaction without waking for each one — and a
            # put with no thread waiting on the queue costs the event loop no wake-up call.
            if linger > 0 and batch[0] is not _STOP and self._queue.empty():
                time.sleep(linger)
            while len(batch) < _BATCH and batch[-1] is not _STOP:
                try:
                    batch.append(get_nowait())
                except queue.Empty:
                    break
            callbacks: list[Callable[[], Any]] = []
            records: list[tuple[Any, ...]] = []
            for item in batch:
                if item is _STOP:
                    stop = True
                elif len(item) == 1:
                    callbacks.append(item[0])
                else:
                    records.append(item)
            self._write_batch(records)
            for callback in callbacks:
                callback()

    def _gap_rows(self) -> list[tuple[int, str]]:
        """Losses not on record yet: (records, reason)."""
        rows = [(count, reason) for reason, count in self._unreported.items()]
        drops = self.dropped - self._reported_drops
        if drops:
            rows.append((drops, "queue full"))
        return rows

    def _write_batch(self, records: list[tuple[Any, ...]]) -> None:
        """One transaction: the losses not yet on record, then the records. If it fails,
        each record is retried alone so that only the records that cannot be stored are
        lost (and counted)."""
        gaps = self._gap_rows()
        if not records and not gaps:
            return
        conn = self._conn
        try:
            conn.execute("BEGIN")
            for count, reason in gaps:
                conn.execute("INSERT INTO gaps (run_id, recorded_ns, lost, reason) "
                             "VALUES (?, ?, ?, ?)", (self.run_id, self._clock(), count, reason))
            for record in records:
                record[0](conn, *record[1:])
            conn.execute("COMMIT")
        except _WRITE_ERRORS:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if records:
                self._write_one_by_one(records)
            return
        self.written += len(records)
        if records:
            self.batches += 1
        self._gaps_recorded(gaps)

    def _write_one_by_one(self, records: list[tuple[Any, ...]]) -> None:
        """After a failed batch: each record in its own transaction, so one bad record (or a
        passing disk error) loses only itself; then the losses, if they can be recorded."""
        conn = self._conn
        for record in records:
            try:
                conn.execute("BEGIN")
                record[0](conn, *record[1:])
                conn.execute("COMMIT")
            except _WRITE_ERRORS as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                self._lose(exc)
            else:
                self.written += 1
        self._write_batch([])

    def _lose(self, exc: BaseException) -> None:
        """One record could not be stored: count it; the first loss halts new orders."""
        reason = f"write failed: {type(exc).__name__}: {exc}"
        self.lost += 1
        self._episode_lost += 1
        self._unreported[reason] = self._unreported.get(reason, 0) + 1
        if self._write_failure is None:
            self._write_failure = reason
            _log.error("journal: records are being lost: %s", reason)
            self._alert("journal.write_failed",
                        "Journal write failed: records are being lost; new orders halted",
                        f"{self.path}: {type(exc).__name__}: {exc}. Every lost record is "
                        f"counted in the journal's gaps once it can write again; until then "
                        f"new orders are refused (cancels and liquidations still go out).")

    def _gaps_recorded(self, gaps: list[tuple[int, str]]) -> None:
        """The gap rows committed: the losses are on record, the halt ends."""
        for count, reason in gaps:
            if reason == "queue full":
                self._reported_drops += count
                self._overflow_alerted = False
            else:
                left = self._unreported.pop(reason, 0) - count
                if left > 0:  # cannot happen (only this thread adds), kept exact anyway
                    self._unreported[reason] = left
        if self._write_failure is not None and not self._unreported:
            lost, self._episode_lost = self._episode_lost, 0
            self._write_failure = None
            _log.warning("journal: writing again after losing %d records", lost)
            self._alert("journal.write_resumed", "Journal writes again: new orders allowed",
                        f"{self.path}: {lost} records were lost and are recorded as a gap.",
                        Severity.ROUTINE)

    # ------------------------------------------------------------------ writers (thread)

    def _write_ticket(self, conn: sqlite3.Connection, ns: int,
                      row: tuple[Any, ...]) -> None:
        (cl_ord_id, kind, symbol, contract_id, action, qty, order_type, price, stop_price,
         trigger, state, order_id, reason, account_id, source) = row[:15]
        stamps = row[15:]
        sent = int(state != "REFUSED")
        conn.execute(
            "INSERT INTO requests (cl_ord_id, run_id, created_ns, kind, symbol, contract_id, "
            "action, qty, order_type, price, stop_price, trigger, sent, state, order_id, reason, "
            f"updated_ns, account_id, source, {_STAMP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (cl_ord_id) DO UPDATE SET state = excluded.state, "
            "order_id = COALESCE(excluded.order_id, order_id), "
            "reason = COALESCE(excluded.reason, reason), sent = MAX(sent, excluded.sent), "
            f"updated_ns = excluded.updated_ns, {_STAMPS_KEPT}",
            (cl_ord_id, self.run_id, ns, kind, symbol, contract_id, action, qty, order_type,
             price, stop_price, trigger, sent, state, order_id, reason, ns,
             account_id or None, source, *(stamp or None for stamp in stamps)))
        conn.execute("INSERT INTO ticket_events (run_id, recorded_ns, cl_ord_id, state, "
                     "order_id, reason) VALUES (?, ?, ?, ?, ?, ?)",
                     (self.run_id, ns, cl_ord_id, state, order_id, reason))

    def _write_stamps(self, conn: sqlite3.Connection, cl_ord_id: str,
                      stamps: tuple[int, ...]) -> None:
        conn.execute(f"UPDATE requests SET {_STAMPS_UPDATED} WHERE cl_ord_id = ?",
                     (*(stamp or None for stamp in stamps), cl_ord_id))

    def _write_settle(self, conn: sqlite3.Connection, ns: int, cl_ord_id: str, state: str,
                      order_id: int | None, reason: str) -> None:
        conn.execute("UPDATE requests SET state = ?, order_id = COALESCE(?, order_id), "
                     "reason = ?, updated_ns = ? WHERE cl_ord_id = ?",
                     (state, order_id, reason, ns, cl_ord_id))
        conn.execute("INSERT INTO ticket_events (run_id, recorded_ns, cl_ord_id, state, "
                     "order_id, reason) VALUES (?, ?, ?, ?, ?, ?)",
                     (self.run_id, ns, cl_ord_id, state, order_id, reason))

    def _write_event(self, conn: sqlite3.Connection, ns: int, event: EntityEvent) -> None:
        self._write_entities(conn, ns, "event", event.entity_type, event.event_type,
                             event.entities)

    def _write_snapshot(self, conn: sqlite3.Connection, ns: int, message: SyncMessage,
                        connection: int) -> None:
        conn.execute("INSERT INTO connections (run_id, recorded_ns, session, event, detail) "
                     "VALUES (?, ?, 'trading', 'synced', ?)",
                     (self.run_id, ns, f"snapshot of connection #{connection}"))
        for entity_type, field in _SNAPSHOT_GROUPS:
            self._write_entities(conn, ns, "sync", entity_type, "Snapshot",
                                 getattr(message, field))

    def _write_entities(self, conn: sqlite3.Connection, ns: int, source: str, entity_type: str,
                        event_type: str, entities: Iterable[Any]) -> None:
        run_id = self.run_id
        deleted = event_type == "Deleted"
        for entity in entities:
            if isinstance(entity, UnknownEntity):
                body, ident = entity.raw.decode(errors="replace"), None
            else:
                body, ident = _encode(entity).decode(), getattr(entity, "id", None)
            conn.execute("INSERT INTO account_events (run_id, recorded_ns, source, entity_type, "
                         "event_type, entity_id, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                         (run_id, ns, source, entity_type, event_type, ident, body))
            if deleted:
                if entity_type == "fill" and ident is not None:
                    conn.execute("UPDATE fills SET active = 0 WHERE fill_id = ?", (ident,))
            elif isinstance(entity, Order):
                _upsert_order(conn, ns, entity)
            elif isinstance(entity, Command):
                _put_command(conn, entity)
            elif isinstance(entity, Fill):
                self._upsert_fill(conn, ns, source, entity)
            elif isinstance(entity, Position):
                _upsert_position(conn, ns, entity)
            elif isinstance(entity, CashBalance):
                conn.execute(
                    "INSERT OR REPLACE INTO cash (account_id, amount, realized_pnl, timestamp, "
                    "recorded_ns) VALUES (?, ?, ?, ?, ?)",
                    (entity.account_id, entity.amount, entity.realized_pnl, entity.timestamp, ns))

    def _upsert_fill(self, conn: sqlite3.Connection, ns: int, source: str, fill: Fill) -> None:
        # The first source that saw a fill is kept: "sync" then says it happened unseen.
        conn.execute(
            "INSERT INTO fills (fill_id, order_id, contract_id, timestamp, action, qty, price, "
            "active, source, run_id, recorded_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (fill_id) DO UPDATE SET active = excluded.active, qty = excluded.qty, "
            "price = excluded.price",
            (fill.id, fill.order_id, fill.contract_id, fill.timestamp, fill.action, fill.qty,
             fill.price, int(fill.active), source, self.run_id, ns))

    def _write_reconciliation(self, conn: sqlite3.Connection, ns: int, kind: str,
                              changed: bool, report: Any) -> None:
        conn.execute("INSERT INTO reconciliations (run_id, recorded_ns, kind, changed, body) "
                     "VALUES (?, ?, ?, ?, ?)",
                     (self.run_id, ns, kind, int(changed), _encode(report).decode()))

    def _write_alert(self, conn: sqlite3.Connection, ns: int, alert: Alert) -> None:
        conn.execute("INSERT INTO alerts (run_id, recorded_ns, severity, key, title, body) "
                     "VALUES (?, ?, ?, ?, ?, ?)",
                     (self.run_id, ns, str(alert.severity), alert.key, alert.title, alert.body))

    def _write_connection(self, conn: sqlite3.Connection, ns: int, session: str, event: str,
                          detail: str) -> None:
        conn.execute("INSERT INTO connections (run_id, recorded_ns, session, event, detail) "
                     "VALUES (?, ?, ?, ?, ?)", (self.run_id, ns, session, event, detail))

    def _write_trailing(self, conn: sqlite3.Connection, ns: int, account_id: int,
                        high_water: float, mode: str, drawdown: float,
                        trade_date: str | None) -> None:
        conn.execute("INSERT OR REPLACE INTO trailing (account_id, high_water, mode, drawdown, "
                     "trade_date, recorded_ns, run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (account_id, high_water, mode, drawdown, trade_date, ns, self.run_id))

    def _write_end(self, conn: sqlite3.Connection, ns: int, clean: bool) -> None:
        conn.execute("UPDATE runs SET ended_ns = ?, clean = ? WHERE run_id = ?",
                     (ns, int(clean), self.run_id))


def _upsert_order(conn: sqlite3.Connection, ns: int, order: Order) -> None:
    conn.execute(
        "INSERT INTO orders (order_id, account_id, contract_id, action, ord_status, cl_ord_id, "
        "timestamp, updated_ns) VALUES (?, ?, ?, ?, ?, "
        "(SELECT cl_ord_id FROM cl_ord_ids WHERE order_id = ? LIMIT 1), ?, ?) "
        "ON CONFLICT (order_id) DO UPDATE SET ord_status = excluded.ord_status, "
        "timestamp = excluded.timestamp, updated_ns = excluded.updated_ns, "
        "cl_ord_id = COALESCE(orders.cl_ord_id, excluded.cl_ord_id)",
        (order.id, order.account_id, order.contract_id, order.action, order.ord_status,
         order.id, order.timestamp, ns))


def _put_command(conn: sqlite3.Connection, command: Command) -> None:
    if command.command_type == "New":
        tag = client_key(command)
        if tag:
            conn.execute("INSERT OR IGNORE INTO order_tags (order_id, tag) VALUES (?, ?)",
                         (command.order_id, tag))
    if not command.cl_ord_id:
        return
    conn.execute("INSERT OR IGNORE INTO cl_ord_ids (cl_ord_id, order_id, command_id) "
                 "VALUES (?, ?, ?)", (command.cl_ord_id, command.order_id, command.id))
    if command.command_type == "New":
        conn.execute("UPDATE orders SET cl_ord_id = ? WHERE order_id = ? AND cl_ord_id IS NULL",
                     (command.cl_ord_id, command.order_id))


def _upsert_position(conn: sqlite3.Connection, ns: int, position: Position) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO positions (account_id, contract_id, position_id, net_pos, "
        "net_price, bought, sold, timestamp, recorded_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (position.account_id, position.contract_id, position.id, position.net_pos,
         position.net_price, position.bought, position.sold, position.timestamp, ns))


class SyncSummary(msgspec.Struct, frozen=True):
    """A :class:`SyncReport` reduced to ids and numbers for the journal."""

    connection: int
    initial: bool
    new_fills: list[int]
    busted_fills: list[int]
    orders: list[tuple[int, str | None, str | None]]
    """(order id, status before, status after)."""
    positions: list[tuple[int, int, int | None, int | None]]
    """(account id, contract id, net position before, after)."""


def sync_report_summary(report: SyncReport, connection: int) -> SyncSummary:
    return SyncSummary(
        connection, report.initial, [f.fill.id for f in report.new_fills],
        [f.fill.id for f in report.busted_fills],
        [(o.order_id, o.before, o.after) for o in report.orders],
        [(p.account_id, p.contract_id, None if p.before is None else p.before.net_pos,
          None if p.after is None else p.after.net_pos) for p in report.positions])
