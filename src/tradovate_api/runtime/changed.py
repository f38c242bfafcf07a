"""A wake-up for tasks waiting on a condition over state that changes in callbacks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Changed:
    """The writer calls :meth:`notify` after each change; waiters re-check their condition.
    Every waiter of a change is woken, and none is left behind by a change that happens while
    it re-checks (each notify swaps in a fresh event)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait until ``predicate()`` holds; callers bound it with ``asyncio.timeout``."""
        while not predicate():
            await self._event.wait()
