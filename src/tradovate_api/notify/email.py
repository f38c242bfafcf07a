"""E-mail through ``aiosmtplib``: a plain-text body, an HTML alternative and attachments.

``security`` is ``"starttls"`` (upgrade after connecting, port 587), ``"ssl"`` (TLS from the
first byte, port 465) or ``"plain"`` (port 25, no encryption: a local relay). Certificates
are always verified — pass ``tls_context`` to trust a private CA; there is no switch to turn
verification off. A password is never sent over plain text except to a loopback server.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Literal

import aiosmtplib

from ..errors import ConfigError, NotifyError
from ..logwriter import redact
from ..secrets import Secret
from ..tls import is_loopback
from .message import Notification

Security = Literal["starttls", "ssl", "plain"]
DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "plain": 25}


def build_message(notification: Notification, sender: str,
                  recipients: Sequence[str]) -> EmailMessage:
    """A MIME message: text/plain, plus text/html as an alternative when given, plus one
    part per attachment."""
    message = EmailMessage()
    prefix = "URGENT: " if notification.urgent else ""
    message["Subject"] = f"{prefix}{notification.title}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(notification.text)
    if notification.html is not None:
        message.add_alternative(notification.html, subtype="html")
    for attachment in notification.attachments:
        maintype, _, subtype = attachment.mime.partition("/")
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype,
                               filename=attachment.name)
    return message


class EmailNotifier:
    """Sends each notification as one message to every recipient (one SMTP connection per
    message: alerts are rare, and a fresh connection survives server restarts)."""

    def __init__(self, host: str, recipients: Sequence[str], *, port: int | None = None,
                 security: Security = "starttls", sender: str | None = None,
                 user: str | None = None, password: Secret | None = None,
                 tls_context: ssl.SSLContext | None = None, timeout: float = 30.0) -> None:
        if not host or not recipients:
            raise ConfigError("email: SMTP_HOST and ALERT_EMAIL_TO are required")
        if security == "plain" and password and not is_loopback(host):
            raise ConfigError("email: refusing to send the SMTP password unencrypted to a "
                              "remote server: set notifications.email_security to "
                              "\"starttls\" or \"ssl\"")
        self._host = host
        self._port = port or DEFAULT_PORTS[security]
        self._security = security
        self._recipients = tuple(recipients)
        self._sender = sender or user or f"tradovate-api@{socket.gethostname()}"
        self._user = user
        self._password = password
        self._tls_context = tls_context
        self._timeout = timeout

    async def send(self, notification: Notification) -> None:
        message = build_message(notification, self._sender, self._recipients)
        context = None
        if self._security != "plain":
            context = self._tls_context or ssl.create_default_context()
        try:
            await aiosmtplib.send(
                message, hostname=self._host, port=self._port,
                username=self._user if self._password else None,
                password=self._password.reveal() if self._password else None,
                use_tls=self._security == "ssl", start_tls=self._security == "starttls",
                tls_context=context, timeout=self._timeout)
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise NotifyError(redact(f"email via {self._host}:{self._port}: "
                                     f"{type(exc).__name__}: {exc}")) from None

    async def close(self) -> None:
        """Nothing to release: every message uses its own connection."""
