"""The research commands behind the CLI: ``data import``, ``data sample`` and ``sweep``.

Each checks for the ``research`` extra first (:func:`~.extra.require`), so without it the
command prints one line naming the extra instead of a traceback.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from ..errors import ConfigError
from ..recording import SUFFIX
from .dbn_file import is_dbn
from .extra import require

DEFAULT_SWEEP_DIR = Path("reports") / "sweeps"


def data_import_command(files: Sequence[str], *, out: str | None,
                        symbol_map: str | None, many: bool = False) -> list[str]:
    """Import each DBN file; returns the summary lines. The output directory (default:
    ``recordings/dbn/<file>``; with several files, or ``many``, a subdirectory per file of
    ``out``) must hold no recording yet: mixing two imports would replay both as one."""
    require("databento_dbn")
    from .dbn_convert import summary_lines
    from .dbn_import import import_dbn
    from .symbols import SymbolMap

    symbols = SymbolMap.load(symbol_map)
    lines: list[str] = []
    for source in files:
        stem = Path(source).name.split(".")[0]
        target = Path(out) if out is not None and len(files) == 1 and not many else (
            Path(out or Path("recordings") / "dbn") / stem)
        if target.is_dir() and any(p.name.endswith(SUFFIX) for p in target.iterdir()):
            raise ConfigError(f"{target} already holds recordings; choose another --out")
        lines.extend(summary_lines(import_dbn(source, target, symbols)))
    return lines


def data_sample_command(path: str, *, schema: str, events: int, seed: int,
                        symbol: str) -> list[str]:
    require("databento_dbn")
    from .dbn_sample import write_sample

    if events < 1:
        raise ValueError("--events: expected a positive number")
    written = write_sample(path, schema, events=events, seed=seed, symbol=symbol)
    return [f"wrote {written} ({schema}, {events:,} events, seed {seed})"]


def sweep_command(*, strategy: str, data: Sequence[str], grid: str, settings_path: str | None,
                  scheduler: str | None, workers: int | None, serial: bool, out: str | None,
                  stderr: TextIO | None = None) -> list[str]:
    """Run the sweep and write its table and report; returns the lines to print."""
    require("distributed", "dask")
    from ..replay.command import replay_config, settings_for
    from ..strategy.loading import load_strategy
    from .grid import load_grid
    from .progress import Progress
    from .sweep import plan, run_on_dask, run_serial
    from .sweep_report import costs_rows, write_report
    from .sweep_results import write_results

    if workers is not None and workers < 1:
        raise ValueError("--workers: expected a positive number")
    if serial and (scheduler or workers):
        raise ValueError("--serial runs in this process: no --scheduler or --workers")
    if scheduler and workers:
        raise ValueError("--workers sizes the LocalCluster; an existing cluster (--scheduler) "
                         "has its own workers")
    spec = load_grid(grid)
    settings = settings_for(settings_path)
    load_strategy(strategy)  # fails here, once, rather than in every task
    base = replay_config(settings)
    directory = Path(out) if out is not None else DEFAULT_SWEEP_DIR / time.strftime(
        "%Y%m%d-%H%M%S")
    lines: list[str] = []
    recordings = [str(path) for path in data if not is_dbn(path)]
    dbn_files = [path for path in data if is_dbn(path)]
    if dbn_files:  # imported once, next to the results, rather than decoded by every run
        require("databento_dbn")
        lines += data_import_command(dbn_files, out=str(directory / "data"), symbol_map=None,
                                     many=True)
        recordings += [str(directory / "data" / Path(path).name.split(".")[0])
                       for path in dbn_files]
    tasks = plan(spec, strategy, recordings, base)
    config = tasks[0].config if tasks else base
    directory.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(tasks), stream=stderr)
    started = time.perf_counter()
    if serial:
        results, where = run_serial(tasks, progress), "this process (serial)"
    else:
        results = run_on_dask(tasks, scheduler=scheduler, workers=workers, progress=progress)
        where = scheduler or f"LocalCluster, {workers or os.cpu_count() or 1} worker processes"
    wall = time.perf_counter() - started
    names = list(spec.values)
    meta = {"strategy": strategy, "data": ", ".join(sorted({f for t in tasks for f in t.files})),
            "mode": spec.options.mode + (f" (seed {spec.options.seed}, {spec.options.samples} "
                                         f"samples)" if spec.options.mode == "random" else ""),
            "combinations": f"{len(spec.numbers())} of {spec.size}", "runs": len(tasks),
            "workers": where, "wall_seconds": f"{wall:.1f}",
            "walk_forward": (f"in-sample before {spec.walk_forward.split}, out-of-sample "
                             f"from it" if spec.walk_forward else "off"),
            "params": spec.values, "fixed": spec.fixed,
            "costs": dict(costs_rows(config))}
    table = write_results(directory, results, names, meta)
    report = write_report(directory, results, spec, config, meta)
    ranked = sorted((r.outcome for r in results
                     if r.outcome.split in ("all", "in") and r.outcome.total_pnl is not None),
                    key=lambda o: (-(o.total_pnl or 0.0), o.number))
    lines.append(f"runs        {len(results)} in {wall:.1f} s on {where}")
    failed = sum(1 for r in results if r.outcome.error)
    if failed:
        lines.append(f"failed      {failed} runs (errors in the table and the report)")
    raised = Counter(key for r in results for key in set(r.outcome.alerts))
    if raised:
        lines.append("alerts      " + ", ".join(
            f"{key} in {count} of {len(results)} runs" for key, count in raised.most_common())
            + " (the table's alerts column)")
    if ranked:
        best = ranked[0]
        lines.append(f"best        run {best.number}: net P&L {best.total_pnl:,.2f}, "
                     f"{best.trades} trades; "
                     + ", ".join(f"{k}={v}" for k, v in best.params.items()))
    lines += [f"table       {table}", f"report      {report}"]
    return lines
