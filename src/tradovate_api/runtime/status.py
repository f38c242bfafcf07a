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

from ..reports import ReportData
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


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+,.2f}"


def format_status(s: StatusSnapshot, now: float | None = None) -> str:
    """One line, e.g. ``12:03:04 md up, trading up | ESZ6 6851.25 | pos +1 @ 6850.75 |
    P&L net -4.18 open +25.00 | 0 working, 3 fills | 0 reconnects`` (net: realized after
    commissions)."""
    clock = time.strftime("%H:%M:%S", time.localtime(now))
    links = (f"md {'up' if s.md_connected else 'DOWN'}, "
             f"trading {'up' if s.trading_connected else 'DOWN'}")
    price = "-" if s.last_price is None else f"{s.last_price:g}"
    position = "flat" if s.net_pos == 0 else (
        f"pos {s.net_pos:+d}" + ("" if s.avg_price is None else f" @ {s.avg_price:g}"))
    parts = [f"{clock} {links}", f"{s.symbol} {price}", position,
             f"P&L net {_money(s.realized)} open {_money(s.open_pnl)}",
             f"{s.working_orders} working, {s.fills} fills",
             f"{s.reconnects} reconnects"]
    if s.strategy:
        parts.append(s.strategy)
    return " | ".join(parts)


def format_summary(report: ReportData, metrics: RuntimeMetrics, environment: str,
                   duration: float, ended: str = "",
                   hooks: Mapping[str, HookStats] | None = None,
                   open_at_exit: Sequence[str] = ()) -> str:
    """The end-of-run summary: trades, fills, P&L with commissions, open positions,
    reconnects and tick-to-order latency; the strategy hooks' times when they were measured
    (``hooks``); what was still open at the exit and what protects it (``open_at_exit``, one
    line each). ``duration``: seconds until shutdown began. P&L is over every trade date of
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
    sessions = metrics.sessions()
    lines.append("reconnects    " + (", ".join(f"{m.name} {m.reconnects}" for m in sessions)
                                     or "none"))
    latency = metrics.latency()
    if latency.count:
        lines.append(f"tick->order   p50 {latency.p50_us:.0f} us, p99 {latency.p99_us:.0f} us, "
                     f"max {latency.max_us:.0f} us ({latency.count} samples)")
    for name, stats in (hooks or {}).items():
        if stats.calls:
            lines.append(f"{name + ' hook':<14}mean {stats.mean_ns / 1000:.1f} us, "
                         f"max {stats.max_ns / 1000:.0f} us ({stats.calls} calls, "
                         f"{stats.errors} raised)")
    for index, line in enumerate(open_at_exit):
        lines.append(f"{'open at exit' if index == 0 else '':<14}{line}")
    return "\n".join(lines)


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
