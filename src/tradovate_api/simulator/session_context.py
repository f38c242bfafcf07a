"""The state every REST handler and websocket session of one simulator shares."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import SimulatorConfig
    from .engine import Exchange
    from .faults import Faults
    from .hours import MarketSchedule
    from .instruments import InstrumentCatalog
    from .limits import RequestLimits
    from .marketgen import MarketGenerator
    from .md_hub import MarketDataHub
    from .rest_endpoints import Endpoints
    from .session_registry import ConnectionRegistry
    from .tokens import TokenStore

log = logging.getLogger("tradovate_api.simulator")


@dataclass(frozen=True, slots=True)
class Login:
    """A configured user: the password to compare and the engine's user id."""

    user_id: int
    password: str = field(repr=False)


@dataclass(slots=True, eq=False)
class ServerContext:
    """Configuration, market, exchange, tokens, faults, limits, hours and the live
    connections."""

    config: SimulatorConfig
    clock: Callable[[], float]
    catalog: InstrumentCatalog
    generator: MarketGenerator
    exchange: Exchange
    tokens: TokenStore
    faults: Faults
    logins: dict[str, Login]
    limits: RequestLimits
    schedule: MarketSchedule
    registry: ConnectionRegistry = field(init=False)
    hub: MarketDataHub = field(init=False)
    endpoints: Endpoints = field(init=False)
