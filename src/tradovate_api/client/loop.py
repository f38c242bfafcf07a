"""The event loop: uvloop when it is importable (measured ~2x faster on this workload when the
stack was chosen; docs/performance.md), plain asyncio otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop: uvloop's if installed, else asyncio's default."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def uses_uvloop(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop`` is a uvloop loop."""
    return type(loop).__module__.startswith("uvloop")


def run(main: Coroutine[Any, Any, _T]) -> _T:
    """Run ``main`` to completion on a loop from :func:`new_event_loop`."""
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        return runner.run(main)
