"""A request's parameters as the endpoints read them: the query overlaid with a JSON body.

REST and the trading and market-data websockets reach the same endpoint table; one rule for
all three keeps a body that is not JSON, or not a JSON object, refused in the same words
whichever way the request came.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec


def with_json_body(params: dict[str, Any], decode_body: Callable[[], Any]) -> dict[str, Any]:
    """``params`` updated with the object ``decode_body()`` returns (``None``: no body);
    raises ``ValueError`` for a body that is not JSON or not a JSON object."""
    try:
        body = decode_body()
    except msgspec.DecodeError as exc:
        raise ValueError(f"body is not JSON: {exc}") from None
    if isinstance(body, dict):
        params.update(body)
    elif body is not None:
        raise ValueError("body must be a JSON object")
    return params
