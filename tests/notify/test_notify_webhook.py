"""Webhook JSON POSTs to a loopback receiver: each format's body, the bearer token, ntfy's
topic handling, failures without the (secret) URL, URL validation."""

from __future__ import annotations

import json

import pytest
from notify_helpers import WEBHOOK_PATH, WEBHOOK_TOKEN, WebhookServer, free_port, secret

from tradovate_api.errors import ConfigError, NotifyError
from tradovate_api.notify import Notification, WebhookNotifier

ALERT = Notification(title="Order rejected", text="MESZ6 buy 1: insufficient margin",
                     key="order.rejected", urgent=True)
ROUTINE = Notification(title="Session started", text="connected", key="session.start")


async def post(server: WebhookServer, fmt: str, notification: Notification,
               token: str | None = None, path: str = WEBHOOK_PATH) -> dict[str, object]:
    hook = WebhookNotifier(secret(server.url + path), fmt=fmt,  # type: ignore[arg-type]
                           token=secret(token) if token else None)
    try:
        await hook.send(notification)
    finally:
        await hook.close()
    request = server.requests[-1]
    assert request.method == "POST"
    assert request.headers["Content-Type"].startswith("application/json")
    body: dict[str, object] = json.loads(request.body)
    return body


async def test_generic_json_body_and_bearer_token(webhook: WebhookServer) -> None:
    body = await post(webhook, "json", ALERT, token=WEBHOOK_TOKEN)
    assert body == {"title": "Order rejected", "text": "MESZ6 buy 1: insufficient margin",
                    "urgent": True, "key": "order.rejected"}
    request = webhook.requests[-1]
    assert request.path == WEBHOOK_PATH
    assert request.headers["Authorization"] == f"Bearer {WEBHOOK_TOKEN}"


async def test_slack_and_discord_bodies(webhook: WebhookServer) -> None:
    assert await post(webhook, "slack", ALERT) == {
        "text": "*URGENT: Order rejected*\nMESZ6 buy 1: insufficient margin"}
    assert "Authorization" not in webhook.requests[-1].headers
    discord = await post(webhook, "discord", Notification(title="Report", text="y" * 3000,
                                                          key="report.periodic"))
    content = discord["content"]
    assert isinstance(content, str)
    assert len(content) == 2000
    assert content.startswith("**Report**\nyyy")


async def test_ntfy_posts_to_the_root_with_the_topic_inside(webhook: WebhookServer) -> None:
    assert await post(webhook, "ntfy", ALERT, path="/trading-alerts") == {
        "topic": "trading-alerts", "title": "URGENT: Order rejected",
        "message": "MESZ6 buy 1: insufficient margin", "priority": 5,
        "tags": ["rotating_light"]}
    assert webhook.requests[-1].path == "/"
    body = await post(webhook, "ntfy", ROUTINE, path="/trading-alerts")
    assert body["priority"] == 3


async def test_error_status_and_refused_connection_never_show_the_url(
        webhook: WebhookServer) -> None:
    webhook.status = 500
    with pytest.raises(NotifyError, match="status 500") as info:
        await post(webhook, "json", ALERT)
    assert "SECRET" not in str(info.value)
    hook = WebhookNotifier(secret(f"http://127.0.0.1:{free_port()}{WEBHOOK_PATH}"))
    try:
        with pytest.raises(NotifyError) as refused:
            await hook.send(ALERT)
    finally:
        await hook.close()
    assert "ClientConnectorError" in str(refused.value)
    assert "SECRET" not in str(refused.value)


@pytest.mark.parametrize(("url", "fmt", "problem"), [
    ("http://hooks.example.test/SECRET-path", "json", "must be https://"),
    ("ftp://127.0.0.1/SECRET-path", "json", "must be https://"),
    ("https://ntfy.example.test/", "ntfy", "topic"),
    ("https://ntfy.example.test/a/SECRET-b", "ntfy", "topic"),
])
def test_bad_urls_are_config_errors_that_do_not_echo_the_url(
        url: str, fmt: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as info:
        WebhookNotifier(secret(url), fmt=fmt)  # type: ignore[arg-type]
    assert "SECRET" not in str(info.value)
    assert "example.test" not in str(info.value)
