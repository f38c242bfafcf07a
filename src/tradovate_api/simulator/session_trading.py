"""The trading (user) websocket: every REST endpoint, plus ``user/syncrequest`` (reference §5.1).

A request's query line and JSON body (line 4) become the same ``params`` a REST call has. After
``user/syncrequest`` — ``{users}``, ``{accounts}`` or ``{splitResponses, entityTypes}`` — the
socket receives its user's entity changes as ``props`` events (only the requested
``entityTypes`` when given), whoever caused them (this socket, another one, REST, the market).
A request that reached the server executes even if the socket dies before it is answered
(see :mod:`.answer_faults` for the faults on order answers).
"""

from __future__ import annotations

from typing import Any

from ..protocol import ClientRequest
from . import answer_faults
from .outgoing import error_body, response_bytes
from .session import SocketSession, log, request_params


class TradingSession(SocketSession):
    """``/v1/websocket`` on the REST port."""

    kind = "trading"
    accepted_tokens = frozenset({"access"})
    """The real trading socket refuses a market-data token (issue 15 overrides §2.5)."""
    executes_after_close = True

    def handle(self, request: ClientRequest) -> None:
        ctx = self.ctx
        endpoint = request.endpoint
        if not ctx.endpoints.known(endpoint):
            log.info("%r: unknown endpoint %s", self, request.raw_endpoint)
            self.respond(404, request.request_id, error_body(f"Not found: {endpoint}"))
            return
        try:
            params = request_params(request)
        except ValueError as exc:
            log.info("%r: %s: %s", self, endpoint, exc)
            self.respond(400, request.request_id, error_body(f"Bad request: {exc}"))
            return
        if endpoint == "user/syncrequest":
            self._sync(request, params)
            return
        fault = answer_faults.draw(ctx.faults, endpoint)
        if fault is not None:
            self._faulty(request, params, fault)
            return
        reply = ctx.endpoints.dispatch(endpoint, params, self.token, peer=self.peer)
        self.respond(reply.status, request.request_id, reply.body)
        ctx.registry.route(reply.changes)

    def _faulty(self, request: ClientRequest, params: dict[str, Any],
                fault: answer_faults.AnswerFault) -> None:
        ctx = self.ctx
        endpoint = request.endpoint
        log.info("%r: %s of %s (request %s)", self, fault.name, endpoint, request.request_id)
        if fault.delay:
            self.cut()
            ctx.registry.detach(answer_faults.execute_later(ctx, endpoint, params, self.token,
                                                            fault.delay))
            return
        body = b""
        if fault.execute:
            reply = ctx.endpoints.dispatch(endpoint, params, self.token)
            body = reply.body
            ctx.registry.route(reply.changes)
        if fault.cut:
            self.cut()
            return
        self.send(answer_faults.ws_answer(fault, request.request_id, body, endpoint))

    def _sync(self, request: ClientRequest, params: dict[str, Any]) -> None:
        if self.closing:  # a held request of a socket that died meanwhile
            return
        reply = self.ctx.endpoints.dispatch(request.endpoint, params, self.token,
                                            peer=self.peer)
        if reply.status != 200 or reply.penalized or self.token is None:
            self.respond(reply.status, request.request_id, reply.body)
            return
        types = params.get("entityTypes")
        wanted = (frozenset(t for t in types if isinstance(t, str))
                  if isinstance(types, list) and types else None)
        self.send(response_bytes(200, request.request_id, reply.body))
        self.ctx.registry.synced(self, self.token.user_id, wanted)
