"""The strategy API: subclass :class:`Strategy`, use ``self.ctx`` (:class:`StrategyContext`);
the :class:`Dispatcher` feeds it store changes; a strategy declares typed parameters as
``Params`` (a :class:`StrategyParams`)."""

from __future__ import annotations

from .base import Strategy
from .context import StrategyContext
from .dispatch import Dispatcher
from .params import (
    Fraction,
    NonNegative,
    NonNegativeInt,
    Positive,
    PositiveInt,
    StrategyParams,
    strategy_params,
)

__all__ = ["Dispatcher", "Fraction", "NonNegative", "NonNegativeInt", "Positive", "PositiveInt",
           "Strategy", "StrategyContext", "StrategyParams", "strategy_params"]
