"""The market-data event being handled right now, as an order placed during it sees it.

An order's latency breakdown starts before the order exists: at the arrival of the frame whose
event made the strategy decide. The md reader writes the two stamps of that event here before
it hands the event's changes to the strategy, and clears them after; the order manager copies
them into every ticket it creates meanwhile. One preallocated object with two int slots, so
the hot path stores two integers per event and allocates nothing.
"""

from __future__ import annotations


class MarketCause:
    """``frame_ns``: ``time.perf_counter_ns()`` when the frame arrived on the md socket;
    ``decoded_ns``: when its event reached the md reader (decoded). Both 0 outside the
    handling of a market-data event (a timer, an account event), and ``frame_ns`` alone 0
    when the frame's arrival was not stamped."""

    __slots__ = ("decoded_ns", "frame_ns")

    def __init__(self) -> None:
        self.frame_ns = 0
        self.decoded_ns = 0
