"""Reconnect pacing: exponential backoff with jitter, and the circuit breaker.

Backoff spreads reconnects out (jitter keeps the md and trading sockets from retrying in
lock-step). The breaker counts *failed connection attempts* only — attempts that never became
ready (authorized and restored) — and a connection that stayed ready for ``healthy_after``
seconds clears it: a socket that keeps being dropped but reconnects each time is a working
connection, not an outage. With the defaults (15 failures in 600 s) the breaker needs about
four minutes of an unreachable server (see ADR 0003).

A leaf module (it imports nothing of the package): the supervisor paces reconnects with it
and the notification channels their retries.
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
        return self._jittered(base, rng)

    def ceiling(self, rng: random.Random) -> float:
        """The maximum delay, with jitter (the pace of retries during maintenance)."""
        return self._jittered(self.maximum, rng)

    def _jittered(self, base: float, rng: random.Random) -> float:
        return base * (1.0 + self.jitter * (2.0 * rng.random() - 1.0))


@dataclass(frozen=True, slots=True)
class BreakerPolicy:
    """Trip after ``failures`` failed connection attempts within ``window`` seconds; a
    connection that stayed ready for ``healthy_after`` seconds clears the count."""

    failures: int = 15
    window: float = 600.0
    healthy_after: float = 10.0


class CircuitBreaker:
    """Counts failures in a sliding time window; ``record`` says whether it has tripped."""

    def __init__(self, policy: BreakerPolicy) -> None:
        self.policy = policy
        self._times: deque[float] = deque()
        self.tripped = False

    def reset(self) -> None:
        """Forget every failure (a connection has been healthy)."""
        self._times.clear()

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
