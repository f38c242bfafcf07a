"""Alerts that can repeat quickly (a reader failing on every event, a server sending the same
unreadable entity) go out at most once per key per interval; the next one that goes out says
how many were held back. The log keeps every occurrence."""

from __future__ import annotations

from collections.abc import Callable

from ..alerts import Alert, AlertSink


class ThrottledAlerts:
    """An :class:`AlertSink` wrapper with a per-key minimum interval (``clock`` in seconds)."""

    def __init__(self, sink: AlertSink, interval: float, clock: Callable[[], float]) -> None:
        self._sink = sink
        self.interval = interval
        self._clock = clock
        self._sent: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def emit(self, alert: Alert) -> bool:
        """Send ``alert`` unless one with its key went out less than ``interval`` ago;
        True when sent."""
        now = self._clock()
        last = self._sent.get(alert.key)
        if last is not None and now - last < self.interval:
            self._held[alert.key] = self._held.get(alert.key, 0) + 1
            return False
        held = self._held.pop(alert.key, 0)
        self._sent[alert.key] = now
        if held:
            alert = Alert(alert.severity, alert.key, alert.title,
                          f"{alert.body}\n\n{held} more since the previous alert.")
        self._sink.emit(alert)
        return True
