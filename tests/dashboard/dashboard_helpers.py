"""Helpers for the dashboard tests: an app on the embedded simulator (inside an open session)
with its dashboard served, and the Chromium the browser tests drive."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tradovate_api.alerts import AlertLog
from tradovate_api.client import ConnectionOptions
from tradovate_api.dashboard import DashboardServer, RecentAlerts, make_access
from tradovate_api.runtime import BackoffPolicy, BreakerPolicy, SupervisorOptions
from tradovate_api.runtime.app import TradingApp
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import Settings, settings_from_mapping
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.strategy import Strategy

CHROMIUM = "/usr/bin/chromium"
FAST_MARKET = SimulatorConfig(warm_up=60.0, tick_interval=0.02, heartbeat_interval=0.2)
OPTIONS = ConnectionOptions(heartbeat_interval=0.1, silence_timeout=1.0, open_timeout=1.0,
                            authorize_timeout=2.0, request_timeout=3.0, close_timeout=1.0)
SUPERVISION = SupervisorOptions(backoff=BackoffPolicy(initial=0.05, maximum=0.3, jitter=0.2),
                                breaker=BreakerPolicy(), shutdown_timeout=6.0,
                                cancel_timeout=1.0)
CREDENTIALS = TradovateCredentials(name="sim", password=Secret("sim"))


def chromium() -> str:
    """Debian's Chromium, or skip (fail when ``REQUIRE_CHROMIUM`` is set, as in CI)."""
    if os.path.exists(CHROMIUM) or shutil.which("chromium"):
        return CHROMIUM if os.path.exists(CHROMIUM) else str(shutil.which("chromium"))
    reason = "no chromium: install it (Debian: apt-get install chromium) for the browser tests"
    if os.environ.get("REQUIRE_CHROMIUM"):
        pytest.fail(reason + " (REQUIRE_CHROMIUM is set)")
    pytest.skip(reason)


def embedded_settings(tmp_path: Path, extra: dict[str, object] | None = None,
                      **dashboard: object) -> Settings:
    """Settings of a ``sim`` run on the embedded simulator, every file under ``tmp_path``;
    ``extra``: more top-level sections (``accounts``, ``strategies``...)."""
    return settings_from_mapping({
        **(extra or {}),
        "environment": "sim",
        "log": {"path": str(tmp_path / "app.jsonl")},
        "auth": {"token_cache": str(tmp_path / "token.json")},
        "reports": {"directory": str(tmp_path / "reports")},
        "connection": {"heartbeat_seconds": 0.1, "silence_timeout_seconds": 1.0,
                       "request_timeout_seconds": 3.0},
        "shutdown": {"timeout_seconds": 6.0},
        "dashboard": {"address_file": str(tmp_path / "dashboard.json"), **dashboard},
    })


class Idle(Strategy):
    """Trades nothing by itself: the tests place the orders."""


@dataclass
class Served:
    app: TradingApp
    server: DashboardServer
    alerts: AlertLog
    task: asyncio.Task[int]

    @property
    def sim(self) -> Simulator:
        assert self.app.simulator is not None
        return self.app.simulator

    @property
    def token(self) -> str:
        return self.server.access.token.reveal()


def embedded_app(settings: Settings, strategy: Strategy | None,
                 alerts: RecentAlerts, market: SimulatorConfig = FAST_MARKET) -> TradingApp:
    """An app on the embedded simulator, both on a clock inside an open session."""
    sim_seconds: Callable[[], float] = open_clock()
    return TradingApp(settings, CREDENTIALS, strategy,  # type: ignore[arg-type]
                      alerts=alerts,
                      clock=lambda: int(sim_seconds() * 1000), simulator_config=market,
                      handle_signals=False, connection_options=OPTIONS,
                      supervisor_options=SUPERVISION)


@contextlib.asynccontextmanager
async def served_app(tmp_path: Path, strategy: Strategy | None = None,
                     limit: float = 20.0, *, extra: dict[str, object] | None = None,
                     market: SimulatorConfig = FAST_MARKET) -> AsyncIterator[Served]:
    """An app trading on the embedded simulator with its dashboard served (as
    ``run --dashboard`` does); yields once the strategy started; shuts both down after.
    ``extra`` sections of the settings (``[[accounts]]``, ``[[strategies]]``: then no
    ``strategy``), ``market`` the simulator's configuration (its users and accounts)."""
    settings = embedded_settings(tmp_path, extra)
    root = logging.getLogger()
    level = root.level  # the app routes the root logger through its log writer
    log = AlertLog()
    recent = RecentAlerts(log)
    app = embedded_app(settings, None if extra and "strategies" in extra
                       else strategy or Idle(), recent, market)
    server = DashboardServer(settings.dashboard, make_access(settings.dashboard, None), app,
                             recent)
    await server.start()
    task = asyncio.create_task(app.run())
    try:
        started = asyncio.create_task(app.started.wait())
        done, _ = await asyncio.wait({started, task}, timeout=limit,
                                     return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if task in done or not done:
            raise AssertionError(f"the app did not start: {app.start_error}")
        yield Served(app, server, log, task)
    finally:
        if not task.done():
            app.request_shutdown("test over")
            await asyncio.wait_for(task, 15.0)
        await server.stop()
        root.setLevel(level)
