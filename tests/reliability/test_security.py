"""Secrets never leave the places they are used: a whole trading session with distinctive fake
credentials (Tradovate password, sec and cid; Twilio SID and token; SMTP password; webhook URL
and token; every access token the server issues) and faults that make the runtime log, alert
and report about logins and failures. Afterwards every log line (the real log file), every
delivered SMS, e-mail and webhook body, every alert, the reports, the journal, the md
recordings, the status output and the final summary are scanned: none may contain any of them.
The token cache and the journal are created 0600."""

from __future__ import annotations

import asyncio
import io
import ssl
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from notify_helpers import (
    FROM_NUMBER,
    SMTP_PASSWORD,
    SMTP_USER,
    TO_NUMBERS,
    TWILIO_SID,
    TWILIO_TOKEN,
    WEBHOOK_PATH,
    WEBHOOK_TOKEN,
    SmtpServer,
    TwilioServer,
    WebhookServer,
)

from tradovate_api.alerts import Alert
from tradovate_api.chaos import ChurnStrategy
from tradovate_api.client import ConnectionOptions
from tradovate_api.notify import from_settings
from tradovate_api.orders import OrderManager, TicketState
from tradovate_api.runtime import BackoffPolicy, BreakerPolicy, SupervisorOptions
from tradovate_api.runtime.app import TradingApp
from tradovate_api.runtime.persistence import Persistence
from tradovate_api.secrets import secrets_from_mapping
from tradovate_api.settings import settings_from_mapping
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.simulator.config import UserConfig

USER = "alice-sec"
PASSWORD = "pw-SECRET-0f9e2c71"
SEC = "sec-SECRET-5a7d1b33"
CID = "8877665544"
FIXED_SECRETS = (PASSWORD, SEC, CID, TWILIO_SID, TWILIO_TOKEN, SMTP_PASSWORD, WEBHOOK_TOKEN,
                 WEBHOOK_PATH.strip("/"))
OPTIONS = ConnectionOptions(heartbeat_interval=0.1, silence_timeout=1.0, open_timeout=2.0,
                            authorize_timeout=2.0, request_timeout=2.0, close_timeout=1.0)
SUPERVISION = SupervisorOptions(backoff=BackoffPolicy(initial=0.05, maximum=0.3, jitter=0.2),
                                breaker=BreakerPolicy(),
                                shutdown_timeout=8.0, cancel_timeout=1.0)
"""The shipped circuit breaker; only the pacing (back-off, shutdown budget) is shorter, so a
test runs in seconds."""


class Tee:
    """The app's alert sink: keeps every alert, passes it on, wakes waiters."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.alerts: list[Alert] = []
        self._changed = asyncio.Event()

    def emit(self, alert: Alert) -> None:
        self.alerts.append(alert)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
        self.inner.emit(alert)

    async def until_key(self, key: str, limit: float = 15.0) -> None:
        async with asyncio.timeout(limit):
            while key not in {a.key for a in self.alerts}:
                await self._changed.wait()


@pytest.fixture
async def servers() -> AsyncIterator[tuple[TwilioServer, SmtpServer, WebhookServer,
                                           ssl.SSLContext]]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    ca.configure_trust(client_context)
    twilio, webhook = TwilioServer(), WebhookServer()
    smtp = SmtpServer(tls="ssl", server_context=server_context,
                      credentials=(SMTP_USER, SMTP_PASSWORD))
    for server in (twilio, smtp, webhook):
        await server.start()
    yield twilio, smtp, webhook, client_context
    for server in (twilio, smtp, webhook):
        await server.stop()


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _files(root: Path, *, but: Path) -> dict[str, bytes]:
    """Every file the run wrote (the token cache excepted: holding the token is its job)."""
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*"))
            if path.is_file() and path != but}


def _email_texts(smtp: SmtpServer) -> list[bytes]:
    texts: list[bytes] = []
    for received in smtp.received:
        texts.append(received.message.as_bytes())
        for part in received.message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                texts.append(payload)
    return texts


async def test_no_secret_reaches_logs_alerts_reports_journal_or_output(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        servers: tuple[TwilioServer, SmtpServer, WebhookServer, ssl.SSLContext]) -> None:
    twilio, smtp, webhook, client_context = servers
    secrets = secrets_from_mapping({
        "TRADOVATE_NAME": USER, "TRADOVATE_PASSWORD": PASSWORD, "TRADOVATE_CID": CID,
        "TRADOVATE_SEC": SEC, "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_TO_NUMBERS": ",".join(TO_NUMBERS), "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp.port), "SMTP_USER": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD,
        "SMTP_FROM": "bot@example.test", "ALERT_EMAIL_TO": "ops@example.test",
        "ALERT_WEBHOOK_URL": webhook.url + WEBHOOK_PATH, "ALERT_WEBHOOK_TOKEN": WEBHOOK_TOKEN})
    config = SimulatorConfig(users=[UserConfig(name=USER, password=PASSWORD)], warm_up=60.0,
                             tick_interval=0.05, heartbeat_interval=0.2, idle_timeout=3.0)
    async with Simulator(config, seed=3, clock=open_clock()) as sim:
        symbols = [next(i.name for i in sim.catalog if i.product.name == p) for p in ("ES", "NQ")]
        settings = settings_from_mapping({
            "environment": "sim", "instruments": symbols,
            "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
            "log": {"path": str(tmp_path / "logs" / "app.jsonl"), "level": "DEBUG"},
            "auth": {"token_cache": str(tmp_path / "state" / "token.json"),
                     "max_logins_per_hour": 20},
            "reports": {"directory": str(tmp_path / "reports")},
            "journal": {"path": str(tmp_path / "state" / "journal.db")},
            "recording": {"enabled": True, "directory": str(tmp_path / "recordings")},
            "connection": {"heartbeat_seconds": 0.1, "silence_timeout_seconds": 1.0,
                           "request_timeout_seconds": 2.0},
            "risk": {"max_position": 2, "max_orders_per_second": 20.0},
            "trading": {"pause_on_error": False},
            "notifications": {"urgent": ["sms", "email", "webhook"],
                              "routine": ["email", "webhook"], "email_security": "ssl",
                              "max_per_key_per_hour": 1000, "dedupe_seconds": 0.0,
                              "retries": 1, "retry_backoff_seconds": 0.1},
            "shutdown": {"flatten": True, "timeout_seconds": 8.0}})
        center = from_settings(settings, secrets, tls_context=client_context,
                               twilio_base_url=twilio.url)
        center.start()
        persistence = Persistence(settings, label="security")
        tee = Tee(persistence.alerts(center))
        strategy = ChurnStrategy(interval_ms=200, seed=3)
        status = io.StringIO()
        app = TradingApp(settings, secrets.tradovate, strategy, alerts=tee,
                         submit=center.submit, handle_signals=False, status=status,
                         supervisor_options=SUPERVISION, connection_options=OPTIONS,
                         clock=lambda: int(sim.clock() * 1000))
        persistence.attach(app)
        tokens: set[str] = set()
        current = None
        orders: OrderManager | None = None
        task = asyncio.create_task(app.run())
        try:
            async with asyncio.timeout(30):
                await app.started.wait()
            auth, orders = app.auth, app.orders
            assert auth is not None
            assert orders is not None
            assert auth.current is not None
            tokens |= {auth.current.access_token.reveal(), auth.current.md_access_token.reveal()}
            auth.on_token(lambda info: tokens.update((info.access_token.reveal(),
                                                      info.md_access_token.reveal())))
            # Faults that make the runtime talk about logins, tokens and failures.
            sim.faults.reject_orders(2, "SecurityTestReject")
            sim.faults.expire_tokens()
            await sim.faults.drop_connections("all")
            await tee.until_key("auth.token_rejected")
            async with asyncio.timeout(20):
                await app.account_changed.until(
                    lambda: len(strategy.fills) >= 3 and auth.logins >= 2)
            current = auth.current
            app.request_shutdown("security test over")
            assert await asyncio.wait_for(task, 30) == 0
        finally:
            if not task.done():
                task.cancel()
            await center.close(10)

    secret_values = [*FIXED_SECRETS, *sorted(tokens)]
    assert len(tokens) >= 4, "the run logged in twice (access and md token each)"
    cache = tmp_path / "state" / "token.json"
    files = _files(tmp_path, but=cache)
    scanned = dict(files)
    assert any(name.startswith("logs/") for name in scanned)
    assert any(name.startswith("reports/") for name in scanned)
    assert any(name.startswith("recordings/") for name in scanned)
    assert "state/journal.db" in scanned
    for number, request in enumerate(twilio.requests):
        scanned[f"sms {number}"] = request.body
    for number, request in enumerate(webhook.requests):
        scanned[f"webhook {number}"] = request.body
    for number, text in enumerate(_email_texts(smtp)):
        scanned[f"e-mail part {number}"] = text
    for number, alert in enumerate(tee.alerts):
        scanned[f"alert {number}"] = f"{alert.key} {alert.title} {alert.body}".encode()
    output = capsys.readouterr()
    scanned["stdout/stderr"] = (output.out + output.err).encode()
    scanned["status line"] = status.getvalue().encode()
    scanned["summary"] = app.summary_text.encode()
    scanned["exit reason"] = str(app.supervisor.exit_reason).encode()
    assert twilio.messages(), "alerts were texted"
    assert smtp.received, "alerts were e-mailed"
    assert webhook.requests, "alerts were posted"
    assert "auth.token_rejected" in {a.key for a in tee.alerts}
    assert orders is not None
    assert any(t.state is TicketState.REJECTED for t in orders.tickets.values()), \
        "the injected rejections"
    leaks = [(where, value) for where, data in scanned.items() for value in secret_values
             if value.encode() in data]
    assert leaks == []

    assert current is not None
    assert current.access_token.reveal().encode() in _files(cache.parent, but=Path())[
        cache.name]  # where it is meant to be
    assert _mode(cache) == 0o600
    assert _mode(cache.parent) == 0o700
    journal = tmp_path / "state" / "journal.db"
    assert _mode(journal) == 0o600
    # Not only the token cache and the journal: every file the run wrote (log, reports,
    # recordings, journal companions) is readable by the owner only.
    assert {name: oct(_mode(tmp_path / name)) for name in files
            if _mode(tmp_path / name) != 0o600} == {}
