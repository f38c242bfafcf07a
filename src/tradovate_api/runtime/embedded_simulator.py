"""The simulator ``tradovate-api run`` starts in-process on ``sim`` without URL overrides.

A demo run needs a market that trades at any hour and prints what the reference strategy
reacts to; a live run needs none of it. So the choices of that market — its configuration, its
clock, its default instruments — live here, and the simulator package is imported only when
one is made (about 75 ms of imports a live run does not pay).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ..settings import Endpoints
from ..stores import wall_clock_ms

if TYPE_CHECKING:
    from ..simulator import Simulator, SimulatorConfig

_log = logging.getLogger("tradovate_api.runtime.embedded_simulator")

SIM_PRODUCTS = ("ES", "NQ")
"""Front months used on the embedded simulator when ``instruments`` is empty (the reference
strategy pools ES and NQ and trades ES)."""


def embedded_simulator_config(accounts: Sequence[str] = (),
                              logins: Mapping[str, Sequence[str]] | None = None
                              ) -> SimulatorConfig:
    """The simulator ``tradovate-api run`` starts on ``sim``.

    Its market is the default one plus large prints: about one 500-lot block every 2.5 s
    across ES and NQ (0.02 per 100 ms step and contract, either side). The reference
    strategy's large-trade signal needs a print of 400 or more, which the default random walk
    (a few lots per print) never makes, so without them a demo run would watch the market and
    never trade; with them a round trip (entry on one block, exit on the next block of the
    other side) takes about 5 s on average. The strategy's logic and thresholds are unchanged.

    ``accounts``: the names the settings' ``[[accounts]]`` give; the simulator's login
    (``sim``/``sim``) then holds an account of each name (default: one ``DEMO`` account).
    ``logins``: the settings' other logins' account names by login name; each login is a user
    of the simulator whose name and password are the login's name.
    """
    from ..simulator import SimulatorConfig  # imported only when the simulator runs
    from ..simulator.config import AccountConfig, UserConfig

    users = [UserConfig(name="sim", password="sim",
                        accounts=[AccountConfig(name=name) for name in accounts] or None),
             *(UserConfig(name=login, password=login,
                          accounts=[AccountConfig(name=name) for name in names])
               for login, names in (logins or {}).items())]
    return SimulatorConfig(users=users, warm_up=600.0, large_print_probability=0.02,
                           large_print_size=500)


def simulated_time_note(simulated_s: float) -> str:
    """One line naming the embedded simulator's time when it is not now (the market was
    closed, so it runs from the next open); empty when it is now."""
    if abs(simulated_s - time.time()) < 1.0:
        return ""
    moment = datetime.fromtimestamp(simulated_s, ZoneInfo("America/Chicago"))
    return (f"the market is closed now: the embedded simulator runs from "
            f"{moment.isoformat(timespec='minutes')} Chicago time")


def make_embedded_simulator(config: SimulatorConfig | None, clock: Callable[[], int],
                            accounts: Sequence[str] = (),
                            logins: Mapping[str, Sequence[str]] | None = None
                            ) -> tuple[Simulator, Callable[[], int]]:
    """The simulator (``config``, else :func:`embedded_simulator_config` with the named
    ``accounts`` and ``logins``) and the clock the
    app runs on (ms). The embedded market trades at any hour: with the wall clock, when the
    market is closed now, both run on a clock that starts just after the next open; any
    other ``clock`` (tests) is shared as it is."""
    from ..simulator import Simulator  # ~75 ms of imports a live run does not need
    from ..simulator.calendar import open_clock

    sim_clock = open_clock() if clock is wall_clock_ms else (lambda: clock() / 1000)
    if clock is wall_clock_ms:
        clock = lambda: int(sim_clock() * 1000)  # noqa: E731
    return Simulator(config or embedded_simulator_config(accounts, logins),
                     clock=sim_clock), clock


async def start_embedded_simulator(simulator: Simulator) -> Endpoints:
    """Start ``simulator``; its addresses."""
    await simulator.start()
    endpoints = Endpoints(simulator.rest_url, simulator.ws_url, simulator.md_url)
    _log.info("embedded simulator started at %s", endpoints.rest)
    note = simulated_time_note(simulator.clock())
    if note:
        _log.info("%s", note)
    return endpoints


def front_months(simulator: Simulator) -> list[str]:
    """The :data:`SIM_PRODUCTS` front months of ``simulator``'s catalog."""
    by_product = {inst.product.name: inst.name for inst in simulator.catalog}
    return [by_product[p] for p in SIM_PRODUCTS if p in by_product]


def client_settings_toml(simulator: Simulator) -> str:
    """The settings file for ``tradovate-api run`` against a standalone ``simulator``: its
    addresses, the front months the embedded run trades, and its fees per product, so that a
    run against it reports the same P&L (commissions included) as the embedded one."""
    fees = {inst.product.name: inst.commission_per_side for inst in simulator.catalog}
    lines = ["# tradovate-api run --settings THIS_FILE: trade against the simulator at these",
             "# addresses (written by tradovate-api sim --client-settings).",
             'environment = "sim"',
             "instruments = [" + ", ".join(f'"{name}"' for name in front_months(simulator))
             + "]", "", "[urls]", f'rest = "{simulator.rest_url}"',
             f'trading_ws = "{simulator.ws_url}"', f'md_ws = "{simulator.md_url}"', "",
             "[trading.commission_per_side]  # the simulator's fees per contract per side"]
    lines += [f"{product} = {fee:g}" for product, fee in sorted(fees.items())]
    return "\n".join(lines) + "\n"
