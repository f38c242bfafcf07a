"""CME Globex equity-index futures hours: weekly open/close, daily halt, holidays."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tradovate_api.market_hours import MarketHours, is_open, next_open, wait_for_open

CT = ZoneInfo("America/Chicago")


def ct(*args: int) -> datetime:
    return datetime(*args, tzinfo=CT)  # type: ignore[misc]


@pytest.mark.parametrize(("at", "expected"), [
    (ct(2026, 11, 25, 10, 0), True),          # ordinary Wednesday
    (ct(2026, 11, 25, 15, 59, 59), True),
    (ct(2026, 11, 25, 16, 0), False),         # daily maintenance halt starts
    (ct(2026, 11, 25, 16, 30), False),
    (ct(2026, 11, 25, 17, 0), True),          # reopens for the next session
    (ct(2026, 11, 26, 11, 59), True),         # Thanksgiving: open until the 12:00 early halt
    (ct(2026, 11, 26, 12, 0), False),
    (ct(2026, 11, 26, 16, 59), False),
    (ct(2026, 11, 26, 17, 0), True),          # Friday's session opens Thursday evening
    (ct(2026, 11, 27, 12, 30), False),        # Black Friday early close
    (ct(2026, 11, 28, 12, 0), False),         # Saturday
    (ct(2026, 11, 29, 16, 59), False),        # Sunday before the open
    (ct(2026, 11, 29, 17, 0), True),          # Sunday open
    (ct(2026, 12, 25, 10, 0), False),         # Christmas
    (ct(2027, 1, 1, 10, 0), False),           # New Year's Day
    (ct(2026, 7, 6, 8, 30), True),            # summer (CDT) weekday
])
def test_is_open(at: datetime, expected: bool) -> None:
    assert is_open(at) is expected
    assert is_open(at.astimezone(UTC)) is expected  # the zone of the input does not matter


@pytest.mark.parametrize(("after", "expected"), [
    (ct(2026, 11, 25, 16, 30), ct(2026, 11, 25, 17, 0)),   # daily halt
    (ct(2026, 11, 26, 12, 30), ct(2026, 11, 26, 17, 0)),   # Thanksgiving afternoon
    (ct(2026, 11, 27, 12, 30), ct(2026, 11, 29, 17, 0)),   # Friday close → Sunday open
    (ct(2026, 12, 24, 13, 0), ct(2026, 12, 27, 17, 0)),    # over Christmas
    (ct(2026, 12, 31, 16, 30), ct(2027, 1, 3, 17, 0)),     # over New Year, across the year
])
def test_next_open(after: datetime, expected: datetime) -> None:
    assert next_open(after) == expected
    assert next_open(after).tzinfo is UTC


def test_next_open_when_open_is_now() -> None:
    at = ct(2026, 11, 25, 10, 0)
    assert next_open(at) == at


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        is_open(datetime(2026, 11, 25, 10, 0))


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self, start: datetime) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.current

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.current += timedelta(seconds=seconds)


async def test_wait_for_open_over_a_weekend_logs_the_wait(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeTime(ct(2026, 11, 27, 12, 30))  # after the Black Friday early close
    with caplog.at_level(logging.INFO, logger="tradovate_api.market_hours"):
        waited = await wait_for_open(now=fake.now, sleep=fake.sleep)
    expected = (ct(2026, 11, 29, 17, 0) - ct(2026, 11, 27, 12, 30)).total_seconds()
    assert waited == expected == sum(fake.sleeps)
    assert max(fake.sleeps) <= 3600  # slept in pieces, re-reading the clock
    assert fake.current == ct(2026, 11, 29, 17, 0)
    assert "waiting 2d 4h30m00s for the open at 2026-11-29T23:00:00+00:00" in caplog.text
    assert "market open after waiting 2d 4h30m00s" in caplog.text


async def test_wait_for_open_returns_at_once_when_open() -> None:
    fake = FakeTime(ct(2026, 11, 25, 10, 0))
    assert await wait_for_open(now=fake.now, sleep=fake.sleep) == 0.0
    assert fake.sleeps == []


async def test_wait_follows_a_clock_that_jumps() -> None:
    """If the clock moves on more than was slept (suspend), the wait ends as soon as the
    market is open rather than after the originally computed time."""
    fake = FakeTime(ct(2026, 11, 25, 16, 10))

    async def suspending_sleep(seconds: float) -> None:
        fake.sleeps.append(seconds)
        fake.current += timedelta(minutes=55)

    hours = MarketHours()
    waited = await hours.wait_for_open(now=fake.now, sleep=suspending_sleep)
    assert fake.sleeps == [50 * 60]
    assert waited == 55 * 60
    assert hours.is_open(fake.current)
