"""Sessions and access tokens of the simulator.

Each successful ``auth/accesstokenrequest`` opens a new *session* with an access token and an
md access token; ``auth/renewaccesstoken`` issues a different token for the same session
(the previous one stays valid until it expires — the reference says renewal invalidating it
is undocumented). A user may hold ``max_sessions`` sessions; opening one more revokes the
oldest (its tokens stop working and the server closes its sockets). Tokens carry an expiry;
an expired token is refused, but sockets authorized earlier stay open (that is the server's
business, not this store's).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True, eq=False)
class AuthSession:
    """One login: its user, and whether a newer login revoked it."""

    session_id: int
    user_id: int
    created: float
    revoked: bool = False


@dataclass(slots=True, eq=False)
class Token:
    """An access or md access token. ``repr`` never shows the value."""

    value: str = field(repr=False)
    session: AuthSession
    expires: float
    kind: str
    """``"access"`` or ``"md"``. REST and the trading socket take only access tokens, the md
    socket either."""

    @property
    def user_id(self) -> int:
        return self.session.user_id


@dataclass(slots=True, frozen=True)
class Issued:
    """What a successful token request yields: the pair of tokens, and the sessions the
    new one pushed out (their sockets must be told and closed)."""

    access: Token
    md: Token
    evicted: list[AuthSession]


class TokenStore:
    """All sessions and tokens. ``clock`` gives epoch seconds (tests pass a fake)."""

    def __init__(self, clock: Callable[[], float], lifetime: float, max_sessions: int) -> None:
        self._clock = clock
        self.lifetime = lifetime
        self.max_sessions = max_sessions
        self._tokens: dict[str, Token] = {}
        self._sessions: dict[int, list[AuthSession]] = {}
        self._next_session = 1

    def _new_token(self, session: AuthSession, kind: str) -> Token:
        token = Token(secrets.token_urlsafe(48), session, self._clock() + self.lifetime, kind)
        self._tokens[token.value] = token
        return token

    def issue(self, user_id: int) -> Issued:
        """Open a new session for ``user_id``; revoke the oldest ones over the limit."""
        self._prune()
        session = AuthSession(self._next_session, user_id, self._clock())
        self._next_session += 1
        live = self._sessions.setdefault(user_id, [])
        live.append(session)
        evicted: list[AuthSession] = []
        while len(live) > self.max_sessions:
            old = live.pop(0)
            self.revoke(old)
            evicted.append(old)
        return Issued(self._new_token(session, "access"), self._new_token(session, "md"),
                      evicted)

    def _prune(self) -> None:
        """Forget expired tokens (they are refused anyway), so renewals do not pile up."""
        now = self._clock()
        for value in [v for v, t in self._tokens.items() if t.expires <= now]:
            del self._tokens[value]

    def renew(self, token: Token) -> Token:
        """A different access token of the same session, with a fresh lifetime."""
        return self._new_token(token.session, "access")

    def valid(self, value: str) -> Token | None:
        """The token if it exists, is not expired and its session is alive."""
        token = self._tokens.get(value)
        if token is None or token.session.revoked or token.expires <= self._clock():
            return None
        return token

    def revoke(self, session: AuthSession) -> None:
        """End a session: every token of it stops working."""
        session.revoked = True
        live = self._sessions.get(session.user_id, [])
        if session in live:
            live.remove(session)
        for value in [v for v, t in self._tokens.items() if t.session is session]:
            del self._tokens[value]

    def expire_all(self) -> int:
        """Fault: every current token expires now. Returns how many there were."""
        now = self._clock()
        for token in self._tokens.values():
            token.expires = min(token.expires, now)
        return len(self._tokens)

    def sessions_of(self, user_id: int) -> list[AuthSession]:
        return list(self._sessions.get(user_id, []))
