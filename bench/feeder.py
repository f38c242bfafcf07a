"""The benchmark's market: a minimal, fast Tradovate server in its own process.

``python -m bench.feeder --scenario idle ...`` listens on 127.0.0.1 (picows, uvloop) with the
market-data socket at ``/md`` and the trading socket at ``/trading``, prints ``LISTEN <port>``,
waits for one client to connect both, runs the scenario, prints ``RESULT <json>`` and closes
both sockets with a close frame.

It speaks only what a client needs: ``o``, ``authorize``, ``h`` every 2.5 s, the ``[]``
heartbeat, ``md/subscribe*``/``md/getChart`` (+ end of history), ``user/syncrequest`` (a small
account) and ``order/placeorder`` (answered with an order id; nothing is matched or filled).
For the framework's start-up it also serves, over REST (``REST <port>`` line, base
``/v1``) and over the trading socket, the login, ``account/list`` and the contract look-ups.
Anything else gets the documented 404.

Latency is measured here on one monotonic clock (``perf_counter_ns``): a probe frame is stamped
just before it is written, and the order it causes is stamped first thing when its frame is
read, so the number is the full round trip tick → client → order, with no cross-process clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec
from aiohttp import web
from picows import WSFrame, WSListener, WSMsgType, WSTransport, WSUpgradeRequest, ws_create_server

from bench import wire
from tradovate_api.protocol import (
    OPEN_FRAME,
    ChartEvent,
    ClientRequest,
    Response,
    encode_messages,
    parse_request,
)
from tradovate_api.protocol.models import (
    AccessTokenResponse,
    ChartData,
    ChartPacket,
    ChartSubscriptionResult,
    MarketDataSubscriptionResult,
    PlaceOrder,
    PlaceOrderResult,
    SymbolRequest,
)

_TEXT = WSMsgType.TEXT
_clock = time.perf_counter_ns
_symbol_decoder = msgspec.json.Decoder(SymbolRequest)
_order_decoder = msgspec.json.Decoder(PlaceOrder)
_encoder = msgspec.json.Encoder()
HEARTBEAT_S = 2.5
PROBE_TIMEOUT_S = 2.0
HANDSHAKE_S = 60.0
HANDSHAKE_PROBE_S = 0.3


def respond(request_id: int, status: int = 200, body: Any = None) -> bytes:
    """An ``a[{"s":..,"i":..,"d":..}]`` frame (``d`` omitted when ``body`` is None)."""
    if body is None:
        return encode_messages([Response(s=status, i=request_id)])
    return encode_messages([Response(s=status, i=request_id, d=msgspec.Raw(_encoder.encode(body)))])


class Feeder:
    """Connection state shared by both sockets, and the probe bookkeeping."""

    def __init__(self, order_events: bool = True) -> None:
        self.order_events = order_events
        self.md: WSTransport | None = None
        self.trading: WSTransport | None = None
        self.md_authorized = asyncio.Event()
        self.trading_authorized = asyncio.Event()
        self.probe_subscribed = asyncio.Event()
        self.subscriptions: list[str] = []
        self.orders = 0
        self.unmatched_orders = 0
        self.md_frames = 0
        self.md_events = 0
        self.counted_from = (0, 0)
        """(frames, events) sent before the handshake's answered probe: not counted."""
        self._waiting: dict[int, asyncio.Future[int]] = {}
        self._next_order_id = 1
        self.paused = False
        self.resumed = asyncio.Event()

    # ------------------------------------------------------------------ probes

    def expect(self, seq: int) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting[seq] = future
        return future

    def forget(self, seq: int) -> None:
        self._waiting.pop(seq, None)

    def on_order(self, arrived_ns: int, request: ClientRequest) -> list[bytes]:
        """Stamp the order's probe, answer with an order id, then (``order_events``) report
        the order's short life as ``props`` events."""
        self.orders += 1
        try:
            order = _order_decoder.decode(request.body)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return [respond(request.request_id, 400, f"bad order: {exc}")]
        future = None if order.price is None else self._waiting.pop(wire.probe_seq(order.price),
                                                                    None)
        if future is None:
            self.unmatched_orders += 1
        elif not future.done():
            future.set_result(arrived_ns)
        order_id = self._next_order_id
        self._next_order_id += 1
        reply = [respond(request.request_id, 200, PlaceOrderResult(order_id=order_id))]
        if self.order_events:
            reply.append(wire.order_events(order_id, order))
        return reply

    # ------------------------------------------------------------------ sending

    def send_md(self, data: bytes, events: int = 1) -> None:
        """Write one md frame carrying ``events`` entries (quotes + DOMs + tick packets)."""
        transport = self.md
        if transport is None or transport.is_disconnected:
            raise ConnectionError("market-data socket is gone")
        transport.send(_TEXT, data)
        self.md_frames += 1
        self.md_events += events

    async def drain(self) -> None:
        """Wait while the md socket's write buffer is over its high-water mark."""
        while self.paused:
            self.resumed.clear()
            async with asyncio.timeout(PROBE_TIMEOUT_S * 5):
                await self.resumed.wait()

    async def heartbeats(self) -> None:
        """``h`` on both sockets every 2.5 s, so a quiet socket never looks dead."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            for transport in (self.md, self.trading):
                if transport is not None and not transport.is_disconnected:
                    transport.send(_TEXT, b"h")

    def close(self) -> None:
        for transport in (self.md, self.trading):
            if transport is not None and not transport.is_disconnected:
                transport.send_close()
                transport.disconnect(graceful=True)


class _Socket(WSListener):  # type: ignore[misc]
    """One accepted websocket; ``kind`` is ``md`` or ``trading`` (from the URL path)."""

    def __init__(self, feeder: Feeder, kind: str) -> None:
        super().__init__()
        self.feeder = feeder
        self.kind = kind

    def on_ws_connected(self, transport: WSTransport) -> None:
        if self.kind == "md":
            self.feeder.md = transport
        else:
            self.feeder.trading = transport
        transport.send(_TEXT, OPEN_FRAME)

    def pause_writing(self) -> None:
        if self.kind == "md":
            self.feeder.paused = True

    def resume_writing(self) -> None:
        if self.kind == "md":
            self.feeder.paused = False
            self.feeder.resumed.set()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        arrived = _clock()
        if frame.msg_type is not _TEXT:
            if frame.msg_type is WSMsgType.CLOSE:
                transport.send_close(frame.get_close_code())
                transport.disconnect()
            return
        request = parse_request(frame.get_payload_as_bytes())
        if not isinstance(request, ClientRequest):
            return  # the [] heartbeat (or junk): nothing to answer
        handler = _HANDLERS.get(request.endpoint)
        if handler is None:
            replies = [respond(request.request_id,
                               *reference(request.endpoint, request.query_params()))]
        else:
            replies = handler(self, request, arrived)
        for reply in replies:
            transport.send(_TEXT, reply)

    # ------------------------------------------------------------------ endpoints

    def _authorize(self, request: ClientRequest, arrived: int) -> list[bytes]:
        (self.feeder.md_authorized if self.kind == "md" else self.feeder.trading_authorized).set()
        return [respond(request.request_id)]

    def _subscribe(self, request: ClientRequest, arrived: int) -> list[bytes]:
        symbol = _symbol_of(request)
        self.feeder.subscriptions.append(f"{request.endpoint} {symbol}")
        if str(symbol) in wire.PROBE_SYMBOLS and request.endpoint == "md/subscribequote":
            self.feeder.probe_subscribed.set()
        return [respond(request.request_id, 200, MarketDataSubscriptionResult(
            mode="RealTime", subscription_id=len(self.feeder.subscriptions)))]

    def _unsubscribe(self, request: ClientRequest, arrived: int) -> list[bytes]:
        return [respond(request.request_id, 200, {})]

    def _get_chart(self, request: ClientRequest, arrived: int) -> list[bytes]:
        """The chart's ids, then the end of its (empty) history."""
        index = wire.contract_index(_symbol_of(request))
        if index is None:
            return [respond(request.request_id, 200, ChartSubscriptionResult(
                mode="None", error_text="Unknown symbol", error_code="UnknownSymbol"))]
        historical, realtime = wire.chart_ids(index)
        self.feeder.subscriptions.append(f"md/getchart {index}")
        eoh = ChartPacket(id=historical, eoh=True)
        return [respond(request.request_id, 200, ChartSubscriptionResult(
                    historical_id=historical, realtime_id=realtime, mode="RealTime")),
                encode_messages([ChartEvent(ChartData(charts=[eoh]))])]

    def _sync(self, request: ClientRequest, arrived: int) -> list[bytes]:
        return [respond(request.request_id, 200, wire.sync_snapshot())]

    def _place_order(self, request: ClientRequest, arrived: int) -> list[bytes]:
        return self.feeder.on_order(arrived, request)


Handler = Callable[[_Socket, ClientRequest, int], list[bytes]]
_HANDLERS: dict[str, Handler] = {
    "authorize": _Socket._authorize,
    "md/subscribequote": _Socket._subscribe,
    "md/subscribedom": _Socket._subscribe,
    "md/subscribehistogram": _Socket._subscribe,
    "md/unsubscribequote": _Socket._unsubscribe,
    "md/unsubscribedom": _Socket._unsubscribe,
    "md/unsubscribehistogram": _Socket._unsubscribe,
    "md/cancelchart": _Socket._unsubscribe,
    "md/getchart": _Socket._get_chart,
    "user/syncrequest": _Socket._sync,
    "order/placeorder": _Socket._place_order,
}


def reference(endpoint: str, params: Mapping[str, str]) -> tuple[int, Any]:
    """Start-up look-ups (REST or socket): login, accounts, contracts, maturities, products.
    ``endpoint`` is lower-cased; returns (status, body)."""
    contracts = wire.all_contracts()
    by_name = {name: cid for cid, name in contracts.items()}
    key = params.get("id") or params.get("name") or ""
    if endpoint in ("auth/accesstokenrequest", "auth/renewaccesstoken"):
        expires = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 86_400))
        return 200, AccessTokenResponse(
            access_token="bench-access-token", md_access_token="bench-md-token",
            expiration_time=expires, user_id=wire.USER_ID, name="bench", user_status="Active")
    if endpoint == "account/list":
        return 200, wire.sync_snapshot().accounts
    if endpoint == "contract/find" and key in by_name:
        return 200, wire.contract_entity(by_name[key])
    if endpoint == "contract/item" and key.isdigit() and int(key) in contracts:
        return 200, wire.contract_entity(int(key))
    if endpoint == "contractmaturity/item":
        for cid in contracts:
            maturity = wire.maturity_entity(cid)
            if str(maturity.id) == key:
                return 200, maturity
    if endpoint in ("product/item", "product/find"):
        for product in wire.sync_snapshot().products:
            if key in (str(product.id), product.name):
                return 200, product
    if endpoint in ("contract/find", "contract/item", "contractmaturity/item", "product/item",
                    "product/find"):
        return 404, f"Not found: {key}"
    return 404, f"Not found: {endpoint}"


async def start_rest(port: int) -> web.AppRunner:
    """The REST side (``/v1/...``) of :func:`reference`, for the framework's start-up."""

    async def handle(request: web.Request) -> web.Response:
        status, body = reference(request.match_info["endpoint"].lower(), request.query)
        return web.Response(status=status, body=_encoder.encode(body),
                            content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/v1/{endpoint:.+}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def _symbol_of(request: ClientRequest) -> str | int:
    try:
        return _symbol_decoder.decode(request.body).symbol
    except (msgspec.DecodeError, msgspec.ValidationError):
        return ""


# ----------------------------------------------------------------------------- scenarios


async def probe_once(feeder: Feeder, seq: int, before: Sequence[bytes] = (),
                     timeout_s: float = PROBE_TIMEOUT_S) -> int | None:
    """Send ``before`` then probe ``seq``; the round trip in ns, or None if no order came
    within ``timeout_s``."""
    future = feeder.expect(seq)
    frame = wire.probe_frame(seq)
    for data in before:
        feeder.send_md(data)
    sent = _clock()
    feeder.send_md(frame)
    try:
        async with asyncio.timeout(timeout_s):
            arrived = await future
    except TimeoutError:
        feeder.forget(seq)
        return None
    return arrived - sent


async def handshake(feeder: Feeder) -> int:
    """Wait for both sockets and the probe subscription, then probe until the first order
    comes back: from then on the client's whole path is live, and frames are counted from
    that probe on (clients count from the first probe they answer). Returns the next seq."""
    async with asyncio.timeout(HANDSHAKE_S):
        await feeder.md_authorized.wait()
        await feeder.trading_authorized.wait()
        await feeder.probe_subscribed.wait()
        seq = 1
        while True:
            before = (feeder.md_frames, feeder.md_events)
            if await probe_once(feeder, seq, timeout_s=HANDSHAKE_PROBE_S) is not None:
                feeder.counted_from = before
                return seq + 1
            seq += 1


async def latency(feeder: Feeder, args: argparse.Namespace) -> dict[str, Any]:
    """Paced probes (``idle``), or each probe behind ``--queued`` DOM frames (``loaded``)."""
    seq = await handshake(feeder)
    doms = wire.FrameMix(args.seed).dom_frames()
    queued = args.queued if args.scenario == "loaded" else 0
    interval_ns = args.interval_us * 1000
    samples: list[int] = []
    lost = 0
    for n in range(args.warmup + args.probes):
        before = [next(doms).data for _ in range(queued)]
        started = _clock()
        rtt = await probe_once(feeder, seq, before)
        seq += 1
        if rtt is None:
            lost += 1
        elif n >= args.warmup:
            samples.append(rtt)
        wait_ns = started + interval_ns - _clock()
        if wait_ns > 0:
            await asyncio.sleep(wait_ns / 1e9)
    return {"rtt_ns": samples, "lost": lost, "queued": queued, "interval_us": args.interval_us,
            "warmup": args.warmup}


async def flood(feeder: Feeder, args: argparse.Namespace) -> dict[str, Any]:
    """``--frames`` frames as fast as the client takes them (the feeder stops writing while
    the socket buffer is full), then a probe; elapsed is first write → the probe's order."""
    seq = await handshake(feeder)
    mix = wire.FrameMix(args.seed).frames()
    frames_before, events_before = feeder.md_frames, feeder.md_events
    started = _clock()
    for _ in range(args.frames):
        counted = next(mix)
        feeder.send_md(counted.data, counted.events)
        if feeder.paused:
            await feeder.drain()
    rtt = await probe_once(feeder, seq)
    if rtt is None:
        raise RuntimeError("flood: the end probe got no order")
    elapsed = _clock() - started
    return {"flood_frames": feeder.md_frames - frames_before,
            "flood_events": feeder.md_events - events_before, "elapsed_ns": elapsed,
            "end_probe_rtt_ns": rtt}


async def soak(feeder: Feeder, args: argparse.Namespace) -> dict[str, Any]:
    """A steady ``--rate`` frames/s (sent every 10 ms) for ``--seconds``, with a probe every
    ``--probe-every`` seconds; the harness samples the client's RSS meanwhile."""
    seq = await handshake(feeder)
    mix = wire.FrameMix(args.seed).frames()
    per_batch = max(1, round(args.rate / 100))
    start = _clock()
    end = start + int(args.seconds * 1e9)
    next_probe = start
    lost = 0
    probes: list[tuple[float, int]] = []
    batch = 0
    while (now := _clock()) < end:
        if now >= next_probe:
            rtt = await probe_once(feeder, seq)
            seq += 1
            next_probe += int(args.probe_every * 1e9)
            if rtt is None:
                lost += 1
            else:
                probes.append(((_clock() - start) / 1e9, rtt))
        for _ in range(per_batch):
            counted = next(mix)
            feeder.send_md(counted.data, counted.events)
        batch += 1
        await feeder.drain()
        wait_ns = start + batch * 10_000_000 - _clock()
        if wait_ns > 0:
            await asyncio.sleep(wait_ns / 1e9)
    return {"seconds": (_clock() - start) / 1e9, "probes": probes, "lost": lost}


SCENARIOS = {"idle": latency, "loaded": latency, "flood": flood, "soak": soak}


async def serve(args: argparse.Namespace) -> dict[str, Any]:
    feeder = Feeder(order_events=not args.no_order_events)

    def listener(request: WSUpgradeRequest) -> WSListener | None:
        path = request.path.decode() if isinstance(request.path, bytes) else str(request.path)
        kind = path.rstrip("/").rsplit("/", 1)[-1]
        return _Socket(feeder, kind) if kind in ("md", "trading") else None

    server = await ws_create_server(listener, "127.0.0.1", args.port,
                                    websocket_handshake_timeout=5.0)
    rest = await start_rest(args.rest_port)
    port = server.sockets[0].getsockname()[1]
    rest_port = rest.addresses[0][1]
    print(f"LISTEN {port} {rest_port}", flush=True)
    beats = asyncio.create_task(feeder.heartbeats())
    try:
        result = await SCENARIOS[args.scenario](feeder, args)
    finally:
        beats.cancel()
        feeder.close()
        server.close()
        await rest.cleanup()
    frames_from, events_from = feeder.counted_from
    result.update(scenario=args.scenario, frames_sent=feeder.md_frames - frames_from,
                  events_sent=feeder.md_events - events_from, orders=feeder.orders,
                  unmatched_orders=feeder.unmatched_orders, subscriptions=feeder.subscriptions)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    parser.add_argument("--port", type=int, default=0, help="websockets (0: any)")
    parser.add_argument("--rest-port", type=int, default=0, help="REST (0: any)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-order-events", action="store_true",
                        help="answer orders without the props events of their life")
    parser.add_argument("--probes", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--interval-us", type=int, default=1000, help="probe pacing")
    parser.add_argument("--queued", type=int, default=4, help="DOM frames ahead of each probe")
    parser.add_argument("--frames", type=int, default=100_000, help="flood size")
    parser.add_argument("--rate", type=float, default=1000.0, help="soak frames/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="soak duration")
    parser.add_argument("--probe-every", type=float, default=0.1, help="soak probe period (s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import uvloop

    result = uvloop.run(serve(args))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
