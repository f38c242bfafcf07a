"""A synced plain trading client against a simulator inside an open session, and waits on the
simulator's own state, for the trading-fault tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
from conftest import TODAY, WsClient, authorized_socket, login, with_config

from tradovate_api.protocol import EntityEvent, Messages
from tradovate_api.protocol.models import Account, Command, Order, SyncMessage
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock

LIMIT = 10.0
"""Seconds any wait in these tests may take."""


@asynccontextmanager
async def open_sim(**config: Any) -> AsyncIterator[Simulator]:
    """A simulator on a clock inside an open session (``config``: SimulatorConfig keys)."""
    async with Simulator(with_config(**config), today=TODAY, clock=open_clock()) as sim:
        yield sim


@dataclass
class Synced:
    client: WsClient
    token: str
    user_id: int
    snapshot: SyncMessage

    @property
    def account(self) -> Account:
        return self.snapshot.accounts[0]


async def synced(sim: Simulator, http: aiohttp.ClientSession, token: str | None = None
                 ) -> Synced:
    """Authorized, ``user/syncrequest`` sent, snapshot decoded."""
    if token is None:
        token = (await login(http, sim))["accessToken"]
    client = await authorized_socket(sim.ws_url, token)
    user_id = sim.exchange.users()[0].id
    response = await client.request("user/syncrequest", {"users": [user_id]})
    assert response.s == 200
    return Synced(client, token, user_id, msgspec.json.decode(response.d, type=SyncMessage))


def order_body(account: Account, **fields: Any) -> dict[str, Any]:
    return {"accountSpec": account.name, "accountId": account.id, "action": "Buy",
            "symbol": "ESZ6", "orderQty": 1, "orderType": "Market", "isAutomated": True,
            **fields}


def commands(sim: Simulator, cl_ord_id: str) -> list[Command]:
    """The server's New commands carrying ``cl_ord_id``."""
    user = sim.exchange.users()[0].id
    return [c for c in sim.exchange.entities("command", user)
            if isinstance(c, Command) and c.cl_ord_id == cl_ord_id and c.command_type == "New"]


def order_of(sim: Simulator, order_id: int) -> Order:
    found = sim.exchange.item("order", order_id, sim.exchange.users()[0].id)
    assert isinstance(found, Order)
    return found


async def until(predicate: Callable[[], bool], limit: float = LIMIT) -> None:
    """Wait (bounded) for a condition on the simulator's state, checked every 10 ms."""
    async with asyncio.timeout(limit):
        while not predicate():  # noqa: ASYNC110 - the simulator's state has no event to await
            await asyncio.sleep(0.01)


def props_of(messages: list[Any], entity_type: str) -> list[Any]:
    """Entities of ``entity_type`` in the props events among ``messages``, in order."""
    return [e for m in messages if isinstance(m, EntityEvent) and m.entity_type == entity_type
            for e in m.entities]


async def drain(client: WsClient, seconds: float) -> list[Any]:
    """Every message the client receives for ``seconds`` (plus what it had buffered)."""
    messages, client.events = list(client.events), []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            frame = await client.frame(left)
        except TimeoutError:
            break
        if isinstance(frame, Messages):
            messages.extend(frame.items)
    return messages
