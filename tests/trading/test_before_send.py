"""The order manager's write-ahead hook: called with the ticket right before the request is
written, for every kind of request; a reason it returns refuses the request unsent."""

from __future__ import annotations

from pathlib import Path

from trading_helpers import Harness, ScriptedGateway

from tradovate_api.journal import Journal, read_intents
from tradovate_api.orders import OrderTicket, TicketKind, TicketState
from tradovate_api.orders.tickets import set_order_id
from tradovate_api.strategy import Strategy


async def test_the_hook_runs_before_the_request_is_written() -> None:
    gateway = ScriptedGateway()
    h = Harness(Strategy(), gateway=gateway)
    seen: list[tuple[str, TicketKind, int]] = []

    def hook(ticket: OrderTicket) -> str | None:
        seen.append((ticket.cl_ord_id, ticket.kind, len(gateway.sent)))
        return None

    h.orders.set_before_send(hook)
    h.sync()
    placed = h.orders.place("ESZ6", "Buy", 1, order_type="Limit", price=4990.0)
    set_order_id(placed, 77)  # as if acknowledged: the cancel needs an order id
    h.orders.cancel(placed)
    assert seen == [(placed.cl_ord_id, TicketKind.PLACE, 0), ("test-2", TicketKind.CANCEL, 1)]
    assert gateway.endpoints() == ["order/placeorder", "order/cancelorder"]


async def test_a_refusal_of_the_hook_refuses_the_request_unsent() -> None:
    gateway = ScriptedGateway()
    h = Harness(Strategy(), gateway=gateway)
    h.orders.set_before_send(lambda t: "journal cannot write (disk full)")
    h.sync()
    ticket = h.orders.place("ESZ6", "Buy", 1)
    assert ticket.state is TicketState.REFUSED
    assert ticket.reason == "journal cannot write (disk full)"
    assert gateway.sent == []
    assert h.orders.pending() == ()


async def test_with_the_journal_every_sent_request_is_written_ahead(tmp_path: Path) -> None:
    h = Harness(Strategy())
    journal = Journal(tmp_path / "journal.db")
    h.orders.set_before_send(journal.before_send)
    h.set_book("ESZ6", [(4999.75, 10)], [(5000.0, 10)])
    h.sync()
    sent = [h.orders.place("ESZ6", "Buy", 1, order_type="Limit", price=4990.0),
            h.orders.place("ESZ6", "Sell", 1, order_type="Limit", price=5010.0),
            h.orders.bracket("ESZ6", "Buy", 1, entry_type="Limit", price=4991.0,
                             take_profit=4995.0, stop_loss=4985.0)]
    refused = h.orders.place("ESZ6", "Buy", 0)  # refused locally: never written ahead
    assert refused.state is TicketState.REFUSED
    intents = read_intents(journal.intents_path).intents
    assert [i.cl_ord_id for i in intents] == [t.cl_ord_id for t in sent]
    assert [i.kind for i in intents] == ["PLACE", "PLACE", "OSO"]
    journal.close()
