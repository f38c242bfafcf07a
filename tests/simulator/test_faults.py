"""Each fault switch, observed through a plain client (reference §2, §3.6, §7)."""

from __future__ import annotations

import asyncio

import aiohttp
import msgspec
import pytest
from conftest import (
    TODAY,
    FakeClock,
    authorized_socket,
    login,
    open_socket,
    rest,
    with_config,
)

from tradovate_api.protocol import Close, Messages, Response, ShutdownEvent
from tradovate_api.protocol.models import PlaceOrderResult
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock

CREDENTIALS = {"name": "sim", "password": "sim", "cid": 8, "sec": "s"}


async def token_request(http: aiohttp.ClientSession, sim: Simulator,
                        **extra: object) -> tuple[int, dict[str, object]]:
    status, body = await rest(http, sim, "auth/accesstokenrequest",
                              body={**CREDENTIALS, **extra})
    return status, body


async def test_rate_limit_is_429_with_empty_body_on_rest_and_socket(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    sim.faults.rate_limited = True
    async with http.get(f"{sim.rest_url}/account/list",
                        headers={"Authorization": f"Bearer {token}"}) as reply:
        assert reply.status == 429
        assert await reply.read() == b""
    response = await client.request("account/list")
    assert response.s == 429
    assert response.body is None
    sim.faults.rate_limited = False
    assert (await client.request("account/list")).s == 200
    await client.ws.close()


async def test_penalty_ticket_then_resend_after_p_time(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Simulator(with_config(), today=TODAY, clock=clock) as sim:
        sim.faults.penalize(30.0)
        status, body = await token_request(http, sim)
        assert status == 200
        assert set(body) == {"p-ticket", "p-time"}
        assert body["p-time"] == 30.0
        ticket = body["p-ticket"]
        status, early = await token_request(http, sim, **{"p-ticket": ticket})
        assert "p-ticket" in early  # resent too early: a new penalty
        clock.now += 31
        status, late = await token_request(http, sim, **{"p-ticket": early["p-ticket"]})
        assert "accessToken" in late


async def test_captcha_penalty_is_never_lifted_by_its_ticket(http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Simulator(with_config(), today=TODAY, clock=clock) as sim:
        sim.faults.penalize(5.0, captcha=True)
        _, body = await token_request(http, sim)
        assert body["p-captcha"] is True
        clock.now += 3600
        _, again = await token_request(http, sim, **{"p-ticket": body["p-ticket"]})
        assert again["p-captcha"] is True
        assert "accessToken" not in again


async def test_penalty_over_the_websocket(sim: Simulator, http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    sim.faults.penalize(2.0, endpoints=["order/placeorder"])
    response = await client.request("order/placeorder", {"accountId": 1, "action": "Buy",
                                                         "symbol": "ESZ6", "orderQty": 1,
                                                         "orderType": "Market"})
    assert response.s == 200
    assert msgspec.json.decode(response.d)["p-time"] == 2.0
    await client.ws.close()


@pytest.mark.parametrize("which", ["ws_url", "md_url"])
async def test_drop_cuts_without_close_frame(sim: Simulator, http: aiohttp.ClientSession,
                                             which: str) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(getattr(sim, which), token)
    assert await sim.faults.drop_connections() == 1
    frames = await client.until_closed()
    assert not [f for f in frames if isinstance(f, Close)]
    assert client.ws.close_code == 1006  # abnormal closure: no close handshake


async def test_close_frame_then_close(sim: Simulator, http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    await sim.faults.send_close(3000, "Go away!")
    frames = await client.until_closed()
    assert Close(3000, "Go away!") in frames


@pytest.mark.parametrize("reason", ["Maintenance", "ConnectionQuotaReached"])
async def test_shutdown_event_before_close(sim: Simulator, http: aiohttp.ClientSession,
                                           reason: str) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.md_url, token)
    await sim.faults.shutdown(reason, kind="md")
    frames = await client.until_closed()
    events = [m for f in frames if isinstance(f, Messages) for m in f.items
              if isinstance(m, ShutdownEvent)]
    assert [e.data.reason_code for e in events] == [reason]


async def test_new_login_over_the_session_limit_ends_the_oldest(
        http: aiohttp.ClientSession) -> None:
    async with Simulator(with_config(max_sessions=2), today=TODAY, clock=open_clock()) as sim:
        first = (await login(http, sim))["accessToken"]
        socket = await authorized_socket(sim.ws_url, first)
        await login(http, sim)
        assert (await socket.request("auth/me")).s == 200
        await login(http, sim)
        frames = await socket.until_closed()
        events = [m for f in frames if isinstance(f, Messages) for m in f.items
                  if isinstance(m, ShutdownEvent)]
        assert [e.data.reason_code for e in events] == ["ConnectionQuotaReached"]
        status, _ = await rest(http, sim, "account/list", token=first)
        assert status == 401


async def test_connection_limit_closes_the_oldest_socket(http: aiohttp.ClientSession) -> None:
    async with Simulator(with_config(max_connections=1), today=TODAY, clock=open_clock()) as sim:
        token = (await login(http, sim))["accessToken"]
        old = await authorized_socket(sim.ws_url, token)
        new = await authorized_socket(sim.md_url, token)
        frames = await old.until_closed()
        assert any(isinstance(m, ShutdownEvent) for f in frames if isinstance(f, Messages)
                   for m in f.items)
        assert (await new.request("md/subscribeQuote", {"symbol": "ESZ6"})).s == 200
        await new.ws.close()


async def test_response_delay(sim: Simulator, http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    sim.faults.response_delay = 0.4
    loop = asyncio.get_running_loop()
    start = loop.time()
    assert (await client.request("auth/me")).s == 200
    assert loop.time() - start >= 0.4
    start = loop.time()
    status, _ = await rest(http, sim, "auth/me", token=token)
    assert status == 200
    assert loop.time() - start >= 0.4
    await client.ws.close()


async def test_silent_sends_nothing_until_lifted(sim: Simulator,
                                                 http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    sim.faults.silent = True
    await client.send("auth/me\n50\n\n")
    with pytest.raises(TimeoutError):
        await client.frame(wait=0.8)  # heartbeat interval is 0.2 s: silence is the fault
    sim.faults.silent = False
    assert (await client.request("auth/me")).s == 200
    await client.ws.close()


async def test_expire_tokens_refuses_rest_but_keeps_sockets(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    assert sim.faults.expire_tokens() >= 1
    status, _ = await rest(http, sim, "account/list", token=token)
    assert status == 401
    assert (await client.request("account/list")).s == 200
    fresh = await open_socket(sim.md_url)
    assert (await fresh.authorize(token)).s == 401
    await fresh.ws.close()
    await client.ws.close()


async def test_reject_orders(sim: Simulator, http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    _, accounts = await rest(http, sim, "account/list", token=token)
    sim.faults.reject_orders(1, "TooLate")
    order = {"accountId": accounts[0]["id"], "action": "Buy", "symbol": "ESZ6",
             "orderQty": 1, "orderType": "Market", "isAutomated": True}
    _, body = await rest(http, sim, "order/placeorder", token=token, body=order)
    assert msgspec.convert(body, PlaceOrderResult).failure_reason == "TooLate"
    _, body = await rest(http, sim, "order/placeorder", token=token, body=order)
    assert msgspec.convert(body, PlaceOrderResult).order_id is not None


async def test_restart_keeps_state_and_drops_connections(sim: Simulator,
                                                         http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    _, accounts = await rest(http, sim, "account/list", token=token)
    _, placed = await rest(http, sim, "order/placeorder", token=token, body={
        "accountId": accounts[0]["id"], "action": "Buy", "symbol": "ESZ6", "orderQty": 1,
        "orderType": "Limit", "price": 100, "isAutomated": True})
    urls = (sim.rest_url, sim.ws_url, sim.md_url)
    await sim.faults.restart()
    await client.until_closed()
    assert (sim.rest_url, sim.ws_url, sim.md_url) == urls
    again = await authorized_socket(sim.ws_url, token)  # the token survived too
    response = await again.request("order/list")
    assert placed["orderId"] in [o["id"] for o in msgspec.json.decode(response.d)]
    await again.ws.close()


async def test_bad_input_never_kills_the_server(sim: Simulator,
                                                http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    for junk in ("\n\n\n", "x\ny\nz\nw", "order/placeorder\n3\n\n[1,2]",
                 "order/placeorder\n4\n\n{\"orderId\": \"x\"}", "\x00\xff", "a" * 10_000,
                 "order/modifyorder\n5\n\n{}", "contract/item\n6\nid=abc"):
        await client.send(junk)
    statuses = []
    for _ in range(8):
        frame = await client.frame()
        if isinstance(frame, Messages):
            statuses.extend(m.s for m in frame.items if isinstance(m, Response))
    assert statuses
    assert set(statuses) <= {400, 404}
    async with http.post(f"{sim.rest_url}/order/placeorder", data=b"\xff\xfe",
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"}) as reply:
        assert reply.status == 400
    assert (await client.request("auth/me")).s == 200
    await client.ws.close()
