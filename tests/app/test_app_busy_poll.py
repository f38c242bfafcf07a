"""``connection.busy_poll`` in a running app: the spinning task is one of the supervised
tasks, the app trades as usual, and a clean shutdown stops it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from app_helpers import Recorder, make_app, make_settings, running

from tradovate_api.orders import TicketState
from tradovate_api.simulator import Simulator


@pytest.mark.parametrize("busy", [False, True], ids=["default", "busy-poll"])
async def test_busy_poll_runs_as_a_supervised_task_only_when_configured(
        sim: Simulator, tmp_path: Path, busy: bool) -> None:
    strategy = Recorder()
    app = make_app(sim, make_settings(sim, tmp_path, connection={"busy_poll": busy}), strategy)
    async with running(app) as run:
        await strategy.until(lambda: bool(strategy.of("quote")))
        orders = app.orders
        assert orders is not None
        ticket = orders.place(app.symbol, "Buy", 1, trigger="busy")
        await asyncio.wait_for(app.account_changed.until(
            lambda: ticket.state is TicketState.ACKED and bool(strategy.of("fill"))), 10)
        before = app.busy_poller.spins if app.busy_poller is not None else 0
        await asyncio.sleep(0.1)  # nothing to do: the loop keeps spinning (when configured)
        spun = (app.busy_poller.spins if app.busy_poller is not None else 0) - before
        code = await run.stop()
    assert code == 0
    assert ("busy poll" in app.supervisor.restarts) is busy
    assert (app.busy_poller is not None) is busy
    if busy:
        assert spun > 0
        assert app.busy_poller is not None
        after_stop = app.busy_poller.spins
        await asyncio.sleep(0.05)
        assert app.busy_poller.spins == after_stop  # cancelled by the shutdown
