"""Fixtures of the dashboard tests (helpers live in ``dashboard_helpers``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_root_logger() -> Iterator[None]:
    """The app routes the root logger through its log writer; put the level back."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)
