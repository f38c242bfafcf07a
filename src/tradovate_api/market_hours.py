"""When the exchange is open: CME Globex hours for equity-index futures.

Globex trades Sunday 17:00 CT to Friday 16:00 CT with a daily 16:00–17:00 CT maintenance halt;
holidays and early closes change every year, so they come from a maintained calendar library
(``pandas_market_calendars``, calendar ``CME_Equity``) rather than a hand-kept list. Sessions
are computed a year at a time and cached; every query is then a binary search.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

_log = logging.getLogger("tradovate_api.market_hours")

DEFAULT_CALENDAR = "CME_Equity"
_RECHECK_SECONDS = 3600.0
"""A long wait is slept in pieces so a changed clock (suspend, NTP step) is noticed."""

Period = tuple[datetime, datetime]


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("market hours need an aware datetime (with a time zone)")
    return at.astimezone(UTC)


def _python(stamp: Any) -> datetime:
    value: datetime = stamp.to_pydatetime()
    return value.astimezone(UTC)


@lru_cache(maxsize=16)
def _periods_of_year(calendar: str, year: int) -> tuple[Period, ...]:
    """Trading periods (open, close) in UTC of the sessions dated in ``year``; a session with
    a break contributes two periods."""
    import pandas_market_calendars as mcal  # type: ignore[import-untyped]

    schedule = mcal.get_calendar(calendar).schedule(f"{year}-01-01", f"{year}-12-31")
    has_break = "break_start" in schedule.columns and "break_end" in schedule.columns
    periods: list[Period] = []
    for row in schedule.itertuples():
        opens, closes = _python(row.market_open), _python(row.market_close)
        if has_break:
            pause, resume = _python(row.break_start), _python(row.break_end)
            if opens < pause < resume < closes:
                periods += [(opens, pause), (resume, closes)]
                continue
        periods.append((opens, closes))
    return tuple(periods)


class MarketHours:
    """Open/closed queries over one exchange calendar."""

    def __init__(self, calendar: str = DEFAULT_CALENDAR) -> None:
        self.calendar = calendar

    def _periods_near(self, year: int) -> list[Period]:
        periods: list[Period] = []
        for each in (year - 1, year, year + 1):
            periods.extend(_periods_of_year(self.calendar, each))
        return periods

    def is_open(self, at: datetime) -> bool:
        """Whether the market trades at the aware datetime ``at``."""
        return self.period_at(at) is not None

    def period_at(self, at: datetime) -> Period | None:
        """The trading period (open, close, UTC) holding the aware datetime ``at``; ``None``
        while the market is closed."""
        moment = _utc(at)
        periods = self._periods_near(moment.year)
        index = bisect.bisect_right(periods, moment, key=lambda period: period[0]) - 1
        if index >= 0 and periods[index][0] <= moment < periods[index][1]:
            return periods[index]
        return None

    def next_open(self, after: datetime) -> datetime:
        """The earliest moment at or after ``after`` when the market is open (``after``
        itself if it already is), in UTC."""
        moment = _utc(after)
        if self.is_open(moment):
            return moment
        for year in (moment.year, moment.year + 1, moment.year + 2):
            for opens, _ in self._periods_near(year):
                if opens > moment:
                    return opens
        raise LookupError(f"no session of {self.calendar} within two years after {after}")

    async def wait_for_open(
        self,
        now: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> float:
        """Return once the market is open, logging how long the wait will be; the result is
        the number of seconds waited according to ``now``."""
        clock = now if now is not None else (lambda: datetime.now(UTC))
        started = current = clock()
        opens = self.next_open(current)
        if opens <= _utc(current):
            _log.info("market open (%s)", self.calendar)
            return 0.0
        _log.info("market closed; waiting %s for the open at %s (%s)",
                  _duration(opens - _utc(current)), opens.isoformat(), self.calendar,
                  extra={"wait_seconds": (opens - _utc(current)).total_seconds()})
        while True:
            remaining = (opens - _utc(current)).total_seconds()
            if remaining <= 0:
                if self.is_open(current):
                    break
                opens = self.next_open(current)
                continue
            await sleep(min(remaining, _RECHECK_SECONDS))
            current = clock()
        waited = (current - started).total_seconds()
        _log.info("market open after waiting %s", _duration(timedelta(seconds=waited)))
        return waited


def _duration(delta: timedelta) -> str:
    total = int(delta.total_seconds())
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours:d}h{minutes:02d}m{seconds:02d}s"
    return f"{days}d {text}" if days else text


_default = MarketHours()


def is_open(at: datetime) -> bool:
    """Whether CME Globex equity-index futures trade at ``at``."""
    return _default.is_open(at)


def next_open(after: datetime) -> datetime:
    """The earliest moment at or after ``after`` when CME equity-index futures trade."""
    return _default.next_open(after)


async def wait_for_open(now: Callable[[], datetime] | None = None,
                        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep) -> float:
    """Wait for the CME equity-index futures open; returns the seconds waited."""
    return await _default.wait_for_open(now=now, sleep=sleep)
