"""Sans-I/O Tradovate protocol core: frames, requests, responses, events and models.

Nothing here opens a socket or touches an event loop; the client sessions and the simulator
both sit on top of it, so its behaviour is tested byte for byte.
"""

from __future__ import annotations

from .aggressor import Side, aggressor
from .correlation import Pending, PendingRequests, Resolution, error_text, interpret
from .frames import (
    HEARTBEAT,
    HEARTBEAT_FRAME,
    OPEN,
    OPEN_FRAME,
    Close,
    Frame,
    FrameError,
    Heartbeat,
    Messages,
    Open,
    decode_frame,
    encode_close,
    encode_messages,
)
from .lenient import MONEY_ENTITY_TYPES
from .messages import (
    BadEntity,
    ChartEvent,
    ClockEvent,
    ClockWire,
    EntityEvent,
    MarketDataEvent,
    Message,
    MessageError,
    Props,
    PropsEvent,
    Response,
    Shutdown,
    ShutdownEvent,
    SyncDecoded,
    UnknownEntity,
    UnknownEvent,
    decode_entities,
    decode_entity,
    decode_messages,
    decode_sync,
)
from .requests import (
    HEARTBEAT_REQUEST,
    ClientRequest,
    HeartbeatRequest,
    RequestParseError,
    authorize_token,
    encode_authorize,
    encode_body,
    encode_query,
    encode_request,
    parse_request,
)
from .ticks import pack_ticks, unpack_ticks

__all__ = [
    "HEARTBEAT", "HEARTBEAT_FRAME", "HEARTBEAT_REQUEST", "MONEY_ENTITY_TYPES", "OPEN",
    "OPEN_FRAME", "BadEntity", "ChartEvent",
    "ClientRequest", "ClockEvent", "ClockWire", "Close", "EntityEvent", "Frame", "FrameError",
    "Heartbeat", "HeartbeatRequest", "MarketDataEvent", "Message", "MessageError", "Messages",
    "Open", "Pending", "PendingRequests", "Props", "PropsEvent", "RequestParseError",
    "Resolution", "Response", "Shutdown", "ShutdownEvent", "Side", "SyncDecoded",
    "UnknownEntity", "UnknownEvent", "aggressor", "authorize_token", "decode_entities",
    "decode_entity", "decode_frame", "decode_messages", "decode_sync", "encode_authorize",
    "encode_body", "encode_close", "encode_messages", "encode_query", "encode_request",
    "error_text", "interpret", "pack_ticks", "parse_request", "unpack_ticks",
]
