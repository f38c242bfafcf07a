"""A parameter sweep: every combination of a grid (or a seeded sample of it) replayed as an
independent task, on a Dask cluster or in this process.

:func:`plan` turns the grid into :class:`RunTask` values — with walk-forward on, two per
combination, in-sample and out-of-sample sessions — and :func:`run_on_dask` hands them to
``distributed``: a :class:`distributed.LocalCluster` of one single-threaded worker process
per core by default (replays are pure Python, so processes, not threads), or an existing
cluster at ``scheduler``. Results are ordered by combination number and split, never by
completion, and each run is deterministic, so one worker or many give the same table.
:func:`run_serial` runs the tasks one after the other in this process, without Dask (the
reference the cluster run must equal, and a debugger's friend).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from ..errors import ConfigError
from ..recording import RecordingReader, recording_files
from ..replay import ReplayConfig
from .grid import SweepSpec
from .progress import Progress
from .sweep_task import RunResult, RunTask, run_task

SILENCE_WORKER_LOGS = logging.CRITICAL
"""Dask's own log level in a LocalCluster: its workers log a heartbeat error when the
cluster closes under them, which is shutdown noise; a run's failure comes back through its
future (and a run's own exceptions are kept in its outcome)."""
CLUSTER_START_SECONDS = 120.0
"""How long a LocalCluster may take to start, or a scheduler to answer."""
QUIET_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}
"""Dask's settings for the LocalCluster a sweep starts (a cluster at ``--scheduler`` keeps
its own). By default every worker samples its task thread's stack every 10 ms for the
dashboard's profile (no dashboard is started), checks its event loop every 20 ms and polls
its host and memory 2-10 times a second; each of those takes the GIL from the replay. A
replay is pure Python on one thread; on two cores they cost the cluster run 7-8% of its time
(docs/performance.md, "Research"). Memory limits are still enforced, once a second."""


def session_of(path: Path) -> dt.date:
    """The trading session (CME trade date) a recording file belongs to (its header)."""
    reader = RecordingReader(path)
    next(iter(reader.entries()), None)
    if reader.header is None:
        raise ConfigError(f"{path}: not a recording (no header)")
    return dt.date.fromisoformat(reader.header.session)


def split_files(files: Sequence[Path], split: dt.date) -> tuple[list[Path], list[Path]]:
    """(sessions before ``split``, sessions from it on); :class:`ConfigError` if either is
    empty (a walk-forward with no out-of-sample data would report nothing)."""
    sessions = {path: session_of(path) for path in files}
    before = [p for p in files if sessions[p] < split]
    after = [p for p in files if sessions[p] >= split]
    if not before or not after:
        found = ", ".join(sorted({d.isoformat() for d in sessions.values()}))
        raise ConfigError(f"walk_forward.split {split}: needs sessions before and from it "
                          f"(the data has {found})")
    return before, after


def sweep_config(base: ReplayConfig, spec: SweepSpec) -> ReplayConfig:
    """``base`` (the settings' costs, as ``replay`` builds it) with the grid file's cost
    overrides, as fast as possible."""
    costs = spec.costs
    changes: dict[str, Any] = {"speed": None}
    if costs.latency_ms is not None:
        changes["latency_ms"] = costs.latency_ms
    if costs.slippage_ticks is not None:
        changes["slippage_ticks"] = costs.slippage_ticks
    if costs.commission_per_side is not None:
        changes["commission_per_side"] = costs.commission_per_side
        changes["commissions"] = {}
    return msgspec.structs.replace(base, **changes)


def plan(spec: SweepSpec, strategy: str, data: Sequence[str | Path],
         base: ReplayConfig) -> list[RunTask]:
    """The sweep's tasks, in (combination, split) order."""
    files = recording_files(data)
    if not files:
        raise ConfigError("--data: no recordings found (import DBN files with "
                          "`tradovate-api data import` first)")
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise ConfigError(f"--data: no such file: {', '.join(missing)}")
    config = sweep_config(base, spec)
    if spec.walk_forward is None:
        splits = [("all", files)]
    else:
        before, after = split_files(files, spec.walk_forward.split)
        splits = [("in", before), ("out", after)]
    tasks: list[RunTask] = []
    for number in spec.numbers():
        params = spec.combination(number)
        run_config = msgspec.structs.replace(
            config, params={**config.params, **spec.fixed, **params})
        tasks.extend(RunTask(number, name, params, strategy, [str(p.resolve()) for p in part],
                             run_config) for name, part in splits)
    return tasks


def _order(results: Sequence[RunResult]) -> list[RunResult]:
    rank = {"all": 0, "in": 0, "out": 1}
    return sorted(results, key=lambda r: (r.outcome.number, rank[r.outcome.split]))


def run_serial(tasks: Sequence[RunTask], progress: Progress | None = None) -> list[RunResult]:
    results = []
    for task in tasks:
        results.append(run_task(task))
        if progress is not None:
            progress.advance()
    return _order(results)


def run_on_dask(tasks: Sequence[RunTask], *, scheduler: str | None = None,
                workers: int | None = None, progress: Progress | None = None,
                on_client: Callable[[Any], None] | None = None) -> list[RunResult]:
    """Run ``tasks`` on the cluster at ``scheduler``, else on a new LocalCluster of
    ``workers`` processes (default: one per core), one thread each; closed afterwards."""
    import dask.config
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        count = workers or os.cpu_count() or 1
        # (distributed is imported first: it installs the defaults these settings amend)
        with dask.config.set(QUIET_CLUSTER_CONFIG):
            cluster = LocalCluster(n_workers=count, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=None,
                                   silence_logs=SILENCE_WORKER_LOGS,
                                   worker_dashboard_address=None)
    try:
        with Client(cluster if cluster is not None else scheduler,
                    timeout=CLUSTER_START_SECONDS) as client:
            if on_client is not None:
                on_client(client)
            futures = client.map(run_task, list(tasks), pure=False)
            results: list[RunResult] = []
            for future in as_completed(futures):
                results.append(future.result())
                if progress is not None:
                    progress.advance()
    finally:
        if cluster is not None:
            cluster.close()
    return _order(results)
