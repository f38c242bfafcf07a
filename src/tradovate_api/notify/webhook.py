"""A JSON POST to a chat or push service: Slack or Discord incoming webhooks, ntfy, or any
endpoint that accepts ``{"title", "text", "urgent", "key"}``.

The URL is a secret (Slack and Discord put the credential in its path): it never appears in
an error message. It must be ``https://`` (plain ``http://`` only to a loopback address).
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from ..errors import ConfigError, NotifyError
from ..logwriter import redact
from ..secrets import Secret
from ..tls import require_tls
from .message import Notification, clip

WebhookFormat = Literal["json", "slack", "discord", "ntfy"]
_DISCORD_LIMIT = 2000
_SLACK_LIMIT = 30000
_NTFY_LIMIT = 4000


def webhook_payload(fmt: WebhookFormat, notification: Notification,
                    topic: str = "") -> dict[str, Any]:
    """The JSON body ``fmt`` expects for ``notification``."""
    title = f"URGENT: {notification.title}" if notification.urgent else notification.title
    if fmt == "slack":
        return {"text": clip(f"*{title}*\n{notification.text}", _SLACK_LIMIT)}
    if fmt == "discord":
        return {"content": clip(f"**{title}**\n{notification.text}", _DISCORD_LIMIT)}
    if fmt == "ntfy":
        return {"topic": topic, "title": title,
                "message": clip(notification.text, _NTFY_LIMIT),
                "priority": 5 if notification.urgent else 3,
                "tags": ["rotating_light" if notification.urgent else "information_source"]}
    return {"title": notification.title, "text": notification.text,
            "urgent": notification.urgent, "key": notification.key}


class WebhookNotifier:
    """POSTs one JSON document per notification; any status outside 2xx is a failure.

    For ``ntfy`` the URL is the topic's (``https://ntfy.sh/my-topic``): the document goes to
    the server's root with the topic inside, as ntfy's JSON publishing requires.
    """

    def __init__(self, url: Secret, *, fmt: WebhookFormat = "json",
                 token: Secret | None = None, timeout: float = 30.0) -> None:
        require_tls(url.reveal(), "ALERT_WEBHOOK_URL", show_url=False)  # the URL is a secret
        parts = urlsplit(url.reveal())
        self._url = url.reveal()
        self._topic = ""
        if fmt == "ntfy":
            self._topic = parts.path.strip("/")
            if not self._topic or "/" in self._topic:
                raise ConfigError("ALERT_WEBHOOK_URL: for ntfy, give the topic's URL "
                                  "(https://host/topic)")
            self._url = urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
        self._format: WebhookFormat = fmt
        self._headers = {"Authorization": f"Bearer {token.reveal()}"} if token else {}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def send(self, notification: Notification) -> None:
        if self._session is None:  # created inside the running loop, on first use
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        payload = webhook_payload(self._format, notification, self._topic)
        try:
            async with self._session.post(self._url, json=payload,
                                          headers=self._headers) as reply:
                await reply.read()
                status = reply.status
        except (aiohttp.ClientError, OSError) as exc:
            # aiohttp's messages can include the URL; redact masks it (it is a Secret).
            raise NotifyError(redact(f"webhook: {type(exc).__name__}: {exc}")) from None
        if not 200 <= status < 300:
            raise NotifyError(f"webhook: the server answered status {status}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
