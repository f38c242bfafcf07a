"""Reconnect pacing: exponential backoff with jitter, and the circuit breaker.

Backoff spreads reconnects out (jitter keeps the md and trading sockets from retrying in
lock-step); the breaker turns a reconnect storm into a stop and an alert, because Tradovate
answers storms by closing the oldest sockets and revoking tokens, and 429s mean an hour's wait.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Delay before reconnect attempt *n* (0-based): ``initial * multiplier**n`` capped at
    ``maximum``, then scaled by a uniform factor in ``[1 - jitter, 1 + jitter]``."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def delay(self, attempt: int, rng: random.Random) -> float:
        base = min(self.maximum, self.initial * self.multiplier ** min(attempt, 64))
        return base * (1.0 + self.jitter * (2.0 * rng.random() - 1.0))


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """Trip after ``failures`` reconnect-class ends within ``window`` seconds."""

    failures: int = 5
    window: float = 120.0


class CircuitBreaker:
    """Counts failures in a sliding time window; ``record`` says whether it has tripped."""

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self._times: deque[float] = deque()
        self.tripped = False

    def record(self, now: float) -> bool:
        """Record one failure at ``now``; True once ``failures`` fall within the window."""
        times = self._times
        times.append(now)
        while times and now - times[0] > self.policy.window:
            times.popleft()
        if len(times) >= self.policy.failures:
            self.tripped = True
        return self.tripped

    @property
    def recent(self) -> int:
        """Failures currently inside the window (as of the last ``record``)."""
        return len(self._times)
