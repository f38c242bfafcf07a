"""The journal writer: the trading loop enqueues, one thread writes SQLite.

Every order ticket (decision, request, response), account event, sync snapshot and report,
alert and connection event is handed to :class:`Journal` from the event loop. The call costs a
tuple and a ``put`` on a bounded queue — nothing is encoded or written there — so the hot path
never waits on disk. A single thread drains the queue in batches, one transaction per batch,
into a WAL-mode database (``synchronous=NORMAL`` by default: a committed batch survives the
process being killed; ``FULL`` also survives a power cut, at an fsync per batch).

If the queue is full the record is dropped, counted, and a row in ``gaps`` says how many were
lost; a database error loses the batch the same way. Either raises one urgent alert per episode
(``journal.overflow`` / ``journal.write_failed``) through the optional sink. Trading continues:
the journal never stops the loop.

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
from ..stores.account import SyncReport
from .reader import JournalReader
from .records import JournalState
from .schema import JournalError, migrate

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


def label_of(value: Any) -> str | None:
    """An enum member's name (``PENDING``), a string as is, ``None`` as ``None``."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return value.name
    return str(value)


def prepare_private_file(path: Path) -> None:
    """Create ``path`` (and missing parent directories, 0700) with mode 0600, or tighten an
    existing file to 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise JournalError(f"{path}: cannot switch the journal to WAL mode (got {mode})")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA busy_timeout=5000")
        migrate(conn)
    except (sqlite3.Error, JournalError) as exc:
        conn.close()
        if isinstance(exc, JournalError):
            raise
        raise JournalError(f"{path}: cannot open the journal: {exc}") from exc
    return conn


class Journal:
    """An append-only trading journal in one SQLite file. Open it once per process run."""

    def __init__(self, path: str | Path, *, queue_size: int = 100_000,
                 synchronous: str = "NORMAL", label: str = "",
                 clock_ns: Callable[[], int] = time.time_ns,
                 alerts: AlertSink | None = None, linger: float = 0.005) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be positive")
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}")
        self.path = Path(path)
        try:
            prepare_private_file(self.path)
        except OSError as exc:
            raise JournalError(f"{self.path}: cannot create the journal: {exc}") from exc
        self._conn = _connect(self.path, synchronous)
        with JournalReader(self.path) as reader:
            self.previous: JournalState = reader.state()
            """What earlier runs left (read before this run wrote anything)."""
        self._clock = clock_ns
        self.run_id = int(self._conn.execute(
            "INSERT INTO runs (started_ns, pid, label) VALUES (?, ?, ?)",
            (clock_ns(), os.getpid(), label)).lastrowid or 0)
        self.alerts = alerts
        """Where the journal's own problems go (urgent ``journal.*`` alerts)."""
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._limit = queue_size
        self.linger = linger
        """Seconds the writer waits for more records before committing a batch."""
        self.written = 0
        """Records committed by this run."""
        self.batches = 0
        """Transactions that committed them (``written / batches``: records per commit)."""
        self.dropped = 0
        """Records lost because the queue was full."""
        self.errors = 0
        """Batches lost to database errors."""
        self._reported_drops = 0
        self._overflow_alerted = False
        self._error_alerted = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="journal writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ hot path

    def _put(self, item: tuple[Any, ...]) -> None:
        if self._closed:
            return
        if self._queue.qsize() >= self._limit:
            self.dropped += 1
            if not self._overflow_alerted:
                self._overflow_alerted = True
                self._alert("journal.overflow", "Journal queue full: records are being lost",
                            f"{self.path}: the writer cannot keep up; a gap is recorded")
            return
        self._queue.put(item)

    def ticket(self, ticket: TicketLike) -> None:
        """An order ticket was created or changed state (an ``OrderManager`` listener)."""
        state = label_of(ticket.state) or ""
        self._put((self._write_ticket, self._clock(), (
            ticket.cl_ord_id, label_of(ticket.kind) or "", ticket.symbol, ticket.contract_id,
            label_of(ticket.action), ticket.qty, ticket.order_type, ticket.price,
            ticket.stop_price, ticket.trigger or "", state, ticket.order_id, ticket.reason)))

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

    # ------------------------------------------------------------------ control

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def flush(self, timeout: float = 5.0) -> bool:
        """Block until everything enqueued so far is committed (not for the event loop's hot
        path: shutdown and tests). False on time-out."""
        if self._closed or not self._thread.is_alive():
            return False
        done = threading.Event()
        self._queue.put((done.set,))
        return done.wait(timeout)

    def close(self, timeout: float = 5.0, *, clean: bool = True) -> bool:
        """Write what is queued, mark the run ended (``clean``: a normal shutdown), stop the
        thread. Returns False if the writer did not finish in time."""
        if self._closed:
            return True
        self._queue.put((self._write_end, self._clock(), clean))
        self._queue.put(_STOP)
        self._closed = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            return False
        self._conn.close()
        return True

    def bind_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Alerts the writer thread raises are handed to ``loop``, the thread the alert sink
        belongs to (default: the loop running when the journal was opened)."""
        self._loop = loop

    def _alert(self, key: str, title: str, body: str) -> None:
        sink = self.alerts
        if sink is None:
            _log.error("%s: %s", title, body)
            return
        alert = Alert(Severity.URGENT, key, title, body)
        loop = self._loop
        if loop is not None and threading.current_thread() is self._thread:
            with contextlib.suppress(RuntimeError):  # loop closed: nobody left to tell
                loop.call_soon_threadsafe(sink.emit, alert)
            return
        sink.emit(alert)

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        lower_thread_priority()
        get = self._queue.get
        linger = self.linger
        stop = False
        get_nowait = self._queue.get_nowait
        while not stop:
            batch = [get()]
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

    def _write_batch(self, records: list[tuple[Any, ...]]) -> None:
        conn = self._conn
        lost = self.dropped - self._reported_drops
        if lost:
            try:
                conn.execute("INSERT INTO gaps (run_id, recorded_ns, lost, reason) "
                             "VALUES (?, ?, ?, 'queue full')", (self.run_id, self._clock(), lost))
            except sqlite3.Error as exc:
                _log.error("journal: cannot record a gap of %d records: %s", lost, exc)
            else:
                self._reported_drops += lost
                self._overflow_alerted = False
        if not records:
            return
        try:
            conn.execute("BEGIN")
            for record in records:
                record[0](conn, *record[1:])
            conn.execute("COMMIT")
        except _WRITE_ERRORS:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._write_one_by_one(records)
        else:
            self.written += len(records)
            self.batches += 1

    def _write_one_by_one(self, records: list[tuple[Any, ...]]) -> None:
        """After a failed batch: each record in its own transaction, so one bad record (or a
        passing disk error) loses only itself."""
        conn = self._conn
        for record in records:
            try:
                conn.execute("BEGIN")
                record[0](conn, *record[1:])
                conn.execute("COMMIT")
            except _WRITE_ERRORS as exc:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                self.errors += 1
                self._record_loss(1, exc)
            else:
                self.written += 1

    def _record_loss(self, count: int, exc: BaseException) -> None:
        _log.error("journal: %d records lost: %s", count, exc)
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("INSERT INTO gaps (run_id, recorded_ns, lost, reason) "
                               "VALUES (?, ?, ?, ?)",
                               (self.run_id, self._clock(), count, f"write failed: {exc}"))
        if not self._error_alerted:
            self._error_alerted = True
            self._alert("journal.write_failed", "Journal write failed: records are being lost",
                        f"{self.path}: {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------------ writers (thread)

    def _write_ticket(self, conn: sqlite3.Connection, ns: int,
                      row: tuple[Any, ...]) -> None:
        (cl_ord_id, kind, symbol, contract_id, action, qty, order_type, price, stop_price,
         trigger, state, order_id, reason) = row
        sent = int(state != "REFUSED")
        conn.execute(
            "INSERT INTO requests (cl_ord_id, run_id, created_ns, kind, symbol, contract_id, "
            "action, qty, order_type, price, stop_price, trigger, sent, state, order_id, reason, "
            "updated_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (cl_ord_id) DO UPDATE SET state = excluded.state, "
            "order_id = COALESCE(excluded.order_id, order_id), "
            "reason = COALESCE(excluded.reason, reason), sent = MAX(sent, excluded.sent), "
            "updated_ns = excluded.updated_ns",
            (cl_ord_id, self.run_id, ns, kind, symbol, contract_id, action, qty, order_type,
             price, stop_price, trigger, sent, state, order_id, reason, ns))
        conn.execute("INSERT INTO ticket_events (run_id, recorded_ns, cl_ord_id, state, "
                     "order_id, reason) VALUES (?, ?, ?, ?, ?, ?)",
                     (self.run_id, ns, cl_ord_id, state, order_id, reason))

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
