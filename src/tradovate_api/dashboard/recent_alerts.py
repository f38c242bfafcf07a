"""The alerts the dashboard shows: the app's alert sink, passed through, keeping the last few.

Wrapping the sink (rather than reading a store of alerts) is what lets the page show every
alert of the run whichever channels deliver them; ``emit`` stays a deque append before the
wrapped sink's own ``emit``.
"""

from __future__ import annotations

from collections import deque

from ..alerts import Alert, AlertSink

KEPT = 50


class RecentAlerts:
    """An :class:`~tradovate_api.alerts.AlertSink` forwarding to ``sink``."""

    def __init__(self, sink: AlertSink, kept: int = KEPT) -> None:
        self._sink = sink
        self.recent: deque[Alert] = deque(maxlen=kept)

    def emit(self, alert: Alert) -> None:
        self.recent.append(alert)
        self._sink.emit(alert)
