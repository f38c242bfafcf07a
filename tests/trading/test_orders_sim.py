"""Every order method against the in-process simulator over a real TradingSession: the
server receives clOrdId and isAutomated, the ticket follows the server's answer, the account
store shows the result."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sim_rig import FAST_SIM, SimRig
from trading_helpers import TODAY

from tradovate_api.orders import OrderTicket, TicketKind, TicketState
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock

TICK = 0.25
FAR = 200 * TICK
"""Far enough from the market that the random walk does not reach it during a test."""


@pytest.fixture
async def rig() -> AsyncIterator[SimRig]:
    async with Simulator(FAST_SIM, today=TODAY, seed=5, clock=open_clock()) as sim, \
            SimRig(sim) as rig:
        yield rig


def tick_round(price: float) -> float:
    return round(round(price / TICK) * TICK, 2)


async def acked(rig: SimRig, ticket: OrderTicket) -> OrderTicket:
    assert ticket.state is TicketState.PENDING, ticket.reason
    await rig.until(lambda: ticket.state is not TicketState.PENDING)
    assert ticket.state is TicketState.ACKED, ticket.reason
    return ticket


async def status_of(rig: SimRig, order_id: int | None, status: str) -> None:
    assert order_id is not None
    await rig.until(lambda: (o := rig.account.order(order_id)) is not None
                    and o.status == status and (status != "Filled" or o.remaining == 0))


async def test_market_buy_then_sell(rig: SimRig) -> None:
    buy = await acked(rig, rig.ctx.buy("ESZ6", 1, trigger="test entry"))
    assert buy.sent_ns > 0
    assert buy.answered_ns > buy.sent_ns
    await status_of(rig, buy.order_id, "Filled")
    await rig.until(lambda: rig.ctx.position("ESZ6") == 1)
    (command,) = rig.server_commands(buy.cl_ord_id)
    assert command.is_automated is True
    assert command.order_id == buy.order_id
    state = rig.account.order_by_cl_ord_id(buy.cl_ord_id)
    assert state is not None
    assert state.id == buy.order_id
    assert state.version is not None
    assert state.version.text == "test entry"
    sell = await acked(rig, rig.ctx.sell("ESZ6", 1))
    await status_of(rig, sell.order_id, "Filled")
    await rig.until(lambda: rig.ctx.position("ESZ6") == 0)
    assert rig.server_position() == 0
    assert [s for c, s in rig.ticket_log if c == buy.cl_ord_id] == [TicketState.PENDING,
                                                                    TicketState.ACKED]


async def test_limit_order_modified_then_cancelled(rig: SimRig) -> None:
    price = tick_round(rig.mid() - FAR)
    limit = await acked(rig, rig.ctx.buy("ESZ6", 1, order_type="Limit", price=price))
    await status_of(rig, limit.order_id, "Working")
    modify = await acked(rig, rig.ctx.modify(limit, qty=2, price=price - 1.0))
    assert modify.kind is TicketKind.MODIFY
    assert modify.command_id is not None
    assert modify.order_id == limit.order_id
    assert limit.order_id is not None
    await rig.until(lambda: (o := rig.account.order(limit.order_id or 0)) is not None
                    and o.version is not None and o.version.price == price - 1.0
                    and o.version.order_qty == 2)
    (command,) = rig.server_commands(modify.cl_ord_id)
    assert command.command_type == "Modify"
    assert command.is_automated is True
    cancel = await acked(rig, rig.ctx.cancel(limit))
    assert cancel.kind is TicketKind.CANCEL
    (command,) = rig.server_commands(cancel.cl_ord_id)
    assert command.command_type == "Cancel"
    assert command.is_automated is True
    await status_of(rig, limit.order_id, "Canceled")
    again = rig.ctx.cancel(limit)
    assert again.state is TicketState.REFUSED
    assert "already Canceled" in again.reason


async def test_stop_and_stop_limit_then_cancel_all(rig: SimRig) -> None:
    mid = rig.mid()
    stop = await acked(rig, rig.ctx.sell("ESZ6", 1, order_type="Stop",
                                         stop_price=tick_round(mid - FAR)))
    stop_limit = await acked(rig, rig.ctx.buy("ESZ6", 1, order_type="StopLimit",
                                              stop_price=tick_round(mid + FAR),
                                              price=tick_round(mid + FAR + 1)))
    await status_of(rig, stop.order_id, "Working")
    await status_of(rig, stop_limit.order_id, "Working")
    cancels = rig.ctx.cancel_all("ESZ6")
    assert sorted(t.order_id or 0 for t in cancels) == sorted(
        [stop.order_id or 0, stop_limit.order_id or 0])
    await status_of(rig, stop.order_id, "Canceled")
    await status_of(rig, stop_limit.order_id, "Canceled")
    assert rig.account.open_orders(rig.account_id) == ()


async def test_bracket_then_flatten(rig: SimRig) -> None:
    mid = rig.mid()
    oso = await acked(rig, rig.ctx.bracket("ESZ6", "Buy", 1,
                                           take_profit=tick_round(mid + FAR),
                                           stop_loss=tick_round(mid - FAR), trigger="bracket"))
    assert oso.kind is TicketKind.OSO
    assert len(oso.bracket_ids) == 2
    await status_of(rig, oso.order_id, "Filled")
    for leg in oso.bracket_ids:
        await status_of(rig, leg, "Working")
    legs = {c.cl_ord_id: c for c in rig.sim.exchange.entities(
        "command", rig.sim.exchange.users()[0].id) if getattr(c, "cl_ord_id", None)}
    assert {f"{oso.cl_ord_id}-tp", f"{oso.cl_ord_id}-sl"} <= set(legs)
    await rig.until(lambda: rig.ctx.position("ESZ6") == 1)
    (liquidate,) = rig.ctx.flatten(trigger="done")
    assert liquidate.kind is TicketKind.LIQUIDATE
    assert (liquidate.action, liquidate.qty) == ("Sell", 1)
    await acked(rig, liquidate)
    await rig.until(lambda: rig.ctx.position("ESZ6") == 0)
    for leg in oso.bracket_ids:
        await status_of(rig, leg, "Canceled")
    assert rig.server_position() == 0


async def test_flatten_without_a_position_cancels_working_orders(rig: SimRig) -> None:
    limit = await acked(rig, rig.ctx.sell("ESZ6", 1, order_type="Limit",
                                          price=tick_round(rig.mid() + FAR)))
    await status_of(rig, limit.order_id, "Working")
    (cancel,) = rig.ctx.flatten("ESZ6")
    assert cancel.kind is TicketKind.CANCEL
    await status_of(rig, limit.order_id, "Canceled")


async def test_server_rejections_reject_the_ticket(rig: SimRig) -> None:
    rig.sim.faults.reject_orders(1, "MaxPosLimitReached")
    refused = rig.ctx.buy("ESZ6", 1)
    await rig.until(lambda: refused.state is not TicketState.PENDING)
    assert refused.state is TicketState.REJECTED
    assert refused.reason.startswith("MaxPosLimitReached: ")
    assert "orders.rejected" in [a.key for a in rig.alerts.recent]
    rig.sim.faults.reject_orders(1, "RiskCheckTimeout", after_accept=True)
    late = rig.ctx.buy("ESZ6", 1)
    await rig.until(lambda: late.state is TicketState.REJECTED)
    assert late.order_id is not None
    assert late.reason.startswith("RiskCheckTimeout")
    assert rig.ctx.position("ESZ6") == 0


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"symbol": "CLZ6"}, "unknown contract 'CLZ6'"),
    ({"qty": 0}, "qty must be a positive integer"),
    ({"order_type": "Limit"}, "a Limit order needs a price"),
    ({"order_type": "Limit", "price": 5000.1}, "price 5000.1 is not on the tick grid"),
    ({"order_type": "Market", "price": 5000.0}, "a Market order takes no price"),
    ({"order_type": "Stop", "price": 5000.0}, "a Stop order takes no price"),
    ({"order_type": "Pegged"}, "order type must be one of"),
])
async def test_invalid_orders_are_refused_locally_and_never_sent(
        rig: SimRig, kwargs: dict[str, object], reason: str) -> None:
    args: dict[str, object] = {"symbol": "ESZ6", "qty": 1, **kwargs}
    ticket = rig.ctx.buy(**args)  # type: ignore[arg-type]
    assert ticket.state is TicketState.REFUSED
    assert reason in ticket.reason
    assert ticket.sent_ns == 0
    assert rig.server_commands(ticket.cl_ord_id) == []
    assert rig.orders.tickets[ticket.cl_ord_id] is ticket
