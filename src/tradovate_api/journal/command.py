"""``tradovate-api journal show``, ``journal export`` and ``journal forget-high-water``: a
journal without a trading run."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import msgspec

from ..export import Format, export_rows
from .reader import JournalReader
from .reconcile import ReconciliationReport
from .records import JournalFill, RequestRecord, TrailingRecord
from .schema import JournalError

EXPORTS = {"fills": JournalFill, "requests": RequestRecord}
"""What ``journal export`` can write, and the row type of each."""


def _time(ns: int | None) -> str:
    if ns is None:
        return "-"
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def show_lines(path: str | Path, last: int = 10) -> list[str]:
    """A summary of the journal: runs, what is open, the latest restart report, the latest
    decisions, alerts and gaps."""
    with JournalReader(path) as reader:
        runs = reader.runs()
        requests = reader.requests()
        unacked = reader.unacknowledged()
        fills = reader.fills()
        positions = reader.last_positions()
        reconciliations = [r for r in reader.reconciliations() if r.kind == "restart"]
        alerts = reader.alerts()
        gaps = reader.gaps()
        trailing = reader.trailing()
    out = [f"journal {path}: {len(runs)} runs, {len(requests)} decisions, {len(fills)} fills"]
    for run in runs[-last:]:
        end = "running or killed" if run.ended_ns is None else (
            "clean" if run.clean else "ended uncleanly")
        out.append(f"  run {run.run_id}: {_time(run.started_ns)} pid {run.pid} "
                   f"{run.label or ''} ({end})")
    out.append(f"sent, never acknowledged: {len(unacked)}")
    out.extend(f"  {r.cl_ord_id} {r.kind} {r.action or ''} {r.qty or ''} {r.symbol or ''} "
               f"({r.state}, {_time(r.created_ns)})" for r in unacked)
    out.append("positions (last journaled):")
    out.extend(f"  account {a} contract {c}: net {p.net_pos} @ {p.net_price} "
               f"(bought {p.bought}, sold {p.sold})" for (a, c), p in sorted(positions.items()))
    if trailing:
        out.append("trailing-drawdown high-water (kept for the next run):")
        out.extend(f"  account {r.account_id}: {_high_water(r)}" for r in trailing.values())
    if reconciliations:
        latest = msgspec.json.decode(reconciliations[-1].body, type=ReconciliationReport)
        out.append(f"latest restart reconciliation ({_time(reconciliations[-1].recorded_ns)}): "
                   + ("differences" if latest.changed else "no differences"))
        out.extend(f"  {line}" for line in latest.lines())
    out.append(f"latest decisions (of {len(requests)}):")
    out.extend(f"  {_time(r.created_ns)} {r.cl_ord_id} {r.kind} {r.action or ''} "
               f"{r.qty or ''} {r.symbol or ''} -> {r.state}: {r.trigger}"
               for r in requests[-last:])
    out.append(f"alerts: {len(alerts)}")
    out.extend(f"  {_time(a.recorded_ns)} {a.severity} {a.key}: {a.title}"
               for a in alerts[-last:])
    if gaps:
        out.append(f"GAPS: {sum(g.lost for g in gaps)} records were lost")
        out.extend(f"  {_time(g.recorded_ns)} run {g.run_id}: {g.lost} ({g.reason})"
                   for g in gaps)
    return out


def _high_water(record: TrailingRecord) -> str:
    rolled = f", last rolled {record.trade_date}" if record.trade_date else ""
    return (f"{record.high_water:,.2f} ({record.mode}, drawdown {record.drawdown:,.2f}{rolled}; "
            f"recorded {_time(record.recorded_ns)})")


def forget_high_water(path: str | Path, account_id: int | None) -> list[str]:
    """Delete the trailing-drawdown high-water the journal keeps for ``account_id`` (every
    account: ``None``), e.g. after the firm reset the account: the next run starts again from
    ``starting_balance`` or the balance it finds. Returns a line per account forgotten. Stop
    the app first: a running one records its own high-water again within a second."""
    with JournalReader(path) as reader:
        kept = reader.trailing()
    chosen = [r for r in kept.values() if account_id is None or r.account_id == account_id]
    if not chosen:
        if account_id is None:
            raise ValueError("no trailing high-water kept")
        held = ", ".join(str(a) for a in kept) or "none"
        raise ValueError(f"no trailing high-water kept for account {account_id} "
                         f"(kept for: {held})")
    try:
        conn = sqlite3.connect(path, timeout=5.0)
        try:
            with conn:
                conn.executemany("DELETE FROM trailing WHERE account_id = ?",
                                 [(r.account_id,) for r in chosen])
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise JournalError(f"{path}: cannot change the journal: {exc}") from exc
    return [f"account {r.account_id}: forgot {_high_water(r)}" for r in chosen]


def export(path: str | Path, what: str, output: str | Path,
           fmt: Format | None = None) -> Path:
    """Write the journal's ``fills`` or ``requests`` (decisions) to CSV or Parquet."""
    if what not in EXPORTS:
        raise ValueError(f"journal export: unknown table {what!r} "
                         f"(choose {', '.join(EXPORTS)})")
    with JournalReader(path) as reader:
        rows: Sequence[object] = (list(reader.fills().values()) if what == "fills"
                                  else list(reader.requests()))
    return export_rows(rows, output, fmt, row_type=EXPORTS[what])
