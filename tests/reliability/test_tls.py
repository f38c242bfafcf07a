"""TLS: every client of this package refuses a server whose certificate it cannot verify, plain
http/ws is accepted only to loopback, and there is no switch that turns verification off.

The servers here present a certificate from a private test CA (``trustme``): each client must
fail against them with a verification error, while a test-side client that trusts the CA gets
through — so the failure is the verification, not the server."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import trustme
from aiohttp import web
from aiosmtpd.smtp import SMTP
from picows import WSListener, WSUpgradeRequest, ws_create_server

from tradovate_api.alerts import AlertLog
from tradovate_api.auth import AuthManager
from tradovate_api.client import ConnectFailed, Connection, RestClient
from tradovate_api.errors import ConfigError, ConnectionLost, NotifyError
from tradovate_api.notify import EmailNotifier, Notification, SmsNotifier, WebhookNotifier
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import settings_from_mapping
from tradovate_api.tls import check_websocket_url, require_tls

SRC = Path(__file__).resolve().parents[2] / "src" / "tradovate_api"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


@pytest.fixture(scope="module")
def trusting_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture
async def https_url(server_context: ssl.SSLContext) -> AsyncIterator[str]:
    """An HTTPS server on 127.0.0.1 answering any request with ``{}``."""

    async def answer(request: web.Request) -> web.Response:
        return web.json_response({"accessToken": "t", "expirationTime": "2099-01-01T00:00Z"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context)
    await site.start()
    yield f"https://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def _assert_server_works(url: str, trusting: ssl.SSLContext) -> None:
    async with aiohttp.ClientSession() as http, http.get(url, ssl=trusting) as reply:
        assert reply.status == 200


def _verification_failed(error: BaseException) -> bool:
    text = f"{error} {error.__cause__!r} {error.__context__!r}"
    return "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text


async def test_rest_and_login_refuse_an_unverifiable_certificate(
        https_url: str, trusting_context: ssl.SSLContext) -> None:
    await _assert_server_works(f"{https_url}/v1/x", trusting_context)

    async def token() -> str:
        return "token"

    rest = RestClient(f"{https_url}/v1", token)
    try:
        with pytest.raises(ConnectionLost) as failure:
            await rest.request("account/list")
        assert _verification_failed(failure.value)
    finally:
        await rest.close()
    auth = AuthManager(f"{https_url}/v1", TradovateCredentials(
        name="alice", password=Secret("tls-test-password")), alerts=AlertLog())
    try:
        with pytest.raises(ConnectionLost) as failure:
            await auth.token()
        assert _verification_failed(failure.value)
    finally:
        await auth.close()


async def test_websocket_refuses_an_unverifiable_certificate(
        server_context: ssl.SSLContext, trusting_context: ssl.SSLContext) -> None:
    def factory(request: WSUpgradeRequest) -> WSListener:
        return WSListener()

    server = await ws_create_server(factory, "127.0.0.1", 0, ssl=server_context)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    # The refused handshake is reported on the server side too; that is the test server's
    # business, so keep it out of the test log.
    loop.set_exception_handler(lambda loop, context: None)
    try:
        connection = Connection(f"wss://127.0.0.1:{port}/v1/websocket", lambda e: None)
        with pytest.raises(ConnectFailed) as failure:
            await connection.open("token")
        assert "SSLCertVerificationError" in str(failure.value)
        # The same server with a client that trusts the test CA: the handshake works.
        _, writer = await asyncio.open_connection("127.0.0.1", port, ssl=trusting_context,
                                                  server_hostname="127.0.0.1")
        writer.close()
    finally:
        loop.set_exception_handler(None)
        server.close()
        await server.wait_closed()


async def test_notifiers_refuse_an_unverifiable_certificate(
        https_url: str, server_context: ssl.SSLContext,
        trusting_context: ssl.SSLContext) -> None:
    note = Notification(title="tls test", text="body", key="test.tls")
    webhook = WebhookNotifier(Secret(f"{https_url}/hook"), timeout=5.0)
    sms = SmsNotifier(Secret("AC" + "0" * 32), Secret("tls-token"), "+15005550006",
                      ["+15551230001"], base_url=https_url)
    for notifier in (webhook, sms):
        try:
            with pytest.raises(NotifyError, match=r"(?i)certificate"):
                await notifier.send(note)
        finally:
            await notifier.close()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(_Accept()), "127.0.0.1", 0,
                                    ssl=server_context)
    port = smtp.sockets[0].getsockname()[1]
    try:
        refused = EmailNotifier("127.0.0.1", ["ops@example.test"], port=port,
                                security="ssl", sender="bot@example.test", timeout=5.0)
        with pytest.raises(NotifyError, match=r"(?i)certificate"):
            await refused.send(note)
        # Trusting the private CA is an explicit argument, not a switch that disables checks.
        trusted = EmailNotifier("127.0.0.1", ["ops@example.test"], port=port,
                                security="ssl", sender="bot@example.test",
                                tls_context=trusting_context, timeout=5.0)
        await trusted.send(note)
    finally:
        smtp.close()
        await smtp.wait_closed()


class _Accept:
    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        return "250 OK"


@pytest.mark.parametrize("url", [
    "http://demo.tradovateapi.com/v1", "http://10.0.0.1/v1", "ftp://127.0.0.1/v1",
    "https:///v1", "https://[::1",
])
def test_plain_or_odd_rest_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="must be https://"):
        require_tls(url, "REST URL")


@pytest.mark.parametrize("url", ["ws://md.tradovateapi.com/v1/websocket",
                                 "ws://192.168.1.5:8766/v1/websocket",
                                 "https://demo.tradovateapi.com/v1/websocket"])
def test_plain_websocket_urls_off_loopback_are_refused_everywhere(url: str) -> None:
    with pytest.raises(ConfigError, match="must be wss://"):
        check_websocket_url(url)
    with pytest.raises(ConfigError, match="must be wss://"):
        Connection(url, lambda e: None)


@pytest.mark.parametrize("url", ["ws://127.0.0.1:8766/v1/websocket",
                                 "ws://localhost:8766/v1/websocket", "ws://[::1]:1/ws",
                                 "wss://md.tradovateapi.com/v1/websocket"])
def test_loopback_or_tls_websocket_urls_are_accepted(url: str) -> None:
    assert check_websocket_url(url) == url


@pytest.mark.parametrize(("key", "url"), [
    ("rest", "http://demo.tradovateapi.com/v1"), ("trading_ws", "ws://10.1.2.3/v1/websocket"),
    ("md_ws", "ws://md.tradovateapi.com/v1/websocket")])
def test_settings_refuse_plain_urls_off_loopback(key: str, url: str) -> None:
    with pytest.raises(ConfigError, match=rf"urls\.{key}: .*must be"):
        settings_from_mapping({"environment": "demo", "urls": {key: url}})


_DISABLING = re.compile(r"ssl\s*=\s*False|verify_ssl|CERT_NONE|check_hostname\s*=\s*False|"
                        r"_create_unverified_context|PYTHONHTTPSVERIFY")


def test_no_code_path_can_turn_verification_off() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 100  # the package itself, not an empty directory
    offenders = [f"{path.relative_to(SRC)}:{n}" for path in files
                 for n, line in enumerate(path.read_text().splitlines(), start=1)
                 if _DISABLING.search(line)]
    assert offenders == []
