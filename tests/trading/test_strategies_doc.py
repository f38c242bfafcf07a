"""The complete example of docs/strategies.md runs: its code block, loaded as a module, trades
against the simulator through the dispatcher and the order manager — a bracket entry, then flat
again (bracket leg or time stop)."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

import pytest
from sim_rig import FAST_SIM, SimRig
from trading_helpers import TODAY

from tradovate_api.orders import TicketKind, TicketState
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.strategy import Strategy

DOC = Path(__file__).parents[2] / "docs" / "strategies.md"


def example_source() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- example: momentum\.py -->\n```python\n(.*?)```", text, re.DOTALL)
    assert match is not None, "the example block is missing from docs/strategies.md"
    return match.group(1)


async def test_the_documented_example_trades_against_the_simulator(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "momentum.py").write_text(example_source(), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("momentum")
    strategy = module.Momentum()
    assert isinstance(strategy, Strategy)
    params = {"threshold": 1, "target_ticks": 4, "stop_ticks": 4, "hold_seconds": 0.5}
    async with Simulator(FAST_SIM, today=TODAY, seed=21, clock=open_clock()) as sim, \
            SimRig(sim, strategy, params=params, charts=True) as rig:
        await rig.until(lambda: strategy.trades >= 2, limit=20.0)
        await rig.until(lambda: rig.ctx.position("ESZ6") == 0, limit=10.0)
        brackets = [t for t in rig.orders.tickets.values() if t.kind is TicketKind.OSO]
        assert len(brackets) >= 2
        assert all(t.state is TicketState.ACKED for t in brackets[:2])
        assert all(t.trigger.startswith("net volume ") for t in brackets)
        exits = [f for f in rig.account.fills()
                 if f.order_id not in {t.order_id for t in brackets}]
        assert exits, "a bracket leg or the time stop closed a trade"
        assert not rig.dispatcher.paused
    monkeypatch.delitem(sys.modules, "momentum")
