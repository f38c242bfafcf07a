"""The reliability tests reuse the notifier tests' loopback Twilio, SMTP and webhook servers
(``tests/notify/notify_helpers.py``) rather than keeping a second copy of them."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

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
