"""``tradovate-api journal show`` / ``journal export`` on a journal with a crash and a restart;
``journal forget-high-water`` on the trailing high-water it keeps."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from journal_helpers import World

from tradovate_api.cli import main
from tradovate_api.journal import Journal, JournalReader, JournalReconciler
from tradovate_api.orders.tickets import OrderTicket, TicketKind


def crashed_and_restarted(path: Path) -> World:
    world = World()
    journal = Journal(path, label="first")
    _, events = world.place("Buy", 1, cl_ord_id="r1-1")
    for event in events:
        journal.account_event(event)
    journal.ticket(OrderTicket(cl_ord_id="r1-2", kind=TicketKind.PLACE, symbol="ESZ6",
                               contract_id=3001, action="Sell", qty=1, order_type="Market",
                               trigger="exit signal"))
    journal.close(clean=False)
    world.place("Sell", 1, cl_ord_id="r1-2")  # the exchange had it; the journal never heard
    journal = Journal(path, label="second")
    JournalReconciler(journal).on_sync(world.sync(), 1)
    journal.close()
    return world


def test_show_lists_runs_the_restart_report_and_decisions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "journal.db"
    crashed_and_restarted(path)
    assert main(["journal", "show", "--path", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 runs" in out
    assert "ended uncleanly" in out
    assert "sent, never acknowledged: 0" in out  # settled by the restart reconciliation
    assert "latest restart reconciliation" in out
    assert "clOrdId=r1-2 -> placed as order" in out
    assert "fill while down: Sell 1" in out
    assert "r1-2 PLACE Sell 1 ESZ6 -> ACKED: exit signal" in out


def test_export_fills_and_requests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "journal.db"
    crashed_and_restarted(path)
    assert main(["journal", "export", "fills", str(tmp_path / "fills.csv"), "--path",
                 str(path)]) == 0
    with (tmp_path / "fills.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((r["action"], r["source"]) for r in rows) == [("Buy", "event"),
                                                                 ("Sell", "sync")]
    assert main(["journal", "export", "requests", str(tmp_path / "req.parquet"), "--path",
                 str(path)]) == 0
    assert pq.read_table(tmp_path / "req.parquet").column("trigger").to_pylist() == [
        "exit signal"]
    assert main(["journal", "show", "--path", str(tmp_path / "none.db")]) == 1
    assert "no journal" in capsys.readouterr().err


def test_the_kept_high_water_is_shown_and_forgotten_for_one_account(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "journal.db"
    journal = Journal(path)
    journal.trailing(7, 52_000.0, "intraday", 2_000.0, None)
    journal.trailing(8, 25_500.0, "eod", 1_500.0, "2026-07-15")
    assert journal.close()
    assert main(["journal", "show", "--path", str(path)]) == 0
    out = capsys.readouterr().out
    assert "account 7: 52,000.00 (intraday, drawdown 2,000.00; recorded " in out
    assert "account 8: 25,500.00 (eod, drawdown 1,500.00, last rolled 2026-07-15;" in out

    # After the firm reset account 7: forget it; account 8 keeps its high-water.
    assert main(["journal", "forget-high-water", "7", "--path", str(path)]) == 0
    assert "account 7: forgot 52,000.00" in capsys.readouterr().out
    with JournalReader(path) as reader:
        assert list(reader.trailing()) == [8]

    assert main(["journal", "forget-high-water", "7", "--path", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "journal: no trailing high-water kept for account 7 (kept for: 8)"
    assert main(["journal", "forget-high-water", "--path", str(path)]) == 1
    assert "give an account id or --all" in capsys.readouterr().err
    assert main(["journal", "forget-high-water", "--all", "--path", str(path)]) == 0
    with JournalReader(path) as reader:
        assert reader.trailing() == {}
