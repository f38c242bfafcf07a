"""The sweep's table: every run in one SQLite file (``results.sqlite``).

``runs`` has a row per run and split — the swept parameters as columns of their own (so
``SELECT * FROM runs ORDER BY total_pnl DESC`` is the leaderboard) next to the backtest
numbers, with the replay's definitions of P&L; ``equity`` the thinned equity curve of each
run; ``sweep`` what was swept, over which data, at which costs. SQLite because it is in the
standard library and any tool reads it (pandas: ``read_sql("SELECT * FROM runs", ...)``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .sweep_task import RunResult

RESULTS_FILE = "results.sqlite"
_NUMBERS = ("total_pnl", "net_realized", "commissions", "open_pnl", "trades", "wins",
            "losses", "win_rate", "profit_factor", "max_drawdown", "decisions", "fills",
            "md_events")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_results(directory: Path, results: Sequence[RunResult], param_names: Sequence[str],
                  meta: Mapping[str, Any]) -> Path:
    """Write (replacing) ``results.sqlite`` in ``directory``; returns its path."""
    path = directory / RESULTS_FILE
    path.unlink(missing_ok=True)
    params = [f"p_{name}" for name in param_names]
    columns = ["run", "split", *params, *_NUMBERS, "error", "alerts", "wall_seconds",
               "cpu_seconds"]
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE sweep (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.executemany("INSERT INTO sweep VALUES (?, ?)",
                       [(key, json.dumps(value, default=str)) for key, value in meta.items()])
        db.execute(f"CREATE TABLE runs ({', '.join(map(_quote, columns))}, "
                   f"PRIMARY KEY (run, split))")
        db.execute("CREATE TABLE equity (run INTEGER, split TEXT, t_ms INTEGER, value REAL)")
        marks = ", ".join("?" for _ in columns)
        for result in results:
            o = result.outcome
            db.execute(f"INSERT INTO runs VALUES ({marks})", [
                o.number, o.split, *(o.params[name] for name in param_names),
                *(getattr(o, name) for name in _NUMBERS), o.error, ",".join(o.alerts),
                result.wall_seconds, result.cpu_seconds])
            db.executemany("INSERT INTO equity VALUES (?, ?, ?, ?)",
                           [(o.number, o.split, t, v) for t, v in o.equity])
    db.close()
    return path
