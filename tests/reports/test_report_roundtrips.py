"""Round trips and the P&L curve from hand-written fill sequences (ES: 50 per point, 2.05 per
contract per side)."""

from __future__ import annotations

import pytest

from tradovate_api.reports import Point
from tradovate_api.reports.roundtrips import FillIn, round_trips
from tradovate_api.reports.series import LedgerInput, pnl_curve, thin


def _trips(*fills: FillIn) -> tuple[list, list]:  # type: ignore[type-arg]
    return round_trips(fills, account_id=1, contract_id=9, symbol="ESZ6", value_per_point=50.0,
                       commission_per_side=2.05)


def f(ident: int, t: int, action: str, qty: int, price: float, why: str = "") -> FillIn:
    return FillIn(ident, t, action == "Buy", qty, price, why)


def test_scaling_in_and_out_is_one_trade_with_fifo_pnl() -> None:
    trades, markers = _trips(
        f(1, 10, "Buy", 1, 100.0, "first"), f(2, 20, "Buy", 2, 101.0, "add"),
        f(3, 30, "Sell", 2, 102.0, "half"), f(4, 40, "Sell", 1, 99.0, "rest"))
    (trade,) = trades
    # FIFO: 1 @100 and 1 @101 out at 102 (+2 +1 pt), 1 @101 out at 99 (-2 pt) → +1 pt
    assert trade.gross == pytest.approx(50.0)
    assert trade.commissions == pytest.approx(6 * 2.05)
    assert (trade.qty, trade.exit_qty) == (3, 3)
    assert trade.entry_price == pytest.approx(302 / 3)
    assert trade.exit_price == pytest.approx((2 * 102 + 99) / 3)
    assert (trade.entry_ms, trade.exit_ms) == (10, 40)
    assert (trade.entry_trigger, trade.exit_trigger) == ("first; add", "half; rest")
    assert [m.role for m in markers] == ["entry", "entry", "exit", "exit"]


def test_a_fill_through_zero_closes_and_reverses() -> None:
    trades, markers = _trips(f(1, 10, "Sell", 2, 100.0, "short"),
                             f(2, 20, "Buy", 5, 98.0, "flip"),
                             f(3, 30, "Sell", 3, 97.0, "stop"))
    short, long = trades
    assert (short.side, short.qty, short.gross) == ("Short", 2, pytest.approx(200.0))
    assert short.commissions == pytest.approx(4 * 2.05)  # 2 in + 2 of the flip fill
    assert (long.side, long.qty, long.entry_price, long.entry_ms) == ("Long", 3, 98.0, 20)
    assert long.gross == pytest.approx(-150.0)
    assert long.commissions == pytest.approx(6 * 2.05)  # 3 of the flip fill + 3 out
    assert long.entry_trigger == "flip"
    assert [m.role for m in markers] == ["entry", "reverse", "exit"]


def test_fills_are_matched_in_id_order_whatever_order_they_arrive_in() -> None:
    in_order = _trips(f(1, 10, "Buy", 1, 100.0), f(2, 11, "Buy", 1, 104.0),
                      f(3, 12, "Sell", 1, 103.0))
    shuffled = _trips(f(3, 12, "Sell", 1, 103.0), f(1, 10, "Buy", 1, 100.0),
                      f(2, 11, "Buy", 1, 104.0))
    assert in_order == shuffled
    (trade,) = in_order[0]
    assert trade.gross == pytest.approx(150.0)  # the first lot (100) goes out first
    assert not trade.closed


def test_curve_sums_every_ledger_at_each_contracts_own_price() -> None:
    es = LedgerInput(7, 1, "ESZ6", (f(1, 10, "Buy", 1, 100.0),), 50.0, 2.0)
    nq = LedgerInput(7, 2, "NQZ6", (f(2, 20, "Sell", 1, 200.0),), 20.0, 1.0)
    curve = pnl_curve([es, nq], {1: [Point(30, 101.0)], 2: [Point(40, 199.0)]})
    assert curve == [Point(10, -2.0), Point(20, -3.0), Point(30, 47.0), Point(40, 67.0)]


def test_thin_keeps_first_last_and_kept_times() -> None:
    points = [Point(t, float(t % 7)) for t in range(10_000)]
    thinned = thin(points, 100, keep=[5_001])
    assert len(thinned) <= 102
    assert thinned[0] == points[0]
    assert thinned[-1] == points[-1]
    assert Point(5_001, float(5_001 % 7)) in thinned
    assert list(thinned) == sorted(thinned, key=lambda p: p.t_ms)
    assert thin(points[:50], 100) == tuple(points[:50])
