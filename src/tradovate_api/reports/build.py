"""Make a :class:`ReportData` from the live stores, the runtime metrics and the order tickets.

Runs on the event loop (the stores' single writers run there too, so every read sees whole
updates) and only reads: views, tickets and metrics are never changed. It does the arithmetic
once; charts, HTML and the saved JSON are rendered later from the result, off the loop.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from typing import Protocol
from zoneinfo import ZoneInfo

import msgspec

from ..protocol.models import Account
from ..stores import AccountView, DayPnL, MarketDataView, Trade
from .data import (
    AccountLine,
    ConnectionLine,
    FillMarker,
    LatencyStats,
    Point,
    PositionLine,
    PriceSeries,
    ReportData,
    ReportKind,
    StageStats,
    Summary,
    TradeLine,
)
from .history import SessionHistory
from .latency import StampedTicket, latency_breakdown
from .roundtrips import Carried, FillIn, round_trips
from .series import LedgerInput, pnl_curve, thin

MAX_POINTS = 1_500
"""Points kept per chart series: enough for a sharp 1,500-pixel-wide line, small in JSON."""
RECENT_PRINTS = 5_000
"""Newest time-and-sales prints per contract added to the sampled marks."""
_CME = ZoneInfo("America/Chicago")


class TicketLike(StampedTicket, Protocol):
    """What a report reads of an order ticket (``orders.OrderTicket``)."""

    @property
    def kind(self) -> str: ...

    @property
    def order_id(self) -> int | None: ...

    @property
    def bracket_ids(self) -> tuple[int, ...]: ...

    @property
    def trigger(self) -> str: ...


class SessionLike(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def connected(self) -> bool: ...

    @property
    def connects(self) -> int: ...

    @property
    def reconnects(self) -> int: ...


class LatencyLike(Protocol):
    @property
    def count(self) -> int: ...

    @property
    def p50_us(self) -> float | None: ...

    @property
    def p90_us(self) -> float | None: ...

    @property
    def p99_us(self) -> float | None: ...

    @property
    def max_us(self) -> float | None: ...


class MetricsLike(Protocol):
    """What a report reads of the runtime metrics (``runtime.metrics.RuntimeMetrics``)."""

    @property
    def uptime(self) -> float: ...

    def sessions(self) -> Iterable[SessionLike]: ...

    def latency(self) -> LatencyLike: ...


def epoch_ms(timestamp: str) -> int:
    """Epoch milliseconds of a Tradovate ISO timestamp (``2026-11-24T15:00:01.250Z``)."""
    moment = dt.datetime.fromisoformat(timestamp)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


_PLACING = frozenset({"place", "oso", "oco", "liquidate", "strategy"})
"""Ticket kinds whose ``order_id`` is the order they placed (an order strategy's: its entry;
a modify's or cancel's is the order they target, which has its own trigger)."""


def _triggers(account: AccountView, tickets: Iterable[TicketLike]) -> Callable[[int], str]:
    """Why each order was sent, by order id: its ticket's trigger; an OSO's bracket legs (an
    order strategy's targets and stops) get "take profit"/"stop loss" and the entry's
    trigger."""
    by_order: dict[int, str] = {}
    legs: dict[int, str] = {}
    for ticket in tickets:
        if ticket.kind in _PLACING and ticket.order_id is not None:
            by_order[ticket.order_id] = ticket.trigger
            for leg in ticket.bracket_ids:
                legs[leg] = ticket.trigger

    def trigger(order_id: int) -> str:
        if order_id in by_order:
            return by_order[order_id]
        if order_id not in legs:
            return ""
        state = account.order(order_id)
        order_type = "" if state is None or state.version is None else state.version.order_type
        name = "take profit" if order_type in ("Limit", "MIT") else "stop loss"
        return f"{name} (bracket of: {legs[order_id]})" if legs[order_id] else name

    return trigger


def _symbol(account: AccountView, contract_id: int) -> str:
    contract = account.contract(contract_id)
    return contract.name if contract is not None else str(contract_id)


def session_start_ms(trade_date: dt.date) -> int:
    """Epoch ms at which the CME session of ``trade_date`` opens: 17:00 Chicago time the
    calendar day before (the protocol reference §5.4)."""
    opens = dt.datetime.combine(trade_date - dt.timedelta(days=1), dt.time(17), tzinfo=_CME)
    return int(opens.timestamp() * 1000)


def _day_fills(account: AccountView, day: DayPnL, triggers: Callable[[int], str],
               ) -> tuple[FillIn, ...]:
    """The fills a day's ledger counts, as far as the store still holds them (a snapshot
    after the roll lists only the new trade date's fills)."""
    fills: list[FillIn] = []
    for fill_id in day.fill_ids:
        fill = account.fill(fill_id)
        if fill is not None:
            fills.append(FillIn(fill.id, epoch_ms(fill.timestamp), fill.action == "Buy",
                                fill.qty, fill.price, triggers(fill.order_id)))
    return tuple(fills)


def _latency(metrics: MetricsLike | None) -> LatencyStats | None:
    if metrics is None:
        return None
    lat = metrics.latency()
    if (not lat.count or lat.p50_us is None or lat.p90_us is None or lat.p99_us is None
            or lat.max_us is None):
        return None
    return LatencyStats(lat.count, lat.p50_us, lat.p90_us, lat.p99_us, lat.max_us)


def _sum(values: Iterable[float | None]) -> float | None:
    values = list(values)
    return None if any(v is None for v in values) else sum(v or 0.0 for v in values)


def _summary(positions: Iterable[PositionLine], trades: Iterable[TradeLine],
             fills: int) -> Summary:
    positions = tuple(positions)
    realized = sum(p.realized for p in positions)
    commissions = sum(p.commissions for p in positions)
    open_pnl = _sum(p.open_pnl for p in positions if not p.settled)
    settled = _sum(p.open_pnl for p in positions if p.settled)
    total = (None if open_pnl is None or settled is None or any(p.unpriced for p in positions)
             else realized - commissions + settled + open_pnl)
    closed = [t for t in trades if t.closed]
    wins = sum(1 for t in closed if t.net > 0)
    losses = sum(1 for t in closed if t.net < 0)
    trade_date = max((p.trade_date for p in positions if not p.settled), default="")
    return Summary(realized, commissions, realized - commissions, open_pnl, total, fills,
                   len(closed), wins, losses, wins / len(closed) if closed else None,
                   settled, trade_date)


class PriceInput(msgspec.Struct, frozen=True, gc=False):
    """A charted contract's prices as held when the report was taken."""

    contract_id: int
    symbol: str
    marks: tuple[Point, ...]
    """Sampled over the session."""
    prints: tuple[Trade, ...]
    """The newest time-and-sales prints."""
    current: float | None


class ReportInputs(msgspec.Struct, frozen=True, gc=False):
    """Everything a report is made from, copied out of the stores and metrics. Taking it is
    cheap (copies and a P&L per ledger) and must happen on the loop; turning it into a
    :class:`ReportData` (:func:`compose_report`) is the costly part and may run anywhere."""

    kind: ReportKind
    now_ms: int
    uptime: float | None
    connections: tuple[ConnectionLine, ...]
    latency: LatencyStats | None
    accounts: tuple[AccountLine, ...]
    positions: tuple[PositionLine, ...]
    ledgers: tuple[LedgerInput, ...]
    prices: tuple[PriceInput, ...]
    stages: tuple[StageStats, ...] = ()


def collect_inputs(account: AccountView, market: MarketDataView,
                   metrics: MetricsLike | None = None, tickets: Iterable[TicketLike] = (), *,
                   kind: ReportKind = "periodic", now_ms: int | None = None,
                   history: SessionHistory | None = None,
                   mark: Callable[[int], float | None] | None = None,
                   latency_stages: bool = True) -> ReportInputs:
    """Take what a report needs from the stores now (on the loop; see :func:`build_report`
    for the arguments)."""
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    mark_of = market.mark_price if mark is None else mark
    tickets = tuple(tickets)
    triggers = _triggers(account, tickets)
    marks: dict[int, float | None] = {}

    def marked(contract_id: int) -> float | None:
        if contract_id not in marks:
            marks[contract_id] = mark_of(contract_id)
        return marks[contract_id]

    days = account.day_pnls(marked)
    positions: list[PositionLine] = []
    ledgers: list[LedgerInput] = []
    for index, day in enumerate(days):
        pnl = day.pnl
        account_id, contract_id = pnl.account_id, pnl.contract_id
        symbol = _symbol(account, contract_id)
        following = days[index + 1].pnl if index + 1 < len(days) else None
        if following is not None and (following.account_id, following.contract_id) != (
                account_id, contract_id):
            following = None
        after = index > 0 and (days[index - 1].pnl.account_id,
                               days[index - 1].pnl.contract_id) == (account_id, contract_id)
        positions.append(PositionLine(
            account_id, contract_id, symbol, pnl.net_pos, pnl.avg_price, pnl.mark, pnl.open,
            pnl.realized, pnl.commissions, pnl.net_realized,
            "" if pnl.trade_date is None else pnl.trade_date.isoformat(), pnl.prev_pos,
            pnl.prev_price, pnl.unpriced, day.settled))
        ledgers.append(LedgerInput(
            account_id, contract_id, symbol, _day_fills(account, day, triggers),
            account.value_per_point(contract_id), account.commission_per_side(contract_id),
            pnl.prev_pos, pnl.prev_price,
            session_start_ms(pnl.trade_date) if after and pnl.trade_date else None,
            session_start_ms(following.trade_date)
            if following is not None and following.trade_date else None,
            pnl.mark if day.settled else None,
            "" if pnl.trade_date is None else pnl.trade_date.isoformat()))
    charted = sorted({ledger.contract_id for ledger in ledgers}) or sorted(market.quotes)[:4]
    prices = tuple(
        PriceInput(cid, _symbol(account, cid),
                   history.marks(cid) if history is not None else (),
                   market.trades(cid, RECENT_PRINTS),
                   marks[cid] if cid in marks else mark_of(cid))
        for cid in charted)
    uptime = None if metrics is None else metrics.uptime
    connections = () if metrics is None else tuple(
        ConnectionLine(s.name, s.connected, s.connects, s.reconnects)
        for s in metrics.sessions())
    accounts = tuple(
        AccountLine(a.id, a.name, *_cash(account, a.id))
        for a in sorted(account.accounts.values(), key=_account_id))
    return ReportInputs(kind, now, uptime, connections, _latency(metrics), accounts,
                        tuple(positions), tuple(ledgers), prices,
                        latency_breakdown(tickets) if latency_stages else ())


def compose_report(inputs: ReportInputs) -> ReportData:
    """Round trips, the P&L curve and the chart series from the collected inputs (a pure
    function: no store is read)."""
    now = inputs.now_ms
    trades: list[TradeLine] = []
    markers: dict[int, list[FillMarker]] = {}
    for ledger in inputs.ledgers:
        ledger_trades, ledger_markers = round_trips(
            ledger.fills, account_id=ledger.account_id, contract_id=ledger.contract_id,
            symbol=ledger.symbol, value_per_point=ledger.value_per_point,
            commission_per_side=ledger.commission_per_side, carried=_carried(ledger, now))
        trades.extend(ledger_trades)
        markers.setdefault(ledger.contract_id, []).extend(ledger_markers)
    fill_times = [f.t_ms for ledger in inputs.ledgers for f in ledger.fills]
    uptime = inputs.uptime
    session_start = None if uptime is None else now - round(uptime * 1000)
    # The market store also holds the chart history the server sent at subscription (hours
    # of it on a fresh connection): a price chart of a short session would squeeze the
    # session into its last sliver. It shows the session (and any earlier fill) only.
    since = None if session_start is None else min([session_start, *fill_times])
    prices: dict[int, tuple[Point, ...]] = {}
    for price in inputs.prices:
        points = [*price.marks, *(Point(t.timestamp_ms, t.price) for t in price.prints
                                  if since is None or t.timestamp_ms >= since)]
        if price.current is not None:
            points.append(Point(now, price.current))
        # thinned before the curve is computed, so its cost is bounded whatever the session
        prices[price.contract_id] = thin(sorted(dict.fromkeys(points), key=_t_ms),
                                         MAX_POINTS, fill_times)

    curve = pnl_curve(inputs.ledgers, prices)
    summary = _summary(inputs.positions, trades, len(fill_times))
    if curve and summary.total is not None and curve[-1].t_ms < now:
        curve.append(Point(now, summary.total))
    price_series = tuple(
        PriceSeries(p.contract_id, p.symbol,
                    thin(_with_fills(prices[p.contract_id], markers.get(p.contract_id, ())),
                         MAX_POINTS, fill_times),
                    tuple(sorted(markers.get(p.contract_id, ()), key=_marker_ms)))
        for p in inputs.prices)
    return ReportData(
        kind=inputs.kind, generated_ms=now, session_start_ms=session_start,
        accounts=inputs.accounts, positions=inputs.positions,
        trades=tuple(sorted(trades, key=_entry_ms)), summary=summary, uptime_seconds=uptime,
        connections=inputs.connections, latency=inputs.latency,
        pnl_series=thin(curve, MAX_POINTS, fill_times), price_series=price_series,
        stages=inputs.stages)


def build_report(account: AccountView, market: MarketDataView,
                 metrics: MetricsLike | None = None, tickets: Iterable[TicketLike] = (), *,
                 kind: ReportKind = "periodic", now_ms: int | None = None,
                 history: SessionHistory | None = None,
                 mark: Callable[[int], float | None] | None = None,
                 latency_stages: bool = True) -> ReportData:
    """The report of everything the stores hold now (:func:`collect_inputs` then
    :func:`compose_report`, both here; the scheduler composes off the loop).

    ``mark(contract_id)`` prices open positions (default: the market store's mark price);
    ``history`` supplies marks sampled over the session for the charts;
    ``latency_stages`` false leaves the orders' latency breakdown out (a replay: its
    execution is simulated, and this machine's microseconds would only make the report
    differ from one replay to the next).
    """
    return compose_report(collect_inputs(account, market, metrics, tickets, kind=kind,
                                         now_ms=now_ms, history=history, mark=mark,
                                         latency_stages=latency_stages))


def _carried(ledger: LedgerInput, now_ms: int) -> Carried | None:
    """The position a ledger's trade date opened with, entered at its session start."""
    if not ledger.prev_pos:
        return None
    if ledger.trade_date:
        day = dt.date.fromisoformat(ledger.trade_date)
        return Carried(ledger.prev_pos, ledger.prev_price, session_start_ms(day),
                       f"carried into {ledger.trade_date}")
    first = min((fill.t_ms for fill in ledger.fills), default=now_ms)
    return Carried(ledger.prev_pos, ledger.prev_price, first, "carried in")


def _with_fills(prices: Iterable[Point], fills: Iterable[FillMarker]) -> list[Point]:
    """Market prices with our fills' prices (prints too), fills first within a millisecond
    as in the P&L curve."""
    return sorted([*(Point(f.t_ms, f.price) for f in fills), *prices], key=_t_ms)


def _cash(account: AccountView, account_id: int) -> tuple[float | None, float | None]:
    cash = account.cash_balance(account_id)
    return (None, None) if cash is None else (cash.amount, cash.realized_pnl)


def _t_ms(item: Point) -> int:
    return item.t_ms


def _entry_ms(trade: TradeLine) -> int:
    return trade.entry_ms


def _marker_ms(marker: FillMarker) -> int:
    return marker.t_ms


def _account_id(item: Account) -> int:
    return item.id
