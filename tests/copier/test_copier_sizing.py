"""The copier's sizing rule, by hand: ratio × leader rounded half up, at least 1; fixed."""

from __future__ import annotations

import pytest

from tradovate_api.orders.copier import Sizing


@pytest.mark.parametrize(("leader", "ratio", "expected"), [
    (1, 1.0, 1), (3, 1.0, 3),
    (1, 2.0, 2), (3, 2.0, 6),
    (4, 0.5, 2), (3, 0.5, 2),  # 1.5 rounds up
    (5, 0.5, 3),  # 2.5 rounds up (not to even)
    (1, 0.5, 1),  # 0.5 rounds up
    (1, 0.1, 1),  # 0.1 → 0, but at least 1
    (15, 0.1, 2),  # 1.5000000000000002 or 1.4999…: half up either way
    (7, 0.3, 2),  # 2.1
    (10, 0.25, 3),  # 2.5
    (2, 1.5, 3),
])
def test_ratio_rounds_half_up_and_never_below_one(leader: int, ratio: float,
                                                  expected: int) -> None:
    assert Sizing(ratio=ratio).qty(leader) == expected


def test_fixed_ignores_the_leaders_quantity() -> None:
    sizing = Sizing(fixed=2)
    assert [sizing.qty(n) for n in (1, 2, 5)] == [2, 2, 2]
    assert sizing.describe() == "fixed 2"
    assert Sizing(ratio=0.5).describe() == "ratio 0.5"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({}, "exactly one"), ({"ratio": 1.0, "fixed": 1}, "exactly one"),
    ({"ratio": 0.0}, "positive number"), ({"ratio": -1.0}, "positive number"),
    ({"ratio": float("nan")}, "positive number"), ({"fixed": 0}, "positive integer")])
def test_bad_sizing_is_refused(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Sizing(**kwargs)  # type: ignore[arg-type]
