"""Reports, the end-of-run summary and the status line across an overnight position and a
trade-date roll: each trade date is a position line, the earlier one settled at the next
day's ``prevPrice``; run totals add the days up to the run's P&L marked to market.

The run: long 2 carried into 2024-01-03 at 4800.00; sell 1 at 4805.00 (+$250); the roll
settles at 4810.00 (the open contract +$500 at the settlement); on 2024-01-04 sell the last
at 4808.00 (−$100 against the settlement). Marked to market from the opening price: sold at
4805 and 4808 against 4800, 13 points × $50 = $650, less two commissions of 2.05."""

from __future__ import annotations

import datetime as dt

import pytest
from overnight_wire import (
    ACC,
    COMMISSION,
    DAY2,
    ES,
    cash,
    fill,
    order,
    overnight_long_two,
    position,
    props,
    sell_one_at_4805,
)

from tradovate_api.reports import build_report
from tradovate_api.reports.build import session_start_ms
from tradovate_api.runtime.metrics import RuntimeMetrics
from tradovate_api.runtime.status import StatusSnapshot, format_status, format_summary
from tradovate_api.stores import AccountView, create_market_store

NOW_MS = int(dt.datetime(2024, 1, 4, 16, tzinfo=dt.UTC).timestamp() * 1000)


def two_days() -> AccountView:
    view, writer = overnight_long_two()
    sell_one_at_4805(writer)
    writer.apply(props("position", position(1, 1, 4810.0, day=DAY2,
                                            timestamp="2024-01-03T22:00:00Z")))
    writer.apply(props("cashBalance", cash(0.0, day=DAY2)))
    writer.apply(props("order", order(11, "Sell"), "Created"))
    writer.apply(props("fill", fill(21, 11, "Sell", 1, 4808.0, day=DAY2,
                                    timestamp="2024-01-04T14:30:00Z"), "Created"))
    writer.apply(props("position", position(0, 1, 4810.0, sold=1, sold_value=4808.0,
                                            day=DAY2, timestamp="2024-01-04T14:30:00Z")))
    return view


def test_a_report_across_the_roll_has_a_line_per_trade_date_and_adds_them_up() -> None:
    market, _md = create_market_store(clock_ms=lambda: NOW_MS)
    report = build_report(two_days(), market, kind="session_end", now_ms=NOW_MS,
                          mark=lambda _cid: 4807.0)
    first, second = report.positions
    assert (first.trade_date, first.settled, first.prev_pos, first.prev_price) == (
        "2024-01-03", True, 2, 4800.0)
    assert (first.net_pos, first.mark, first.realized) == (1, 4810.0, 250.0)
    assert first.open_pnl == pytest.approx(500.0)
    assert (second.trade_date, second.settled, second.prev_pos, second.prev_price) == (
        "2024-01-04", False, 1, 4810.0)
    assert (second.net_pos, second.open_pnl) == (0, 0.0)
    assert second.realized == pytest.approx(-100.0)
    s = report.summary
    assert (s.trade_date, s.realized, s.settled, s.open_pnl) == (
        "2024-01-04", pytest.approx(150.0), pytest.approx(500.0), 0.0)
    assert s.commissions == pytest.approx(2 * COMMISSION)
    assert s.total == pytest.approx(650.0 - 2 * COMMISSION)
    assert report.pnl_series[-1].value == pytest.approx(650.0 - 2 * COMMISSION)
    # Round trips: each day opens with the carried position at its price.
    day1, day2 = report.trades
    assert (day1.carried, day1.side, day1.qty, day1.entry_price, day1.exit_qty) == (
        True, "Long", 2, 4800.0, 1)
    assert day1.entry_ms == session_start_ms(dt.date(2024, 1, 3))
    assert (day1.gross, day1.commissions) == (250.0, COMMISSION)
    assert day1.entry_trigger == "carried into 2024-01-03"
    assert (day2.carried, day2.qty, day2.entry_price, day2.exit_price) == (
        True, 1, 4810.0, 4808.0)
    assert day2.closed
    assert day2.gross == pytest.approx(-100.0)
    assert sum(t.gross for t in report.trades) == pytest.approx(s.realized)


def test_the_summary_shows_the_trade_date_the_carried_position_and_the_earlier_day() -> None:
    market, _md = create_market_store(clock_ms=lambda: NOW_MS)
    report = build_report(two_days(), market, kind="session_end", now_ms=NOW_MS,
                          mark=lambda _cid: 4807.0)
    lines = format_summary(report, RuntimeMetrics(), "demo", 60.0).splitlines()
    assert "realized P&L  +150.00 gross, commissions 4.10, net +145.90" in lines
    assert "open P&L      +0.00 (flat)" in lines
    assert "trade date    2024-01-04 (carried in: ESH4 +1 @ 4810)" in lines
    assert ("earlier days  2024-01-03 ESH4 net +247.95, open at settlement +500.00"
            in lines)
    assert ("total P&L     +645.90 (net realized +145.90 + settled +500.00 + open +0.00)"
            in lines)


def test_the_summary_position_is_the_servers_with_the_overnight_position() -> None:
    """The issue's case: long 2 overnight, sell 1: the summary says +1, as the server."""
    view, writer = overnight_long_two()
    sell_one_at_4805(writer)
    market, _md = create_market_store(clock_ms=lambda: NOW_MS)
    report = build_report(view, market, kind="session_end", now_ms=NOW_MS,
                          mark=lambda _cid: 4806.0)
    (line,) = report.positions
    server = view.position(ACC, ES)
    assert server is not None
    assert line.net_pos == server.net_pos == 1
    assert line.realized == pytest.approx(250.0)
    lines = format_summary(report, RuntimeMetrics(), "demo", 60.0).splitlines()
    assert "open P&L      +300.00 (ESH4 +1)" in lines
    assert "realized P&L  +250.00 gross, commissions 2.05, net +247.95" in lines


def test_an_unpriced_carried_position_is_said_not_guessed() -> None:
    view, writer = overnight_long_two()
    writer.apply(props("cashBalance", cash(0.0, day=DAY2)))  # roll; position update pending
    market, _md = create_market_store(clock_ms=lambda: NOW_MS)
    report = build_report(view, market, kind="session_end", now_ms=NOW_MS,
                          mark=lambda _cid: 4807.0)
    assert report.summary.total is None
    assert report.positions[-1].unpriced == 2
    lines = format_summary(report, RuntimeMetrics(), "demo", 60.0).splitlines()
    assert "trade date    2024-01-04 (carried in: ESH4 +2 @ no price)" in lines
    assert ("unpriced      ESH4 2 carried contract(s) without a price (prevPrice): their P&L "
            "is not counted") in lines
    status = StatusSnapshot(md_connected=True, trading_connected=True, symbol="ESH4",
                            last_price=4807.0, net_pos=2, avg_price=None, realized=None,
                            open_pnl=None, working_orders=0, fills=0, reconnects=0)
    assert "| pos +2 | P&L net n/a open n/a |" in format_status(status)
