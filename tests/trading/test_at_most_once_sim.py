"""At most once, against the simulator: an order whose answer is lost is never sent twice.
Its ticket goes UNKNOWN, new orders in the contract are refused meanwhile, and the account
data settle it — ACKED when the server has a command with its clOrdId (found through the
account store), NOT_PLACED when the snapshot after the reconnect has none. Every scenario
ends with exactly one order on the server for the intent."""

from __future__ import annotations

import asyncio

from sim_rig import FAST_SIM, SimRig, server_side
from trading_helpers import TODAY

from tradovate_api.orders import OrderTicket, TicketState
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock


def new_commands(rig: SimRig) -> list[str]:
    """clOrdIds of every order the server created for the account (New commands)."""
    user = rig.sim.exchange.users()[0].id
    return [c.cl_ord_id or "" for c in rig.sim.exchange.entities("command", user)
            if getattr(c, "command_type", "") == "New"]


async def unknown(rig: SimRig, ticket: OrderTicket) -> None:
    await rig.until(lambda: ticket.state is TicketState.UNKNOWN)
    assert "orders.unknown" in [a.key for a in rig.alerts.recent]
    blocked = rig.ctx.buy("ESZ6", 1)
    assert blocked.state is TicketState.REFUSED
    assert blocked.reason.startswith(f"blocked: the outcome of place {ticket.cl_ord_id}")
    assert rig.orders.blocked(ticket.contract_id) is ticket
    assert rig.ctx.sell("NQZ6", 1).state is TicketState.REFUSED  # not traded: unknown symbol
    assert ticket in rig.orders.unknown()


async def test_answer_lost_after_execution_is_acked_by_the_next_snapshot() -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=6, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        sim.faults.silent = True  # the server executes but nothing reaches us
        ticket = rig.ctx.buy("ESZ6", 1)
        await server_side(lambda: len(rig.server_commands(ticket.cl_ord_id)) == 1)
        await sim.faults.drop_connections("trading")
        await unknown(rig, ticket)
        sim.faults.silent = False
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN)
        assert ticket.state is TicketState.ACKED
        (command,) = rig.server_commands(ticket.cl_ord_id)
        assert ticket.order_id == command.order_id
        found = rig.account.order_by_cl_ord_id(ticket.cl_ord_id)
        assert found is not None
        assert found.id == command.order_id
        assert rig.trading.snapshots >= 2
        assert new_commands(rig) == [ticket.cl_ord_id]  # never re-sent
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)
        assert rig.orders.blocked(ticket.contract_id) is None
        await rig.until(lambda: rig.trading.ready)
        again = rig.ctx.buy("ESZ6", 1)
        assert again.state is TicketState.PENDING


async def test_socket_dropped_before_execution_is_not_placed() -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=7, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        sim.faults.response_delay = 0.5  # the request waits on the server …
        ticket = rig.ctx.buy("ESZ6", 1)
        await asyncio.sleep(0.05)  # … is read there (if not yet, it dies unread: same end)
        sim.faults.silent = True
        await sim.faults.drop_connections("trading")  # … and dies with the socket
        await unknown(rig, ticket)
        sim.faults.response_delay = 0.0
        sim.faults.silent = False
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN)
        assert ticket.state is TicketState.NOT_PLACED
        assert "no command with its clOrdId" in ticket.reason
        await asyncio.sleep(0.6)  # past the original delay: it was never executed
        assert rig.server_commands(ticket.cl_ord_id) == []
        await rig.until(lambda: rig.trading.ready)
        retry = rig.ctx.buy("ESZ6", 1, trigger="the strategy decides again")
        await rig.until(lambda: retry.state is TicketState.ACKED)
        assert new_commands(rig) == [retry.cl_ord_id]
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)


async def test_answer_delayed_past_the_timeout_is_acked_when_the_order_shows_up() -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=8, clock=open_clock()) as sim, \
            SimRig(sim, gateway_timeout=0.3, drop_on_timeout=False) as rig:
        sim.faults.response_delay = 1.0
        ticket = rig.ctx.buy("ESZ6", 1)
        await unknown(rig, ticket)
        assert "RequestTimeout" in ticket.reason
        sim.faults.response_delay = 0.0
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN)
        assert ticket.state is TicketState.ACKED  # from the command's props event
        assert ticket.order_id is not None
        assert rig.trading.snapshots == 1  # settled without a reconnect
        await sim.faults.drop_connections("trading")
        await rig.until(lambda: rig.trading.snapshots == 2)
        assert ticket.state is TicketState.ACKED
        assert new_commands(rig) == [ticket.cl_ord_id]
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)


async def test_timeout_drops_the_socket_and_the_snapshot_settles_not_placed() -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=9, clock=open_clock()) as sim, \
            SimRig(sim, gateway_timeout=0.3) as rig:
        sim.faults.response_delay = 1.0
        ticket = rig.ctx.buy("ESZ6", 1)
        await rig.until(lambda: ticket.state is TicketState.UNKNOWN)
        sim.faults.response_delay = 0.0
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN)
        assert ticket.state is TicketState.NOT_PLACED
        assert rig.gateway.timeouts == 1
        assert rig.trading.snapshots == 2  # the untrusted socket was replaced
        await asyncio.sleep(1.1)  # past the delay: the dropped request never ran
        assert new_commands(rig) == []
        await rig.until(lambda: rig.trading.ready)
        retry = rig.ctx.buy("ESZ6", 1)
        await rig.until(lambda: retry.state is TicketState.ACKED)
        assert new_commands(rig) == [retry.cl_ord_id]
