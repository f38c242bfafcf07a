"""The replay's clock: recording time, advanced only by the replay.

Every component that asks for "now" during a replay (market store windows, strategy context,
order manager, risk, the simulated exchange) is given this clock, so a run depends only on
the recording and the configuration, never on the wall clock.
"""

from __future__ import annotations


class ReplayClock:
    """Recording time in ns; :meth:`now_ms` and :meth:`seconds` are the shapes the
    components take."""

    __slots__ = ("now_ns",)

    def __init__(self, now_ns: int = 0) -> None:
        self.now_ns = now_ns

    def now_ms(self) -> int:
        return self.now_ns // 1_000_000

    def seconds(self) -> float:
        return self.now_ns / 1e9

    def advance(self, ts_ns: int) -> None:
        """Move to ``ts_ns``; never backwards (recordings can hold out-of-order receive
        times across a reconnect)."""
        if ts_ns > self.now_ns:
            self.now_ns = ts_ns
