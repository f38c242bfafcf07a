"""The floor: the framework's stack (picows + msgspec + uvloop) doing only decode + reply.

Frames are decoded with the protocol core's single-pass :func:`decode_frame`; each quote and
DOM updates a per-contract best bid/offer, tick packets are counted, and a probe quote is
answered at once with an ``order/placeorder`` encoded from the :class:`PlaceOrder` model. No
sessions, stores, strategy, risk or order bookkeeping: whatever the framework costs above
this is its overhead.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from bench import wire
from bench.clients.common import Counters, parse_args
from tradovate_api.protocol import (
    HEARTBEAT_REQUEST,
    ChartEvent,
    MarketDataEvent,
    Messages,
    Open,
    Response,
    decode_frame,
    encode_body,
    encode_request,
)
from tradovate_api.protocol.models import (
    ChartDescription,
    GetChart,
    PlaceOrder,
    SymbolRequest,
    TimeRange,
)

_TEXT = WSMsgType.TEXT
_PROBE = wire.PROBE_CONTRACT_ID


class BareClient:
    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.counters = Counters()
        self.best: dict[int, tuple[float | None, float | None]] = {}
        self.books: dict[int, tuple[float, float]] = {}
        self.ticks = 0
        self.md: WSTransport | None = None
        self.trading: WSTransport | None = None
        self.md_closed = loop.create_future()
        self._pending: dict[int, asyncio.Future[Response]] = {}
        self._next_id = 1

    # ------------------------------------------------------------------ hot path

    def on_md(self, event: MarketDataEvent) -> int:
        data = event.data
        for quote in data.quotes:
            bid = quote.entries.bid
            offer = quote.entries.offer
            if quote.contract_id == _PROBE and bid is not None and bid.price is not None:
                self.send_order(bid.price)
            self.best[quote.contract_id] = (bid.price if bid else None,
                                            offer.price if offer else None)
        for dom in data.doms:
            self.books[dom.contract_id] = (dom.bids[0].price, dom.offers[0].price)
        return len(data.quotes) + len(data.doms)

    def on_chart(self, event: ChartEvent) -> int:
        packets = 0
        for packet in event.data.charts:
            if packet.tks:
                self.ticks += len(packet.tks)
                packets += 1
        return packets

    def send_order(self, price: float) -> None:
        self.counters.order()
        order = PlaceOrder(action="Buy", symbol=wire.PROBE_SYMBOL, order_qty=1,
                           order_type="Limit", price=price, account_spec=wire.ACCOUNT_SPEC,
                           account_id=wire.ACCOUNT_ID, cl_ord_id=f"bare-{self.counters.orders}",
                           is_automated=True)
        request_id = self._next_id
        self._next_id += 1
        assert self.trading is not None
        self.trading.send(_TEXT, encode_request("order/placeorder", request_id, "",
                                                encode_body(order)))

    def on_response(self, response: Response) -> None:
        future = self._pending.pop(response.i, None) if isinstance(response.i, int) else None
        if future is not None and not future.done():
            future.set_result(response)

    # ------------------------------------------------------------------ set-up

    async def request(self, transport: WSTransport, endpoint: str, body: Any) -> Response:
        request_id = self._next_id
        self._next_id += 1
        future: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        payload = body if isinstance(body, bytes) else encode_body(body)
        transport.send(_TEXT, encode_request(endpoint, request_id, "", payload))
        async with asyncio.timeout(10):
            response = await future
        if response.s != 200:
            raise RuntimeError(f"{endpoint} failed: {response.s} {response.body!r}")
        return response

    async def connect(self, url: str, kind: str) -> WSTransport:
        listener = _Socket(self, kind)
        transport, _ = await ws_connect(lambda: listener, f"{url}/{kind}")
        async with asyncio.timeout(10):
            await listener.opened
        await self.request(transport, "authorize", b"bench-token")
        return transport

    async def run(self, url: str) -> None:
        self.md = await self.connect(url, "md")
        self.trading = await self.connect(url, "trading")
        beats = asyncio.create_task(self.heartbeats())
        for cid, (name, _) in wire.CONTRACTS.items():
            await self.request(self.md, "md/subscribeQuote", SymbolRequest(symbol=name))
            await self.request(self.md, "md/subscribeDOM", SymbolRequest(symbol=cid))
            await self.request(self.md, "md/getChart", GetChart(
                symbol=name, chart_description=ChartDescription(
                    underlying_type="Tick", element_size=1, element_size_unit="UnderlyingUnits"),
                time_range=TimeRange(as_much_as_elements=1)))
        await self.request(self.md, "md/subscribeQuote", SymbolRequest(symbol=wire.PROBE_SYMBOL))
        try:
            await self.md_closed
        finally:
            beats.cancel()

    async def heartbeats(self) -> None:
        while True:
            await asyncio.sleep(2.5)
            for transport in (self.md, self.trading):
                if transport is not None and not transport.is_disconnected:
                    transport.send(_TEXT, HEARTBEAT_REQUEST)


class _Socket(WSListener):  # type: ignore[misc]
    def __init__(self, client: BareClient, kind: str) -> None:
        super().__init__()
        self.client = client
        self.kind = kind
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not _TEXT:
            if frame.msg_type is WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            return
        decoded = decode_frame(frame.get_payload_as_memoryview())
        kind = type(decoded)
        if kind is Messages:
            client = self.client
            events = 0
            for message in decoded.items:  # type: ignore[union-attr]
                mkind = type(message)
                if mkind is MarketDataEvent:
                    events += client.on_md(message)  # type: ignore[arg-type]
                elif mkind is ChartEvent:
                    events += client.on_chart(message)  # type: ignore[arg-type]
                elif mkind is Response:
                    client.on_response(message)  # type: ignore[arg-type]
            if events:
                client.counters.frame(events)
        elif kind is Open and not self.opened.done():
            self.opened.set_result(None)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        if self.kind == "md" and not self.client.md_closed.done():
            self.client.md_closed.set_result(None)


async def main_async(url: str, limit_s: float) -> None:
    client = BareClient()
    async with asyncio.timeout(limit_s):
        await client.run(url)
    client.counters.finish(client="bare", ticks=client.ticks)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    import uvloop

    uvloop.run(main_async(args.url, args.timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
