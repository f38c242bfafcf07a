"""Sweep progress on stderr: done/total, percent, elapsed and ETA, one line at a time.

Plain lines (no terminal control), at most one per ``interval`` seconds plus the last, so a
log file or CI job gets a bounded, readable trace and a terminal a live one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class Progress:
    def __init__(self, total: int, *, label: str = "sweep", stream: TextIO | None = None,
                 interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.label, self.interval = total, label, interval
        self.stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self.started = clock()
        self.done = 0
        self._last_print: float | None = None
        self.lines = 0

    def line(self) -> str:
        elapsed = self._clock() - self.started
        eta = _duration(elapsed / self.done * (self.total - self.done)) if self.done else "?"
        percent = 100 * self.done // self.total if self.total else 100
        return (f"{self.label} {self.done}/{self.total} runs ({percent}%), elapsed "
                f"{_duration(elapsed)}, eta {eta}")

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = self._clock()
        if (self.done >= self.total or self._last_print is None
                or now - self._last_print >= self.interval):
            self._last_print = now
            self.lines += 1
            print(self.line(), file=self.stream, flush=True)
