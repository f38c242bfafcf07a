"""The embedded simulator (``tradovate-api run`` on ``sim``) can be tried at any hour: it and
the app run on one clock inside an open session, and a clock that is not now is named."""

from __future__ import annotations

import time
from datetime import datetime

from app_helpers import Recorder

from tradovate_api.runtime.app import TradingApp
from tradovate_api.runtime.embedded_simulator import simulated_time_note
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import Settings
from tradovate_api.simulator.calendar import CHICAGO


def test_the_embedded_simulator_and_the_app_share_a_clock_inside_an_open_session() -> None:
    app = TradingApp(Settings(), TradovateCredentials(name="sim", password=Secret("sim")),
                     Recorder(), handle_signals=False)
    sim = app.simulator
    assert sim is not None
    assert sim.schedule.trading()
    assert abs(app.clock() - sim.clock() * 1000) < 1000


def test_a_simulated_time_that_is_not_now_is_named_in_chicago_time() -> None:
    assert simulated_time_note(time.time()) == ""
    later = datetime(2026, 12, 6, 17, 5, tzinfo=CHICAGO)
    assert simulated_time_note(later.timestamp()) == (
        "the market is closed now: the embedded simulator runs from 2026-12-06T17:05-06:00 "
        "Chicago time")
