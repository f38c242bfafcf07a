"""Websocket life cycle of both sockets (reference §3): open, authorize, heartbeats, idle
close, error responses, correlation."""

from __future__ import annotations

import asyncio

import aiohttp
import msgspec
import pytest
from conftest import TODAY, authorized_socket, login, open_socket, rest, with_config

from tradovate_api.protocol import Heartbeat, Messages, Response, error_text
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock


@pytest.mark.parametrize("quoted", [False, True])
@pytest.mark.parametrize(("which", "token_kind"), [
    ("ws_url", "accessToken"), ("md_url", "accessToken"), ("md_url", "mdAccessToken")])
async def test_authorize_raw_or_quoted_with_either_token_on_the_md_socket(
        sim: Simulator, http: aiohttp.ClientSession, quoted: bool, which: str,
        token_kind: str) -> None:
    tokens = await login(http, sim)
    client = await open_socket(getattr(sim, which))
    response = await client.authorize(tokens[token_kind], quoted=quoted)
    assert response.s == 200
    assert response.body is None
    await client.ws.close()


async def test_the_trading_socket_and_rest_refuse_a_market_data_token(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    # issue 15: the real trading socket refuses it (overrides the reference's §2.5/§11 #7)
    tokens = await login(http, sim)
    client = await open_socket(sim.ws_url)
    refused = await client.authorize(tokens["mdAccessToken"])
    assert refused.s == 401
    assert error_text(refused.body) == "Invalid access token"
    assert (await client.request("account/list")).s == 401
    assert (await client.authorize(tokens["accessToken"])).s == 200
    assert (await client.request("account/list")).s == 200
    await client.ws.close()
    status, _ = await rest(http, sim, "account/list", token=tokens["mdAccessToken"])
    assert status == 401


async def test_requests_before_authorize_and_bad_tokens_are_refused(sim: Simulator) -> None:
    client = await open_socket(sim.ws_url)
    early = await client.request("account/list")
    assert early.s == 401
    refused = await client.authorize("not-a-token")
    assert refused.s == 401
    assert error_text(refused.body) == "Invalid access token"
    assert (await client.request("account/list")).s == 401
    await client.ws.close()


async def test_unknown_endpoint_and_bad_frames(sim: Simulator,
                                               http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    await client.send("quote/subscribe\n7\n\n")
    frame = await client.frame()
    assert isinstance(frame, Messages)
    assert len(frame.items) == 1
    assert frame.items[0] == Response(s=404, i=7,
                                      d=msgspec.Raw(b'"\\"Not found: quote/subscribe\\""'))
    await client.send("garbage without lines")
    bad = await client.frame()
    assert isinstance(bad, Messages)
    assert isinstance(bad.items[0], Response)
    assert bad.items[0].s == 400
    response = await client.request("order/placeorder", raw_body="{not json")
    assert response.s == 400
    # 3-line frame, junk query text, mixed case, md endpoints are not on the trading socket
    await client.send("Account/List\n9\nundefined")
    listed = await client.response(9)
    assert listed.s == 200
    assert len(msgspec.json.decode(listed.d)) == 1
    assert (await client.request("md/subscribeQuote", {"symbol": "ESZ6"})).s == 404
    # the server survived all of it
    assert (await client.request("auth/me")).s == 200
    await client.ws.close()


async def test_responses_carry_the_client_ids_out_of_order_ids(sim: Simulator,
                                                               http: aiohttp.ClientSession
                                                               ) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    for request_id in (42, 5, 1000):
        await client.send(f"auth/me\n{request_id}\n\n")
    got = [(await client.response(i)).i for i in (42, 5, 1000)]
    assert got == [42, 5, 1000]
    await client.ws.close()


async def test_heartbeats_every_interval_when_idle(sim: Simulator,
                                                   http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    loop = asyncio.get_running_loop()
    start = loop.time()
    beats = 0
    while beats < 3:
        if isinstance(await client.frame(), Heartbeat):
            beats += 1
    elapsed = loop.time() - start
    assert 0.4 <= elapsed < 2.0  # interval 0.2 s
    await client.ws.close()


async def test_no_heartbeats_while_streaming(http: aiohttp.ClientSession) -> None:
    config = with_config(heartbeat_interval=0.3, tick_interval=0.01)
    async with Simulator(config, today=TODAY, clock=open_clock()) as sim:
        token = (await login(http, sim))["accessToken"]
        client = await authorized_socket(sim.md_url, token)
        for symbol in ("ESZ6", "NQZ6", "MESZ6", "MNQZ6"):
            assert (await client.request("md/subscribeDOM", {"symbol": symbol})).s == 200
        client.frames.clear()
        loop = asyncio.get_running_loop()
        end = loop.time() + 1.5
        while loop.time() < end:
            await client.frame()
            await client.send("[]")
        kinds = {type(f).__name__ for f in client.frames}
        assert "Messages" in kinds
        assert "Heartbeat" not in kinds
        await client.ws.close()


async def test_idle_socket_is_closed_but_heartbeating_one_is_not(
        http: aiohttp.ClientSession) -> None:
    config = with_config(idle_timeout=0.6, heartbeat_interval=0.1)
    async with Simulator(config, today=TODAY, clock=open_clock()) as sim:
        token = (await login(http, sim))["accessToken"]
        quiet = await authorized_socket(sim.ws_url, token)
        alive = await authorized_socket(sim.ws_url, token)
        loop = asyncio.get_running_loop()
        end = loop.time() + 1.2
        while loop.time() < end:
            await alive.send("[]")
            await asyncio.sleep(0.1)
        await quiet.until_closed()
        assert (await alive.request("auth/me")).s == 200
        assert len(sim.connections) == 1
        await alive.ws.close()


async def test_unauthorized_socket_is_closed_after_timeout(http: aiohttp.ClientSession) -> None:
    async with Simulator(with_config(authorize_timeout=0.3), today=TODAY,
                         clock=open_clock()) as sim:
        client = await open_socket(sim.md_url)
        await client.until_closed(heartbeat=True, wait=2.0)
