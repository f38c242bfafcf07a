"""Marks sampled through the session, so the price chart and the P&L curve cover all of it.

The market-data store keeps only the newest prints of each contract (enough for a strategy,
a few minutes on a busy contract); a report every two hours needs the whole run. The report
scheduler samples each quoted contract's mark price at a fixed interval into a bounded buffer:
at one sample a minute the default bound holds a week.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from ..stores import MarketDataView
from .data import Point


class SessionHistory:
    """Per contract, the last ``max_points`` sampled marks (single writer: the scheduler)."""

    __slots__ = ("_marks", "max_points")

    def __init__(self, max_points: int = 10_000) -> None:
        if max_points <= 0:
            raise ValueError("max_points must be positive")
        self.max_points = max_points
        self._marks: dict[int, deque[Point]] = {}

    def sample(self, market: MarketDataView, now_ms: int,
               contract_ids: Iterable[int] | None = None) -> int:
        """Record the mark of each contract (every quoted one by default) that has one;
        return how many were recorded."""
        recorded = 0
        for contract_id in tuple(market.quotes) if contract_ids is None else contract_ids:
            mark = market.mark_price(contract_id)
            if mark is not None:
                self.add(contract_id, Point(now_ms, mark))
                recorded += 1
        return recorded

    def add(self, contract_id: int, point: Point) -> None:
        marks = self._marks.get(contract_id)
        if marks is None:
            marks = self._marks[contract_id] = deque(maxlen=self.max_points)
        marks.append(point)

    def marks(self, contract_id: int) -> tuple[Point, ...]:
        """Sampled marks of a contract, oldest first."""
        return tuple(self._marks.get(contract_id, ()))
