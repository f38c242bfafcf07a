"""How many contracts a follower trades for a leader's quantity.

A follower is sized by a ``ratio`` (2.0: twice the leader, 0.5: half) or a ``fixed`` quantity
per copied order. A ratio's product is rounded **half up** (0.5 → 1, 1.5 → 2, 2.5 → 3) and is
at least 1: every leader order gives one follower order, and an entry and its exit of the
same size round alike, so a follower is flat whenever the leader is. The cost of the rule is
over-sizing small fractions: at ratio 0.5 a leader's 1 lot is copied as 1. A ``fixed`` size
ignores the leader's quantity: meant for a leader that enters and exits in one size (scaling
out is copied as full-size exits: see docs/copier.md).

In ``fills`` mode a follower's quantity for one leader order follows the leader's cumulative
fill: :meth:`Sizing.qty` of the quantity filled so far, minus what was already sent.
"""

from __future__ import annotations

import math

_EPSILON = 1e-9
"""Absorbs binary floating-point error (0.1 × 15 = 1.5000000000000002 or 1.4999999...)."""


class Sizing:
    """A follower's sizing policy: ``ratio`` or ``fixed`` (exactly one)."""

    __slots__ = ("fixed", "ratio")

    def __init__(self, *, ratio: float | None = None, fixed: int | None = None) -> None:
        if (ratio is None) == (fixed is None):
            raise ValueError("give exactly one of ratio and fixed")
        if ratio is not None and not (math.isfinite(ratio) and ratio > 0):
            raise ValueError(f"ratio must be a positive number, got {ratio!r}")
        if fixed is not None and fixed < 1:
            raise ValueError(f"fixed must be a positive integer, got {fixed!r}")
        self.ratio = ratio
        self.fixed = fixed

    def qty(self, leader_qty: int) -> int:
        """The follower's quantity for a leader quantity (> 0): ``fixed``, or ``ratio`` ×
        ``leader_qty`` rounded half up, at least 1."""
        if self.fixed is not None:
            return self.fixed
        assert self.ratio is not None
        return max(1, math.floor(leader_qty * self.ratio + 0.5 + _EPSILON))

    def describe(self) -> str:
        return f"fixed {self.fixed}" if self.fixed is not None else f"ratio {self.ratio:g}"
