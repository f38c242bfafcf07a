"""The report as one self-contained HTML page: inline CSS, charts as ``data:`` PNG URIs, no
scripts and nothing fetched, so it opens the same from a file, an e-mail or an archive. Every
piece of text from the report (symbols, account names, triggers) is HTML-escaped."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from html import escape

from . import format as fmt
from .accounts import per_account
from .charts import render_charts
from .data import ReportData

_KIND_TITLE = {"periodic": "Periodic report", "session_end": "End-of-session report",
               "manual": "Report"}
CHART_TITLES = {"pnl.png": "P&L over time", "prices.png": "Prices with entries and exits",
                "latency.png": "Order latency by stage"}

_CSS = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;
margin:24px auto;max-width:1040px;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid
#d0d7de;padding-bottom:4px}.meta{color:#57606a;font-size:13px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #d0d7de;
padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.why{white-space:pre-wrap;font-family:ui-monospace,Menlo,monospace;font-size:12px}
.pos{color:#1a7f37}.neg{color:#cf222e}.cards{display:flex;flex-wrap:wrap;gap:8px}
.card{border:1px solid #d0d7de;border-radius:6px;padding:8px 12px;min-width:120px}
.card b{display:block;font-size:18px}.card span{color:#57606a;font-size:12px}
img.chart{width:100%;max-width:1000px;height:auto;border:1px solid #d0d7de}
"""


def _sign_class(value: float | None) -> str:
    if value is None or round(value, 2) == 0:
        return ""
    return "pos" if value > 0 else "neg"


def _money(value: float | None) -> str:
    cls = _sign_class(value)
    attr = f' class="n {cls}"' if cls else ' class="n"'
    return f"<td{attr}>{escape(fmt.money(value))}</td>"


def _num(text: str) -> str:
    return f'<td class="n">{escape(text)}</td>'


def _text(text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<td{attr}>{escape(text) if text else fmt.DASH}</td>"


def _table(headers: Sequence[str], rows: Iterable[str], empty: str) -> str:
    body = "".join(f"<tr>{row}</tr>" for row in rows)
    if not body:
        return f'<p class="meta">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _card(label: str, value: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f'<div class="card"><b{attr}>{escape(value)}</b><span>{escape(label)}</span></div>'


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_html(data: ReportData, charts: Mapping[str, bytes] | None = None) -> str:
    """The page; ``charts`` (attachment name → PNG) are rendered from ``data`` if not given."""
    pngs = render_charts(data) if charts is None else charts
    s = data.summary
    title = f"{_KIND_TITLE[data.kind]} · {fmt.stamp(data.generated_ms)}"
    accounts = ", ".join(a.name for a in data.accounts) or fmt.DASH
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">Accounts: {escape(accounts)} · session started '
        f"{escape(fmt.stamp(data.session_start_ms))} · running "
        f"{escape(fmt.duration(data.uptime_seconds))}</p>",
        '<div class="cards">',
        _card("total P&L", fmt.money(s.total), _sign_class(s.total)),
        _card("realized (gross)", fmt.money(s.realized), _sign_class(s.realized)),
        _card("commissions", fmt.money(s.commissions, signed=False)),
        _card("open P&L", fmt.money(s.open_pnl), _sign_class(s.open_pnl)),
        _card("closed trades", str(s.trades_closed)),
        _card(f"win rate ({s.wins} won, {s.losses} lost)", fmt.percent(s.win_rate)),
        _card("fills", str(s.fills)),
        "</div>",
    ]
    for name, png in pngs.items():
        label = CHART_TITLES.get(name, name)
        parts.append(f"<h2>{escape(label)}</h2>")
        parts.append(f'<img class="chart" alt="{escape(label)}" src="{png_data_uri(png)}">')
    parts.append("<h2>Accounts</h2>")
    parts.append(_table(("account", "id", "cash balance", "realized today (server)"), (
        _text(a.name) + _num(str(a.id)) + _num(fmt.money(a.cash_balance, signed=False))
        + _money(a.realized_pnl)
        for a in data.accounts), "No account data."))
    each = per_account(data)
    if each:
        parts.append("<h2>P&L per account</h2>")
        parts.append(_table(("account", "net realized", "open P&L", "positions"), (
            _text(a.name) + _money(a.net_realized) + _money(a.open_pnl)
            + _text(", ".join(f"{symbol} {net:+d}" for symbol, net in a.positions) or "flat")
            for a in each), "No positions or fills."))
    names = {a.account_id: a.name for a in each}
    parts.append("<h2>Positions and P&L</h2>")
    parts.append(_table(
        ("account",) * bool(names) + (
            "contract", "trade date", "carried in", "net", "avg price", "mark", "open P&L",
            "realized", "commissions", "net realized"),
        ((_text(names[p.account_id]) if names else "") + _text(p.symbol)
         + _text(fmt.trade_day(p.trade_date, p.settled))
         + _num(fmt.carried(p.prev_pos, p.prev_price))
         + _num(f"{p.net_pos:+d}" if p.net_pos else "0")
         + _num(fmt.price(p.avg_price)) + _num(fmt.price(p.mark)) + _money(p.open_pnl)
         + _money(p.realized) + _num(fmt.money(p.commissions, signed=False))
         + _money(p.net_realized) for p in data.positions), "No positions or fills."))
    parts.append("<h2>Trades</h2>")
    parts.append(_table(
        ("contract", "side", "qty", "entry", "entry price", "exit", "exit price", "gross",
         "commissions", "net", "entry trigger", "exit trigger"),
        (_text(t.symbol) + _text(t.side) + _num(str(t.qty) if t.closed else
                                                f"{t.exit_qty}/{t.qty}")
         + _num(fmt.clock(t.entry_ms)) + _num(fmt.price(t.entry_price))
         + _num(fmt.clock(t.exit_ms) if t.closed else "open")
         + _num(fmt.price(t.exit_price)) + _money(t.gross)
         + _num(fmt.money(t.commissions, signed=False)) + _money(t.net)
         + _text(fmt.trigger(t.entry_trigger), "why") + _text(fmt.trigger(t.exit_trigger), "why")
         for t in data.trades), "No trades yet."))
    parts.append("<h2>Connections</h2>")
    parts.append(_table(("session", "connected now", "connects", "reconnects"), (
        _text(c.name) + _text("yes" if c.connected else "no") + _num(str(c.connects))
        + _num(str(c.reconnects)) for c in data.connections), "No connection metrics."))
    parts.append("<h2>Tick-to-order latency</h2>")
    lat = data.latency
    parts.append(_table(("samples", "p50", "p90", "p99", "max"), () if lat is None else (
        _num(str(lat.count)) + _num(fmt.micros(lat.p50_us)) + _num(fmt.micros(lat.p90_us))
        + _num(fmt.micros(lat.p99_us)) + _num(fmt.micros(lat.max_us)),),
        "No orders sent on a market-data event yet."))
    parts.append("<h2>Latency per order, by stage</h2>")
    parts.append(_table(("stage", "orders", "p50", "p90", "p99", "max"), (
        _text(st.label) + _num(str(st.count)) + _num(fmt.micros(st.p50_us))
        + _num(fmt.micros(st.p90_us)) + _num(fmt.micros(st.p99_us))
        + _num(fmt.micros(st.max_us)) for st in data.stages), "No orders sent yet."))
    parts.append(f'<p class="meta">Generated {escape(fmt.stamp(data.generated_ms))} by '
                 "tradovate-api. Times are UTC.</p></body></html>")
    return "\n".join(parts)
