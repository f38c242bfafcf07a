"""Busy-poll mode: the spinning task keeps the event loop's thread on the CPU, and only when
switched on."""

from __future__ import annotations

import asyncio
import time

import pytest

from tradovate_api.runtime.busy_poll import BusyPoller
from tradovate_api.settings import settings_from_mapping


async def _loop_thread_cpu(seconds: float) -> float:
    """CPU time the event loop's thread uses while the loop has nothing to do."""
    started = time.thread_time()
    await asyncio.sleep(seconds)
    return time.thread_time() - started


@pytest.mark.parametrize("spinning", [False, True], ids=["sleeping", "busy"])
async def test_a_spinning_loop_keeps_its_thread_on_the_cpu(spinning: bool) -> None:
    poller = BusyPoller()
    task = asyncio.create_task(poller.run()) if spinning else None
    try:
        cpu = await _loop_thread_cpu(0.4)
    finally:
        if task is not None:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
    if spinning:
        assert cpu > 0.1  # mostly on the CPU (the machine may deschedule it now and then)
        assert poller.spins > 1_000
    else:
        assert cpu < 0.05
        assert poller.spins == 0


async def test_timers_and_io_keep_their_timing_while_spinning() -> None:
    """Spinning must not starve anything: a timer fires on time and a socket round trip
    completes while the poller runs."""
    poller = BusyPoller()
    task = asyncio.create_task(poller.run())
    try:
        async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.write(await reader.readline())
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server, asyncio.timeout(5):
            started = time.monotonic()
            await asyncio.sleep(0.05)
            assert time.monotonic() - started < 0.5
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"ping\n")
            assert await reader.readline() == b"ping\n"
            writer.close()
            await writer.wait_closed()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert poller.spins > 0


def test_the_setting_defaults_off() -> None:
    assert settings_from_mapping({}).connection.busy_poll is False
    assert settings_from_mapping({"connection": {"busy_poll": True}}).connection.busy_poll
