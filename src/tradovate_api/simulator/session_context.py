"""What every connection handler of one simulator shares: the REST handler, both websocket
kinds and the requests that execute after their connection died.

It sits above the parts it holds (the endpoint table, the connection registry, the md hub,
the faults, limits, tokens, market and hours): those are built with only the collaborators
they use and never see this context, so dependencies point one way, from the handlers down.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import SimulatorConfig
    from .faults import Faults
    from .hours import MarketSchedule
    from .instruments import InstrumentCatalog
    from .limits import RequestLimits
    from .marketgen import MarketGenerator
    from .md_hub import MarketDataHub
    from .rest_endpoints import Endpoints
    from .session_registry import ConnectionRegistry
    from .tokens import TokenStore


@dataclass(frozen=True, slots=True, eq=False)
class ServerContext:
    """Configuration, market, tokens, faults, limits, hours, the endpoint table, the live
    connections and the md fan-out."""

    config: SimulatorConfig
    catalog: InstrumentCatalog
    generator: MarketGenerator
    tokens: TokenStore
    faults: Faults
    limits: RequestLimits
    schedule: MarketSchedule
    registry: ConnectionRegistry
    hub: MarketDataHub
    endpoints: Endpoints
