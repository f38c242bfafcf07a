"""Build the notification center from the settings file and the secrets."""

from __future__ import annotations

import logging
import ssl

from ..secrets import Secrets
from ..settings import Settings
from .base import Notifier
from .center import NotificationCenter
from .email import EmailNotifier
from .sms import TWILIO_API, SmsNotifier
from .webhook import WebhookNotifier

_log = logging.getLogger("tradovate_api.notify")


def unconfigured_channel_warnings(settings: Settings, secrets: Secrets) -> list[str]:
    """One line per alert channel the routing uses whose variables are not set."""
    warnings = []
    for name in sorted(settings.notifications.channels_in_use() - {"log"}):
        # "sim" so that only the channel's own variables are checked.
        missing = secrets.missing_for("sim", [name])
        if missing:
            warnings.append(f"alert channel {name} is routed but not configured (missing "
                            f"{', '.join(missing)}): its notifications are only logged")
    return warnings


def build_channels(settings: Settings, secrets: Secrets, *,
                   tls_context: ssl.SSLContext | None = None,
                   twilio_base_url: str = TWILIO_API) -> dict[str, Notifier]:
    """A notifier for every channel the routing uses and the secrets configure.

    A routed channel whose variables are missing is skipped with a warning (a live run
    refuses to start with one: ``runtime.preflight``); a configuration that is present but
    unsafe or malformed raises :class:`~tradovate_api.errors.ConfigError`.
    """
    notifications = settings.notifications
    channels: dict[str, Notifier] = {}
    timeout = notifications.send_timeout_seconds
    for warning in unconfigured_channel_warnings(settings, secrets):
        _log.warning("%s", warning)
    for name in sorted(notifications.channels_in_use() - {"log"}):
        if secrets.missing_for("sim", [name]):
            continue
        if name == "sms":
            twilio = secrets.twilio
            assert twilio.account_sid is not None  # checked by missing_for above
            assert twilio.auth_token is not None
            assert twilio.from_number is not None
            channels[name] = SmsNotifier(twilio.account_sid, twilio.auth_token,
                                         twilio.from_number, twilio.to_numbers,
                                         base_url=twilio_base_url)
        elif name == "email":
            smtp = secrets.smtp
            assert smtp.host is not None
            channels[name] = EmailNotifier(
                smtp.host, smtp.recipients, port=smtp.port,
                security=notifications.email_security, sender=smtp.sender, user=smtp.user,
                password=smtp.password, tls_context=tls_context, timeout=timeout)
        elif name == "webhook":
            webhook = secrets.webhook
            assert webhook.url is not None
            channels[name] = WebhookNotifier(webhook.url, fmt=notifications.webhook_format,
                                             token=webhook.token, timeout=timeout)
    return channels


def from_settings(settings: Settings, secrets: Secrets, *,
                  tls_context: ssl.SSLContext | None = None,
                  twilio_base_url: str = TWILIO_API) -> NotificationCenter:
    """The notification center for ``settings`` (not started: call ``start()`` on the
    loop). ``tls_context`` trusts a private CA for SMTP; ``twilio_base_url`` replaces
    ``https://api.twilio.com``."""
    channels = build_channels(settings, secrets, tls_context=tls_context,
                              twilio_base_url=twilio_base_url)
    return NotificationCenter(settings.notifications, channels)
