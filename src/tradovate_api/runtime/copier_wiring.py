"""Wiring the trade copier into a run: the ``[copier]`` table → a running
:class:`~tradovate_api.orders.copier.CopierService`.

:func:`copier_accounts` resolves the leader and the followers among the login's accounts (an
unknown or inactive name is a one-line :class:`~tradovate_api.errors.StartupError` before any
order). The followers are accounts of the run like the traded ones (``wiring`` builds each an
:class:`~.accounts.AccountRun`: its own risk manager on its own limits, order manager, outcome
resolver, risk watch, journal, shutdown and kill switch); :func:`build_copier` hands their
order managers to the service. :class:`CopierObserver` feeds the copier from the account
reader — the store's only writer — through the observer hooks, right after each event is
applied, with the time the reader took it; the copier settles its followers' tickets itself,
right after copying (they are not in the strategies' feed), so nothing comes between a leader
event and the followers' orders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..alerts import AlertSink
from ..client import RestClient, SyncSnapshot
from ..errors import StartupError
from ..orders.copier import CopierService, Follower, Sizing
from ..protocol.models import Account
from ..settings import Copier, CopierFollower
from ..stores import AccountChange, AccountView, SyncReport
from .accounts import AccountRun
from .observer import AppObserver

if TYPE_CHECKING:
    from ..protocol import EntityEvent


class CopierObserver(AppObserver):
    """The account reader → the copier (after the store applied each event), with the time
    the reader took the event (``event_ns()``, before the store applied it)."""

    def __init__(self, service: CopierService, event_ns: Callable[[], int]) -> None:
        self.service = service
        self._event_ns = event_ns

    def on_account_event(self, event: EntityEvent, changes: list[AccountChange]) -> None:
        self.service.on_account(changes, self._event_ns())

    def on_snapshot(self, snapshot: SyncSnapshot, report: SyncReport) -> None:
        self.service.on_sync(report, snapshot.connection)


async def copier_accounts(rest: RestClient, copier: Copier) -> tuple[Account, list[Account]]:
    """The leader and the followers of ``copier`` among the login's active accounts."""
    listed: list[Account] = await rest.request("account/list", result_type=list[Account])
    usable = {a.name: a for a in listed if a.active and not a.closed}
    leader = _account(usable, copier.leader, "copier.leader")
    return leader, [_account(usable, follower.account, f"copier.followers[{index}].account")
                    for index, follower in enumerate(copier.followers)]


def build_copier(copier: Copier, leader: Account, followers: Sequence[AccountRun],
                 traded: Sequence[AccountRun], account: AccountView,
                 alerts: AlertSink) -> CopierService:
    """The copier of ``copier`` on the followers' account runs (in ``copier.followers``'
    order). ``traded``: the strategies' accounts (``source = "strategy"`` copies only the
    orders of the leader's own order manager); none of them may be a follower."""
    for run in traded:
        if any(run.account_id == f.account_id for f in followers):
            raise StartupError(f"copier.followers: {run.name!r} is traded by a strategy; "
                               f"its orders there would be taken for drift")
    members = [Follower(run.account_id, run.name, _sizing(entry), run.orders)
               for entry, run in zip(copier.followers, followers, strict=True)]
    own_prefix = None
    if copier.source == "strategy":
        own = next((run for run in traded if run.account_id == leader.id), None)
        if own is None:
            raise StartupError(f"copier.source: \"strategy\" copies this run's strategies' "
                               f"orders: the leader {leader.name!r} is not an account they "
                               f"trade")
        own_prefix = own.orders.id_prefix
    return CopierService(leader.id, members, account, alerts, mode=copier.copy,
                         on_drift=copier.on_follower_drift, own_prefix=own_prefix)


def _sizing(follower: CopierFollower) -> Sizing:
    return (Sizing(fixed=follower.fixed) if follower.fixed is not None
            else Sizing(ratio=follower.ratio if follower.ratio is not None else 1.0))


def _account(usable: dict[str, Account], name: str, key: str) -> Account:
    found = usable.get(name)
    if found is None:
        raise StartupError(f"{key}: no active account named {name!r} (this login has: "
                           f"{', '.join(sorted(usable)) or 'none'})")
    return found
