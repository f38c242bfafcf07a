"""Runtime metrics: connections, uptime, fills and tick-to-order latency.

Reports (periodic and final), the terminal status and chaos tests read these; the hot path
only writes plain integers and one slot of a preallocated ring, so recording costs no
allocation. Connection counts are read from the sessions when asked (they keep their own
counters), so they cannot drift from what the sessions did.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from typing import Protocol

import msgspec


class SessionCounters(Protocol):
    """What a websocket session exposes about its connections."""

    @property
    def connects(self) -> int: ...

    @property
    def ready_count(self) -> int: ...

    @property
    def ready(self) -> bool: ...


class LatencySummary(msgspec.Struct, frozen=True):
    """Tick-to-order latency over the samples kept, in microseconds."""

    count: int
    p50_us: float | None
    p90_us: float | None
    p99_us: float | None
    max_us: float | None


class SessionMetrics(msgspec.Struct, frozen=True):
    name: str
    connected: bool
    connects: int
    """Connection attempts that reached the point of opening a socket."""
    ready: int
    """Connections that were authorized and restored."""
    reconnects: int
    """Ready connections after the first one."""


class MetricsSnapshot(msgspec.Struct, frozen=True):
    """Everything at one moment, JSON-serialisable (for reports)."""

    uptime_s: float
    sessions: tuple[SessionMetrics, ...]
    fills: int
    orders_sent: int
    md_events: int
    account_events: int
    resyncs: int
    latency: LatencySummary


def _percentile(ordered: list[int], fraction: float) -> float:
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index] / 1000.0


class RuntimeMetrics:
    """Counters of one run. ``latency_capacity`` bounds the tick-to-order ring (the newest
    samples are kept)."""

    def __init__(self, *, latency_capacity: int = 4096,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if latency_capacity < 1:
            raise ValueError("latency_capacity must be at least 1")
        self._clock = clock
        self.started = clock()
        self._sessions: dict[str, SessionCounters] = {}
        self._ring = array("q", bytes(8 * latency_capacity))
        self._capacity = latency_capacity
        self._recorded = 0
        self.fills = 0
        """Fills delivered to the strategy (each once)."""
        self.orders_sent = 0
        """Order requests written to the trading socket."""
        self.md_events = 0
        self.account_events = 0
        self.resyncs = 0
        """Account snapshots applied after the first (one per trading reconnect)."""

    # ------------------------------------------------------------------ recording

    def track_session(self, name: str, session: SessionCounters) -> None:
        """Report ``session``'s connection counters under ``name``."""
        self._sessions[name] = session

    def record_tick_to_order(self, nanoseconds: int) -> None:
        """One sample: from the market-data frame's arrival to the order's send."""
        self._ring[self._recorded % self._capacity] = nanoseconds
        self._recorded += 1

    # ------------------------------------------------------------------ reading

    @property
    def uptime(self) -> float:
        return self._clock() - self.started

    def reconnects(self, name: str) -> int:
        session = self._sessions.get(name)
        return 0 if session is None else max(0, session.ready_count - 1)

    @property
    def total_reconnects(self) -> int:
        return sum(self.reconnects(name) for name in self._sessions)

    def latency_samples(self) -> tuple[int, ...]:
        """The kept samples (ns), oldest first."""
        count = min(self._recorded, self._capacity)
        start = self._recorded - count
        return tuple(self._ring[i % self._capacity] for i in range(start, self._recorded))

    def latency(self) -> LatencySummary:
        ordered = sorted(self.latency_samples())
        if not ordered:
            return LatencySummary(0, None, None, None, None)
        return LatencySummary(len(ordered), _percentile(ordered, 0.5),
                              _percentile(ordered, 0.9), _percentile(ordered, 0.99),
                              ordered[-1] / 1000.0)

    def sessions(self) -> tuple[SessionMetrics, ...]:
        return tuple(SessionMetrics(name, s.ready, s.connects, s.ready_count,
                                    max(0, s.ready_count - 1))
                     for name, s in self._sessions.items())

    def snapshot(self) -> MetricsSnapshot:
        return MetricsSnapshot(self.uptime, self.sessions(), self.fills, self.orders_sent,
                               self.md_events, self.account_events, self.resyncs,
                               self.latency())
