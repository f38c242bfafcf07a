"""Pieces of what the simulator sends, encoded: a response message, the ``d`` of an error, a
``shutdown`` frame, and a frame queued whole.

Sockets, the REST side, the connection registry and the fault switches all send these; they
live in this leaf so that none of those has to import another to encode an answer.
"""

from __future__ import annotations

import msgspec

from ..protocol import Response, Shutdown, ShutdownEvent, encode_messages

_encoder = msgspec.json.Encoder()


def response_bytes(status: int, request_id: int | None, body: bytes = b"") -> bytes:
    """One encoded response message; ``body`` is the raw JSON of ``d`` (empty: no ``d``).

    Without a body it is built as a plain dict: ``Response`` with an empty ``Raw`` would
    encode ``"d":`` with no value."""
    if not body:
        return _encoder.encode({"s": status, "i": request_id})
    return _encoder.encode(Response(s=status, i=request_id, d=msgspec.Raw(body)))


def error_body(text: str, *, quoted: bool = True) -> bytes:
    """``d`` of an error response: a JSON string; ``quoted`` wraps the text in quote marks
    inside it, as the real 404 does (``"d":"\\"Not found: x\\""``)."""
    return _encoder.encode(f'"{text}"' if quoted else text)


def shutdown_frame(reason_code: str, reason: str | None = None) -> bytes:
    """An ``a[...]`` frame with one ``shutdown`` event."""
    return encode_messages([ShutdownEvent(Shutdown(reason_code=reason_code, reason=reason))])


class RawFrame(bytes):
    """A whole frame queued as it is, never batched with other messages (e.g. a frame cut
    short by the ``error_after_execution`` fault)."""
