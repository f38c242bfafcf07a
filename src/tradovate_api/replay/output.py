"""A replay's files: the live report (HTML with charts, PNGs, JSON), the backtest summary and
decisions, and the trades and fills exports."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import msgspec

from ..export import Format, export_rows
from ..reports import TradeLine, encode_report, render_charts, render_html
from .results import Decision, FillRecord, ReplayResult


class BacktestFile(msgspec.Struct, frozen=True):
    """``backtest.json``: the summary, every decision, every fill and the equity curve."""

    recordings: list[str]
    summary: object
    decisions: object
    fills: object
    equity: object
    alerts: object


def save_result(result: ReplayResult, directory: str | Path, *, recordings: Iterable[Path] = (),
                exports: Iterable[Format] = ("csv",), charts: bool = True) -> list[Path]:
    """Write the report and exports into ``directory``; returns the files written."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    pngs = render_charts(result.report) if charts else {}
    for name, png in pngs.items():
        path = out / (name if name.endswith(".png") else f"{name}.png")
        path.write_bytes(png)
        written.append(path)
    html = out / "report.html"
    html.write_text(render_html(result.report, pngs), encoding="utf-8")
    report_json = out / "report.json"
    report_json.write_bytes(encode_report(result.report))
    backtest = out / "backtest.json"
    backtest.write_bytes(msgspec.json.format(msgspec.json.encode(BacktestFile(
        [str(p) for p in recordings], result.summary, result.decisions, result.fills,
        result.equity, result.alerts)), indent=1))
    written += [html, report_json, backtest]
    for fmt in exports:
        written.append(export_rows(result.report.trades, out / f"trades.{fmt}", fmt,
                                   row_type=TradeLine))
        written.append(export_rows(result.fills, out / f"fills.{fmt}", fmt,
                                   row_type=FillRecord))
        written.append(export_rows(result.decisions, out / f"decisions.{fmt}", fmt,
                                   row_type=Decision))
    return written
