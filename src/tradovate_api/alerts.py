"""Alerts: what the framework tells the trader, and the sink interface notifiers implement.

Producers (auth manager, supervisor, order manager, risk checks…) call ``sink.emit(alert)``
from the trading loop, so an implementation must return at once and never raise: delivery
(SMS, e-mail, webhook) happens elsewhere, on its own task.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

_log = logging.getLogger("tradovate_api.alerts")


class Severity(StrEnum):
    URGENT = "urgent"
    """Needs a human soon: SMS (and e-mail)."""
    ROUTINE = "routine"
    """Informational: e-mail."""


@dataclass(frozen=True, slots=True)
class Alert:
    """One event worth telling the trader about. ``key`` identifies the kind of event
    (e.g. ``"auth.renewal_failed"``) for routing, rate limiting and de-duplication.
    ``body`` must never contain credentials or tokens."""

    severity: Severity
    key: str
    title: str
    body: str = ""
    created: float = field(default_factory=time.time)


class AlertSink(Protocol):
    """Where producers send alerts. ``emit`` must not block and must not raise."""

    def emit(self, alert: Alert) -> None: ...


class AlertLog:
    """The default sink: logs every alert and keeps the most recent ones in memory."""

    def __init__(self, maxlen: int = 1000) -> None:
        self.recent: deque[Alert] = deque(maxlen=maxlen)

    def emit(self, alert: Alert) -> None:
        self.recent.append(alert)
        level = logging.ERROR if alert.severity is Severity.URGENT else logging.INFO
        _log.log(level, "alert %s: %s", alert.key, alert.title,
                 extra={"alert_key": alert.key, "severity": str(alert.severity)})

    def keys(self) -> list[str]:
        return [a.key for a in self.recent]
