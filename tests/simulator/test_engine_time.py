"""Wire timestamps and CME trade dates."""

from __future__ import annotations

import datetime as dt

import pytest

from tradovate_api.protocol.models import TradeDate
from tradovate_api.simulator.engine_time import cme_trade_date, iso_timestamp


def _at(*args: int) -> float:
    return dt.datetime(*args, tzinfo=dt.UTC).timestamp()


def test_iso_timestamp_has_milliseconds_and_z() -> None:
    assert iso_timestamp(_at(2026, 11, 24, 6, 58, 57) + 0.1234) == "2026-11-24T06:58:57.123Z"


@pytest.mark.parametrize(("moment", "expected"), [
    (_at(2026, 11, 24, 22, 59), TradeDate(year=2026, month=11, day=24)),  # 16:59 CT
    (_at(2026, 11, 24, 23, 0), TradeDate(year=2026, month=11, day=25)),  # 17:00 CT
    (_at(2026, 11, 27, 23, 30), TradeDate(year=2026, month=11, day=30)),  # Friday evening
    (_at(2026, 11, 29, 23, 30), TradeDate(year=2026, month=11, day=30)),  # Sunday open
    (_at(2026, 7, 1, 21, 59), TradeDate(year=2026, month=7, day=1)),  # 16:59 CDT
    (_at(2026, 7, 1, 22, 0), TradeDate(year=2026, month=7, day=2)),  # 17:00 CDT
])
def test_trade_date_follows_the_chicago_session(moment: float, expected: TradeDate) -> None:
    assert cme_trade_date(moment) == expected
