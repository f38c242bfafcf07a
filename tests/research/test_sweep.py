"""Sweeps: a real LocalCluster of 2 worker processes gives the serial run's results; the
walk-forward split, the table and the report."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from tradovate_api.replay import ReplayConfig
from tradovate_api.research.dbn_import import import_dbn
from tradovate_api.research.dbn_sample import write_sample
from tradovate_api.research.grid import parse_grid
from tradovate_api.research.progress import Progress
from tradovate_api.research.sweep import plan, run_on_dask, run_serial
from tradovate_api.research.sweep_report import heatmap_cells
from tradovate_api.research.sweep_results import write_results

REFERENCE = "tradovate_api.strategies.reference:ReferenceStrategy"
GRID = """
[params]
large_trade = [8.0, 30.0]
dom_threshold = [0.0, 20.0]
[fixed]
ts_pressure_threshold = 5.0
pressure_ratchet = false
trade_close_trigger = 60.0
[costs]
slippage_ticks = 1
commission_per_side = 2.09
"""


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("sweep")
    source = write_sample(base / "es.dbn.zst", "mbp-10", events=6_000, seed=5)
    import_dbn(source, base / "rec")
    return base / "rec"


def test_plan_applies_costs_fixed_and_swept_parameters(recording: Path) -> None:
    spec = parse_grid(GRID)
    tasks = plan(spec, REFERENCE, [recording], ReplayConfig(commissions={"ES": 9.0},
                                                            params={"order_qty": 1}))
    assert [(t.number, t.split) for t in tasks] == [(0, "all"), (1, "all"), (2, "all"),
                                                     (3, "all")]
    config = tasks[3].config
    assert (config.slippage_ticks, config.commission_per_side, config.commissions) == (
        1, 2.09, {})
    assert config.params == {"order_qty": 1, "ts_pressure_threshold": 5.0,
                             "pressure_ratchet": False, "trade_close_trigger": 60.0,
                             "large_trade": 30.0, "dom_threshold": 20.0}
    assert tasks[3].params == {"large_trade": 30.0, "dom_threshold": 20.0}


@pytest.mark.timeout(240)
def test_localcluster_of_two_workers_equals_the_serial_run(recording: Path) -> None:
    from distributed import LocalCluster

    tasks = plan(parse_grid(GRID), REFERENCE, [recording], ReplayConfig())
    serial = run_serial(tasks)
    workers: list[int] = []
    # an existing cluster reached by its address, as --scheduler tcp://HOST:PORT does
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        clustered = run_on_dask(tasks, scheduler=address,
                                on_client=lambda c: workers.append(len(c.scheduler_info()
                                                                       ["workers"])))
    assert workers == [2]
    assert [r.outcome for r in clustered] == [r.outcome for r in serial]
    assert any(r.outcome.trades for r in serial)  # the runs did trade
    assert len({r.outcome.total_pnl for r in serial}) > 1  # and the parameters mattered
    assert not any(r.outcome.error for r in serial)


@pytest.mark.timeout(240)
def test_the_sweeps_own_localcluster_keeps_its_workers_off_the_replays_gil(
        recording: Path) -> None:
    """The workers of the cluster a sweep starts neither profile nor poll many times a
    second (each of those takes the GIL from the replay); they still watch their memory."""
    import dask.config
    import distributed  # noqa: F401  (installs the defaults read below)

    def worker_settings() -> tuple[object, ...]:
        get = dask.config.get
        return (get("distributed.worker.profile.enabled"),
                get("distributed.admin.tick.interval"),
                get("distributed.admin.system-monitor.interval"),
                get("distributed.worker.memory.monitor-interval"),
                get("distributed.worker.memory.terminate"))

    seen: list[dict[str, tuple[object, ...]]] = []
    own = worker_settings()
    tasks = plan(parse_grid(GRID), REFERENCE, [recording], ReplayConfig())[:2]
    results = run_on_dask(tasks, workers=2,
                          on_client=lambda client: seen.append(client.run(worker_settings)))
    assert len(seen) == 1
    assert len(seen[0]) == 2
    for settings in seen[0].values():
        assert settings == (False, "500ms", "5s", "1s", 0.95)
    assert [r.outcome for r in results] == [r.outcome for r in run_serial(tasks)]
    assert worker_settings() == own  # this process's settings are left as they were


def test_walk_forward_runs_each_combination_in_and_out_of_sample(tmp_path: Path) -> None:
    for day, seed in ((24, 1), (25, 2)):
        source = write_sample(tmp_path / f"d{day}.dbn", "mbp-1", events=1_500, seed=seed,
                              start=dt.datetime(2026, 11, day, 15, tzinfo=dt.UTC))
        import_dbn(source, tmp_path / "rec" / str(day))
    files = sorted((tmp_path / "rec").glob("*/*.tvmd.zst"))
    spec = parse_grid(GRID + "[walk_forward]\nsplit = 2026-11-25\n")
    tasks = plan(spec, REFERENCE, files, ReplayConfig())
    assert [(t.number, t.split, [Path(f).parent.name for f in t.files]) for t in tasks[:2]] == [
        (0, "in", ["24"]), (0, "out", ["25"])]
    results = run_serial(tasks)
    assert [(r.outcome.number, r.outcome.split) for r in results] == [
        (n, s) for n in range(4) for s in ("in", "out")]
    late = parse_grid(GRID + "[walk_forward]\nsplit = 2026-12-01\n")
    with pytest.raises(Exception, match="needs sessions before and from it"):
        plan(late, REFERENCE, files, ReplayConfig())


def test_results_table_and_heatmap(recording: Path, tmp_path: Path) -> None:
    spec = parse_grid(GRID)
    results = run_serial(plan(spec, REFERENCE, [recording], ReplayConfig()))
    path = write_results(tmp_path, results, list(spec.values), {"strategy": REFERENCE})
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT run, split, p_large_trade, p_dom_threshold, total_pnl, "
                          "trades FROM runs ORDER BY run").fetchall()
        curves = db.execute("SELECT COUNT(DISTINCT run) FROM equity").fetchone()[0]
    db.close()
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (0, "all", 8.0, 0.0), (1, "all", 8.0, 20.0), (2, "all", 30.0, 0.0),
        (3, "all", 30.0, 20.0)]
    assert [(r[4], r[5]) for r in rows] == [(x.outcome.total_pnl, x.outcome.trades)
                                            for x in results]
    assert curves == sum(1 for r in results if r.outcome.equity)
    xs, ys, cells = heatmap_cells([r.outcome for r in results], ("large_trade",
                                                                 "dom_threshold"))
    assert (xs, ys) == ([8.0, 30.0], [0.0, 20.0])
    assert cells[1][0] == results[1].outcome.total_pnl  # y=20.0, x=8.0: run 1


def test_progress_lines_are_bounded_and_end_at_the_total() -> None:
    import io

    now = [0.0]
    stream = io.StringIO()
    progress = Progress(100, stream=stream, interval=1.0, clock=lambda: now[0])
    for _ in range(100):
        now[0] += 0.05
        progress.advance()
    lines = stream.getvalue().splitlines()
    assert len(lines) <= 7
    assert lines[-1].startswith("sweep 100/100 runs (100%), elapsed 0m05s, eta 0m00s")
    assert "eta 0m" in lines[0]
