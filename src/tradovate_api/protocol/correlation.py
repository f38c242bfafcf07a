"""Request ids, response matching, and turning a response into a typed result or failure.

The same :func:`interpret` serves websocket responses (``s``/``d``) and REST responses (HTTP
status/body), because Tradovate reports business failures the same way on both: a success
status whose body holds ``errorText``, ``failureReason`` other than ``Success``, or a penalty
``p-ticket``. The caller always gets either the typed result or a
:class:`~tradovate_api.errors.TradovateError` value — never a silently empty result.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import (
    BusinessError,
    ErrorResponse,
    NotFound,
    OrderRejected,
    PenaltyTicket,
    ProtocolError,
    RateLimited,
    RequestError,
    TradovateError,
    Unauthorized,
)
from .messages import DECODE_ERRORS, Response

_MAX_TEXT = 500


class _FailureProbe(msgspec.Struct):
    error_text: str | None = msgspec.field(default=None, name="errorText")
    failure_reason: str | None = msgspec.field(default=None, name="failureReason")
    failure_text: str | None = msgspec.field(default=None, name="failureText")
    p_ticket: str | None = msgspec.field(default=None, name="p-ticket")
    p_time: float | None = msgspec.field(default=None, name="p-time")
    p_captcha: bool | None = msgspec.field(default=None, name="p-captcha")


_probe_decoder = msgspec.json.Decoder(_FailureProbe)
_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def _decoder_for(result_type: Any) -> msgspec.json.Decoder[Any]:
    decoder = _decoders.get(result_type)
    if decoder is None:
        decoder = _decoders[result_type] = msgspec.json.Decoder(result_type)
    return decoder


def error_text(body: bytes | None) -> str:
    """Readable error text of a failed response: ``d`` is usually a JSON string, sometimes
    one that itself contains quotes (``"\\"Not found: x\\""``); plain text is kept as is."""
    if not body:
        return ""
    try:
        text = msgspec.json.decode(body)
    except DECODE_ERRORS:
        text = body.decode(errors="replace")
    if not isinstance(text, str):
        text = body.decode(errors="replace")
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1]
    return text[:_MAX_TEXT]


def failure_for_status(status: int, text: str) -> ErrorResponse:
    """The :class:`ErrorResponse` subclass for a non-2xx status."""
    if status in (401, 403):
        return Unauthorized(status, text)
    if status == 404:
        return NotFound(status, text)
    if status in (423, 429):
        return RateLimited(status, text)
    return ErrorResponse(status, text)


def interpret(status: int, body: bytes | None, result_type: Any = None) -> Any:
    """Typed result of a response, or the :class:`TradovateError` describing its failure.

    ``result_type`` is what a success decodes into (a model, ``list[Model]``…); ``None``
    means the body is ignored (e.g. ``authorize``) but still checked for failures.
    """
    if not 200 <= status < 300:
        return failure_for_status(status, error_text(body))
    if body is None or not body.strip():
        if result_type is None:
            return None
        return ProtocolError(f"status {status} with an empty body where a result was expected")
    if body.lstrip()[:1] == b"{":
        try:
            probe = _probe_decoder.decode(body)
        except DECODE_ERRORS as exc:
            return ProtocolError(f"malformed response body: {exc}")
        if probe.p_ticket is not None:
            return PenaltyTicket(probe.p_ticket, probe.p_time or 0.0, bool(probe.p_captcha))
        if probe.failure_reason is not None and probe.failure_reason != "Success":
            return OrderRejected(probe.failure_reason, probe.failure_text or probe.error_text)
        if probe.error_text:
            return BusinessError(probe.error_text)
    if result_type is None:
        return None
    try:
        return _decoder_for(result_type).decode(body)
    except DECODE_ERRORS as exc:
        return ProtocolError(f"unexpected response body: {exc}")


class Pending(msgspec.Struct):
    """A request awaiting its response."""

    request_id: int
    endpoint: str
    result_type: Any = None


class Resolution(msgspec.Struct, frozen=True):
    """A response matched to its request: ``result`` is the typed value or a failure."""

    pending: Pending
    result: Any

    @property
    def failed(self) -> bool:
        return isinstance(self.result, TradovateError)


class PendingRequests:
    """Allocates request ids unique per connection and matches responses to requests.

    Pure bookkeeping with no clock and no I/O; the session that owns a connection owns one.
    """

    def __init__(self, first_id: int = 1) -> None:
        self._next_id = first_id
        self._pending: dict[int, Pending] = {}

    def add(self, endpoint: str, result_type: Any = None) -> int:
        """Register a request about to be sent; returns its id."""
        request_id = self._next_id
        self._next_id += 1
        self._pending[request_id] = Pending(request_id, endpoint, result_type)
        return request_id

    def resolve(self, response: Response) -> Resolution | None:
        """Match a response; ``None`` if no request with its id is pending.

        An id echoed as a string of digits (the documented 429 shows a string ``i``) matches
        the integer id it spells.
        """
        request_id = response.i
        if (isinstance(request_id, str) and len(request_id) <= 18 and request_id.isascii()
                and request_id.isdigit()):
            request_id = int(request_id)
        if not isinstance(request_id, int):
            return None
        pending = self._pending.pop(request_id, None)
        if pending is None:
            return None
        result = interpret(response.s, response.body, pending.result_type)
        if isinstance(result, RequestError):
            result.with_endpoint(pending.endpoint)
        return Resolution(pending, result)

    def cancel(self, request_id: int) -> Pending | None:
        """Forget a request (e.g. it timed out); a late response then resolves to ``None``."""
        return self._pending.pop(request_id, None)

    def abandon_all(self) -> list[Pending]:
        """The connection is gone: every pending request's outcome is now unknown."""
        pending = list(self._pending.values())
        self._pending.clear()
        return pending

    def __len__(self) -> int:
        return len(self._pending)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._pending
