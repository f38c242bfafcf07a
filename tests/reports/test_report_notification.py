"""The report notification: text and HTML bodies with the numbers, charts attached; e-mailed
for real through aiosmtpd on loopback."""

from __future__ import annotations

import asyncio
import email
import email.policy
import io
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from PIL import Image
from report_session import Session

from tradovate_api.notify.email import EmailNotifier
from tradovate_api.reports import build_report, report_notification
from tradovate_api.runtime.metrics import RuntimeMetrics


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: SMTP, session: SmtpSession,
                          envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


class _Link:
    connects, ready_count, ready = 3, 2, True


def test_notification_carries_text_html_and_png_charts(played: Session) -> None:
    metrics = RuntimeMetrics(clock=lambda: 0.0)
    metrics.track_session("md", _Link())
    metrics.record_tick_to_order(250_000)
    data = build_report(played.account, played.market, metrics, played.tickets,
                        now_ms=played.now_ms, kind="session_end")
    note = report_notification(data)
    assert note.key == "report.session_end"
    assert not note.urgent
    assert note.title == "Report: P&L +148.15 (end of session, 2026-11-24 15:06 UTC)"
    for line in ("Total P&L +148.15 = realized +25.00 - commissions 14.35 + open +137.50",
                 "Closed trades 2 (1 won, 1 lost, win rate 50.0%); fills 5",
                 "  ESZ6 +1 @ 5,001.25, mark 5,004.00, open +137.50, net realized +10.65",
                 "  15:01:00 ESZ6 Long 1 5,000.25 -> 15:02:00 5,001.75, net +70.90",
                 "    entry: pressure buy: ts_net=+410",
                 "    exit: Unrealized Pnl = -62.5; pressure buy: reverse",
                 "  md: connected, 3 connects, 1 reconnects",
                 "Tick-to-order latency (1 samples): p50 250 µs, p90 250 µs, p99 250 µs, "
                 "max 250 µs"):
        assert line in note.text.splitlines(), line
    assert note.html is not None
    assert "data:image/png;base64," in note.html
    assert [(a.name, a.mime) for a in note.attachments] == [("pnl.png", "image/png"),
                                                            ("prices.png", "image/png")]


async def test_report_email_arrives_with_decodable_png_attachments(played: Session) -> None:
    inbox = _Inbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(inbox, hostname="smtp.test"),
                                      "127.0.0.1", 0)
    port: Any = server.sockets[0].getsockname()[1]
    try:
        data = build_report(played.account, played.market, None, played.tickets,
                            now_ms=played.now_ms)
        note = await asyncio.to_thread(report_notification, data)
        notifier = EmailNotifier("127.0.0.1", ["trader@example.test"], port=port,
                                 security="plain", sender="bot@example.test", timeout=10)
        async with asyncio.timeout(30):
            await notifier.send(note)
    finally:
        server.close()
        await server.wait_closed()
    (message,) = inbox.messages
    assert message["Subject"] == note.title
    body = message.get_body(("plain",))
    assert body is not None
    assert "win rate 50.0%" in body.get_content()
    html = message.get_body(("html",))
    assert html is not None
    assert "pressure sell: ts_net=-380" in html.get_content()
    attachments = {part.get_filename(): part.get_content()
                   for part in message.iter_attachments()}
    assert set(attachments) == {"pnl.png", "prices.png"}
    for name, png in attachments.items():
        image = Image.open(io.BytesIO(png))
        image.load()
        assert image.format == "PNG", name
        assert image.width == 1000, name
        assert png == next(a.data for a in note.attachments if a.name == name)
