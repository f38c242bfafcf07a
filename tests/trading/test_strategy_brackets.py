"""Brackets as order strategies (``orderStrategy/startorderstrategy``, multibracket) in the
order manager: the request and its checks, risk, the ticket following its strategy (entry,
exits, rejection), protective stops stepping aside for the strategy's own stop, interrupts,
and at-most-once: a lost answer is found again by the client id the request carried
(``customTag50``, ``uuid``) in the account data or the server's lists, never re-sent.

The exchange is the simulator's matching engine in-process (``Harness``); answers are lost by
a gateway in between, after the exchange handled the request or before it saw it."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import msgspec
import pytest
from trading_helpers import ES, Harness, ScriptedGateway, resolving, until

from tradovate_api.alerts import Severity
from tradovate_api.errors import OrderRejected
from tradovate_api.journal import Journal, read_intents
from tradovate_api.orders import (
    OrderTicket,
    StrategyBracket,
    TicketKind,
    TicketState,
)
from tradovate_api.orders.order_strategy import strategy_uuid
from tradovate_api.protocol.models import (
    Command,
    CommandReport,
    OrderStrategy,
    OrderStrategyStatusResponse,
    StartOrderStrategy,
    Tick,
)
from tradovate_api.reports import build_report
from tradovate_api.settings import Risk
from tradovate_api.simulator.book import MarketUpdate
from tradovate_api.simulator.changes import EntityChange
from tradovate_api.strategy import Strategy

RISK = Risk(max_position=10, max_order_qty=10, max_orders_per_second=1000.0,
            max_daily_loss=1_000_000.0)


def harness(*, risk: Risk = RISK, gateway: Any = None, losing: bool = False) -> Harness:
    h = Harness(Strategy(), risk=risk, gateway=gateway, losing=losing)
    h.set_book("ESZ6", [(5000.00, 50)], [(5000.25, 50)], 5000.0)
    h.start()
    return h


def trade(price: float, size: float, now_ms: int = 1) -> MarketUpdate:
    tick = Tick(id=now_ms, timestamp_ms=now_ms, price_ticks=round(price / 0.25), price=price,
                size=size)
    return MarketUpdate(now_ms=now_ms, trades=[(ES.contract_id, tick)])


def server_strategies(h: Harness) -> list[OrderStrategy]:
    return [s for s in h.exchange.entities("orderStrategy", h.user_id)
            if isinstance(s, OrderStrategy)]


def buy_strategy(h: Harness, qty: int = 1, **fields: Any) -> OrderTicket:
    values: dict[str, Any] = {"target_offset": 2.5, "stop_offset": -1.25, **fields}
    return h.orders.bracket_strategy("ESZ6", "Buy", qty, **values)


# ----------------------------------------------------------------------------- the request


async def test_the_request_carries_entry_brackets_and_the_client_id_twice() -> None:
    gateway = ScriptedGateway()
    h = harness(gateway=gateway)
    ticket = buy_strategy(h, 2, entry_type="Limit", price=4990.0, trigger="why")
    assert (ticket.kind, ticket.state, ticket.action, ticket.qty) == (
        TicketKind.STRATEGY, TicketState.PENDING, "Buy", 2)
    assert ticket.brackets == (StrategyBracket(2, 2.5, -1.25),)
    ((endpoint, body, _),) = gateway.sent
    assert endpoint == "orderStrategy/startorderstrategy"
    assert isinstance(body, StartOrderStrategy)
    assert (body.symbol, body.order_strategy_type_id, body.action, body.account_id,
            body.account_spec, body.is_automated) == ("ESZ6", 2, "Buy", h.account_id, "DEMO1",
                                                      True)
    assert body.custom_tag50 == ticket.cl_ord_id
    assert body.uuid == strategy_uuid(ticket.cl_ord_id)
    assert body.params is not None
    assert msgspec.json.decode(body.params) == {
        "entryVersion": {"orderQty": 2, "orderType": "Limit", "price": 4990.0},
        "brackets": [{"qty": 2, "trailingStop": False, "profitTarget": 2.5,
                      "stopLoss": -1.25}]}


async def test_several_brackets_for_a_sell_through_the_strategy_context() -> None:
    gateway = ScriptedGateway()
    h = harness(gateway=gateway)
    ticket = h.ctx.bracket_strategy("ESZ6", "Sell", 3, brackets=[
        StrategyBracket(1, target_offset=-2.0, stop_offset=1.0),
        StrategyBracket(2, target_offset=-4.0, stop_offset=1.5, trailing_stop=True)])
    assert ticket.state is TicketState.PENDING
    ((_, body, _),) = gateway.sent
    assert msgspec.json.decode(body.params)["brackets"] == [
        {"qty": 1, "trailingStop": False, "profitTarget": -2.0, "stopLoss": 1.0},
        {"qty": 2, "trailingStop": True, "profitTarget": -4.0, "stopLoss": 1.5}]


@pytest.mark.parametrize(("action", "fields", "reason"), [
    ("Buy", {"target_offset": -2.5}, "target_offset must be positive for a Buy entry"),
    ("Buy", {"stop_offset": 1.25}, "stop_offset must be negative for a Buy entry"),
    ("Sell", {"target_offset": 2.5, "stop_offset": 1.25},
     "target_offset must be negative for a Sell entry"),
    ("Sell", {"target_offset": -2.5, "stop_offset": -1.25},
     "stop_offset must be positive for a Sell entry"),
    ("Buy", {"target_offset": 2.6}, "target_offset 2.6 is not a whole number of ticks"),
    ("Buy", {"stop_offset": -0.1}, "stop_offset -0.1 is not a whole number of ticks"),
    ("Buy", {"target_offset": None, "stop_offset": None}, "needs target_offset and/or"),
    ("Buy", {"target_offset": 0.0}, "must be a finite non-zero number"),
    ("Buy", {"stop_offset": float("nan")}, "must be a finite non-zero number"),
    ("Buy", {"target_offset": float("inf")}, "must be a finite non-zero number"),
    ("Buy", {"stop_offset": None, "trailing_stop": True}, "trailing_stop needs a stop_offset"),
    ("Buy", {"entry_type": "Limit"}, "a Limit order needs a price"),
    ("Buy", {"entry_type": "Market", "price": 4990.0}, "a Market order takes no price"),
    ("Buy", {"brackets": [StrategyBracket(1, 2.5)]}, "give either brackets or"),
    ("Buy", {"target_offset": None, "stop_offset": None,
             "brackets": [StrategyBracket(1, 2.5), StrategyBracket(2, 2.5)]},
     "the brackets' quantities add up to 3, the entry's qty is 2"),
    ("Buy", {"target_offset": None, "stop_offset": None, "brackets": []},
     "needs at least one bracket"),
    ("Buy", {"target_offset": None, "stop_offset": None,
             "brackets": [StrategyBracket(0, 2.5), StrategyBracket(2, 2.5)]},
     "bracket 1: qty must be a positive integer"),
    ("Buy", {"target_offset": None, "stop_offset": None,
             "brackets": [StrategyBracket(1, 2.5)] * 2 + [(1, 2.5, -1.0)]},
     "brackets must be StrategyBracket values"),
    ("Buy", {"trailing_stop": "yes"}, "trailing_stop must be True or False"),
    ("Buy", {"target_offset": "5"}, "must be a finite non-zero number"),
    ("Hold", {}, "action must be 'Buy' or 'Sell'"),
])
async def test_requests_the_server_would_refuse_or_misread_are_refused_unsent(
        action: str, fields: dict[str, Any], reason: str) -> None:
    gateway = ScriptedGateway()
    h = harness(gateway=gateway)
    values: dict[str, Any] = {"target_offset": 2.5, "stop_offset": -1.25, **fields}
    if action == "Sell" and "target_offset" not in fields:
        values["target_offset"] = -2.5
    ticket = h.orders.bracket_strategy("ESZ6", action, 2, **values)
    assert ticket.state is TicketState.REFUSED
    assert reason in ticket.reason
    assert gateway.sent == []


async def test_too_many_brackets_for_the_params_limit_are_refused() -> None:
    gateway = ScriptedGateway()
    h = harness(gateway=gateway)
    many = [StrategyBracket(1, 2.5, -1.25)] * 200
    ticket = h.orders.bracket_strategy("ESZ6", "Buy", 200, brackets=many)
    assert ticket.state is TicketState.REFUSED
    assert "at most 8192" in ticket.reason
    assert gateway.sent == []


async def test_an_unknown_symbol_is_refused() -> None:
    h = harness(gateway=ScriptedGateway())
    ticket = h.orders.bracket_strategy("ZZZ9", "Buy", 1, target_offset=1.0)
    assert (ticket.state, ticket.reason) == (TicketState.REFUSED, "unknown contract 'ZZZ9'")


@pytest.mark.parametrize(("action", "target", "stop"), [
    ("Buy", 0.25, -0.25), ("Buy", 12.5, None), ("Buy", None, -7.75),
    ("Sell", -0.25, 0.25), ("Sell", -3.0, 40.0), ("Sell", None, 1.0),
])
async def test_what_the_check_lets_through_the_server_accepts(
        action: str, target: float | None, stop: float | None) -> None:
    h = harness()
    ticket = h.orders.bracket_strategy("ESZ6", action, 1, entry_type="Limit",
                                       price=4990.0 if action == "Buy" else 5010.0,
                                       target_offset=target, stop_offset=stop)
    await h.settle()
    assert ticket.state is TicketState.ACKED, ticket.reason


# ----------------------------------------------------------------------------- risk


async def test_the_entry_is_risk_checked_like_any_entry() -> None:
    h = harness(risk=Risk(max_position=1, max_order_qty=5, max_orders_per_second=1000.0,
                          max_daily_loss=1_000_000.0), gateway=ScriptedGateway())
    too_big = buy_strategy(h, 2)
    assert too_big.state is TicketState.REFUSED
    assert "max_position" in too_big.reason


async def test_an_answered_strategy_counts_in_flight_until_its_entry_shows() -> None:
    gateway = ScriptedGateway()
    h = harness(risk=Risk(max_position=1, max_order_qty=5, max_orders_per_second=1000.0,
                          max_daily_loss=1_000_000.0), gateway=gateway)
    ticket = buy_strategy(h)
    strategy = OrderStrategy(id=70, account_id=h.account_id, timestamp="2026-11-18T08:26:40Z",
                             contract_id=ES.contract_id, order_strategy_type_id=2,
                             action="Buy", status="ActiveStrategy")
    gateway.sent[0][2].set_result(OrderStrategyStatusResponse(order_strategy=strategy))
    await asyncio.sleep(0)
    assert (ticket.state, ticket.strategy_id, ticket.order_id) == (TicketState.ACKED, 70, None)
    second = h.ctx.buy("ESZ6", 1)
    assert second.state is TicketState.REFUSED  # the strategy's entry may be working
    assert "max_position" in second.reason


async def test_an_answer_without_the_strategy_leaves_the_outcome_unknown() -> None:
    gateway = ScriptedGateway()
    h = harness(gateway=gateway)
    ticket = buy_strategy(h)
    gateway.sent[0][2].set_result(OrderStrategyStatusResponse())
    await asyncio.sleep(0)
    assert ticket.state is TicketState.UNKNOWN
    assert h.orders.blocked(ticket.contract_id) is ticket


# ----------------------------------------------------------------------------- following


async def test_the_entry_fills_and_the_server_places_target_and_stop_as_an_oco() -> None:
    h = harness()
    ticket = buy_strategy(h)
    await h.settle()
    assert ticket.state is TicketState.ACKED
    (strategy,) = server_strategies(h)
    assert ticket.strategy_id == strategy.id
    state = h.account.order_strategy(strategy.id)
    assert state is not None
    assert ticket.order_id == state.entry_id
    target, stop = ticket.bracket_ids
    assert state.bracket_ids == (target, stop)
    target_state, stop_state = h.account.order(target), h.account.order(stop)
    assert target_state is not None
    assert stop_state is not None
    assert target_state.version is not None
    assert stop_state.version is not None
    assert (target_state.version.order_type, target_state.version.price) == ("Limit", 5002.75)
    assert (stop_state.version.order_type, stop_state.version.stop_price) == ("Stop", 4999.0)
    assert target_state.order.oco_id == stop
    assert h.ctx.position("ESZ6") == 1
    owner = h.account.strategy_of_order(stop)
    assert owner is not None
    assert owner.id == strategy.id
    h.execute(h.exchange.on_market(trade(5002.75, 5)))  # the target fills
    await h.settle()
    assert h.ctx.position("ESZ6") == 0
    stopped = h.account.order(stop)
    assert stopped is not None
    assert stopped.status == "Canceled"
    done = h.account.order_strategy(strategy.id)
    assert done is not None
    assert done.status == "ExecutionFinished"
    assert ticket.state is TicketState.ACKED


async def test_the_report_names_the_strategys_exits_after_its_entry() -> None:
    h = harness()
    buy_strategy(h, trigger="imbalance 41%")
    await h.settle()
    h.execute(h.exchange.on_market(trade(4999.0, 5)))  # through the stop
    await h.settle()
    assert h.ctx.position("ESZ6") == 0
    data = build_report(h.account, h.market, None, h.orders.tickets.values(),
                        now_ms=h.clock())
    (line,) = data.trades
    assert (line.entry_trigger, line.exit_trigger) == (
        "imbalance 41%", "stop loss (bracket of: imbalance 41%)")


async def test_the_protective_stop_steps_aside_for_the_strategys_stop_until_interrupted(
        ) -> None:
    """Shipped protective-stop settings: the strategy's stop covers the position, so no
    protective stop is placed; once the strategy is interrupted (its stop cancelled, the
    position still open) the protective stop takes over after the grace."""
    h = harness()
    assert h.risk.limits.protective_stop == "place"
    ticket = buy_strategy(h)
    await h.settle()
    sent = h.exchange_gateway.sent
    h.clock.now_ms += 10_000  # far past protective_stop_grace_seconds
    h.risk.evaluate()
    await h.settle()
    assert [e for e, _ in sent] == ["orderStrategy/startorderstrategy"]
    cover = h.orders.coverage(ES.contract_id)
    assert (cover.net_pos, cover.covered, cover.naked) == (1, 1, 0)
    assert [s.protective for s in cover.stops] == [False]
    interrupt = h.orders.interrupt_strategy(ticket)
    await h.settle()
    assert interrupt.state is TicketState.ACKED
    assert h.ctx.position("ESZ6") == 1  # an interrupt cancels orders, never the position
    h.clock.now_ms += 1_000
    h.risk.evaluate()
    h.clock.now_ms += 10_000
    h.risk.evaluate()
    await h.settle()
    cover = h.orders.coverage(ES.contract_id)
    assert (cover.covered, [s.protective for s in cover.stops]) == (1, [True])


async def test_a_server_refusal_rejects_the_ticket() -> None:
    h = harness()
    h.exchange.reject_next(reason="MaxPosLimitReached")
    ticket = buy_strategy(h)
    await h.settle()
    assert ticket.state is TicketState.REJECTED
    assert ticket.reason.startswith("MaxPosLimitReached")
    assert server_strategies(h) == []
    assert "orders.rejected" in [a.key for a in h.alerts.recent]


async def test_an_entry_rejected_after_acceptance_rejects_the_ticket() -> None:
    h = harness()
    h.exchange.reject_next(reason="MaxPosLimitReached", after_accept=True)
    ticket = buy_strategy(h)
    await h.settle()
    assert ticket.state is TicketState.REJECTED
    assert "MaxPosLimitReached" in ticket.reason
    (strategy,) = server_strategies(h)
    assert strategy.status == "ExecutionFailed"
    assert h.ctx.position("ESZ6") == 0


# ----------------------------------------------------------------------------- interrupt


async def test_interrupt_cancels_a_resting_entry_and_is_refused_once_ended() -> None:
    h = harness()
    ticket = buy_strategy(h, entry_type="Limit", price=4990.0)
    await h.settle()
    assert ticket.state is TicketState.ACKED
    assert ticket.order_id is not None
    interrupt = h.ctx.interrupt_strategy(ticket)
    assert (interrupt.kind, interrupt.strategy_id) == (TicketKind.INTERRUPT, ticket.strategy_id)
    await h.settle()
    assert interrupt.state is TicketState.ACKED
    entry = h.account.order(ticket.order_id)
    assert entry is not None
    assert entry.status == "Canceled"
    state = h.account.order_strategy(ticket.strategy_id or 0)
    assert state is not None
    assert state.status == "StoppedByUser"
    again = h.ctx.interrupt_strategy(ticket)
    assert again.state is TicketState.REFUSED
    assert again.reason.endswith("is already StoppedByUser")


async def test_interrupt_of_an_unknown_strategy_is_rejected_by_the_server() -> None:
    h = harness()
    ticket = h.orders.interrupt_strategy(123_456)
    await h.settle()
    assert ticket.state is TicketState.REJECTED
    assert "not found" in ticket.reason


async def test_interrupt_needs_a_strategy_id_and_is_never_halted() -> None:
    gateway = ScriptedGateway()
    h = harness(gateway=gateway)
    pending = buy_strategy(h)
    assert h.orders.interrupt_strategy(pending).state is TicketState.REFUSED  # no id yet
    odd = h.orders.interrupt_strategy("77")  # type: ignore[arg-type]
    assert (odd.state, odd.reason) == (
        TicketState.REFUSED, "an order strategy is its ticket or its id (an int), got '77'")
    h.orders.halt("shutdown")
    ticket = h.orders.interrupt_strategy(77)
    assert ticket.state is TicketState.PENDING
    assert gateway.endpoints()[-1] == "orderStrategy/interruptorderstrategy"


# ----------------------------------------------------------------------------- lost answers


async def lost_strategy(h: Harness, *, executed: bool, **fields: Any) -> OrderTicket:
    h.losing.lose(executed=executed)
    ticket = buy_strategy(h, **fields)
    await asyncio.sleep(0)
    assert ticket.state is TicketState.UNKNOWN
    assert h.orders.blocked(ticket.contract_id) is ticket
    blocked = h.ctx.bracket_strategy("ESZ6", "Buy", 1, target_offset=1.0)
    assert blocked.state is TicketState.REFUSED
    assert blocked.reason.startswith(f"blocked: the outcome of strategy {ticket.cl_ord_id}")
    return ticket


async def test_a_lost_answer_is_acked_by_the_account_data_and_never_resent() -> None:
    h = harness(losing=True)
    ticket = await lost_strategy(h, executed=True)
    assert [a.severity for a in h.alerts.recent if a.key == "orders.unknown"] == [
        Severity.URGENT]
    await h.settle()
    assert ticket.state is TicketState.ACKED
    (strategy,) = server_strategies(h)
    assert ticket.strategy_id == strategy.id
    assert ticket.order_id is not None
    assert len(ticket.bracket_ids) == 2
    assert [e for e, _ in h.exchange_gateway.sent] == ["orderStrategy/startorderstrategy"]
    assert h.orders.blocked(ticket.contract_id) is None


def untag(changes: list[EntityChange], *, strategy_tag: bool) -> None:
    """The account events as a server that copies the client id onto neither the orders'
    commands nor (``strategy_tag``) the strategy's ``customTag50`` would send them."""
    for index, change in enumerate(changes):
        entity = change.entity
        if isinstance(entity, Command) or (isinstance(entity, OrderStrategy) and strategy_tag):
            changes[index] = change._replace(
                entity=msgspec.structs.replace(entity, custom_tag50=None))


@pytest.mark.parametrize("strategy_tag", [False, True], ids=["by customTag50", "by uuid"])
async def test_a_lost_answer_is_found_by_the_strategy_when_commands_carry_no_tag(
        strategy_tag: bool) -> None:
    h = harness(losing=True)
    ticket = await lost_strategy(h, executed=True)
    untag(h.exchange_gateway.changes, strategy_tag=strategy_tag)
    await h.settle()
    assert ticket.state is TicketState.ACKED
    (strategy,) = server_strategies(h)
    state = h.account.order_strategy(strategy.id)
    assert state is not None
    assert (ticket.strategy_id, ticket.order_id) == (strategy.id, state.entry_id)


class ExchangeLists:
    """The exchange's own ``command/list``, ``commandReport/ldeps`` and
    ``orderStrategy/list``; ``untagged`` serves commands without ``customTag50``."""

    def __init__(self, h: Harness, *, untagged: bool = False) -> None:
        self.h = h
        self.untagged = untagged
        self.strategy_reads = 0

    async def commands(self) -> Sequence[Command]:
        await asyncio.sleep(0)
        found = [c for c in self.h.exchange.entities("command", self.h.user_id)
                 if isinstance(c, Command)]
        if self.untagged:
            found = [msgspec.structs.replace(c, custom_tag50=None) for c in found]
        return found

    async def reports(self, command_ids: Sequence[int]) -> Sequence[CommandReport]:
        return [r for r in self.h.exchange.entities("commandReport", self.h.user_id)
                if isinstance(r, CommandReport) and r.command_id in command_ids]

    async def strategies(self) -> Sequence[OrderStrategy]:
        self.strategy_reads += 1
        return server_strategies(self.h)


@pytest.mark.parametrize("untagged", [False, True],
                         ids=["entry command tagged", "only the strategy tagged"])
async def test_the_resolver_finds_an_executed_strategy_in_the_servers_lists(
        untagged: bool) -> None:
    h = harness(losing=True)
    ticket = await lost_strategy(h, executed=True)
    h.exchange_gateway.changes.clear()  # the account data never show it (socket down)
    server = ExchangeLists(h, untagged=untagged)
    async with resolving(h, server):
        await until(lambda: ticket.state is not TicketState.UNKNOWN)
    assert ticket.state is TicketState.ACKED
    (strategy,) = server_strategies(h)
    if untagged:
        assert ticket.strategy_id == strategy.id
        assert server.strategy_reads == 1
    else:
        assert ticket.order_id is not None
        assert server.strategy_reads == 0  # the entry's command was enough


async def test_the_resolver_settles_a_strategy_never_executed_not_placed() -> None:
    h = harness(losing=True)
    ticket = await lost_strategy(h, executed=False)
    async with resolving(h, ExchangeLists(h)):
        await until(lambda: ticket.state is not TicketState.UNKNOWN)
    assert ticket.state is TicketState.NOT_PLACED
    assert "no order strategy carrying it" in ticket.reason
    assert server_strategies(h) == []
    assert h.ctx.bracket_strategy("ESZ6", "Buy", 1, target_offset=1.0).state \
        is TicketState.PENDING  # unblocked


async def test_a_strategy_executed_after_it_was_settled_not_placed_turns_acked() -> None:
    h = harness(losing=True)
    ticket = await lost_strategy(h, executed=False)
    async with resolving(h, ExchangeLists(h)):
        await until(lambda: ticket.state is not TicketState.UNKNOWN)
    assert ticket.state is TicketState.NOT_PLACED
    body = StartOrderStrategy(symbol="ESZ6", order_strategy_type_id=2, action="Buy",
                              account_id=h.account_id, params=h.losing.lost[0][1].params,
                              uuid=strategy_uuid(ticket.cl_ord_id),
                              custom_tag50=ticket.cl_ord_id, is_automated=True)
    h.execute(h.exchange.start_order_strategy(h.user_id, body)[1])  # very late execution
    await h.settle()
    assert ticket.state is TicketState.ACKED
    assert ticket.strategy_id == server_strategies(h)[0].id
    assert "orders.late_execution" in [a.key for a in h.alerts.recent]


async def test_a_lost_interrupt_answer_blocks_nothing_and_is_settled_by_the_status() -> None:
    h = harness(losing=True)
    ticket = buy_strategy(h, entry_type="Limit", price=4990.0)
    await h.settle()
    h.losing.lose(executed=True)
    interrupt = h.orders.interrupt_strategy(ticket)
    await asyncio.sleep(0)
    assert interrupt.state is TicketState.UNKNOWN
    assert [a.severity for a in h.alerts.recent if a.key == "orders.unknown"] == [
        Severity.ROUTINE]
    assert h.orders.blocked(ticket.contract_id) is None
    await h.settle()
    assert interrupt.state is TicketState.ACKED


@pytest.mark.parametrize("executed", [True, False], ids=["executed", "never executed"])
async def test_the_resolver_settles_a_lost_interrupt_by_its_strategys_status(
        executed: bool) -> None:
    """The account data never show the outcome (the socket stays down): the server's order
    strategy list does — stopped (ACKED), or still working after the grace (NOT_PLACED)."""
    h = harness(losing=True)
    ticket = buy_strategy(h, entry_type="Limit", price=4990.0)
    await h.settle()
    h.losing.lose(executed=executed)
    interrupt = h.orders.interrupt_strategy(ticket)
    await asyncio.sleep(0)
    assert interrupt.state is TicketState.UNKNOWN
    h.exchange_gateway.changes.clear()
    server = ExchangeLists(h)
    async with resolving(h, server):
        await until(lambda: interrupt.state is not TicketState.UNKNOWN)
    assert server.strategy_reads == 1
    if executed:
        assert interrupt.state is TicketState.ACKED
    else:
        assert interrupt.state is TicketState.NOT_PLACED
        assert "still working" in interrupt.reason


# ----------------------------------------------------------------------------- journal


async def test_the_write_ahead_hook_sees_strategies_and_can_refuse_them(tmp_path: Any) -> None:
    h = harness()
    journal = Journal(tmp_path / "journal.db")
    h.orders.set_before_send(journal.before_send)
    ticket = buy_strategy(h, entry_type="Limit", price=4990.0)
    await h.settle()
    interrupt = h.orders.interrupt_strategy(ticket)
    intents = read_intents(journal.intents_path).intents
    assert [(i.cl_ord_id, i.kind) for i in intents] == [
        (ticket.cl_ord_id, "STRATEGY"), (interrupt.cl_ord_id, "INTERRUPT")]
    journal.close()
    h.orders.set_before_send(lambda t: "journal cannot write (disk full)")
    refused = buy_strategy(h)
    assert (refused.state, refused.reason) == (TicketState.REFUSED,
                                              "journal cannot write (disk full)")
    assert len(server_strategies(h)) == 1


async def test_a_rejected_answer_of_the_scripted_server_reads_its_error_text() -> None:
    gateway = ScriptedGateway()
    h = harness(gateway=gateway)
    ticket = buy_strategy(h)
    gateway.sent[0][2].set_exception(OrderRejected("UnknownReason", "params is not JSON"))
    await asyncio.sleep(0)
    assert (ticket.state, ticket.reason) == (TicketState.REJECTED,
                                             "UnknownReason: params is not JSON")
