"""A running app trades with its start-up heap frozen and gives it back when it ends."""

from __future__ import annotations

import gc
from pathlib import Path

from app_helpers import Recorder, make_app, make_settings, running

from tradovate_api.simulator import Simulator


async def test_the_start_up_heap_is_frozen_for_the_run_only(sim: Simulator,
                                                            tmp_path: Path) -> None:
    strategy = Recorder()
    app = make_app(sim, make_settings(sim, tmp_path), strategy)
    async with running(app) as run:
        await strategy.until(lambda: bool(strategy.of("quote")))
        assert app.frozen_objects > 1_000
        assert gc.get_freeze_count() > 1_000  # (frozen objects freed since drop out)
        code = await run.stop()
    assert code == 0
    assert app.frozen_objects == 0
    assert gc.get_freeze_count() == 0
