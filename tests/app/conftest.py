"""Fixtures for the TradingApp integration tests (helpers live in ``app_helpers``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock

FAST_MARKET = SimulatorConfig(warm_up=60.0, tick_interval=0.02, heartbeat_interval=0.2)


@pytest.fixture
def clock() -> Callable[[], float]:
    """The simulator's clock, inside an open session (tests may advance it)."""
    return open_clock()


@pytest.fixture
async def sim(clock: Callable[[], float]) -> AsyncIterator[Simulator]:
    async with Simulator(FAST_MARKET, seed=11, clock=clock) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    """The app routes the root logger through its log writer; put the level back."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)
