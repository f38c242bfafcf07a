"""Plain-client harness for driving the simulator: aiohttp for REST, ``websockets`` for the
sockets, and the protocol core's frame decoder to check what comes back."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import msgspec
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tradovate_api.protocol import (
    Frame,
    Messages,
    Open,
    Response,
    decode_frame,
    encode_request,
)
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock

TODAY = dt.date(2026, 11, 24)
"""A fixed date: the front months are then ESZ6, NQZ6, MESZ6, MNQZ6."""
FAST = SimulatorConfig(heartbeat_interval=0.2, idle_timeout=30.0, authorize_timeout=30.0,
                       tick_interval=0.02, warm_up=120.0)
"""Quick heartbeats and ticks, generous timeouts (tests that need short ones set them)."""
TIMEOUT = 5.0


class FakeClock:
    """Epoch seconds under test control (token expiry, penalty times)."""

    def __init__(self, now: float = 1_795_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def with_config(**changes: Any) -> SimulatorConfig:
    return msgspec.structs.replace(FAST, **changes)


class WsClient:
    """A minimal Tradovate websocket client: raw frames in, decoded frames out."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 1
        self.events: list[Any] = []
        """Messages read while waiting for something else, in arrival order."""
        self.frames: list[Frame] = []
        """Every decoded frame received."""

    async def frame(self, wait: float = TIMEOUT) -> Frame:
        data = await asyncio.wait_for(self.ws.recv(), wait)
        frame = decode_frame(data)
        self.frames.append(frame)
        return frame

    async def send(self, data: str | bytes) -> None:
        await self.ws.send(data if isinstance(data, str) else data.decode())

    async def request(self, endpoint: str, body: Any = None, query: str = "",
                      raw_body: str | None = None) -> Response:
        request_id = self.next_id
        self.next_id += 1
        payload = (raw_body.encode() if raw_body is not None
                   else b"" if body is None else msgspec.json.encode(body))
        await self.send(encode_request(endpoint, request_id, query, payload))
        return await self.response(request_id)

    async def response(self, request_id: int, wait: float = TIMEOUT) -> Response:
        for index, message in enumerate(self.events):
            if isinstance(message, Response) and message.i == request_id:
                return self.events.pop(index)  # type: ignore[no-any-return]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            frame = await self.frame(max(deadline - loop.time(), 0.01))
            if not isinstance(frame, Messages):
                continue
            found = None
            for message in frame.items:
                if isinstance(message, Response) and message.i == request_id:
                    found = message
                else:
                    self.events.append(message)
            if found is not None:
                return found

    async def event(self, match: Callable[[Any], bool], wait: float = TIMEOUT) -> Any:
        """The first buffered or arriving event (message) for which ``match`` is true."""
        for index, message in enumerate(self.events):
            if match(message):
                return self.events.pop(index)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            frame = await self.frame(max(deadline - loop.time(), 0.01))
            if isinstance(frame, Messages):
                self.events.extend(frame.items)
                for index, message in enumerate(self.events):
                    if match(message):
                        return self.events.pop(index)

    async def until_closed(self, *, heartbeat: bool = False, wait: float = TIMEOUT
                           ) -> list[Frame]:
        """Frames received until the server closes the connection (fails after ``wait``);
        ``heartbeat`` keeps sending ``[]`` meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        start = len(self.frames)
        try:
            while loop.time() < deadline:
                if heartbeat:
                    await self.send("[]")
                try:
                    await self.frame(min(0.1, max(deadline - loop.time(), 0.01)))
                except TimeoutError:
                    continue
        except ConnectionClosed:
            return self.frames[start:]
        raise AssertionError(f"the server did not close the connection within {wait} s")

    async def authorize(self, token: str, *, quoted: bool = False) -> Response:
        body = msgspec.json.encode(token).decode() if quoted else token
        return await self.request("authorize", raw_body=body)


async def open_socket(url: str) -> WsClient:
    """Connect and read the ``o`` frame."""
    ws = await connect(url, open_timeout=TIMEOUT, ping_interval=None, max_size=None)
    client = WsClient(ws)
    assert isinstance(await client.frame(), Open)
    return client


async def login(session: aiohttp.ClientSession, sim: Simulator, name: str = "sim",
                password: str = "sim") -> dict[str, Any]:
    async with session.post(f"{sim.rest_url}/auth/accesstokenrequest",
                            json={"name": name, "password": password, "appId": "tests",
                                  "appVersion": "1.0", "cid": 8, "sec": "x"}) as reply:
        assert reply.status == 200
        body: dict[str, Any] = await reply.json()
        return body


async def authorized_socket(url: str, token: str) -> WsClient:
    client = await open_socket(url)
    response = await client.authorize(token)
    assert response.s == 200
    return client


async def rest(session: aiohttp.ClientSession, sim: Simulator, endpoint: str, *,
               token: str | None = None, body: Any = None, method: str = "POST",
               params: dict[str, str] | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with session.request(method, f"{sim.rest_url}/{endpoint}", json=body,
                               params=params, headers=headers) as reply:
        raw = await reply.read()
        return reply.status, (msgspec.json.decode(raw) if raw else None)


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(FAST, today=TODAY, clock=open_clock()) as simulator:
        yield simulator


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
