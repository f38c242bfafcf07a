"""Trading over the sockets and REST: sync snapshot, props routing, every order type
(reference §5, §6), the awkward wire and the tidy one."""

from __future__ import annotations

from typing import Any

import aiohttp
import msgspec
import pytest
from conftest import TODAY, WsClient, authorized_socket, login, rest, with_config

from tradovate_api.protocol import EntityEvent, Messages
from tradovate_api.protocol.models import (
    CommandResult,
    Order,
    PlaceOcoResult,
    PlaceOrderResult,
    PlaceOsoResult,
    SyncMessage,
)
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock


def is_props(entity_type: str, predicate: Any = None) -> Any:
    def match(message: Any) -> bool:
        return (isinstance(message, EntityEvent) and message.entity_type == entity_type
                and (predicate is None or any(predicate(e) for e in message.entities)))
    return match


async def synced(sim: Simulator, http: aiohttp.ClientSession,
                 body: Any = None) -> tuple[WsClient, dict[str, Any], SyncMessage]:
    tokens = await login(http, sim)
    client = await authorized_socket(sim.ws_url, tokens["accessToken"])
    response = await client.request("user/syncrequest",
                                    body if body is not None else {"users": [tokens["userId"]]})
    assert response.s == 200
    return client, tokens, msgspec.json.decode(response.d, type=SyncMessage)


@pytest.mark.parametrize("shape", ["users", "accounts", "split"])
async def test_sync_request_shapes(sim: Simulator, http: aiohttp.ClientSession,
                                   shape: str) -> None:
    account_id = sim.exchange.accounts_of(sim.exchange.users()[0].id)[0].id
    body = {"users": {"users": [sim.exchange.users()[0].id]},
            "accounts": {"accounts": [account_id]},
            "split": {"splitResponses": True, "entityTypes": ["account", "order", "fill"]}}
    client, _, snapshot = await synced(sim, http, body[shape])
    assert [u.name for u in snapshot.users] == ["sim"]
    assert snapshot.contract_groups
    assert [a.id for a in snapshot.accounts] == [account_id]
    if shape == "split":
        assert snapshot.cash_balances == []
    else:
        assert snapshot.cash_balances[0].amount == 50_000
        assert {c.name for c in snapshot.contracts} >= {"ESZ6", "NQZ6"}
    await client.ws.close()


async def test_rest_order_is_routed_as_props_to_synced_socket(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    client, tokens, snapshot = await synced(sim, http)
    account = snapshot.accounts[0]
    status, body = await rest(http, sim, "order/placeorder", token=tokens["accessToken"], body={
        "accountSpec": account.name, "accountId": account.id, "action": "Buy",
        "symbol": "ESZ6", "orderQty": 1, "orderType": "Market", "isAutomated": True})
    assert status == 200
    order_id = msgspec.convert(body, PlaceOrderResult).order_id
    assert order_id is not None
    created = await client.event(is_props("order", lambda o: o.id == order_id))
    assert created.event_type == "Created"
    assert isinstance(created.entities[0], Order)
    fill = await client.event(is_props("fill", lambda f: f.order_id == order_id))
    assert fill.entities[0].qty == 1
    position = await client.event(is_props("position"))
    assert position.entities[0].net_pos == 1
    await client.ws.close()


async def place(client: WsClient, account: Any, **fields: Any) -> Any:
    body = {"accountSpec": account.name, "accountId": account.id, "symbol": "ESZ6",
            "orderQty": 1, "isAutomated": True, **fields}
    response = await client.request("order/placeorder", body)
    assert response.s == 200
    return msgspec.json.decode(response.d, type=PlaceOrderResult)


async def test_every_order_type_over_the_websocket(sim: Simulator,
                                                   http: aiohttp.ClientSession) -> None:
    client, _, snapshot = await synced(sim, http)
    account = snapshot.accounts[0]
    book = sim.generator.books[sim.catalog.by_name("ESZ6").contract_id]  # type: ignore[union-attr]
    far_below = (book.best_bid or 0) - 200
    far_above = (book.best_offer or 0) + 200
    placed = {
        "Market": await place(client, account, action="Buy", orderType="Market"),
        "Limit": await place(client, account, action="Buy", orderType="Limit", price=far_below),
        "Stop": await place(client, account, action="Buy", orderType="Stop",
                            stopPrice=far_above),
        "StopLimit": await place(client, account, action="Sell", orderType="StopLimit",
                                 stopPrice=far_below, price=far_below - 1),
        "TrailingStop": await place(client, account, action="Sell", orderType="TrailingStop",
                                    pegDifference=20),
    }
    for kind, result in placed.items():
        assert result.order_id is not None, (kind, result)
        assert result.failure_reason in (None, "Success"), (kind, result)
    limit_id = placed["Limit"].order_id
    modified = await client.request("order/modifyorder", {
        "orderId": limit_id, "orderQty": 2, "orderType": "Limit", "price": far_below + 1,
        "isAutomated": True})
    command = msgspec.json.decode(modified.d, type=CommandResult)
    assert command.command_id is not None
    version = await client.event(is_props("orderVersion",
                                          lambda v: v.id == command.command_id))
    assert version.entities[0].order_qty == 2
    cancelled = await client.request("order/cancelorder", {"orderId": limit_id,
                                                           "isAutomated": True})
    assert msgspec.json.decode(cancelled.d, type=CommandResult).command_id is not None
    await client.event(is_props("order", lambda o: o.id == limit_id
                                and o.ord_status == "Canceled"))
    oco = await client.request("order/placeoco", {
        "accountSpec": account.name, "accountId": account.id, "action": "Sell",
        "symbol": "ESZ6", "orderQty": 1, "orderType": "Limit", "price": far_above,
        "isAutomated": True, "other": {"action": "Sell", "orderType": "Stop",
                                       "stopPrice": far_below}})
    oco_result = msgspec.json.decode(oco.d, type=PlaceOcoResult)
    assert oco_result.order_id is not None
    assert oco_result.oco_id is not None
    liquidated = await client.request("order/liquidateposition", {
        "accountId": account.id, "contractId": book.contract_id, "admin": False,
        "isAutomated": True})
    assert msgspec.json.decode(liquidated.d, type=PlaceOrderResult).order_id is not None
    await client.event(is_props("position", lambda p: p.net_pos == 0))
    strategy = await client.request("orderStrategy/startOrderStrategy", {
        "symbol": "ESZ6", "orderStrategyTypeId": 2, "action": "Buy"})
    refused = msgspec.json.decode(strategy.d)
    assert "params is required" in refused["errorText"]
    assert "orderStrategy" not in refused
    await client.ws.close()


async def test_oso_bracket_fills_and_arrives_as_entity_arrays(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    client, _, snapshot = await synced(sim, http)
    account = snapshot.accounts[0]
    book = sim.generator.books[sim.catalog.by_name("ESZ6").contract_id]  # type: ignore[union-attr]
    response = await client.request("order/placeoso", {
        "accountSpec": account.name, "accountId": account.id, "action": "Buy",
        "symbol": "ESZ6", "orderQty": 1, "orderType": "Market", "isAutomated": True,
        "bracket1": {"action": "Sell", "orderType": "Limit",
                     "price": (book.best_offer or 0) + 100},
        "bracket2": {"action": "Sell", "orderType": "Stop",
                     "stopPrice": (book.best_bid or 0) - 100}})
    result = msgspec.json.decode(response.d, type=PlaceOsoResult)
    assert result.oso1_id is not None
    assert result.oso2_id is not None
    created = await client.event(is_props("order", lambda o: o.id == result.oso1_id))
    ids = {o.id for o in created.entities}
    assert {result.order_id, result.oso1_id, result.oso2_id} <= ids  # one array event
    await client.event(is_props("fill", lambda f: f.order_id == result.order_id))
    frames = [f for f in client.frames if isinstance(f, Messages)]
    assert any(len(f.items) > 1 for f in frames)  # batched frames
    await client.ws.close()


async def test_tidy_wire_sends_one_message_per_frame_and_one_entity_per_event(
        http: aiohttp.ClientSession) -> None:
    async with Simulator(with_config(awkward_wire=False), today=TODAY, clock=open_clock()) as sim:
        client, _, snapshot = await synced(sim, http)
        account = snapshot.accounts[0]
        result = await place(client, account, action="Buy", orderType="Market")
        await client.event(is_props("position"))
        events = [m for f in client.frames if isinstance(f, Messages) for m in f.items]
        assert all(len(f.items) == 1 for f in client.frames if isinstance(f, Messages))
        props = [m for m in events if isinstance(m, EntityEvent)]
        assert all(len(m.entities) == 1 for m in props)
        kinds = [m.entity_type for m in props]
        assert kinds.index("order") < kinds.index("fill") < kinds.index("position")
        assert result.order_id is not None
        await client.ws.close()


async def test_other_users_changes_are_not_routed(http: aiohttp.ClientSession) -> None:
    from tradovate_api.simulator.config import UserConfig

    config = with_config(users=[UserConfig(name="a", password="a"),
                                UserConfig(name="b", password="b")])
    async with Simulator(config, today=TODAY, clock=open_clock()) as sim:
        a_tokens = await login(http, sim, "a", "a")
        b_tokens = await login(http, sim, "b", "b")
        b_socket = await authorized_socket(sim.ws_url, b_tokens["accessToken"])
        await b_socket.request("user/syncrequest", {"users": [b_tokens["userId"]]})
        _status, accounts = await rest(http, sim, "account/list", token=a_tokens["accessToken"])
        await rest(http, sim, "order/placeorder", token=a_tokens["accessToken"], body={
            "accountId": accounts[0]["id"], "action": "Buy", "symbol": "ESZ6", "orderQty": 1,
            "orderType": "Market", "isAutomated": True})
        with pytest.raises(TimeoutError):
            await b_socket.event(lambda m: isinstance(m, EntityEvent), wait=0.5)
        await b_socket.ws.close()
