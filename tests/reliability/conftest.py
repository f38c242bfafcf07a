"""The reliability tests reuse the notifier tests' loopback Twilio, SMTP and webhook servers
(``tests/notify/notify_helpers.py``) rather than keeping a second copy of them; ``server`` is
the junk-sending websocket server (``junk_server.py``)."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from junk_server import JunkServer

_NOTIFY = str(Path(__file__).resolve().parent.parent / "notify")
if _NOTIFY not in sys.path:
    sys.path.append(_NOTIFY)


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    """A TradingApp routes the root logger through its log writer; put the level back."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


@pytest.fixture
async def server() -> AsyncIterator[JunkServer]:
    junk = JunkServer()
    await junk.start()
    yield junk
    await junk.stop()
