"""Trading sessions for rotating recordings: a CME Globex session opens at 17:00 Chicago time
and belongs to the next trade date; Friday evening to Sunday evening belong to Monday."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

_CHICAGO = ZoneInfo("America/Chicago")
_OPEN = dt.time(17, 0)


def trade_date(ts_ns: int) -> dt.date:
    """The trade date of the session an instant belongs to."""
    local = dt.datetime.fromtimestamp(ts_ns / 1e9, tz=_CHICAGO)
    day = local.date()
    if local.time() >= _OPEN:
        day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def next_boundary_ns(ts_ns: int) -> int:
    """The next 17:00 Chicago time strictly after ``ts_ns`` (a possible session change)."""
    local = dt.datetime.fromtimestamp(ts_ns / 1e9, tz=_CHICAGO)
    boundary = dt.datetime.combine(local.date(), _OPEN, tzinfo=_CHICAGO)
    if boundary <= local:
        boundary = dt.datetime.combine(local.date() + dt.timedelta(days=1), _OPEN,
                                       tzinfo=_CHICAGO)
    return int(boundary.timestamp()) * 1_000_000_000
