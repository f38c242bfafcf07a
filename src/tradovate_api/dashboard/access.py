"""Who may use the dashboard: one access token, compared in constant time, and the rule for
where the page may be served.

The page can flatten positions, so it is as sensitive as the trading credentials: bound to
this machine by default, with a random token per run (``secrets.token_urlsafe``) or a fixed
one from ``DASHBOARD_TOKEN``. Serving it beyond this machine needs both a fixed token (a
random one could not be handed over safely) and TLS (the token would cross the network in
clear). The token is a :class:`~tradovate_api.secrets.Secret`, registered with the log
redaction, so it cannot reach the JSON log even by accident.
"""

from __future__ import annotations

import hmac
import secrets
import ssl
from dataclasses import dataclass

from ..errors import ConfigError
from ..secrets import DASHBOARD_TOKEN, Secret
from ..settings import DashboardSettings
from ..tls import is_loopback

TOKEN_BYTES = 32
"""Random bytes of a generated token (43 URL-safe characters)."""
MIN_FIXED_TOKEN = 16
"""A fixed token shorter than this is refused: it could be guessed."""


@dataclass(frozen=True, slots=True)
class Access:
    """The token of one run and whether the page is served over TLS."""

    token: Secret
    tls: ssl.SSLContext | None = None

    def allows(self, presented: str | None) -> bool:
        """Whether ``presented`` is the token (constant time; ``None``: nothing presented)."""
        if not presented:
            return False
        return hmac.compare_digest(presented.encode(), self.token.reveal().encode())


def check_bind(settings: DashboardSettings, fixed_token: Secret | None) -> None:
    """:class:`ConfigError` (one line) when ``settings`` would serve the page beyond this
    machine without a fixed token and TLS, or with a fixed token too short to be safe."""
    if fixed_token is not None and len(fixed_token.reveal()) < MIN_FIXED_TOKEN:
        raise ConfigError(f"{DASHBOARD_TOKEN}: too short (at least {MIN_FIXED_TOKEN} "
                          f"characters; e.g. python -c 'import secrets; "
                          f"print(secrets.token_urlsafe())')")
    if is_loopback(settings.host):
        return
    missing = [what for what, given in (
        (f"a fixed token ({DASHBOARD_TOKEN})", fixed_token is not None),
        ("TLS (dashboard.cert_file and dashboard.key_file)", settings.cert_file is not None))
        if not given]
    if missing:
        raise ConfigError(f"dashboard.host: {settings.host!r} is not this machine; serving the "
                          f"dashboard beyond it needs {' and '.join(missing)}")


def tls_context(settings: DashboardSettings) -> ssl.SSLContext | None:
    """The server's TLS context from ``cert_file``/``key_file`` (``None``: plain http)."""
    if settings.cert_file is None or settings.key_file is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(settings.cert_file, settings.key_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"dashboard.cert_file/key_file: cannot load the TLS certificate: "
                          f"{exc}") from None
    return context


def make_access(settings: DashboardSettings, fixed_token: Secret | None) -> Access:
    """Check the bind rule, then the run's token: ``fixed_token``, else a random one."""
    check_bind(settings, fixed_token)
    token = fixed_token or Secret(secrets.token_urlsafe(TOKEN_BYTES))
    return Access(token, tls_context(settings))
