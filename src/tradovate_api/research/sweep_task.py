"""One run of a sweep: a replay of the data with one parameter combination.

A :class:`RunTask` carries everything the run depends on (strategy reference, recording
paths, the full replay configuration) as plain, picklable values, and :func:`run_task` is a
module-level function, so a Dask worker process on any machine that has the package and the
data at the same paths runs it alike. Replays are deterministic (the recording's clock), so
a task's :class:`RunOutcome` is the same wherever and in whatever order it runs; only
``wall_seconds`` says where it ran.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec

from ..replay import ReplayConfig, run_replay
from ..reports import Point

QUIET_LEVEL = logging.CRITICAL
"""The package's log level during a run: a run's risk warnings and halts (errors: a run
halted by its daily loss is an outcome of the sweep, not a failure of it) would bury the
progress lines, two per run from every worker; each run's alerts are kept in its outcome
(the table's ``alerts`` column), the sweep prints how many runs raised each, and a run
that raises is kept with its error."""
EQUITY_POINTS = 400
"""Equity curve points kept per run (evenly spread over the run, the last one kept)."""


class RunTask(msgspec.Struct, frozen=True):
    number: int
    """The combination's number in the grid."""
    split: str
    """``"all"``, or ``"in"``/``"out"`` (in-sample, out-of-sample) in walk-forward."""
    params: dict[str, Any]
    """The swept parameters of this run."""
    strategy: str
    files: list[str]
    config: ReplayConfig


class RunOutcome(msgspec.Struct, frozen=True):
    """What a run produced (deterministic: the same task gives the same outcome)."""

    number: int
    split: str
    params: dict[str, Any]
    total_pnl: float | None
    net_realized: float
    commissions: float
    open_pnl: float | None
    trades: int
    wins: int
    losses: int
    win_rate: float | None
    profit_factor: float | None
    max_drawdown: float
    decisions: int
    fills: int
    md_events: int
    alerts: list[str]
    equity: list[tuple[int, float]]
    error: str = ""
    """Set (and the numbers zero) when the run raised: the sweep goes on, the table says."""


class RunResult(msgspec.Struct, frozen=True):
    outcome: RunOutcome
    wall_seconds: float
    cpu_seconds: float
    """CPU time of the run's thread: far below ``wall_seconds``, the worker was starved
    (more workers than free cores)."""


def _thin(points: tuple[Point, ...]) -> list[tuple[int, float]]:
    if len(points) <= EQUITY_POINTS:
        return [(p.t_ms, p.value) for p in points]
    step = len(points) / (EQUITY_POINTS - 1)
    picked = [points[int(i * step)] for i in range(EQUITY_POINTS - 1)] + [points[-1]]
    return [(p.t_ms, p.value) for p in picked]


def _failed(task: RunTask, error: str) -> RunOutcome:
    return RunOutcome(task.number, task.split, task.params, None, 0.0, 0.0, None, 0, 0, 0,
                      None, None, 0.0, 0, 0, 0, [], [], error=error)


def run_task(task: RunTask) -> RunResult:
    """Replay ``task`` (in this process) and summarise it."""
    from ..strategy.loading import load_strategy

    started, cpu_started = time.perf_counter(), time.thread_time()
    package_log = logging.getLogger("tradovate_api")
    level = package_log.level
    package_log.setLevel(QUIET_LEVEL)  # the outcome's alerts say what a run's warnings said
    try:
        result = asyncio.run(run_replay(task.files, load_strategy(task.strategy), task.config))
    except Exception as exc:  # one bad combination must not lose the sweep's other runs
        return RunResult(_failed(task, f"{type(exc).__name__}: {exc}"),
                         time.perf_counter() - started, time.thread_time() - cpu_started)
    finally:
        package_log.setLevel(level)
    s = result.summary
    outcome = RunOutcome(
        task.number, task.split, task.params, s.total_pnl, s.net_realized, s.commissions,
        s.open_pnl, s.trades, s.wins, s.losses, s.win_rate, s.profit_factor, s.max_drawdown,
        s.decisions, s.fills, s.md_events, list(result.alerts), _thin(result.equity))
    return RunResult(outcome, time.perf_counter() - started, time.thread_time() - cpu_started)
