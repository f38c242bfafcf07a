"""Store changes → every account's order path, then every strategy: the readers' one target.

The readers hand each batch of changes to one :class:`StrategyFeed`. Account data go first to
each account's order manager and risk manager — once per account, however many strategies
trade it — then to each strategy's dispatcher (built with ``feeds_orders=False``). Market data
go to every dispatcher; with one strategy :attr:`StrategyFeed.market` *is* that dispatcher's
bound method, so the md reader's hot path is what it was before there could be several.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from ..stores import AccountChange, MarketChange, NewFill, SyncReport
from .accounts import AccountRun, StrategyRun


class StrategyFeed:
    """See the module doc."""

    __slots__ = ("_accounts", "_dispatchers", "_watching", "market")

    def __init__(self, accounts: Sequence[AccountRun], runs: Sequence[StrategyRun],
                 market_runs: Sequence[StrategyRun] | None = None) -> None:
        """``accounts`` and ``runs``: those of one login (its account data come to it);
        ``market_runs``: every strategy run of the run (market data; default ``runs``)."""
        self._accounts = tuple(accounts)
        self._dispatchers = tuple(run.dispatcher for run in runs)
        watching = self._dispatchers if market_runs is None else tuple(
            run.dispatcher for run in market_runs)
        self._watching = watching
        self.market: Callable[[Iterable[MarketChange]], None] = (
            watching[0].market if len(watching) == 1 else self._market_all)
        """Changes ``MarketDataWriter.apply`` returned (the md reader's hot path)."""

    def _market_all(self, changes: Iterable[MarketChange]) -> None:
        batch = changes if isinstance(changes, list) else list(changes)
        for dispatcher in self._watching:
            dispatcher.market(batch)

    def account(self, changes: Iterable[AccountChange]) -> None:
        """Changes ``AccountWriter.apply`` returned: order managers, risk, then strategies."""
        batch = changes if isinstance(changes, list) else list(changes)
        filled = any(type(c) is NewFill for c in batch)
        for account in self._accounts:
            account.orders.on_account(batch)
            if filled:
                account.risk.evaluate()
        for dispatcher in self._dispatchers:
            dispatcher.account(batch)

    def sync(self, report: SyncReport, connection: int) -> None:
        """A snapshot was applied: lost answers settled, risk evaluated, then strategies."""
        for account in self._accounts:
            account.orders.on_sync(report, connection)
            account.risk.evaluate()
        for dispatcher in self._dispatchers:
            dispatcher.sync(report, connection)
