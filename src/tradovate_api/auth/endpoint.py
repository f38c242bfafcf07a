"""The two REST calls that give tokens: ``auth/accesstokenrequest`` and ``auth/renewaccesstoken``.

Apart from the REST client of the sessions because these calls come before any token exists
(and renew the one the REST client uses); every answer becomes a token response or a
:class:`~tradovate_api.errors.TradovateError` value, never an exception, so the login and
renewal policies decide what each failure means. The REST URL must be TLS (``tls``).
"""

from __future__ import annotations

import aiohttp

from ..errors import ConnectionLost, RequestError, TradovateError
from ..protocol.correlation import interpret
from ..protocol.models.auth import AccessTokenResponse
from ..secrets import Secret
from ..tls import check_rest_url

LOGIN_ENDPOINT = "auth/accesstokenrequest"
RENEW_ENDPOINT = "auth/renewaccesstoken"


class TokenEndpoint:
    """The token calls to ``rest_url`` over ``session`` (one of its own when ``None``, made at
    the first call and closed by :meth:`close`)."""

    def __init__(self, rest_url: str, *, request_timeout: float,
                 session: aiohttp.ClientSession | None) -> None:
        self.rest_url = check_rest_url(rest_url)
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self._session = session
        self._owns_session = session is None

    async def request(self, method: str, endpoint: str, *, body: bytes | None = None,
                      token: Secret | None = None) -> AccessTokenResponse | TradovateError:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        try:
            async with self._session.request(method, f"{self.rest_url}/{endpoint}", data=body,
                                             headers=headers, timeout=self._timeout) as reply:
                status, payload = reply.status, await reply.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return ConnectionLost(f"{endpoint}: {type(exc).__name__}: {exc}")
        result = interpret(status, payload, AccessTokenResponse)
        if isinstance(result, RequestError):
            result.with_endpoint(endpoint)
        if isinstance(result, TradovateError):
            return result
        assert isinstance(result, AccessTokenResponse)
        return result

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None
