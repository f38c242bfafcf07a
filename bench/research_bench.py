"""DBN replay throughput and the speed-up of a sweep on a Dask LocalCluster.

Replay (issue 20's target: at least 200,000 md events/s per worker from DBN MBP-10 with the
reference strategy): a seeded sample MBP-10 file (``tradovate_api.research.dbn_sample``) is
measured, each variant in every round in turn so machine load hits them alike:

* ``dbn decode``: databento-dbn's decoder alone (the floor of any DBN path);
* ``import``: DBN → recording (``data import``), paid once per file;
* ``replay idle``: the imported recording replayed with a strategy that does nothing;
* ``replay reference``: the imported recording, reference strategy — the issue's figure;
* ``direct reference``: the DBN file replayed directly (converted on the fly, no JSON), the
  reference strategy — the alternative to importing.

Rates are per DBN record and per md event (a MBP-10 record becomes a quote and a DOM, a print
a tick too), over the whole run (reading included).

Sweep: a 4 × 4 grid of the reference strategy's parameters over an imported sample, run
serially in this process and on a fresh 2-worker LocalCluster (one process per worker, one
thread each), alternately, ``--sweep-rounds`` times; the ratio cluster/serial of each round
(target ≤ 0.6), with the cluster's start-up time apart. The sample (``--sweep-events``,
default 100,000 MBP-10 records; a day of ES holds millions) makes each run last a few
seconds: a sweep a trader runs is longer still, and a cluster's fixed cost (~1 s to start,
~0.2 s to close) is no part of its per-run speed-up. With 40,000 records each run took
0.9 s and the start-up alone was 7% of the serial time.

Run: ``.venv/bin/python bench/research_bench.py [--events 200000] [--rounds 5]``.
Writes ``bench/results/research.json`` (``--out``); ``--smoke`` (what ``python -m bench
--quick`` passes with its tiny sizes) gives no verdict on the targets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradovate_api.recording import recording_files
from tradovate_api.replay import ReplayConfig, run_replay
from tradovate_api.research.dbn_file import read_dbn
from tradovate_api.research.dbn_import import import_dbn
from tradovate_api.research.dbn_replay import dbn_entries
from tradovate_api.research.dbn_sample import write_sample
from tradovate_api.research.grid import parse_grid
from tradovate_api.research.sweep import plan, run_on_dask, run_serial
from tradovate_api.settings import Risk
from tradovate_api.strategies.reference import ReferenceStrategy
from tradovate_api.strategy import Strategy

TARGET_EVENTS_PER_SECOND = 200_000
TARGET_SWEEP_RATIO = 0.6
RESULTS = Path(__file__).parent / "results" / "research.json"
REFERENCE = "tradovate_api.strategies.reference:ReferenceStrategy"
REFERENCE_PARAMS = {"large_trade": 30.0, "ts_pressure_threshold": 20.0, "dom_threshold": 10.0,
                    "trade_close_trigger": 100.0, "pressure_ratchet": False}
SWEEP_GRID = """
[params]
large_trade = [10.0, 20.0, 30.0, 40.0]
dom_threshold = [0.0, 10.0, 20.0, 30.0]
[fixed]
ts_pressure_threshold = 5.0
pressure_ratchet = false
trade_close_trigger = 100.0
"""


class Idle(Strategy):
    """Receives every hook and does nothing: the framework's own cost."""


def _reference_config() -> ReplayConfig:
    return ReplayConfig(params=REFERENCE_PARAMS, risk=Risk(max_daily_loss=1e9))


def _timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def throughput(source: Path, work: Path, rounds: int) -> dict[str, Any]:
    recording = work / "imported"
    summary = import_dbn(source, recording)
    files = recording_files([recording])
    records = summary.records
    events = asyncio.run(run_replay(files, Idle(), ReplayConfig())).summary.md_events
    counter = [0]

    def reimport() -> None:
        counter[0] += 1
        target = work / f"import{counter[0]}"
        import_dbn(source, target)
        shutil.rmtree(target)

    variants: dict[str, Callable[[], Any]] = {
        "dbn decode": lambda: sum(1 for _ in read_dbn(source)),
        "import": reimport,
        "replay idle": lambda: asyncio.run(run_replay(files, Idle(), ReplayConfig())),
        "replay reference": lambda: asyncio.run(run_replay(files, ReferenceStrategy(),
                                                           _reference_config())),
        "direct reference": lambda: asyncio.run(run_replay(
            [source], ReferenceStrategy(), _reference_config(),
            entries=dbn_entries([source]))),
    }
    seconds: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            seconds[name].append(_timed(run))
    return {
        "records": records, "md_events": events, "frames": summary.frames,
        "seconds": {name: _spread(values) for name, values in seconds.items()},
        "records_per_second": {name: _spread([records / s for s in values])
                               for name, values in seconds.items()},
        "events_per_second": {name: _spread([events / s for s in values])
                              for name, values in seconds.items() if "replay" in name
                              or "direct" in name},
    }


def sweep(source: Path, work: Path, rounds: int, workers: int) -> dict[str, Any]:
    recording = work / "sweep"
    import_dbn(source, recording)
    tasks = plan(parse_grid(SWEEP_GRID), REFERENCE, [recording], ReplayConfig())
    serial_s: list[float] = []
    serial_cpu: list[float] = []
    cluster_cpu: list[float] = []
    load: list[float] = []
    cluster_s: list[float] = []
    startup_s: list[float] = []
    ratios: list[float] = []
    same = True
    for _ in range(rounds):
        began = time.perf_counter()
        serial = run_serial(tasks)
        serial_s.append(time.perf_counter() - began)
        marks: list[float] = []
        began = time.perf_counter()
        clustered = run_on_dask(tasks, workers=workers,
                                on_client=lambda _client, marks=marks: marks.append(
                                    time.perf_counter()))
        cluster_s.append(time.perf_counter() - began)
        startup_s.append(marks[0] - began)
        ratios.append(cluster_s[-1] / serial_s[-1])
        serial_cpu.append(sum(r.cpu_seconds for r in serial))
        cluster_cpu.append(sum(r.cpu_seconds for r in clustered))
        load.append(os.getloadavg()[0])
        same = same and [r.outcome for r in serial] == [r.outcome for r in clustered]
    return {"combinations": len(tasks), "workers": workers,
            "serial_s": _spread(serial_s), "cluster_s": _spread(cluster_s),
            "cluster_startup_s": _spread(startup_s), "ratio": _spread(ratios),
            "ratio_without_startup": _spread([(c - s) / t for c, s, t in
                                              zip(cluster_s, startup_s, serial_s,
                                                  strict=True)]),
            "runs_cpu_s_serial": _spread(serial_cpu), "runs_cpu_s_cluster": _spread(cluster_cpu),
            "loadavg_1min": _spread(load), "results_equal": same}


def verdict(met: bool | None) -> str:
    """What a target line says: nothing at smoke sizes (their numbers are noise)."""
    if met is None:
        return "no verdict (smoke sizes)"
    return "met" if met else "NOT met"


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000,
                        help="MBP-10 records of the throughput file (default 200000)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sweep-events", type=int, default=100_000,
                        help="MBP-10 records of the sweep's data (default 100000)")
    parser.add_argument("--sweep-rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--smoke", action="store_true",
                        help="sizes too small to judge the targets: no verdict")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help=f"the JSON result (default {RESULTS})")
    args = parser.parse_args(argv)
    logging.disable(logging.CRITICAL)  # risk refusals of the reference strategy, by design
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        source = write_sample(work / "es-mbp10.dbn.zst", "mbp-10", events=args.events)
        replay = throughput(source, work, args.rounds)
        small = write_sample(work / "sweep.dbn.zst", "mbp-10", events=args.sweep_events,
                             seed=2)
        swept = sweep(small, work, args.sweep_rounds, args.workers)
    reference = replay["events_per_second"]["replay reference"]["median"]
    result = {
        "machine": platform.platform(), "python": sys.version.split()[0],
        "replay": replay, "sweep": swept,
        "target_events_per_second": TARGET_EVENTS_PER_SECOND,
        "events_target_met": None if args.smoke else reference >= TARGET_EVENTS_PER_SECOND,
        "target_sweep_ratio": TARGET_SWEEP_RATIO,
        "sweep_target_met": None if args.smoke else (
            swept["ratio"]["median"] <= TARGET_SWEEP_RATIO),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"MBP-10 sample: {replay['records']:,} DBN records → {replay['frames']:,} frames, "
          f"{replay['md_events']:,} md events; median of {args.rounds} rounds [min–max]")
    for name, rate in replay["records_per_second"].items():
        events = replay["events_per_second"].get(name)
        extra = (f", {events['median']:>9,.0f} md events/s [{events['min']:,.0f}–"
                 f"{events['max']:,.0f}]" if events else "")
        print(f"{name:<17} {rate['median']:>9,.0f} records/s [{rate['min']:,.0f}–"
              f"{rate['max']:,.0f}]{extra}")
    print(f"target {TARGET_EVENTS_PER_SECOND:,} md events/s per worker with the reference "
          f"strategy: {verdict(result['events_target_met'])}")
    s = swept
    print(f"sweep of {s['combinations']} runs ({args.sweep_events:,} records each), median of "
          f"{args.sweep_rounds} rounds: serial {s['serial_s']['median']:.1f} s, LocalCluster "
          f"of {s['workers']} {s['cluster_s']['median']:.1f} s (start-up "
          f"{s['cluster_startup_s']['median']:.1f} s); ratio {s['ratio']['median']:.2f} "
          f"[{s['ratio']['min']:.2f}–{s['ratio']['max']:.2f}], without start-up "
          f"{s['ratio_without_startup']['median']:.2f}; results equal: {s['results_equal']}")
    print(f"the runs' CPU time: serial {s['runs_cpu_s_serial']['median']:.1f} s, on the "
          f"cluster {s['runs_cpu_s_cluster']['median']:.1f} s; 1-min load average "
          f"{s['loadavg_1min']['median']:.1f} on {os.cpu_count()} cores")
    print(f"target ratio ≤ {TARGET_SWEEP_RATIO}: {verdict(result['sweep_target_met'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
