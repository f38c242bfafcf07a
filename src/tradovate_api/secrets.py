"""Secrets: read only from environment variables or a ``.env`` file, never printed.

A :class:`Secret` hides its value from ``repr``, ``str`` and ``format``; ``reveal()`` is called
only where the value is sent. Every secret value is also registered so the log writer can mask
it should it ever reach a log message (see :func:`known_secret_values`). Variables set in the
real environment take precedence over the ``.env`` file.
"""

from __future__ import annotations

import hmac
import os
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

MASK = "***"
_MIN_REGISTERED_LENGTH = 4
"""Shorter values are not masked in logs: masking every "8" would shred the log."""

_registry_lock = threading.Lock()
_registered: tuple[str, ...] = ()


def register_secret_value(value: str) -> None:
    """Have the log redaction mask ``value`` from now on."""
    global _registered
    if len(value) < _MIN_REGISTERED_LENGTH:
        return
    with _registry_lock:
        if value not in _registered:
            # Copy-on-write, longest first, so readers on other threads need no lock and a
            # secret that contains another is masked whole.
            _registered = tuple(sorted((*_registered, value), key=len, reverse=True))


def known_secret_values() -> tuple[str, ...]:
    """Every registered secret value, longest first (safe to call from any thread)."""
    return _registered


class Secret:
    """A string that never shows itself: ``repr``/``str``/``format`` give ``'***'``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        register_secret_value(value)

    def reveal(self) -> str:
        """The value itself, for the single place that sends it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(self._value)


# --- environment variable names ------------------------------------------------------------

TRADOVATE_NAME = "TRADOVATE_NAME"
TRADOVATE_PASSWORD = "TRADOVATE_PASSWORD"
TRADOVATE_CID = "TRADOVATE_CID"
TRADOVATE_SEC = "TRADOVATE_SEC"
TRADOVATE_APP_ID = "TRADOVATE_APP_ID"
TRADOVATE_APP_VERSION = "TRADOVATE_APP_VERSION"
TRADOVATE_DEVICE_ID = "TRADOVATE_DEVICE_ID"
TWILIO_ACCOUNT_SID = "TWILIO_ACCOUNT_SID"
TWILIO_AUTH_TOKEN = "TWILIO_AUTH_TOKEN"
TWILIO_FROM_NUMBER = "TWILIO_FROM_NUMBER"
TWILIO_TO_NUMBERS = "TWILIO_TO_NUMBERS"
SMTP_HOST = "SMTP_HOST"
SMTP_PORT = "SMTP_PORT"
SMTP_USER = "SMTP_USER"
SMTP_PASSWORD = "SMTP_PASSWORD"
SMTP_FROM = "SMTP_FROM"
ALERT_EMAIL_TO = "ALERT_EMAIL_TO"
ALERT_WEBHOOK_URL = "ALERT_WEBHOOK_URL"
ALERT_WEBHOOK_TOKEN = "ALERT_WEBHOOK_TOKEN"
DASHBOARD_TOKEN = "DASHBOARD_TOKEN"

SECRET_VARIABLES = frozenset({TRADOVATE_PASSWORD, TRADOVATE_SEC, TWILIO_ACCOUNT_SID,
                              TWILIO_AUTH_TOKEN, SMTP_PASSWORD, ALERT_WEBHOOK_URL,
                              ALERT_WEBHOOK_TOKEN, DASHBOARD_TOKEN})
"""Variables whose values are masked everywhere."""

ALL_VARIABLES = (TRADOVATE_NAME, TRADOVATE_PASSWORD, TRADOVATE_CID, TRADOVATE_SEC,
                 TRADOVATE_APP_ID, TRADOVATE_APP_VERSION, TRADOVATE_DEVICE_ID,
                 TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER, TWILIO_TO_NUMBERS,
                 SMTP_HOST, SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_FROM, ALERT_EMAIL_TO,
                 ALERT_WEBHOOK_URL, ALERT_WEBHOOK_TOKEN, DASHBOARD_TOKEN)


@dataclass(frozen=True, slots=True)
class TradovateCredentials:
    """What ``auth/accesstokenrequest`` needs. ``cid`` and ``app_id`` identify the app and
    are not secret; ``password`` and ``sec`` are."""

    name: str | None = None
    password: Secret | None = None
    cid: str | None = None
    sec: Secret | None = None
    app_id: str | None = None
    app_version: str | None = None
    device_id: str | None = None
    """Overrides the per-machine device id the auth manager derives."""


@dataclass(frozen=True, slots=True)
class TwilioSecrets:
    account_sid: Secret | None = None
    auth_token: Secret | None = None
    from_number: str | None = None
    to_numbers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SmtpSecrets:
    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: Secret | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    """Slack and Discord webhook URLs carry their credential in the path, so the URL is a
    secret too; ``token`` (optional) is sent as ``Authorization: Bearer`` (e.g. ntfy)."""

    url: Secret | None = None
    token: Secret | None = None


@dataclass(frozen=True, slots=True)
class DashboardSecrets:
    """``token``: a fixed access token of the web dashboard (by default each run makes a
    random one); required to serve it beyond this machine."""

    token: Secret | None = None


@dataclass(frozen=True, slots=True)
class Secrets:
    tradovate: TradovateCredentials
    twilio: TwilioSecrets
    smtp: SmtpSecrets
    webhook: WebhookSecrets = field(default_factory=WebhookSecrets)
    dashboard: DashboardSecrets = field(default_factory=DashboardSecrets)
    logins: Mapping[str, TradovateCredentials] = field(default_factory=dict)
    """The other logins' credentials (settings ``[[logins]]``), by their variables'
    prefix (``TRADOVATE_B_`` → ``TRADOVATE_B_NAME``, ``TRADOVATE_B_PASSWORD``...)."""

    def missing_for(self, environment: str, channels: Iterable[str]) -> list[str]:
        """Environment variables that must be set for ``environment`` and the alert
        ``channels`` in use, but are not."""
        required: list[tuple[str, object]] = []
        if environment != "sim":
            for prefix, t in (("TRADOVATE_", self.tradovate), *self.logins.items()):
                required += [(prefix + "NAME", t.name), (prefix + "PASSWORD", t.password),
                             (prefix + "CID", t.cid), (prefix + "SEC", t.sec)]
        used = set(channels)
        if "sms" in used:
            w = self.twilio
            required += [(TWILIO_ACCOUNT_SID, w.account_sid), (TWILIO_AUTH_TOKEN, w.auth_token),
                         (TWILIO_FROM_NUMBER, w.from_number), (TWILIO_TO_NUMBERS, w.to_numbers)]
        if "email" in used:
            s = self.smtp
            required += [(SMTP_HOST, s.host), (ALERT_EMAIL_TO, s.recipients)]
        if "webhook" in used:
            required += [(ALERT_WEBHOOK_URL, self.webhook.url)]
        return [name for name, value in required if not value]

    def masked(self) -> dict[str, str]:
        """Every known variable → its value for display, secrets as ``***``."""
        shown: dict[str, str] = {}
        logins = [(credentials, {key: prefix + name.removeprefix("TRADOVATE_")
                                 for key, name in _TRADOVATE_FIELDS.items()})
                  for prefix, credentials in self.logins.items()]
        groups: list[tuple[DataclassInstance, dict[str, str]]] = [
            (self.tradovate, _TRADOVATE_FIELDS), *logins, (self.twilio, _TWILIO_FIELDS),
            (self.smtp, _SMTP_FIELDS), (self.webhook, _WEBHOOK_FIELDS),
            (self.dashboard, _DASHBOARD_FIELDS)]
        for group, names in groups:
            for entry in fields(group):
                value = getattr(group, entry.name)
                if value is None or value == ():
                    text = "(not set)"
                elif isinstance(value, Secret):
                    text = MASK
                elif isinstance(value, tuple):
                    text = ", ".join(value)
                else:
                    text = str(value)
                shown[names[entry.name]] = text
        return shown


_TRADOVATE_FIELDS = {"name": TRADOVATE_NAME, "password": TRADOVATE_PASSWORD,
                     "cid": TRADOVATE_CID, "sec": TRADOVATE_SEC, "app_id": TRADOVATE_APP_ID,
                     "app_version": TRADOVATE_APP_VERSION, "device_id": TRADOVATE_DEVICE_ID}
_TRADOVATE_SUFFIXES = tuple(name.removeprefix("TRADOVATE_")
                            for name in _TRADOVATE_FIELDS.values())
_TWILIO_FIELDS = {"account_sid": TWILIO_ACCOUNT_SID, "auth_token": TWILIO_AUTH_TOKEN,
                  "from_number": TWILIO_FROM_NUMBER, "to_numbers": TWILIO_TO_NUMBERS}
_SMTP_FIELDS = {"host": SMTP_HOST, "port": SMTP_PORT, "user": SMTP_USER,
                "password": SMTP_PASSWORD, "sender": SMTP_FROM, "recipients": ALERT_EMAIL_TO}
_WEBHOOK_FIELDS = {"url": ALERT_WEBHOOK_URL, "token": ALERT_WEBHOOK_TOKEN}
_DASHBOARD_FIELDS = {"token": DASHBOARD_TOKEN}


# --- .env parsing --------------------------------------------------------------------------

_ENV_LINE = re.compile(r"^(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)$")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def _unquote(raw: str) -> str | None:
    """The value of a ``.env`` right-hand side; ``None`` if a quote is not closed."""
    if raw.startswith("'"):
        end = raw.find("'", 1)
        return None if end < 0 else raw[1:end]
    if raw.startswith('"'):
        out: list[str] = []
        index = 1
        while index < len(raw):
            char = raw[index]
            if char == "\\" and index + 1 < len(raw):
                nxt = raw[index + 1]
                out.append(_ESCAPES.get(nxt, "\\" + nxt))
                index += 2
                continue
            if char == '"':
                return "".join(out)
            out.append(char)
            index += 1
        return None
    comment = re.search(r"\s#", raw)
    return (raw[:comment.start()] if comment else raw).strip()


def parse_env_file(path: str | Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (optional ``export``, single or double quotes, ``#`` comments).
    A UTF-8 byte order mark at the start (some Windows editors write one) is skipped.

    Errors name the line number but never echo the line, which may hold a secret.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the env file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{file}: the env file is not UTF-8 text") from None
    values: dict[str, str] = {}
    # Only "\n" ends a line: splitlines() would also split a quoted value at \x85, \u2028...
    for number, line in enumerate(text.split("\n"), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        match = _ENV_LINE.match(stripped)
        value = _unquote(match["value"].strip()) if match else None
        if match is None or value is None:
            raise ConfigError(f"{file}:{number}: expected KEY=VALUE (with matching quotes)")
        values[match["key"]] = value
    return values


def _split_list(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(item.strip() for item in value.split(",") if item.strip())


def secrets_from_mapping(values: Mapping[str, str], login_prefixes: Iterable[str] = ()
                         ) -> Secrets:
    """Build :class:`Secrets` from variables (empty values count as unset);
    ``login_prefixes``: the other logins' (settings ``[[logins]]``)."""

    def text(name: str) -> str | None:
        value = values.get(name, "").strip()
        return value or None

    def secret(name: str) -> Secret | None:
        value = values.get(name, "")
        return Secret(value) if value else None

    port_text = text(SMTP_PORT)
    port: int | None = None
    if port_text is not None:
        if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
            raise ConfigError(f"{SMTP_PORT}: expected a TCP port number, got {port_text!r}")
        port = int(port_text)
    def credentials(prefix: str) -> TradovateCredentials:
        return TradovateCredentials(
            name=text(prefix + "NAME"), password=secret(prefix + "PASSWORD"),
            cid=text(prefix + "CID"), sec=secret(prefix + "SEC"), app_id=text(prefix + "APP_ID"),
            app_version=text(prefix + "APP_VERSION"), device_id=text(prefix + "DEVICE_ID"))

    return Secrets(
        tradovate=credentials("TRADOVATE_"),
        logins={prefix: credentials(prefix) for prefix in login_prefixes},
        twilio=TwilioSecrets(
            account_sid=secret(TWILIO_ACCOUNT_SID), auth_token=secret(TWILIO_AUTH_TOKEN),
            from_number=text(TWILIO_FROM_NUMBER),
            to_numbers=_split_list(values.get(TWILIO_TO_NUMBERS))),
        smtp=SmtpSecrets(
            host=text(SMTP_HOST), port=port, user=text(SMTP_USER),
            password=secret(SMTP_PASSWORD), sender=text(SMTP_FROM),
            recipients=_split_list(values.get(ALERT_EMAIL_TO))),
        webhook=WebhookSecrets(url=secret(ALERT_WEBHOOK_URL),
                               token=secret(ALERT_WEBHOOK_TOKEN)),
        dashboard=DashboardSecrets(token=secret(DASHBOARD_TOKEN)),
    )


def load_secrets(env_file: str | Path | None = None,
                 environ: Mapping[str, str] | None = None,
                 login_prefixes: Iterable[str] = ()) -> Secrets:
    """Secrets from ``environ`` (default: the process environment) over ``env_file``;
    ``login_prefixes``: the prefixes of the other logins' credential variables
    (``LoginSettings.variables_prefix``).

    ``env_file=None`` reads ``./.env`` if it exists; an explicit file must exist.
    """
    prefixes = tuple(login_prefixes)
    environment = os.environ if environ is None else environ
    values: dict[str, str] = {}
    if env_file is not None:
        values.update(parse_env_file(env_file))
    elif Path(".env").is_file():
        values.update(parse_env_file(".env"))
    names = (*ALL_VARIABLES, *(prefix + suffix for prefix in prefixes
                               for suffix in _TRADOVATE_SUFFIXES))
    values.update({name: environment[name] for name in names if name in environment})
    return secrets_from_mapping(values, prefixes)
