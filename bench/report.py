"""The benchmark's markdown report, built from the result record that is also written as
JSON."""

from __future__ import annotations

from typing import Any

from bench.stats import Spread

_LATENCY_LABELS = {"idle": "idle (paced probes)", "loaded": "loaded (DOMs queued ahead)"}


def _s(value: Any, digits: int = 0, scale: float = 1.0) -> str:
    if isinstance(value, Spread):
        return value.fmt(digits, scale)
    if isinstance(value, dict) and "median" in value:
        return Spread(**value).fmt(digits, scale)
    if value is None:
        return "–"
    return f"{value / scale:,.{digits}f}"


def _latency(result: dict[str, Any]) -> list[str]:
    table = result["summary"]["table"]
    if not any(s in table for s in _LATENCY_LABELS):
        return []
    params = result["params"]
    lines = ["### Tick-to-order latency (µs)", "",
             f"Server-measured round trip, probe written → order read, on the feeder's clock. "
             f"{params['probes']} probes per run after {params['warmup']} warm-up, one every "
             f"≥ {params['interval_us']} µs; loaded: {params['queued']} DOM frames written "
             f"just ahead of each probe. Median over {params['rounds']} rounds "
             f"[min–max of the rounds].", "",
             "Client CPU: the client process (all its threads) over the counted span, per "
             "data frame.", "",
             "| client | scenario | p50 | p90 | p99 | client CPU µs/frame |",
             "|---|---|---:|---:|---:|---:|"]
    for scenario, label in _LATENCY_LABELS.items():
        for client, m in table.get(scenario, {}).items():
            lines.append(f"| {client} | {label} | {_s(m['p50_us'])} | {_s(m['p90_us'])} | "
                         f"{_s(m['p99_us'])} | {_s(m['client_cpu_us_per_frame'], 1)} |")
    return [*lines, ""]


def _flood(result: dict[str, Any]) -> list[str]:
    table = result["summary"]["table"].get("flood")
    if not table:
        return []
    params = result["params"]
    lines = ["### Flood throughput", "",
             f"{params['frames']:,} frames per run (55% one 10-level DOM, 30% one full quote, "
             f"10% 3 quotes + 3 DOMs, 5% a packed tick packet of 4 prints), written as fast as "
             f"the client reads them; elapsed = first write → the order answering the final "
             f"probe. md events = quotes + DOMs + tick packets applied.", "",
             "| client | frames/s | md events/s | client CPU µs/frame |",
             "|---|---:|---:|---:|"]
    for client, m in table.items():
        lines.append(f"| {client} | {_s(m['frames_per_s'])} | {_s(m['events_per_s'])} | "
                     f"{_s(m['client_cpu_us_per_frame'], 1)} |")
    return [*lines, ""]


def _ratios(result: dict[str, Any]) -> list[str]:
    ratios = result["summary"]["ratios"]
    if not ratios:
        return []
    lines = ["### Paired ratios (per round, then median [min–max])", "",
             "| ratio | value |", "|---|---:|"]
    for name, value in ratios.items():
        lines.append(f"| {name} | {_s(value, 2)} |")
    return [*lines, ""]


def _soak(result: dict[str, Any]) -> list[str]:
    soak = result.get("soak") or []
    if not soak:
        return []
    lines = ["### Soak (steady rate; RSS of the client process)", "",
             "| client | minutes | rate frames/s | RSS after warm-up MB | RSS end MB | "
             "RSS max MB | slope MB / 10 min | probe p50 / p99 µs, 1st half | "
             "2nd half |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in soak:
        m = run["metrics"]
        lines.append(
            f"| {run['client']} | {m['seconds'] / 60:.1f} | {run['rate']:,.0f} | "
            f"{_s(m['rss_after_warmup_mb'], 1)} | {_s(m['rss_end_mb'], 1)} | "
            f"{_s(m['rss_max_mb'], 1)} | {m['slope_mb_per_10min']:+.2f} | "
            f"{_s(m['probe_p50_us_first_half'])} / {_s(m['probe_p99_us_first_half'])} | "
            f"{_s(m['probe_p50_us_second_half'])} / {_s(m['probe_p99_us_second_half'])} |")
    return [*lines, ""]


def _extras(result: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    startup = result.get("startup")
    if startup:
        lines += ["### Start-up to first strategy event (local simulator)", ""]
        if startup.get("skipped"):
            lines += [f"Not measured: {startup['skipped']}", ""]
        else:
            lines += ["| measure | seconds |", "|---|---:|"]
            for key, label in (("first_event_s", "**process spawned → first strategy event**"),
                               ("interpreter_and_imports_s", "… of which interpreter + imports"),
                               ("run_to_on_start_s", "… app.run() → on_start (login, account, "
                                                     "contracts, sockets, sync, subscriptions)"),
                               ("on_start_to_first_event_s", "… on_start → first market event"),
                               ("from_run_s", "app.run() → first strategy event")):
                if startup.get(key):
                    lines.append(f"| {label} | {_s(startup[key], 3)} |")
            lines.append("")
    for key, title in (("replay", "Replay throughput"),
                       ("research", "Research: DBN replay and sweeps"),
                       ("busy_poll", "Busy-poll mode"),
                       ("dashboard", "Dashboard open"), ("copier", "Trade copier")):
        section = result.get(key)
        if not section:
            continue
        lines += [f"### {title}", ""]
        if section.get("skipped"):
            lines += [f"Not measured: {section['skipped']}", ""]
        else:
            lines += [section.get("markdown", ""), ""]
    return lines


def _breakdown(result: dict[str, Any]) -> list[str]:
    stages = result["summary"].get("breakdown") or {}
    if not stages:
        return []
    lines = ["### Per-order latency breakdown (µs, in the client's process)", "",
             "From the order tickets' stamps (`time.perf_counter_ns`), every probe of the run "
             "warm-up included: p50 / p99 per stage, median [min–max] of the rounds. "
             "`frame → written` is the in-process tick-to-order.", "",
             "| client | scenario | stage | p50 | p99 |", "|---|---|---|---:|---:|"]
    for scenario, label in _LATENCY_LABELS.items():
        for client, by_stage in stages.get(scenario, {}).items():
            for stage in by_stage.values():
                lines.append(f"| {client} | {label} | {stage['label']} | "
                             f"{_s(stage['p50_us'], 1)} | {_s(stage['p99_us'], 1)} |")
    return [*lines, ""]


def _targets(result: dict[str, Any]) -> list[str]:
    rows = result.get("targets") or []
    if not rows:
        return []
    if any(row["met"] is None for row in rows):
        lines = ["### Targets (not judged: smoke sizes)", "",
                 "A `--quick` run is too small to say anything about the targets.", "",
                 "| target | measured | range |", "|---|---:|---:|"]
        for row in rows:
            lo, hi = row["range"]
            lines.append(f"| {row['target']} | {row['measured']:.2f} | {lo:.2f}–{hi:.2f} |")
        return [*lines, ""]
    lines = ["### Targets", "", "| target | measured | range | verdict |", "|---|---:|---:|---|"]
    for row in rows:
        lo, hi = row["range"]
        lines.append(f"| {row['target']} | {row['measured']:.2f} | {lo:.2f}–{hi:.2f} | "
                     f"{'met' if row['met'] else '**MISSED**'} |")
    return [*lines, ""]


def markdown(result: dict[str, Any]) -> str:
    meta = result["machine"]
    v = meta["versions"]
    load = ", ".join(f"{x:.2f}" for x in meta["loadavg"])
    end_load = ", ".join(f"{x:.2f}" for x in result.get("loadavg_end", ()))
    lines = [f"## Benchmark {meta['date']}", "",
             f"`{result['command']}` — Python {meta['python']} on {meta['machine']}, "
             f"{meta['cpus']} CPUs, load average {load} at start, {end_load} at end; "
             f"msgspec {v['msgspec']}, picows {v['picows']}, uvloop {v['uvloop']}, "
             f"websockets {v['websockets']}." + (
                 f" Clients: {', '.join(result['params']['clients'])}; order rotated every "
                 f"round." if result.get("runs") else ""), ""]
    notes = result.get("notes") or []
    if notes:
        lines += [*(f"- {note}" for note in notes), ""]
    for part in (_latency, _breakdown, _flood, _ratios, _soak, _extras, _targets):
        lines += part(result)
    return "\n".join(lines)
