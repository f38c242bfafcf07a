"""Where an order's microseconds go: stage durations from its ticket's latency stamps, and
their percentiles and histogram over a run's orders.

The order path stamps each ticket with ``time.perf_counter_ns()`` as it goes (see
``OrderTicket``): the market-data frame arrived, its event decoded, the order method entered,
risk passed, the request written, answered, its order's first fill applied. A stage is the
time between two of them, and it exists for an order only when both stamps do and are in
order: an order placed on a timer or a fill has no frame or decoded stamp, so no decode,
strategy or tick-to-order stage; a refused one has no send; a fill that arrives before the
answer gives both an ack and a fill stage, each from the send. An earlier run's request taken
over after a restart has no stages at all (its send time is reconstructed), and an answer
that was lost (time-out, lost connection) is no ack, even when the account data settle it
later. Nothing here is computed on the hot path: the report and the summary do it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from .data import StageStats

STAGES: tuple[tuple[str, str, str, str], ...] = (
    ("decode", "frame → decoded", "frame_ns", "decoded_ns"),
    ("strategy", "decoded → decision", "decoded_ns", "decided_ns"),
    ("risk", "decision → risk passed", "decided_ns", "checked_ns"),
    ("send", "risk passed → written", "checked_ns", "sent_ns"),
    ("tick_to_order", "frame → written", "frame_ns", "sent_ns"),
    ("ack", "written → answered", "sent_ns", "answered_ns"),
    ("fill", "written → first fill", "sent_ns", "filled_ns"),
)
"""(name, label, start stamp, end stamp) of each stage, in path order; ``tick_to_order`` is
the sum of the four before it."""
HISTOGRAM_EDGES_US: tuple[float, ...] = (
    1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000,
    100_000, 200_000, 500_000, 1_000_000)
"""Upper bounds (µs, inclusive) of the histogram's bins; one more bin holds the rest."""
_ANSWERED = frozenset({"acked", "rejected"})
_LOST_ANSWER = "answer lost"
"""How the order manager's reason of a lost answer begins (kept when the account data settle
the request later)."""


class StampedTicket(Protocol):
    """What the breakdown reads of an order ticket (``orders.OrderTicket``)."""

    @property
    def state(self) -> Any: ...
    @property
    def reason(self) -> str: ...
    @property
    def taken_over_ns(self) -> int: ...
    @property
    def frame_ns(self) -> int: ...
    @property
    def decoded_ns(self) -> int: ...
    @property
    def decided_ns(self) -> int: ...
    @property
    def checked_ns(self) -> int: ...
    @property
    def sent_ns(self) -> int: ...
    @property
    def answered_ns(self) -> int: ...
    @property
    def filled_ns(self) -> int: ...


def stage_durations(ticket: StampedTicket) -> dict[str, int]:
    """The stages this ticket went through, name → nanoseconds (only those measured)."""
    if ticket.taken_over_ns:
        return {}
    answered = str(ticket.state) in _ANSWERED and not (ticket.reason or "").startswith(
        _LOST_ANSWER)
    out: dict[str, int] = {}
    for name, _, start_attr, end_attr in STAGES:
        if name == "ack" and not answered:
            continue
        start, end = getattr(ticket, start_attr), getattr(ticket, end_attr)
        if start > 0 and end > 0 and end >= start:
            out[name] = end - start
    return out


def _percentile(ordered: list[int], fraction: float) -> float:
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index] / 1000.0


def histogram(samples_ns: Iterable[int]) -> tuple[int, ...]:
    """Counts per bin of :data:`HISTOGRAM_EDGES_US` (the last bin: above the last edge)."""
    counts = [0] * (len(HISTOGRAM_EDGES_US) + 1)
    for ns in samples_ns:
        us = ns / 1000.0
        index = next((i for i, edge in enumerate(HISTOGRAM_EDGES_US) if us <= edge),
                     len(HISTOGRAM_EDGES_US))
        counts[index] += 1
    return tuple(counts)


def latency_breakdown(tickets: Iterable[StampedTicket], *,
                      histograms: bool = True) -> tuple[StageStats, ...]:
    """Percentiles and histogram of every stage measured on at least one of ``tickets``, in
    path order. ``histograms`` false leaves each histogram empty: it costs most of the time
    (the dashboard, which recomputes on the event loop, shows only the percentiles)."""
    samples: dict[str, list[int]] = {name: [] for name, *_ in STAGES}
    for ticket in tickets:
        for name, ns in stage_durations(ticket).items():
            samples[name].append(ns)
    out = []
    for name, label, *_ in STAGES:
        ordered = sorted(samples[name])
        if ordered:
            out.append(StageStats(name, label, len(ordered), _percentile(ordered, 0.5),
                                  _percentile(ordered, 0.9), _percentile(ordered, 0.99),
                                  ordered[-1] / 1000.0,
                                  histogram(ordered) if histograms else ()))
    return tuple(out)
