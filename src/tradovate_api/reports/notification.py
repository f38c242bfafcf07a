"""A report as a notification: a plain-text summary (what an SMS-sized or text-only reader
sees), the HTML page as the rich body, and the charts as PNG attachments for the e-mail."""

from __future__ import annotations

from collections.abc import Mapping

from ..notify.message import Attachment, Notification
from . import format as fmt
from .charts import render_charts
from .data import ReportData
from .html import render_html

MAX_TEXT_TRADES = 20
"""Newest trades listed in the text body (the HTML body lists all of them)."""
_KIND_NAME = {"periodic": "periodic", "session_end": "end of session", "manual": "on request"}


def report_title(data: ReportData) -> str:
    """Short enough for one e-mail header line (longer subjects get folded, and some
    readers then show a leading space)."""
    return (f"Report: P&L {fmt.money(data.summary.total)} ({_KIND_NAME[data.kind]}, "
            f"{fmt.stamp(data.generated_ms)[:-7]} UTC)")


def render_text(data: ReportData) -> str:
    """The plain-text body."""
    s = data.summary
    lines = [report_title(data), ""]
    for account in data.accounts:
        lines.append(f"Account {account.name}: cash "
                     f"{fmt.money(account.cash_balance, signed=False)}")
    settled = (f" + settled {fmt.money(s.settled)}" if any(p.settled for p in data.positions)
               else "")
    lines.append(f"Total P&L {fmt.money(s.total)} = realized {fmt.money(s.realized)} "
                 f"- commissions {fmt.money(s.commissions, signed=False)}{settled} + open "
                 f"{fmt.money(s.open_pnl)}")
    lines.append(f"Closed trades {s.trades_closed} ({s.wins} won, {s.losses} lost, win rate "
                 f"{fmt.percent(s.win_rate)}); fills {s.fills}")
    lines += ["", "Positions:"]
    days = bool(settled)
    lines += [f"  {p.symbol} "
              + (f"{fmt.trade_day(p.trade_date, p.settled)} " if days else "")
              + f"{p.net_pos:+d} @ {fmt.price(p.avg_price)}, "
              + (f"carried in {fmt.carried(p.prev_pos, p.prev_price)}, " if p.prev_pos else "")
              + f"mark {fmt.price(p.mark)}, open {fmt.money(p.open_pnl)}, net realized "
              f"{fmt.money(p.net_realized)}" for p in data.positions] or ["  none"]
    trades = data.trades[-MAX_TEXT_TRADES:]
    header = "Trades:" if len(trades) == len(data.trades) else (
        f"Trades (last {len(trades)} of {len(data.trades)}):")
    lines += ["", header]
    for t in trades:
        exit_part = (f"{fmt.clock(t.exit_ms)} {fmt.price(t.exit_price)}" if t.closed
                     else f"open ({t.exit_qty}/{t.qty} out)")
        lines.append(f"  {fmt.clock(t.entry_ms)} {t.symbol} {t.side} {t.qty} "
                     f"{fmt.price(t.entry_price)} -> {exit_part}, net {fmt.money(t.net)}")
        lines.append(f"    entry: {_one_line(fmt.trigger(t.entry_trigger))}")
        if t.exit_trigger:
            lines.append(f"    exit: {_one_line(fmt.trigger(t.exit_trigger))}")
    if not trades:
        lines.append("  none")
    lines += ["", f"Running {fmt.duration(data.uptime_seconds)}"]
    lines += [f"  {c.name}: {'connected' if c.connected else 'DISCONNECTED'}, "
              f"{c.connects} connects, {c.reconnects} reconnects" for c in data.connections]
    lat = data.latency
    if lat is not None:
        lines.append(f"Tick-to-order latency ({lat.count} samples): p50 "
                     f"{fmt.micros(lat.p50_us)}, p90 {fmt.micros(lat.p90_us)}, p99 "
                     f"{fmt.micros(lat.p99_us)}, max {fmt.micros(lat.max_us)}")
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or fmt.DASH


def report_notification(data: ReportData,
                        charts: Mapping[str, bytes] | None = None) -> Notification:
    """The routine notification (key ``report.<kind>``) carrying the report; ``charts`` are
    rendered from ``data`` if not given."""
    pngs = render_charts(data) if charts is None else charts
    return Notification(
        title=report_title(data), text=render_text(data), key=f"report.{data.kind}",
        urgent=False, html=render_html(data, pngs),
        attachments=tuple(Attachment(name, "image/png", png) for name, png in pngs.items()))
