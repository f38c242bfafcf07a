"""E-mail through aiosmtplib to a real SMTP server (aiosmtpd on 127.0.0.1): plain, STARTTLS
and implicit TLS with a test CA passed explicitly, AUTH, multipart text + HTML, a PNG that
decodes; certificate verification stays on."""

from __future__ import annotations

import io
import ssl
from collections.abc import AsyncIterator

import pytest
import trustme
from notify_helpers import SMTP_PASSWORD, SMTP_USER, SmtpServer, free_port, secret, tiny_png
from PIL import Image

from tradovate_api.errors import ConfigError, NotifyError
from tradovate_api.notify import Attachment, EmailNotifier, Notification

REPORT = Notification(
    title="Session report", key="report.periodic",
    text="P&L +125.00 USD\nTrades: 3",
    html="<html><body><h1>Session report</h1><p>P&amp;L +125.00 USD</p></body></html>",
    attachments=(Attachment("pnl.png", "image/png", tiny_png()),))


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def client_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def tls_smtp(ca: trustme.CA, request: pytest.FixtureRequest) -> AsyncIterator[SmtpServer]:
    server = SmtpServer(tls=request.param, server_context=server_context(ca),
                        credentials=(SMTP_USER, SMTP_PASSWORD))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def assert_report(server: SmtpServer) -> None:
    assert len(server.received) == 1
    received = server.received[0]
    message = received.message
    assert received.rcpt_tos == ["trader@example.test", "desk@example.test"]
    assert message["Subject"] == "Session report"
    assert message["To"] == "trader@example.test, desk@example.test"
    assert message.get_content_type() == "multipart/mixed"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content() == "P&L +125.00 USD\nTrades: 3\n"
    assert "<h1>Session report</h1>" in html.get_content()
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["pnl.png"]
    assert attachments[0].get_content_type() == "image/png"
    data = attachments[0].get_content()
    assert data == tiny_png()
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        assert image.size == (4, 3)
        assert image.convert("RGB").getpixel((0, 0)) == (0, 0, 255)
        assert image.convert("RGB").getpixel((3, 2)) == (255, 0, 0)


async def test_plain_smtp_delivers_text_html_and_a_png(smtp: SmtpServer) -> None:
    mail = EmailNotifier("127.0.0.1", ["trader@example.test", "desk@example.test"],
                         port=smtp.port, security="plain", sender="bot@example.test")
    await mail.send(REPORT)
    assert_report(smtp)
    assert smtp.received[0].mail_from == "bot@example.test"
    assert not smtp.received[0].over_tls


@pytest.mark.parametrize("tls_smtp", ["starttls", "ssl"], indirect=True)
async def test_tls_with_the_test_ca_authenticates_and_delivers(
        tls_smtp: SmtpServer, ca: trustme.CA) -> None:
    security = "starttls" if tls_smtp.tls == "starttls" else "ssl"
    mail = EmailNotifier("127.0.0.1", ["trader@example.test", "desk@example.test"],
                         port=tls_smtp.port, security=security, user=SMTP_USER,
                         password=secret(SMTP_PASSWORD), tls_context=client_context(ca))
    await mail.send(REPORT)
    assert_report(tls_smtp)
    assert tls_smtp.received[0].over_tls
    assert tls_smtp.received[0].authenticated
    assert tls_smtp.auth_attempts == [(SMTP_USER, SMTP_PASSWORD)]
    assert tls_smtp.received[0].mail_from == SMTP_USER


@pytest.mark.parametrize("tls_smtp", ["starttls", "ssl"], indirect=True)
async def test_certificate_is_verified_by_default(tls_smtp: SmtpServer) -> None:
    """Without the test CA the server's certificate is untrusted: nothing is sent, and the
    password never leaves the process."""
    mail = EmailNotifier("127.0.0.1", ["trader@example.test"], port=tls_smtp.port,
                         security="starttls" if tls_smtp.tls == "starttls" else "ssl",
                         user=SMTP_USER, password=secret(SMTP_PASSWORD), timeout=5)
    with pytest.raises(NotifyError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"):
        await mail.send(REPORT)
    assert tls_smtp.received == []
    assert tls_smtp.auth_attempts == []


async def test_wrong_password_is_an_error_without_the_password(
        ca: trustme.CA) -> None:
    server = SmtpServer(tls="starttls", server_context=server_context(ca),
                        credentials=(SMTP_USER, "the-right-one"))
    await server.start()
    try:
        mail = EmailNotifier("127.0.0.1", ["trader@example.test"], port=server.port,
                             user=SMTP_USER, password=secret(SMTP_PASSWORD),
                             tls_context=client_context(ca))
        with pytest.raises(NotifyError) as info:
            await mail.send(REPORT)
    finally:
        await server.stop()
    assert "SMTPAuthenticationError" in str(info.value)
    assert SMTP_PASSWORD not in str(info.value)
    assert server.received == []


async def test_unreachable_server_is_a_notify_error() -> None:
    mail = EmailNotifier("127.0.0.1", ["trader@example.test"], port=free_port(),
                         security="plain")
    with pytest.raises(NotifyError, match=r"email via 127\.0\.0\.1"):
        await mail.send(REPORT)


def test_password_is_never_sent_in_plain_text_to_a_remote_server() -> None:
    with pytest.raises(ConfigError, match="unencrypted"):
        EmailNotifier("smtp.example.test", ["a@example.test"], security="plain",
                      user="u", password=secret(SMTP_PASSWORD))
    with pytest.raises(ConfigError, match="SMTP_HOST and ALERT_EMAIL_TO"):
        EmailNotifier("smtp.example.test", [])


def test_alert_without_html_is_a_single_text_part_with_urgent_subject() -> None:
    from tradovate_api.notify import build_message

    message = build_message(Notification(title="Kill switch", text="engaged", key="risk.kill",
                                         urgent=True), "bot@example.test", ["a@example.test"])
    assert message["Subject"] == "URGENT: Kill switch"
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "engaged\n"
    assert message["Message-ID"].endswith("@example.test>")
