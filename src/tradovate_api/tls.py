"""Transport security of every URL the package connects to: TLS to a named host, plain text
only to this machine (the local simulator, a test's server).

One module, below the settings and every client, so that the settings can check their URLs
when they load and the sessions and notifiers when they connect, by the same rule.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from .errors import ConfigError


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine (``localhost`` or a loopback address): the only
    place plain-text protocols are accepted."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_tls(url: str, what: str, *, secure: str = "https", plain: str = "http",
                show_url: bool = True) -> str:
    """``url`` (without a trailing ``/``) if it is ``secure://`` to a named host, or
    ``plain://`` to a loopback address (the local simulator); else :class:`ConfigError`,
    which names the URL unless ``show_url`` is false (a URL that is itself a secret).

    TLS certificates are always verified: aiohttp and picows use the system's default
    verifying context and this package never passes another, so there is no switch to turn
    verification off."""
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname or ""
    except ValueError:  # e.g. an unclosed IPv6 bracket
        scheme = host = ""
    if (scheme == secure and host) or (scheme == plain and is_loopback(host)):
        return url.rstrip("/")
    named = f"{what} {url!r}" if show_url else what
    raise ConfigError(f"{named}: must be {secure}:// (plain {plain}:// only to a loopback "
                      f"address such as the local simulator)")


def check_rest_url(url: str) -> str:
    """An ``https://`` REST base URL (``http://`` only on loopback), see :func:`require_tls`."""
    return require_tls(url, "REST URL")


def check_websocket_url(url: str) -> str:
    """A ``wss://`` websocket URL (``ws://`` only on loopback), see :func:`require_tls`."""
    return require_tls(url, "websocket URL", secure="wss", plain="ws")
