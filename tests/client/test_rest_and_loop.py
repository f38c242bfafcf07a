"""The REST client against the simulator, and the event-loop helper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from client_helpers import sim_token

from tradovate_api.client import RestClient, new_event_loop, run, uses_uvloop
from tradovate_api.errors import ConfigError, ConnectionLost, NotFound, Unauthorized
from tradovate_api.protocol.models import Account
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(warm_up=0.0), clock=open_clock()) as simulator:
        yield simulator


async def test_rest_returns_typed_results_and_raises_failures(sim: Simulator) -> None:
    body = await sim_token(sim.rest_url)

    async def token() -> str:
        return str(body["accessToken"])

    rest = RestClient(sim.rest_url, token)
    try:
        accounts = await rest.request("account/list", result_type=list[Account])
        assert accounts
        assert all(isinstance(a, Account) for a in accounts)
        one = await rest.request("account/item", result_type=Account,
                                 query={"id": accounts[0].id})
        assert one == accounts[0]
        with pytest.raises(NotFound) as info:
            await rest.request("nosuch/thing")
        assert info.value.endpoint == "nosuch/thing"
    finally:
        await rest.close()

    async def wrong() -> str:
        return "not-a-token"

    rest = RestClient(sim.rest_url, wrong)
    try:
        with pytest.raises(Unauthorized):
            await rest.request("account/list", result_type=list[Account])
    finally:
        await rest.close()


async def test_rest_without_server_is_connection_lost(unused_tcp_port: int) -> None:
    async def token() -> str:
        return "t"

    rest = RestClient(f"http://127.0.0.1:{unused_tcp_port}/v1", token, timeout=2.0)
    try:
        with pytest.raises(ConnectionLost):
            await rest.request("account/list")
    finally:
        await rest.close()


def test_rest_refuses_plain_http_off_loopback() -> None:
    async def token() -> str:
        return "t"

    with pytest.raises(ConfigError):
        RestClient("http://example.com/v1", token)


def test_event_loop_is_uvloop_when_installed() -> None:
    loop = new_event_loop()
    try:
        assert uses_uvloop(loop)
    finally:
        loop.close()

    async def main() -> bool:
        await asyncio.sleep(0)
        return uses_uvloop(asyncio.get_running_loop())

    assert run(main()) is True
