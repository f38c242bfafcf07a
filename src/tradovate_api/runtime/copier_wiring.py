"""Wiring the trade copier into a run: the ``[copier]`` table → a running
:class:`~tradovate_api.orders.copier.CopierService`.

:func:`wire_copier` resolves the leader and the followers among the login's accounts (an
unknown or inactive name is a one-line :class:`~tradovate_api.errors.StartupError` before any
order), and builds for each follower what the run builds for its own account: a
:class:`~tradovate_api.orders.risk.RiskManager` on the settings' ``[risk]`` and an
:class:`~tradovate_api.orders.OrderManager` on the same gateway (one trading connection per
login carries every account), each with its outcome resolver. :class:`CopierObserver` feeds
the copier from the account reader — the store's only writer — through the observer hooks,
right after each event is applied, with the time the reader took it. :meth:`CopierWiring.run` is
the copier's supervised task: the followers' risk watches (daily loss, protective stops) and
outcome resolvers, once the run has started.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..alerts import AlertSink
from ..client import RestClient, SyncSnapshot
from ..errors import StartupError
from ..market_hours import MarketHours
from ..orders import ContractBook, OrderManager, OutcomeResolver, RestServerCommands
from ..orders.copier import CopierService, Follower, Sizing
from ..orders.gateway import OrderGateway
from ..orders.risk import RiskManager
from ..protocol.models import Account
from ..settings import Copier, Settings
from ..stores import AccountChange, AccountView, MarketDataView, SyncReport
from .observer import AppObserver

if TYPE_CHECKING:
    from ..protocol import EntityEvent


@dataclass(slots=True)
class CopierWiring:
    """The copier and what its followers need running."""

    service: CopierService
    risks: tuple[RiskManager, ...]
    resolvers: tuple[OutcomeResolver, ...]

    @property
    def orders(self) -> tuple[OrderManager, ...]:
        """The followers' order managers, in follower order."""
        return tuple(f.orders for f in self.service.followers)

    async def run(self, started: asyncio.Event, risk_interval: float) -> None:
        """The followers' outcome resolvers at once, their risk watches once ``started``."""
        async with asyncio.TaskGroup() as group:
            for resolver in self.resolvers:
                group.create_task(resolver.run())
            await started.wait()
            for risk in self.risks:
                group.create_task(risk.run(risk_interval))


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


async def wire_copier(settings: Settings, rest: RestClient, gateway: OrderGateway, *,
                      account: AccountView, market: MarketDataView, contracts: ContractBook,
                      alerts: AlertSink, clock: Callable[[], int],
                      run_orders: OrderManager) -> CopierWiring:
    """The copier of ``settings.copier`` (which must be set): accounts resolved over
    ``account/list``, a risk and order manager per follower on ``gateway``. ``run_orders``:
    the run's own order manager (``source = "strategy"`` copies only its orders)."""
    copier = settings.copier
    assert copier is not None
    listed: list[Account] = await rest.request("account/list", result_type=list[Account])
    usable = {a.name: a for a in listed if a.active and not a.closed}
    leader = _account(usable, copier.leader, "copier.leader")
    followers = []
    risks = []
    resolvers = []
    for index, follower in enumerate(copier.followers):
        found = _account(usable, follower.account, f"copier.followers[{index}].account")
        risk = RiskManager(settings.risk, account, market, alerts, clock, account_id=found.id,
                           hours=MarketHours(settings.market.calendar))
        orders = OrderManager(gateway, account, risk, contracts, alerts, account_id=found.id,
                              account_spec=found.name, clock=clock)
        sizing = (Sizing(fixed=follower.fixed) if follower.fixed is not None
                  else Sizing(ratio=follower.ratio if follower.ratio is not None else 1.0))
        followers.append(Follower(found.id, found.name, sizing, orders))
        risks.append(risk)
        resolvers.append(OutcomeResolver(
            orders, RestServerCommands(rest), alerts,
            grace=settings.risk.unknown_order_grace_seconds,
            alert_after=settings.risk.unknown_order_alert_seconds,
            answer_timeout=max(settings.connection.request_timeout_seconds,
                               settings.auth.request_timeout_seconds)))
    if run_orders.account_id in {f.account_id for f in followers}:
        raise StartupError(f"copier.followers: {run_orders.account_spec!r} is the account "
                           "this run trades; the strategy's orders there would be drift")
    service = CopierService(leader.id, followers, account, alerts, mode=copier.copy,
                            on_drift=copier.on_follower_drift,
                            own_prefix=_own_prefix(copier, run_orders))
    return CopierWiring(service, tuple(risks), tuple(resolvers))


def _own_prefix(copier: Copier, run_orders: OrderManager) -> str | None:
    return run_orders.id_prefix if copier.source == "strategy" else None


def _account(usable: dict[str, Account], name: str, key: str) -> Account:
    found = usable.get(name)
    if found is None:
        raise StartupError(f"{key}: no active account named {name!r} (this login has: "
                           f"{', '.join(sorted(usable)) or 'none'})")
    return found
