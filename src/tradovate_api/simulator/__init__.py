"""A local Tradovate server (REST + trading and market-data websockets) for trying and testing.

``async with Simulator() as sim:`` serves ``sim.rest_url``, ``sim.ws_url`` and ``sim.md_url``;
``sim.faults`` injects failures; ``tradovate-api sim`` runs one from the command line.
"""

from .config import SimulatorConfig, load_config
from .faults import Faults
from .server import Simulator

__all__ = ["Faults", "Simulator", "SimulatorConfig", "load_config"]
