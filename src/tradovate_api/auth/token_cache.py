"""The token cache file: the device id and the last token, kept between runs, owner-only.

Every login opens a server session and Tradovate keeps only two, so a restart reuses the token
of the previous run while it is valid; the file also keeps the device id the logins used. It
holds a secret, so it is written atomically and readable by the owner only (0600). A file for
another REST host or user is ignored; one that cannot be read or written is logged, never
fatal (the token still works from memory; only the next start has to log in).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

import msgspec

from ..errors import ProtocolError
from ..secrets import Secret
from .token import TokenInfo, parse_expiration

_log = logging.getLogger("tradovate_api.auth.token_cache")


class _CacheFile(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The cache file: the device id plus the last token, for one REST host and user."""

    rest_url: str
    name: str
    device_id: str
    access_token: str | None = None
    md_access_token: str | None = None
    expiration_time: str | None = None
    user_id: int | None = None


def write_private_file(path: Path, data: bytes) -> None:
    """Atomically replace ``path`` with ``data``, readable by the owner only (0600): the
    temporary file is created 0600, synced, then renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class TokenCache:
    """The cache file at ``path`` for the REST host ``rest_url``."""

    def __init__(self, path: Path, rest_url: str) -> None:
        self.path = path
        self.rest_url = rest_url

    def read(self, name: str | None) -> tuple[str, TokenInfo | None] | None:
        """``(device id, token)`` stored for the user ``name``; the token is ``None`` when
        the file has none for this host (or an unreadable one). ``None`` when there is no
        readable file for this user."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            _log.warning("cannot read the token cache %s: %s", self.path, exc.strerror)
            return None
        try:
            cache = msgspec.json.decode(data, type=_CacheFile)
        except (msgspec.DecodeError, msgspec.ValidationError):
            _log.warning("ignoring an unreadable token cache %s", self.path)
            return None
        if cache.name != name:
            return None
        if cache.rest_url != self.rest_url or not cache.access_token:
            return cache.device_id, None
        try:
            expires = parse_expiration(cache.expiration_time)
        except ProtocolError:
            return cache.device_id, None
        access = Secret(cache.access_token)
        return cache.device_id, TokenInfo(access_token=access, md_access_token=Secret(
            cache.md_access_token) if cache.md_access_token else access,
            expires_at=expires, user_id=cache.user_id, name=cache.name)

    def forget_token(self, name: str, device_id: str) -> None:
        """Keep the device id, drop the token (refused by the server)."""
        cache = _CacheFile(rest_url=self.rest_url, name=name, device_id=device_id)
        try:
            write_private_file(self.path, msgspec.json.encode(cache))
        except OSError as exc:
            _log.error("cannot rewrite the token cache %s: %s", self.path, exc.strerror)

    def write(self, name: str, device_id: str, info: TokenInfo) -> None:
        cache = _CacheFile(
            rest_url=self.rest_url, name=name, device_id=device_id,
            access_token=info.access_token.reveal(),
            md_access_token=(info.md_access_token.reveal()
                             if info.md_access_token != info.access_token else None),
            expiration_time=info.expires_at.isoformat(), user_id=info.user_id)
        try:
            write_private_file(self.path, msgspec.json.encode(cache))
        except OSError as exc:
            # The token still works from memory; only the next start has to log in.
            _log.error("cannot write the token cache %s: %s", self.path, exc.strerror)
