"""The page's per-order latency breakdown: the reports' figures over the newest orders,
computed only when the tickets changed and at most once per interval, only for a page; and
what a snapshot with it costs for 1000 tickets (printed, never asserted: speed is the
benchmark's business)."""

from __future__ import annotations

import time
from pathlib import Path

import msgspec
from dashboard_helpers import served_app

from tradovate_api.dashboard.order_breakdown import OrderBreakdown
from tradovate_api.orders import OrderTicket, TicketState
from tradovate_api.orders.tickets import TicketKind
from tradovate_api.reports import latency_breakdown

US = 1_000


def ticket(index: int, send_us: int = 20, **changes: object) -> OrderTicket:
    """An order placed on a market event: every stage, ``send_us`` for the send."""
    base = (index + 1) * 10_000 * US
    made = OrderTicket(cl_ord_id=f"t-{index}", kind=TicketKind.PLACE, symbol="ESZ6",
                       contract_id=1, action="Buy", qty=1, order_type="Limit",
                       state=TicketState.ACKED, frame_ns=base, decoded_ns=base + 5 * US,
                       decided_ns=base + 9 * US, checked_ns=base + 30 * US,
                       sent_ns=base + (30 + send_us) * US,
                       answered_ns=base + (230 + send_us) * US)
    return msgspec.structs.replace(made, **changes)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_figures_are_the_reports_over_the_newest_orders() -> None:
    tickets = {t.cl_ord_id: t for t in (ticket(i, send_us=1000 if i < 5 else 20)
                                        for i in range(50))}
    breakdown = OrderBreakdown(lambda: tickets, orders=40)
    rows = breakdown.rows(0)
    expected = latency_breakdown(list(tickets.values())[-40:], histograms=False)
    assert rows == expected
    send = next(r for r in rows if r.name == "send")
    assert (send.count, send.max_us) == (40, 20.0)  # the five slow, oldest ones are out
    assert [r.name for r in rows] == ["decode", "strategy", "risk", "send", "tick_to_order",
                                      "ack"]
    assert OrderBreakdown(lambda: None).rows(0) == ()
    assert OrderBreakdown(dict).rows(0) == ()


def test_it_is_computed_only_when_the_tickets_changed_and_at_most_once_per_interval() -> None:
    tickets = {t.cl_ord_id: t for t in map(ticket, range(10))}
    clock = Clock()
    breakdown = OrderBreakdown(lambda: tickets, interval=1.0, clock=clock)
    first = breakdown.rows(0)
    assert breakdown.computed == 1
    tickets["t-9"] = ticket(9, filled_ns=(10 * 10_000 + 900) * US)  # the newest replaced
    clock.now = 0.5
    assert breakdown.rows(0) is first  # changed, but within the interval
    clock.now = 1.0
    assert "fill" in {r.name for r in breakdown.rows(0)}
    assert breakdown.computed == 2
    clock.now = 5.0
    shown = breakdown.rows(0)
    assert breakdown.rows(0) is shown  # nothing changed: shown again, however late
    assert breakdown.computed == 2
    tickets["t-3"] = ticket(3, send_us=5000)  # an older one: the caller's counter moved
    clock.now = 8.0
    assert breakdown.rows(0) is shown
    assert breakdown.computed == 2
    send = next(r for r in breakdown.rows(1) if r.name == "send")
    assert send.max_us == 5000.0
    assert breakdown.computed == 3
    tickets["t-10"] = ticket(10)  # a new order
    clock.now = 9.0
    assert next(r for r in breakdown.rows(1) if r.name == "send").count == 11
    assert breakdown.computed == 4


async def test_a_snapshot_for_a_page_carries_it_one_for_no_page_does_not(
        tmp_path: Path) -> None:
    tickets = {t.cl_ord_id: t for t in map(ticket, range(1000))}
    async with served_app(tmp_path) as served:
        builder = served.server.builder
        builder.breakdown = OrderBreakdown(lambda: tickets, interval=0.0)
        no_page = builder.build(for_page=False)
        assert no_page.breakdown == ()
        assert builder.breakdown.computed == 0
        for_page = builder.build()
        assert [r.count for r in for_page.breakdown] == [1000] * 6
        assert for_page.breakdown_orders == 1000

        def timed(runs: int, **kwargs: bool) -> float:
            began = time.perf_counter()
            for _ in range(runs):
                builder.build(**kwargs)
            return (time.perf_counter() - began) / runs * 1000

        # the breakdown due on every build: replace the newest ticket each time
        began = time.perf_counter()
        for run in range(20):
            tickets["t-999"] = ticket(999, send_us=20 + run)
            builder.build()
        computed_ms = (time.perf_counter() - began) / 20 * 1000
        assert builder.breakdown.computed == 21
        print(f"\nsnapshot build, 1000 tickets: {computed_ms:.2f} ms with the breakdown "
              f"computed, {timed(20):.2f} ms shown again, "
              f"{timed(20, for_page=False):.2f} ms for no page")
