"""A bounded log of refusals: one line per kind of refusal per interval, with a count.

A strategy that keeps asking for an order a limit refuses (on every quote, say) would
otherwise write a line per attempt — tens of thousands a minute, a log that fills a disk and
buries everything else. :class:`RefusalLog` writes the first refusal of a kind at once and
then at most one line per ``interval_ms`` for that kind, saying how many were not written
since the previous line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

MAX_KINDS = 1_000
"""Kinds remembered at most (the least recently logged are forgotten first)."""


class RefusalLog:
    """Throttled logging of refusals by kind (a limit name, ``blocked``, ``halted``...)."""

    __slots__ = ("_clock", "_interval_ms", "_kinds", "_level", "_log", "counts")

    def __init__(self, log: logging.Logger, clock: Callable[[], int], *,
                 interval_ms: int = 10_000, level: int = logging.WARNING) -> None:
        if interval_ms < 0:
            raise ValueError("interval_ms must not be negative")
        self._log = log
        self._clock = clock
        self._interval_ms = interval_ms
        self._level = level
        self._kinds: dict[str, list[int]] = {}
        """kind → [time of its last line (ms), refusals not written since]."""

    def note(self, kind: str, message: str) -> None:
        """Write ``message`` if this kind had no line in the last interval (with the number
        left unwritten since its previous line); else count it for the next line."""
        now = self._clock()
        entry = self._kinds.get(kind)
        if entry is not None and now - entry[0] < self._interval_ms:
            entry[1] += 1
            return
        skipped = 0 if entry is None else entry[1]
        if entry is None and len(self._kinds) >= MAX_KINDS:
            oldest = min(self._kinds, key=lambda k: self._kinds[k][0])
            del self._kinds[oldest]
        self._kinds[kind] = [now, 0]
        if skipped:
            self._log.log(self._level, "%s (and %d more like it since the previous line)",
                          message, skipped)
        else:
            self._log.log(self._level, "%s", message)
