"""The naive baseline: ``websockets`` + stdlib ``json`` + the default asyncio loop.

What a first Python Tradovate client usually looks like: an ``async for`` over the md socket,
``json.loads`` of every ``a[...]`` frame, a dispatch on ``e``, a per-contract best bid/offer,
and ``json.dumps`` of the order body when the probe quote arrives.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench import wire
from bench.clients.common import Counters, parse_args

_PROBE = wire.PROBE_CONTRACT_ID


class NaiveClient:
    def __init__(self) -> None:
        self.counters = Counters()
        self.best: dict[int, tuple[Any, Any]] = {}
        self.books: dict[int, tuple[Any, Any]] = {}
        self.ticks = 0
        self.trading: ClientConnection | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 1

    def _id(self) -> int:
        request_id = self._next_id
        self._next_id += 1
        return request_id

    async def send_order(self, price: float) -> None:
        self.counters.order()
        body = {"accountSpec": wire.ACCOUNT_SPEC, "accountId": wire.ACCOUNT_ID,
                "clOrdId": f"naive-{self.counters.orders}", "action": "Buy",
                "symbol": wire.PROBE_SYMBOL, "orderQty": 1, "orderType": "Limit",
                "price": price, "isAutomated": True}
        assert self.trading is not None
        await self.trading.send(f"order/placeorder\n{self._id()}\n\n{json.dumps(body)}")

    async def handle(self, text: str) -> None:
        if text[:1] != "a":
            return
        events = 0
        for message in json.loads(text[1:]):
            kind = message.get("e")
            if kind == "md":
                data = message["d"]
                for quote in data.get("quotes", ()):
                    entries = quote["entries"]
                    bid = entries.get("Bid", {}).get("price")
                    if quote["contractId"] == _PROBE:
                        await self.send_order(bid)
                    self.best[quote["contractId"]] = (bid, entries.get("Offer", {}).get("price"))
                    events += 1
                for dom in data.get("doms", ()):
                    self.books[dom["contractId"]] = (dom["bids"][0]["price"],
                                                     dom["offers"][0]["price"])
                    events += 1
            elif kind == "chart":
                for packet in message["d"]["charts"]:
                    if packet.get("tks"):
                        self.ticks += len(packet["tks"])
                        events += 1
            elif "s" in message:
                future = self._pending.pop(message.get("i"), None)  # type: ignore[arg-type]
                if future is not None and not future.done():
                    future.set_result(message)
        if events:
            self.counters.frame(events)

    async def request(self, ws: ClientConnection, endpoint: str, body: Any,
                      reader: bool = True) -> dict[str, Any]:
        request_id = self._id()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        text = body if isinstance(body, str) else json.dumps(body)
        await ws.send(f"{endpoint}\n{request_id}\n\n{text}")
        async with asyncio.timeout(10):
            response = await future
        if response.get("s") != 200:
            raise RuntimeError(f"{endpoint} failed: {response}")
        return response

    async def reader(self, ws: ClientConnection) -> None:
        try:
            async for text in ws:
                await self.handle(str(text))
        except ConnectionClosed:
            pass

    async def heartbeats(self, *sockets: ClientConnection) -> None:
        while True:
            await asyncio.sleep(2.5)
            for ws in sockets:
                await ws.send("[]")

    async def open(self, url: str) -> tuple[ClientConnection, asyncio.Task[None]]:
        ws = await connect(url, max_size=None, ping_interval=None)
        async with asyncio.timeout(10):
            if await ws.recv() != "o":
                raise RuntimeError("expected the 'o' frame")
        task = asyncio.create_task(self.reader(ws))
        await self.request(ws, "authorize", "bench-token")
        return ws, task

    async def run(self, url: str) -> None:
        md, md_task = await self.open(f"{url}/md")
        self.trading, trading_task = await self.open(f"{url}/trading")
        beats = asyncio.create_task(self.heartbeats(md, self.trading))
        for cid, (name, _) in wire.CONTRACTS.items():
            await self.request(md, "md/subscribeQuote", {"symbol": name})
            await self.request(md, "md/subscribeDOM", {"symbol": cid})
            await self.request(md, "md/getChart", {
                "symbol": name, "chartDescription": {"underlyingType": "Tick", "elementSize": 1,
                                                     "elementSizeUnit": "UnderlyingUnits"},
                "timeRange": {"asMuchAsElements": 1}})
        await self.request(md, "md/subscribeQuote", {"symbol": wire.PROBE_SYMBOL})
        try:
            await md_task
        finally:
            beats.cancel()
            trading_task.cancel()
            await self.trading.close()


async def main_async(url: str, limit_s: float) -> None:
    client = NaiveClient()
    async with asyncio.timeout(limit_s):
        await client.run(url)
    client.counters.finish(client="naive", ticks=client.ticks)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv)
    asyncio.run(main_async(args.url, args.timeout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
