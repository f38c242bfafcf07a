"""I/O sessions on top of the protocol core: the picows websocket connection, the
market-data and trading sessions that survive reconnects, and a thin REST client."""

from __future__ import annotations

from .connection import (
    Connection,
    ConnectionOptions,
    ConnectionStats,
    EventConsumer,
    FrameObserver,
    ReaderProblem,
)
from .ends import (
    AuthorizationFailed,
    ConnectFailed,
    EndKind,
    RequestTimeout,
    SessionEnd,
    SessionEnded,
    TokenUnavailable,
)
from .loop import new_event_loop, run, uses_uvloop
from .md_session import ChartSubscription, Feed, MarketDataSession
from .rest import RestClient
from .session import Session
from .tokens import AuthTokens, TokenProvider, TokenRejected
from .trading_session import SyncSnapshot, TradingSession

__all__ = [
    "AuthTokens", "AuthorizationFailed", "ChartSubscription", "ConnectFailed", "Connection",
    "ConnectionOptions", "ConnectionStats", "EndKind", "EventConsumer", "Feed", "FrameObserver",
    "MarketDataSession", "ReaderProblem", "RequestTimeout", "RestClient", "Session",
    "SessionEnd",
    "SessionEnded", "SyncSnapshot", "TokenProvider", "TokenRejected", "TokenUnavailable",
    "TradingSession", "new_event_loop", "run", "uses_uvloop",
]
