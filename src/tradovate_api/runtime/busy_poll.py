"""Busy-poll mode: the event loop polls its sockets without ever going to sleep.

An idle event loop blocks in ``epoll_wait`` until a frame arrives, and waking that thread (on a
virtual machine, often its virtual CPU too) is most of a tick-to-order round trip at low load:
this project's stack measured 149 µs p50 idle, 92 µs with the loop kept busy. With
``connection.busy_poll`` one supervised task yields to the loop in a tight loop, so there is
always something ready and the loop polls with a zero timeout: a frame is read as soon as the
kernel has it. The price is one CPU core at 100% for the whole run, so it is opt-in; on a
machine with fewer than two spare cores the spinning task competes with the rest of the
process (and everything else) and can make things worse — measure (``python -m bench
--scenarios busy``).
"""

from __future__ import annotations

import asyncio
from typing import NoReturn


class BusyPoller:
    """The spinning task (``run``) and how many loop iterations it has driven."""

    __slots__ = ("spins",)

    def __init__(self) -> None:
        self.spins = 0

    async def run(self) -> NoReturn:
        """Yield to the event loop for ever (until cancelled by the supervisor)."""
        yield_to_loop = asyncio.sleep
        while True:
            await yield_to_loop(0)
            self.spins += 1
