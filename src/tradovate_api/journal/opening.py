"""Opening a journal file: private mode, integrity check, WAL mode, migrations, and folding in
what the previous run left in the write-ahead intent file.

A journal is checked (``PRAGMA quick_check``) every time it is opened. A damaged one is never
written to again and never deleted: it is renamed, with its ``-wal``/``-shm`` companions, to
``<name>.damaged-<UTC time>`` and a fresh journal starts in its place; the caller raises an
urgent alert. A file without SQLite's header is not treated as a damaged journal but refused
untouched (a settings mistake pointing ``[journal] path`` at some other file must not move it).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import msgspec

from .intents import INTENT_STATE, read_intents
from .schema import JournalError, migrate

SQLITE_HEADER = b"SQLite format 3\x00"
_COMPANIONS = ("-wal", "-shm")
_CHECK_ROWS = 5
"""Problems of ``quick_check`` quoted in the error (it can list thousands)."""
_DAMAGE_CODES = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


class DamagedJournal(msgspec.Struct, frozen=True):
    """A journal found damaged when opened, and where it was moved."""

    moved_to: str
    problem: str


class FoldedIntents(msgspec.Struct, frozen=True):
    """What the intent file of an earlier run added to the journal."""

    folded: int
    """Requests the SQLite journal did not have (now ``INTENT`` rows)."""
    unreadable: int
    """Lines of the file that could not be read (cut short)."""


def prepare_private_file(path: Path) -> None:
    """Create ``path`` (and missing parent directories, 0700) with mode 0600, or tighten an
    existing file to 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def check_integrity(path: Path) -> str | None:
    """``None`` if the journal at ``path`` is sound (or empty), else what is wrong with it.
    Raises :class:`JournalError` for a file that is not an SQLite database at all, or that
    cannot be read for another reason (permissions, a lock)."""
    with path.open("rb") as handle:
        header = handle.read(len(SQLITE_HEADER))
    if header and header != SQLITE_HEADER[:len(header)]:
        raise JournalError(f"{path}: not an SQLite database (no SQLite header); refusing to "
                           f"use or move it: check the settings' [journal] path")
    try:
        conn = sqlite3.connect(path, isolation_level=None)
    except sqlite3.Error as exc:
        raise JournalError(f"{path}: cannot open the journal: {exc}") from exc
    try:
        rows = [str(row[0]) for row in conn.execute(f"PRAGMA quick_check({_CHECK_ROWS})")]
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") in _DAMAGE_CODES:
            return str(exc)
        raise JournalError(f"{path}: cannot check the journal: {exc}") from exc
    finally:
        conn.close()
    if rows == ["ok"]:
        return None
    return "; ".join(rows)


def move_aside(path: Path, now: dt.datetime | None = None) -> Path:
    """Rename a damaged journal and its companions out of the way; returns its new path."""
    stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%dT%H%M%SZ")
    base = path.with_name(f"{path.name}.damaged-{stamp}")
    target, n = base, 1
    while target.exists():
        n += 1
        target = base.with_name(f"{base.name}-{n}")
    for suffix in _COMPANIONS:  # companions first: the main file's name marks completion
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.rename(companion, target.with_name(target.name + suffix))
    os.rename(path, target)
    return target


def connect(path: Path, synchronous: str) -> sqlite3.Connection:
    """The writer's connection: WAL mode, the ``synchronous`` level, migrated."""
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


def open_checked(path: Path, synchronous: str) -> tuple[sqlite3.Connection, DamagedJournal | None]:
    """Open the journal at ``path`` for writing; a damaged one is moved aside first and a
    fresh one created (the second value says where the damaged one went)."""
    try:
        prepare_private_file(path)
        problem = check_integrity(path)
        damaged = None
        if problem is not None:
            moved = move_aside(path)
            damaged = DamagedJournal(str(moved), problem)
            prepare_private_file(path)
    except OSError as exc:
        raise JournalError(f"{path}: cannot open the journal: {exc}") from exc
    return connect(path, synchronous), damaged


def fold_intents(conn: sqlite3.Connection, intents_file: Path) -> FoldedIntents:
    """Add every intent of the file whose request the journal lacks (one transaction)."""
    found = read_intents(intents_file)
    if not found.intents:
        return FoldedIntents(0, found.unreadable)
    folded = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        for intent in found.intents:
            cursor = conn.execute(
                "INSERT INTO requests (cl_ord_id, run_id, created_ns, kind, symbol, "
                "contract_id, action, qty, order_type, price, stop_price, trigger, sent, "
                "state, order_id, reason, updated_ns, account_id, source) VALUES (?, ?, ?, ?, ?, "
                "?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?) ON CONFLICT (cl_ord_id) DO NOTHING",
                (intent.cl_ord_id, intent.run_id, intent.created_ns, intent.kind,
                 intent.symbol, intent.contract_id, intent.action, intent.qty,
                 intent.order_type, intent.price, intent.stop_price, intent.trigger,
                 INTENT_STATE, intent.order_id,
                 "written ahead; the run ended before the journal recorded its fate",
                 intent.created_ns, intent.account_id, intent.source))
            if cursor.rowcount:
                folded += 1
                conn.execute("INSERT INTO ticket_events (run_id, recorded_ns, cl_ord_id, "
                             "state, order_id, reason) VALUES (?, ?, ?, ?, ?, ?)",
                             (intent.run_id, intent.created_ns, intent.cl_ord_id,
                              INTENT_STATE, intent.order_id, "written ahead"))
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise JournalError(f"cannot fold the write-ahead intents of the previous run into "
                           f"the journal: {exc}") from exc
    return FoldedIntents(folded, found.unreadable)
