"""The strategy API: subclass :class:`Strategy`, use ``self.ctx`` (:class:`StrategyContext`);
the :class:`Dispatcher` feeds it store changes."""

from __future__ import annotations

from .base import Strategy
from .context import StrategyContext
from .dispatch import Dispatcher

__all__ = ["Dispatcher", "Strategy", "StrategyContext"]
