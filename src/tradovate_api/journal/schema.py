"""The journal's SQLite schema and its migrations.

The schema version is SQLite's ``PRAGMA user_version``; :data:`MIGRATIONS` is the ordered list
of scripts, script *i* taking a database from version *i* to *i + 1*. Opening a journal applies
the missing scripts, each in its own transaction, so an old journal file is upgraded in place
and a failed upgrade leaves the file at the last good version. A file written by a newer
version (``user_version`` beyond the list) is refused rather than misread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ..errors import TradovateError


class JournalError(TradovateError):
    """The journal file cannot be opened, upgraded or read."""


_V1 = """
CREATE TABLE runs (
    run_id      INTEGER PRIMARY KEY,
    started_ns  INTEGER NOT NULL,
    pid         INTEGER NOT NULL,
    label       TEXT NOT NULL DEFAULT '',
    ended_ns    INTEGER,
    clean       INTEGER NOT NULL DEFAULT 0
);

-- One row per order ticket the strategy created (a decision), refused ones included; its
-- current state. ``sent`` is 0 for tickets refused before anything went on the wire.
CREATE TABLE requests (
    cl_ord_id   TEXT PRIMARY KEY,
    run_id      INTEGER NOT NULL,
    created_ns  INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    symbol      TEXT,
    contract_id INTEGER,
    action      TEXT,
    qty         INTEGER,
    order_type  TEXT,
    price       REAL,
    stop_price  REAL,
    trigger     TEXT NOT NULL DEFAULT '',
    sent        INTEGER NOT NULL,
    state       TEXT NOT NULL,
    order_id    INTEGER,
    reason      TEXT,
    updated_ns  INTEGER NOT NULL
);
CREATE INDEX requests_state ON requests(state);

-- Every state a ticket went through (the responses).
CREATE TABLE ticket_events (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL,
    recorded_ns INTEGER NOT NULL,
    cl_ord_id   TEXT NOT NULL,
    state       TEXT NOT NULL,
    order_id    INTEGER,
    reason      TEXT
);
CREATE INDEX ticket_events_cl_ord_id ON ticket_events(cl_ord_id);

-- Every account entity as received (props events and sync snapshots), as wire JSON.
CREATE TABLE account_events (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL,
    recorded_ns INTEGER NOT NULL,
    source      TEXT NOT NULL,
    entity_type TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    entity_id   INTEGER,
    body        TEXT NOT NULL
);
CREATE INDEX account_events_entity ON account_events(entity_type, entity_id);

-- Latest known state derived from account_events, for restart reconciliation.
CREATE TABLE orders (
    order_id    INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL,
    contract_id INTEGER,
    action      TEXT NOT NULL,
    ord_status  TEXT NOT NULL,
    cl_ord_id   TEXT,
    timestamp   TEXT NOT NULL,
    updated_ns  INTEGER NOT NULL
);
CREATE TABLE cl_ord_ids (
    cl_ord_id   TEXT PRIMARY KEY,
    order_id    INTEGER NOT NULL,
    command_id  INTEGER NOT NULL
);
CREATE TABLE fills (
    fill_id     INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL,
    contract_id INTEGER NOT NULL,
    timestamp   TEXT NOT NULL,
    action      TEXT NOT NULL,
    qty         INTEGER NOT NULL,
    price       REAL NOT NULL,
    active      INTEGER NOT NULL,
    source      TEXT NOT NULL,
    run_id      INTEGER NOT NULL,
    recorded_ns INTEGER NOT NULL
);
CREATE TABLE positions (
    account_id  INTEGER NOT NULL,
    contract_id INTEGER NOT NULL,
    position_id INTEGER NOT NULL,
    net_pos     INTEGER NOT NULL,
    net_price   REAL,
    bought      INTEGER NOT NULL,
    sold        INTEGER NOT NULL,
    timestamp   TEXT NOT NULL,
    recorded_ns INTEGER NOT NULL,
    PRIMARY KEY (account_id, contract_id)
);
CREATE TABLE cash (
    account_id   INTEGER PRIMARY KEY,
    amount       REAL NOT NULL,
    realized_pnl REAL,
    timestamp    TEXT NOT NULL,
    recorded_ns  INTEGER NOT NULL
);

CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL,
    recorded_ns INTEGER NOT NULL,
    severity    TEXT NOT NULL,
    key         TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL
);

-- Connects, ends and reconnects of the sockets.
CREATE TABLE connections (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL,
    recorded_ns INTEGER NOT NULL,
    session     TEXT NOT NULL,
    event       TEXT NOT NULL,
    detail      TEXT NOT NULL DEFAULT ''
);

-- Sync reports (differences a snapshot showed) and restart reconciliations, as JSON.
CREATE TABLE reconciliations (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL,
    recorded_ns INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    changed     INTEGER NOT NULL,
    body        TEXT NOT NULL
);

-- Records the writer could not take (queue full) or write (disk errors): the journal is known
-- to be incomplete for that stretch.
CREATE TABLE gaps (
    id          INTEGER PRIMARY KEY,
    run_id      INTEGER NOT NULL,
    recorded_ns INTEGER NOT NULL,
    lost        INTEGER NOT NULL,
    reason      TEXT NOT NULL
);
"""

_V2 = """
-- Every order event looks up the clOrdId of its order (the upsert into orders): without this
-- index that lookup scanned every clOrdId of the journal, so each order cost more than the last.
CREATE INDEX cl_ord_ids_order ON cl_ord_ids(order_id);
"""

_V3 = """
-- The client id of every order's creating command: its clOrdId, else its customTag50. An order
-- strategy's targets and stops carry only the strategy's customTag50, which cl_ord_ids (one
-- order per id) cannot hold: without this a restart took them for someone else's orders.
CREATE TABLE order_tags (
    order_id    INTEGER PRIMARY KEY,
    tag         TEXT NOT NULL
);
CREATE INDEX order_tags_tag ON order_tags(tag);
-- From the commands already journaled (account_events keeps them as wire JSON).
INSERT OR IGNORE INTO order_tags (order_id, tag)
    SELECT json_extract(body, '$.orderId'),
           COALESCE(json_extract(body, '$.clOrdId'), json_extract(body, '$.customTag50'))
    FROM account_events
    WHERE entity_type = 'command' AND json_extract(body, '$.commandType') = 'New'
      AND COALESCE(json_extract(body, '$.clOrdId'), json_extract(body, '$.customTag50'))
          IS NOT NULL
    ORDER BY entity_id;
"""

_V4 = """
-- Each request's latency stamps: time.perf_counter_ns() of the run that sent it (comparable
-- within a run, and across runs of one boot), NULL for a stage that did not happen or was not
-- measured: frame arrived, event decoded, order method entered, risk passed, written on the
-- socket, answered, first fill applied. Older rows keep NULL.
ALTER TABLE requests ADD COLUMN frame_ns INTEGER;
ALTER TABLE requests ADD COLUMN decoded_ns INTEGER;
ALTER TABLE requests ADD COLUMN decided_ns INTEGER;
ALTER TABLE requests ADD COLUMN checked_ns INTEGER;
ALTER TABLE requests ADD COLUMN sent_ns INTEGER;
ALTER TABLE requests ADD COLUMN answered_ns INTEGER;
ALTER TABLE requests ADD COLUMN filled_ns INTEGER;
"""

_V5 = """
-- Which account each request was for and which strategy made it (a run trades several
-- accounts and strategies): the account's id, the strategy's name ('' for the framework's own
-- requests: protective stops, risk halts, shutdown). Older rows keep NULL and ''.
ALTER TABLE requests ADD COLUMN account_id INTEGER;
ALTER TABLE requests ADD COLUMN source TEXT NOT NULL DEFAULT '';
"""

_V6 = """
-- Each account's trailing-drawdown high-water, kept across runs (a restart must not lower the
-- level a prop firm holds the account to): the latest per account, with the rule it belongs
-- to (mode 'intraday' | 'eod', the drawdown) and, for 'eod', the trade date it last rolled on.
CREATE TABLE trailing (
    account_id  INTEGER PRIMARY KEY,
    high_water  REAL NOT NULL,
    mode        TEXT NOT NULL,
    drawdown    REAL NOT NULL,
    trade_date  TEXT,
    recorded_ns INTEGER NOT NULL,
    run_id      INTEGER NOT NULL
);
"""

MIGRATIONS: Sequence[str] = (_V1, _V2, _V3, _V4, _V5, _V6)
"""Script *i* upgrades ``user_version`` *i* to *i + 1*. Only ever append."""


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the database to the latest version; return the version it was at.

    ``conn`` must be in autocommit mode (``isolation_level=None``)."""
    before = schema_version(conn)
    if before > len(migrations):
        raise JournalError(f"journal schema version {before} is newer than this program "
                           f"understands ({len(migrations)}); use a newer tradovate-api")
    for version in range(before, len(migrations)):
        try:
            conn.execute("BEGIN IMMEDIATE")
            for statement in _statements(migrations[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise JournalError(f"journal migration to version {version + 1} failed: "
                               f"{exc}") from exc
    return before


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside our literals)."""
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
