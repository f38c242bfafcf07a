"""A thin REST client (aiohttp): ``POST/GET {base}/{endpoint}`` with the bearer token, every
response turned into a typed result or raised failure by ``correlation.interpret`` — the same
rules as on the websocket.

Nothing is retried, with one exception: a request refused with 401 (the token was revoked —
e.g. a cached token the server no longer knows after its restart) is reported through
``token_rejected`` (the auth manager drops it and logs in again, within its login budget)
and sent once more with the new token. A 401 means the server did not act on the request,
so this never executes anything twice."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp

from ..errors import ConnectionLost, RequestError, TradovateError, Unauthorized
from ..protocol.correlation import interpret
from ..protocol.requests import encode_body, encode_query
from ..tls import check_rest_url
from .tokens import TokenProvider, TokenRejected


class RestClient:
    """REST calls against ``base_url`` (e.g. ``https://demo.tradovateapi.com/v1``)."""

    def __init__(self, base_url: str, token: TokenProvider, *, timeout: float = 10.0,
                 session: aiohttp.ClientSession | None = None,
                 token_rejected: TokenRejected | None = None) -> None:
        self.base_url = check_rest_url(base_url)
        self._token = token
        self._token_rejected = token_rejected
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session = session
        self._owns_session = session is None

    async def request(self, endpoint: str, body: Any = None, result_type: Any = None, *,
                      query: Mapping[str, Any] | None = None, method: str | None = None) -> Any:
        """Call ``endpoint`` (no leading ``/``): POST with a JSON body when ``body`` is given,
        else GET. Returns the typed result or raises its :class:`TradovateError`;
        ``ConnectionLost`` when no HTTP answer arrived (outcome unknown). A 401 is answered
        by one fresh token and one more attempt (see the module doc)."""
        try:
            return await self._request(endpoint, body, result_type, query, method)
        except Unauthorized as refused:
            if self._token_rejected is None or refused.status != 401:
                raise
        await self._token_rejected()
        return await self._request(endpoint, body, result_type, query, method)

    async def _request(self, endpoint: str, body: Any, result_type: Any,
                       query: Mapping[str, Any] | None, method: str | None) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._owns_session = True
        headers = {"Accept": "application/json",
                   "Authorization": f"Bearer {await self._token()}"}
        data: bytes | None = None
        if body is not None:
            data = body if isinstance(body, bytes) else encode_body(body)
            headers["Content-Type"] = "application/json"
        url = f"{self.base_url}/{endpoint.lstrip('/')}"
        if query:
            url = f"{url}?{encode_query(query)}"
        verb = method or ("POST" if body is not None else "GET")
        try:
            async with self._session.request(verb, url, data=data, headers=headers,
                                             timeout=self._timeout) as reply:
                status, payload = reply.status, await reply.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ConnectionLost(f"{endpoint}: {type(exc).__name__}: {exc}") from None
        result = interpret(status, payload, result_type)
        if isinstance(result, RequestError):
            result.with_endpoint(endpoint)
        if isinstance(result, TradovateError):
            raise result
        return result

    async def close(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None
