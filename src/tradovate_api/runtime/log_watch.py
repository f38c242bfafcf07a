"""The log writer's health, turned into alerts: a log that loses records must not go unnoticed.

The trading loop never waits for the log: records are enqueued and a thread writes them, so a
full queue drops records and a full disk fails writes without anything on the loop noticing.
The "log writer" task watches the writer's counters and alerts when either grows.
"""

from __future__ import annotations

import asyncio

from ..alerts import Alert, AlertSink, Severity
from ..logwriter import LogWriter

LOG_CHECK_SECONDS = 5.0
"""How often the writer's counters are read."""


async def watch_log(writer: LogWriter, alerts: AlertSink) -> None:
    """Alert when the log loses records (queue full) or cannot be written (disk full), for
    ever."""
    dropped = errors = 0
    while True:
        await asyncio.sleep(LOG_CHECK_SECONDS)
        if writer.write_errors > errors:
            errors = writer.write_errors
            alerts.emit(Alert(Severity.URGENT, "log.write_failed",
                              "The log file cannot be written",
                              f"{errors} failed writes to {writer.path} (disk full or "
                              f"removed?); trading continues without a complete log"))
        if writer.dropped > dropped:
            dropped = writer.dropped
            alerts.emit(Alert(Severity.ROUTINE, "log.dropped", "Log records dropped",
                              f"{dropped} records dropped because the log queue was full"))
