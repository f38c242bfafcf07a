"""Small statistics for noisy machines: percentiles, median [min–max] summaries, paired
ratios and a least-squares slope."""

from __future__ import annotations

import statistics
from collections.abc import Sequence

import msgspec


class Spread(msgspec.Struct, frozen=True):
    """The median of repeated measurements and their range."""

    median: float
    min: float
    max: float
    n: int

    def fmt(self, digits: int = 0, scale: float = 1.0) -> str:
        if self.n == 0:
            return "–"
        m, lo, hi = self.median / scale, self.min / scale, self.max / scale
        if self.n == 1:
            return f"{m:,.{digits}f}"
        return f"{m:,.{digits}f} [{lo:,.{digits}f}–{hi:,.{digits}f}]"


def spread(values: Sequence[float]) -> Spread:
    if not values:
        return Spread(float("nan"), float("nan"), float("nan"), 0)
    return Spread(statistics.median(values), min(values), max(values), len(values))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def paired_ratios(numerators: Sequence[float | None],
                  denominators: Sequence[float | None]) -> list[float]:
    """Per-round ratios where both sides were measured in that round."""
    return [n / d for n, d in zip(numerators, denominators, strict=True)
            if n is not None and d is not None and d > 0]


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ``ys`` over ``xs`` (0 with fewer than two distinct xs)."""
    if len(xs) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
