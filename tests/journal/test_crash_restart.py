"""Done-when: the trading app is killed with SIGKILL mid-session against the simulator and
restarted. No order or fill is lost from the journal, its positions match the simulator's,
and the restart report lists what happened while it was down (an order sent but never
acknowledged, fills while down)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import msgspec
import pytest
from crash_helpers import SIM, account_of, child, child_settings, line_starting, market_clock, truth

from tradovate_api.journal import JournalReader, ReconciliationReport
from tradovate_api.protocol.models import Command, Fill, Order, Position, Tick
from tradovate_api.recording import (
    RecordingError,
    RecordingReader,
    ReferenceNote,
    StrategyNote,
    recording_files,
)
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.book import MarketUpdate


async def flushed_strategy_note(directory: Path) -> None:
    """Wait (bounded) until the recorder's writer thread, which runs at a lower priority
    and flushes every 50 ms, has put the strategy's start on disk: what the kill may not
    take back is what was flushed, and on a loaded machine that can lag the trading."""
    def flushed() -> bool:
        files = recording_files([directory]) if directory.exists() else []
        try:
            return bool(files) and StrategyNote("started") in [
                item for _, item in RecordingReader(files[0]).entries()]
        except RecordingError:  # created, its header not flushed yet
            return False

    for _ in range(200):
        if await asyncio.to_thread(flushed):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the recorder never flushed the strategy's start")


@pytest.mark.timeout(120)
async def test_kill_9_and_restart_loses_nothing_and_reports_what_happened(
        tmp_path: Path) -> None:
    async with Simulator(SIM, seed=11, clock=market_clock()) as sim:
        settings = child_settings(sim, tmp_path)
        user_id, account_id = account_of(sim)

        # Run 1: trade, leave a sell limit resting, send one more order into silence, die.
        async with child("trade", settings, sim) as proc:
            _, resting_cl, resting_id, price = await line_starting(proc, "RESTING")
            await flushed_strategy_note(tmp_path / "md")
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
