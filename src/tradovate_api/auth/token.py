"""The access token as the server issued it, and how it is read from a token response.

Its own module because everything that holds a token needs it — the manager, the cache file,
the sessions' token adapters (``client.tokens``) — and none of them should need the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import ProtocolError
from ..protocol.models.auth import AccessTokenResponse
from ..secrets import Secret


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as the server issued it. The tokens are :class:`Secret` (``reveal()`` them only
    where they are sent); ``md_access_token`` is the access token when the server sent no
    separate market-data token."""

    access_token: Secret
    md_access_token: Secret
    expires_at: datetime
    user_id: int | None = None
    name: str | None = None

    def seconds_left(self, now: datetime) -> float:
        return (self.expires_at - now).total_seconds()

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at


def parse_expiration(text: str | None) -> datetime:
    """The server's ``expirationTime`` (never a hard-coded lifetime), in UTC."""
    if not text:
        raise ProtocolError("token response without expirationTime")
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: the offset leaves the datetime range
        raise ProtocolError(f"unreadable expirationTime {text!r}") from None


def token_from(response: AccessTokenResponse, previous: TokenInfo | None) -> TokenInfo:
    """The token of a login or renewal answer; a renewal that omits the user keeps
    ``previous``'s."""
    if not response.access_token:
        raise ProtocolError("token response without accessToken")
    access = Secret(response.access_token)
    md = Secret(response.md_access_token) if response.md_access_token else access
    return TokenInfo(access_token=access, md_access_token=md,
                     expires_at=parse_expiration(response.expiration_time),
                     user_id=response.user_id if response.user_id is not None
                     else (previous.user_id if previous else None),
                     name=response.name or (previous.name if previous else None))
