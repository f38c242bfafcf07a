"""The notification center with real channels (loopback Twilio, aiosmtpd, webhook): routing,
quiet hours, rate limiting under a burst, outages that never delay ``emit``, retries with
backoff, failure and suppression notes in the next message, secrets kept out of bodies and
logs, and a bounded flush on close."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import random
import re
import threading
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from notify_helpers import (
    ALL_SECRETS,
    FROM_NUMBER,
    SMTP_PASSWORD,
    TO_NUMBERS,
    TWILIO_SID,
    TWILIO_TOKEN,
    WEBHOOK_PATH,
    WEBHOOK_TOKEN,
    LogWatch,
    SilentServer,
    SmtpServer,
    TwilioServer,
    WebhookServer,
    free_port,
    log_text,
    secret,
)

from tradovate_api.alerts import Alert, Severity
from tradovate_api.notify import (
    EmailNotifier,
    Notification,
    NotificationCenter,
    Notifier,
    SmsNotifier,
    WebhookNotifier,
)
from tradovate_api.settings import Notifications, TimeWindow

FAST = {"send_timeout_seconds": 2.0, "retries": 0, "retry_backoff_seconds": 0.01,
        "retry_max_backoff_seconds": 0.05}


def settings(**overrides: Any) -> Notifications:
    return Notifications(**{**FAST, **overrides})


def sms(url: str, token: str = TWILIO_TOKEN) -> SmsNotifier:
    return SmsNotifier(secret(TWILIO_SID), secret(token), FROM_NUMBER, TO_NUMBERS,
                       base_url=url)


def mail(port: int, timeout: float = 30.0) -> EmailNotifier:
    return EmailNotifier("127.0.0.1", ["trader@example.test"], port=port, security="plain",
                         sender="bot@example.test", timeout=timeout)


def hook(url: str) -> WebhookNotifier:
    return WebhookNotifier(secret(url + WEBHOOK_PATH), token=secret(WEBHOOK_TOKEN))


def urgent(key: str, title: str = "", body: str = "") -> Alert:
    return Alert(Severity.URGENT, key, title or f"{key} happened", body)


def routine(key: str, title: str = "", body: str = "") -> Alert:
    return Alert(Severity.ROUTINE, key, title or f"{key} happened", body)


def sms_bodies(twilio: TwilioServer) -> list[str]:
    """Bodies texted to the first recipient (every message goes to both)."""
    return [m["Body"] for m in twilio.messages() if m["To"] == TO_NUMBERS[0]]


def np_diff(values: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(values)]


def suppressed_reported(bodies: list[str]) -> int:
    """Sum of the ``md.reconnect ×N`` counts the messages reported as suppressed."""
    counts = [re.search(r"suppressed by rate limiting or de-duplication "
                        r"\(md\.reconnect ×(\d+)\)", body) for body in bodies]
    return sum(int(match[1]) for match in counts if match)


def subjects(smtp: SmtpServer) -> list[str]:
    return [r.message["Subject"] for r in smtp.received]


def email_text(smtp: SmtpServer, index: int) -> str:
    body = smtp.received[index].message.get_body(("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


async def test_routing_by_severity_and_by_key(twilio: TwilioServer, smtp: SmtpServer,
                                              webhook: WebhookServer) -> None:
    center = NotificationCenter(
        settings(routes={"fill": ("webhook",), "report.periodic": ("log",)}),
        {"sms": sms(twilio.url), "email": mail(smtp.port), "webhook": hook(webhook.url)})
    center.start()
    center.emit(urgent("md.down", "Market data lost"))
    center.emit(routine("session.start", "Session started"))
    center.emit(urgent("fill", "Filled 1 MESZ6 @ 5000.25"))
    center.submit(Notification(title="Report", text="P&L", key="report.periodic"))
    center.submit(Notification(title="Daily summary", text="P&L +10", key="daily.summary"))
    await center.close(10)

    assert sorted(m["To"] for m in twilio.messages()) == sorted(TO_NUMBERS)
    assert sms_bodies(twilio)[0].startswith("URGENT: Market data lost\nmd.down at ")
    assert subjects(smtp) == ["URGENT: Market data lost", "Session started", "Daily summary"]
    assert [json.loads(r.body)["title"] for r in webhook.requests] == [
        "Filled 1 MESZ6 @ 5000.25"]
    stats = center.stats()
    assert (stats["sms"].delivered, stats["email"].delivered, stats["webhook"].delivered) == (
        1, 3, 1)


async def test_quiet_hours_hold_routine_alerts_but_not_urgent_ones(
        twilio: TwilioServer, smtp: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tradovate_api.notify")
    now = [datetime(2026, 12, 1, 23, 30, tzinfo=UTC).timestamp()]
    center = NotificationCenter(
        settings(quiet_hours=TimeWindow(start="22:00", end="07:00", timezone="UTC")),
        {"sms": sms(twilio.url), "email": mail(smtp.port)}, clock=lambda: now[0])
    center.start()
    center.emit(routine("session.stop", "Session stopped"))
    center.emit(urgent("risk.daily_loss", "Daily loss limit hit"))
    now[0] = datetime(2026, 12, 2, 8, 0, tzinfo=UTC).timestamp()
    center.emit(routine("session.start", "Session started"))
    await center.close(10)

    assert center.quiet_held == 1
    assert subjects(smtp) == ["URGENT: Daily loss limit hit", "Session started"]
    assert "1 routine notification(s) held during quiet hours" in email_text(smtp, 0)
    assert "quiet hours" not in email_text(smtp, 1)
    assert len(sms_bodies(twilio)) == 1
    assert any("session.stop" in r.getMessage() and "held: quiet hours" in r.getMessage()
               for r in caplog.records)


@pytest.mark.parametrize("identical", [False, True])
async def test_a_burst_of_1000_urgent_alerts_is_rate_limited_and_summarised(
        twilio: TwilioServer, smtp: SmtpServer, identical: bool) -> None:
    center = NotificationCenter(settings(max_per_key_per_hour=6),
                                {"sms": sms(twilio.url), "email": mail(smtp.port)})
    center.start()
    slowest = burst = 0.0
    for attempt in range(1000):
        before = time.perf_counter()
        center.emit(urgent("md.reconnect", "Market data reconnecting",
                           "" if identical else f"attempt {attempt}"))
        took = time.perf_counter() - before
        burst += took
        slowest = max(slowest, took)
        if attempt % 100 == 99:  # let deliveries interleave with the burst
            await asyncio.sleep(0.01)
    center.emit(urgent("risk.breach", "Position limit breached"))
    await center.close(15)

    sent = 1 if identical else 6
    assert center.suppressed["md.reconnect"] == 1000 - sent
    assert len(twilio.messages()) == (sent + 1) * len(TO_NUMBERS)
    assert len(smtp.received) == sent + 1
    assert sms_bodies(twilio)[-1].startswith("URGENT: Position limit breached")
    # Every suppressed alert is reported exactly once per channel, in the next message
    # built after it was suppressed (delivery runs while the burst goes on).
    texts = [email_text(smtp, index) for index in range(len(smtp.received))]
    for bodies in (sms_bodies(twilio), texts):
        assert suppressed_reported(bodies) == 1000 - sent
    # Generous bounds: the point is that emit does no I/O and no waiting.
    assert burst < 1.0, f"1000 emits took {burst:.3f} s"
    assert slowest < 0.05, f"slowest emit {slowest * 1000:.1f} ms"


async def test_down_or_stalled_notifiers_never_delay_emit_and_close_is_bounded(
        caplog: pytest.LogCaptureFixture) -> None:
    """SMS: connection refused; e-mail: a server that accepts and never greets; webhook: a
    server that accepts the request and never answers."""
    caplog.set_level(logging.INFO, logger="tradovate_api.notify")
    silent_smtp, stalled_http = SilentServer(), WebhookServer()
    stalled_http.stall = True
    await silent_smtp.start()
    await stalled_http.start()
    try:
        center = NotificationCenter(
            settings(send_timeout_seconds=0.5, retries=1, retry_backoff_seconds=0.05,
                     max_per_key_per_hour=100, urgent=("sms", "email", "webhook")),
            {"sms": sms(f"http://127.0.0.1:{free_port()}"), "email": mail(silent_smtp.port),
             "webhook": hook(stalled_http.url)})
        center.start()
        lags: list[float] = []

        async def ticker() -> None:
            for _ in range(40):
                before = time.perf_counter()
                await asyncio.sleep(0.01)
                lags.append(time.perf_counter() - before - 0.01)

        ticking = asyncio.create_task(ticker())
        slowest = 0.0
        for index in range(300):
            before = time.perf_counter()
            center.emit(urgent(f"key{index % 3}", body=f"event {index}"))
            slowest = max(slowest, time.perf_counter() - before)
            if index % 50 == 0:
                await asyncio.sleep(0)
        await ticking
        assert slowest < 0.05, f"slowest emit {slowest * 1000:.1f} ms"
        assert max(lags) < 0.25, f"event loop stalled {max(lags):.3f} s"
        await stalled_http.changed.until(lambda: len(stalled_http.requests) >= 1)

        started = time.perf_counter()
        await center.close(0.5)
        elapsed = time.perf_counter() - started
        assert elapsed < 0.5 + 1.0 + 0.5, f"close took {elapsed:.2f} s"
        text = log_text(caplog.records)
        assert "not delivered within the 0.5 s shutdown allowance" in text
        assert "notify sms: attempt 1/2" in text
        assert "ClientConnectorError" in text
        assert center.stats()["sms"].failed_attempts >= 2
        assert silent_smtp.connections >= 1
    finally:
        await silent_smtp.stop()
        await stalled_http.stop()


async def test_retries_with_backoff_then_gives_up_logs_and_reports_it_later(
        twilio: TwilioServer, smtp: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="tradovate_api.notify")
    twilio.status = 500
    center = NotificationCenter(
        settings(retries=2, retry_backoff_seconds=0.05, retry_max_backoff_seconds=1.0,
                 routes={"order.rejected": ("sms",)}),
        {"sms": sms(twilio.url), "email": mail(smtp.port)}, rng=random.Random(3))
    center.start()
    with LogWatch("tradovate_api.notify") as watch:
        center.emit(urgent("order.rejected", "Order rejected"))
        await watch.until_message("gave up")
    assert center.stats()["sms"].failed == 1
    assert len(twilio.requests) == 3  # 1 attempt + 2 retries, first recipient each time
    records = [r for r in caplog.records if r.name == "tradovate_api.notify"]
    retrying = [r.getMessage() for r in records if "retrying in" in r.getMessage()]
    assert len(retrying) == 2
    assert "attempt 1/3 for order.rejected failed" in retrying[0]
    assert "status 500" in retrying[0]
    delays = [float(m.rsplit("retrying in ", 1)[1].split()[0]) for m in retrying]
    assert 0.04 <= delays[0] <= 0.06  # 0.05 s ± 20 % jitter, then doubled
    assert 0.08 <= delays[1] <= 0.12
    arrivals = [r.at for r in twilio.requests]
    for gap, delay in zip(np_diff(arrivals), delays, strict=True):
        assert gap >= delay - 0.005
    gave_up = [r for r in records if "gave up" in r.getMessage()]
    assert len(gave_up) == 1
    assert gave_up[0].levelno == logging.ERROR

    twilio.status = None
    center.emit(urgent("md.down", "Market data lost"))
    await center.close(10)
    note = "1 sms notification(s) failed"
    assert note in sms_bodies(twilio)[-1]
    assert note in email_text(smtp, -1)


async def test_secrets_never_reach_bodies_or_logs(
        smtp: SmtpServer, webhook: WebhookServer, twilio: TwilioServer,
        caplog: pytest.LogCaptureFixture) -> None:
    """A careless producer puts credentials in an alert; the SMS channel has a wrong token
    so its failures are logged too. Neither delivered bodies nor any log record (including
    the twilio and aiohttp loggers, at DEBUG) contain a secret."""
    caplog.set_level(logging.DEBUG)
    wrong = "tw-wrong-SECRET-0c4f"
    secret(SMTP_PASSWORD)  # loaded like every secret (load_secrets registers it)
    center = NotificationCenter(
        settings(retries=1, urgent=("sms", "email", "webhook")),
        {"sms": sms(twilio.url, token=wrong), "email": mail(smtp.port),
         "webhook": hook(webhook.url)})
    center.start()
    center.emit(urgent("auth.renewal_failed", "Token renewal failed",
                       f"debug: sid={TWILIO_SID} token={TWILIO_TOKEN} pw={SMTP_PASSWORD}"))
    await center.close(10)

    assert center.stats()["sms"].failed == 1
    assert len(twilio.requests) == 2
    delivered = [email_text(smtp, 0), webhook.requests[0].body.decode(),
                 *(r.body.decode() for r in twilio.requests)]
    assert "sid=*** token=*** pw=***" in delivered[0]
    everything = "\n".join(delivered) + log_text(caplog.records)
    for value in (*ALL_SECRETS, wrong):
        assert value not in everything, value


async def test_close_delivers_what_was_queued_before_start(smtp: SmtpServer) -> None:
    center = NotificationCenter(settings(), {"email": mail(smtp.port)})
    for index in range(5):
        center.emit(routine(f"session.note{index}", f"Note {index}"))
    started = time.perf_counter()
    await center.close(10)
    assert time.perf_counter() - started < 10
    assert subjects(smtp) == [f"Note {index}" for index in range(5)]
    center.emit(routine("late", "After close"))  # logged, never raises, never sent
    assert len(smtp.received) == 5


async def test_a_full_queue_drops_counts_and_reports_it(webhook: WebhookServer) -> None:
    center = NotificationCenter(settings(queue_size=2, routine=("webhook",)),
                                {"webhook": hook(webhook.url)})
    for index in range(5):
        center.emit(routine(f"k{index}"))
    assert center.stats()["webhook"].dropped == 3
    await center.close(10)
    texts = [json.loads(r.body)["text"] for r in webhook.requests]
    assert len(texts) == 2
    assert "3 notification(s) dropped (delivery queue full)" in texts[0]
    assert "dropped" not in texts[1]


async def test_emit_from_another_thread_is_handed_to_the_loop(smtp: SmtpServer) -> None:
    center = NotificationCenter(settings(), {"email": mail(smtp.port)})
    center.start()
    thread = threading.Thread(target=center.emit, args=(routine("journal.full", "Disk"),))
    thread.start()
    thread.join(5)
    await smtp.changed.until(lambda: len(smtp.received) == 1)
    await center.close(5)
    assert subjects(smtp) == ["Disk"]


async def test_a_notifier_that_raises_anything_never_escapes(
        smtp: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    """A buggy notifier (raising a non-I/O exception) is treated as a failed delivery; the
    other channel and later notifications are unaffected; unknown routed channels are
    logged once."""

    class Broken:
        async def send(self, notification: Notification) -> None:
            raise RuntimeError("bug in notifier")

        async def close(self) -> None:
            raise RuntimeError("bug in close")

    broken: Notifier = Broken()
    center = NotificationCenter(settings(urgent=("sms", "email", "webhook")),
                                {"sms": broken, "email": mail(smtp.port)})
    center.start()
    center.emit(urgent("a", "First"))
    center.emit(urgent("b", "Second"))
    await center.close(5)
    assert subjects(smtp) == ["URGENT: First", "URGENT: Second"]
    assert center.stats()["sms"].failed == 2
    reported = [re.search(r"(\d+) sms notification\(s\) failed", email_text(smtp, index))
                for index in range(2)]
    assert sum(int(match[1]) for match in reported if match) == 2
    unconfigured = [r for r in caplog.records if "webhook, which is not configured"
                    in r.getMessage()]
    assert len(unconfigured) == 1


def test_settings_validate_retry_backoff() -> None:
    with pytest.raises(msgspec.ValidationError, match="retry_max_backoff_seconds"):
        msgspec.convert({"retry_backoff_seconds": 5.0, "retry_max_backoff_seconds": 1.0},
                        Notifications)
