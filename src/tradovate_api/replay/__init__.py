"""Replay and backtest: a recording fed through the live decode → stores → dispatcher →
strategy path, with orders executed by the simulator's matching engine against the recorded
book (latency, slippage, commissions), on the recording's clock.

:func:`run_replay` / :class:`Replay` run one; the :class:`ReplayResult` holds the decisions,
fills, the report (as live sessions get) and backtest statistics.
"""

from __future__ import annotations

from .clock import ReplayClock
from .engine import Replay, ReplayConfig, run_replay
from .execution import RecordedBooks, ReplayGateway
from .results import (
    BacktestSummary,
    Decision,
    FillRecord,
    ReplayResult,
    ReplayStats,
    max_drawdown,
)

__all__ = [
    "BacktestSummary", "Decision", "FillRecord", "RecordedBooks", "Replay", "ReplayClock",
    "ReplayConfig", "ReplayGateway", "ReplayResult", "ReplayStats", "max_drawdown",
    "run_replay",
]
