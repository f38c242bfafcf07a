"""A modify or cancel is settled from its command's verdict — accepted, or rejected
(``RiskRejected``/``ExecutionRejected``) — and the state of the order it targets, never from
the mere existence of its command. Every order the app places carries a client order id: the
liquidation's is its ``customTag50``. Orders go to the simulator's matching engine in-process;
answers are lost after the exchange handled the request."""

from __future__ import annotations

import asyncio

from trading_helpers import Harness

from tradovate_api.orders import OrderTicket, TicketKind, TicketState
from tradovate_api.settings import Risk
from tradovate_api.strategy import Strategy


def harness() -> Harness:
    risk = Risk(max_position=10, max_order_qty=10, max_orders_per_second=1000.0,
                max_daily_loss=1_000_000.0)
    h = Harness(Strategy(), risk=risk, losing=True)
    h.set_book("ESZ6", [(5000.00, 50)], [(5000.25, 50)], 5000.0)
    h.start()
    return h


async def resting_buy(h: Harness) -> OrderTicket:
    ticket = h.ctx.buy("ESZ6", 1, order_type="Limit", price=4990.0)
    await h.settle()
    assert ticket.state is TicketState.ACKED
    return ticket


async def lost(h: Harness, send: object) -> OrderTicket:
    """Send with the answer lost after the exchange handled it; then the account events."""
    h.losing.lose(executed=True)
    ticket = send() if callable(send) else send
    assert isinstance(ticket, OrderTicket)
    await asyncio.sleep(0)
    assert ticket.state is TicketState.UNKNOWN
    await h.settle()
    return ticket


async def test_an_unknown_modify_whose_command_was_rejected_is_rejected() -> None:
    h = harness()
    order = await resting_buy(h)
    h.exchange.reject_next(1, "RiskCheckTimeout", after_accept=True)
    modify = await lost(h, lambda: h.ctx.modify(order, price=4991.0))
    assert modify.state is TicketState.REJECTED  # not ACKED: its command exists, rejected
    assert "RiskCheckTimeout" in modify.reason
    assert h.orders.blocked(modify.contract_id) is None
    state = h.account.order(order.order_id or 0)
    assert state is not None
    assert state.version is not None
    assert state.version.price == 4990.0  # indeed unchanged


async def test_an_unknown_cancel_whose_command_was_rejected_is_rejected() -> None:
    h = harness()
    order = await resting_buy(h)
    h.exchange.reject_next(1, "RiskCheckTimeout", after_accept=True)
    cancel = await lost(h, lambda: h.ctx.cancel(order))
    assert cancel.state is TicketState.REJECTED
    assert "RiskCheckTimeout" in cancel.reason
    state = h.account.order(order.order_id or 0)
    assert state is not None
    assert state.status == "Working"  # the order still works: the strategy must know


async def test_an_unknown_modify_that_took_effect_is_acked() -> None:
    h = harness()
    order = await resting_buy(h)
    modify = await lost(h, lambda: h.ctx.modify(order, price=4991.0))
    assert modify.state is TicketState.ACKED
    assert modify.command_id is not None
    cancel = await lost(h, lambda: h.ctx.cancel(order))
    assert cancel.state is TicketState.ACKED


async def test_an_answered_modify_rejected_afterwards_turns_rejected() -> None:
    h = harness()
    order = await resting_buy(h)
    h.exchange.reject_next(1, "RiskCheckTimeout", after_accept=True)
    modify = h.ctx.modify(order, price=4991.0)
    await asyncio.sleep(0)
    assert modify.state is TicketState.ACKED  # the answer carried a command id …
    await h.settle()
    assert modify.state is TicketState.REJECTED  # … whose command was then rejected
    assert [a.key for a in h.alerts.recent][-1] == "orders.rejected"


async def test_the_liquidation_carries_its_client_order_id_and_is_settled_by_it() -> None:
    h = harness()
    h.ctx.buy("ESZ6", 2)
    await h.settle()
    (flatten,) = await lost_flatten(h)
    endpoint, body = h.losing.lost[-1]
    assert endpoint == "order/liquidateposition"
    assert body.custom_tag50 == flatten.cl_ord_id
    assert flatten.state is TicketState.ACKED
    closing = h.account.order(flatten.order_id or 0)
    assert closing is not None  # found by its customTag50, not guessed from the position
    assert closing.cl_ord_id == flatten.cl_ord_id
    assert (closing.order.action, closing.filled_qty) == ("Sell", 2)
    assert h.ctx.position("ESZ6") == 0
    assert [t.kind for t in h.orders.tickets.values()][-1] is TicketKind.LIQUIDATE


async def lost_flatten(h: Harness) -> list[OrderTicket]:
    h.losing.lose(executed=True)
    tickets = h.orders.flatten("ESZ6", trigger="test")
    await asyncio.sleep(0)
    assert [t.state for t in tickets] == [TicketState.UNKNOWN]
    await h.settle()
    return tickets
