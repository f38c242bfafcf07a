"""Replaying a DBN file directly and replaying its imported recording give the same
backtest: the same decisions, fills, summary and report."""

from __future__ import annotations

from pathlib import Path

import msgspec

from tradovate_api.recording import recording_files
from tradovate_api.replay import ReplayConfig, run_replay
from tradovate_api.research.dbn_file import is_dbn
from tradovate_api.research.dbn_import import import_dbn
from tradovate_api.research.dbn_replay import dbn_entries
from tradovate_api.research.dbn_sample import write_sample
from tradovate_api.settings import Risk
from tradovate_api.strategies.reference import ReferenceStrategy

PARAMS = {"large_trade": 8.0, "ts_pressure_threshold": 5.0, "dom_threshold": 0.0,
          "trade_close_trigger": 60.0, "pressure_ratchet": False}


async def test_direct_and_imported_replays_are_the_same_backtest(tmp_path: Path) -> None:
    source = write_sample(tmp_path / "es.dbn.zst", "mbp-10", events=4_000, seed=9)
    assert is_dbn(source)
    import_dbn(source, tmp_path / "rec")
    config = ReplayConfig(params=PARAMS, slippage_ticks=1, latency_ms=2.0,
                          commissions={"ES": 2.09}, risk=Risk(max_daily_loss=1e9))
    imported = await run_replay(recording_files([tmp_path / "rec"]), ReferenceStrategy(),
                                config)
    direct = await run_replay([source], ReferenceStrategy(), config,
                              entries=dbn_entries([source]))
    assert imported.summary.fills > 0
    assert direct.decisions == imported.decisions
    assert direct.fills == imported.fills
    assert direct.equity == imported.equity
    timing = {"events_per_second": 0.0}
    assert msgspec.structs.replace(direct.summary, **timing) == msgspec.structs.replace(
        imported.summary, **timing)
    assert msgspec.json.encode(direct.report) == msgspec.json.encode(imported.report)
