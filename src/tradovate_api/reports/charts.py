"""The report's charts as PNG bytes: P&L over time, prices with our entries and exits, and
(once orders were sent) the histogram of the orders' latency stages.

Matplotlib's object API on the Agg canvas only: no ``pyplot``, so no global figure registry,
no GUI backend and nothing left behind after a call; styling is passed per artist, never via
``rcParams``. Rendering runs off the event loop (a worker thread); matplotlib's shared caches
(fonts, text layout) are not documented thread-safe, so renders are serialised by a lock.
Matplotlib is imported on first use, so importing the reports package costs nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from .data import FillMarker, Point, PriceSeries, ReportData
from .latency import HISTOGRAM_EDGES_US

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_LOCK = threading.Lock()
WIDTH_IN, DPI = 10.0, 100
"""Charts are 1,000 pixels wide: readable in an e-mail and in the HTML page."""
MAX_PRICE_PANELS = 4
_TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
               43200, 86400, 172800, 604800)
"""Tick spacings in seconds; multiples of them fall on round UTC clock times."""
_UP, _DOWN, _LINE, _EXIT = "#1a7f37", "#cf222e", "#0969da", "#6e40c9"
_STAGE_COLOURS = {"decode": "#8250df", "strategy": "#bf8700", "risk": "#cf222e",
                  "send": "#1a7f37", "tick_to_order": _LINE, "ack": "#57606a",
                  "fill": "#953800"}


def _times(points: Sequence[Point] | Sequence[FillMarker]) -> list[float]:
    """x coordinates: epoch seconds (formatted as UTC clock times by :func:`_time_axis`)."""
    return [p.t_ms / 1000 for p in points]


def _figure(height_in: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _time_axis(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    low, high = ax.get_xlim()
    step = next((s for s in _TIME_STEPS if (high - low) / s <= 8), _TIME_STEPS[-1])
    pattern = "%H:%M" if high - low < 86_400 else "%m-%d %H:%M"
    if high - low < 300:
        pattern += ":%S"

    def label(x: float, _: int | None) -> str:
        return dt.datetime.fromtimestamp(x, dt.UTC).strftime(pattern)

    ax.xaxis.set_major_locator(MultipleLocator(step))
    ax.xaxis.set_major_formatter(FuncFormatter(label))
    ax.grid(True, color="#d0d7de", linewidth=0.6)
    ax.set_xlabel("time (UTC)")


def _empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes,
            color="#57606a", fontsize=12)
    ax.set_xticks([])
    ax.set_yticks([])


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def pnl_chart(data: ReportData) -> bytes:
    """Total P&L (realized − commissions + open) over time, green above zero, red below."""
    with _LOCK:
        figure = _figure(3.6)
        ax = figure.add_subplot()
        ax.set_title("P&L over time (net of commissions, open positions marked)", fontsize=11)
        points = data.pnl_series
        if not points:
            _empty(ax, "no fills yet")
            return _png(figure)
        times, values = _times(points), [p.value for p in points]
        ax.step(times, values, where="post", color=_LINE, linewidth=1.4)
        ax.fill_between(times, [max(v, 0.0) for v in values], 0, step="post", color=_UP,
                        alpha=0.15, linewidth=0)
        ax.fill_between(times, [min(v, 0.0) for v in values], 0, step="post", color=_DOWN,
                        alpha=0.15, linewidth=0)
        ax.axhline(0, color="#57606a", linewidth=0.8)
        ax.set_ylabel("P&L")
        _time_axis(ax)
        return _png(figure)


def _price_panel(ax: Axes, series: PriceSeries) -> None:
    ax.set_title(f"{series.symbol}: price with entries and exits", fontsize=11)
    if not series.points and not series.fills:
        _empty(ax, "no prices")
        return
    if series.points:
        ax.plot(_times(series.points), [p.value for p in series.points], color=_LINE,
                linewidth=1.0, label="price")
    styles = (("entry", "Buy", "^", _UP, "buy entry"), ("entry", "Sell", "v", _DOWN,
                                                         "sell entry"),
              ("exit", "Buy", "^", _EXIT, "buy exit"), ("exit", "Sell", "v", _EXIT,
                                                        "sell exit"),
              ("reverse", "Buy", "^", "#bf8700", "buy reverse"),
              ("reverse", "Sell", "v", "#bf8700", "sell reverse"))
    for role, action, marker, color, label in styles:
        chosen = [f for f in series.fills if f.role == role and f.action == action]
        if chosen:
            ax.scatter(_times(chosen), [f.price for f in chosen], marker=marker, s=70,
                       color=color, edgecolors="black", linewidths=0.6, zorder=3,
                       label=label)
    ax.legend(loc="best", fontsize=8, framealpha=0.8)
    ax.set_ylabel("price")
    _time_axis(ax)


def price_chart(data: ReportData) -> bytes:
    """One panel per charted contract (at most :data:`MAX_PRICE_PANELS`)."""
    panels = data.price_series[:MAX_PRICE_PANELS]
    with _LOCK:
        figure = _figure(3.2 * max(1, len(panels)))
        if not panels:
            _empty(figure.add_subplot(), "no market data")
            return _png(figure)
        for index, series in enumerate(panels, start=1):
            _price_panel(figure.add_subplot(len(panels), 1, index), series)
        return _png(figure)


def latency_chart(data: ReportData) -> bytes:
    """Orders per latency bin (log scale), one line per stage of the breakdown."""
    with _LOCK:
        figure = _figure(3.6)
        ax = figure.add_subplot()
        ax.set_title("Order latency by stage (orders per bin)", fontsize=11)
        if not data.stages:
            _empty(ax, "no orders sent yet")
            return _png(figure)
        # bin i spans (edge[i-1], edge[i]]; the last bin is drawn one decade past the edges
        edges = [HISTOGRAM_EDGES_US[0] / 2, *HISTOGRAM_EDGES_US, HISTOGRAM_EDGES_US[-1] * 10]
        for stage in data.stages:
            ax.stairs(stage.histogram, edges, color=_STAGE_COLOURS.get(stage.name, _LINE),
                      linewidth=1.6, label=f"{stage.label} (p50 {stage.p50_us:,.0f} µs)")
        ax.set_xscale("log")
        ax.set_xlabel("µs")
        ax.set_ylabel("orders")
        ax.grid(True, color="#d0d7de", linewidth=0.6)
        ax.legend(loc="best", fontsize=8, framealpha=0.8)
        return _png(figure)


def render_charts(data: ReportData) -> dict[str, bytes]:
    """Attachment name → PNG bytes; the latency histogram only once orders were sent."""
    charts = {"pnl.png": pnl_chart(data), "prices.png": price_chart(data)}
    if data.stages:
        charts["latency.png"] = latency_chart(data)
    return charts
