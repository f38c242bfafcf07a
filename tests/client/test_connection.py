"""Connection behaviour against a scripted Tradovate-framed server on 127.0.0.1: what the
simulator cannot produce on demand (malformed frames, a server that never sends ``o``,
a response that arrives after its time-out)."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from client_helpers import FrameServer, Recorder, response

from tradovate_api.client import (
    AuthorizationFailed,
    ConnectFailed,
    Connection,
    ConnectionOptions,
    EndKind,
    RequestTimeout,
)
from tradovate_api.errors import BusinessError, ConnectionLost, NotFound, Unauthorized
from tradovate_api.protocol import (
    HEARTBEAT_FRAME,
    ClientRequest,
    MarketDataEvent,
    ShutdownEvent,
    encode_close,
    encode_messages,
)
from tradovate_api.protocol.messages import Shutdown
from tradovate_api.protocol.models import MarketData, MarketDataSubscriptionResult, Quote
from tradovate_api.protocol.models.marketdata import QuoteEntries, QuoteEntry

FAST = ConnectionOptions(heartbeat_interval=0.05, silence_timeout=0.4, open_timeout=1.0,
                         authorize_timeout=1.0, request_timeout=1.0, close_timeout=1.0)


def quote_frame(contract_id: int, bid: float) -> bytes:
    quote = Quote(contract_id=contract_id, timestamp="2026-11-24T15:00:00.000Z",
                  entries=QuoteEntries(bid=QuoteEntry(price=bid, size=3)))
    return encode_messages([MarketDataEvent(MarketData(quotes=[quote]))])


async def open_connection(server: FrameServer, recorder: Recorder,
                          options: ConnectionOptions = FAST) -> Connection:
    connection = Connection(server.url, recorder, name="test", options=options)
    await connection.open(server.valid_token)
    return connection


async def test_open_authorizes_with_the_raw_token_and_dispatches(
        frame_server: FrameServer) -> None:
    recorder = Recorder()
    connection = await open_connection(frame_server, recorder)
    auth = frame_server.last.requests[0]
    assert auth.endpoint == "authorize"
    assert auth.body == frame_server.valid_token.encode()  # raw, not a JSON string
    frame_server.last.send(quote_frame(7, 101.25))
    await recorder.until(lambda: len(recorder.events) == 1)
    event = recorder.events[0]
    assert isinstance(event, MarketDataEvent)
    assert event.data.quotes[0].entries.bid == QuoteEntry(price=101.25, size=3)
    await connection.close()
    assert (await connection.wait_ended()).kind is EndKind.CLIENT_CLOSED
    await frame_server.changed.until(lambda: frame_server.last.close_received)


async def test_request_returns_typed_result_and_raises_failures(
        frame_server: FrameServer) -> None:
    frame_server.responders["md/subscribequote"] = lambda r: [
        response(r.request_id, 200, {"mode": "RealTime", "subscriptionId": 4})]
    frame_server.responders["md/subscribedom"] = lambda r: [
        response(r.request_id, 200, {"errorText": "UnknownSymbol", "mode": "None"})]
    frame_server.responders["nope/nope"] = lambda r: [
        response(r.request_id, 404, '"Not found: nope/nope"')]
    connection = await open_connection(frame_server, Recorder())
    result = await connection.request("md/subscribeQuote", {"symbol": "ESZ6"},
                                      result_type=MarketDataSubscriptionResult)
    assert result == MarketDataSubscriptionResult(mode="RealTime", subscription_id=4)
    with pytest.raises(BusinessError, match="UnknownSymbol"):
        await connection.request("md/subscribeDOM", {"symbol": "XXX"},
                                 result_type=MarketDataSubscriptionResult)
    with pytest.raises(NotFound) as info:
        await connection.request("nope/nope")
    assert info.value.endpoint == "nope/nope"
    sent = frame_server.last.requests
    assert [r.endpoint for r in sent] == ["authorize", "md/subscribequote", "md/subscribedom",
                                          "nope/nope"]
    assert len({r.request_id for r in sent}) == 4
    await connection.close()


async def test_refused_authorize_fails_clearly(frame_server: FrameServer) -> None:
    connection = Connection(frame_server.url, Recorder(), options=FAST)
    with pytest.raises(AuthorizationFailed) as info:
        await connection.open("stale-token")
    assert isinstance(info.value.cause, Unauthorized)
    assert "stale-token" not in str(info.value)
    assert connection.ended.done()
    await frame_server.changed.until(lambda: frame_server.last.disconnected)


async def test_no_open_frame_is_a_bounded_connect_failure(frame_server: FrameServer) -> None:
    frame_server.send_open = False
    options = ConnectionOptions(open_timeout=0.2, heartbeat_interval=0.05, silence_timeout=5)
    connection = Connection(frame_server.url, Recorder(), options=options)
    with pytest.raises(ConnectFailed, match="no 'o' frame"):
        await connection.open(frame_server.valid_token)
    assert frame_server.last.requests == []  # never authorized before 'o'


async def test_closed_port_is_a_connect_failure(unused_tcp_port: int) -> None:
    connection = Connection(f"ws://127.0.0.1:{unused_tcp_port}/v1/websocket", Recorder(),
                            options=FAST)
    with pytest.raises(ConnectFailed):
        await connection.open("token")


async def test_heartbeats_are_sent_while_other_traffic_flows(frame_server: FrameServer) -> None:
    connection = await open_connection(frame_server, Recorder())
    client = frame_server.last

    async def chatter() -> None:
        while True:
            await connection.request("account/list", result_type=list[int] | dict[str, int])

    task = asyncio.create_task(chatter())
    try:
        await frame_server.changed.until(lambda: client.heartbeats >= 5, limit=3)
        assert len(client.requests) > 5  # requests did not replace heartbeats
    finally:
        task.cancel()
    assert connection.stats.heartbeats_sent >= client.heartbeats
    await connection.close()


async def test_silence_ends_the_connection(frame_server: FrameServer) -> None:
    connection = await open_connection(frame_server, Recorder())
    loop = asyncio.get_running_loop()
    started = loop.time()
    end = await asyncio.wait_for(connection.wait_ended(), 3)
    assert end.kind is EndKind.SILENCE
    assert loop.time() - started >= FAST.silence_timeout * 0.9
    await frame_server.changed.until(lambda: frame_server.last.disconnected)


async def test_streaming_without_server_heartbeats_is_not_silence(
        frame_server: FrameServer) -> None:
    """The server skips ``h`` while it streams: any frame counts as a sign of life."""
    recorder = Recorder()
    connection = await open_connection(frame_server, recorder)
    count = int(FAST.silence_timeout * 3 / 0.05)
    for n in range(count):
        frame_server.last.send(quote_frame(1, float(n)))
        await asyncio.sleep(0.05)  # pacing the server's stream, not synchronisation
    assert not connection.ended.done()
    await recorder.until(lambda: len(recorder.events) == count)
    frame_server.last.send(HEARTBEAT_FRAME)
    await connection.close()


async def test_close_frame_ends_with_its_code(frame_server: FrameServer) -> None:
    connection = await open_connection(frame_server, Recorder())
    frame_server.last.send(encode_close(3000, "Go away!"))
    end = await asyncio.wait_for(connection.wait_ended(), 2)
    assert (end.kind, end.code, end.reason) == (EndKind.CLOSE_FRAME, 3000, "Go away!")


@pytest.mark.parametrize(("reason_code", "quota"), [("ConnectionQuotaReached", True),
                                                    ("IPQuotaReached", True),
                                                    ("Maintenance", False)])
async def test_shutdown_event_ends_and_reaches_the_consumer(
        frame_server: FrameServer, reason_code: str, quota: bool) -> None:
    recorder = Recorder()
    connection = await open_connection(frame_server, recorder)
    frame_server.last.send(encode_messages([ShutdownEvent(Shutdown(reason_code, "bye"))]))
    end = await asyncio.wait_for(connection.wait_ended(), 2)
    assert end.kind is EndKind.SHUTDOWN
    assert end.reason_code == reason_code
    assert end.quota is quota
    assert end.maintenance is (not quota)
    assert [type(e) for e in recorder.events] == [ShutdownEvent]


async def test_drop_fails_every_pending_request_with_connection_lost(
        frame_server: FrameServer) -> None:
    frame_server.responders["order/placeorder"] = lambda r: None  # never answered
    connection = await open_connection(frame_server, Recorder())
    futures = [connection.send_request("order/placeorder", {"n": n}) for n in range(3)]
    client = frame_server.last
    await frame_server.changed.until(lambda: len(client.requests) == 4)
    assert client.transport is not None
    client.transport.disconnect(graceful=False)
    results = await asyncio.wait_for(asyncio.gather(*futures, return_exceptions=True), 2)
    assert all(isinstance(r, ConnectionLost) for r in results)
    assert (await connection.wait_ended()).kind is EndKind.DROPPED
    with pytest.raises(ConnectionLost):
        connection.send_request("order/placeorder", {})


async def test_timed_out_request_is_not_retried_and_a_late_answer_is_ignored(
        frame_server: FrameServer) -> None:
    frame_server.responders["order/placeorder"] = lambda r: None
    recorder = Recorder()
    connection = await open_connection(frame_server, recorder)
    with pytest.raises(RequestTimeout, match="outcome unknown"):
        await connection.request("order/placeorder", {"qty": 1}, response_timeout=0.1)
    client = frame_server.last
    late = client.requests[-1]
    assert isinstance(late, ClientRequest)
    client.send(response(late.request_id, 200, {"orderId": 5}))
    client.send(quote_frame(1, 1.0))
    # Frames are read in order: once the quote after it arrived, the late answer was read.
    await recorder.until(lambda: len(recorder.events) == 1)
    assert connection.stats.unmatched_responses == 1
    assert connection.stats.timeouts == 1
    assert [r.endpoint for r in client.requests].count("order/placeorder") == 1
    assert not connection.ended.done()
    await connection.close()


async def test_malformed_frames_are_counted_never_fatal(frame_server: FrameServer) -> None:
    recorder = Recorder()
    connection = await open_connection(frame_server, recorder)
    client = frame_server.last
    client.send(b"x-not-a-frame")
    client.send(b"a[{broken json")
    good = msgspec.json.decode(quote_frame(9, 2.0)[1:])[0]
    client.send(b"a" + msgspec.json.encode([{"e": "md", "d": {"quotes": "nope"}}, good]))
    client.send(quote_frame(9, 3.0))
    await recorder.until(lambda: len(recorder.events) == 2)
    assert connection.stats.malformed == 3
    assert [e.data.quotes[0].entries.bid.price for e in recorder.events] == [2.0, 3.0]
    assert not connection.ended.done()
    await connection.close()


async def test_a_failing_consumer_does_not_stop_the_reader(frame_server: FrameServer) -> None:
    seen: list[object] = []
    arrived = asyncio.Event()

    def consumer(event: object) -> None:
        seen.append(event)
        if len(seen) == 1:
            raise ValueError("strategy bug")
        arrived.set()

    connection = Connection(frame_server.url, consumer, options=FAST)
    await connection.open(frame_server.valid_token)
    frame_server.last.send(quote_frame(1, 1.0))
    frame_server.last.send(quote_frame(1, 2.0))
    await asyncio.wait_for(arrived.wait(), 2)
    assert connection.stats.consumer_errors == 1
    assert not connection.ended.done()
    await connection.close()
