"""Chart history reaches the market store as history whichever id the server sends it
under: Tradovate's own example clients imply the realtime id, the reference allows either
(reference §4.5-4.8), and the simulator can do both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from app_helpers import Recorder, make_app, make_settings, running
from conftest import FAST_MARKET

from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.stores import TradesAdded


class Noting:
    """The app's market-store writer, noting every ``TradesAdded`` it reports."""

    def __init__(self, writer: Any, changes: list[TradesAdded]) -> None:
        self._writer = writer
        self._changes = changes

    def apply(self, event: Any) -> Any:
        result = self._writer.apply(event)
        self._changes.extend(c for c in result if isinstance(c, TradesAdded))
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._writer, name)


@pytest.mark.parametrize("history_id", ["realtime", "historical"])
async def test_chart_history_under_either_id_is_kept_as_history(
        tmp_path: Path, history_id: str) -> None:
    config = msgspec.structs.replace(FAST_MARKET, chart_history_id=history_id)
    async with Simulator(config, seed=11, clock=open_clock()) as sim:
        es = next(i for i in sim.catalog if i.product.name == "ES")
        history = {t.id for t in sim.generator.ticks(es.contract_id)}  # traded before we came
        assert len(history) > 20
        strategy = Recorder()
        app = make_app(sim, make_settings(sim, tmp_path), strategy)
        changes: list[TradesAdded] = []
        app._readers._md_writer = Noting(app._readers._md_writer, changes)  # type: ignore[assignment]

        def live_trades() -> set[int]:
            return {t.id for c in changes if c.realtime and c.contract_id == es.contract_id
                    for t in c.trades}

        async with running(app):
            await strategy.until(lambda: bool(live_trades() - history), limit=10.0)
            stored = {t.id for t in app.market.trades(es.contract_id)}
        assert history <= stored  # the whole history was kept ...
        assert not live_trades() & history  # ... as history, not as real-time prints
