"""tradovate_api: a fast, reliable framework for automated futures trading on Tradovate."""

from __future__ import annotations

from .errors import (
    BusinessError,
    ConfigError,
    ConnectionLost,
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

__version__ = "0.1.0"

__all__ = [
    "BusinessError", "ConfigError", "ConnectionLost", "ErrorResponse", "NotFound",
    "OrderRejected", "PenaltyTicket", "ProtocolError", "RateLimited", "RequestError",
    "TradovateError", "Unauthorized", "__version__",
]
