"""The order manager's ticket history is bounded: finished tickets go first, oldest first;
tickets still open (no answer yet) are never forgotten; and a history held up by open
tickets is not rescanned on every order."""

from __future__ import annotations

import pytest
from trading_helpers import LOOSE, Harness, ScriptedGateway

from tradovate_api.orders import OrderTicket, TicketState
from tradovate_api.protocol.models import PlaceOrderResult
from tradovate_api.settings import Risk
from tradovate_api.strategy import Strategy

WIDE = Risk(max_position=1_000_000, max_order_qty=10, max_orders_per_second=1e9,
            max_daily_loss=LOOSE.max_daily_loss)


def _limit(h: Harness) -> OrderTicket:
    return h.orders.place("ESZ6", "Buy", 1, order_type="Limit", price=4000.0)


async def test_finished_tickets_are_forgotten_oldest_first() -> None:
    h = Harness(Strategy(), max_tickets=10, risk=WIDE)
    placed = []
    for _ in range(40):
        placed.append(_limit(h).cl_ord_id)
        await h.settle()  # acknowledged and resting: a working order, watched
    for ticket in list(h.orders.tickets.values()):
        h.orders.cancel(ticket)
    await h.settle()
    for _ in range(30):
        placed.append(_limit(h).cl_ord_id)
        await h.settle()
        h.orders.cancel(h.orders.tickets[placed[-1]])
        await h.settle()
    kept = list(h.orders.tickets)
    assert len(kept) <= 11  # max_tickets plus a tenth of slack
    assert kept == sorted(kept, key=lambda k: int(k.rsplit("-", 1)[1]))
    assert placed[-1] in kept  # the newest survive
    kept_placements = [k for k in kept if k in set(placed)]
    assert kept_placements == placed[-len(kept_placements):]  # what went was the oldest


async def test_open_tickets_are_never_forgotten() -> None:
    gateway = ScriptedGateway()
    h = Harness(Strategy(), max_tickets=10, risk=WIDE, gateway=gateway)
    pending = [_limit(h) for _ in range(25)]
    assert all(t.state is TicketState.PENDING for t in pending)
    assert {t.cl_ord_id for t in pending} <= set(h.orders.tickets)
    for _, _, future in gateway.sent[:20]:
        future.set_result(PlaceOrderResult(order_id=None, failure_reason="UnknownReason",
                                           failure_text="no"))
    await h.settle()
    for _ in range(15):
        _limit(h)
    assert {t.cl_ord_id for t in pending[20:]} <= set(h.orders.tickets)  # still open
    assert pending[0].cl_ord_id not in h.orders.tickets  # finished ones were forgotten


async def test_a_history_of_open_tickets_is_not_rescanned_on_every_order(
        monkeypatch: pytest.MonkeyPatch) -> None:
    h = Harness(Strategy(), max_tickets=100, risk=WIDE, gateway=ScriptedGateway())
    checks = 0
    is_open = OrderTicket.is_open

    def counted(self: OrderTicket) -> bool:
        nonlocal checks
        checks += 1
        return is_open.fget(self)  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setattr(OrderTicket, "is_open", property(counted))
    for _ in range(1_000):  # all stay PENDING: nothing can be forgotten
        _limit(h)
    assert len(h.orders.tickets) == 1_000
    # A scan of every ticket on every order would be ~500,000 checks; pruning is retried
    # only after each further tenth of growth (about 90 scans here).
    assert checks < 60_000
