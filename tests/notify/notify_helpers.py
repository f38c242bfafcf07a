"""Loopback servers for the notifier tests — a Twilio Messages endpoint, an SMTP server
(aiosmtpd, optionally with STARTTLS or implicit TLS and AUTH), a webhook receiver, servers
that accept and never answer — plus fake secrets, a tiny real PNG and a bounded waiter."""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import ssl
import struct
import time
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tradovate_api.secrets import Secret

# Distinctive fake secrets: tests scan bodies and logs for them.
TWILIO_SID = "AC" + "5ec7e75ec7e75ec7e75ec7e75ec7e75e"
TWILIO_TOKEN = "tw-token-SECRET-7f3a9c"
SMTP_USER = "alerts@example.test"
SMTP_PASSWORD = "smtp-pw-SECRET-41d8"
WEBHOOK_TOKEN = "wh-token-SECRET-5b1e"
WEBHOOK_PATH = "/hooks/SECRET-path-9d2e"
FROM_NUMBER = "+15005550006"
TO_NUMBERS = ("+15551230001", "+15551230002")
ALL_SECRETS = (TWILIO_SID, TWILIO_TOKEN, SMTP_PASSWORD, WEBHOOK_TOKEN, "SECRET-path-9d2e")


def secret(value: str) -> Secret:
    return Secret(value)


class Changed:
    """Something happened: wake every waiter; ``until`` re-checks a predicate, bounded."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def until(self, predicate: Callable[[], bool], limit: float = 10.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                await self._event.wait()


def tiny_png(width: int = 4, height: int = 3) -> bytes:
    """A real PNG (8-bit RGB, a red-to-blue gradient) built with zlib."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\x00" + b"".join(bytes((255 * x // max(1, width - 1), 0,
                                              255 - 255 * x // max(1, width - 1)))
                                       for x in range(width)) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def free_port() -> int:
    """A port nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


class LogWatch(logging.Handler):
    """Collects records of one logger and wakes waiters on each (no polling)."""

    def __init__(self, logger: str) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.changed = Changed()
        self._logger = logging.getLogger(logger)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.changed.notify()

    def __enter__(self) -> LogWatch:
        self._logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self._logger.removeHandler(self)

    async def until_message(self, fragment: str, limit: float = 10.0) -> None:
        await self.changed.until(
            lambda: any(fragment in r.getMessage() for r in self.records), limit)


def log_text(records: list[logging.LogRecord]) -> str:
    """Everything the records would put in a log: messages, tracebacks, extras."""
    parts: list[str] = []
    for record in records:
        parts.append(record.getMessage())
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
        parts += [str(v) for v in vars(record).values() if isinstance(v, str)]
    return "\n".join(parts)


# ------------------------------------------------------------------------------- HTTP


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.perf_counter)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True, strict_parsing=True)

    def basic_auth(self) -> tuple[str, str] | None:
        value = self.headers.get("Authorization", "")
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        return user, password


class _HttpServer:
    """An aiohttp server on 127.0.0.1 recording every request; ``stall`` makes it accept
    requests and never answer, ``status`` overrides the answer."""

    def __init__(self) -> None:
        self.requests: list[HttpRequest] = []
        self.changed = Changed()
        self.stall = False
        self.status: int | None = None
        self.url = ""
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def _record(self, request: web.Request) -> HttpRequest:
        recorded = HttpRequest(request.method, request.path, dict(request.headers),
                               await request.read())
        self.requests.append(recorded)
        self.changed.notify()
        if self.stall:
            await self._release.wait()
        return recorded

    def app(self) -> web.Application:
        raise NotImplementedError

    async def start(self) -> None:
        # No access log: it would print the request path, which holds fake secrets.
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()


class TwilioServer(_HttpServer):
    """Twilio's Messages resource: ``POST /2010-04-01/Accounts/{sid}/Messages.json``,
    form-encoded, basic auth ``sid:token``; answers 201 with a message resource, or Twilio's
    error document (401 on bad credentials; 503 while ``failures[To]`` is positive)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: dict[str, int] = {}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self._create)
        return app

    async def _create(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        sid = request.match_info["sid"]
        if recorded.basic_auth() != (TWILIO_SID, TWILIO_TOKEN) or sid != TWILIO_SID:
            return web.json_response({"code": 20003, "message": "Authenticate",
                                      "more_info": "https://www.twilio.com/docs/errors/20003",
                                      "status": 401}, status=401)
        form = recorded.form()
        status = self.status
        if self.failures.get(form["To"][0], 0) > 0:
            self.failures[form["To"][0]] -= 1
            status = 503
        if status is not None:
            return web.json_response({"code": 30001, "message": "Queue overflow",
                                      "status": status}, status=status)
        number = len(self.requests)
        return web.json_response({
            "sid": f"SM{number:032x}", "account_sid": sid, "to": form["To"][0],
            "from": form["From"][0], "body": form["Body"][0], "status": "queued",
            "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{sid}/Messages/SM{number:032x}.json",
        }, status=201)

    def messages(self) -> list[dict[str, str]]:
        """The form of every accepted request (To, From, Body)."""
        return [{k: v[0] for k, v in r.form().items()} for r in self.requests
                if r.basic_auth() == (TWILIO_SID, TWILIO_TOKEN)]


class WebhookServer(_HttpServer):
    """Accepts JSON POSTs on any path; answers 200 (or ``status``)."""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._post)
        return app

    async def _post(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"ok": True}, status=self.status or 200)


# ------------------------------------------------------------------------------- SMTP


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.server.received.append(Received(
            envelope.mail_from or "", list(envelope.rcpt_tos),
            # SMTP lines end in CRLF; parse with the local line ending, as a mail client does.
            message_from_bytes(content.replace(b"\r\n", b"\n"),
                               policy=policy.default),  # type: ignore[arg-type]
            server.transport is not None
            and server.transport.get_extra_info("ssl_object") is not None,
            session.authenticated))
        self.server.changed.notify()
        return "250 Message accepted for delivery"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    over_tls: bool
    authenticated: bool


class SmtpServer:
    """aiosmtpd on 127.0.0.1 in the test's loop. ``tls``: ``None`` (plain), ``"starttls"``
    (STARTTLS offered and required) or ``"ssl"`` (implicit TLS); ``server_context`` is the
    TLS identity. With ``credentials`` it requires AUTH (only over TLS)."""

    def __init__(self, tls: str | None = None, server_context: ssl.SSLContext | None = None,
                 credentials: tuple[str, str] | None = None) -> None:
        self.tls = tls
        self.server_context = server_context
        self.credentials = credentials
        self.received: list[Received] = []
        self.auth_attempts: list[tuple[str, str]] = []
        self.changed = Changed()
        self.port = 0
        self._server: asyncio.Server | None = None

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.auth_attempts.append((login, password))
        # handled=False: aiosmtpd then answers the failure (535) itself.
        return AuthResult(success=(login, password) == self.credentials, handled=False)

    def _protocol(self) -> SMTP:
        kwargs: dict[str, Any] = {"hostname": "smtp.test", "ident": "test SMTP"}
        if self.tls == "starttls":
            kwargs.update(tls_context=self.server_context, require_starttls=True)
        if self.credentials is not None:
            # aiosmtpd only recognises STARTTLS as TLS; with implicit TLS the socket is
            # encrypted from the first byte, so its "TLS required for AUTH" check is moot.
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.tls == "starttls")
        with warnings.catch_warnings():  # the implicit-TLS AUTH warning above is moot
            warnings.simplefilter("ignore", UserWarning)
            return SMTP(_Handler(self), **kwargs)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, "127.0.0.1", 0,
            ssl=self.server_context if self.tls == "ssl" else None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class SilentServer:
    """Accepts TCP connections and never sends a byte (an SMTP server that never greets, an
    HTTP server that never answers)."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self._release = asyncio.Event()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        await self._release.wait()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        self._release.set()
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
