"""Start-up refusals (unknown account or contract, bad strategy reference) end the run with
exit code 1, a clear reason and an urgent alert; a log file that cannot be written (full
disk) raises an alert while trading carries on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from app_helpers import Recorder, WatchedAlerts, make_app, make_settings, running

from tradovate_api.alerts import Severity
from tradovate_api.errors import StartupError
from tradovate_api.orders import TicketState
from tradovate_api.runtime import log_watch
from tradovate_api.simulator import Simulator
from tradovate_api.strategies.reference import ReferenceStrategy
from tradovate_api.strategy.loading import load_strategy


@pytest.mark.parametrize(("sections", "reason"), [
    ({"trading": {"account": "NOPE"}}, "trading.account: no active account named 'NOPE'"),
    ({"instruments": ["ZZZZ9"]}, "'ZZZZ9' not found"),
])
async def test_start_refusals_exit_1_with_the_reason_and_an_alert(
        sim: Simulator, tmp_path: Path, sections: dict[str, object], reason: str) -> None:
    alerts = WatchedAlerts()
    app = make_app(sim, make_settings(sim, tmp_path, **sections), Recorder(), alerts)
    code = await asyncio.wait_for(app.run(), 15)
    assert code == 1
    assert reason in app.start_error
    (alert,) = [a for a in alerts.recent if a.key == "app.start_failed"]
    assert alert.severity is Severity.URGENT
    assert reason in alert.body
    assert sim.connections == []
    assert not app.started.is_set()


def test_load_strategy_by_reference() -> None:
    assert isinstance(load_strategy("tradovate_api.strategies.reference:ReferenceStrategy"),
                      ReferenceStrategy)
    with pytest.raises(StartupError, match="cannot import 'no_such_module'"):
        load_strategy("no_such_module:Thing")
    with pytest.raises(StartupError, match="is not a Strategy subclass"):
        load_strategy("tradovate_api.settings:Settings")
    with pytest.raises(StartupError, match="is not a Strategy subclass"):
        load_strategy("tradovate_api.strategies.reference:Missing")


async def test_unwritable_log_alerts_and_trading_goes_on(
        sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_watch, "LOG_CHECK_SECONDS", 0.05)
    alerts = WatchedAlerts()
    strategy = Recorder()
    settings = make_settings(sim, tmp_path, log={"path": "/dev/full"})
    app = make_app(sim, settings, strategy, alerts)
    async with running(app) as run:
        await alerts.until_key("log.write_failed")
        assert app.log_writer is not None
        assert app.log_writer.write_errors > 0
        assert app.orders is not None
        ticket = app.orders.place(app.symbol, "Buy", 1, trigger="while the disk is full")
        assert ticket.state is TicketState.PENDING
        await strategy.until(lambda: len(strategy.of("fill")) == 1)
        code = await run.stop()
    assert code == 0
    assert app.summary_text
