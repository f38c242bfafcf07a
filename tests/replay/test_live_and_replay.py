"""Done-when: the same strategy class, unchanged, runs live against the simulator (the real
TradingApp, recording its market data) and then in replay on that recording, and decides the
same things at the same moments."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from replay_strategies import Alternating

from tradovate_api.alerts import AlertLog
from tradovate_api.recording import ChartNote, MdRecorder, RecordingReader, recording_files
from tradovate_api.replay import ReplayConfig, run_replay
from tradovate_api.runtime.app import TradingApp
from tradovate_api.runtime.recording_attach import attach_recorder
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import settings_from_mapping
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock


@pytest.mark.timeout(90)
async def test_the_same_strategy_decides_the_same_live_and_in_replay(tmp_path: Path) -> None:
    params = {"every": 8}
    async with Simulator(SimulatorConfig(tick_interval=0.02, warm_up=60.0), seed=4,
                         clock=open_clock()) as sim:
        es, nq = (next(i.name for i in sim.catalog if i.product.name == p) for p in ("ES", "NQ"))
        settings = settings_from_mapping({
            "environment": "sim",
            "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
            "instruments": [es, nq], "strategy": params,
            "log": {"path": str(tmp_path / "app.jsonl")},
            "auth": {"token_cache": str(tmp_path / "token.json")},
            "reports": {"enabled": False, "directory": str(tmp_path / "reports")},
            "risk": {"max_orders_per_second": 50.0, "max_daily_loss": 1e9},
            "journal": {"enabled": False},
        })
        live = Alternating()
        app = TradingApp(settings, TradovateCredentials(name="sim", password=Secret("sim")),
                         live, alerts=AlertLog(), handle_signals=False, duration=4.0,
                         clock=lambda: int(sim.clock() * 1000))
        attach_recorder(app, MdRecorder(tmp_path / "md", flush_interval=0.05,
                                        clock_ns=lambda: int(sim.clock() * 1_000_000_000)))
        async with asyncio.timeout(60):
            assert await app.run() == 0
        assert app.orders is not None
        # The strategy's decisions. The framework's protective stops (on, as shipped) come and
        # go with the wall clock in live trading and with the recording's in replay.
        live_decisions = [(t.created_ms, t.action, t.trigger) for t in app.orders.tickets.values()
                          if not t.protective]
    assert len(live_decisions) >= 4
    assert {a for _, a, _ in live_decisions} == {"Buy", "Sell"}

    files = recording_files([tmp_path / "md"])
    charts = [n for f in files for _, n in RecordingReader(f).entries()
              if isinstance(n, ChartNote)]
    assert charts
    assert {n.history_first for n in charts} == {True}  # as the app registered them
    replayed = Alternating()
    result = await run_replay(files, replayed,
                              ReplayConfig(params=params, risk=settings.risk))
    decisions = [d for d in result.decisions if not d.cl_ord_id.endswith("-ps")]
    replay_decisions = [(d.created_ms, d.action, d.trigger) for d in decisions]
    # Live trading stopped at shutdown; the recording may run a few frames longer.
    assert len(live_decisions) <= len(replay_decisions) <= len(live_decisions) + 1
    pairs = list(zip(live_decisions, replay_decisions, strict=False))
    assert [lv[1:] for lv, _ in pairs] == [rp[1:] for _, rp in pairs]  # same quote, same side
    # Live decides on its clock a moment after the frame arrived; replay on its arrival.
    assert all(0 <= lv[0] - rp[0] <= 5 for lv, rp in pairs)
    assert all(d.state == "acked" for d in decisions)
