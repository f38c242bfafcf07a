"""Helpers for recording tests: a token for simulator sockets, a session runner, and an event
collector with bounded waits."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from tradovate_api.client import Session


async def sim_access_token(rest_url: str) -> str:
    """A token straight from the simulator's ``auth/accesstokenrequest``."""
    async with aiohttp.ClientSession() as http, http.post(
            f"{rest_url}/auth/accesstokenrequest",
            json={"name": "sim", "password": "sim"}) as reply:
        body: dict[str, Any] = await reply.json()
    token: str = body["accessToken"]
    return token


class Collector:
    """An event consumer that keeps events and wakes waiters."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self._changed = asyncio.Event()

    def __call__(self, event: Any) -> None:
        self.events.append(event)
        self._changed.set()

    async def until(self, predicate: Callable[[], bool], limit: float = 5.0) -> None:
        async with asyncio.timeout(limit):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()


@contextlib.asynccontextmanager
async def running(session: Session) -> AsyncIterator[None]:
    """Run one connection of ``session`` and close it afterwards."""
    task = asyncio.create_task(session.run())
    try:
        yield
    finally:
        await session.close()
        await asyncio.wait({task}, timeout=3)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
