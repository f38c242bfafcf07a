"""Market hours and maintenance windows by the simulator's clock (reference §6.1, §7.3, §7.4):
a closed market does not move and refuses orders ``SessionClosed`` (cancels still work); a
maintenance window closes every socket with ``shutdown`` and answers 503 until it ends."""

from __future__ import annotations

import asyncio
import datetime as dt

import aiohttp
import msgspec
import pytest
from conftest import TODAY, FakeClock, authorized_socket, login, open_socket, rest, with_config
from websockets.exceptions import InvalidStatus

from tradovate_api.protocol import MarketDataEvent, Messages, ShutdownEvent
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import CHICAGO, is_trading

WEDNESDAY_MORNING = dt.datetime(2026, 11, 18, 9, 0, tzinfo=CHICAGO).timestamp()
SATURDAY_NOON = dt.datetime(2026, 11, 21, 12, 0, tzinfo=CHICAGO).timestamp()
WEDNESDAY_BREAK = dt.datetime(2026, 11, 18, 16, 0, 30, tzinfo=CHICAGO).timestamp()
LONG_TOKENS = with_config(token_lifetime=10 * 86_400.0)
"""Tokens outlive the clock jumps below."""


def es_order(sim: Simulator, account_id: int, **extra: object) -> dict[str, object]:
    return {"accountId": account_id, "action": "Buy", "symbol": "ESZ6", "orderQty": 1,
            "orderType": "Limit", "price": 1000.0, "isAutomated": True, **extra}


async def quotes_within(client: object, seconds: float) -> int:
    count = 0
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        try:
            frame = await client.frame(max(end - loop.time(), 0.01))  # type: ignore[attr-defined]
        except TimeoutError:
            break
        if isinstance(frame, Messages):
            count += sum(isinstance(m, MarketDataEvent) and bool(m.data.quotes)
                         for m in frame.items)
    return count


async def test_a_closed_market_does_not_move_and_refuses_orders_but_cancels_work(
        http: aiohttp.ClientSession) -> None:
    clock = FakeClock(WEDNESDAY_MORNING)
    assert is_trading(WEDNESDAY_MORNING)
    assert not is_trading(SATURDAY_NOON)
    async with Simulator(LONG_TOKENS, today=TODAY, clock=clock) as sim:
        tokens = await login(http, sim)
        token = tokens["accessToken"]
        account_id = sim.exchange.accounts_of(sim.exchange.users()[0].id)[0].id
        status, placed = await rest(http, sim, "order/placeorder", token=token,
                                    body=es_order(sim, account_id))
        assert status == 200
        order_id = placed["orderId"]
        md = await authorized_socket(sim.md_url, tokens["mdAccessToken"])
        assert (await md.request("md/subscribeQuote", {"symbol": "ESZ6"})).s == 200
        assert await quotes_within(md, 0.5) > 2  # open: the snapshot, then updates

        clock.now = SATURDAY_NOON
        await asyncio.sleep(0.1)
        es = sim.catalog.by_name("ESZ6")
        assert es is not None
        last = sim.generator.quote(es.contract_id)
        await quotes_within(md, 0.3)  # frames sent before the close may still be queued here
        assert await quotes_within(md, 0.5) == 0
        assert sim.generator.quote(es.contract_id) == last
        md.events.clear()
        again = await md.request("md/subscribeQuote", {"symbol": "ESZ6"})
        assert again.s == 200
        snapshot = await md.event(lambda m: isinstance(m, MarketDataEvent))
        assert snapshot.data.quotes == [last]  # the last snapshot, and nothing after it
        assert await quotes_within(md, 0.3) == 0

        status, refused = await rest(http, sim, "order/placeorder", token=token,
                                     body=es_order(sim, account_id))
        assert status == 200
        assert refused["failureReason"] == "SessionClosed"
        assert "orderId" not in refused
        status, modify = await rest(http, sim, "order/modifyorder", token=token, body={
            "orderId": order_id, "orderQty": 2, "orderType": "Limit", "price": 1000.0})
        assert modify["failureReason"] == "SessionClosed"
        status, cancel = await rest(http, sim, "order/cancelorder", token=token,
                                    body={"orderId": order_id})
        assert "commandId" in cancel
        assert "failureReason" not in cancel
        await md.ws.close()


async def test_the_daily_maintenance_window_closes_sockets_and_answers_503(
        http: aiohttp.ClientSession) -> None:
    clock = FakeClock(WEDNESDAY_BREAK - 60.0)
    async with Simulator(LONG_TOKENS, today=TODAY, clock=clock) as sim:
        token = (await login(http, sim))["accessToken"]
        trading = await authorized_socket(sim.ws_url, token)
        clock.now = WEDNESDAY_BREAK
        shutdown = await trading.event(lambda m: isinstance(m, ShutdownEvent))
        assert shutdown.data.reason_code == "Maintenance"
        async with http.get(f"{sim.rest_url}/account/list",
                            headers={"Authorization": f"Bearer {token}"}) as reply:
            assert reply.status == 503
            assert await reply.read() == b""
        with pytest.raises(InvalidStatus) as refused:
            await open_socket(sim.md_url)
        assert refused.value.response.status_code == 503
        clock.now = WEDNESDAY_BREAK + 3600.0  # 17:00 CT: back, and trading again
        status, _ = await rest(http, sim, "account/list", token=token)
        assert status == 200


async def test_a_maintenance_window_on_demand(http: aiohttp.ClientSession) -> None:
    clock = FakeClock(WEDNESDAY_MORNING)
    async with Simulator(LONG_TOKENS, today=TODAY, clock=clock) as sim:
        tokens = await login(http, sim)
        trading = await authorized_socket(sim.ws_url, tokens["accessToken"])
        md = await authorized_socket(sim.md_url, tokens["mdAccessToken"])
        assert await sim.maintenance(30.0) == 2
        for client in (trading, md):
            event = await client.event(lambda m: isinstance(m, ShutdownEvent))
            assert event.data.reason_code == "Maintenance"
        status, body = await rest(http, sim, "auth/accesstokenrequest",
                                  body={"name": "sim", "password": "sim"})
        assert (status, body) == (503, None)
        clock.now += 31.0
        status, body = await rest(http, sim, "auth/accesstokenrequest",
                                  body={"name": "sim", "password": "sim"})
        assert status == 200
        assert "accessToken" in body
        assert msgspec.json.decode(msgspec.json.encode(body))["accessToken"]
