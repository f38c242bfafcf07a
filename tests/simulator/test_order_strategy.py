"""``orderStrategy/startorderstrategy`` type 2 (multibracket, reference §6.7): the strategy and
its links, the entry, target/stop OCO pairs from the entry's fills, interruption, refusals."""

from __future__ import annotations

from typing import Any

import aiohttp
import msgspec
import pytest
from sim_trading_helpers import open_sim, props_of, synced, until
from test_engine import ES, World, make_world, of, set_book, trade

from tradovate_api.protocol import EntityEvent
from tradovate_api.protocol.models import (
    CancelOrder,
    Command,
    InterruptOrderStrategy,
    Order,
    OrderStrategy,
    OrderStrategyLink,
    OrderStrategyStatusResponse,
    OrderVersion,
    StartOrderStrategy,
)
from tradovate_api.simulator.changes import EntityChange


def params(qty: int = 1, order_type: str = "Market", brackets: list[dict[str, Any]] | None = None,
           **entry: Any) -> str:
    return msgspec.json.encode({
        "entryVersion": {"orderId": 0, "orderQty": qty, "orderType": order_type,
                         "timeInForce": "Day", **entry},
        "brackets": brackets if brackets is not None else [
            {"qty": qty, "profitTarget": 5, "stopLoss": -3, "trailingStop": False}],
    }).decode()


def start(w: World, action: str = "Buy", **fields: Any
          ) -> tuple[OrderStrategyStatusResponse, list[EntityChange]]:
    values: dict[str, Any] = {"symbol": "ESZ6", "order_strategy_type_id": 2, "action": action,
                              "account_id": w.account, "is_automated": True,
                              "params": params(), **fields}
    body = StartOrderStrategy(**values)
    return w.exchange.start_order_strategy(w.user, body)


def links(changes: list[EntityChange]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for link in of(changes, "orderStrategyLink", OrderStrategyLink):
        found.setdefault(link.label, []).append(link.order_id)
    return found


def version(w: World, order_id: int) -> OrderVersion:
    versions = [v for v in w.exchange.entities("orderVersion", w.user)
                if isinstance(v, OrderVersion) and v.order_id == order_id]
    return versions[-1]


def status(w: World, order_id: int) -> str:
    order = w.exchange.item("order", order_id, w.user)
    assert isinstance(order, Order)
    return order.ord_status


def strategy_of(w: World, ident: int) -> OrderStrategy:
    found = w.exchange.item("orderStrategy", ident, w.user)
    assert isinstance(found, OrderStrategy)
    return found


def test_buy_market_entry_fills_and_places_an_oco_target_and_stop() -> None:
    w = make_world()  # offers 5000.25 x3
    result, changes = start(w, custom_tag50="intent-7", uuid="u-1")
    strategy = result.order_strategy
    assert strategy is not None
    assert result.failure_reason is None
    assert (strategy.status, strategy.order_strategy_type_id, strategy.action) == (
        "ActiveStrategy", 2, "Buy")
    assert (strategy.uuid, strategy.custom_tag50, strategy.account_id) == (
        "u-1", "intent-7", w.account)
    assert strategy.contract_id == ES
    labels = links(changes)
    (entry,) = labels["Entry"]
    (target,) = labels["Target"]
    (stop,) = labels["Stop"]
    assert status(w, entry) == "Filled"
    assert (version(w, target).order_type, version(w, target).price) == ("Limit", 5005.25)
    assert (version(w, stop).order_type, version(w, stop).stop_price) == ("Stop", 4997.25)
    for leg in (target, stop):
        assert version(w, leg).order_qty == 1
        assert status(w, leg) == "Working"
    target_order = w.exchange.item("order", target, w.user)
    assert isinstance(target_order, Order)
    assert (target_order.oco_id, target_order.action) == (stop, "Sell")
    tags = {c.order_id: c.custom_tag50 for c in w.exchange.entities("command", w.user)
            if isinstance(c, Command) and c.command_type == "New"}
    assert tags == {entry: "intent-7", target: "intent-7", stop: "intent-7"}
    snapshot = w.exchange.sync(w.user)
    assert [s.id for s in snapshot.order_strategies] == [strategy.id]
    assert {link.label for link in snapshot.order_strategy_links} == {"Entry", "Target",
                                                                       "Stop"}
    assert [t.name for t in snapshot.order_strategy_types] == ["multibracket"]


def test_target_fill_cancels_the_stop_and_finishes_the_strategy() -> None:
    w = make_world()
    result, changes = start(w)
    assert result.order_strategy is not None
    labels = links(changes)
    changes = w.exchange.on_market(trade(ES, 5005.25, 5))
    assert status(w, labels["Target"][0]) == "Filled"
    assert status(w, labels["Stop"][0]) == "Canceled"
    (updated,) = of(changes, "orderStrategy", OrderStrategy)
    assert updated.status == "ExecutionFinished"


def test_sell_entry_takes_the_opposite_signs_and_limit_entries_wait() -> None:
    w = make_world()
    set_book(w.books[ES], bids=[(5000.0, 5)], offers=[(5000.25, 5)], last=5000.0)
    body = params(2, "Limit", price=5002.0,
                  brackets=[{"qty": 1, "profitTarget": -4, "stopLoss": 2.5},
                            {"qty": 1, "profitTarget": -8}])
    result, changes = start(w, action="Sell", params=body)
    assert result.order_strategy is not None
    (entry,) = links(changes)["Entry"]
    assert status(w, entry) == "Working"
    assert "Target" not in links(changes)
    changes = w.exchange.on_market(trade(ES, 5002.0, 1))  # one contract fills
    labels = links(changes)
    assert [version(w, o).price for o in labels["Target"]] == [4998.0]
    assert [version(w, o).stop_price for o in labels["Stop"]] == [5004.5]
    changes = w.exchange.on_market(trade(ES, 5002.0, 1))  # the second: bracket 2, target only
    labels = links(changes)
    assert [version(w, o).price for o in labels["Target"]] == [4994.0]
    assert "Stop" not in labels


def test_offsets_are_price_points_rounded_to_the_tick() -> None:
    """Tradovate's example robot sends offsets rounded to cents (a share of a price range)."""
    w = make_world()
    body = params(brackets=[{"qty": 1, "profitTarget": 3.47, "stopLoss": -0.69,
                             "trailingStop": True}])
    _, changes = start(w, params=body)
    labels = links(changes)
    assert version(w, labels["Target"][0]).price == 5003.75  # 5000.25 + 3.47 → 5003.72
    stop = version(w, labels["Stop"][0])
    assert stop.order_type == "TrailingStop"
    assert stop.peg_difference == -0.69


@pytest.mark.parametrize(("fields", "text"), [
    ({"params": params(brackets=[{"qty": 1, "profitTarget": -5, "stopLoss": -3}])},
     "profitTarget must be positive for a Buy entry"),
    ({"params": params(brackets=[{"qty": 1, "profitTarget": 5, "stopLoss": 3}])},
     "stopLoss must be negative for a Buy entry"),
    ({"params": params(brackets=[{"qty": 1}])}, "needs a profitTarget or a stopLoss"),
    ({"params": params(2)[:-1]}, "params is not JSON"),
    ({"params": params(2, brackets=[{"qty": 1, "profitTarget": 5}])},
     "the brackets' qty add up to 1, the entry's orderQty is 2"),
    ({"params": None}, "params is required"),
    ({"order_strategy_type_id": 1}, "is not supported"),
    ({"account_id": None, "account_spec": "DEMO1"}, "accountId is required"),
    ({"params": params(timeInForce="GTD")}, "GTD order requires expireTime"),
    ({"params": params(brackets=[{"qty": 1, "profitTarget": 0.1}])}, "less than half a tick"),
])
def test_refusals(fields: dict[str, Any], text: str) -> None:
    w = make_world()
    result, changes = start(w, **fields)
    assert result.order_strategy is None
    assert text in (result.error_text or "")
    assert result.failure_reason
    assert changes == []


def test_sell_signs_are_checked_too() -> None:
    w = make_world()
    result, _ = start(w, action="Sell",
                      params=params(brackets=[{"qty": 1, "profitTarget": 5, "stopLoss": -3}]))
    assert "profitTarget must be negative for a Sell entry" in (result.error_text or "")


def test_interrupt_cancels_the_remaining_orders() -> None:
    w = make_world()
    result, changes = start(w, params=params(order_type="Limit", price=4990.0))
    strategy = result.order_strategy
    assert strategy is not None
    (entry,) = links(changes)["Entry"]
    answer, changes = w.exchange.interrupt_order_strategy(
        w.user, InterruptOrderStrategy(order_strategy_id=strategy.id))
    assert answer.order_strategy is not None
    assert answer.order_strategy.status == "StoppedByUser"
    assert status(w, entry) == "Canceled"
    assert strategy_of(w, strategy.id).status == "StoppedByUser"
    again, changes = w.exchange.interrupt_order_strategy(
        w.user, InterruptOrderStrategy(order_strategy_id=strategy.id))
    assert (again.failure_reason, changes) == ("TooLate", [])
    missing, _ = w.exchange.interrupt_order_strategy(
        w.user, InterruptOrderStrategy(order_strategy_id=123))
    assert "not found" in (missing.error_text or "")


def test_interrupt_after_the_entry_filled_cancels_the_brackets() -> None:
    w = make_world()
    result, changes = start(w)
    assert result.order_strategy is not None
    labels = links(changes)
    w.exchange.interrupt_order_strategy(
        w.user, InterruptOrderStrategy(order_strategy_id=result.order_strategy.id))
    assert status(w, labels["Target"][0]) == "Canceled"
    assert status(w, labels["Stop"][0]) == "Canceled"


def test_entry_cancelled_unfilled_and_entry_rejected() -> None:
    w = make_world()
    result, changes = start(w, params=params(order_type="Limit", price=4990.0))
    assert result.order_strategy is not None
    (entry,) = links(changes)["Entry"]
    w.exchange.cancel_order(w.user, CancelOrder(order_id=entry))
    assert strategy_of(w, result.order_strategy.id).status == "ExecutionInterrupted"
    w.exchange.reject_next(reason="MaxPosLimitReached", after_accept=True)
    result, changes = start(w)
    assert result.order_strategy is not None
    assert strategy_of(w, result.order_strategy.id).status == "ExecutionFailed"


async def test_strategy_over_the_websocket_with_props(http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        response = await me.client.request("orderStrategy/startOrderStrategy", {
            "symbol": "ESZ6", "accountId": me.account.id, "action": "Buy",
            "orderStrategyTypeId": 2, "params": params(), "customTag50": "ws-intent",
            "isAutomated": True})
        assert response.s == 200
        answer = msgspec.json.decode(response.d, type=OrderStrategyStatusResponse)
        assert answer.order_strategy is not None
        ident = answer.order_strategy.id
        created = await me.client.event(lambda m: isinstance(m, EntityEvent)
                                        and m.entity_type == "orderStrategy")
        assert created.entities[0].id == ident
        stop = await me.client.event(lambda m: isinstance(m, EntityEvent)
                                     and m.entity_type == "orderStrategyLink"
                                     and any(e.label == "Stop" for e in m.entities))
        labels = {link.label for link in props_of([stop, *me.client.events],
                                                   "orderStrategyLink")}
        assert labels == {"Entry", "Target", "Stop"}
        interrupted = await me.client.request("orderStrategy/interruptOrderStrategy",
                                              {"orderStrategyId": ident})
        assert msgspec.json.decode(interrupted.d)["orderStrategy"]["status"] == "StoppedByUser"
        await until(lambda: all(
            getattr(o, "ord_status", "") in ("Filled", "Canceled")
            for o in sim.exchange.entities("order", me.user_id)))
        again = await synced(sim, http, me.token)
        assert [s.status for s in again.snapshot.order_strategies] == ["StoppedByUser"]
        assert {c.custom_tag50 for c in again.snapshot.commands} == {"ws-intent"}
        await again.client.ws.close()
        await me.client.ws.close()
