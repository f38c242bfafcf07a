"""What a session needs to authorize: a callable giving the current token, and a way to say
the server refused it. Sessions depend on this protocol, not on the auth manager."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Protocol

from ..auth import TokenInfo


class TokenProvider(Protocol):
    """``await provider()`` gives the token to authorize a new connection with (as text; it is
    sent and never logged)."""

    def __call__(self) -> Awaitable[str]: ...


class TokenRejected(Protocol):
    """``await rejected()``: the server answered ``authorize`` with 401 for the last token."""

    def __call__(self) -> Awaitable[object]: ...


class TokenIssuer(Protocol):
    """The part of :class:`~tradovate_api.auth.AuthManager` sessions use."""

    async def token(self) -> TokenInfo: ...

    async def token_rejected(self, rejected: TokenInfo) -> TokenInfo: ...


class AuthTokens:
    """Adapts an auth manager to a session: the access token for the trading socket, the
    market-data token (``mdAccessToken`` when the server sent one) for the md socket."""

    def __init__(self, issuer: TokenIssuer, *, market_data: bool) -> None:
        self._issuer = issuer
        self._market_data = market_data
        self._last: TokenInfo | None = None

    async def __call__(self) -> str:
        info = await self._issuer.token()
        self._last = info
        return (info.md_access_token if self._market_data else info.access_token).reveal()

    async def rejected(self) -> None:
        """Report the last token handed out as refused (the manager logs in again once)."""
        if self._last is not None:
            await self._issuer.token_rejected(self._last)
