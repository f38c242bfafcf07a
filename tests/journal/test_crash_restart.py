"""Done-when: the trading app is killed with SIGKILL mid-session against the simulator and
restarted. No order or fill is lost from the journal, its positions match the simulator's,
and the restart report lists what happened while it was down (an order sent but never
acknowledged, fills while down)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tradovate_api.journal import JournalReader, ReconciliationReport
from tradovate_api.protocol.models import Command, Fill, Order, Position, Tick
from tradovate_api.recording import (
    RecordingReader,
    ReferenceNote,
    StrategyNote,
    recording_files,
)
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.book import MarketUpdate
from tradovate_api.simulator.calendar import open_clock

CHILD = Path(__file__).with_name("app_child.py")
SIM = SimulatorConfig(tick_interval=0.02, warm_up=60.0)
LIMIT = 60.0


def child_settings(sim: Simulator, tmp_path: Path) -> str:
    es, nq = (next(i.name for i in sim.catalog if i.product.name == p) for p in ("ES", "NQ"))
    return msgspec.json.encode({
        "environment": "sim",
        "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
        "instruments": [es, nq],
        "log": {"path": str(tmp_path / "app.jsonl")},
        "auth": {"token_cache": str(tmp_path / "token.json")},
        "reports": {"enabled": False, "directory": str(tmp_path / "reports")},
        "risk": {"max_position": 3, "max_orders_per_second": 20.0, "max_daily_loss": 1e9},
        "connection": {"heartbeat_seconds": 0.2, "silence_timeout_seconds": 5.0},
        "shutdown": {"cancel_working_orders": False, "timeout_seconds": 5.0},
        "journal": {"path": str(tmp_path / "state" / "journal.db")},
        "recording": {"enabled": True, "directory": str(tmp_path / "md"),
                      "flush_seconds": 0.05},
    }).decode()


@contextlib.asynccontextmanager
async def child(mode: str, settings: str,
                sim: Simulator) -> AsyncIterator[asyncio.subprocess.Process]:
    """The app in a child process, on the simulator's clock (passed as its offset)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    offset = repr(sim.clock() - time.time())
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), mode, settings, offset, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL, env=env)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await asyncio.wait_for(proc.wait(), 10)


async def line_starting(proc: asyncio.subprocess.Process, word: str) -> list[str]:
    assert proc.stdout is not None
    async with asyncio.timeout(LIMIT):
        while True:
            line = (await proc.stdout.readline()).decode()
            if not line:
                raise AssertionError(f"child ended before printing {word}")
            if line.startswith(word + " "):
                return line.split()


def account_of(sim: Simulator) -> tuple[int, int]:
    user = next(u for u in sim.exchange.users() if u.name == "sim")
    return user.id, sim.exchange.accounts_of(user.id)[0].id


def truth(sim: Simulator, user_id: int) -> dict[str, Any]:
    snapshot = sim.exchange.sync(user_id)
    return {"fills": {f.id: f for f in snapshot.fills},
            "orders": {o.id: o for o in snapshot.orders},
            "commands": {c.cl_ord_id: c for c in snapshot.commands if c.cl_ord_id},
            "positions": {(p.account_id, p.contract_id): p for p in snapshot.positions}}


@pytest.mark.timeout(120)
async def test_kill_9_and_restart_loses_nothing_and_reports_what_happened(
        tmp_path: Path) -> None:
    async with Simulator(SIM, seed=11, clock=open_clock()) as sim:
        settings = child_settings(sim, tmp_path)
        user_id, account_id = account_of(sim)

        # Run 1: trade, leave a sell limit resting, send one more order into silence, die.
        async with child("trade", settings, sim) as proc:
            _, resting_cl, resting_id, price = await line_starting(proc, "RESTING")
            sim.faults.silent = True  # the server acts on requests; no answer gets out
            proc.send_signal(signal.SIGUSR1)
            _, sent_cl, sent_state = await line_starting(proc, "SENT")
            proc.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(proc.wait(), 10) == -signal.SIGKILL
        sim.faults.silent = False
        assert sent_state == "pending"

        with JournalReader(tmp_path / "state" / "journal.db") as reader:
            fills_before = set(reader.fills())
            assert {r.cl_ord_id for r in reader.unacknowledged()} == {sent_cl}
            assert [r.clean for r in reader.runs()] == [False]

        # While down, the market trades through the resting sell limit.
        order = sim.exchange.item("order", int(resting_id), user_id)
        assert isinstance(order, Order)
        contract = sim.catalog.by_id(order.contract_id)
        assert contract is not None
        level = float(price)
        now_ms = int(sim._clock() * 1000)
        tick = Tick(10_000_000, now_ms, round(level / contract.tick_size), level, 5.0)
        sim.exchange.on_market(MarketUpdate(now_ms, trades=[(contract.contract_id, tick)]))
        expected = truth(sim, user_id)
        assert sent_cl in expected["commands"], "the simulator never got the last order"
        missed_ids = set(expected["fills"]) - fills_before
        assert len(missed_ids) == 2  # the unacknowledged buy and the resting sell

        # Run 2: restart; the first snapshot is reconciled with the journal.
        async with child("report", settings, sim) as proc:
            words = await line_starting(proc, "REPORT")
            assert await asyncio.wait_for(proc.wait(), 30) == 0
        report = msgspec.json.decode(" ".join(words[1:]), type=ReconciliationReport)

    assert report.previous_run_crashed
    [unacked] = report.unacknowledged
    placed: Command = expected["commands"][sent_cl]
    assert (unacked.cl_ord_id, unacked.outcome, unacked.order_id) == (
        sent_cl, "placed", placed.order_id)
    assert {f.fill_id for f in report.missed_fills} == missed_ids
    assert {f.order_id for f in report.missed_fills} == {placed.order_id, int(resting_id)}
    assert any(c.order_id == int(resting_id) and c.after == "Filled"
               for c in report.order_changes)
    assert [(p.journal_net_pos, p.server_net_pos) for p in report.positions] == [(1, 1)]
    assert report.positions[0].server_bought == 2
    lines = "\n".join(report.lines())
    assert f"clOrdId={sent_cl} -> placed as order {placed.order_id}" in lines

    with JournalReader(tmp_path / "state" / "journal.db") as reader:
        fills = reader.fills()
        positions = reader.last_positions()
        requests = {r.cl_ord_id: r for r in reader.requests()}
        runs = reader.runs()
        reconciliations = [(r.kind, r.changed) for r in reader.reconciliations()]
    # Nothing lost: every fill and every order of ours the simulator has is in the journal.
    server_fills: dict[int, Fill] = expected["fills"]
    assert set(fills) == set(server_fills)
    for fill_id, fill in server_fills.items():
        assert (fills[fill_id].qty, fills[fill_id].price) == (fill.qty, fill.price)
    assert set(expected["commands"]) <= set(requests)
    assert requests[sent_cl].state == "ACKED"
    assert requests[resting_cl].state == "ACKED"
    # Positions match the simulator.
    server_positions: dict[tuple[int, int], Position] = expected["positions"]
    assert {k: (p.net_pos, p.bought, p.sold) for k, p in positions.items()} == {
        k: (p.net_pos, p.bought, p.sold) for k, p in server_positions.items()
        if k[0] == account_id}
    assert [r.clean for r in runs] == [False, True]
    assert reconciliations == [("restart", False), ("restart", True)]  # one per run

    # The first run's md recording survived the kill (up to its last flush).
    files = recording_files([tmp_path / "md"])  # the second run may stop before any frame
    assert 1 <= len(files) <= 2
    entries = list(RecordingReader(files[0]).entries())
    assert any(isinstance(item, bytes) for _, item in entries)
    assert any(isinstance(item, ReferenceNote) for _, item in entries)
    assert StrategyNote("started") in [item for _, item in entries]
