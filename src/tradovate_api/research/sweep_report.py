"""The sweep's HTML report (``report.html``, one self-contained file).

What a trader choosing parameters needs on one page: the sweep (strategy, data, grid,
seed), the costs every run paid (the replay's own latency, slippage and commission model,
stated, not implied), the best runs, a heatmap of net P&L over two parameters, the equity
curves of the best few, and — with walk-forward — each combination's out-of-sample result
next to its in-sample one, since a parameter set that only wins in-sample is a fitted one.
Charts are PNGs embedded as data URIs (matplotlib without pyplot, so no global state).
"""

from __future__ import annotations

import base64
import html
import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..replay import ReplayConfig
from .grid import SweepSpec
from .sweep_task import RunOutcome, RunResult

REPORT_FILE = "report.html"
_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;
text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}.neg{color:#b00}
img{max-width:100%}"""


def _money(value: float | None) -> str:
    if value is None:
        return "n/a"
    text = f"{value:,.2f}"
    return f'<span class="neg">{text}</span>' if value < 0 else text


def _num(value: float | None, fmt: str = "{:.2f}") -> str:
    return "n/a" if value is None else fmt.format(value)


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}">'


def _score(outcome: RunOutcome) -> float:
    return outcome.total_pnl if outcome.total_pnl is not None else -math.inf


def _params(outcome: RunOutcome) -> str:
    return html.escape(", ".join(f"{k}={v}" for k, v in outcome.params.items()))


def heatmap_cells(outcomes: Sequence[RunOutcome],
                  axes: tuple[str, str]) -> tuple[list[Any], list[Any], list[list[float | None]]]:
    """(x values, y values, best total P&L per cell — over the other parameters — or None)."""
    xs = sorted({o.params[axes[0]] for o in outcomes}, key=str)
    ys = sorted({o.params[axes[1]] for o in outcomes}, key=str)
    if all(isinstance(v, int | float) for v in xs):
        xs.sort()
    if all(isinstance(v, int | float) for v in ys):
        ys.sort()
    cells: list[list[float | None]] = [[None] * len(xs) for _ in ys]
    for o in outcomes:
        if o.total_pnl is None:
            continue
        row, col = ys.index(o.params[axes[1]]), xs.index(o.params[axes[0]])
        current = cells[row][col]
        cells[row][col] = o.total_pnl if current is None else max(current, o.total_pnl)
    return xs, ys, cells


def _heatmap(outcomes: Sequence[RunOutcome], axes: tuple[str, str], others: bool) -> str:
    from matplotlib.figure import Figure

    xs, ys, cells = heatmap_cells(outcomes, axes)
    grid = [[math.nan if v is None else v for v in row] for row in cells]
    fig = Figure(figsize=(1.2 + 0.9 * len(xs), 1.0 + 0.6 * len(ys)))
    ax = fig.subplots()
    image = ax.imshow(grid, cmap="RdYlGn", aspect="auto", origin="lower")
    ax.set_xticks(range(len(xs)), [str(x) for x in xs])
    ax.set_yticks(range(len(ys)), [str(y) for y in ys])
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    for row, values in enumerate(cells):
        for col, value in enumerate(values):
            ax.text(col, row, "n/a" if value is None else f"{value:,.0f}", ha="center",
                    va="center", fontsize=8)
    fig.colorbar(image, ax=ax, label="net P&L" + (" (best over the other parameters)"
                                                  if others else ""))
    return _png(fig)


def _equity(outcomes: Sequence[RunOutcome]) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4))
    ax = fig.subplots()
    for o in outcomes:
        if o.equity:
            start = o.equity[0][0]
            ax.plot([(t - start) / 60_000 for t, _ in o.equity], [v for _, v in o.equity],
                    label=f"run {o.number}: {', '.join(f'{k}={v}' for k, v in o.params.items())}")
    ax.set_xlabel("minutes from the first sample")
    ax.set_ylabel("net P&L")
    ax.axhline(0, color="#888", linewidth=0.5)
    if ax.lines:
        ax.legend(fontsize=7)
    return _png(fig)


def _scatter(pairs: Sequence[tuple[RunOutcome, RunOutcome]]) -> str:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    points = [(i.total_pnl, o.total_pnl) for i, o in pairs
              if i.total_pnl is not None and o.total_pnl is not None]
    ax.scatter([p[0] for p in points], [p[1] for p in points], s=14)
    ax.axhline(0, color="#888", linewidth=0.5)
    ax.axvline(0, color="#888", linewidth=0.5)
    ax.set_xlabel("in-sample net P&L")
    ax.set_ylabel("out-of-sample net P&L")
    return _png(fig)


def costs_rows(config: ReplayConfig) -> list[tuple[str, str]]:
    """The execution model every run used, as (what, value) rows."""
    commissions = ", ".join(f"{product} {fee:g}" for product, fee in
                            sorted(config.commissions.items())) or "none by product"
    return [
        ("latency (one way)", f"{config.latency_ms:g} ms"),
        ("slippage on marketable orders", f"{config.slippage_ticks} ticks"),
        ("commission + fees per contract per side", f"{commissions}; other products "
                                                      f"{config.commission_per_side:g}"),
        ("starting balance", f"{config.balance:,.2f}"),
        ("fills", "the simulator's matching engine against the recorded book"),
    ]


def render(results: Sequence[RunResult], spec: SweepSpec, config: ReplayConfig,
           meta: Mapping[str, Any]) -> str:
    outcomes = [r.outcome for r in results]
    walk = spec.walk_forward is not None
    ranked_pool = [o for o in outcomes if o.split in ("all", "in") and not o.error]
    best = sorted(ranked_pool, key=lambda o: (-_score(o), o.number))
    top = best[:spec.options.top]
    out_of = {o.number: o for o in outcomes if o.split == "out"}
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Sweep: "
             f"{html.escape(str(meta['strategy']))}</title><style>{_STYLE}</style></head>"
             f"<body><h1>Sweep of {html.escape(str(meta['strategy']))}</h1><table>"]
    for key in ("data", "mode", "combinations", "runs", "workers", "wall_seconds",
                "walk_forward"):
        if key in meta:
            parts.append(f"<tr><th class='l'>{key.replace('_', ' ')}</th><td class='l'>"
                         f"{html.escape(str(meta[key]))}</td></tr>")
    parts.append("</table><h2>Costs (every run)</h2><table>")
    parts.extend(f"<tr><th class='l'>{html.escape(k)}</th><td class='l'>{html.escape(v)}"
                 f"</td></tr>" for k, v in costs_rows(config))
    parts.append("</table>")
    failed = [o for o in outcomes if o.error]
    if failed:
        parts.append(f"<h2>Failed runs ({len(failed)})</h2><ul>")
        parts.extend(f"<li>run {o.number} ({o.split}) {_params(o)}: {html.escape(o.error)}"
                     f"</li>" for o in failed)
        parts.append("</ul>")
    title = "Best runs (in-sample)" if walk else "Best runs"
    head = "".join(f"<th>{h}</th>" for h in ("run", "net P&L", "trades", "win rate",
                                             "profit factor", "max drawdown", "commissions"))
    parts.append(f"<h2>{title}</h2><table><tr>{head}<th class='l'>parameters</th>"
                 + ("<th>out-of-sample net P&L</th>" if walk else "") + "</tr>")
    for o in best[:max(spec.options.top, 10)]:
        oos = out_of.get(o.number)
        parts.append(
            f"<tr><td>{o.number}</td><td>{_money(o.total_pnl)}</td><td>{o.trades}</td>"
            f"<td>{_num(o.win_rate, '{:.0%}')}</td><td>{_num(o.profit_factor)}</td>"
            f"<td>{_money(o.max_drawdown)}</td><td>{_money(o.commissions)}</td>"
            f"<td class='l'>{_params(o)}</td>"
            + (f"<td>{_money(oos.total_pnl if oos else None)}</td>" if walk else "") + "</tr>")
    parts.append("</table>")
    axes = spec.heatmap_axes
    if axes is not None and ranked_pool:
        parts.append(f"<h2>Net P&L over {html.escape(axes[0])} × {html.escape(axes[1])}"
                     f"{' (in-sample)' if walk else ''}</h2>")
        parts.append(_heatmap(ranked_pool, axes, len(spec.values) > 2))
    if top:
        parts.append(f"<h2>Equity curves of the best {len(top)}</h2>{_equity(top)}")
    if walk:
        pairs = [(o, out_of[o.number]) for o in best if o.number in out_of]
        parts.append("<h2>Out-of-sample vs in-sample</h2>")
        parts.append(_scatter(pairs))
        if top:
            parts.append(f"<h3>Out-of-sample equity of the best {len(top)} in-sample</h3>")
            parts.append(_equity([out_of[o.number] for o in top if o.number in out_of]))
    parts.append("</body></html>")
    return "".join(parts)


def write_report(directory: Path, results: Sequence[RunResult], spec: SweepSpec,
                 config: ReplayConfig, meta: Mapping[str, Any]) -> Path:
    path = directory / REPORT_FILE
    path.write_text(render(results, spec, config, meta), encoding="utf-8")
    return path
