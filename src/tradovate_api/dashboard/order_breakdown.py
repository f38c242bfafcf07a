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

from ..orders import OrderTicket
from ..reports import StageStats, latency_breakdown

BREAKDOWN_ORDERS = 1000
"""Newest tickets the breakdown is computed over."""
BREAKDOWN_INTERVAL = 1.0
"""Least time (seconds) between two computations."""


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
        self._rows: tuple[StageStats, ...] = ()
        self._seen: tuple[int, OrderTicket | None, int] = (0, None, 0)
        self._at = float("-inf")
        self.computed = 0
        """How many times the breakdown was computed (not merely shown again)."""

    def rows(self, changes: int) -> tuple[StageStats, ...]:
        """The breakdown now (each stage's histogram left empty). ``changes`` is a counter
        that moves when a ticket may have been stamped without a new one being added: tickets
        are updated in place by the order manager (answers, fills), and the account events
        that follow every answer and fill move this counter; the ticket count and the newest
        ticket catch new orders."""
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
        self._rows = latency_breakdown(window, histograms=False)
        self._seen = seen
        self._at = now
        self.computed += 1
        return self._rows
