"""Finding the strategy a run names (``trading.strategy = "package.module:Class"``).

With the strategy API, not the runtime, so that everything that runs a strategy — the live
app, a replay, a backtest — loads it by the same rule without importing each other.
"""

from __future__ import annotations

import importlib

from ..errors import StartupError
from .base import Strategy


def load_strategy(reference: str) -> Strategy:
    """Instantiate the strategy class named ``"package.module:Class"`` (no arguments; its
    parameters arrive as ``ctx.params``)."""
    module_name, _, class_name = reference.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise StartupError(f"trading.strategy: cannot import {module_name!r}: {exc}") from None
    cls = getattr(module, class_name, None)
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise StartupError(f"trading.strategy: {reference!r} is not a Strategy subclass")
    strategy: Strategy = cls()
    return strategy
