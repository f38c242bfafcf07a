"""Websocket frame layer (SockJS-derived): ``o``, ``h``, ``a[...]``, ``c[code,"reason"]``.

:func:`decode_frame` never raises: anything malformed becomes a :class:`FrameError` value so
a reader task can log it and carry on. The ``encode_*`` functions build server frames (used
by the simulator and by tests).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

import msgspec

from .messages import DECODE_ERRORS, Message, decode_messages


class Open(msgspec.Struct, frozen=True):
    """``o``: the server accepted the connection; authorize next."""


class Heartbeat(msgspec.Struct, frozen=True):
    """``h``: server heartbeat (not sent while data streams)."""


class Close(msgspec.Struct, frozen=True):
    """``c[code,"reason"]``: the server is closing the session."""

    code: int
    reason: str


class Messages(msgspec.Struct, frozen=True, gc=False):
    """``a[...]``: one or more responses and events, in wire order."""

    items: list[Message]


class FrameError(msgspec.Struct, frozen=True):
    """A frame that is not valid protocol; ``data`` is (a prefix of) what arrived."""

    reason: str
    data: bytes


Frame: TypeAlias = Open | Heartbeat | Close | Messages | FrameError

OPEN = Open()
HEARTBEAT = Heartbeat()
_MAX_ERROR_DATA = 512
_close_decoder = msgspec.json.Decoder(tuple[int, str])


def decode_frame(data: bytes | bytearray | memoryview | str) -> Frame:
    """Decode one websocket text message from the server. Never raises."""
    if isinstance(data, str):
        data = data.encode(errors="surrogatepass")  # lone surrogates -> invalid JSON, no raise
    view = memoryview(data)
    if not view:
        return FrameError("empty frame", b"")
    kind = view[0]
    if kind == 0x61:  # 'a'
        try:
            return Messages(decode_messages(view[1:]))
        except DECODE_ERRORS as exc:
            return FrameError(f"bad 'a' frame: {exc}", bytes(view[:_MAX_ERROR_DATA]))
    if len(view) == 1:
        if kind == 0x68:  # 'h'
            return HEARTBEAT
        if kind == 0x6F:  # 'o'
            return OPEN
    if kind == 0x63:  # 'c'
        try:
            code, reason = _close_decoder.decode(view[1:])
        except DECODE_ERRORS as exc:
            return FrameError(f"bad 'c' frame: {exc}", bytes(view[:_MAX_ERROR_DATA]))
        return Close(code, reason)
    return FrameError("unknown frame type", bytes(view[:_MAX_ERROR_DATA]))


OPEN_FRAME = b"o"
HEARTBEAT_FRAME = b"h"
_encoder = msgspec.json.Encoder()


def encode_messages(messages: Sequence[Any]) -> bytes:
    """Build an ``a[...]`` frame from messages (Structs or builtins)."""
    return b"a" + _encoder.encode(messages)


def encode_close(code: int, reason: str) -> bytes:
    """Build a ``c[code,"reason"]`` frame."""
    return b"c" + _encoder.encode((code, reason))
