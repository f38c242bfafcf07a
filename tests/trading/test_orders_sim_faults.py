"""Orders against the simulator's named trading faults: an order executed after the reconnect's
snapshot, a 5xx for an order never executed and for one executed, a lost liquidation answer
found by its customTag50 — each settled by positive evidence only, and never sent twice."""

from __future__ import annotations

from sim_rig import FAST_SIM, SimRig
from trading_helpers import TODAY

from tradovate_api.orders import TicketState
from tradovate_api.settings import Risk
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock

LIMITS = Risk(max_position=5, max_order_qty=5, max_orders_per_second=100.0,
              max_daily_loss=100_000.0)


async def test_an_order_executed_after_the_snapshot_blocks_until_it_appears() -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=31, clock=open_clock()) as sim, \
            SimRig(sim, risk=LIMITS) as rig:
        sim.faults.arm("late_execution", count=1, min_delay=2.0, max_delay=3.0)
        ticket = rig.ctx.buy("ESZ6", 1)
        await rig.until(lambda: ticket.state is TicketState.UNKNOWN)
        await rig.until(lambda: rig.trading.snapshots == 2 and rig.trading.ready)
        assert ticket.state is TicketState.UNKNOWN
        assert rig.ctx.buy("ESZ6", 1).state is TicketState.REFUSED
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN, limit=15)
        assert ticket.state is TicketState.ACKED
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)


async def test_a_5xx_for_an_order_never_executed_is_not_placed_without_a_reconnect() -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=32, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        sim.faults.arm("error_without_execution", count=1)
        ticket = rig.ctx.buy("ESZ6", 1)
        await rig.until(lambda: ticket.state is TicketState.UNKNOWN)
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN, limit=15)
        assert ticket.state is TicketState.NOT_PLACED
        assert rig.trading.snapshots == 1


async def test_a_5xx_after_execution_is_acked_and_a_liquidation_found_by_its_tag() -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=33, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        sim.faults.arm("error_after_execution", count=1)
        ticket = rig.ctx.buy("ESZ6", 2)
        await rig.until(lambda: ticket.state is TicketState.ACKED, limit=15)
        await rig.until(lambda: rig.ctx.position("ESZ6") == 2)
        sim.faults.arm("lost_answer", count=1)
        (flat,) = rig.ctx.flatten("ESZ6")
        await rig.until(lambda: flat.state is not TicketState.PENDING)
        await rig.until(lambda: flat.state is TicketState.ACKED, limit=15)
        assert flat.order_id is not None
        await rig.until(lambda: rig.ctx.position("ESZ6") == 0)
