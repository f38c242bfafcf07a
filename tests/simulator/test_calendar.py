"""The simulated exchange's week (trading hours, maintenance windows) and the open clock."""

from __future__ import annotations

import datetime as dt

import pytest

from tradovate_api.simulator.calendar import (
    CHICAGO,
    clock_from,
    in_maintenance,
    is_trading,
    open_clock,
    open_for,
    parse_moment,
)


def _at(text: str) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=CHICAGO).timestamp()


@pytest.mark.parametrize(("moment", "trading", "maintenance"), [
    ("2026-12-07 09:30", True, False),     # Monday morning
    ("2026-12-07 15:59", True, False),
    ("2026-12-07 16:00", False, True),     # daily halt = maintenance
    ("2026-12-07 16:59", False, True),
    ("2026-12-07 17:00", True, False),     # the next session opens
    ("2026-12-11 15:59", True, False),     # Friday before the close
    ("2026-12-11 16:00", False, True),     # Friday close, long maintenance
    ("2026-12-11 19:59", False, True),
    ("2026-12-11 20:00", False, False),    # weekend: closed, servers up
    ("2026-12-12 22:00", False, True),     # Saturday night maintenance
    ("2026-12-13 06:29", False, True),
    ("2026-12-13 06:30", False, False),
    ("2026-12-13 16:59", False, False),
    ("2026-12-13 17:00", True, False),     # Sunday open
])
def test_the_week_of_the_simulated_exchange(moment: str, trading: bool,
                                            maintenance: bool) -> None:
    assert is_trading(_at(moment)) is trading
    assert in_maintenance(_at(moment)) is maintenance


def test_open_for_needs_the_whole_span_without_a_break() -> None:
    assert open_for(_at("2026-12-07 15:00"), 3599)
    assert not open_for(_at("2026-12-07 15:00"), 3601)
    assert not open_for(_at("2026-12-12 12:00"), 1)


@pytest.mark.parametrize("moment", ["2026-12-07 10:00", "2026-12-07 15:30", "2026-12-07 16:30",
                                    "2026-12-12 12:00", "2026-12-11 15:59"])
def test_open_clock_reads_inside_an_open_session(moment: str) -> None:
    start = _at(moment)
    ticks = iter([start, start, start + 10.0])
    clock = open_clock(3600.0, base=lambda: next(ticks))
    first = clock()
    assert open_for(first, 3600.0)
    assert clock() - first == pytest.approx(10.0)  # it runs at the base clock's speed
    if open_for(start, 3600.0):
        assert first == start


def test_a_clock_from_a_chosen_moment_and_iso_moments_in_chicago_time() -> None:
    base = [1_000_000.0]
    clock = clock_from(_at("2026-12-07 09:30"), base=lambda: base[0])
    assert clock() == _at("2026-12-07 09:30")
    base[0] += 90.0
    assert clock() == _at("2026-12-07 09:31:30")
    assert parse_moment("2026-12-07T09:30") == _at("2026-12-07 09:30")
    assert parse_moment("2026-12-07T15:30Z") == _at("2026-12-07 09:30")
    with pytest.raises(ValueError, match="not an ISO-8601 date and time: 'monday'"):
        parse_moment("monday")


def test_sim_start_at_nonsense_is_a_one_line_error() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "tradovate_api.cli", "sim", "--port", "0",
                           "--md-port", "0", "--start-at", "monday"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert done.stderr == "--start-at: not an ISO-8601 date and time: 'monday'\n"
