"""Fuzzing REST response handling over real HTTP on 127.0.0.1: whatever status and body a
server sends (including cut-off bodies and dropped connections), ``RestClient.request`` and
``AuthManager`` either give a typed result or raise a :class:`TradovateError` — never a
``KeyError``, ``ValueError`` or ``OverflowError`` from deep inside — and a mutated token cache
file never stops a start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web
from fuzz_strategies import json_values, mutated_bytes, mutated_json
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tradovate_api.alerts import AlertLog
from tradovate_api.auth import AuthManager, TokenInfo
from tradovate_api.client import RestClient
from tradovate_api.errors import ProtocolError, TradovateError
from tradovate_api.protocol import models as m
from tradovate_api.secrets import Secret, TradovateCredentials

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])


class ReplyServer:
    """Answers every request with the reply the test set: ``(status, body, mode)`` where mode
    is ``"normal"``, ``"truncated"`` (announces more bytes than it sends, then closes) or
    ``"drop"`` (closes the connection without answering)."""

    def __init__(self) -> None:
        self.reply: tuple[int, bytes, str] = (200, b"{}", "normal")
        self.url = ""
        self.requests = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        await request.read()
        status, body, mode = self.reply
        if mode == "drop":
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=200)
        if mode == "truncated":
            response = web.StreamResponse(status=status)
            response.content_length = len(body) + 100
            await response.prepare(request)
            await response.write(body)
            assert request.transport is not None
            request.transport.close()
            return response
        return web.Response(status=status, body=body, content_type="application/json")


@pytest.fixture
async def reply_server() -> AsyncIterator[ReplyServer]:
    server = ReplyServer()
    app = web.Application()
    app.router.add_route("*", "/v1/{tail:.*}", server.handle)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    server.url = f"http://127.0.0.1:{port}/v1"
    yield server
    await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


_expirations = st.one_of(
    st.datetimes(timezones=st.none() | st.just(UTC)).map(lambda d: d.isoformat()),
    st.sampled_from(["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00",
                     "2030-01-01T00:00:00Z", "2030-01-01", "soon", "", "2030-13-01T00:00Z"]),
    st.text(max_size=10))


def _token_body(expiration: str) -> dict[str, Any]:
    return {"accessToken": "tok\u00a7access", "mdAccessToken": "tok\u00a7md",
            "expirationTime": expiration, "userId": 7, "name": "alice"}


_VALID_TOKEN = _token_body(_iso(datetime.now(UTC) + timedelta(hours=1)))
_token_bodies = st.one_of(
    _expirations.map(_token_body),
    st.just(_VALID_TOKEN).flatmap(mutated_json),
    st.just({"p-ticket": "t", "p-time": 1, "p-captcha": False}).flatmap(mutated_json),
    st.just({"errorText": "Incorrect username or password"}).flatmap(mutated_json),
    json_values)
_bodies = st.one_of(_token_bodies.map(msgspec.json.encode), st.binary(max_size=60),
                    st.just(msgspec.json.encode(_VALID_TOKEN)).flatmap(mutated_bytes))
_replies = st.tuples(st.sampled_from([200, 200, 200, 201, 204, 400, 401, 403, 404, 423, 429,
                                      500, 503]),
                     _bodies, st.sampled_from(["normal"] * 6 + ["truncated", "drop"]))


async def outcome(call: Awaitable[Any]) -> Any:
    """What ``call`` returns, or the :class:`TradovateError` it raised (anything else
    propagates and fails the test)."""
    try:
        return await call
    except TradovateError as exc:
        return exc


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


def _manager(server: ReplyServer, http: aiohttp.ClientSession, **options: Any) -> AuthManager:
    creds = TradovateCredentials(name="alice", password=Secret("fz\u00a7password"), cid="8",
                                 sec=Secret("fz\u00a7sec"), app_id="tests")
    return AuthManager(server.url, creds, alerts=AlertLog(), session=http, sleep=_no_wait,
                       max_logins_per_hour=10_000, request_timeout=5.0, **options)


@FUZZ
@example(reply=(200, msgspec.json.encode(_token_body("0001-01-01T00:00:00+05:00")), "normal"))
@given(reply=_replies)
async def test_login_gives_a_token_or_a_tradovate_error(reply: tuple[int, bytes, str],
                                                        reply_server: ReplyServer,
                                                        http: aiohttp.ClientSession) -> None:
    reply_server.reply = reply
    auth = _manager(reply_server, http)
    info = await outcome(auth.token())
    if isinstance(info, TradovateError):
        assert "fz\u00a7" not in str(info), "an error message carries a credential"
        return
    assert isinstance(info, TokenInfo)
    assert info.access_token.reveal()
    assert info.expires_at.tzinfo is not None


@FUZZ
@given(reply=_replies)
async def test_renewal_gives_a_token_or_a_tradovate_error(reply: tuple[int, bytes, str],
                                                          reply_server: ReplyServer,
                                                          http: aiohttp.ClientSession) -> None:
    reply_server.reply = (200, msgspec.json.encode(_VALID_TOKEN), "normal")
    auth = _manager(reply_server, http)
    first = await auth.token()
    reply_server.reply = reply
    renewed = await outcome(auth.renew())
    if isinstance(renewed, TradovateError):
        assert auth.current is first, "a failed renewal replaced the token"
        return
    assert auth.current is renewed


@FUZZ
@given(cache=st.just(b"").flatmap(lambda _: st.sampled_from([
    msgspec.json.encode({"rest_url": "", "name": "alice", "device_id": "d",
                         "access_token": "tok\u00a7cached", "expiration_time": "2099-01-01"}),
    b'{"rest_url": "x", "name": "alice", "device_id": "d"}'])).flatmap(mutated_bytes)
    | json_values.map(msgspec.json.encode))
async def test_a_mutated_token_cache_never_stops_a_start(cache: bytes, tmp_path: Path,
                                                         reply_server: ReplyServer,
                                                         http: aiohttp.ClientSession) -> None:
    path = tmp_path / "token.json"
    path.write_bytes(cache.replace(b'"rest_url": ""', f'"rest_url": "{reply_server.url}"'
                                   .encode()))
    reply_server.reply = (200, msgspec.json.encode(_VALID_TOKEN), "normal")
    auth = _manager(reply_server, http, cache_path=path)
    info = await auth.token()
    assert isinstance(info, TokenInfo)
    assert not info.expired(datetime.now(UTC))


BEARER = "fz\u00a7bearer"
_RESULT_TYPES = [None, m.Contract, list[m.Contract], m.PlaceOrderResult, m.CommandResult,
                 dict[str, Any], list[m.Fill]]


@FUZZ
@given(reply=st.tuples(st.integers(200, 599), st.binary(max_size=80)
                       | json_values.map(msgspec.json.encode)
                       | st.sampled_from([b'{"id":1,"name":"ESM4","contractMaturityId":2}',
                                          b'{"orderId":5}', b'[{"id":1}]']).flatmap(
                           mutated_bytes),
                       st.sampled_from(["normal"] * 6 + ["truncated", "drop"])),
       result_type=st.sampled_from(_RESULT_TYPES), post=st.booleans())
async def test_rest_gives_a_typed_result_or_a_tradovate_error(
        reply: tuple[int, bytes, str], result_type: Any, post: bool,
        reply_server: ReplyServer, http: aiohttp.ClientSession) -> None:
    reply_server.reply = reply

    async def token() -> str:
        return BEARER

    rest = RestClient(reply_server.url, token, session=http, timeout=5.0)
    result = await outcome(rest.request("contract/item", {"id": 1} if post else None,
                                        result_type))
    if isinstance(result, TradovateError):
        assert BEARER not in str(result)
        return
    status, _, mode = reply
    assert 200 <= status < 300
    assert mode == "normal"
    if result_type is not None:
        origin = getattr(result_type, "__origin__", result_type)
        assert isinstance(result, origin)


@pytest.mark.parametrize("expiration", ["0001-01-01T00:00:00+05:00",
                                        "9999-12-31T23:59:59-05:00"])
async def test_an_expiration_outside_the_datetime_range_is_a_protocol_error(
        expiration: str, reply_server: ReplyServer, http: aiohttp.ClientSession) -> None:
    reply_server.reply = (200, msgspec.json.encode(_token_body(expiration)), "normal")
    with pytest.raises(ProtocolError, match="expirationTime"):
        await _manager(reply_server, http).token()
