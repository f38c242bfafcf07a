"""What a replay produced: decisions, fills, round-trip trades, the P&L curve and statistics.

The trades, P&L curve and summary come from the reports package's :func:`build_report`, the
same code that makes the live session reports, so a backtest and a live session read alike;
the replay adds what only a backtest has: every decision in order, the equity curve at full
resolution, maximum drawdown, profit factor and the replay's own throughput.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from ..orders.tickets import OrderTicket
from ..reports import Point, ReportData, SessionHistory, build_report
from ..stores import AccountView, MarketDataView


class FillRecord(msgspec.Struct, frozen=True):
    """A fill as the strategy received it; ``t_ms`` is when (recording time)."""

    t_ms: int
    fill_id: int
    order_id: int
    contract_id: int
    action: str
    qty: int
    price: float
    timestamp: str


class Decision(msgspec.Struct, frozen=True):
    """An order request the strategy made (refused ones included) and how it ended."""

    created_ms: int
    cl_ord_id: str
    kind: str
    symbol: str
    action: str
    qty: int
    order_type: str
    price: float | None
    stop_price: float | None
    trigger: str
    state: str
    order_id: int | None
    reason: str


class ReplayStats(msgspec.Struct):
    """Counters of one run."""

    frames: int = 0
    md_events: int = 0
    """``md`` and ``chart`` events decoded and applied to the market store."""
    wall_seconds: float = 0.0
    first_ns: int = 0
    last_ns: int = 0
    late_reference_notes: int = 0
    """Reference notes after the first frame (contracts added mid-recording are not
    traded)."""
    alerts: list[str] = msgspec.field(default_factory=list)
    equity: list[Point] = msgspec.field(default_factory=list)
    """Total P&L (realized − commissions + open) after each fill and each sample."""

    @property
    def events_per_second(self) -> float:
        return self.md_events / self.wall_seconds if self.wall_seconds > 0 else 0.0


class BacktestSummary(msgspec.Struct, frozen=True):
    """Headline numbers of a backtest, with the live report's definitions of P&L:
    ``net_realized`` = ``realized`` − ``commissions`` (closed trades), ``open_pnl`` what is
    still open at the end, ``total_pnl`` = net realized + open (``None`` when a part is
    unknown)."""

    net_realized: float
    open_pnl: float | None
    total_pnl: float | None
    realized: float
    commissions: float
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    profit_factor: float | None
    """Sum of winning trades' net / |sum of losing trades' net| (``None``: no losses)."""
    max_drawdown: float
    """Largest fall of the equity curve from a previous peak (money, ≥ 0)."""
    decisions: int
    fills: int
    md_events: int
    events_per_second: float
    recording_seconds: float


class ReplayResult(msgspec.Struct, frozen=True):
    decisions: tuple[Decision, ...]
    fills: tuple[FillRecord, ...]
    report: ReportData
    summary: BacktestSummary
    equity: tuple[Point, ...]
    alerts: tuple[str, ...] = ()
    """Keys of the alerts raised during the replay (``strategy.exception``, ``risk.*``)."""


def max_drawdown(points: Iterable[Point]) -> float:
    peak: float | None = None
    worst = 0.0
    for point in points:
        peak = point.value if peak is None else max(peak, point.value)
        worst = max(worst, peak - point.value)
    return worst


def decision_of(ticket: OrderTicket) -> Decision:
    return Decision(ticket.created_ms, ticket.cl_ord_id, str(ticket.kind), ticket.symbol,
                    ticket.action, ticket.qty, ticket.order_type, ticket.price,
                    ticket.stop_price, ticket.trigger, str(ticket.state), ticket.order_id,
                    ticket.reason)


def equity_now(account: AccountView, market: MarketDataView) -> float | None:
    """Realized − commissions + open P&L over every contract traded and every trade date of
    the replay, earlier days marked at their settlement (``None`` if a position has no mark),
    so a trade-date roll does not move the curve."""
    total = 0.0
    for day in account.day_pnls(market.mark_price):
        if day.pnl.total is None:
            return None
        total += day.pnl.total
    return total


def build_result(account: AccountView, market: MarketDataView, history: SessionHistory,
                 tickets: Iterable[OrderTicket], fills: Iterable[FillRecord],
                 stats: ReplayStats, *, now_ms: int) -> ReplayResult:
    tickets = list(tickets)
    report = build_report(account, market, None, tickets, kind="session_end", now_ms=now_ms,
                          history=history, latency_stages=False)
    closed = [t for t in report.trades if t.closed]
    won = sum(t.net for t in closed if t.net > 0)
    lost = -sum(t.net for t in closed if t.net < 0)
    summary = report.summary
    equity = tuple(stats.equity)
    fills = tuple(fills)
    return ReplayResult(
        decisions=tuple(decision_of(t) for t in tickets),
        fills=fills,
        report=report,
        summary=BacktestSummary(
            net_realized=summary.net_realized, open_pnl=summary.open_pnl,
            total_pnl=summary.total, realized=summary.realized, commissions=summary.commissions,
            trades=summary.trades_closed, wins=summary.wins, losses=summary.losses,
            win_rate=summary.win_rate, profit_factor=won / lost if lost else None,
            max_drawdown=max_drawdown(equity), decisions=len(tickets), fills=len(fills),
            md_events=stats.md_events, events_per_second=stats.events_per_second,
            recording_seconds=(stats.last_ns - stats.first_ns) / 1e9),
        equity=equity, alerts=tuple(stats.alerts))
