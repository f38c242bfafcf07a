"""Fixtures for the client tests (helpers live in ``client_helpers``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from client_helpers import FrameServer


@pytest.fixture
async def frame_server() -> AsyncIterator[FrameServer]:
    server = FrameServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()

