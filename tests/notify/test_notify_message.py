"""Alerts as notifications, footers in text and HTML, attachment validation."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tradovate_api.alerts import Alert, Severity
from tradovate_api.notify import Attachment, Notification, notification_for, with_footer


def test_an_alert_keeps_its_title_and_adds_key_and_time() -> None:
    created = datetime(2026, 12, 1, 14, 5, 9, tzinfo=UTC).timestamp()
    note = notification_for(Alert(Severity.URGENT, "risk.kill_switch", "Kill switch engaged",
                                  "file KILL exists", created=created))
    assert note == Notification(title="Kill switch engaged", key="risk.kill_switch",
                                urgent=True, text="file KILL exists\n\n"
                                "risk.kill_switch at 2026-12-01 14:05:09 UTC")
    plain = notification_for(Alert(Severity.ROUTINE, "session.start", "Started",
                                   created=created))
    assert plain.text == "session.start at 2026-12-01 14:05:09 UTC"
    assert not plain.urgent


def test_footer_goes_after_the_text_and_inside_the_html_body() -> None:
    report = Notification(title="R", text="body", key="report.periodic",
                          html="<html><body><p>x</p></BODY></html>")
    out = with_footer(report, "Since the last message: 2 <dropped>.")
    assert out.text == "body\n\nSince the last message: 2 <dropped>."
    assert out.html == ('<html><body><p>x</p><hr><p style="color:#555">Since the last '
                        'message: 2 &lt;dropped&gt;.</p></BODY></html>')
    assert with_footer(report, "") is report
    fragment = with_footer(Notification(title="R", text="t", key="k", html="<p>x</p>"), "f")
    assert fragment.html == '<p>x</p><hr><p style="color:#555">f</p>'


def test_attachment_needs_a_full_mime_type() -> None:
    with pytest.raises(ValueError, match="mime must look like"):
        Attachment("chart.png", "png", b"")
