"""How the answer to an order request goes wrong, on REST and on the trading websocket.

A request that reached Tradovate is executed whatever happens to its connection; what the
client can lose is the answer (reference §6, §7.3). Four faults model that:

* ``lost_answer``: executed, then the connection is cut (TCP abort) before the answer.
* ``late_execution``: the connection is cut at once and the request executes
  ``min_delay..max_delay`` seconds later, so the next connection's first snapshot may not have
  it yet.
* ``error_after_execution``: executed, then answered with a 5xx, a body cut short
  (``{"orderId":12``) or an HTML page where JSON was due.
* ``error_without_execution``: the same answers, not executed.

:func:`draw` decides (the first of the four that fires); the REST handler and the trading
session do the I/O with :func:`rest_answer` / :func:`ws_answer` and :func:`execute_later`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from .outgoing import RawFrame, response_bytes

if TYPE_CHECKING:
    from .faults import Faults
    from .session_context import ServerContext
    from .tokens import Token

log = logging.getLogger("tradovate_api.simulator")
ANSWER_FAULTS = ("lost_answer", "late_execution", "error_after_execution",
                 "error_without_execution")
_STATUS_TEXT = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                504: "Gateway Timeout"}
_UNEXECUTED_BODY = {
    "orderstrategy/startorderstrategy": b'{"orderStrategy":{"id":',
    "orderstrategy/interruptorderstrategy": b'{"orderStrategy":{"id":',
    "order/modifyorder": b'{"commandId":',
    "order/cancelorder": b'{"commandId":',
}
"""What a cut answer of a request that was *not* executed starts with (any other: a
placement's ``{"orderId":``)."""


@dataclass(frozen=True, slots=True)
class AnswerFault:
    """What happens to one request and its answer."""

    name: str
    execute: bool
    cut: bool = False
    """Cut the connection instead of answering."""
    delay: float = 0.0
    """Execute this many seconds after the cut (``late_execution``)."""
    answer: str = ""
    """The broken answer: ``"500"``...``"504"``, ``"cut"`` or ``"html"``."""
    cut_at: float = 0.5
    """Where a ``"cut"`` body ends, as a share of its length."""


def draw(faults: Faults, endpoint: str) -> AnswerFault | None:
    """The answer fault for a request to ``endpoint``, if one fires."""
    if not faults.any_armed(ANSWER_FAULTS):
        return None
    armed = faults.fire("lost_answer", endpoint)
    if armed is not None:
        return AnswerFault("lost_answer", execute=True, cut=True)
    armed = faults.fire("late_execution", endpoint)
    if armed is not None:
        delay = armed.rng.uniform(float(armed.params["min_delay"]),
                                  float(armed.params["max_delay"]))
        return AnswerFault("late_execution", execute=True, cut=True, delay=delay)
    for name, execute in (("error_after_execution", True), ("error_without_execution", False)):
        armed = faults.fire(name, endpoint)
        if armed is not None:
            answers = tuple(armed.params["answers"])
            return AnswerFault(name, execute=execute, answer=armed.rng.choice(answers),
                               cut_at=armed.rng.uniform(0.2, 0.9))
    return None


def _html(status: int) -> bytes:
    text = _STATUS_TEXT.get(status, "Error")
    return (f"<html><head><title>{status} {text}</title></head><body><center><h1>{status} "
            f"{text}</h1></center><hr><center>nginx</center></body></html>").encode()


def _cut(fault: AnswerFault, body: bytes, endpoint: str) -> bytes:
    """The answer's JSON cut short (``{"orderId":12``); an unexecuted request's answer is
    cut right after its first key."""
    if not fault.execute or not body:
        return _UNEXECUTED_BODY.get(endpoint, b'{"orderId":')
    end = min(max(int(len(body) * fault.cut_at), 1), len(body) - 1)
    return body[:end]


def rest_answer(fault: AnswerFault, body: bytes, endpoint: str) -> tuple[int, bytes, str]:
    """HTTP status, body and content type of the broken answer (``body``: the real one)."""
    if fault.answer == "cut":
        return 200, _cut(fault, body, endpoint), "application/json"
    if fault.answer == "html":
        return 200, _html(500), "text/html"
    status = int(fault.answer)
    if status == 500:
        return status, _STATUS_TEXT[500].encode(), "text/plain"
    return status, _html(status), "text/html"


def ws_answer(fault: AnswerFault, request_id: int | None, body: bytes,
              endpoint: str) -> bytes:
    """The broken answer on the websocket: a response whose ``d`` is an error text or an
    HTML page, or a frame cut short (its own frame, so only it is unreadable)."""
    if fault.answer == "cut":
        head = msgspec.json.encode(request_id)
        return RawFrame(b'a[{"s":200,"i":' + head + b',"d":' + _cut(fault, body, endpoint))
    if fault.answer == "html":
        return response_bytes(200, request_id, msgspec.json.encode(_html(500).decode()))
    status = int(fault.answer)
    text = _STATUS_TEXT[500] if status == 500 else _html(status).decode()
    return response_bytes(status, request_id, msgspec.json.encode(text))


async def execute_later(ctx: ServerContext, endpoint: str, params: dict[str, Any],
                        token: Token | None, delay: float) -> None:
    """``late_execution``: the request runs ``delay`` seconds after its connection died;
    its changes go to the user's sockets open by then."""
    await asyncio.sleep(delay)
    try:
        reply = ctx.endpoints.dispatch(endpoint, params, token)
    except Exception:
        log.exception("late execution of %s failed", endpoint)
        return
    log.info("late execution of %s after %.2f s: status %d", endpoint, delay, reply.status)
    ctx.registry.route(reply.changes)
