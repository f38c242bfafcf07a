"""What a notifier delivers: one message with a plain-text body, an optional HTML body and
attachments (report charts). Alerts become notifications here, so every channel shows an
alert the same way."""

from __future__ import annotations

import html as html_lib
from datetime import UTC, datetime

import msgspec

from ..alerts import Alert, Severity


class Attachment(msgspec.Struct, frozen=True):
    """A file sent with an e-mail, e.g. a PNG chart (``mime="image/png"``)."""

    name: str
    mime: str
    data: bytes

    def __post_init__(self) -> None:
        maintype, _, subtype = self.mime.partition("/")
        if not maintype or not subtype:
            raise ValueError(f"attachment {self.name!r}: mime must look like 'image/png', "
                             f"got {self.mime!r}")


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """One message for the trader. ``key`` names the kind of event (alert key, or e.g.
    ``report.periodic``) for routing, rate limiting and de-duplication; ``urgent`` picks the
    urgent route (SMS) over the routine one (e-mail)."""

    title: str
    text: str
    key: str
    urgent: bool = False
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()


def notification_for(alert: Alert) -> Notification:
    """The notification that tells the trader about ``alert``."""
    at = datetime.fromtimestamp(alert.created, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    event = f"{alert.key} at {at}"
    text = f"{alert.body}\n\n{event}" if alert.body else event
    return Notification(title=alert.title, text=text, key=alert.key,
                        urgent=alert.severity is Severity.URGENT)


def with_footer(notification: Notification, footer: str) -> Notification:
    """``notification`` with ``footer`` appended to its text (and HTML) body."""
    if not footer:
        return notification
    html = notification.html
    if html is not None:
        block = f'<hr><p style="color:#555">{html_lib.escape(footer)}</p>'
        end = html.lower().rfind("</body>")
        html = html[:end] + block + html[end:] if end >= 0 else html + block
    return msgspec.structs.replace(notification, text=f"{notification.text}\n\n{footer}",
                                   html=html)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, marking the cut."""
    return text if len(text) <= limit else text[:limit - 1] + "…"
