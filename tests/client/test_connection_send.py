"""``Connection.send_request`` writes the request before it creates the future and the
time-out timer (that bookkeeping is off the tick-to-order path): the answer still resolves it,
and a request that never left leaves nothing pending."""

from __future__ import annotations

import pytest
from client_helpers import FrameServer, Recorder, response

from tradovate_api.client import Connection, ConnectionOptions
from tradovate_api.protocol import MarketDataEvent, encode_messages
from tradovate_api.protocol.models import MarketData, Quote
from tradovate_api.protocol.models.marketdata import QuoteEntries, QuoteEntry

FAST = ConnectionOptions(heartbeat_interval=0.05, silence_timeout=0.4, open_timeout=1.0,
                         authorize_timeout=1.0, request_timeout=1.0, close_timeout=1.0)


def quote_frame() -> bytes:
    quote = Quote(contract_id=7, timestamp="2026-11-24T15:00:00.000Z",
                  entries=QuoteEntries(bid=QuoteEntry(price=101.25, size=3)))
    return encode_messages([MarketDataEvent(MarketData(quotes=[quote]))])


async def test_a_request_that_never_left_is_not_pending(frame_server: FrameServer) -> None:
    recorder = Recorder()
    connection = Connection(frame_server.url, recorder, name="test", options=FAST)
    await connection.open(frame_server.valid_token)  # request id 1
    with pytest.raises(ValueError, match="newlines"):
        connection.send_request("order/place\norder", {"qty": 1})  # took id 2, never sent
    client = frame_server.last
    client.send(response(2, 200, {"orderId": 9}))
    client.send(quote_frame())
    await recorder.until(lambda: len(recorder.events) == 1)  # frames are read in order
    assert connection.stats.unmatched_responses == 1
    assert connection.stats.requests_sent == 0
    result = await connection.send_request("order/placeorder", {"qty": 1})  # id 3
    assert result is None  # no result type asked for; the answer was {} (a success)
    (order,) = [r for r in client.requests if r.endpoint == "order/placeorder"]
    assert order.request_id == 3
    assert connection.stats.requests_sent == 1
    await connection.close()
