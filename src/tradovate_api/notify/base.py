"""The notifier interface every channel (SMS, e-mail, webhook) implements."""

from __future__ import annotations

from typing import Protocol

from .message import Notification


class Notifier(Protocol):
    """Delivers one notification on one channel.

    ``send`` raises (preferably :class:`~tradovate_api.errors.NotifyError`) when delivery
    failed; the :class:`~tradovate_api.notify.NotificationCenter` retries, so a notifier
    makes one attempt and never retries itself. Exception messages must not contain
    credentials. ``close`` releases connections (called once, at shutdown).
    """

    async def send(self, notification: Notification) -> None: ...

    async def close(self) -> None: ...
