"""What ``tradovate-api run`` prints: the compact live status line and the final summary.

On a terminal the line is rewritten in place a few times per second; when stdout is a file or
a pipe, one line is printed every few seconds instead, so logs of a redirected run stay
readable. Both are built from read-only data and never touch the trading state.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TextIO

import msgspec

from ..alerts import Alert, AlertSink, Severity
from ..orders import ContractBook
from ..reports import ReportData, per_account
from ..stores import AccountView, MarketDataView, PnLUnknown
from .metrics import RuntimeMetrics

if TYPE_CHECKING:
    from ..strategy.dispatch import HookStats

TTY_INTERVAL = 0.25
"""Seconds between redraws on a terminal (at most four per second)."""
PLAIN_INTERVAL = 5.0
"""Seconds between lines when stdout is not a terminal."""
_CLEAR_LINE = "\r\x1b[K"
_log = logging.getLogger("tradovate_api.runtime.status")


class StatusSnapshot(msgspec.Struct, frozen=True):
    """What the status line shows."""

    md_connected: bool
    trading_connected: bool
    symbol: str
    last_price: float | None
    net_pos: int
    avg_price: float | None
    realized: float | None
    """Realized P&L after commissions of the current trade date, all contracts (``None``:
    unknown, e.g. a carried position without a price)."""
    open_pnl: float | None
    working_orders: int
    fills: int
    reconnects: int
    strategy: str = ""
    """A word about the strategy (``paused``, ``halted``...), empty when trading normally."""
    limits: str = ""
    """The accounts' distances to their trailing levels and the exchange's limits (empty: no
    such limit)."""
    accounts: tuple[tuple[str, int], ...] = ()
    """With several accounts: each one's name and net position in ``symbol`` (``net_pos``
    is then their sum)."""


def read_status(account: AccountView, market: MarketDataView, contracts: ContractBook,
                symbol: str, accounts: Sequence[tuple[int, str]], metrics: RuntimeMetrics, *,
                md_connected: bool, trading_connected: bool, word: str,
                limits: str = "") -> StatusSnapshot:
    """The data of the status line, from the read-only views (P&L of the current trade
    date over the run's instruments and traded ``accounts`` — ``(id, name)`` each —, carried
    positions included; unknown P&L shows as such, with the server's position). ``symbol``
    is the traded contract (empty before start-up), ``word`` the strategy's. With several
    accounts the position in ``symbol`` is given per account, the P&L in total."""
    spec = contracts.get(symbol) if symbol else None
    net = 0
    avg = open_pnl = last_price = None
    realized: float | None = 0.0
    if spec is not None:
        quote = market.quote(spec.contract_id)
        last_price = None if quote is None else quote.last
    opens: list[float | None] = []
    per_account: list[tuple[str, int]] = []
    for account_id, name in accounts:
        held = 0
        for contract_id in contracts.contract_ids:
            try:
                pnl = account.pnl(account_id, contract_id, market.mark_price(contract_id))
            except PnLUnknown:
                realized = None
                opens.append(None)
                if spec is not None and contract_id == spec.contract_id:
                    position = account.position(account_id, contract_id)
                    held = 0 if position is None else position.net_pos
                continue
            realized = None if realized is None or pnl.unpriced else (
                realized + pnl.net_realized)
            opens.append(pnl.open)
            if spec is not None and pnl.contract_id == spec.contract_id:
                held, avg = pnl.net_pos, pnl.avg_price
        net += held
        per_account.append((name, held))
    if opens and all(o is not None for o in opens):
        open_pnl = sum(o or 0.0 for o in opens)
    elif not opens:
        open_pnl = 0.0
    return StatusSnapshot(
        md_connected=md_connected, trading_connected=trading_connected,
        symbol=symbol or "-", last_price=last_price, net_pos=net,
        avg_price=avg if len(accounts) == 1 else None,
        realized=realized, open_pnl=open_pnl,
        working_orders=sum(len(account.open_orders(i)) for i, _ in accounts),
        fills=metrics.fills, reconnects=metrics.total_reconnects, strategy=word,
        limits=limits, accounts=tuple(per_account) if len(accounts) > 1 else ())


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+,.2f}"


def format_status(s: StatusSnapshot, now: float | None = None) -> str:
    """One line, e.g. ``12:03:04 md up, trading up | ESZ6 6851.25 | pos +1 @ 6850.75 |
    P&L net -4.18 open +25.00 | 0 working, 3 fills | 0 reconnects`` (net: realized after
    commissions); with several accounts the position reads ``EVAL1 +1, EVAL2 flat`` and the
    P&L and counts are their totals; a word about the run (its phase, a paused strategy,
    halted orders and why) comes right after the connections."""
    clock = time.strftime("%H:%M:%S", time.localtime(now))
    links = (f"md {'up' if s.md_connected else 'DOWN'}, "
             f"trading {'up' if s.trading_connected else 'DOWN'}")
    price = "-" if s.last_price is None else f"{s.last_price:g}"
    if s.accounts:
        position = ", ".join(f"{name} {'flat' if net == 0 else f'{net:+d}'}"
                             for name, net in s.accounts)
    else:
        position = "flat" if s.net_pos == 0 else (
            f"pos {s.net_pos:+d}" + ("" if s.avg_price is None else f" @ {s.avg_price:g}"))
    parts = [f"{clock} {links}"]
    if s.strategy:  # second, so that a terminal's width never cuts a halt or a pause off
        parts.append(s.strategy)
    parts += [f"{s.symbol} {price}", position,
              f"P&L net {_money(s.realized)} open {_money(s.open_pnl)}",
              f"{s.working_orders} working, {s.fills} fills",
              f"{s.reconnects} reconnects"]
    if s.limits:
        parts.append(s.limits)
    return " | ".join(parts)


def format_summary(report: ReportData, metrics: RuntimeMetrics, environment: str,
                   duration: float, ended: str = "",
                   hooks: Mapping[str, HookStats] | None = None,
                   open_at_exit: Sequence[str] = (), limits: str = "") -> str:
    """The end-of-run summary: trades, fills, P&L with commissions, open positions,
    reconnects, tick-to-order latency and the orders' latency by stage (p50 / p99 / max,
    from the report's breakdown); the strategy hooks' times when they were measured
    (``hooks``); what was still open at the exit and what protects it (``open_at_exit``, one
    line each); the account's distances to its limits (``limits``, from the risk manager).
    ``duration``: seconds until shutdown began. P&L is over every trade date of
    the run; the position and open P&L are the current trade date's, as the exchange has
    them (carried positions included)."""
    s = report.summary
    lines = ["=== tradovate-api run summary ===",
             f"environment   {environment}",
             f"duration      {duration:.1f}s" + (f" (ended: {ended})" if ended else ""),
             f"trades        {s.trades_closed} closed ({s.wins} won, {s.losses} lost)",
             f"fills         {s.fills}",
             f"realized P&L  {s.realized:+,.2f} gross, commissions {s.commissions:,.2f}, "
             f"net {s.net_realized:+,.2f}"]
    current = [p for p in report.positions if not p.settled]
    positions = ", ".join(f"{p.symbol} {p.net_pos:+d}" for p in current if p.net_pos) or "flat"
    lines.append(f"open P&L      {_money(s.open_pnl)} ({positions})")
    if s.trade_date:
        carried = ", ".join(f"{p.symbol} {p.prev_pos:+d} @ "
                            + ("no price" if p.prev_price is None else f"{p.prev_price:g}")
                            for p in current if p.prev_pos)
        lines.append(f"trade date    {s.trade_date}"
                     + (f" (carried in: {carried})" if carried else ""))
    earlier = [p for p in report.positions if p.settled]
    if earlier:
        lines.append("earlier days  " + ", ".join(
            f"{p.trade_date} {p.symbol} net {p.net_realized:+,.2f}, open at settlement "
            f"{_money(p.open_pnl)}" for p in earlier))
        lines.append(f"total P&L     {_money(s.total)} (net realized {s.net_realized:+,.2f} "
                     f"+ settled {_money(s.settled)} + open {_money(s.open_pnl)})")
    unpriced = [p for p in report.positions if p.unpriced]
    if unpriced:
        lines.append("unpriced      " + ", ".join(
            f"{p.symbol} {p.unpriced} carried contract(s) without a price (prevPrice)"
            for p in unpriced) + ": their P&L is not counted")
    lines.extend(_per_account(report))
    sessions = metrics.sessions()
    lines.append("reconnects    " + (", ".join(f"{m.name} {m.reconnects}" for m in sessions)
                                     or "none"))
    latency = metrics.latency()
    if latency.count:
        lines.append(f"tick->order   p50 {latency.p50_us:.0f} us, p99 {latency.p99_us:.0f} us, "
                     f"max {latency.max_us:.0f} us ({latency.count} samples)")
    if report.stages:
        width = max(len(stage.label) for stage in report.stages)
        lines.append("order stages  p50 / p99 / max us (orders)")
        lines.extend(f"  {stage.label:<{width}}  {stage.p50_us:.0f} / {stage.p99_us:.0f} / "
                     f"{stage.max_us:.0f} ({stage.count})" for stage in report.stages)
    for name, stats in (hooks or {}).items():
        if stats.calls:
            lines.append(f"{name + ' hook':<14}mean {stats.mean_ns / 1000:.1f} us, "
                         f"max {stats.max_ns / 1000:.0f} us ({stats.calls} calls, "
                         f"{stats.errors} raised)")
    if limits:
        lines.append(f"risk limits   {limits}")
    for index, line in enumerate(open_at_exit):
        lines.append(f"{'open at exit' if index == 0 else '':<14}{line}")
    return "\n".join(lines)


def _per_account(report: ReportData) -> list[str]:
    """One line per account when the report covers several (nothing for one: the totals
    above are that account's): its net realized and open P&L and its positions."""
    return [f"{'per account' if index == 0 else '':<14}{a.name}: net realized "
            f"{a.net_realized:+,.2f}, open {_money(a.open_pnl)} ("
            + (", ".join(f"{symbol} {net:+d}" for symbol, net in a.positions) or "flat") + ")"
            for index, a in enumerate(per_account(report))]


class StatusPrinter:
    """Prints ``render()`` to ``stream``: in place on a terminal, as lines otherwise."""

    def __init__(self, render: Callable[[], str], stream: TextIO, *, tty: bool | None = None,
                 interval: float | None = None) -> None:
        self._render = render
        self._stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.interval = interval if interval is not None else (
            TTY_INTERVAL if self.tty else PLAIN_INTERVAL)
        self._dirty = False
        """A line is on screen without its newline (terminal mode)."""
        self.printed = 0
        self.failures = 0

    def show(self) -> None:
        """Print the current status once. A failing stream (closed pipe) or render is
        logged once and otherwise ignored: the display must never stop trading."""
        try:
            line = self._render()
            if self.tty:
                # Wider than the terminal, the line would wrap and \r could not redraw it.
                width = shutil.get_terminal_size().columns
                self._stream.write(_CLEAR_LINE + line[:max(width - 1, 20)])
                self._dirty = True
            else:
                self._stream.write(line + "\n")
            self._stream.flush()
            self.printed += 1
        except Exception:
            self.failures += 1
            if self.failures == 1:
                _log.exception("status line failed (further failures are not logged)")

    def say(self, text: str) -> None:
        """Print a message on a line of its own (ending an in-place status line first)."""
        self.end_line()
        try:
            self._stream.write(text + "\n")
            self._stream.flush()
        except (OSError, ValueError):
            pass

    def end_line(self) -> None:
        """Finish the in-place line so whatever is printed next starts on its own line."""
        if self._dirty:
            self._dirty = False
            try:
                self._stream.write("\n")
                self._stream.flush()
            except (OSError, ValueError):
                pass

    async def run(self) -> None:
        """Show the status now and then every ``interval`` seconds until cancelled."""
        try:
            while True:
                self.show()
                await asyncio.sleep(self.interval)
        finally:
            self.end_line()


class UrgentOnScreen:
    """An alert sink that also shows every urgent alert on the terminal, whole, on a line of
    its own: a risk refusal, a halt and its reason, a lost connection. The status line has
    room for a word at most (and is cut at the terminal's width); the trader watching the
    screen must see what went wrong without opening the log. Urgent alerts are already
    throttled per kind by their producers, so this cannot flood the screen."""

    def __init__(self, inner: AlertSink, stream: TextIO) -> None:
        self._inner = inner
        self._stream = stream
        self._printer: StatusPrinter | None = None

    def show_with(self, printer: StatusPrinter) -> None:
        """Print through the status printer (which ends its in-place line first)."""
        self._printer = printer

    def emit(self, alert: Alert) -> None:
        self._inner.emit(alert)
        if alert.severity is not Severity.URGENT:
            return
        line = f"{time.strftime('%H:%M:%S', time.localtime(alert.created))} ALERT {alert.title}"
        try:
            if self._printer is not None:
                self._printer.say(line)
            else:
                self._stream.write(line + "\n")
                self._stream.flush()
        except Exception:  # the display must never stop what raised the alert
            _log.debug("an urgent alert could not be shown on the terminal", exc_info=True)
