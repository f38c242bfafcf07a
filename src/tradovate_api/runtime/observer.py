"""What the trading app tells observers (journal, md recorder): a base class of no-op hooks.

Hooks run on the reader that handled the event, right after the store applied it, so they must
return at once (enqueue, never write); the app logs and swallows an exception from a hook, so
an observer can never stop trading.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..client import FrameObserver, SyncSnapshot, TradingSession
    from ..orders import ContractBook, OrderManager, OrderTicket
    from ..protocol import EntityEvent
    from ..stores import AccountChange, AccountView, SyncReport
    from .accounts import AccountRun
    from .changed import Changed

_log = logging.getLogger("tradovate_api.runtime.observer")


class PreparedApp(Protocol):
    """What an observer may use of the app it observes (``TradingApp`` is one): the order
    path and the account, set once the app is prepared."""

    @property
    def account(self) -> AccountView: ...

    @property
    def account_changed(self) -> Changed:
        """Notified after every account event the reader applied."""
        ...

    @property
    def contracts(self) -> ContractBook: ...

    @property
    def account_id(self) -> int | None: ...

    @property
    def accounts(self) -> tuple[AccountRun, ...]:
        """Every account's order path: the traded ones (the first is ``orders``), then the
        trade copier's followers."""
        ...

    @property
    def orders(self) -> OrderManager | None: ...

    @property
    def trading(self) -> TradingSession | None: ...

    @property
    def trading_sessions(self) -> tuple[TradingSession, ...]:
        """Every login's trading connection, the primary's (``trading``) first."""
        ...


class AppObserver:
    """Override the hooks you need."""

    def on_prepared(self, app: PreparedApp) -> None:
        """Logged in, account chosen, contracts resolved, order path built; nothing
        connected yet (``app.contracts``, ``app.orders`` are set)."""

    def on_md_connection(self, number: int) -> None:
        """The md socket's connection ``number`` delivered its first event (chart ids of
        earlier connections mean nothing now)."""

    def on_chart(self, contract_id: int, historical_id: int, realtime_id: int | None) -> None:
        """Chart packets with these ids belong to ``contract_id``'s tick chart."""

    def on_snapshot(self, snapshot: SyncSnapshot, report: SyncReport) -> None:
        """A ``user/syncrequest`` snapshot was applied to the account store."""

    def on_account_event(self, event: EntityEvent, changes: list[AccountChange]) -> None:
        """A ``props`` event was applied to the account store."""

    def on_order_filled(self, ticket: OrderTicket) -> None:
        """The first fill of ``ticket``'s order was applied (its ``filled_ns`` is set now)."""

    def on_strategy_started(self) -> None:
        """The strategy's ``on_start`` ran; market events reach it from now on."""


def notify(observers: Sequence[AppObserver], hook: str, *args: object) -> None:
    """Call ``hook`` of every observer in turn; one that raises is logged and skipped."""
    for observer in observers:
        try:
            getattr(observer, hook)(*args)
        except Exception:
            _log.exception("observer %s.%s failed", type(observer).__name__, hook)


def fan_out(observers: Sequence[FrameObserver]) -> FrameObserver | None:
    """What the md connection calls per raw frame: nothing, the one observer itself (no
    extra call on the reader's path), or all of them in turn, in the order given."""
    chosen = tuple(observers)
    if len(chosen) <= 1:
        return chosen[0] if chosen else None

    def each(frame: memoryview) -> None:
        for observer in chosen:
            observer(frame)

    return each
