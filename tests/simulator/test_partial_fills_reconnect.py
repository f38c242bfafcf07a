"""``partial_fills_across_reconnect``: an order fills in parts and the trading socket drops
between them; the parts after the drop are only in the next snapshot or in props after it."""

from __future__ import annotations

import aiohttp
import msgspec
from sim_trading_helpers import drain, open_sim, order_body, order_of, props_of, synced, until

from tradovate_api.protocol.models import Fill, PlaceOrderResult
from tradovate_api.simulator.engine import Exchange


def fills_of(sim_exchange: Exchange, user_id: int, order_id: int) -> list[Fill]:
    return [f for f in sim_exchange.entities("fill", user_id)
            if isinstance(f, Fill) and f.order_id == order_id]


async def test_parts_after_the_drop_come_with_the_next_connection(
        http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        sim.faults.arm("partial_fills_across_reconnect", count=1, parts=3, interval=1.5)
        response = await me.client.request("order/placeorder",
                                           order_body(me.account, orderQty=3))
        order_id = msgspec.json.decode(response.d, type=PlaceOrderResult).order_id
        assert order_id is not None
        await me.client.until_closed()  # cut after the first part
        assert me.client.ws.close_code == 1006
        first = [f for f in props_of(me.client.events, "fill") if isinstance(f, Fill)]
        assert [f.qty for f in first if f.order_id == order_id] == [1]
        user = me.user_id
        again = await synced(sim, http, me.token)
        in_snapshot = [f for f in again.snapshot.fills if f.order_id == order_id]
        assert 1 <= len(in_snapshot) < 3  # not all of it yet
        await until(lambda: order_of(sim, order_id).ord_status == "Filled", limit=8.0)
        later = [f for f in props_of(await drain(again.client, 0.3), "fill")
                 if isinstance(f, Fill) and f.order_id == order_id]
        assert {f.id for f in in_snapshot} | {f.id for f in later} == {
            f.id for f in fills_of(sim.exchange, user, order_id)}
        assert sum(f.qty for f in fills_of(sim.exchange, user, order_id)) == 3
        assert sim.faults.fired["partial_fills_across_reconnect"] == 1
        await again.client.ws.close()


async def test_an_order_of_one_contract_is_not_split(http: aiohttp.ClientSession) -> None:
    async with open_sim() as sim:
        me = await synced(sim, http)
        sim.faults.arm("partial_fills_across_reconnect", count=1)
        response = await me.client.request("order/placeorder", order_body(me.account))
        order_id = msgspec.json.decode(response.d, type=PlaceOrderResult).order_id
        assert order_id is not None
        await until(lambda: order_of(sim, order_id).ord_status == "Filled")
        assert not me.client.ws.close_code  # nothing to split: the socket stays
        assert (await me.client.request("auth/me")).s == 200
        await me.client.ws.close()
