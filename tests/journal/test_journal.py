"""The journal: schema migrations, file modes, tickets, account events, alerts and connections
in SQLite via the writer thread; overflow and write failures recorded as gaps; reading it
back."""

from __future__ import annotations

import sqlite3
import stat
import threading
import time
from pathlib import Path

import pytest
from journal_helpers import ES, World

from tradovate_api.alerts import Alert, AlertLog, Severity
from tradovate_api.journal import (
    MIGRATIONS,
    Journal,
    JournalError,
    JournalReader,
    migrate,
    schema_version,
)
from tradovate_api.journal.intents import read_intents
from tradovate_api.journal.opening import fold_intents
from tradovate_api.orders.tickets import (
    OrderTicket,
    TicketKind,
    TicketState,
    set_order_id,
    set_state,
)


def ticket(cl_ord_id: str, state: TicketState = TicketState.PENDING, **kw: object) -> OrderTicket:
    fields: dict[str, object] = {"kind": TicketKind.PLACE, "symbol": "ESZ6", "contract_id": ES,
                                 "action": "Buy", "qty": 1, "order_type": "Market",
                                 "trigger": "test"}
    fields.update(kw)
    return OrderTicket(cl_ord_id=cl_ord_id, state=state, **fields)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- schema


def test_a_new_journal_is_at_the_latest_schema_version_and_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.db"
    journal = Journal(path)
    journal.connection("md", "connected")
    assert journal.flush()
    for name in ("journal.db", "journal.db-wal", "journal.db-shm"):
        assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600, name
    journal.close()
    with sqlite3.connect(path) as conn:
        assert schema_version(conn) == len(MIGRATIONS)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_an_existing_wider_file_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    path.touch(mode=0o644)
    path.chmod(0o644)
    Journal(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_migrations_apply_in_order_and_only_once(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    steps = ["CREATE TABLE a (x INTEGER)", "ALTER TABLE a ADD COLUMN y TEXT;\n"
             "CREATE TABLE b (z INTEGER)"]
    assert migrate(conn, steps[:1]) == 0
    assert schema_version(conn) == 1
    assert migrate(conn, steps) == 1  # only the second script runs now
    assert schema_version(conn) == 2
    assert [r[1] for r in conn.execute("PRAGMA table_info(a)")] == ["x", "y"]
    assert migrate(conn, steps) == 2


def test_a_version_1_journal_gains_the_order_id_index_and_its_lookup_uses_it(
        tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with sqlite3.connect(path, isolation_level=None) as conn:
        migrate(conn, MIGRATIONS[:1])  # a journal written before the index existed
        conn.execute("INSERT INTO cl_ord_ids VALUES ('run-1', 7, 70)")
    journal = Journal(path)  # opening upgrades it in place
    journal.close()
    with sqlite3.connect(path) as conn:
        assert schema_version(conn) == len(MIGRATIONS)
        assert conn.execute("SELECT cl_ord_id FROM cl_ord_ids").fetchall() == [("run-1",)]
        plan = " ".join(row[-1] for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT cl_ord_id FROM cl_ord_ids WHERE order_id = ? LIMIT 1",
            (7,)))
    assert "USING INDEX cl_ord_ids_order" in plan  # not a scan of every clOrdId


def test_a_failed_migration_leaves_the_last_good_version(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "m.db", isolation_level=None)
    migrate(conn, ["CREATE TABLE a (x INTEGER)"])
    with pytest.raises(JournalError, match="migration to version 2"):
        migrate(conn, ["CREATE TABLE a (x INTEGER)", "CREATE TABLE b (z); CREATE TABLE a (q)"])
    assert schema_version(conn) == 1
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'b'").fetchone() is None


def test_a_journal_from_a_newer_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(JournalError, match="newer than this program"):
        Journal(path)
    with pytest.raises(JournalError, match="schema version"):
        JournalReader(path)


def test_garbage_is_not_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(JournalError, match="not an SQLite database"):
        Journal(path)
    assert path.read_bytes() == b"definitely not sqlite" * 100  # someone else's file
    assert [p.name for p in tmp_path.iterdir()] == ["journal.db"]
    with pytest.raises(JournalError, match="no journal"):
        JournalReader(tmp_path / "missing.db")


def damage(path: Path) -> bytes:
    """Overwrite the b-tree page headers of a few data pages of a closed journal: the file
    still opens and takes writes (nothing reads those pages at open), it is just damaged."""
    data = bytearray(path.read_bytes())
    pages = len(data) // 4096
    assert pages > 8
    for page in range(pages - 6, pages - 1):
        data[page * 4096:page * 4096 + 32] = b"\xff" * 32
    path.write_bytes(bytes(data))
    return bytes(data)


def test_a_damaged_journal_is_moved_aside_never_reused_nor_deleted(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(path)
    for i in range(3000):
        journal.connection("md", f"event {i}", "x" * 40)
    assert journal.close()
    damaged_bytes = damage(path)

    alerts = AlertLog()
    journal = Journal(path, alerts=alerts)
    assert journal.damaged is not None
    moved = Path(journal.damaged.moved_to)
    assert moved.parent == tmp_path
    assert moved.name.startswith("journal.db.damaged-")
    assert moved.read_bytes() == damaged_bytes  # kept as it was, for a human to look at
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600
    journal.connection("md", "fresh")
    assert journal.close()
    with JournalReader(path) as reader:  # a fresh journal in its place, working
        assert [c.event for c in reader.connections()] == ["fresh"]
        assert len(reader.runs()) == 1
    [alert] = [a for a in alerts.recent if a.key == "journal.damaged"]
    assert alert.severity == Severity.URGENT
    assert str(moved) in alert.body
    assert not Journal(path).damaged  # the new one is sound


# ---------------------------------------------------------------------- records


def test_tickets_are_decisions_requests_and_responses(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db", label="unit")
    sent = ticket("run1-1", trigger="large trade 450 @ 5000")
    journal.ticket(sent)
    set_state(sent, TicketState.ACKED)
    set_order_id(sent, 1001)
    journal.ticket(sent)
    lost = ticket("run1-2", action="Sell")
    journal.ticket(lost)
    set_state(lost, TicketState.UNKNOWN)
    journal.ticket(lost)
    journal.ticket(ticket("run1-3", TicketState.REFUSED, reason="max position"))
    assert journal.close()
    with JournalReader(tmp_path / "j.db") as reader:
        requests = {r.cl_ord_id: r for r in reader.requests()}
        assert [r.cl_ord_id for r in reader.unacknowledged()] == ["run1-2"]
        events = reader.ticket_events("run1-1")
        runs = reader.runs()
    assert requests["run1-1"].state == "ACKED"
    assert requests["run1-1"].order_id == 1001
    assert requests["run1-1"].trigger == "large trade 450 @ 5000"
    assert requests["run1-1"].kind == "PLACE"
    assert requests["run1-3"].sent is False
    assert requests["run1-3"].reason == "max position"
    assert [e.state for e in events] == ["PENDING", "ACKED"]
    assert len(runs) == 1
    assert runs[0].clean
    assert runs[0].label == "unit"


@pytest.mark.parametrize("linger", [0.0, 0.5], ids=["no-linger", "linger"])
def test_records_arriving_within_the_linger_commit_together(tmp_path: Path,
                                                           linger: float) -> None:
    """An order's records arrive a little apart; with a linger they share one transaction,
    without one each is committed as it comes (the writer is idle between them)."""
    journal = Journal(tmp_path / "j.db", linger=linger)
    order = ticket("run1-1")
    for state in (TicketState.PENDING, TicketState.ACKED, TicketState.REJECTED):
        set_state(order, state)
        journal.ticket(order)
        if linger:
            time.sleep(0.05)  # paced well inside the linger
        else:
            assert journal.flush()  # committed before the next one arrives
    assert journal.flush()
    assert journal.written == 3
    assert journal.batches == (1 if linger else 3)
    journal.close()
    with JournalReader(tmp_path / "j.db") as reader:
        assert [e.state for e in reader.ticket_events("run1-1")] == [
            "PENDING", "ACKED", "REJECTED"]


def test_account_events_keep_orders_fills_positions_and_cash(tmp_path: Path) -> None:
    world = World()
    journal = Journal(tmp_path / "j.db")
    order_id, events = world.place("Buy", 2, cl_ord_id="run1-1")
    limit_id, more = world.place("Sell", 2, "Limit", 5003.0, cl_ord_id="run1-2")
    for event in events + more + world.trade(5003.0):
        journal.account_event(event)
    assert journal.close()
    with JournalReader(tmp_path / "j.db") as reader:
        orders, fills = reader.orders(), reader.fills()
        positions = reader.last_positions()
        assert reader.cl_ord_ids() == {"run1-1": order_id, "run1-2": limit_id}
        assert reader.account_event_count("fill") >= 2
    assert orders[order_id].ord_status == "Filled"
    assert orders[order_id].cl_ord_id == "run1-1"
    assert orders[limit_id].ord_status == "Filled"
    assert sorted((f.action, f.qty, f.price) for f in fills.values()) == [
        ("Buy", 2, 5000.25), ("Sell", 2, 5003.0)]
    assert all(f.source == "event" for f in fills.values())
    position = positions[(world.account, ES)]
    assert position.net_pos == 0
    assert (position.bought, position.sold) == (2, 2)


def test_alerts_connections_and_sync_snapshots_are_kept(tmp_path: Path) -> None:
    world = World()
    world.place("Buy", 1)
    journal = Journal(tmp_path / "j.db")
    journal.alert(Alert(Severity.URGENT, "risk.daily_loss", "Daily loss limit", "-510 USD"))
    journal.connection("trading", "connected", "#1")
    journal.sync_snapshot(world.sync(), 1)
    assert journal.close()
    with JournalReader(tmp_path / "j.db") as reader:
        assert [(a.severity, a.key, a.body) for a in reader.alerts()] == [
            ("urgent", "risk.daily_loss", "-510 USD")]
        assert [(c.session, c.event) for c in reader.connections()] == [
            ("trading", "connected"), ("trading", "synced")]
        [fill] = reader.fills().values()
        assert fill.source == "sync"
        assert reader.last_positions()[(world.account, ES)].net_pos == 1


# ---------------------------------------------------------------------- never blocks, never lies


def test_a_full_queue_drops_counts_alerts_and_records_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    alerts = AlertLog()
    journal = Journal(path, queue_size=10, alerts=alerts)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # the writer thread now waits on the lock
    try:
        journal.connection("md", "first")  # taken by the writer, which then blocks
        for i in range(50):
            journal.connection("md", f"event {i}")
        assert journal.dropped > 0
        assert alerts.keys() == ["journal.overflow"]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert journal.flush()
    dropped = journal.dropped
    journal.connection("md", "after")
    assert journal.close()
    with JournalReader(path) as reader:
        gaps = reader.gaps()
        kept = len(reader.connections())
    assert sum(g.lost for g in gaps) == dropped
    assert kept == 52 - dropped


class ProtectiveStop:
    """A ticket of a protective stop the framework places (its ``protective`` is true):
    it reduces risk, so a halted journal lets it through."""

    protective = True

    def __init__(self, inner: OrderTicket) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_a_full_queue_halts_new_orders_until_the_gap_is_on_record(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    alerts = AlertLog()
    journal = Journal(path, queue_size=5, alerts=alerts, probe_seconds=0.05)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        for i in range(20):
            journal.connection("md", f"event {i}")
        assert journal.dropped > 0
        refusal = journal.before_send(ticket("run1-1"))
        assert refusal is not None
        assert refusal.startswith("journal cannot write (queue full")
        assert journal.before_send(ticket("run1-2", kind=TicketKind.CANCEL)) is None
        assert journal.before_send(ticket("run1-3", kind=TicketKind.LIQUIDATE)) is None
        assert journal.before_send(ticket("run1-4", kind=TicketKind.INTERRUPT)) is None
        assert journal.before_send(ticket("run1-6", kind=TicketKind.STRATEGY)) is not None
        assert journal.before_send(ProtectiveStop(ticket("run1-5-ps", order_type="Stop",
                                                         stop_price=4990.0))) is None
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    deadline = time.monotonic() + 10
    while journal.halted is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert journal.halted is None
    assert journal.before_send(ticket("run1-4")) is None
    dropped = journal.dropped
    assert journal.close()
    with JournalReader(path) as reader:
        assert sum(g.lost for g in reader.gaps()) == dropped


def test_a_bad_record_loses_only_itself(tmp_path: Path) -> None:
    alerts = AlertLog()
    journal = Journal(tmp_path / "j.db", alerts=alerts)
    blocker = threading.Event()
    journal._queue.put((blocker.wait,))  # hold the writer so the batch is written together
    journal.connection("md", "before")
    journal.ticket(ticket("bad", qty=object()))  # cannot be stored
    journal.connection("md", "after")
    blocker.set()
    assert journal.close()
    with JournalReader(tmp_path / "j.db") as reader:
        assert [c.event for c in reader.connections()] == ["before", "after"]
        assert reader.requests() == ()
        [gap] = reader.gaps()
    assert gap.lost == 1
    assert gap.reason.startswith("write failed")
    assert journal.lost == 1
    assert [(a.key, a.severity) for a in alerts.recent] == [
        ("journal.write_failed", Severity.URGENT), ("journal.write_resumed", Severity.ROUTINE)]
    assert journal.halted == "the journal is closed"


# ---------------------------------------------------------------------- write-ahead


def test_a_request_is_on_disk_when_before_send_returns(tmp_path: Path) -> None:
    """The intent is written by the calling thread itself: with the journal's writer
    thread held, the line is already in the file (kernel page cache; a kill -9 of the
    process cannot take it back)."""
    journal = Journal(tmp_path / "j.db", synchronous="FULL")
    blocker = threading.Event()
    journal._queue.put((blocker.wait,))  # the SQLite side writes nothing meanwhile
    try:
        assert journal.before_send(ticket("run1-1", order_type="Limit", price=5000.25,
                                          trigger="large trade")) is None
        found = read_intents(journal.intents_path)
        [intent] = found.intents
        assert (intent.cl_ord_id, intent.kind, intent.action, intent.qty, intent.price,
                intent.trigger, intent.run_id) == (
            "run1-1", "PLACE", "Buy", 1, 5000.25, "large trade", journal.run_id)
        assert stat.S_IMODE(journal.intents_path.stat().st_mode) == 0o600
    finally:
        blocker.set()
    assert journal.close()
    assert journal.intents_path.read_bytes() == b""  # all in SQLite: emptied at close


def test_the_account_and_strategy_of_a_request_survive_a_crash_after_writing_ahead(
        tmp_path: Path) -> None:
    """Written ahead with its account and strategy, a request the SQLite side never saw is
    folded into the journal with both (an earlier run's request goes back to its account)."""
    journal = Journal(tmp_path / "j.db")
    blocker = threading.Event()
    journal._queue.put((blocker.wait,))  # the process "dies" before the row is written
    try:
        assert journal.before_send(ticket("run1-1", account_id=7, source="alpha")) is None
        Journal(tmp_path / "k.db").close()
        with sqlite3.connect(tmp_path / "k.db", isolation_level=None) as conn:
            assert fold_intents(conn, journal.intents_path).folded == 1
    finally:
        blocker.set()
    journal.close()
    with JournalReader(tmp_path / "k.db") as reader:
        [request] = reader.requests()
    assert (request.cl_ord_id, request.account_id, request.source) == ("run1-1", 7, "alpha")


def test_a_request_that_cannot_be_written_ahead_is_refused_never_raised(
        tmp_path: Path) -> None:
    alerts = AlertLog()
    journal = Journal(tmp_path / "j.db", alerts=alerts)
    refusal = journal.before_send(ticket("run1-1", qty=object()))  # cannot be encoded
    assert refusal is not None
    assert refusal.startswith("journal cannot write the request ahead")
    assert journal.before_send(ticket("run1-2", kind=TicketKind.CANCEL, qty=object())) is None
    assert journal.intent_failure is not None
    assert journal.before_send(ticket("run1-3")) is None  # the next one is written: resumed
    assert journal.intent_failure is None
    assert [(a.key, a.severity) for a in alerts.recent] == [
        ("journal.write_failed", Severity.URGENT), ("journal.write_resumed", Severity.ROUTINE)]
    journal.close()


def test_an_intent_cut_short_is_counted_and_alerted(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = Journal(path)
    journal.before_send(ticket("run1-1"))
    # the process dies; a power cut had torn the last line of the file
    with journal.intents_path.open("ab") as handle:
        handle.write(b'[1,17000,"run1-2","PLA')
    alerts = AlertLog()
    reopened = Journal(path, alerts=alerts)
    assert (reopened.folded.folded, reopened.folded.unreadable) == (1, 1)
    assert [(a.key, a.severity) for a in alerts.recent] == [
        ("journal.intents_unreadable", Severity.URGENT)]
    assert [r.cl_ord_id for r in reopened.previous.unacknowledged] == ["run1-1"]
    reopened.close()


def test_records_after_close_are_ignored(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    assert journal.close()
    journal.connection("md", "late")  # no error, nothing written
    assert not journal.flush()
    with JournalReader(tmp_path / "j.db") as reader:
        assert reader.connections() == ()


# ---------------------------------------------------------------------- settings


def test_journal_and_recording_settings_validate_and_resolve_paths(tmp_path: Path) -> None:
    from tradovate_api.errors import ConfigError
    from tradovate_api.settings import Settings, load_settings, settings_from_mapping

    file = tmp_path / "settings.toml"
    file.write_text('[journal]\npath = "j/journal.db"\nsynchronous = "FULL"\n'
                    '[recording]\nenabled = true\ndirectory = "md"\nflush_seconds = 0.5\n')
    settings = load_settings(file)
    assert settings.journal.path == str(tmp_path / "j" / "journal.db")
    assert settings.journal.synchronous == "FULL"
    assert settings.recording.enabled
    assert settings.recording.directory == str(tmp_path / "md")
    assert Settings().journal.enabled
    assert not Settings().recording.enabled
    for raw, message in (({"journal": {"synchronous": "OFF"}}, "journal.synchronous"),
                         ({"journal": {"path": " "}}, "journal.path: empty"),
                         ({"recording": {"flush_seconds": 0}}, "recording.flush_seconds"),
                         ({"recording": {"level": 30}}, "recording.level"),
                         ({"recording": {"compress": True}}, "recording.compress: unknown")):
        with pytest.raises(ConfigError, match=message):
            settings_from_mapping(raw)


def test_a_version_3_journal_opens_and_gains_the_latency_stamps(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    with sqlite3.connect(path, isolation_level=None) as conn:
        migrate(conn, MIGRATIONS[:3])  # written before the stamps existed
        conn.execute("INSERT INTO requests (cl_ord_id, run_id, created_ns, kind, sent, state, "
                     "updated_ns) VALUES ('old-1', 1, 5, 'PLACE', 1, 'ACKED', 5)")
    Journal(path).close()
    with JournalReader(path) as reader:
        (old,) = reader.requests()
    assert old.state == "ACKED"
    assert (old.frame_ns, old.sent_ns, old.filled_ns) == (None, None, None)  # not measured


def test_a_tickets_latency_stamps_are_stored_and_kept(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    order = ticket("run1-1", frame_ns=100, decoded_ns=104, decided_ns=110, checked_ns=130,
                   sent_ns=150)
    journal.ticket(order)  # sent
    set_state(order, TicketState.ACKED)
    OrderTicket.__dict__["answered_ns"].__set__(order, 350)
    journal.ticket(order)  # answered
    OrderTicket.__dict__["filled_ns"].__set__(order, 500)
    journal.ticket_stamps(order)  # its first fill: no state change
    timer = ticket("run1-2", decided_ns=200, checked_ns=220, sent_ns=240)  # not on md
    journal.ticket(timer)
    journal.ticket(ticket("run1-3", TicketState.REFUSED, decided_ns=300))  # never sent
    assert journal.close()
    with JournalReader(tmp_path / "j.db") as reader:
        rows = {r.cl_ord_id: r for r in reader.requests()}
    first = rows["run1-1"]
    assert (first.frame_ns, first.decoded_ns, first.decided_ns, first.checked_ns,
            first.sent_ns, first.answered_ns, first.filled_ns) == (
        100, 104, 110, 130, 150, 350, 500)
    assert (rows["run1-2"].frame_ns, rows["run1-2"].decoded_ns) == (None, None)
    assert rows["run1-2"].sent_ns == 240
    refused = rows["run1-3"]
    assert (refused.decided_ns, refused.checked_ns, refused.sent_ns) == (300, None, None)
