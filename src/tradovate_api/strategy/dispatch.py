"""The dispatcher: store changes → strategy hooks, with exceptions isolated."""

from __future__ import annotations

from collections.abc import Iterable

from ..stores import AccountChange, MarketChange, SyncReport
from .base import Strategy
from .context import StrategyContext


class Dispatcher:
    """Calls the strategy's hooks for store changes; a hook that raises is logged, alerted
    (urgent ``strategy.exception``) and, if configured, pauses the strategy."""

    def __init__(self, strategy: Strategy, ctx: StrategyContext, *,
                 pause_on_error: bool = True, timer_interval_ms: int | None = None) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def market(self, changes: Iterable[MarketChange]) -> None:
        raise NotImplementedError

    def account(self, changes: Iterable[AccountChange]) -> None:
        raise NotImplementedError

    def sync(self, report: SyncReport, connection: int) -> None:
        raise NotImplementedError

    def run_timers(self, now_ms: int) -> None:
        raise NotImplementedError

    @property
    def paused(self) -> bool:
        raise NotImplementedError

    def resume(self) -> None:
        raise NotImplementedError
