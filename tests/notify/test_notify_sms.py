"""SMS through the official twilio async client against a loopback Messages endpoint: the
exact documented request (path, form fields, basic auth), errors without secrets."""

from __future__ import annotations

import logging

import pytest
from notify_helpers import (
    ALL_SECRETS,
    FROM_NUMBER,
    TO_NUMBERS,
    TWILIO_SID,
    TWILIO_TOKEN,
    TwilioServer,
    free_port,
    log_text,
    secret,
)

from tradovate_api.errors import ConfigError, NotifyError
from tradovate_api.notify import Notification, SmsNotifier, sms_body


def notifier(server_url: str, token: str = TWILIO_TOKEN) -> SmsNotifier:
    return SmsNotifier(secret(TWILIO_SID), secret(token), FROM_NUMBER, TO_NUMBERS,
                       base_url=server_url)


ALERT = Notification(title="Market data lost", text="md socket down for 30 s", key="md.down",
                     urgent=True)


async def test_sends_the_documented_messages_request_to_every_recipient(
        twilio: TwilioServer) -> None:
    sms = notifier(twilio.url)
    try:
        await sms.send(ALERT)
    finally:
        await sms.close()
    assert len(twilio.requests) == 2
    for request, to in zip(twilio.requests, TO_NUMBERS, strict=True):
        assert request.method == "POST"
        assert request.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
        assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
        assert request.basic_auth() == (TWILIO_SID, TWILIO_TOKEN)
        assert request.form() == {"To": [to], "From": [FROM_NUMBER],
                                  "Body": ["URGENT: Market data lost\nmd socket down for 30 s"]}


async def test_twilio_error_answer_raises_without_secrets(
        twilio: TwilioServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    sms = notifier(twilio.url, token="wrong-token-SECRET-x1")
    try:
        with pytest.raises(NotifyError) as info:
            await sms.send(ALERT)
    finally:
        await sms.close()
    message = str(info.value)
    assert "status 401" in message
    assert "20003" in message
    assert info.value.__cause__ is None
    for value in (*ALL_SECRETS, "wrong-token-SECRET-x1"):
        assert value not in message
        assert value not in log_text(caplog.records)


async def test_a_retry_texts_only_recipients_not_yet_reached(twilio: TwilioServer) -> None:
    """The second recipient fails once; resending the same notification must not text the
    first recipient twice."""
    twilio.failures[TO_NUMBERS[1]] = 1
    sms = notifier(twilio.url)
    try:
        with pytest.raises(NotifyError, match="status 503"):
            await sms.send(ALERT)
        await sms.send(ALERT)
    finally:
        await sms.close()
    tos = [r.form()["To"][0] for r in twilio.requests]
    assert tos == [TO_NUMBERS[0], TO_NUMBERS[1], TO_NUMBERS[1]]


async def test_connection_refused_is_a_notify_error_without_the_account_sid() -> None:
    sms = notifier(f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(NotifyError) as info:
            await sms.send(ALERT)
    finally:
        await sms.close()
    assert "ClientConnectorError" in str(info.value)
    assert TWILIO_SID not in str(info.value)


def test_body_is_clipped_to_twilio_limit_and_marks_routine() -> None:
    long = Notification(title="Report", text="x" * 5000, key="report.periodic")
    body = sms_body(long)
    assert len(body) == 1600
    assert body.startswith("Report\nxxx")
    assert body.endswith("…")


def test_missing_credentials_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TWILIO_TO_NUMBERS"):
        SmsNotifier(secret(TWILIO_SID), secret(TWILIO_TOKEN), FROM_NUMBER, ())
