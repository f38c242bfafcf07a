"""A cached token the server no longer knows never blocks a start (issue 15, defect 6): a
simulator restarted as a fresh instance on the SAME ports (tokens gone) refuses the cached
token with 401 at the first REST call; the app drops it (memory and cache file), logs in once
within its login budget, and trades."""

from __future__ import annotations

import json
from pathlib import Path

from app_helpers import Recorder, make_app, make_settings, running
from conftest import FAST_MARKET

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock


async def test_a_token_the_restarted_server_refuses_is_dropped_and_one_login_follows(
        tmp_path: Path) -> None:
    clock = open_clock()
    cache = tmp_path / "token.json"
    async with Simulator(FAST_MARKET, seed=11, clock=clock) as first:
        ports = first.port, first.md_port
        settings = make_settings(first, tmp_path)
        app = make_app(first, settings, Recorder(), clock=lambda: int(clock() * 1000))
        async with running(app):
            pass
        assert app.auth is not None
        assert app.auth.logins == 1
    stale = json.loads(cache.read_text())["access_token"]

    # The same address, a new server: its state (tokens included) is gone.
    async with Simulator(FAST_MARKET, seed=11, clock=clock, port=ports[0],
                         md_port=ports[1]) as fresh:
        assert fresh.tokens.valid(stale) is None
        alerts = AlertLog()
        app = make_app(fresh, settings, Recorder(), alerts, clock=lambda: int(clock() * 1000))
        async with running(app) as run:
            auth = app.auth
            assert auth is not None
            assert auth.logins == 1  # one fresh login, within the budget
            renewed = json.loads(cache.read_text())["access_token"]
            assert renewed != stale
            assert fresh.tokens.valid(renewed) is not None
            assert app.orders is not None
            ticket = app.orders.place(app.symbol, "Buy", 1, trigger="after the re-login")
            await app.account_changed.until(lambda: bool(app.account.positions))
            assert ticket.order_id is not None
        assert run.code == 0
    rejected = [a for a in alerts.recent if a.key == "auth.token_rejected"]
    assert [a.severity for a in rejected] == [Severity.URGENT]
    assert "app.start_failed" not in [a.key for a in alerts.recent]
    assert stale not in cache.read_text()
