"""The dashboard's server without a browser: every request and the websocket need the token,
actions need a confirmation and act only on the traded account, a slow page gets the newest
snapshot rather than a queue."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from dashboard_helpers import served_app

from tradovate_api.dashboard.server import COOKIE, _Page


async def test_no_token_is_401_a_wrong_one_403_everywhere(tmp_path: Path) -> None:
    async with served_app(tmp_path) as served, aiohttp.ClientSession() as http:
        base = served.server.url
        for method, path in (("GET", ""), ("GET", "api/snapshot"), ("POST", "api/action"),
                             ("GET", "ws")):
            async with http.request(method, base + path) as response:
                assert response.status == 401, path
            async with http.request(method, base + path + "?token=nope") as response:
                assert response.status == 403, path
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(base + "ws")
        assert refused.value.status == 401
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(base + "ws", headers={"Authorization": "Bearer wrong"})
        assert refused.value.status == 403


async def test_the_token_opens_the_page_then_a_cookie_keeps_it(tmp_path: Path) -> None:
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies of an IP address, as browsers do
    async with served_app(tmp_path) as served, aiohttp.ClientSession(cookie_jar=jar) as http:
        base = served.server.url
        async with http.get(f"{base}?token={served.token}", allow_redirects=False) as first:
            assert first.status == 303
            assert first.headers["Location"] == "/"
            cookie = first.cookies[COOKIE]
            assert cookie["httponly"]
            assert cookie["samesite"] == "Strict"
        async with http.get(base) as page:  # the cookie only
            assert page.status == 200
            assert "Kill switch" in await page.text()
            assert page.headers["X-Frame-Options"] == "DENY"
        async with http.ws_connect(base + "ws") as ws:
            snapshot = await ws.receive_json(timeout=5)
            assert snapshot["strategy"] == "Idle"
            assert snapshot["accounts"][0]["traded"] is True
            assert snapshot["breakdown"] == []  # no order yet
            assert served.server.push_ns > 0  # the pusher's time on the loop is counted
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(base + "ws", headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403


async def test_actions_need_confirmation_and_the_traded_account(tmp_path: Path) -> None:
    async with served_app(tmp_path) as served, aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {served.token}"}) as http:
        url = served.server.url + "api/action"
        async with http.post(url, json={"action": "flatten"}) as response:
            assert response.status == 409
            assert (await response.json())["text"] == "not confirmed: nothing done"
        async with http.post(url, json={"action": "flatten", "confirm": True,
                                        "account": 42}) as response:
            assert response.status == 409
            assert "not traded by this run" in (await response.json())["text"]
        async with http.post(url, json={"action": "explode", "confirm": True}) as response:
            assert response.status == 400
        async with http.post(url, json={"action": "halt", "confirm": True}) as response:
            result = await response.json()
            assert result["ok"], result
        app = served.app
        assert app.orders is not None
        refused = app.orders.place(app.symbol, "Buy", 1, trigger="while halted")
        assert "halted from the dashboard" in refused.reason
        assert "dashboard.halt" in served.alerts.keys()  # noqa: SIM118 (AlertLog.keys: the alert keys)
        async with http.post(url, json={"action": "resume", "confirm": True}) as response:
            assert (await response.json())["text"] == "new entries allowed again"
        placed = app.orders.place(app.symbol, "Buy", 1, order_type="Limit",
                                  price=_far_below(served), trigger="after resume")
        assert not placed.reason, placed.reason


async def test_a_slow_page_gets_the_newest_snapshot_not_a_queue() -> None:
    page = _Page.__new__(_Page)
    page.latest, page.ready = None, asyncio.Event()
    for data in (b"1", b"2", b"3"):
        page.offer(data)
    assert page.latest == b"3"
    assert page.ready.is_set()


def _far_below(served: object) -> float:
    from dashboard_helpers import Served

    assert isinstance(served, Served)
    app = served.app
    spec = app.contracts.get(app.symbol)
    quote = app.market.quote(spec.contract_id) if spec is not None else None
    assert spec is not None
    assert quote is not None
    assert quote.last is not None
    return round((quote.last - 200) / spec.tick_size) * spec.tick_size
