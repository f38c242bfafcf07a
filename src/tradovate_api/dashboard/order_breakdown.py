"""The page's per-order latency breakdown, kept cheap enough for the trading loop.

The stages and their percentiles are the reports' (``reports.latency_breakdown``, one
definition), but the dashboard computes them on the event loop while the strategy trades, so
the work is bounded three ways: only over the newest :data:`BREAKDOWN_ORDERS` tickets (the
order manager keeps up to 10,000; the report has them all), only when those tickets changed,
and at most once per :data:`BREAKDOWN_INTERVAL`; in between the last result is shown again.
The caller asks only while a page is open. Nothing here runs on the order path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Reversible
from itertools import islice
from typing import cast

import msgspec

from ..orders import OrderTicket
from ..reports import latency_breakdown

BREAKDOWN_ORDERS = 1000
"""Newest tickets the breakdown is computed over."""
BREAKDOWN_INTERVAL = 1.0
"""Least time (seconds) between two computations."""


class StageRow(msgspec.Struct, frozen=True):
    """One stage (``reports.STAGES``) over the newest orders, in microseconds."""

    name: str
    label: str
    count: int
    p50_us: float
    p90_us: float
    p99_us: float
    max_us: float


class OrderBreakdown:
    """The breakdown of the newest tickets of ``tickets()`` (the order manager's view, or
    ``None`` before the run has one), recomputed only when due (see the module)."""

    def __init__(self, tickets: Callable[[], Mapping[str, OrderTicket] | None], *,
                 orders: int = BREAKDOWN_ORDERS, interval: float = BREAKDOWN_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._tickets = tickets
        self._orders = orders
        self._interval = interval
        self._clock = clock
        self._rows: tuple[StageRow, ...] = ()
        self._seen: tuple[int, OrderTicket | None, int] = (0, None, 0)
        self._at = float("-inf")
        self.computed = 0
        """How many times the breakdown was computed (not merely shown again)."""

    def rows(self, changes: int) -> tuple[StageRow, ...]:
        """The breakdown now; ``changes`` is any counter that moves when an older ticket may
        have changed without a new one being added (account events: fills, order updates).
        A ticket is replaced, never mutated, on every change, so the newest one's identity
        and the ticket count catch the rest."""
        tickets = self._tickets()
        if not tickets:
            return ()
        # the order manager's mapping is a view of a dict: its values are reversible
        values = cast("Reversible[OrderTicket]", tickets.values())
        newest = next(reversed(values))
        seen = (len(tickets), newest, changes)
        count, last, moved = self._seen
        unchanged = seen[0] == count and newest is last and changes == moved
        now = self._clock()
        if unchanged or now - self._at < self._interval:
            return self._rows
        window = islice(reversed(values), self._orders)
        self._rows = tuple(StageRow(s.name, s.label, s.count, s.p50_us, s.p90_us, s.p99_us,
                                    s.max_us)
                           for s in latency_breakdown(window, histograms=False))
        self._seen = seen
        self._at = now
        self.computed += 1
        return self._rows
