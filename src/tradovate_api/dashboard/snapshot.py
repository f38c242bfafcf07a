"""What the page shows, read from the running app's read-only views in one small pass.

A snapshot is built on the event loop (the views are single-writer state: reading them
between two events is consistent) at most a few times per second and only while a page is
open, apart from one P&L sample per second for the session chart. Everything it reads already
exists for the status line, the reports and the risk check; nothing is computed on the order
path for it. The per-order latency breakdown, the one costly part, is computed only for a page
and is bounded (see :mod:`.order_breakdown`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import msgspec

from ..orders import OrderTicket, TicketState
from ..orders.tickets import PROTECTIVE_SUFFIX
from ..reports import StageStats
from ..runtime.app import TradingApp
from ..runtime.metrics import LatencySummary
from ..runtime.status import StatusSnapshot
from ..stores import OrderState, PnL, PnLUnknown
from .order_breakdown import BREAKDOWN_ORDERS, OrderBreakdown
from .recent_alerts import RecentAlerts

SHOWN_ALERTS = 12
SHOWN_REFUSALS = 10
REFUSAL_SCAN = 300
"""Newest tickets looked at for refusals (the ticket history holds up to 10,000)."""
CHART_POINTS = 600
"""Points of the session chart; when full, every other point is dropped (the chart keeps
the whole session at half the resolution)."""
CHART_SPACING_MS = 1000


class ConnectionRow(msgspec.Struct, frozen=True):
    name: str
    connected: bool
    connects: int
    reconnects: int


class PositionRow(msgspec.Struct, frozen=True):
    symbol: str
    net_pos: int
    avg_price: float | None
    mark: float | None
    realized: float
    """After commissions, current trade date."""
    open: float | None
    total: float | None


class OrderRow(msgspec.Struct, frozen=True):
    id: int
    symbol: str
    action: str
    qty: int | None
    order_type: str
    price: float | None
    stop_price: float | None
    status: str
    protective: bool


class AccountPanel(msgspec.Struct, frozen=True):
    id: int
    name: str
    traded: bool
    """An account this run trades (its strategies' or the trade copier's followers): the
    kill switch and the account's buttons act on it."""
    positions: tuple[PositionRow, ...]
    orders: tuple[OrderRow, ...]
    realized: float | None
    open: float | None
    total: float | None
    halted: str = ""
    """Why new orders are refused on this account for the rest of the run ('' if they are
    not)."""


class AlertRow(msgspec.Struct, frozen=True):
    time_ms: int
    severity: str
    key: str
    title: str
    body: str


class RefusalRow(msgspec.Struct, frozen=True):
    time_ms: int
    symbol: str
    action: str
    qty: int
    reason: str
    account: str = ""
    """The account's name when the run trades several ('' with one)."""


class Snapshot(msgspec.Struct, frozen=True):
    """One push to the page (JSON)."""

    time_ms: int
    environment: str
    strategy: str
    status: StatusSnapshot
    connections: tuple[ConnectionRow, ...]
    accounts: tuple[AccountPanel, ...]
    chart: tuple[tuple[int, float | None], ...]
    """(time ms, the traded accounts' total P&L: realized after commissions + open)."""
    latency: LatencySummary
    breakdown: tuple[StageStats, ...]
    """Per-order latency by stage over the newest :data:`breakdown_orders` orders (empty
    before the first order, and in a build for no page)."""
    breakdown_orders: int
    orders_sent: int
    fills: int
    alerts: tuple[AlertRow, ...]
    refusals: tuple[RefusalRow, ...]
    breaches: dict[str, int]
    """Risk refusals and halts per limit, for the run."""
    halted: str
    """Why new orders are refused for the rest of the run (empty: they are not)."""
    entries_halted: str
    """Why new entries are held from the dashboard (empty: they are not); resumable."""
    paused: bool
    """The strategy is paused after one of its hooks raised; resumable."""
    ended: str
    """Why the run is ending (empty while it runs)."""


class SessionChart:
    """The traded account's total P&L over the session, bounded (see :data:`CHART_POINTS`)."""

    def __init__(self, points: int = CHART_POINTS, spacing_ms: int = CHART_SPACING_MS) -> None:
        self._points: list[tuple[int, float | None]] = []
        self._max = points
        self._spacing = spacing_ms

    def add(self, time_ms: int, total: float | None) -> None:
        if self._points and time_ms - self._points[-1][0] < self._spacing:
            return
        self._points.append((time_ms, None if total is None else round(total, 2)))
        if len(self._points) >= self._max:
            self._points = self._points[::2]
            self._spacing *= 2

    def points(self) -> tuple[tuple[int, float | None], ...]:
        return tuple(self._points)


def _order_row(state: OrderState, symbol: str) -> OrderRow:
    version = state.version
    return OrderRow(
        id=state.id, symbol=symbol, action=state.order.action, qty=state.remaining,
        order_type="" if version is None else version.order_type,
        price=None if version is None else version.price,
        stop_price=None if version is None else version.stop_price, status=state.status,
        protective=(state.cl_ord_id or "").endswith(PROTECTIVE_SUFFIX))


def _sum(values: Iterable[float | None]) -> float | None:
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total


class SnapshotBuilder:
    """Builds :class:`Snapshot` of ``app``; ``alerts`` is the sink the app was given."""

    def __init__(self, app: TradingApp, alerts: RecentAlerts) -> None:
        self._app = app
        self._alerts = alerts
        self.chart = SessionChart()
        self.breakdown = OrderBreakdown(
            lambda: None if app.orders is None else app.orders.tickets)

    def _symbol(self, contract_id: int) -> str:
        spec = self._app.contracts.get(contract_id)
        return spec.symbol if spec is not None else str(contract_id)

    def _pnls(self) -> dict[tuple[int, int], PnL | None]:
        """P&L per (account, contract) of the current trade date; ``None``: unknown."""
        account, market = self._app.account, self._app.market
        try:
            return {(p.account_id, p.contract_id): p for p in account.pnls(market.mark_price)}
        except PnLUnknown:  # one contract without facts or price: read them one by one
            found: dict[tuple[int, int], PnL | None] = {}
            for position in account.positions.values():
                key = (position.account_id, position.contract_id)
                try:
                    found[key] = account.pnl(*key, market.mark_price(position.contract_id))
                except PnLUnknown:
                    found[key] = None
            return found

    def _accounts(self) -> tuple[AccountPanel, ...]:
        app = self._app
        account = app.account
        runs = {run.account_id: run for run in app.accounts}
        pnls = self._pnls()
        ids = sorted(set(account.accounts) | {k[0] for k in pnls}
                     | {p.account_id for p in account.positions.values()})
        panels = []
        for account_id in ids:
            rows = []
            for (owner, contract_id), pnl in sorted(pnls.items()):
                if owner != account_id:
                    continue
                position = account.position(owner, contract_id)
                if pnl is None:
                    net = 0 if position is None else position.net_pos
                    rows.append(PositionRow(self._symbol(contract_id), net, None, None, 0.0,
                                            None, None))
                elif pnl.net_pos or pnl.realized or pnl.commissions:
                    rows.append(PositionRow(self._symbol(contract_id), pnl.net_pos,
                                            pnl.avg_price, pnl.mark, pnl.net_realized,
                                            pnl.open, pnl.total))
            known = [pnls[k] for k in pnls if k[0] == account_id]
            realized = None if any(p is None for p in known) else sum(
                p.net_realized for p in known if p is not None)
            opens = _sum(None if p is None else p.open for p in known)
            orders = tuple(_order_row(s, self._symbol(s.order.contract_id or 0))
                           for s in account.open_orders(account_id))
            info = account.account(account_id)
            run = runs.get(account_id)
            panels.append(AccountPanel(
                id=account_id, name=info.name if info is not None else str(account_id),
                traded=run is not None, positions=tuple(rows), orders=orders,
                realized=realized, open=opens,
                total=None if realized is None or opens is None else realized + opens,
                halted="" if run is None else run.orders.halted or run.risk.halted or ""))
        return tuple(panels)

    def _refusals(self) -> tuple[RefusalRow, ...]:
        """The newest refusals of every traded account, newest first."""
        runs = self._app.accounts
        found: list[tuple[OrderTicket, str]] = []
        for run in runs:
            named = run.name if len(runs) > 1 else ""
            mine = 0
            for ticket in reversed(list(run.orders.tickets.values())[-REFUSAL_SCAN:]):
                if ticket.state is TicketState.REFUSED:
                    found.append((ticket, named))
                    mine += 1
                    if mine == SHOWN_REFUSALS:
                        break
        found.sort(key=lambda item: item[0].created_ms, reverse=True)
        return tuple(RefusalRow(t.created_ms, t.symbol, t.action, t.qty, t.reason, named)
                     for t, named in found[:SHOWN_REFUSALS])

    def build(self, entries_halted: str = "", *, for_page: bool = True) -> Snapshot:
        """The snapshot now (also adds a chart point when one is due); ``for_page`` false
        (no page to send it to: only the chart point is wanted) leaves the breakdown out."""
        app = self._app
        now = app.clock()
        accounts = self._accounts()
        traded = [a for a in accounts if a.traded]
        self.chart.add(now, _sum(a.total for a in traded) if traded else None)
        metrics = app.metrics
        dispatcher = app.dispatcher
        halts = [a for a in traded if a.halted]
        halted = (halts[0].halted if len(traded) == 1 and halts
                  else "; ".join(f"{a.name}: {a.halted}" for a in halts))
        breaches: Counter[str] = Counter()
        for run in app.accounts:
            breaches.update(run.risk.breaches)
        alerts = tuple(AlertRow(int(a.created * 1000), str(a.severity), a.key, a.title, a.body)
                       for a in reversed(self._alerts.recent))[:SHOWN_ALERTS]
        return Snapshot(
            time_ms=now, environment=app.settings.environment, strategy=app.strategy.name,
            status=app.status(),
            connections=tuple(ConnectionRow(m.name, m.connected, m.connects, m.reconnects)
                              for m in metrics.sessions()),
            accounts=accounts, chart=self.chart.points(), latency=metrics.latency(),
            breakdown=self.breakdown.rows(metrics.account_events) if for_page else (),
            breakdown_orders=BREAKDOWN_ORDERS,
            orders_sent=metrics.orders_sent, fills=metrics.fills, alerts=alerts,
            refusals=self._refusals(),
            breaches=dict(breaches), halted=halted,
            entries_halted=entries_halted,
            paused=dispatcher is not None and dispatcher.paused,
            ended=app.supervisor.exit_reason or "")
