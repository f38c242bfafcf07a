"""Brackets as order strategies against the simulator, over real sockets, at the shipped
protective-stop settings: the entry fills and the server works its target and stop as an OCO
pair (no protective stop beside them), interrupts, refusals and rejections, and a lost answer
to ``orderStrategy/startorderstrategy`` that ends with exactly one strategy on the server."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from sim_rig import FAST_SIM, SimRig, server_side
from trading_helpers import TODAY

from tradovate_api.orders import LiveGateway, OrderGateway, TicketState
from tradovate_api.protocol.models import Command, Order, OrderStrategy, StartOrderStrategy
from tradovate_api.settings import Risk
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock

WIDE = 25.0
"""Points from the fill to target and stop: far enough that the market does not reach them
during a test."""


def server_strategies(rig: SimRig) -> list[OrderStrategy]:
    user = rig.sim.exchange.users()[0].id
    return [s for s in rig.sim.exchange.entities("orderStrategy", user)
            if isinstance(s, OrderStrategy)]


def server_order(rig: SimRig, order_id: int) -> Order:
    found = rig.sim.exchange.item("order", order_id, rig.sim.exchange.users()[0].id)
    assert isinstance(found, Order)
    return found


def protective_commands(rig: SimRig) -> list[Command]:
    user = rig.sim.exchange.users()[0].id
    return [c for c in rig.sim.exchange.entities("command", user)
            if isinstance(c, Command) and (c.cl_ord_id or "").endswith("-ps")]


async def test_the_entry_fills_the_server_works_target_and_stop_as_an_oco_until_interrupted(
        ) -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=41, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        assert rig.limits.protective_stop == "place"  # the shipped default
        ticket = rig.ctx.bracket_strategy("ESZ6", "Buy", 1, target_offset=WIDE,
                                          stop_offset=-WIDE, trigger="test entry")
        assert ticket.state is TicketState.PENDING
        await rig.until(lambda: ticket.state is TicketState.ACKED
                        and len(ticket.bracket_ids) == 2)
        (strategy,) = server_strategies(rig)
        assert (strategy.id, strategy.custom_tag50, strategy.status) == (
            ticket.strategy_id, ticket.cl_ord_id, "ActiveStrategy")
        target, stop = ticket.bracket_ids
        assert (server_order(rig, target).oco_id, server_order(rig, stop).oco_id) == (
            stop, target)
        assert server_order(rig, target).ord_status == "Working"
        assert server_order(rig, stop).ord_status == "Working"
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)
        state = rig.account.order_strategy(strategy.id)
        assert state is not None
        assert state.bracket_ids == (target, stop)
        assert [s.id for s in rig.account.strategy_orders(strategy.id, "Stop")] == [stop]
        # Past the protective stop's grace (2 s): the strategy's stop covers the position.
        await asyncio.sleep(rig.limits.protective_stop_grace_seconds + 1.0)
        assert protective_commands(rig) == []
        cover = rig.orders.coverage(rig.contracts.contract_id("ESZ6"))
        assert (cover.net_pos, cover.covered, cover.naked) == (1, 1, 0)
        interrupt = rig.ctx.interrupt_strategy(ticket)
        await rig.until(lambda: interrupt.state is TicketState.ACKED)
        await server_side(lambda: server_strategies(rig)[0].status == "StoppedByUser")
        assert server_order(rig, target).ord_status == "Canceled"
        assert server_order(rig, stop).ord_status == "Canceled"
        assert rig.server_position() == 1  # the position stays; the protective stop takes over
        await server_side(lambda: len(protective_commands(rig)) == 1)
        rig.ctx.flatten("ESZ6")
        await rig.until(lambda: rig.ctx.position("ESZ6") == 0)


async def test_a_lost_answer_ends_with_one_strategy_on_the_server_and_the_ticket_acked(
        ) -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=42, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        sim.faults.arm("lost_answer", count=1, endpoints=["orderStrategy/startorderstrategy"])
        ticket = rig.ctx.bracket_strategy("ESZ6", "Buy", 1, target_offset=WIDE,
                                          stop_offset=-WIDE)
        await rig.until(lambda: ticket.state is TicketState.UNKNOWN)
        assert sim.faults.fired["lost_answer"] == 1
        blocked = rig.ctx.buy("ESZ6", 1)
        assert blocked.state is TicketState.REFUSED
        assert blocked.reason.startswith(f"blocked: the outcome of strategy {ticket.cl_ord_id}")
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN)
        assert ticket.state is TicketState.ACKED
        assert rig.trading.snapshots >= 2  # settled by the reconnect's snapshot
        (strategy,) = server_strategies(rig)  # exactly one: never re-sent
        assert (ticket.strategy_id, strategy.custom_tag50) == (strategy.id, ticket.cl_ord_id)
        user = sim.exchange.users()[0].id
        entries = [c for c in sim.exchange.entities("command", user)
                   if isinstance(c, Command) and c.command_type == "New"
                   and c.custom_tag50 == ticket.cl_ord_id and c.order_id == ticket.order_id]
        assert len(entries) == 1
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1 and rig.trading.ready)
        assert rig.server_position() == 1
        assert rig.orders.blocked(ticket.contract_id) is None


async def test_a_strategy_executed_after_the_reconnect_snapshot_is_acked_once() -> None:
    """The shipped grace (10 s): the socket is cut at once and the strategy executes 1-2 s
    later, after the next connection's first snapshot; the ticket stays UNKNOWN through that
    snapshot and is acknowledged by the props that follow."""
    limits = Risk(max_position=5, max_order_qty=5, max_orders_per_second=100.0,
                  max_daily_loss=100_000.0)
    assert limits.unknown_order_grace_seconds == 10.0
    async with Simulator(FAST_SIM, today=TODAY, seed=46, clock=open_clock()) as sim, \
            SimRig(sim, risk=limits) as rig:
        sim.faults.arm("late_execution", count=1, min_delay=1.0, max_delay=2.0,
                       endpoints=["orderStrategy/startorderstrategy"])
        ticket = rig.ctx.bracket_strategy("ESZ6", "Buy", 1, target_offset=WIDE,
                                          stop_offset=-WIDE)
        await rig.until(lambda: ticket.state is TicketState.UNKNOWN)
        await rig.until(lambda: rig.trading.snapshots == 2 and rig.trading.ready)
        assert ticket.state is TicketState.UNKNOWN  # not in the snapshot: proves nothing
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN, limit=15)
        assert ticket.state is TicketState.ACKED
        (strategy,) = server_strategies(rig)
        assert ticket.strategy_id == strategy.id
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)


async def test_a_strategy_the_server_never_executed_is_not_placed_from_its_lists() -> None:
    """A 5xx without execution on a healthy socket: the resolver reads the server's command
    and order strategy lists (REST) after the grace and finds neither."""
    async with Simulator(FAST_SIM, today=TODAY, seed=43, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        sim.faults.arm("error_without_execution", count=1,
                       endpoints=["orderStrategy/startorderstrategy"])
        ticket = rig.ctx.bracket_strategy("ESZ6", "Sell", 1, target_offset=-WIDE,
                                          stop_offset=WIDE)
        await rig.until(lambda: ticket.state is TicketState.UNKNOWN)
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN, limit=15)
        assert ticket.state is TicketState.NOT_PLACED
        assert "no order strategy carrying it" in ticket.reason
        assert server_strategies(rig) == []
        assert rig.trading.snapshots == 1


class WrongSigns:
    """A gateway that turns the signs of every bracket around: what the server answers a
    client whose own check missed them."""

    def __init__(self, inner: LiveGateway) -> None:
        self.inner = inner

    def send(self, endpoint: str, body: Any, result_type: Any) -> asyncio.Future[Any]:
        if isinstance(body, StartOrderStrategy) and body.params is not None:
            params = msgspec.json.decode(body.params)
            for bracket in params["brackets"]:
                for key in ("profitTarget", "stopLoss"):
                    if key in bracket:
                        bracket[key] = -bracket[key]
            body = msgspec.structs.replace(body, params=msgspec.json.encode(params).decode())
        return self.inner.send(endpoint, body, result_type)


async def test_wrong_signs_are_refused_before_sending_and_rejected_by_the_server() -> None:
    def wrong(inner: LiveGateway) -> OrderGateway:
        return WrongSigns(inner)

    async with Simulator(FAST_SIM, today=TODAY, seed=44, clock=open_clock()) as sim, \
            SimRig(sim, gateway=wrong) as rig:
        refused = rig.ctx.bracket_strategy("ESZ6", "Buy", 1, target_offset=-WIDE,
                                           stop_offset=WIDE)
        assert refused.state is TicketState.REFUSED
        assert "target_offset must be positive for a Buy entry" in refused.reason
        sent = rig.ctx.bracket_strategy("ESZ6", "Buy", 1, target_offset=WIDE,
                                        stop_offset=-WIDE)  # flipped on the way out
        await rig.until(lambda: sent.state is not TicketState.PENDING)
        assert sent.state is TicketState.REJECTED
        assert "profitTarget must be positive for a Buy entry" in sent.reason
        assert server_strategies(rig) == []
        assert rig.ctx.position("ESZ6") == 0


async def test_interrupting_a_resting_entry_cancels_it_and_opens_nothing() -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=45, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        price = rig.ctx.round_price("ESZ6", rig.mid() - 50)
        ticket = rig.ctx.bracket_strategy("ESZ6", "Buy", 2, entry_type="Limit", price=price,
                                          target_offset=WIDE, stop_offset=-WIDE)
        await rig.until(lambda: ticket.state is TicketState.ACKED
                        and ticket.order_id is not None)
        assert ticket.order_id is not None
        entry = rig.account.order(ticket.order_id)
        assert entry is not None
        assert entry.status == "Working"
        interrupt = rig.ctx.interrupt_strategy(ticket)
        await rig.until(lambda: interrupt.state is TicketState.ACKED)
        await rig.until(lambda: (rig.account.order_strategy(ticket.strategy_id or 0)
                                 is not None) and rig.account.order_strategy(
                                     ticket.strategy_id or 0).status == "StoppedByUser")
        assert server_order(rig, ticket.order_id).ord_status == "Canceled"
        assert ticket.bracket_ids == ()
        assert rig.server_position() == 0
