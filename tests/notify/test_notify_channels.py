"""Building the channels from the settings file and the secrets."""

from __future__ import annotations

import logging

import pytest
from notify_helpers import SMTP_PASSWORD, TWILIO_SID, TWILIO_TOKEN, SmtpServer, TwilioServer

from tradovate_api.alerts import Alert, Severity
from tradovate_api.errors import ConfigError
from tradovate_api.notify import (
    EmailNotifier,
    SmsNotifier,
    WebhookNotifier,
    build_channels,
    from_settings,
)
from tradovate_api.secrets import secrets_from_mapping
from tradovate_api.settings import settings_from_mapping

FULL = {"TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006", "TWILIO_TO_NUMBERS": "+15551230001",
        "SMTP_HOST": "127.0.0.1", "ALERT_EMAIL_TO": "a@example.test",
        "ALERT_WEBHOOK_URL": "https://hooks.example.test/SECRET-path",
        "ALERT_WEBHOOK_TOKEN": "wh-SECRET-token"}


def test_every_routed_and_configured_channel_gets_a_notifier() -> None:
    settings = settings_from_mapping({"notifications": {
        "routes": {"fill": ["webhook"]}, "webhook_format": "slack"}})
    channels = build_channels(settings, secrets_from_mapping(FULL))
    assert set(channels) == {"sms", "email", "webhook"}
    assert isinstance(channels["sms"], SmsNotifier)
    assert isinstance(channels["email"], EmailNotifier)
    assert isinstance(channels["webhook"], WebhookNotifier)
    only_email = settings_from_mapping({"notifications": {"urgent": ["email", "log"]}})
    assert set(build_channels(only_email, secrets_from_mapping(FULL))) == {"email"}


def test_routed_channel_without_secrets_is_skipped_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="tradovate_api.notify")
    settings = settings_from_mapping({})
    channels = build_channels(settings, secrets_from_mapping({"SMTP_HOST": "127.0.0.1",
                                                              "ALERT_EMAIL_TO": "a@x.test"}))
    assert set(channels) == {"email"}
    warning = " ".join(r.getMessage() for r in caplog.records)
    assert "sms is routed but not configured" in warning
    assert "TWILIO_ACCOUNT_SID" in warning


def test_unsafe_configuration_is_a_config_error() -> None:
    settings = settings_from_mapping({"notifications": {"email_security": "plain"}})
    remote = secrets_from_mapping({"SMTP_HOST": "smtp.example.test", "ALERT_EMAIL_TO": "a@x.t",
                                   "SMTP_USER": "u", "SMTP_PASSWORD": SMTP_PASSWORD})
    with pytest.raises(ConfigError, match="unencrypted"):
        build_channels(settings, remote)
    hooked = settings_from_mapping({"notifications": {"urgent": ["webhook"]}})
    with pytest.raises(ConfigError, match="ALERT_WEBHOOK_URL: must be https"):
        build_channels(hooked, secrets_from_mapping(
            {"ALERT_WEBHOOK_URL": "http://hooks.example.test/x"}))


def test_unknown_settings_values_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"notifications\.webhook_format"):
        settings_from_mapping({"notifications": {"webhook_format": "teams"}})
    with pytest.raises(ConfigError, match=r"notifications\.queue_size"):
        settings_from_mapping({"notifications": {"queue_size": 0}})


async def test_from_settings_delivers_end_to_end(twilio: TwilioServer,
                                                 smtp: SmtpServer) -> None:
    settings = settings_from_mapping({"notifications": {"email_security": "plain"}})
    secrets = secrets_from_mapping({**FULL, "SMTP_PORT": str(smtp.port),
                                    "SMTP_FROM": "bot@example.test"})
    center = from_settings(settings, secrets, twilio_base_url=twilio.url)
    center.start()
    center.emit(Alert(Severity.URGENT, "supervisor.circuit_open", "Reconnects stopped"))
    await center.close(10)
    assert [m["Body"].splitlines()[0] for m in twilio.messages()] == [
        "URGENT: Reconnects stopped"]
    assert [r.message["Subject"] for r in smtp.received] == ["URGENT: Reconnects stopped"]
    assert smtp.received[0].mail_from == "bot@example.test"


def test_webhook_secrets_are_masked_and_required_only_when_routed() -> None:
    secrets = secrets_from_mapping(FULL)
    shown = secrets.masked()
    assert shown["ALERT_WEBHOOK_URL"] == "***"
    assert shown["ALERT_WEBHOOK_TOKEN"] == "***"
    assert "SECRET" not in repr(secrets)
    empty = secrets_from_mapping({})
    assert empty.missing_for("sim", ["webhook"]) == ["ALERT_WEBHOOK_URL"]
    assert empty.missing_for("sim", ["email", "log"]) == ["SMTP_HOST", "ALERT_EMAIL_TO"]
    assert empty.masked()["ALERT_WEBHOOK_TOKEN"] == "(not set)"
