"""The simulated exchange's week: when CME Globex equity futures trade and when Tradovate is
down for maintenance (reference §7.4), by the simulator's clock.

* Trading: Sunday 17:00 CT to Friday 16:00 CT, halted 16:00–17:00 CT Monday to Thursday.
* Maintenance (sockets closed, requests refused): Monday to Thursday 16:00–17:00 CT, Friday
  16:00–20:00 CT (the reference has 16:00 and 17:00 as the Friday start; the earlier is the
  less convenient), Saturday 22:00 CT to Sunday 06:30 CT.

Holidays and early closes are not modelled (a simplification listed in ``docs/simulator.md``).
:func:`open_clock` gives tests and the embedded simulator a clock that is inside an open
session for a while: the real clock when the market is open now, else one running from the
next open; :func:`clock_from` one that runs from a chosen moment.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")
_STEP = dt.timedelta(minutes=1)
_SEARCH_LIMIT = dt.timedelta(days=8)


def _local(epoch_s: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch_s, tz=CHICAGO)


def _minutes(local: dt.datetime) -> int:
    return local.hour * 60 + local.minute


def is_trading(epoch_s: float) -> bool:
    """Whether Globex equity futures trade at ``epoch_s``."""
    local = _local(epoch_s)
    day, minute = local.weekday(), _minutes(local)  # Monday = 0
    if day == 5:
        return False
    if day == 6:
        return minute >= 17 * 60
    if day == 4:
        return minute < 16 * 60
    return not 16 * 60 <= minute < 17 * 60


def in_maintenance(epoch_s: float) -> bool:
    """Whether Tradovate's servers are in a maintenance window at ``epoch_s``."""
    local = _local(epoch_s)
    day, minute = local.weekday(), _minutes(local)
    if day <= 3:
        return 16 * 60 <= minute < 17 * 60
    if day == 4:
        return 16 * 60 <= minute < 20 * 60
    if day == 5:
        return minute >= 22 * 60
    return minute < 6 * 60 + 30


def next_change(epoch_s: float, test: Callable[[float], bool]) -> float:
    """The first whole minute after ``epoch_s`` at which ``test`` answers differently
    (``epoch_s`` + 8 days if it never does)."""
    start = test(epoch_s)
    moment = _local(epoch_s).replace(second=0, microsecond=0) + _STEP
    end = _local(epoch_s) + _SEARCH_LIMIT
    while moment < end:
        if test(moment.timestamp()) != start:
            return moment.timestamp()
        moment += _STEP
    return end.timestamp()


def open_for(epoch_s: float, seconds: float) -> bool:
    """Whether the market trades from ``epoch_s`` for at least ``seconds`` without a break."""
    return is_trading(epoch_s) and next_change(epoch_s, is_trading) - epoch_s >= seconds


def clock_from(start_s: float, base: Callable[[], float] = time.time) -> Callable[[], float]:
    """A clock that reads ``start_s`` now and runs at ``base``'s speed."""
    offset = start_s - base()
    return lambda: base() + offset


def parse_moment(text: str) -> float:
    """Epoch seconds of an ISO-8601 moment; without an offset it is Chicago time. Raises
    ``ValueError`` with a one-line reason."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO-8601 date and time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHICAGO)
    return moment.timestamp()


def open_clock(seconds: float = 3600.0, base: Callable[[], float] = time.time
               ) -> Callable[[], float]:
    """A clock that reads inside an open session with ``seconds`` of trading ahead: ``base``
    itself when that holds now, else ``base`` moved forward to five minutes after the next
    open that lasts that long. It runs at ``base``'s speed."""
    now = base()
    if open_for(now, seconds):
        return base
    moment = now
    for _ in range(32):
        moment = next_change(moment, is_trading)
        if is_trading(moment) and open_for(moment + 300.0, seconds):
            offset = moment + 300.0 - now
            return lambda: base() + offset
    raise RuntimeError("no open session found in the coming weeks")  # pragma: no cover
