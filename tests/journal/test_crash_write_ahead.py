"""The real app killed with SIGKILL at the worst moments, against the simulator, then
restarted:

* right after sending an order while the journal's writer thread is held up (the SQLite
  journal has not got the request yet): the write-ahead file has it, and the restart report
  says the server executed it;
* between writing the request ahead and writing its frame: the restart report says its
  outcome is unknown (the server never heard of it, but a snapshot cannot prove that), new
  orders in its contract wait, and the server's order list read after the grace period settles
  it not placed;
* with orders working: the restart cancels the ones the killed run placed, keeps its
  protective stop (the position is still open) and leaves a human's order alone;
* with an order strategy's target and stop working after its entry filled: the restart knows
  them for the killed run's (they carry only the strategy's ``customTag50``) and keeps both.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from pathlib import Path

import msgspec
import pytest
from crash_helpers import (
    SIM,
    account_of,
    child,
    child_settings,
    follow,
    line_starting,
    market_clock,
    truth,
)

from tradovate_api.journal import JournalReader, ReconciliationReport
from tradovate_api.protocol.models import Order, PlaceOrder
from tradovate_api.simulator import Simulator


async def restart_report(settings: str, sim: Simulator
                         ) -> tuple[ReconciliationReport, list[list[str]]]:
    async with child("report", settings, sim) as proc:
        words = await line_starting(proc, "REPORT")
        alerts = await line_starting(proc, "ALERTS")
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    report = msgspec.json.decode(" ".join(words[1:]), type=ReconciliationReport)
    return report, json.loads(" ".join(alerts[1:]))


@pytest.mark.timeout(120)
async def test_an_order_sent_while_the_journal_writer_is_held_up_survives_kill_9(
        tmp_path: Path) -> None:
    journal_path = tmp_path / "state" / "journal.db"
    async with Simulator(SIM, seed=12, clock=market_clock()) as sim:
        settings = child_settings(sim, tmp_path)
        user_id, _ = account_of(sim)
        async with child("blocked", settings, sim) as proc:
            await line_starting(proc, "READY")
            holder = sqlite3.connect(journal_path, isolation_level=None, timeout=10)
            holder.execute("BEGIN EXCLUSIVE")  # the app's journal writer now waits
            try:
                proc.send_signal(signal.SIGUSR1)
                _, sent_cl, state = await line_starting(proc, "SENT")
                assert state == "pending"
                for _ in range(200):  # bounded: until the server has executed it
                    if sent_cl in truth(sim, user_id)["commands"]:
                        break
                    await asyncio.sleep(0.02)
                proc.send_signal(signal.SIGKILL)
                assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
            finally:
                holder.execute("ROLLBACK")
                holder.close()
        placed = truth(sim, user_id)["commands"][sent_cl]
        with JournalReader(journal_path) as reader:  # SQLite never got the request
            assert sent_cl not in {r.cl_ord_id for r in reader.requests()}
        report, _ = await restart_report(settings, sim)

    [unacked] = [u for u in report.unacknowledged if u.cl_ord_id == sent_cl]
    assert (unacked.journal_state, unacked.outcome, unacked.order_id) == (
        "INTENT", "placed", placed.order_id)
    assert (unacked.kind, unacked.action, unacked.qty) == ("PLACE", "Buy", 1)
    assert unacked.trigger == "sent just before the crash"
    with JournalReader(journal_path) as reader:
        request = {r.cl_ord_id: r for r in reader.requests()}[sent_cl]
    assert (request.state, request.order_id) == ("ACKED", placed.order_id)


@pytest.mark.timeout(120)
async def test_killed_between_writing_ahead_and_sending_the_request_is_not_placed(
        tmp_path: Path) -> None:
    async with Simulator(SIM, seed=13, clock=market_clock()) as sim:
        settings = child_settings(sim, tmp_path, risk={
            "max_position": 3, "max_orders_per_second": 20.0, "max_daily_loss": 1e9,
            "unknown_order_grace_seconds": 3.0})
        user_id, _ = account_of(sim)
        async with child("ahead", settings, sim) as proc:
            _, cl_ord_id, refusal = await line_starting(proc, "DYING")
            assert refusal == "None"
            assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
        assert cl_ord_id not in truth(sim, user_id)["commands"]  # the frame never left
        followed = await follow(settings, sim)
        assert cl_ord_id not in truth(sim, user_id)["commands"]

    report = followed.report
    assert report.previous_run_crashed
    [unacked] = report.unacknowledged
    assert (unacked.cl_ord_id, unacked.journal_state, unacked.outcome) == (
        cl_ord_id, "INTENT", "unknown")  # a snapshot without it proves nothing
    assert f"clOrdId={cl_ord_id} -> unknown (not in the snapshot" in "\n".join(report.lines())
    state, reason = followed.probe
    assert (state, reason.startswith(f"blocked: the outcome of place {cl_ord_id}")) == (
        "refused", True)
    # The server's order list, read after the grace period from its sending, settles it.
    earlier_state, order_id, why = followed.earlier[cl_ord_id]
    assert (earlier_state, order_id) == ("not_placed", None)
    assert "the server's order list" in why
    assert ["urgent", "journal.restart_differences",
            "Restart: the server's account differs from the journal"] in followed.alerts
    with JournalReader(tmp_path / "state" / "journal.db") as reader:
        request = {r.cl_ord_id: r for r in reader.requests()}[cl_ord_id]
        assert reader.unacknowledged() == ()
    assert request.state == "NOT_PLACED"


@pytest.mark.timeout(150)
async def test_orders_a_killed_run_left_working_are_cancelled_except_its_protective_stop(
        tmp_path: Path) -> None:
    async with Simulator(SIM, seed=14, clock=market_clock()) as sim:
        settings = child_settings(sim, tmp_path, risk={
            "max_position": 3, "max_order_qty": 2, "max_orders_per_second": 20.0,
            "max_daily_loss": 1e9})
        user_id, account_id = account_of(sim)
        async with child("leave", settings, sim) as proc:
            words = await line_starting(proc, "LEFT")
            proc.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
        left = {name: int(order_id) for name, (_, order_id) in
                json.loads(" ".join(words[1:])).items()}
        es = next(i for i in sim.catalog if i.product.name == "ES")
        book = sim.generator.books[es.contract_id]
        assert book.offers
        human, _ = sim.exchange.place_order(user_id, PlaceOrder(  # someone on a phone
            action="Sell", symbol=es.name, order_qty=1, order_type="Limit",
            price=book.offers[0].price + 200 * es.tick_size, account_id=account_id,
            cl_ord_id="phone-app-1"))
        assert human.order_id is not None

        report, alerts = await restart_report(settings, sim)
        orders: dict[int, Order] = truth(sim, user_id)["orders"]

    status = {name: orders[order_id].ord_status for name, order_id in left.items()}
    assert status == {"stop": "Working", "target": "Canceled", "entry": "Canceled"}
    assert orders[human.order_id].ord_status == "Working"  # not this app's: left alone
    decisions = {w.order_id: (w.ours, w.decision) for w in report.working_orders}
    assert decisions == {left["stop"]: (True, "keep"), left["target"]: (True, "cancel"),
                         left["entry"]: (True, "cancel"), human.order_id: (False, "leave")}
    text = "\n".join(report.lines())
    assert "protective stop of the open position +2" in text
    keys = {key: severity for severity, key, _ in alerts}
    assert keys["journal.restart_differences"] == "urgent"  # the stop stays: a human looks
    assert keys["journal.previous_orders"] == "routine"
    titles = [title for _, key, title in alerts if key == "journal.previous_orders"]
    assert titles == ["Start: cancelled 2 of 2 working orders left by an earlier run"]


@pytest.mark.timeout(150)
async def test_an_order_strategys_exits_left_by_a_killed_run_are_known_and_kept(
        tmp_path: Path) -> None:
    async with Simulator(SIM, seed=15, clock=market_clock()) as sim:
        settings = child_settings(sim, tmp_path)
        user_id, _ = account_of(sim)
        async with child("strategy", settings, sim) as proc:
            await line_starting(proc, "READY")
            # Its answer is lost: the reconnect's snapshot settles it, with its entry's
            # order id, which the journal records (the entry has filled by then).
            sim.faults.arm("lost_answer", count=1)
            proc.send_signal(signal.SIGUSR1)
            words = await line_starting(proc, "LEFT")
            proc.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
        left = json.loads(" ".join(words[1:]))
        report, _ = await restart_report(settings, sim)
        orders: dict[int, Order] = truth(sim, user_id)["orders"]

    assert orders[left["entry"]].ord_status == "Filled"
    with JournalReader(tmp_path / "state" / "journal.db") as reader:
        request = {r.cl_ord_id: r for r in reader.requests()}[left["cl_ord_id"]]
    assert (request.state, request.order_id) == ("ACKED", left["entry"])
    legs = {w.order_id: w for w in report.working_orders if w.order_id in left["legs"]}
    assert set(legs) == set(left["legs"])
    assert {(w.ours, w.cl_ord_id, w.decision) for w in legs.values()} == {
        (True, left["cl_ord_id"], "keep")}  # the stop protects +1; the target is OCO with it
    assert {w.order_type for w in legs.values()} == {"Limit", "Stop"}
    assert [orders[i].ord_status for i in left["legs"]] == ["Working", "Working"]
