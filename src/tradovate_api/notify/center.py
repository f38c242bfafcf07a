"""The notification center: the :class:`~tradovate_api.alerts.AlertSink` that turns alerts
into texts, e-mails and webhook posts without ever holding up trading.

``emit`` (and ``submit``, for reports) only routes and enqueues, in microseconds: it picks
the channels (by key, else by severity), applies quiet hours and the per-key rate limit and
de-duplication, and puts the notification on each channel's bounded queue. One background
task per channel delivers, so a stalled SMS gateway delays neither trading nor e-mail. A
failed attempt is retried with exponential backoff; when the retries are spent the failure is
logged and mentioned in the next message that does get through, along with any alerts
suppressed, dropped (queue full) or held during quiet hours. Nothing here raises into the
caller.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import msgspec

from ..alerts import Alert, Severity
from ..backoff import BackoffPolicy
from ..logwriter import redact
from ..settings import Notifications
from .base import Notifier
from .limits import KeyLimiter, Verdict
from .message import Notification, notification_for, with_footer

_log = logging.getLogger("tradovate_api.notify")
_NOTIFIER_CLOSE_SECONDS = 1.0
_FOOTER_KEYS = 5


@dataclass(slots=True)
class _Notes:
    """What a channel's next delivered message must mention."""

    suppressed: Counter[str] = field(default_factory=Counter)
    """Alert key → messages not sent (rate limit or duplicate)."""
    failed: Counter[str] = field(default_factory=Counter)
    """Channel → messages given up on."""
    dropped: int = 0
    quiet: int = 0

    def copy(self) -> _Notes:
        return _Notes(Counter(self.suppressed), Counter(self.failed), self.dropped, self.quiet)

    def discount(self, told: _Notes) -> None:
        """Forget what a delivered message has told (keeping what happened meanwhile)."""
        self.suppressed -= told.suppressed
        self.failed -= told.failed
        self.dropped -= told.dropped
        self.quiet -= told.quiet

    def footer(self) -> str:
        parts: list[str] = []
        total = sum(self.suppressed.values())
        if total:
            keys = ", ".join(f"{key} ×{count}"
                             for key, count in self.suppressed.most_common(_FOOTER_KEYS))
            more = ", …" if len(self.suppressed) > _FOOTER_KEYS else ""
            parts.append(f"{total} alert(s) suppressed by rate limiting or de-duplication "
                         f"({keys}{more})")
        parts += [f"{count} {channel} notification(s) failed"
                  for channel, count in sorted(self.failed.items())]
        if self.dropped:
            parts.append(f"{self.dropped} notification(s) dropped (delivery queue full)")
        if self.quiet:
            parts.append(f"{self.quiet} routine notification(s) held during quiet hours")
        if not parts:
            return ""
        return "Since the last message: " + "; ".join(parts) + ". Details are in the log."


class ChannelStats(msgspec.Struct):
    """Counters of one channel since start."""

    delivered: int = 0
    failed: int = 0
    """Notifications given up on after every retry."""
    failed_attempts: int = 0
    dropped: int = 0


class _Channel:
    __slots__ = ("busy", "name", "notes", "notifier", "queue", "stats", "task")

    def __init__(self, name: str, notifier: Notifier, queue_size: int) -> None:
        self.name = name
        self.notifier = notifier
        self.queue: asyncio.Queue[Notification] = asyncio.Queue(queue_size)
        self.notes = _Notes()
        self.stats = ChannelStats()
        self.busy = False
        self.task: asyncio.Task[None] | None = None


class NotificationCenter:
    """Routes alerts and notifications to channels and delivers them in the background.

    ``channels`` maps channel names used in the settings (``"sms"``, ``"email"``,
    ``"webhook"``) to notifiers; a routed channel that is missing is logged once and skipped
    (``"log"`` needs no notifier: every alert is logged). ``emit`` and ``submit`` may be
    called before ``start``; call them from the event loop's thread (other threads are
    handed over to it).
    """

    def __init__(self, settings: Notifications, channels: Mapping[str, Notifier], *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self._channels = {name: _Channel(name, notifier, settings.queue_size)
                          for name, notifier in channels.items()}
        self._clock = clock
        self._monotonic = monotonic
        self._rng = rng or random.Random()
        self._limiter = KeyLimiter(settings.max_per_key_per_hour, settings.dedupe_seconds)
        self._backoff = BackoffPolicy(initial=settings.retry_backoff_seconds,
                                      maximum=settings.retry_max_backoff_seconds)
        self._warned: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self._closed = False
        self.suppressed: Counter[str] = Counter()
        """Alert key → notifications not sent because of the rate limit or a duplicate."""
        self.quiet_held = 0
        """Routine notifications only logged because of quiet hours."""

    # ------------------------------------------------------------------ producers

    def emit(self, alert: Alert) -> None:
        """Queue ``alert`` for delivery; returns at once and never raises."""
        try:
            if self._handed_over(self.emit, alert):
                return
            outcome = self._route(notification_for(alert), (alert.key, alert.title,
                                                            alert.body))
            # Suppressed repeats are logged quietly: a burst must not flood the log either.
            level = (logging.ERROR if alert.severity is Severity.URGENT
                     and not outcome.startswith("suppressed") else logging.INFO)
            _log.log(level, "alert %s: %s (%s)", alert.key, alert.title, outcome,
                     extra={"alert_key": alert.key, "severity": str(alert.severity),
                            "delivery": outcome})
        except Exception:
            _log.exception("alert %s could not be queued", getattr(alert, "key", "?"))

    def submit(self, notification: Notification) -> None:
        """Queue a notification (e.g. a report) like an alert; never raises."""
        try:
            if self._handed_over(self.submit, notification):
                return
            outcome = self._route(notification, (notification.key, notification.title,
                                                 notification.text))
            _log.info("notification %s: %s (%s)", notification.key, notification.title,
                      outcome, extra={"alert_key": notification.key, "delivery": outcome})
        except Exception:
            _log.exception("notification %s could not be queued",
                           getattr(notification, "key", "?"))

    def _handed_over(self, method: Callable[[Any], None], item: object) -> bool:
        """Run ``method(item)`` on the loop's thread if called from another thread."""
        if self._loop is None or threading.get_ident() == self._thread:
            return False
        self._loop.call_soon_threadsafe(method, item)
        return True

    def _route(self, notification: Notification, fingerprint: Hashable) -> str:
        """Enqueue ``notification`` where it belongs; say what happened, for the log."""
        targets: list[_Channel] = []
        for name in self.settings.channels_for(notification.key, notification.urgent):
            channel = self._channels.get(name)
            if channel is not None:
                targets.append(channel)
            elif name != "log" and name not in self._warned:
                self._warned.add(name)
                _log.warning("notifications routed to %s, which is not configured: they are "
                             "only logged", name)
        if not targets:
            return "logged only"
        if self._closed:
            return "not sent: notifications are closed"
        quiet = self.settings.quiet_hours
        if not notification.urgent and quiet is not None and quiet.contains(
                datetime.fromtimestamp(self._clock(), UTC)):
            self.quiet_held += 1
            for channel in targets:
                channel.notes.quiet += 1
            return "held: quiet hours"
        verdict = self._limiter.admit(notification.key, fingerprint, self._monotonic())
        if verdict is not Verdict.SEND:
            self.suppressed[notification.key] += 1
            for channel in targets:
                channel.notes.suppressed[notification.key] += 1
            return f"suppressed: {verdict.value}"
        queued: list[str] = []
        for channel in targets:
            try:
                channel.queue.put_nowait(notification)
            except asyncio.QueueFull:
                channel.stats.dropped += 1
                channel.notes.dropped += 1
                _log.warning("notify %s: queue full, dropped %s", channel.name,
                             notification.key)
            else:
                queued.append(channel.name)
        return "queued for " + ", ".join(queued) if queued else "dropped: queues full"

    # ------------------------------------------------------------------ delivery

    def start(self) -> None:
        """Start one delivery task per channel (idempotent; needs a running loop)."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        for channel in self._channels.values():
            channel.task = self._loop.create_task(self._run(channel),
                                                  name=f"notify {channel.name}")

    async def _run(self, channel: _Channel) -> None:
        while True:
            notification = await channel.queue.get()
            channel.busy = True
            try:
                await self._deliver(channel, notification)
            except Exception:  # a bug here must not end delivery for good
                _log.exception("notify %s: delivery failed unexpectedly", channel.name)
            finally:
                channel.busy = False
                channel.queue.task_done()

    async def _deliver(self, channel: _Channel, notification: Notification) -> None:
        told = channel.notes.copy()
        message = with_footer(_scrubbed(notification), told.footer())
        attempts = 1 + self.settings.retries
        for attempt in range(attempts):
            try:
                async with asyncio.timeout(self.settings.send_timeout_seconds):
                    await channel.notifier.send(message)
            except Exception as exc:
                channel.stats.failed_attempts += 1
                cause = _describe(exc, self.settings.send_timeout_seconds)
                if attempt + 1 < attempts:
                    delay = self._backoff.delay(attempt, self._rng)
                    _log.warning("notify %s: attempt %d/%d for %s failed: %s; retrying in "
                                 "%.2f s", channel.name, attempt + 1, attempts,
                                 notification.key, cause, delay)
                    await asyncio.sleep(delay)
                    continue
                channel.stats.failed += 1
                for other in self._channels.values():
                    other.notes.failed[channel.name] += 1
                _log.error("notify %s: gave up on %s (%r) after %d attempts: %s",
                           channel.name, notification.key, notification.title, attempts,
                           cause, extra={"alert_key": notification.key})
                return
            channel.stats.delivered += 1
            channel.notes.discount(told)
            return

    # ------------------------------------------------------------------ shutdown

    def pending(self) -> int:
        """Notifications queued or being delivered."""
        return sum(c.queue.qsize() + c.busy for c in self._channels.values())

    async def close(self, timeout: float) -> None:  # noqa: ASYNC109 - the bound is the point
        """Stop accepting, give pending notifications up to ``timeout`` seconds to be
        delivered, then cancel what is left (logged) and close the notifiers."""
        self._closed = True
        self.start()
        try:
            async with asyncio.timeout(timeout):
                for channel in self._channels.values():
                    await channel.queue.join()
        except TimeoutError:
            _log.error("notify: %d notification(s) not delivered within the %.1f s shutdown "
                       "allowance", self.pending(), timeout)
        tasks = [c.task for c in self._channels.values() if c.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for channel in self._channels.values():
            try:
                async with asyncio.timeout(_NOTIFIER_CLOSE_SECONDS):
                    await channel.notifier.close()
            except Exception as exc:
                _log.warning("notify %s: close failed: %s", channel.name,
                             _describe(exc, _NOTIFIER_CLOSE_SECONDS))
        _log.info("notify: closed; %s; suppressed %d",
                  ", ".join(f"{name} {stats}" for name, stats in self.stats().items())
                  or "no channels", sum(self.suppressed.values()))

    def stats(self) -> dict[str, ChannelStats]:
        """Per-channel counters (copies)."""
        return {name: msgspec.structs.replace(c.stats) for name, c in self._channels.items()}


def _scrubbed(notification: Notification) -> Notification:
    """``notification`` with every registered secret value masked in its text."""
    html = notification.html
    return msgspec.structs.replace(notification, title=redact(notification.title),
                                   text=redact(notification.text),
                                   html=redact(html) if html is not None else None)


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    return redact(f"{type(exc).__name__}: {exc}")

