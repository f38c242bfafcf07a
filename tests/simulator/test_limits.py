"""The documented request limits, on by default (reference §7.1, §7.2): the login penalty
(captcha) after too many failed logins, 423 then 429 after a burst, the endpoint table's
tickets, and limits that a test can change."""

from __future__ import annotations

import tomllib

import aiohttp
import msgspec
import pytest
from conftest import TODAY, FakeClock, authorized_socket, login, rest, with_config

from tradovate_api.errors import ConfigError
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.config import RateLimits, WindowLimits, config_from_mapping

GOOD = {"name": "sim", "password": "sim", "cid": 8, "sec": "s"}
BAD = {**GOOD, "password": "wrong"}


async def test_five_failed_logins_then_every_login_gets_a_captcha_penalty(
        http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Simulator(with_config(), today=TODAY, clock=clock) as sim:
        for _ in range(5):
            status, body = await rest(http, sim, "auth/accesstokenrequest", body=BAD)
            assert status == 200
            assert "errorText" in body
            clock.now += 1.0
        status, body = await rest(http, sim, "auth/accesstokenrequest", body=GOOD)
        assert status == 200
        assert set(body) == {"p-ticket", "p-time", "p-captcha"}
        assert body["p-captcha"] is True
        assert body["p-time"] == 15.0
        clock.now += 120.0  # a captcha ticket is never honoured, even after p-time
        status, again = await rest(http, sim, "auth/accesstokenrequest",
                                   body={**GOOD, "p-ticket": body["p-ticket"]})
        assert again["p-captcha"] is True
        assert again["p-time"] == 30.0  # a repeated violation doubles the wait
        clock.now += 3600.0  # the failures (penalized attempts included) left the hour
        status, body = await rest(http, sim, "auth/accesstokenrequest", body=GOOD)
        assert "accessToken" in body


async def test_successful_logins_count_against_ten_auth_requests_a_minute(
        http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Simulator(with_config(max_sessions=20), today=TODAY, clock=clock) as sim:
        for _ in range(10):
            status, body = await rest(http, sim, "auth/accesstokenrequest", body=GOOD)
            assert "accessToken" in body
        status, body = await rest(http, sim, "auth/accesstokenrequest", body=GOOD)
        assert status == 200
        assert body.get("p-captcha") is True
        clock.now += 61.0
        status, body = await rest(http, sim, "auth/accesstokenrequest", body=GOOD)
        assert status == 200
        assert "accessToken" in body


async def test_a_burst_of_anonymous_requests_gets_423_then_429_and_a_lockout(
        http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Simulator(with_config(), today=TODAY, clock=clock) as sim:
        statuses = []
        for _ in range(105):  # no token: anonymous, 100 a second
            async with http.get(f"{sim.rest_url}/account/list") as reply:
                statuses.append(reply.status)
                if reply.status in (423, 429):
                    assert await reply.read() == b""
        assert statuses[:90] == [401] * 90
        assert statuses[90:100] == [423] * 10  # the warning before 429
        assert statuses[100:] == [429] * 5
        clock.now += 1800.0
        async with http.get(f"{sim.rest_url}/account/list") as reply:
            assert reply.status == 429  # locked out for an hour after the last request
        clock.now += 3601.0
        async with http.get(f"{sim.rest_url}/account/list") as reply:
            assert reply.status == 401


async def test_a_user_over_the_limit_gets_429_on_the_socket_too(
        http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    limits = RateLimits(authenticated=WindowLimits(per_hour=5000, per_minute=5000,
                                                   per_second=20), warning_fraction=1.0)
    async with Simulator(with_config(limits=limits), today=TODAY, clock=clock) as sim:
        token = (await login(http, sim))["accessToken"]
        client = await authorized_socket(sim.ws_url, token)
        answers = [(await client.request("account/list")).s for _ in range(21)]
        assert answers == [200] * 20 + [429]  # authorize counted as anonymous (no user yet)
        refused = await client.request("account/list")
        assert refused.s == 429
        assert refused.body is None
        status, _ = await rest(http, sim, "account/list", token=token)
        assert status == 429  # the same user over REST
        await client.ws.close()


async def test_sync_requests_over_300_an_hour_get_a_ticket_honoured_after_p_time(
        http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Simulator(with_config(), today=TODAY, clock=clock) as sim:
        token = (await login(http, sim))["accessToken"]
        client = await authorized_socket(sim.ws_url, token)
        for index in range(300):
            response = await client.request("user/syncrequest", {"users": [1]})
            assert response.s == 200, index
            clock.now += 1.0
        ticket = msgspec.json.decode((await client.request(
            "user/syncrequest", {"users": [1]})).d)
        assert set(ticket) == {"p-ticket", "p-time"}
        assert ticket["p-time"] == 3.0
        early = msgspec.json.decode((await client.request(
            "user/syncrequest", {"users": [1], "p-ticket": ticket["p-ticket"]})).d)
        assert "p-ticket" in early  # resent before p-time: a new ticket
        clock.now += early["p-time"]
        honoured = msgspec.json.decode((await client.request(
            "user/syncrequest", {"users": [1], "p-ticket": early["p-ticket"]})).d)
        assert "users" in honoured
        await client.ws.close()


async def test_limits_can_be_switched_off_for_a_test(http: aiohttp.ClientSession) -> None:
    config = with_config(limits=RateLimits(enabled=False))
    async with Simulator(config, today=TODAY, clock=FakeClock()) as sim:
        for _ in range(8):
            _status, body = await rest(http, sim, "auth/accesstokenrequest", body=BAD)
            assert "errorText" in body
        for _ in range(150):
            async with http.get(f"{sim.rest_url}/account/list") as reply:
                assert reply.status == 401


async def test_a_limits_table_from_the_config_file_applies(
        http: aiohttp.ClientSession) -> None:
    raw = tomllib.loads('''
        [limits]
        auth_per_minute = 0
        [[limits.endpoints]]
        endpoint = "auth/me"
        per_hour = 1
        back_off = 7.5
        count_success = true
    ''')
    config = msgspec.structs.replace(with_config(), limits=config_from_mapping(raw).limits)
    async with Simulator(config, today=TODAY, clock=FakeClock()) as sim:
        token = (await login(http, sim))["accessToken"]
        status, me = await rest(http, sim, "auth/me", token=token)
        assert (status, me["name"]) == (200, "sim")
        status, again = await rest(http, sim, "auth/me", token=token)
        assert (status, again["p-time"]) == (200, 7.5)
        for _ in range(8):  # the login's own row is gone with the replaced table
            _, body = await rest(http, sim, "auth/accesstokenrequest", body=BAD)
            assert "errorText" in body
    with pytest.raises(ConfigError, match=r"limits\.endpoints\[0\]\.per_hour: required key"):
        config_from_mapping({"limits": {"endpoints": [{"endpoint": "auth/me"}]}})
