"""Defect 1 across a restart: the real app sends an order whose socket the exchange cuts at
once, and is killed with SIGKILL. The exchange executes the order seconds later — after the
restarted app's first snapshot (the simulator's ``late_execution``). The restart must not take
"not in the snapshot" for "not placed": the request stays unknown and blocks new orders in its
contract until it appears (then it is matched, its entry cancelled or its position protected)
or the server's order list, read a grace period after it was sent, proves it absent.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest
from crash_helpers import (
    SIM,
    Followed,
    account_of,
    child,
    child_settings,
    follow,
    line_starting,
    market_clock,
)

from tradovate_api.journal import JournalReader
from tradovate_api.protocol.models import Command
from tradovate_api.simulator import Simulator

DELAY = 15.0
"""Seconds after the cut at which the exchange executes the order: after the restart's first
snapshot (the restarted app needs a few seconds to log in and sync)."""
GRACE = 60.0
"""``risk.unknown_order_grace_seconds``: the exchange executes within it (ADR 0006)."""
RISK = {"max_position": 3, "max_orders_per_second": 20.0, "max_daily_loss": 1e9,
        "unknown_order_grace_seconds": GRACE}


async def killed_with_an_order_in_flight(sim: Simulator, settings: str, mode: str) -> str:
    """Run the app, arm ``late_execution``, have it buy, kill it: the client order id."""
    async with child(mode, settings, sim) as proc:
        await line_starting(proc, "READY")
        sim.faults.arm("late_execution", count=1, min_delay=DELAY, max_delay=DELAY)
        proc.send_signal(signal.SIGUSR1)
        _, cl_ord_id, _ = await line_starting(proc, "SENT")  # the journal has it
        proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
    return cl_ord_id


def commands_of(sim: Simulator, user_id: int, cl_ord_id: str) -> list[Command]:
    return [c for c in sim.exchange.sync(user_id).commands if c.cl_ord_id == cl_ord_id]


async def executed(sim: Simulator, user_id: int, cl_ord_id: str) -> list[Command]:
    """The commands carrying ``cl_ord_id`` once the exchange has executed it (bounded)."""
    for _ in range(int(DELAY * 20) + 200):
        found = commands_of(sim, user_id, cl_ord_id)
        if found:
            return found
        await asyncio.sleep(0.05)
    return []


def check_followed_until_executed(followed: Followed, cl_ord_id: str,
                                  commands: list[Command]) -> int:
    """The restart followed the request until it appeared; the order it created."""
    [unacked] = [u for u in followed.report.unacknowledged if u.cl_ord_id == cl_ord_id]
    assert (unacked.journal_state, unacked.outcome, unacked.order_id) == (
        "PENDING", "unknown", None)  # not in the first snapshot: that proves nothing
    assert "not in the snapshot" in "\n".join(followed.report.lines())
    state, reason = followed.probe  # meanwhile the contract is blocked, as in the run
    assert state == "refused"
    assert reason.startswith(f"blocked: the outcome of place {cl_ord_id}")
    [placed] = commands  # exactly one: no duplicate
    assert followed.earlier[cl_ord_id][:2] == ["acked", placed.order_id]
    keys = {(severity, key) for severity, key, _ in followed.alerts}
    assert ("urgent", "journal.restart_differences") in keys
    assert ("urgent", "journal.earlier_request_executed") in keys
    return placed.order_id


@pytest.mark.timeout(180)
async def test_a_market_order_executed_after_the_restart_is_followed_and_protected(
        tmp_path: Path) -> None:
    async with Simulator(SIM, seed=21, clock=market_clock()) as sim:
        settings = child_settings(sim, tmp_path, risk=RISK)
        user_id, account_id = account_of(sim)
        cl_ord_id = await killed_with_an_order_in_flight(sim, settings, "late-market")
        assert commands_of(sim, user_id, cl_ord_id) == []  # not executed yet
        followed = await follow(settings, sim)
        commands = await executed(sim, user_id, cl_ord_id)
        snapshot = sim.exchange.sync(user_id)

    order_id = check_followed_until_executed(followed, cl_ord_id, commands)
    assert followed.decisions == []  # filled at once: nothing of it works any more
    order = next(o for o in snapshot.orders if o.id == order_id)
    [position] = [p for p in snapshot.positions
                  if p.account_id == account_id and p.contract_id == order.contract_id]
    assert position.net_pos == 1  # one buy, not two: the probe was refused
    protective = [c.order_id for c in snapshot.commands
                  if c.command_type == "New" and (c.cl_ord_id or "").endswith("-ps")]
    working = [o for o in snapshot.orders if o.id in protective and o.ord_status == "Working"]
    assert [(o.action, o.contract_id) for o in working] == [("Sell", order.contract_id)]
    with JournalReader(tmp_path / "state" / "journal.db") as reader:
        request = {r.cl_ord_id: r for r in reader.requests()}[cl_ord_id]
        assert reader.unacknowledged() == ()
    assert (request.state, request.order_id) == ("ACKED", order_id)


@pytest.mark.timeout(180)
async def test_an_entry_executed_after_the_restart_is_cancelled_like_one_left_working(
        tmp_path: Path) -> None:
    async with Simulator(SIM, seed=22, clock=market_clock()) as sim:
        settings = child_settings(sim, tmp_path, risk=RISK)
        user_id, _ = account_of(sim)
        cl_ord_id = await killed_with_an_order_in_flight(sim, settings, "late-limit")
        followed = await follow(settings, sim)
        commands = await executed(sim, user_id, cl_ord_id)
        orders = {o.id: o for o in sim.exchange.sync(user_id).orders}

    order_id = check_followed_until_executed(followed, cl_ord_id, commands)
    assert followed.decisions == [[order_id, "cancel"]]
    assert orders[order_id].ord_status == "Canceled"
    assert ["routine", "journal.previous_orders",
            "An earlier run's order, executed after the restart: cancel"] in followed.alerts
    with JournalReader(tmp_path / "state" / "journal.db") as reader:
        request = {r.cl_ord_id: r for r in reader.requests()}[cl_ord_id]
    assert (request.state, request.order_id) == ("ACKED", order_id)
