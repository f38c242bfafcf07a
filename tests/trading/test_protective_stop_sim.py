"""Protective stops at the shipped settings against the simulator: the stop the framework
places follows the position on the server — placed, cancelled when flat, replaced on the new
side when the position flips — and never outlives it."""

from __future__ import annotations

from sim_rig import FAST_SIM, SimRig, server_side
from trading_helpers import TODAY

from tradovate_api.protocol.models import Command, Order, OrderVersion
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock


def server_stops(rig: SimRig) -> list[tuple[str, int]]:
    """Working protective stops on the server: (action, quantity)."""
    exchange = rig.sim.exchange
    user = exchange.users()[0].id
    protective = {c.order_id for c in exchange.entities("command", user)
                  if isinstance(c, Command) and c.command_type == "New"
                  and (c.cl_ord_id or "").endswith("-ps")}
    versions: dict[int, OrderVersion] = {}
    for v in exchange.entities("orderVersion", user):
        if isinstance(v, OrderVersion) and v.order_id in protective:
            newest = versions.get(v.order_id)
            if newest is None or v.id > newest.id:
                versions[v.order_id] = v
    return sorted((o.action, versions[o.id].order_qty) for o in exchange.entities("order", user)
                  if isinstance(o, Order) and o.id in protective and o.ord_status == "Working")


async def test_the_protective_stop_follows_the_position_on_the_server() -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=21, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        assert rig.limits.protective_stop == "place"  # the shipped default
        rig.ctx.buy("ESZ6", 1)
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)
        await server_side(lambda: server_stops(rig) == [("Sell", 1)])
        rig.ctx.sell("ESZ6", 1)
        await rig.until(lambda: rig.ctx.position("ESZ6") == 0)
        await server_side(lambda: server_stops(rig) == [])  # gone with the position
        rig.ctx.sell("ESZ6", 2)
        await rig.until(lambda: rig.ctx.position("ESZ6") == -2)
        await server_side(lambda: server_stops(rig) == [("Buy", 2)])
        rig.ctx.buy("ESZ6", 3)  # flips to long 1
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)
        await server_side(lambda: server_stops(rig) in ([], [("Sell", 1)]))
        await server_side(lambda: server_stops(rig) == [("Sell", 1)])
        assert rig.server_position() == 1
        cover = rig.orders.coverage(rig.contracts.contract_id("ESZ6"))
        assert (cover.net_pos, cover.covered, cover.naked) == (1, 1, 0)
