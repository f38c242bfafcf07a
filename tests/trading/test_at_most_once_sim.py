"""At most once, against the simulator: an order whose answer is lost is never sent twice.
Its ticket goes UNKNOWN, new orders in the contract are refused meanwhile, and only positive
evidence settles it — ACKED when the account data show a command with its clOrdId, NOT_PLACED
when the server's complete order list (``command/list`` over REST), read after the grace
period, has none. A reconnect's snapshot without it proves nothing: the exchange can still
execute it. Every scenario ends with exactly one order on the server for the intent.

The rig's grace period is 1.5 s (see ``sim_rig.GRACE``) except where a test says it runs at
the shipped 10 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from sim_rig import FAST_SIM, GRACE, SimRig, server_side
from trading_helpers import TODAY

from tradovate_api.errors import ConnectionLost, ErrorResponse, ProtocolError, TradovateError
from tradovate_api.orders import LiveGateway, OrderTicket, TicketState
from tradovate_api.protocol.models import PlaceOrder, PlaceOrderResult
from tradovate_api.settings import Risk
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock


def new_commands(rig: SimRig) -> list[str]:
    """clOrdIds of every order the server created for the strategy's intents (New commands;
    the framework's own protective stops, ``-ps``, are left out)."""
    user = rig.sim.exchange.users()[0].id
    return [c.cl_ord_id or "" for c in rig.sim.exchange.entities("command", user)
            if getattr(c, "command_type", "") == "New"
            and not (c.cl_ord_id or "").endswith("-ps")]


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


async def test_an_order_executed_after_the_reconnect_snapshot_is_never_placed_twice() -> None:
    """The shipped grace (10 s). The socket dies with the request on the server; the new
    connection's snapshot does not list it; then the exchange executes it after all."""
    limits = Risk(max_position=5, max_order_qty=5, max_orders_per_second=100.0,
                  max_daily_loss=100_000.0)
    assert limits.unknown_order_grace_seconds == 10.0
    async with Simulator(FAST_SIM, today=TODAY, seed=10, clock=open_clock()) as sim, \
            SimRig(sim, risk=limits) as rig:
        sim.faults.response_delay = 0.5
        ticket = rig.ctx.buy("ESZ6", 1)
        await asyncio.sleep(0.05)
        sim.faults.silent = True
        await sim.faults.drop_connections("trading")
        await unknown(rig, ticket)
        sim.faults.response_delay = 0.0
        sim.faults.silent = False
        await rig.until(lambda: rig.trading.snapshots == 2 and rig.trading.ready)
        assert rig.account.order_by_cl_ord_id(ticket.cl_ord_id) is None  # not in the snapshot
        assert ticket.state is TicketState.UNKNOWN  # … which proves nothing
        retry = rig.ctx.buy("ESZ6", 1, trigger="the strategy decides again")
        assert retry.state is TicketState.REFUSED
        # The exchange executes the lost request now (as real Tradovate can).
        late = PlaceOrder(action="Buy", symbol="ESZ6", order_qty=1, order_type="Market",
                          account_id=rig.account_id, cl_ord_id=ticket.cl_ord_id,
                          is_automated=True)
        await rig.rest.request("order/placeorder", late, PlaceOrderResult)
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN)
        assert ticket.state is TicketState.ACKED
        assert new_commands(rig) == [ticket.cl_ord_id]  # one order for the intent
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)
        assert rig.server_position() == 1


def settled_as_the_server_did(rig: SimRig, ticket: OrderTicket) -> None:
    """The ticket's end matches the server's own records: ACKED with the one order it
    placed, or NOT_PLACED (from the order list) with none."""
    executed = rig.server_commands(ticket.cl_ord_id)
    if ticket.state is TicketState.ACKED:
        assert [c.order_id for c in executed] == [ticket.order_id]
    else:
        assert ticket.state is TicketState.NOT_PLACED
        assert "order list" in ticket.reason
        assert executed == []


async def test_socket_dropped_mid_request_is_settled_as_the_server_executed_it() -> None:
    """The socket dies while the request waits on the server (its answer held 0.5 s). The
    server may execute it at its time or drop it with the socket: either way the reconnect's
    snapshot settles nothing it does not show, and the ticket ends as the server's records
    say, never re-sent."""
    async with Simulator(FAST_SIM, today=TODAY, seed=7, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        sim.faults.response_delay = 0.5  # the request waits on the server …
        ticket = rig.ctx.buy("ESZ6", 1)
        await asyncio.sleep(0.05)  # … is read there …
        sim.faults.silent = True
        await sim.faults.drop_connections("trading")  # … and its socket dies
        await unknown(rig, ticket)
        sim.faults.response_delay = 0.0
        sim.faults.silent = False
        await rig.until(lambda: rig.trading.snapshots == 2)
        if rig.account.order_by_cl_ord_id(ticket.cl_ord_id) is None:
            assert ticket.state is TicketState.UNKNOWN  # the snapshot alone settles nothing
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN)
        await asyncio.sleep(0.6)  # past the original delay: whatever the server does is done
        settled_as_the_server_did(rig, ticket)
        assert new_commands(rig) == ([ticket.cl_ord_id] if ticket.state is TicketState.ACKED
                                     else [])
        await rig.until(lambda: rig.trading.ready)
        retry = rig.ctx.buy("ESZ6", 1, trigger="the strategy decides again")
        await rig.until(lambda: retry.state is TicketState.ACKED)
        assert retry.cl_ord_id in new_commands(rig)
        assert len(new_commands(rig)) == (2 if ticket.state is TicketState.ACKED else 1)


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


async def test_timeout_drops_the_socket_and_the_ticket_settles_as_the_server_did() -> None:
    async with Simulator(FAST_SIM, today=TODAY, seed=9, clock=open_clock()) as sim, \
            SimRig(sim, gateway_timeout=0.3) as rig:
        sim.faults.response_delay = 1.0
        ticket = rig.ctx.buy("ESZ6", 1)
        await rig.until(lambda: ticket.state is TicketState.UNKNOWN)
        sim.faults.response_delay = 0.0
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN)
        assert rig.gateway.timeouts == 1
        assert rig.trading.snapshots == 2  # the untrusted socket was replaced
        await asyncio.sleep(1.1)  # past the delay: whatever the server does is done
        settled_as_the_server_did(rig, ticket)
        await rig.until(lambda: rig.trading.ready)
        retry = rig.ctx.buy("ESZ6", 1)
        await rig.until(lambda: retry.state is TicketState.ACKED)
        assert new_commands(rig) == [c for c in (ticket.cl_ord_id, retry.cl_ord_id)
                                     if c != ticket.cl_ord_id
                                     or ticket.state is TicketState.ACKED]


async def test_a_request_the_exchange_executes_after_its_time_out_is_never_settled_not_placed(
        ) -> None:
    """The chaos soak's find. The exchange holds the request (its answer and its execution)
    a little longer than the client's time-out; the shipped grace equals the shipped time-out
    (10 s each), so a grace counted from the sending is over the moment the answer is given
    up — the server's order list, read then, does not have the request yet, and NOT_PLACED
    would invite the strategy to send it again. The rig's time-out equals its grace (as the
    shipped settings), scaled down so the test takes seconds."""
    async with Simulator(FAST_SIM, today=TODAY, seed=11, clock=open_clock()) as sim, \
            SimRig(sim, gateway_timeout=GRACE) as rig:
        sim.faults.response_delay = GRACE + 0.5  # held past the time-out, then executed
        ticket = rig.ctx.buy("ESZ6", 1)
        await rig.until(lambda: ticket.state is TicketState.UNKNOWN)
        sim.faults.response_delay = 0.0  # the order list is answered at once from now on
        await rig.until(lambda: ticket.state is TicketState.ACKED)
        await asyncio.sleep(0.6)  # past the held execution: whatever the server does is done
        assert (ticket.cl_ord_id, TicketState.NOT_PLACED) not in rig.ticket_log
        assert ticket.state is TicketState.ACKED
        assert new_commands(rig) == [ticket.cl_ord_id]
        assert "orders.late_execution" not in [a.key for a in rig.alerts.recent]


class FaultyAnswer:
    """Between the order manager and the live gateway: the next order request's answer is
    ``error`` (a 5xx, an unreadable body). With ``reach_exchange`` the request is sent and
    executed first (the error replaces its real answer); else it never leaves."""

    def __init__(self, live: LiveGateway, error: TradovateError, reach_exchange: bool) -> None:
        self.live = live
        self.error = error
        self.reach_exchange = reach_exchange
        self.armed = True

    def send(self, endpoint: str, body: Any, result_type: Any) -> asyncio.Future[Any]:
        if not self.armed:
            return self.live.send(endpoint, body, result_type)
        self.armed = False
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def answer(real: asyncio.Future[Any] | None = None) -> None:
            if real is not None and not real.cancelled():
                real.exception()  # its answer is the one replaced
            if not future.done():
                future.set_exception(self.error)

        if self.reach_exchange:
            self.live.send(endpoint, body, result_type).add_done_callback(answer)
        else:
            asyncio.get_running_loop().call_soon(answer)
        return future


def faulty(error: TradovateError, *, reach_exchange: bool
           ) -> Callable[[LiveGateway], FaultyAnswer]:
    return lambda live: FaultyAnswer(live, error, reach_exchange)


async def test_a_lost_request_never_executed_is_not_placed_only_after_the_grace() -> None:
    """The shipped grace (10 s)."""
    error = ConnectionLost("the socket died before the request left")
    limits = Risk(max_position=5, max_order_qty=5, max_orders_per_second=100.0,
                  max_daily_loss=100_000.0)
    async with Simulator(FAST_SIM, today=TODAY, seed=13, clock=open_clock()) as sim, \
            SimRig(sim, risk=limits, gateway=faulty(error, reach_exchange=False)) as rig:
        ticket = rig.ctx.buy("ESZ6", 1)
        await unknown(rig, ticket)
        await sim.faults.drop_connections("trading")
        await rig.until(lambda: rig.trading.snapshots == 2)
        assert ticket.state is TicketState.UNKNOWN  # the snapshot without it proves nothing
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN, limit=20.0)
        assert ticket.state is TicketState.NOT_PLACED
        assert "order list" in ticket.reason
        assert rig.resolver.reads >= 1
        assert rig.resolver.grace == 10.0
        assert (time.perf_counter_ns() - ticket.sent_ns) / 1e9 >= 10.0
        assert rig.server_commands(ticket.cl_ord_id) == []


async def test_a_5xx_for_an_order_never_executed_is_settled_without_a_reconnect() -> None:
    error = ErrorResponse(503, "Service Unavailable")
    async with Simulator(FAST_SIM, today=TODAY, seed=11, clock=open_clock()) as sim, \
            SimRig(sim, gateway=faulty(error, reach_exchange=False)) as rig:
        ticket = rig.ctx.buy("ESZ6", 1)
        await unknown(rig, ticket)
        await rig.until(lambda: ticket.state is not TicketState.UNKNOWN)
        assert ticket.state is TicketState.NOT_PLACED
        assert rig.trading.snapshots == 1  # no reconnect was needed
        assert rig.orders.blocked(ticket.contract_id) is None
        retry = rig.ctx.buy("ESZ6", 1)
        await rig.until(lambda: retry.state is TicketState.ACKED)
        assert new_commands(rig) == [retry.cl_ord_id]


async def test_an_unreadable_answer_for_an_executed_order_is_acked_once() -> None:
    error = ProtocolError("the answer's body was cut short")
    async with Simulator(FAST_SIM, today=TODAY, seed=12, clock=open_clock()) as sim, \
            SimRig(sim, gateway=faulty(error, reach_exchange=True)) as rig:
        ticket = rig.ctx.buy("ESZ6", 1)
        # UNKNOWN first or not (the order's events may beat the broken answer): ACKED, once.
        await rig.until(lambda: ticket.state is TicketState.ACKED)
        await rig.until(lambda: ticket.answered_ns > 0)
        assert ticket.state is TicketState.ACKED
        assert rig.trading.snapshots == 1
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)
        assert new_commands(rig) == [ticket.cl_ord_id]
