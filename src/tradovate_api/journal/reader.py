"""Reading the journal: restart state, listings for ``journal show`` and exports.

A reader has its own SQLite connection, so it can be used while a :class:`~.writer.Journal`
writes (WAL readers never block the writer). It never migrates or writes: opening a journal
of an older schema version needs the writer first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from ..stores.stale import ORDER_DONE
from .records import (
    UNACKNOWLEDGED_STATES,
    AlertRecord,
    ConnectionRecord,
    GapRecord,
    JournalFill,
    JournalOrder,
    JournalPosition,
    JournalState,
    ReconciliationRecord,
    RequestRecord,
    RunInfo,
    TicketEventRecord,
    TrailingRecord,
)
from .schema import MIGRATIONS, JournalError, schema_version

_REQUEST_COLUMNS = ("cl_ord_id, run_id, created_ns, kind, symbol, contract_id, action, qty, "
                    "order_type, price, stop_price, trigger, sent, state, order_id, reason, "
                    "updated_ns, frame_ns, decoded_ns, decided_ns, checked_ns, sent_ns, "
                    "answered_ns, filled_ns, account_id, source")


def _request(row: Any) -> RequestRecord:
    values = list(row)
    values[12] = bool(values[12])
    return RequestRecord(*values)


def _fill(row: Any) -> JournalFill:
    values = list(row)
    values[7] = bool(values[7])
    return JournalFill(*values)


class JournalReader:
    """Read-only access to a journal file."""

    def __init__(self, path: str | Path) -> None:
        file = Path(path)
        if not file.exists():
            raise JournalError(f"{file}: no journal here")
        try:
            self._conn = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
            version = schema_version(self._conn)
        except sqlite3.Error as exc:
            raise JournalError(f"{file}: not a readable journal: {exc}") from exc
        if version != len(MIGRATIONS):
            self._conn.close()
            raise JournalError(f"{file}: journal schema version {version}, this program reads "
                               f"{len(MIGRATIONS)} (open it with the writer to upgrade)")
        self.path = file

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> JournalReader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
        try:
            yield from self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot read the journal: {exc}") from exc

    # ------------------------------------------------------------------ listings

    def runs(self) -> tuple[RunInfo, ...]:
        return tuple(RunInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in self._rows(
            "SELECT run_id, started_ns, pid, label, ended_ns, clean FROM runs ORDER BY run_id"))

    def requests(self, run_id: int | None = None) -> tuple[RequestRecord, ...]:
        """Every ticket (decision), oldest first; of one run if given."""
        where, params = ("WHERE run_id = ?", (run_id,)) if run_id is not None else ("", ())
        return tuple(_request(r) for r in self._rows(
            f"SELECT {_REQUEST_COLUMNS} FROM requests {where} ORDER BY created_ns, rowid",
            params))

    def unacknowledged(self, before_run: int | None = None) -> tuple[RequestRecord, ...]:
        """Requests sent and never acknowledged (nor known not placed)."""
        states = ", ".join(f"'{state}'" for state in sorted(UNACKNOWLEDGED_STATES))
        sql = (f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE sent = 1 "
               f"AND state IN ({states})")
        params: tuple[Any, ...] = ()
        if before_run is not None:
            sql += " AND run_id < ?"
            params = (before_run,)
        return tuple(_request(r) for r in self._rows(sql + " ORDER BY created_ns, rowid",
                                                     params))

    def ticket_events(self, cl_ord_id: str | None = None) -> tuple[TicketEventRecord, ...]:
        where, params = ("WHERE cl_ord_id = ?", (cl_ord_id,)) if cl_ord_id else ("", ())
        return tuple(TicketEventRecord(*r) for r in self._rows(
            f"SELECT recorded_ns, cl_ord_id, state, order_id, reason FROM ticket_events {where} "
            f"ORDER BY id", params))

    def orders(self) -> dict[int, JournalOrder]:
        return {r[0]: JournalOrder(*r) for r in self._rows(
            "SELECT order_id, account_id, contract_id, action, ord_status, cl_ord_id, timestamp "
            "FROM orders ORDER BY order_id")}

    def fills(self) -> dict[int, JournalFill]:
        """Every fill known, by id (busted ones have ``active`` false)."""
        return {r[0]: _fill(r) for r in self._rows(
            "SELECT fill_id, order_id, contract_id, timestamp, action, qty, price, active, "
            "source, run_id FROM fills ORDER BY fill_id")}

    def last_positions(self) -> dict[tuple[int, int], JournalPosition]:
        """The last position journaled per (account id, contract id)."""
        return {(r[0], r[1]): JournalPosition(*r) for r in self._rows(
            "SELECT account_id, contract_id, position_id, net_pos, net_price, bought, sold, "
            "timestamp FROM positions ORDER BY account_id, contract_id")}

    def trailing(self) -> dict[int, TrailingRecord]:
        """Each account's trailing-drawdown high-water, as last journaled."""
        return {r[0]: TrailingRecord(*r) for r in self._rows(
            "SELECT account_id, high_water, mode, drawdown, trade_date, recorded_ns "
            "FROM trailing ORDER BY account_id")}

    def cl_ord_ids(self) -> dict[str, int]:
        return {r[0]: r[1] for r in self._rows("SELECT cl_ord_id, order_id FROM cl_ord_ids")}

    def maybe_working_cl_ord_ids(self, before_run: int | None = None) -> frozenset[str]:
        """Client order ids of this app's requests whose orders may still be working: a
        request sent (or written ahead) that creates an order, unless the journal knows that
        order finished and every other order created with its id — its bracket legs
        (``-tp``/``-sl``), an order strategy's targets and stops (which carry the request's
        id as ``customTag50``) — finished too. A finished order never works again, and a
        journal of years of trading would otherwise hold every id ever sent. Only ids of
        this app's requests: an order someone else placed with a client order id of their
        own is never taken for this app's."""
        done = ", ".join(f"'{status}'" for status in sorted(ORDER_DONE))
        run = "AND r.run_id < ?" if before_run is not None else ""
        params: tuple[Any, ...] = (before_run,) if before_run is not None else ()
        # A request whose order the journal never saw (no order with its id, no command
        # carrying it) may still work; the others are decided by their orders (below).
        requests = self._rows(
            f"SELECT r.cl_ord_id FROM requests r LEFT JOIN orders o ON o.order_id = r.order_id "
            f"WHERE r.sent = 1 AND r.kind NOT IN ('MODIFY', 'CANCEL') {run} "
            f"AND (o.ord_status NOT IN ({done}) OR (o.order_id IS NULL AND NOT EXISTS "
            f"(SELECT 1 FROM order_tags t WHERE t.tag = r.cl_ord_id)))", params)
        tagged = self._rows(
            f"SELECT DISTINCT r.cl_ord_id FROM order_tags t "
            f"LEFT JOIN orders o ON o.order_id = t.order_id "
            f"JOIN requests r ON r.cl_ord_id = CASE WHEN t.tag LIKE '%-tp' "
            f"OR t.tag LIKE '%-sl' THEN substr(t.tag, 1, length(t.tag) - 3) ELSE t.tag END "
            f"WHERE (o.ord_status IS NULL OR o.ord_status NOT IN ({done})) "
            f"AND r.sent = 1 AND r.kind NOT IN ('MODIFY', 'CANCEL') {run}", params)
        return frozenset(r[0] for r in (*requests, *tagged))

    def alerts(self) -> tuple[AlertRecord, ...]:
        return tuple(AlertRecord(*r) for r in self._rows(
            "SELECT recorded_ns, severity, key, title, body FROM alerts ORDER BY id"))

    def connections(self) -> tuple[ConnectionRecord, ...]:
        return tuple(ConnectionRecord(*r) for r in self._rows(
            "SELECT recorded_ns, session, event, detail FROM connections ORDER BY id"))

    def reconciliations(self) -> tuple[ReconciliationRecord, ...]:
        return tuple(ReconciliationRecord(r[0], r[1], r[2], bool(r[3]), r[4]) for r in self._rows(
            "SELECT run_id, recorded_ns, kind, changed, body FROM reconciliations ORDER BY id"))

    def gaps(self) -> tuple[GapRecord, ...]:
        return tuple(GapRecord(*r) for r in self._rows(
            "SELECT run_id, recorded_ns, lost, reason FROM gaps ORDER BY id"))

    def account_event_count(self, entity_type: str | None = None) -> int:
        where, params = ("WHERE entity_type = ?", (entity_type,)) if entity_type else ("", ())
        row = next(self._rows(f"SELECT COUNT(*) FROM account_events {where}", params))
        return int(row[0])

    # ------------------------------------------------------------------ restart

    def state(self, before_run: int | None = None) -> JournalState:
        """What the journal knows, for reconciling with a fresh snapshot. ``before_run``
        limits the unacknowledged requests and runs to earlier runs."""
        runs = self.runs()
        if before_run is not None:
            runs = tuple(r for r in runs if r.run_id < before_run)
        return JournalState(runs, self.unacknowledged(before_run), self.orders(), self.fills(),
                            self.last_positions(), self.cl_ord_ids(),
                            self.maybe_working_cl_ord_ids(before_run), self.trailing())
