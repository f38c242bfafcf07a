"""What a report says, as plain frozen msgspec Structs that round-trip through JSON.

A report is computed once on the event loop (:func:`~tradovate_api.reports.build_report`) and
then only read: charts, HTML, the e-mail and the saved JSON file are all made from this data,
so the saved file alone is enough to render the report again later (``tradovate-api report``).
Times are epoch milliseconds (UTC); money is in the account currency; latencies in µs.

P&L is the exchange's, per trade date (the protocol reference §5.4): a run that crosses the
CME session end has a position line per (account, contract, trade date). The earlier days are
``settled``: their figures as of the roll, the position left open marked at the settlement
(the next day's ``prevPrice``); the current day starts from the carried position at that
price. Run totals add the days up, so they equal the P&L of the run marked to market.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from ..errors import TradovateError

SCHEMA = 1
"""Version of the JSON layout; bumped when a field changes meaning."""

ReportKind = Literal["periodic", "session_end", "manual"]
FillRole = Literal["entry", "exit", "reverse"]
"""What a fill did to the position: opened/added, reduced/closed, or closed and reversed."""


class ReportError(TradovateError):
    """A saved report could not be read (missing, unreadable, not a report)."""


class Point(msgspec.Struct, frozen=True, array_like=True):
    """One sample of a time series (``[t_ms, value]`` in JSON, to keep files small)."""

    t_ms: int
    value: float


class AccountLine(msgspec.Struct, frozen=True):
    """An account and its cash as the server last reported them."""

    id: int
    name: str
    cash_balance: float | None
    realized_pnl: float | None
    """The server's realized P&L of the trading day (``cashBalance.realizedPnL``)."""


class PositionLine(msgspec.Struct, frozen=True):
    """P&L of one account in one contract on one trade date (realized is gross; commissions
    separately)."""

    account_id: int
    contract_id: int
    symbol: str
    net_pos: int
    avg_price: float | None
    mark: float | None
    open_pnl: float | None
    """``None`` while a position is open without a price to mark it at."""
    realized: float
    commissions: float
    net_realized: float
    trade_date: str = ""
    """The exchange's trade date of these figures (``YYYY-MM-DD``; empty when unknown)."""
    prev_pos: int = 0
    """Contracts carried in from the previous trade date, at ``prev_price`` (its settlement)."""
    prev_price: float | None = None
    unpriced: int = 0
    """Carried contracts without a price: realized and open P&L leave them out."""
    settled: bool = False
    """An earlier trade date than the current one: its figures as of the roll, the open
    position marked (``mark``) at the settlement; ``open_pnl`` is ``None`` if unknown."""


class TradeLine(msgspec.Struct, frozen=True):
    """A round trip: from flat to flat in one contract, with why it was entered and left."""

    account_id: int
    contract_id: int
    symbol: str
    side: Literal["Long", "Short"]
    qty: int
    """Contracts entered (the sum of the opening fills)."""
    entry_ms: int
    entry_price: float
    exit_qty: int
    exit_ms: int | None
    exit_price: float | None
    gross: float
    """Realized on the exited contracts, before commissions."""
    commissions: float
    net: float
    entry_trigger: str
    exit_trigger: str
    carried: bool = False
    """Entered by the position carried in from the previous trade date: ``entry_ms`` is the
    trade date's session start, ``entry_price`` its opening price (the settlement)."""

    @property
    def closed(self) -> bool:
        return self.exit_qty == self.qty


class FillMarker(msgspec.Struct, frozen=True):
    """A fill on the price chart."""

    t_ms: int
    action: str
    qty: int
    price: float
    role: FillRole
    trigger: str


class PriceSeries(msgspec.Struct, frozen=True):
    """Prices of one contract over the session, and our fills in it."""

    contract_id: int
    symbol: str
    points: tuple[Point, ...]
    fills: tuple[FillMarker, ...]


class ConnectionLine(msgspec.Struct, frozen=True):
    """One websocket session (market data, trading) and how often it (re)connected."""

    name: str
    connected: bool
    """Up when the report was made."""
    connects: int
    reconnects: int


class LatencyStats(msgspec.Struct, frozen=True):
    """Tick-to-order latency in microseconds: market-data frame received → order frame
    written, over the samples the runtime kept."""

    count: int
    p50_us: float
    p90_us: float
    p99_us: float
    max_us: float


class StageStats(msgspec.Struct, frozen=True):
    """One stage of the orders' latency breakdown (see :mod:`.latency`), in microseconds,
    over the orders on which it was measured."""

    name: str
    label: str
    """What it spans, e.g. ``decision → risk passed``."""
    count: int
    p50_us: float
    p90_us: float
    p99_us: float
    max_us: float
    histogram: tuple[int, ...]
    """Orders per bin of ``latency.HISTOGRAM_EDGES_US`` (the last bin: above the last edge)."""


class Summary(msgspec.Struct, frozen=True):
    """Totals over every account, contract and trade date of the report: ``total`` =
    ``net_realized + settled + open_pnl`` (``None`` if any part is unknown or a carried
    position has no price)."""

    realized: float
    commissions: float
    net_realized: float
    open_pnl: float | None
    total: float | None
    fills: int
    trades_closed: int
    wins: int
    losses: int
    win_rate: float | None
    """Winning closed round trips (net of commissions > 0) / closed round trips."""
    settled: float | None = 0.0
    """Open P&L of the earlier trade dates' positions at their settlement (``None`` if a
    settlement is unknown); ``open_pnl`` is the current trade date's."""
    trade_date: str = ""
    """The current trade date (``YYYY-MM-DD``), empty when unknown."""


class ReportData(msgspec.Struct, frozen=True):
    """Everything one report shows."""

    kind: ReportKind
    generated_ms: int
    session_start_ms: int | None
    accounts: tuple[AccountLine, ...]
    positions: tuple[PositionLine, ...]
    trades: tuple[TradeLine, ...]
    summary: Summary
    uptime_seconds: float | None
    """How long the run has been going (``None``: no runtime metrics)."""
    connections: tuple[ConnectionLine, ...]
    latency: LatencyStats | None
    pnl_series: tuple[Point, ...]
    """Total P&L (realized − commissions + open) over time."""
    price_series: tuple[PriceSeries, ...]
    schema: int = SCHEMA
    stages: tuple[StageStats, ...] = ()
    """The orders' latency breakdown, per stage measured (empty in reports saved before it
    existed, and when no order was sent)."""


_decoder = msgspec.json.Decoder(ReportData)


def encode_report(data: ReportData) -> bytes:
    return msgspec.json.encode(data)


def decode_report(raw: bytes, source: str = "report") -> ReportData:
    """Parse a saved report; :class:`ReportError` names ``source`` and what is wrong."""
    try:
        data = _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise ReportError(f"{source}: not a valid report: {exc}") from None
    if data.schema != SCHEMA:
        raise ReportError(f"{source}: report schema {data.schema} is not supported "
                          f"(this version reads schema {SCHEMA})")
    return data
