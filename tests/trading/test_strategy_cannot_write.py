"""A strategy cannot write what the framework relies on: no attribute of its context or of the
views the context hands out (private slots included) is a store, a store's state, a writer,
the order manager or a writable table; writes through views, their tables, the entities they
return and the tickets intents return all raise. The intents still work (through risk)."""

from __future__ import annotations

from collections import deque
from types import MappingProxyType
from typing import Any

import msgspec
import pytest
from trading_helpers import ES, T0, Harness, dom_frame, print_frame, quote_frame

from tradovate_api.orders.contracts import ContractBook
from tradovate_api.orders.manager import OrderManager
from tradovate_api.orders.risk import RiskManager
from tradovate_api.stores import AccountView, AccountWriter, MarketDataView, MarketDataWriter
from tradovate_api.stores.account import _AccountState
from tradovate_api.stores.market import _MarketState
from tradovate_api.stores.order_strategies import StrategyTables
from tradovate_api.strategy import OrdersView, Strategy, StrategyAPI, TicketState
from tradovate_api.strategy.context import StrategyContext

FORBIDDEN = (_AccountState, _MarketState, AccountWriter, MarketDataWriter, OrderManager,
             RiskManager, StrategyTables, dict, list, set, deque, bytearray)
"""Objects a strategy must not reach: the stores' state and writers, the order manager, risk,
and any writable container."""
VIEWS = (AccountView, MarketDataView, OrdersView, ContractBook)
INTENTS = ("_place", "_bracket", "_oco", "_bracket_strategy", "_interrupt_strategy", "_modify",
           "_cancel", "_cancel_all", "_flatten")
"""The context's private slots holding the order manager's intent methods (bound methods:
calling them is the API; their ``__self__`` is Python's reflection, not an attribute)."""


class Quiet(Strategy):
    pass


def slots(obj: object) -> dict[str, Any]:
    names = [n for cls in type(obj).__mro__ for n in getattr(cls, "__slots__", ())]
    values = {n: getattr(obj, n) for n in names if hasattr(obj, n)}
    values.update(getattr(obj, "__dict__", {}))
    return values


def reachable(ctx: StrategyContext) -> list[tuple[str, object]]:
    """Every attribute value of the context and, recursively, of the views it exposes."""
    found: list[tuple[str, object]] = []
    todo: list[tuple[str, object]] = [("ctx", ctx)]
    seen: set[int] = set()
    while todo:
        path, obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        for name, value in slots(obj).items():
            found.append((f"{path}.{name}", value))
            if isinstance(value, VIEWS):
                todo.append((f"{path}.{name}", value))
    return found


async def running() -> Harness:
    h = Harness(Quiet())
    h.start()
    es = ES.contract_id
    h.feed_md(quote_frame(es, 5000.00, 5000.25))
    h.feed_md(dom_frame(es, [(5000.00, 5)], [(5000.25, 7)]))
    h.feed_md(print_frame(es, (1, T0, 5000.25, 2, "Buy")))
    h.set_book("ESZ6", [(5000.00, 10)], [(5000.25, 10)])
    h.ctx.buy("ESZ6", 1, trigger="fill")
    h.ctx.buy("ESZ6", 1, order_type="Limit", price=4990.0, trigger="working")
    await h.settle()
    return h


async def test_no_store_state_writer_or_manager_is_reachable() -> None:
    h = await running()
    found = reachable(h.ctx)
    names = {path for path, _ in found}
    assert {"ctx.market", "ctx.account", "ctx.orders", "ctx.orders._account"} <= names
    for path, value in found:
        assert not isinstance(value, FORBIDDEN), f"{path} is a {type(value).__name__}"
        name = path.rsplit(".", 1)[1]
        if name in INTENTS:
            assert callable(value), path
            assert value.__name__ == name[1:], path  # type: ignore[attr-defined]
    for store_object in (h.orders, h.risk, h.account_writer, h.market_writer):
        assert all(value is not store_object for _, value in found)


async def test_writes_through_the_views_raise() -> None:
    h = await running()
    for _path, value in reachable(h.ctx):
        if isinstance(value, MappingProxyType):
            with pytest.raises(TypeError):
                value[0] = None  # type: ignore[index]
    for view in (h.ctx.market, h.ctx.account, h.ctx.orders, h.contracts):
        for name in slots(view):
            with pytest.raises(AttributeError):
                setattr(view, name, {})
            with pytest.raises(AttributeError):
                delattr(view, name)
        with pytest.raises(AttributeError):
            view.anything = 1  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        h.ctx.account.orders[1] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        h.ctx.market.quotes[ES.contract_id] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        h.ctx.orders.tickets["x"] = None  # type: ignore[index]


async def test_entities_and_tickets_are_frozen() -> None:
    h = await running()
    ctx = h.ctx
    working = ctx.orders.working("ESZ6")
    assert len(working) == 1
    entities: list[Any] = [ctx.market.quote(ES.contract_id), *ctx.market.trades(ES.contract_id),
                           *working, working[0].order, *ctx.account.positions.values(),
                           *ctx.account.fills(), ctx.account.pnl(ctx.account_id, ES.contract_id),
                           ctx.spec("ESZ6")]
    assert all(e is not None for e in entities)
    for entity in entities:
        field = msgspec.structs.fields(type(entity))[0].name
        with pytest.raises(AttributeError):
            setattr(entity, field, getattr(entity, field))
    book = ctx.market.dom(ES.contract_id)
    assert book is not None
    with pytest.raises(AttributeError):
        book.bids = ()  # type: ignore[misc]
    tickets = list(ctx.orders.tickets.values())
    assert [t.state for t in tickets] == [TicketState.ACKED, TicketState.ACKED]
    for ticket in tickets:
        with pytest.raises(AttributeError):
            ticket.state = TicketState.REJECTED  # type: ignore[misc]
        with pytest.raises(AttributeError):
            ticket.order_id = None  # type: ignore[misc]
    assert ctx.orders.ticket(tickets[0].cl_ord_id) is tickets[0]
    assert h.orders.tickets[tickets[0].cl_ord_id].state is TicketState.ACKED


async def test_the_context_is_the_protocol_and_intents_go_through_risk() -> None:
    h = await running()
    ctx: StrategyAPI = h.ctx
    assert isinstance(ctx.orders, OrdersView)
    assert ctx.position("ESZ6") == 1
    h.orders.halt("test halt")  # the manager's risk gate refuses every intent
    refused = ctx.place("ESZ6", "Buy", 1, trigger="after the halt")
    assert refused.state is TicketState.REFUSED
    assert not hasattr(ctx, "contracts")
    assert not hasattr(ctx, "alert_sink")
