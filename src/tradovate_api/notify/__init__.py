"""Notifications: SMS, e-mail and webhook delivery of alerts and reports that never blocks
or breaks trading (see docs/alerts.md)."""

from .base import Notifier
from .center import ChannelStats, NotificationCenter
from .channels import build_channels, from_settings
from .email import EmailNotifier, build_message
from .limits import KeyLimiter, Verdict
from .message import Attachment, Notification, notification_for, with_footer
from .sms import TWILIO_API, SmsNotifier, sms_body
from .webhook import WebhookNotifier, webhook_payload

__all__ = [
    "TWILIO_API",
    "Attachment",
    "ChannelStats",
    "EmailNotifier",
    "KeyLimiter",
    "Notification",
    "NotificationCenter",
    "Notifier",
    "SmsNotifier",
    "Verdict",
    "WebhookNotifier",
    "build_channels",
    "build_message",
    "from_settings",
    "notification_for",
    "sms_body",
    "webhook_payload",
    "with_footer",
]
