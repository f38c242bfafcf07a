"""Client → server requests: ``endpoint\\nid\\nquery\\nbody``, ``authorize`` and ``[]``.

Encoding is for clients; :func:`parse_request` is the server side (simulator), lenient in the
ways official samples need: 3-line frames, junk query text, a quoted authorize body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

import msgspec

HEARTBEAT_REQUEST = b"[]"
"""The client heartbeat, to be sent at least every 2.5 s."""

_encoder = msgspec.json.Encoder()


def encode_body(body: Any) -> bytes:
    """JSON-encode a request body (a model Struct or builtins)."""
    return _encoder.encode(body)


def encode_query(params: Mapping[str, Any]) -> str:
    """Encode query parameters (``masterids=1,2``: commas are kept literal)."""
    return urlencode({k: v for k, v in params.items() if v is not None}, safe=",@")


def encode_request(endpoint: str, request_id: int, query: str = "",
                   body: bytes | str = b"") -> bytes:
    """Build one request frame. The endpoint has no leading ``/`` and no ``/v1``."""
    if isinstance(body, str):
        body = body.encode()
    if endpoint.startswith("/"):
        raise ValueError(f"endpoint must not start with '/': {endpoint!r}")
    if "\n" in endpoint or "\n" in query:
        raise ValueError("endpoint and query must not contain newlines")
    return b"%s\n%d\n%s\n%s" % (endpoint.encode(), request_id, query.encode(), body)


def encode_authorize(request_id: int, token: str) -> bytes:
    """``authorize`` with the raw token as body (the documented form)."""
    return encode_request("authorize", request_id, "", token.encode())


class ClientRequest(msgspec.Struct, frozen=True):
    """A request as a server sees it. ``endpoint`` is lower-cased (matching is
    case-insensitive); ``raw_endpoint`` keeps the client's spelling."""

    endpoint: str
    raw_endpoint: str
    request_id: int
    query: str
    body: bytes

    def query_params(self) -> dict[str, str]:
        """Query parameters; text that is not ``k=v`` (e.g. ``undefined``) is ignored."""
        pairs = "&".join(part for part in self.query.split("&") if "=" in part)
        return dict(parse_qsl(pairs, keep_blank_values=True))

    def body_json(self) -> Any:
        """The body decoded as JSON; an empty body or the text ``undefined`` is ``None``."""
        body = self.body.strip()
        if not body or body == b"undefined":
            return None
        return msgspec.json.decode(body)


class HeartbeatRequest(msgspec.Struct, frozen=True):
    """The ``[]`` client heartbeat."""


class RequestParseError(msgspec.Struct, frozen=True):
    """A client frame that is not a valid request. ``request_id`` is set if it was readable."""

    reason: str
    request_id: int | None = None


def parse_request(frame: bytes | str) -> ClientRequest | HeartbeatRequest | RequestParseError:
    """Parse one client frame (server side). Never raises."""
    if isinstance(frame, str):
        frame = frame.encode(errors="surrogatepass")  # lone surrogates fail UTF-8 below
    if frame.strip() == HEARTBEAT_REQUEST:
        return HeartbeatRequest()
    parts = frame.split(b"\n", 3)
    if len(parts) < 2:
        return RequestParseError("request needs at least an endpoint line and an id line")
    try:
        endpoint = parts[0].decode().strip().lstrip("/")
        request_id = int(parts[1].strip())
    except (UnicodeDecodeError, ValueError):
        return RequestParseError("request id is not an integer")
    if not endpoint:
        return RequestParseError("empty endpoint", request_id)
    try:
        query = parts[2].decode().strip() if len(parts) > 2 else ""
    except UnicodeDecodeError:
        return RequestParseError("query is not UTF-8", request_id)
    body = parts[3] if len(parts) > 3 else b""
    return ClientRequest(endpoint.lower(), endpoint, request_id, query, body)


def authorize_token(body: bytes) -> str:
    """The token of an ``authorize`` body, sent raw or as a JSON string (both occur)."""
    text = body.strip()
    if text[:1] == b'"':
        try:
            return str(msgspec.json.decode(text, type=str))
        except msgspec.DecodeError:
            pass
    return text.decode(errors="replace")
