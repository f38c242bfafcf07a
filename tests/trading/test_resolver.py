"""Lost answers are settled only by positive evidence: the account data showing the order, or
the server's complete order list read after the grace period not showing it. The resolver runs
for real here (its own task, real sleeps); the "server" it reads is the in-process exchange's
own command list, and the answers are lost by a gateway between the order manager and the
exchange — after execution, or before it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import pytest
from trading_helpers import RESOLVER_GRACE as GRACE
from trading_helpers import Harness, resolving, until

from tradovate_api.alerts import Severity
from tradovate_api.errors import ConnectionLost, ErrorResponse, ProtocolError
from tradovate_api.orders import OrderTicket, TicketKind, TicketState
from tradovate_api.protocol.models import Command, CommandReport, OrderStrategy, PlaceOrder
from tradovate_api.settings import Risk
from tradovate_api.strategy import Strategy


class ExchangeCommands:
    """The exchange's own ``command/list`` and ``commandReport/ldeps``; ``fail`` makes the
    next reads fail like an unreachable server."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.fail = 0
        self.reads: list[int] = []
        """``perf_counter_ns`` when each read started."""

    async def commands(self) -> Sequence[Command]:
        self.reads.append(time.perf_counter_ns())
        await asyncio.sleep(0)
        if self.fail:
            self.fail -= 1
            raise ConnectionLost("command/list: the server is unreachable")
        return [c for c in self.h.exchange.entities("command", self.h.user_id)
                if isinstance(c, Command)]

    async def reports(self, command_ids: Sequence[int]) -> Sequence[CommandReport]:
        return [r for r in self.h.exchange.entities("commandReport", self.h.user_id)
                if isinstance(r, CommandReport) and r.command_id in command_ids]

    async def strategies(self) -> Sequence[OrderStrategy]:
        return [s for s in self.h.exchange.entities("orderStrategy", self.h.user_id)
                if isinstance(s, OrderStrategy)]


def harness(**limits: object) -> Harness:
    risk = Risk(max_position=10, max_order_qty=10, max_orders_per_second=1000.0,
                max_daily_loss=1_000_000.0, **limits)  # type: ignore[arg-type]
    h = Harness(Strategy(), risk=risk, losing=True)
    h.set_book("ESZ6", [(5000.00, 50)], [(5000.25, 50)], 5000.0)
    h.start()
    return h


async def lost_buy(h: Harness, *, executed: bool, error: Exception | None = None
                   ) -> OrderTicket:
    h.losing.lose(executed=executed, error=error)  # type: ignore[arg-type]
    ticket = h.ctx.buy("ESZ6", 1)
    await asyncio.sleep(0)
    assert ticket.state is TicketState.UNKNOWN
    assert h.orders.blocked(ticket.contract_id) is ticket
    return ticket


async def test_a_reconnect_snapshot_without_the_order_does_not_settle_it() -> None:
    h = harness()
    ticket = await lost_buy(h, executed=False)
    h.sync()  # a later connection's snapshot: the order is not (yet) in it
    assert ticket.state is TicketState.UNKNOWN  # the exchange may still execute it
    retry = h.ctx.buy("ESZ6", 1)
    assert retry.state is TicketState.REFUSED
    assert retry.reason.startswith(f"blocked: the outcome of place {ticket.cl_ord_id}")
    # It executes now, after the snapshot: the account data settle it, once.
    body = PlaceOrder(action="Buy", symbol="ESZ6", order_qty=1, order_type="Market",
                      account_id=h.account_id, cl_ord_id=ticket.cl_ord_id, is_automated=True)
    h.execute(h.exchange.place_order(h.user_id, body)[1])
    await h.settle()
    assert ticket.state is TicketState.ACKED
    assert h.ctx.position("ESZ6") == 1


@pytest.mark.parametrize("error", [ErrorResponse(503, "Service Unavailable"),
                                   ProtocolError("the answer's body was cut short"),
                                   ConnectionLost("the socket died")],
                         ids=["5xx", "cut body", "socket death"])
async def test_an_order_the_exchange_never_executed_is_not_placed_after_the_grace(
        error: Exception) -> None:
    h = harness()
    server = ExchangeCommands(h)
    ticket = await lost_buy(h, executed=False, error=error)
    async with resolving(h, server):
        await until(lambda: ticket.state is not TicketState.UNKNOWN)
    assert ticket.state is TicketState.NOT_PLACED
    assert "order list" in ticket.reason
    assert server.reads[0] - ticket.sent_ns >= GRACE * 1e9  # never before the grace
    assert h.orders.blocked(ticket.contract_id) is None
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING  # the strategy may go again
    await h.settle()
    assert h.ctx.position("ESZ6") == 1


@pytest.mark.parametrize("error", [ErrorResponse(502, "Bad Gateway"),
                                   ProtocolError("unreadable body")], ids=["5xx", "cut body"])
async def test_an_executed_order_is_acked_from_the_list_while_the_account_data_lag(
        error: Exception) -> None:
    h = harness()
    server = ExchangeCommands(h)
    ticket = await lost_buy(h, executed=True, error=error)
    (command,) = [c for c in await server.commands() if c.cl_ord_id == ticket.cl_ord_id]
    server.reads.clear()
    async with resolving(h, server):  # the account events have not arrived (not settled)
        await until(lambda: ticket.state is not TicketState.UNKNOWN)
    assert ticket.state is TicketState.ACKED
    assert ticket.order_id == command.order_id
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING
    await h.settle()
    assert h.ctx.position("ESZ6") == 2


async def test_a_command_rejected_after_acceptance_rejects_the_unknown_ticket() -> None:
    h = harness()
    server = ExchangeCommands(h)
    h.exchange.reject_next(1, "RiskCheckTimeout", after_accept=True)
    ticket = await lost_buy(h, executed=True)
    async with resolving(h, server):
        await until(lambda: ticket.state is not TicketState.UNKNOWN)
    assert ticket.state is TicketState.REJECTED
    assert "RiskCheckTimeout" in ticket.reason


async def test_failed_reads_are_retried_with_backoff() -> None:
    h = harness()
    server = ExchangeCommands(h)
    server.fail = 3
    ticket = await lost_buy(h, executed=False)
    async with resolving(h, server, backoff=0.05) as resolver:
        await until(lambda: ticket.state is not TicketState.UNKNOWN)
    assert ticket.state is TicketState.NOT_PLACED
    assert (resolver.failed_reads, resolver.reads) == (3, 1)
    gaps = [b - a for a, b in zip(server.reads, server.reads[1:], strict=False)]
    assert [g >= w * 1e9 for g, w in zip(gaps, (0.05, 0.1, 0.2), strict=True)] == [True] * 3


async def test_a_ticket_unknown_too_long_raises_one_urgent_alert() -> None:
    h = harness()
    server = ExchangeCommands(h)
    server.fail = 1_000_000
    ticket = await lost_buy(h, executed=False)
    async with resolving(h, server, backoff=0.05, max_backoff=0.05, alert_after=0.3):
        await until(lambda: any(a.key == "orders.unknown_long" for a in h.alerts.recent))
        await asyncio.sleep(0.3)
    assert ticket.state is TicketState.UNKNOWN  # never settled without evidence
    (alert,) = [a for a in h.alerts.recent if a.key == "orders.unknown_long"]
    assert alert.severity is Severity.URGENT
    assert ticket.cl_ord_id in alert.body


async def test_a_very_late_execution_is_acked_alerted_and_protected() -> None:
    h = harness(protective_stop_points=5.0)
    server = ExchangeCommands(h)
    ticket = await lost_buy(h, executed=False)
    async with resolving(h, server):
        await until(lambda: ticket.state is TicketState.NOT_PLACED)
    # Later than the grace allowed for, the exchange executes it after all.
    body = PlaceOrder(action="Buy", symbol="ESZ6", order_qty=1, order_type="Market",
                      account_id=h.account_id, cl_ord_id=ticket.cl_ord_id, is_automated=True)
    h.execute(h.exchange.place_order(h.user_id, body)[1])
    await h.settle()
    assert ticket.state is TicketState.ACKED
    assert ticket.order_id is not None
    (late,) = [a for a in h.alerts.recent if a.key == "orders.late_execution"]
    assert late.severity is Severity.URGENT
    assert h.ctx.position("ESZ6") == 1
    h.risk.evaluate()
    h.clock.now_ms += 3000
    h.risk.evaluate()
    await h.settle()
    cover = h.orders.coverage(ticket.contract_id)
    assert (cover.net_pos, cover.covered) == (1, 1)  # protected like any other position


async def test_an_unknown_liquidation_is_found_by_its_custom_tag50() -> None:
    h = harness()
    h.ctx.buy("ESZ6", 2)
    await h.settle()
    h.losing.lose(executed=True)
    (ticket,) = h.orders.flatten("ESZ6", trigger="test")
    await asyncio.sleep(0)
    assert ticket.state is TicketState.UNKNOWN
    assert h.losing.lost[-1][1].custom_tag50 == ticket.cl_ord_id
    server = ExchangeCommands(h)
    async with resolving(h, server):  # the account data lag: the list settles it
        await until(lambda: ticket.state is not TicketState.UNKNOWN)
    assert ticket.state is TicketState.ACKED
    (command,) = [c for c in await server.commands()
                  if c.custom_tag50 == ticket.cl_ord_id and c.command_type == "New"]
    assert ticket.order_id == command.order_id


def earlier_request(h: Harness, cl_ord_id: str, seconds_ago: float,
                    kind: TicketKind = TicketKind.PLACE) -> OrderTicket:
    """A request an earlier run sent before it died, as the journal hands it over."""
    return OrderTicket(cl_ord_id=cl_ord_id, kind=kind, symbol="ESZ6",
                       contract_id=h.ctx.contract_id("ESZ6"), action="Buy", qty=1,
                       order_type="Market", state=TicketState.UNKNOWN,
                       sent_ns=time.perf_counter_ns() - int(seconds_ago * 1e9))


async def test_an_earlier_runs_request_blocks_like_a_lost_answer_until_the_list_settles_it(
        ) -> None:
    h = harness()
    server = ExchangeCommands(h)
    taken: list[TicketState] = []
    h.orders.add_listener(lambda t: taken.append(t.state) if t.inherited else None)
    ticket = earlier_request(h, "earlier-1", seconds_ago=300.0)
    assert h.orders.take_over(ticket)
    assert ticket.inherited
    assert h.orders.tickets["earlier-1"] is ticket
    assert not h.orders.take_over(earlier_request(h, "earlier-1", 300.0))  # known already
    assert not h.orders.take_over(earlier_request(h, "earlier-2", 300.0,
                                                  TicketKind.INTERRUPT))  # no client id
    assert h.orders.blocked(ticket.contract_id) is ticket
    assert h.ctx.buy("ESZ6", 1).state is TicketState.REFUSED
    async with resolving(h, server, alert_after=60.0):  # sent long ago: due at once
        await until(lambda: ticket.state is not TicketState.UNKNOWN)
    assert ticket.state is TicketState.NOT_PLACED
    assert taken == [TicketState.UNKNOWN, TicketState.NOT_PLACED]
    # Waiting counts from the take-over: no "unknown for 300 s" alert on top of the report.
    assert not [a for a in h.alerts.recent if a.key == "orders.unknown_long"]
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING


async def test_an_earlier_runs_request_executed_after_the_restart_is_acked() -> None:
    h = harness()
    ticket = earlier_request(h, "earlier-1", seconds_ago=1.0)
    assert h.orders.take_over(ticket)
    h.sync()  # this run's first snapshot does not have it
    assert ticket.state is TicketState.UNKNOWN
    body = PlaceOrder(action="Buy", symbol="ESZ6", order_qty=1, order_type="Market",
                      account_id=h.account_id, cl_ord_id="earlier-1", is_automated=True)
    h.execute(h.exchange.place_order(h.user_id, body)[1])  # executed late
    await h.settle()
    assert ticket.state is TicketState.ACKED
    assert h.orders.blocked(ticket.contract_id) is None
    assert h.ctx.position("ESZ6") == 1


async def test_an_earlier_runs_recent_request_waits_the_grace_from_when_that_run_gave_it_up(
        ) -> None:
    # Sent 0.1 s before the earlier run was killed: its socket died with it, and the exchange
    # may still execute it up to the grace after that, not after the sending.
    h = harness()
    server = ExchangeCommands(h)
    ticket = earlier_request(h, "earlier-1", seconds_ago=GRACE * 0.9)
    assert h.orders.take_over(ticket)
    async with resolving(h, server, answer_timeout=GRACE * 4):
        await until(lambda: ticket.state is not TicketState.UNKNOWN)
    assert ticket.state is TicketState.NOT_PLACED
    assert server.reads[0] - ticket.taken_over_ns >= GRACE * 1e9
