"""Orders Tradovate refuses (reference §6.1), identifiers that must survive (clOrdId,
customTag50 through a liquidation, §6.6), and order rejections drawn by the registry."""

from __future__ import annotations

import aiohttp
import msgspec
import pytest
from sim_trading_helpers import commands, open_sim, order_body, synced, until
from test_engine import ES, make_world, order

from tradovate_api.protocol.models import (
    Command,
    LiquidatePosition,
    ModifyOrder,
    PlaceOrderResult,
    PlaceOSO,
    RestrainedOrderVersion,
)


def test_gtd_without_expire_time_is_refused_everywhere() -> None:
    w = make_world()
    body = order(w, "Buy", 1, "Limit", price=4990.0, time_in_force="GTD")
    result, changes = w.exchange.place_order(w.user, body)
    assert (result.order_id, result.failure_reason, changes) == (None, "UnknownReason", [])
    assert "GTD order requires expireTime" in (result.failure_text or "")
    dated = msgspec.structs.replace(body, expire_time="2026-11-25T21:00:00.000Z")
    placed, _ = w.exchange.place_order(w.user, dated)
    assert placed.order_id is not None
    modified, _ = w.exchange.modify_order(w.user, ModifyOrder(
        order_id=placed.order_id, order_qty=1, order_type="Limit", price=4991.0,
        time_in_force="GTD"))
    assert modified.failure_reason == "UnknownReason"
    leg = RestrainedOrderVersion(action="Sell", order_type="Limit", price=5010.0,
                                 time_in_force="GTD")
    oso = PlaceOSO(action="Buy", symbol="ESZ6", order_qty=1, order_type="Market",
                   account_id=w.account, bracket1=leg)
    refused, changes = w.exchange.place_oso(w.user, oso)
    assert (refused.order_id, changes) == (None, [])
    assert "expireTime" in (refused.failure_text or "")


async def test_account_spec_only_is_refused_over_the_wire(http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        body = order_body(me.account, clOrdId="spec-only")
        del body["accountId"]
        response = await me.client.request("order/placeorder", body)
        assert response.s == 200
        result = msgspec.json.decode(response.d, type=PlaceOrderResult)
        assert (result.order_id, result.failure_reason) == (None, "UnknownReason")
        assert commands(sim, "spec-only") == []
        await me.client.ws.close()


def test_liquidation_carries_custom_tag50_onto_its_commands() -> None:
    w = make_world()
    w.exchange.place_order(w.user, order(w, "Buy", 2, cl_ord_id="entry-1",
                                         custom_tag50="intent-entry"))
    w.exchange.place_order(w.user, order(w, "Sell", 1, "Limit", price=5100.0))
    result, changes = w.exchange.liquidate_position(w.user, LiquidatePosition(
        account_id=w.account, contract_id=ES, custom_tag50="intent-flat", is_automated=True))
    assert result.order_id is not None
    made = [c.entity for c in changes if c.entity_type == "command" and c.event_type == "Created"
            and isinstance(c.entity, Command)]
    assert {c.command_type for c in made} == {"Cancel", "New"}
    assert {c.custom_tag50 for c in made} == {"intent-flat"}
    assert {c.is_automated for c in made} == {True}
    snapshot = w.exchange.sync(w.user)
    by_order = {c.order_id: c for c in snapshot.commands if c.command_type == "New"}
    assert by_order[result.order_id].custom_tag50 == "intent-flat"
    entry = [c for c in snapshot.commands if c.cl_ord_id == "entry-1"]
    assert [(c.command_type, c.custom_tag50) for c in entry] == [("New", "intent-entry")]


@pytest.mark.parametrize("after_accept", [False, True])
async def test_reject_orders_from_the_registry(http: aiohttp.ClientSession,
                                               after_accept: bool) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        sim.faults.arm("reject_orders", probability=0.5, count=3, reason="TradingLocked",
                       after_accept=after_accept)
        refused = 0
        for n in range(12):
            response = await me.client.request("order/placeorder",
                                               order_body(me.account, clOrdId=f"r{n}"))
            result = msgspec.json.decode(response.d, type=PlaceOrderResult)
            refused += result.failure_reason == "TradingLocked"
        assert sim.faults.fired["reject_orders"] == 3  # drawn at 50 %, at most 3
        if after_accept:
            assert refused == 0
            await until(lambda: sum(
                getattr(o, "ord_status", "") == "Rejected"
                for o in sim.exchange.entities("order", me.user_id)) == 3)
        else:
            assert refused == 3
        await me.client.ws.close()
