"""``tradovate-api replay FILE... --strategy module:Class``: backtest a strategy on recordings."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from ..export import Format
from ..recording import recording_files
from ..settings import Settings, load_settings
from .engine import ReplayConfig, run_replay
from .output import save_result
from .results import BacktestSummary

DEFAULT_SETTINGS = "settings.toml"


def parse_speed(text: str) -> float | None:
    """``max`` (as fast as possible), ``realtime`` (1×) or a factor (``10`` or ``10x``)."""
    value = text.strip().lower()
    if value == "max":
        return None
    if value == "realtime":
        return 1.0
    try:
        factor = float(value.removesuffix("x"))
    except ValueError:
        raise ValueError(f"--speed: expected max, realtime or a factor, got {text!r}") from None
    if not factor > 0:
        raise ValueError(f"--speed: the factor must be positive, got {text!r}")
    return factor


def settings_for(path: str | None) -> Settings:
    """The settings file given, else ``./settings.toml`` if present, else the defaults."""
    if path is not None:
        return load_settings(path)
    if Path(DEFAULT_SETTINGS).is_file():
        return load_settings(DEFAULT_SETTINGS)
    return Settings()


def replay_config(settings: Settings, *, speed: float | None = None, latency_ms: float = 0.0,
                  slippage_ticks: int = 0, commission: float | None = None) -> ReplayConfig:
    """The replay configuration of ``settings`` (strategy parameters, risk, traded symbol,
    commissions per product) with the execution costs given; ``commission`` (per contract
    per side, every product) overrides the settings' commissions. ``replay`` and ``sweep``
    both build theirs here, so a sweep's run costs what the same replay costs."""
    return ReplayConfig(
        speed=speed, latency_ms=latency_ms, slippage_ticks=slippage_ticks,
        commission_per_side=commission if commission is not None else 0.0,
        commissions={} if commission is not None else dict(
            settings.trading.commission_per_side),
        params=dict(settings.strategy), risk=settings.risk,
        trading_symbol=settings.trading.symbol)


def summary_lines(summary: BacktestSummary) -> list[str]:
    def money(value: float | None) -> str:
        return "n/a" if value is None else f"{value:,.2f}"

    rate = "n/a" if summary.win_rate is None else f"{summary.win_rate:.0%}"
    factor = "n/a" if summary.profit_factor is None else f"{summary.profit_factor:.2f}"
    return [
        f"recording   {summary.recording_seconds:,.1f} s, {summary.md_events:,} md events "
        f"({summary.events_per_second:,.0f} events/s)",
        f"decisions   {summary.decisions}, fills {summary.fills}, closed trades "
        f"{summary.trades} (won {summary.wins}, lost {summary.losses}, win rate {rate})",
        f"P&L         net {money(summary.net_realized)} (realized {money(summary.realized)}, "
        f"commissions {money(summary.commissions)}), open {money(summary.open_pnl)}, "
        f"total {money(summary.total_pnl)}",
        f"            profit factor {factor}, max drawdown {money(summary.max_drawdown)}",
    ]


def replay_command(files: Sequence[str], *, strategy: str | None, settings_path: str | None,
                   speed: str, latency_ms: float, slippage_ticks: int,
                   commission: float | None, output: str | None,
                   exports: Sequence[Format], charts: bool) -> tuple[list[str], Path]:
    """Run a replay and save its files; returns (summary lines, output directory). Raises
    ``ValueError``/``TradovateError`` subclasses with a message for the user."""
    from ..strategy.loading import load_strategy

    settings = settings_for(settings_path)
    paths = recording_files(files)
    if not paths:
        raise ValueError("no recording files found")
    config = replay_config(settings, speed=parse_speed(speed), latency_ms=latency_ms,
                           slippage_ticks=slippage_ticks, commission=commission)
    instance = load_strategy(strategy or settings.trading.strategy)
    result = asyncio.run(run_replay(paths, instance, config))
    out = Path(output) if output is not None else Path("backtests") / paths[0].name.split(".")[0]
    save_result(result, out, recordings=paths, exports=exports, charts=charts)
    return summary_lines(result.summary), out
