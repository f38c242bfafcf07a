"""Wall-clock helpers of the matching engine: wire timestamps and the CME trade date."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from ..protocol.models import TradeDate

_CHICAGO = ZoneInfo("America/Chicago")
_SESSION_OPEN_HOUR = 17
"""CME Globex equity sessions open at 17:00 Chicago time; that session belongs to the next day."""


def iso_timestamp(epoch_s: float) -> str:
    """``2026-11-24T06:58:57.123Z``: UTC with milliseconds, as Tradovate stamps entities."""
    moment = dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def cme_trade_date(epoch_s: float) -> TradeDate:
    """Session date of an instant: from 17:00 CT the next day; Friday evening to Sunday
    evening belong to the following Monday (the weekend has no session of its own)."""
    local = dt.datetime.fromtimestamp(epoch_s, tz=_CHICAGO)
    day = local.date()
    if local.hour >= _SESSION_OPEN_HOUR:
        day += dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return TradeDate(year=day.year, month=day.month, day=day.day)
