"""What a paused strategy misses of its account is delivered when it resumes (issue 15,
defect 9): every fill exactly once, in arrival order, the latest state of each order,
position and ticket — from props events and from a resync snapshot alike; a hook raising
during that delivery pauses it again and nothing is delivered twice."""

from __future__ import annotations

from test_dispatch import Recorder, started
from trading_helpers import ES, quote_frame

from tradovate_api.orders import TicketState
from tradovate_api.protocol.models import PlaceOrder


def _pause(h: object, strategy: Recorder) -> None:
    strategy.fail = ("on_quote",)
    h.feed_md(quote_frame(ES.contract_id, 5000.00, 5000.25))  # type: ignore[attr-defined]
    strategy.fail = ()


async def test_fills_orders_and_positions_missed_while_paused_arrive_on_resume() -> None:
    strategy = Recorder()
    h = started(strategy)
    _pause(h, strategy)
    assert h.dispatcher.paused
    strategy.calls.clear()
    first = h.orders.place("ESZ6", "Buy", 1, trigger="while paused")
    second = h.orders.place("ESZ6", "Buy", 1, trigger="while paused")
    await h.settle()
    assert first.state is TicketState.ACKED
    assert second.state is TicketState.ACKED
    assert strategy.calls == []
    h.dispatcher.resume()
    hooks = strategy.hooks()
    fills = [a for hook, a in strategy.calls if hook == "on_fill"]
    assert [f.order.id for f in fills] == [first.order_id, second.order_id]
    orders = [a for hook, a in strategy.calls if hook == "on_order"]
    assert sorted(o.id for o in orders) == sorted([first.order_id, second.order_id])
    assert all(o.status == "Filled" for o in orders)  # the latest state, once per order
    (position,) = [a for hook, a in strategy.calls if hook == "on_position"]
    assert position.net_pos == 2
    tickets = [a for hook, a in strategy.calls if hook == "on_ticket"]
    assert tickets == [TicketState.ACKED, TicketState.ACKED]
    assert hooks.index("on_order") < hooks.index("on_fill") < hooks.index("on_position")
    # later events come normally, and nothing missed comes twice
    h.dispatcher.resume()
    third = h.orders.place("ESZ6", "Sell", 1)
    await h.settle()
    fills = [a for hook, a in strategy.calls if hook == "on_fill"]
    assert [f.order.id for f in fills] == [first.order_id, second.order_id, third.order_id]


async def test_a_fill_from_a_resync_while_paused_arrives_once_on_resume() -> None:
    strategy = Recorder()
    h = started(strategy)
    _pause(h, strategy)
    strategy.calls.clear()
    result, _ = h.exchange.place_order(h.user_id, PlaceOrder(
        action="Buy", symbol="ESZ6", order_qty=1, order_type="Market",
        account_id=h.account_id))  # executed while the trading socket was down
    h.sync()
    h.sync()
    assert strategy.calls == []
    h.dispatcher.resume()
    fills = [a for hook, a in strategy.calls if hook == "on_fill"]
    assert [f.order.id for f in fills] == [result.order_id]
    h.sync()
    assert len([a for hook, a in strategy.calls if hook == "on_fill"]) == 1


async def test_a_hook_raising_during_the_delivery_pauses_again_and_keeps_the_rest() -> None:
    strategy = Recorder()
    h = started(strategy)
    _pause(h, strategy)
    strategy.calls.clear()
    tickets = [h.orders.place("ESZ6", "Buy", 1) for _ in range(3)]
    await h.settle()
    assert h.dispatcher.missed == 3 + 3 + 1 + 3  # orders, fills, the position, tickets
    strategy.fail = ("on_fill",)
    h.dispatcher.resume()
    assert h.dispatcher.paused
    fills = [a for hook, a in strategy.calls if hook == "on_fill"]
    assert [f.order.id for f in fills] == [tickets[0].order_id]  # raised on the first
    strategy.fail = ()
    h.dispatcher.resume()
    fills = [a for hook, a in strategy.calls if hook == "on_fill"]
    assert [f.order.id for f in fills] == [t.order_id for t in tickets]
    assert not h.dispatcher.paused
