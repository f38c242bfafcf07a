"""Per-key rate limiting and de-duplication, so a flapping connection cannot send 500 texts.

Memory is bounded: per key at most ``max_per_hour`` send times from the last hour, and at
most ``memory`` recent fingerprints.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Hashable
from enum import Enum

HOUR = 3600.0


class Verdict(Enum):
    SEND = "send"
    DUPLICATE = "duplicate"
    """The same message was sent less than ``dedupe_seconds`` ago."""
    RATE_LIMITED = "rate_limited"
    """``max_per_hour`` messages with this key were sent in the last hour."""


class KeyLimiter:
    """Decides, per notification, whether it may be sent now.

    A suppressed message does not extend its own suppression: the de-duplication window and
    the hourly budget count only messages actually sent, so a condition that persists is
    reported again once the window has passed.
    """

    def __init__(self, max_per_hour: int, dedupe_seconds: float, *,
                 window: float = HOUR, memory: int = 1024) -> None:
        self.max_per_hour = max_per_hour
        self.dedupe_seconds = dedupe_seconds
        self.window = window
        self.memory = memory
        self._sent: dict[str, deque[float]] = {}
        self._fingerprints: OrderedDict[Hashable, float] = OrderedDict()

    def admit(self, key: str, fingerprint: Hashable, now: float) -> Verdict:
        """Whether to send; a ``SEND`` verdict is recorded against the key's budget."""
        fingerprints = self._fingerprints
        while fingerprints:
            oldest, at = next(iter(fingerprints.items()))
            if now - at < self.dedupe_seconds and len(fingerprints) < self.memory:
                break
            del fingerprints[oldest]
        if fingerprint in fingerprints:
            return Verdict.DUPLICATE
        times = self._sent.get(key)
        if times is not None:
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= self.max_per_hour:
                return Verdict.RATE_LIMITED
        else:
            if len(self._sent) >= self.memory:
                self._forget_keys(now)
            times = self._sent[key] = deque()
        times.append(now)
        if self.dedupe_seconds > 0:
            fingerprints[fingerprint] = now
        return Verdict.SEND

    def _forget_keys(self, now: float) -> None:
        """Drop keys with no send in the window; if that is not enough, the stalest."""
        sent = {k: t for k, t in self._sent.items() if t and now - t[-1] < self.window}
        while len(sent) >= self.memory:
            del sent[min(sent, key=lambda k: sent[k][-1])]
        self._sent = sent
