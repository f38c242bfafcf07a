"""``auth/accesstokenrequest``, ``auth/renewaccesstoken`` and ``auth/me`` (reference §2).

A token request opens a new session (the user's oldest sessions over the limit are ended and
their sockets closed); wrong credentials answer HTTP 200 with ``errorText`` by default, or 401
when configured; a penalty fault answers with a ``p-ticket``. Renewal returns a different
access token of the same session and, like the sources, no ``mdAccessToken``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from ..protocol.models import AccessTokenResponse, MeResponse
from .changes import EntityChange
from .engine_time import iso_timestamp

if TYPE_CHECKING:
    from .config import SimulatorConfig
    from .engine import Exchange
    from .session_registry import ConnectionRegistry
    from .tokens import Token, TokenStore

log = logging.getLogger("tradovate_api.simulator")

BAD_CREDENTIALS = ("Incorrect username or password. Please try again, noting that passwords "
                   "are case-sensitive.")
"""The text third-party logs show for wrong credentials (reference §2.1)."""
_PASSWORD_LIFETIME_S = 90 * 86_400.0
_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class Login:
    """A configured user: the password to compare and the engine's user id."""

    user_id: int
    password: str = field(repr=False)


@dataclass(slots=True)
class Reply:
    """An endpoint's answer: status, raw JSON body (empty = none) and entity changes."""

    status: int
    body: bytes = b""
    changes: list[EntityChange] = field(default_factory=list)
    penalized: bool = False
    """The body is a penalty ticket: the request was not handled."""


def json_reply(value: Any, status: int = 200) -> Reply:
    return Reply(status, _encoder.encode(value))


class AuthEndpoints:
    """The three auth endpoints: the configured logins, the tokens they get, and the users'
    sockets a newer login pushes out."""

    def __init__(self, config: SimulatorConfig, logins: Mapping[str, Login], tokens: TokenStore,
                 exchange: Exchange, registry: ConnectionRegistry,
                 clock: Callable[[], float]) -> None:
        self._config = config
        self._logins = logins
        self._tokens = tokens
        self._exchange = exchange
        self._registry = registry
        self._clock = clock

    def access_token_request(self, params: dict[str, Any]) -> Reply:
        name, password = params.get("name"), params.get("password")
        login = self._logins.get(name) if isinstance(name, str) else None
        if login is None or password != login.password:
            log.info("token request for %r refused: bad credentials", name)
            return json_reply(AccessTokenResponse(error_text=BAD_CREDENTIALS),
                              self._config.failed_login_status)
        issued = self._tokens.issue(login.user_id)
        if issued.evicted:
            self._registry.sessions_ended(issued.evicted)
        user = self._exchange.user(login.user_id)
        now = self._clock()
        log.info("token issued for %r (session %d)", name, issued.access.session.session_id)
        return json_reply(AccessTokenResponse(
            access_token=issued.access.value, md_access_token=issued.md.value,
            expiration_time=iso_timestamp(issued.access.expires),
            password_expiration_time=iso_timestamp(now + _PASSWORD_LIFETIME_S),
            user_status=user.status if user is not None else "Active",
            user_id=login.user_id, name=name, has_live=False, has_funded=True,
            has_market_data=True, outdated_ta_c=False, outdated_liquidation_policy=False))

    def renew(self, token: Token) -> Reply:
        renewed = self._tokens.renew(token)
        user = self._exchange.user(token.user_id)
        return json_reply(AccessTokenResponse(
            access_token=renewed.value, expiration_time=iso_timestamp(renewed.expires),
            user_status="Active", user_id=token.user_id,
            name=user.name if user is not None else None, has_live=False))

    def me(self, token: Token) -> Reply:
        user = self._exchange.user(token.user_id)
        if user is None:
            return json_reply(MeResponse(error_text="Unknown user"))
        return json_reply(MeResponse(user_id=user.id, name=user.name, full_name=user.name,
                                     email=user.email, email_verified=True, is_trial=False))
