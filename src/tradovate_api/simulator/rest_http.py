"""The REST side: ``/v1/<entity>/<operation>`` over HTTP (reference §1.3).

Any method is accepted (Tradovate recommends but does not enforce GET/POST); parameters may be
query parameters, a JSON body or a form body, the body winning on a clash; the token comes in
``Authorization: Bearer``. Statuses: 503 with an empty body during a maintenance window, 423
and 429 with an empty body over a user-level request limit (or under the rate-limit fault),
404 unknown endpoint, 401 missing/expired token, 400 a body that is not JSON or parameters of
the wrong type; business failures and penalty tickets are HTTP 200 (reference §1.3, §7).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from . import answer_faults
from .limits import PROCEED
from .outgoing import error_body
from .request_params import with_json_body
from .rest_endpoints import PUBLIC_ENDPOINTS

if TYPE_CHECKING:
    from .session_context import ServerContext
    from .tokens import Token

log = logging.getLogger("tradovate_api.simulator")

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _response(status: int, body: bytes) -> web.Response:
    if not body:
        return web.Response(status=status, body=b"")
    return web.Response(status=status, body=body, content_type="application/json")


async def _params(request: web.Request) -> dict[str, Any]:
    """Query parameters overlaid with the body's (JSON object or form); raises
    ``ValueError`` for a body that is neither."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type in _FORM_TYPES:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
        return params
    raw = await request.read()
    if not raw.strip():
        return params
    return with_json_body(params, lambda: msgspec.json.decode(raw))


class RestHandler:
    """aiohttp handler of every ``/v1/...`` path except the websocket."""

    def __init__(self, ctx: ServerContext) -> None:
        self._ctx = ctx

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ctx = self._ctx
        endpoint = request.match_info.get("endpoint", "").strip("/").lower()
        faults = ctx.faults
        if faults.response_delay > 0:
            await request.read()  # the request has reached the server; its answer is held
            await asyncio.sleep(faults.response_delay)
        if ctx.schedule.in_maintenance():
            return _response(503, b"")
        if faults.rate_limited:
            return _response(429, b"")
        peer = request.remote or "?"
        value = _bearer(request)
        token: Token | None = ctx.tokens.valid(value) if value is not None else None
        if token is not None and token.kind != "access":
            token = None  # a market-data token is for the md socket only
        verdict = ctx.limits.user_request(token.user_id if token is not None else None, peer)
        if verdict != PROCEED:
            return _response(verdict, b"")
        if not ctx.endpoints.known(endpoint):
            log.info("REST %s %s: unknown endpoint", request.method, endpoint)
            return _response(404, error_body(f"Not found: {endpoint}"))
        if endpoint in PUBLIC_ENDPOINTS:
            token = None
        elif token is None:
            ctx.limits.endpoint_done(endpoint, peer, succeeded=False)
            text = "Access is denied" if value is None else "Expired or invalid access token"
            return _response(401, error_body(text, quoted=False))
        try:
            params = await _params(request)
        except ValueError as exc:
            log.info("REST %s: bad body: %s", endpoint, exc)
            ctx.limits.endpoint_done(endpoint, peer, succeeded=False)
            return _response(400, error_body(f"Bad request: {exc}"))
        fault = answer_faults.draw(faults, endpoint) if token is not None else None
        if fault is not None:
            return self._faulty(request, endpoint, params, token, fault)
        reply = ctx.endpoints.dispatch(endpoint, params, token, peer=peer)
        ctx.registry.route(reply.changes)
        return _response(reply.status, reply.body)

    def _faulty(self, request: web.Request, endpoint: str, params: dict[str, Any],
                token: Token | None, fault: answer_faults.AnswerFault) -> web.StreamResponse:
        """An order request whose answer goes wrong (see :mod:`.answer_faults`)."""
        ctx = self._ctx
        log.info("REST %s: %s", endpoint, fault.name)
        if fault.delay:
            _cut(request)
            ctx.registry.detach(answer_faults.execute_later(ctx, endpoint, params, token,
                                                            fault.delay))
            return web.Response(status=200)
        body = b""
        if fault.execute:
            reply = ctx.endpoints.dispatch(endpoint, params, token)
            body = reply.body
            ctx.registry.route(reply.changes)
        if fault.cut:
            _cut(request)
            return web.Response(status=200)
        status, text, content_type = answer_faults.rest_answer(fault, body, endpoint)
        return web.Response(status=status, body=text, content_type=content_type)


def _cut(request: web.Request) -> None:
    """TCP abort of the request's connection: the client gets no answer at all."""
    if request.transport is not None:
        request.transport.abort()
