"""FIFO position accounting."""

from __future__ import annotations

import pytest

from tradovate_api.simulator.ledger import Pair, PositionLedger


def test_open_add_and_average_price() -> None:
    ledger = PositionLedger()
    assert ledger.apply(1, True, 2, 5000.25) == []
    assert ledger.apply(2, True, 1, 5001.0) == []
    assert ledger.net_pos == 3
    assert ledger.net_price == pytest.approx((2 * 5000.25 + 5001.0) / 3)
    assert (ledger.bought, ledger.bought_value, ledger.sold) == (3, 2 * 5000.25 + 5001.0, 0)


def test_closing_pairs_oldest_lots_first() -> None:
    ledger = PositionLedger()
    ledger.apply(1, True, 2, 5000.0)
    ledger.apply(2, True, 2, 5002.0)
    pairs = ledger.apply(3, False, 3, 5004.0)
    assert pairs == [Pair(1, 3, 2, 5000.0, 5004.0), Pair(2, 3, 1, 5002.0, 5004.0)]
    assert sum(p.points for p in pairs) == pytest.approx(2 * 4.0 + 1 * 2.0)
    assert (ledger.net_pos, ledger.net_price) == (1, 5002.0)


def test_flip_opens_the_remainder_on_the_other_side() -> None:
    ledger = PositionLedger()
    ledger.apply(1, False, 1, 5000.0)
    pairs = ledger.apply(2, True, 3, 4998.0)
    assert pairs == [Pair(2, 1, 1, 4998.0, 5000.0)]
    assert (ledger.net_pos, ledger.net_price) == (2, 4998.0)
    assert ledger.open_points(4999.0) == pytest.approx(2.0)


def test_flat_has_no_net_price_and_realized_plus_open_matches_cash_flows() -> None:
    ledger = PositionLedger()
    fills = [(True, 2, 5000.25), (False, 1, 5001.0), (False, 3, 4999.5), (True, 1, 4998.0)]
    realized = 0.0
    for ident, (is_buy, qty, price) in enumerate(fills, start=1):
        realized += sum(p.points for p in ledger.apply(ident, is_buy, qty, price))
    mark = 4997.25
    total = ledger.sold_value - ledger.bought_value + mark * ledger.net_pos
    assert realized + ledger.open_points(mark) == pytest.approx(total)
    ledger.apply(9, True, 1, 4997.0)
    assert (ledger.net_pos, ledger.net_price, ledger.open_points(1.0)) == (0, None, 0.0)


def test_non_positive_quantity_is_a_bug() -> None:
    with pytest.raises(ValueError, match="positive"):
        PositionLedger().apply(1, True, 0, 1.0)
