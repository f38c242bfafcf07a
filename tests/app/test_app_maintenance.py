"""A Tradovate maintenance window (sockets closed with ``shutdown`` Maintenance, then 503 to
every reconnect until it ends, reference §7.3-§7.4) is not a failure: the run waits it out
and reconnects, with the shipped reconnect settings (circuit breaker and back-off)."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from app_helpers import Recorder, make_app, make_settings, running

from tradovate_api.runtime import SupervisorOptions
from tradovate_api.simulator import Simulator


@pytest.mark.timeout(120)
async def test_a_maintenance_window_with_shipped_breaker_settings_is_waited_out(
        sim: Simulator, tmp_path: Path) -> None:
    settings = make_settings(sim, tmp_path)
    # The shipped breaker and back-off; only the pause after a maintenance shutdown is short
    # (30 s shipped) so that the window outlasts it by the same margin in less time.
    supervision = dataclasses.replace(SupervisorOptions.from_settings(settings),
                                      maintenance_delay=0.5)
    app = make_app(sim, settings, Recorder(), supervisor_options=supervision)
    async with running(app) as run:
        md, trading = app.md, app.trading
        assert md is not None
        assert trading is not None
        await sim.maintenance(20.0)
        async with asyncio.timeout(60):
            while not (md.ready_count >= 2 and trading.ready_count >= 2):
                assert not run.task.done(), app.supervisor.exit_reason
                await asyncio.sleep(0.2)
        assert run.code is None
