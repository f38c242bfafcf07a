"""The market-data socket: quotes, DOM, histograms, charts (reference §4)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import msgspec
import pytest
from conftest import WsClient, authorized_socket, login

from tradovate_api.protocol import ChartEvent, MarketDataEvent, Messages, unpack_ticks
from tradovate_api.protocol.models import ChartSubscriptionResult, MarketDataSubscriptionResult
from tradovate_api.simulator import Simulator


async def md_socket(sim: Simulator, http: aiohttp.ClientSession) -> WsClient:
    tokens = await login(http, sim)
    return await authorized_socket(sim.md_url, tokens["mdAccessToken"])


def quotes_of(contract_id: int) -> Any:
    return lambda m: (isinstance(m, MarketDataEvent)
                      and any(q.contract_id == contract_id for q in m.data.quotes))


async def received_within(client: WsClient, kind: type, seconds: float) -> list[Any]:
    """Messages of ``kind`` that arrive in the next ``seconds`` (after what is queued now)."""
    client.events.clear()
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    found: list[Any] = []
    while loop.time() < end:
        try:
            frame = await client.frame(max(end - loop.time(), 0.01))
        except TimeoutError:
            break
        if isinstance(frame, Messages):
            found.extend(m for m in frame.items if isinstance(m, kind))
    return found


@pytest.mark.parametrize("by", ["name", "id", "digits"])
async def test_subscribe_quote_by_name_or_id(sim: Simulator, http: aiohttp.ClientSession,
                                             by: str) -> None:
    inst = sim.catalog.by_name("NQZ6")
    assert inst is not None
    symbol = {"name": "NQZ6", "id": inst.contract_id, "digits": str(inst.contract_id)}[by]
    client = await md_socket(sim, http)
    response = await client.request("md/subscribeQuote", {"symbol": symbol})
    assert response.s == 200
    result = msgspec.json.decode(response.d, type=MarketDataSubscriptionResult)
    assert result.mode == "RealTime"
    assert result.error_text is None
    snapshot = await client.event(quotes_of(inst.contract_id))
    quote = snapshot.data.quotes[0]
    assert quote.entries.bid is not None
    assert quote.entries.offer is not None
    assert quote.entries.bid.price < quote.entries.offer.price
    assert quote.entries.total_trade_volume.price is None  # size only, as in the reference
    await client.event(quotes_of(inst.contract_id))  # a live update follows
    await client.ws.close()


async def test_unknown_symbol_result(sim: Simulator, http: aiohttp.ClientSession) -> None:
    client = await md_socket(sim, http)
    response = await client.request("md/subscribeDOM", {"symbol": "XXZ9"})
    assert response.s == 200
    result = msgspec.json.decode(response.d, type=MarketDataSubscriptionResult)
    assert result.error_code == "UnknownSymbol"
    assert result.error_text
    assert (await client.request("account/list")).s == 404  # md socket serves md/* only
    await client.ws.close()


async def test_dom_and_histogram_and_unsubscribe(sim: Simulator,
                                                 http: aiohttp.ClientSession) -> None:
    es = sim.catalog.by_name("ESZ6")
    assert es is not None
    client = await md_socket(sim, http)
    assert (await client.request("md/subscribeDOM", {"symbol": "ESZ6"})).s == 200
    dom_event = await client.event(lambda m: isinstance(m, MarketDataEvent) and m.data.doms)
    dom = dom_event.data.doms[0]
    assert dom.contract_id == es.contract_id
    assert [b.price for b in dom.bids] == sorted((b.price for b in dom.bids), reverse=True)
    assert [o.price for o in dom.offers] == sorted(o.price for o in dom.offers)
    assert len(dom.bids) == 10
    assert (await client.request("md/subscribeHistogram", {"symbol": "ESZ6"})).s == 200
    hist = await client.event(lambda m: isinstance(m, MarketDataEvent) and m.data.histograms)
    assert hist.data.histograms[0].refresh is True
    assert (await client.request("md/unsubscribeDOM", {"symbol": "ESZ6"})).s == 200
    assert (await client.request("md/unsubscribeHistogram", {"symbol": "ESZ6"})).s == 200
    assert not await received_within(client, MarketDataEvent, 0.5)
    await client.ws.close()


@pytest.mark.parametrize("cancel_with", ["realtimeId", "historicalId"])
async def test_tick_chart_history_eoh_realtime_and_cancel(sim: Simulator,
                                                          http: aiohttp.ClientSession,
                                                          cancel_with: str) -> None:
    es = sim.catalog.by_name("ESZ6")
    assert es is not None
    client = await md_socket(sim, http)
    response = await client.request("md/getChart", {
        "symbol": "ESZ6",
        "chartDescription": {"underlyingType": "Tick", "elementSize": 1,
                             "elementSizeUnit": "UnderlyingUnits", "withHistogram": False},
        "timeRange": {"asMuchAsElements": 50}})
    result = msgspec.json.decode(response.d, type=ChartSubscriptionResult)
    assert result.historical_id is not None
    assert result.realtime_id is not None
    ids = {result.historical_id, result.realtime_id}
    ticks = []
    while True:
        event = await client.event(lambda m: isinstance(m, ChartEvent))
        done = False
        for packet in event.data.charts:
            assert packet.id in ids
            if packet.eoh:
                done = True
            elif packet.tks:
                ticks.extend(unpack_ticks(packet))
        if done:
            break
    assert 0 < len(ticks) <= 50
    assert all(t.price % 0.25 == 0 for t in ticks)
    realtime = await client.event(lambda m: isinstance(m, ChartEvent), wait=10)
    assert {p.id for p in realtime.data.charts} == {result.realtime_id}
    cancel = await client.request("md/cancelChart",
                                  {"subscriptionId": getattr(result, {
                                      "realtimeId": "realtime_id",
                                      "historicalId": "historical_id"}[cancel_with])})
    assert cancel.s == 200
    assert msgspec.json.decode(cancel.d, type=MarketDataSubscriptionResult) == \
        MarketDataSubscriptionResult(mode="None")
    assert not await received_within(client, ChartEvent, 1.0)
    await client.ws.close()


async def test_chart_answer_comes_alone_then_history_under_the_realtime_id(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    # Tradovate's example clients attach their listener after the answer and keep only
    # packets under the realtime id (reference §4.5-4.8)
    client = await md_socket(sim, http)
    response = await client.request("md/getChart", {
        "symbol": "ESZ6",
        "chartDescription": {"underlyingType": "Tick", "elementSize": 1,
                             "elementSizeUnit": "UnderlyingUnits"},
        "timeRange": {"asMuchAsElements": 200}})
    result = msgspec.json.decode(response.d, type=ChartSubscriptionResult)
    assert result.mode == "RealTime"
    answered = next(f for f in client.frames if isinstance(f, Messages)
                    and any(getattr(m, "i", None) == response.i for m in f.items))
    assert not any(isinstance(m, ChartEvent) for m in answered.items)
    history: list[Any] = []
    while not any(p.eoh for p in history):
        event = await client.event(lambda m: isinstance(m, ChartEvent))
        history.extend(event.data.charts)
    assert {p.id for p in history} == {result.realtime_id}
    assert 0 < sum(len(p.tks or ()) for p in history) <= 200
    await client.ws.close()


async def test_unsubscribes_and_cancel_chart_answer_a_subscription_result(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    client = await md_socket(sim, http)
    assert (await client.request("md/subscribeQuote", {"symbol": "ESZ6"})).s == 200
    for endpoint in ("md/unsubscribeQuote", "md/unsubscribeDOM", "md/unsubscribeHistogram"):
        response = await client.request(endpoint, {"symbol": "ESZ6"})
        assert response.s == 200
        result = msgspec.json.decode(response.d, type=MarketDataSubscriptionResult)
        assert result == MarketDataSubscriptionResult(mode="None")
    unknown = await client.request("md/unsubscribeQuote", {"symbol": "XXZ9"})
    result = msgspec.json.decode(unknown.d, type=MarketDataSubscriptionResult)
    assert (result.mode, result.error_code) == ("None", "UnknownSymbol")
    gone = await client.request("md/cancelChart", {"subscriptionId": 987654})
    result = msgspec.json.decode(gone.d, type=MarketDataSubscriptionResult)
    assert result.mode == "None"
    assert result.error_text == "Unknown chart subscription 987654"
    await client.ws.close()


async def test_minute_bar_chart(sim: Simulator, http: aiohttp.ClientSession) -> None:
    client = await md_socket(sim, http)
    response = await client.request("md/getchart", {
        "symbol": "NQZ6",
        "chartDescription": {"underlyingType": "MinuteBar", "elementSize": 1,
                             "elementSizeUnit": "UnderlyingUnits"},
        "timeRange": {"asMuchAsElements": 3}})
    result = msgspec.json.decode(response.d, type=ChartSubscriptionResult)
    event = await client.event(lambda m: isinstance(m, ChartEvent)
                               and any(p.bars for p in m.data.charts))
    bars = [b for p in event.data.charts if p.bars for b in p.bars]
    assert 0 < len(bars) <= 3
    assert all(b.low <= b.open <= b.high and b.low <= b.close <= b.high for b in bars)
    assert result.realtime_id is not None
    await client.ws.close()
