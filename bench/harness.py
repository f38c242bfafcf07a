"""Runs the benchmark: feeder and client as separate processes, clients alternated and
repeated, results reduced to medians with min–max and paired per-round ratios.

Every measurement is one fresh feeder process and one fresh client process, so no run
inherits another's heap, and the order of the clients rotates each round so drift in the
machine's load hits all of them alike.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.stats import paired_ratios, percentile, slope, spread

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
CLIENT_MODULES = {"full": "bench.clients.full", "bare": "bench.clients.bare",
                  "naive": "bench.clients.naive", "full-busy": "bench.clients.full",
                  "full-dash": "bench.clients.full"}
CLIENT_ARGS = {"full-busy": ("--busy-poll",), "full-dash": ("--dashboard",)}
"""Extra command-line arguments of a client variant (``full-busy``: busy-poll mode on;
``full-dash``: the dashboard served with one headless page open on it)."""
LATENCY_SCENARIOS = ("idle", "loaded")
LATENCY_PAIRS = (("full", "bare"), ("naive", "full"), ("naive", "bare"), ("full-busy", "full"),
                 ("full-busy", "bare"), ("full-dash", "full"))
"""The paired latency ratios reported (a pair missing from the run is left out)."""
_TAIL = 2000
DASHBOARD_COST = 1.05
"""The most ``full-dash`` (one dashboard page open) may cost over ``full``, as a ratio."""


class RunFailed(RuntimeError):
    """A feeder or client process failed; the message carries the end of its stderr."""


def child_env() -> dict[str, str]:
    """The environment of child processes: ``bench`` importable whatever the cwd."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def rss_kb(pid: int) -> int | None:
    """Resident set size of a process (Linux ``/proc``), ``None`` once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


async def _sample_rss(pid: int, every_s: float, out: list[tuple[float, int]]) -> None:
    start = time.monotonic()
    while (kb := rss_kb(pid)) is not None:
        out.append((time.monotonic() - start, kb))
        await asyncio.sleep(every_s)


def result_line(name: str, stdout: bytes, stderr: bytes) -> dict[str, Any]:
    for line in stdout.decode(errors="replace").splitlines():
        if line.startswith("RESULT "):
            parsed: dict[str, Any] = json.loads(line[len("RESULT "):])
            return parsed
    raise RunFailed(f"{name} printed no RESULT; stderr: "
                    f"{stderr.decode(errors='replace')[-_TAIL:]}")


def pin(pid: int, cpus: set[int]) -> None:
    """Keep a just-started process (and the threads it will start) on ``cpus``."""
    os.sched_setaffinity(pid, cpus)


async def run_pair(scenario: str, client: str, feeder_args: Sequence[str], *, limit_s: float,
                   rss_every_s: float | None = None, python: str = sys.executable,
                   pinned: bool = False) -> dict[str, Any]:
    """One measurement: a fresh feeder for ``scenario`` and a fresh ``client``; returns both
    ``RESULT`` records (and the client's RSS samples when ``rss_every_s`` is set).
    ``pinned``: the feeder on the first CPU, the client on the others, so the stand-in
    exchange never takes the client's core (it would not share the machine in production)."""
    cpus = sorted(os.sched_getaffinity(0))
    if pinned and len(cpus) < 2:
        raise RunFailed("--pin needs at least two CPUs")
    env = child_env()
    pipe = asyncio.subprocess.PIPE
    procs: list[asyncio.subprocess.Process] = []
    rss: list[tuple[float, int]] = []
    try:
        async with asyncio.timeout(limit_s):
            feeder = await asyncio.create_subprocess_exec(
                python, "-m", "bench.feeder", "--scenario", scenario, *feeder_args,
                stdout=pipe, stderr=pipe, cwd=ROOT, env=env)
            procs.append(feeder)
            if pinned:
                pin(feeder.pid, {cpus[0]})
            assert feeder.stdout is not None
            first = (await feeder.stdout.readline()).decode()
            if not first.startswith("LISTEN "):
                _, err = await feeder.communicate()
                raise RunFailed(f"feeder did not start: {err.decode(errors='replace')[-_TAIL:]}")
            _, ws_port, rest_port = first.split()
            proc = await asyncio.create_subprocess_exec(
                python, "-m", CLIENT_MODULES[client], *CLIENT_ARGS.get(client, ()), "--url",
                f"ws://127.0.0.1:{ws_port}", "--rest", f"http://127.0.0.1:{rest_port}/v1",
                stdout=pipe, stderr=pipe, cwd=ROOT, env=env)
            procs.append(proc)
            if pinned:
                pin(proc.pid, set(cpus[1:]))
            sampler = (asyncio.create_task(_sample_rss(proc.pid, rss_every_s, rss))
                       if rss_every_s else None)
            (f_out, f_err), (c_out, c_err) = await asyncio.gather(feeder.communicate(),
                                                                  proc.communicate())
            if sampler is not None:
                sampler.cancel()
    except TimeoutError:
        raise RunFailed(f"{scenario}/{client}: no result within {limit_s:g}s") from None
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
                await p.wait()
    if feeder.returncode:
        raise RunFailed(f"feeder exited {feeder.returncode}: "
                        f"{f_err.decode(errors='replace')[-_TAIL:]}\n{client} client's stderr: "
                        f"{c_err.decode(errors='replace')[-_TAIL:]}")
    if proc.returncode:
        raise RunFailed(f"{client} client exited {proc.returncode}: "
                        f"{c_err.decode(errors='replace')[-_TAIL:]}")
    return {"feeder": result_line("feeder", f_out, f_err),
            "client": result_line(client, c_out, c_err), "rss": rss}


# ----------------------------------------------------------------------------- reduction


def latency_metrics(raw: dict[str, Any]) -> dict[str, Any]:
    samples = raw["feeder"]["rtt_ns"]
    us = [s / 1000 for s in samples]
    client = raw["client"]
    return {"n": len(us), "lost": raw["feeder"]["lost"],
            "p50_us": percentile(us, 0.5) if us else None,
            "p90_us": percentile(us, 0.9) if us else None,
            "p99_us": percentile(us, 0.99) if us else None,
            "max_us": max(us) if us else None,
            "client_cpu_us_per_frame": 1e6 * client["cpu_s"] / max(client["data_frames"], 1),
            **_counts(raw)}


def flood_metrics(raw: dict[str, Any]) -> dict[str, Any]:
    feeder, client = raw["feeder"], raw["client"]
    seconds = feeder["elapsed_ns"] / 1e9
    return {"frames_per_s": feeder["flood_frames"] / seconds,
            "events_per_s": feeder["flood_events"] / seconds,
            "seconds": seconds,
            "client_cpu_us_per_frame": 1e6 * client["cpu_s"] / max(client["data_frames"], 1),
            **_counts(raw)}


def _counts(raw: dict[str, Any]) -> dict[str, Any]:
    feeder, client = raw["feeder"], raw["client"]
    return {"frames_sent": feeder["frames_sent"], "frames_counted": client["data_frames"],
            "events_sent": feeder["events_sent"], "events_applied": client["events"],
            "orders_received": feeder["orders"], "unmatched_orders": feeder["unmatched_orders"],
            "client_max_rss_kb": client["max_rss_kb"]}


def soak_metrics(raw: dict[str, Any], warmup_s: float) -> dict[str, Any]:
    # Samples after the feeder's run are the client's shutdown (journal close...), not steady
    # state; the sampler's clock starts at the client's spawn, a little before the feeder's.
    rss = [(t, kb) for t, kb in raw["rss"] if t <= raw["feeder"]["seconds"]]
    steady = [(t, kb) for t, kb in rss if t >= warmup_s]
    if len(steady) < 3:  # a run shorter than its warm-up: its second half, for what it says
        warmup_s = rss[len(rss) // 2][0] if rss else 0.0
        steady = rss[len(rss) // 2:]
    xs = [t for t, _ in steady]
    ys = [kb / 1024 for _, kb in steady]
    probes = raw["feeder"]["probes"]
    half = raw["feeder"]["seconds"] / 2
    first = [rtt / 1000 for t, rtt in probes if t < half]
    second = [rtt / 1000 for t, rtt in probes if t >= half]
    return {"seconds": raw["feeder"]["seconds"], "warmup_s": warmup_s,
            "rss_mb": [(round(t, 1), round(kb / 1024, 2)) for t, kb in rss],
            "rss_after_warmup_mb": ys[0] if ys else None, "rss_end_mb": ys[-1] if ys else None,
            "rss_max_mb": max(ys) if ys else None,
            "slope_mb_per_10min": slope(xs, ys) * 600,
            "probe_p50_us_first_half": percentile(first, 0.5) if first else None,
            "probe_p99_us_first_half": percentile(first, 0.99) if first else None,
            "probe_p50_us_second_half": percentile(second, 0.5) if second else None,
            "probe_p99_us_second_half": percentile(second, 0.99) if second else None,
            "lost": raw["feeder"]["lost"], **_counts(raw)}


def summarize(runs: list[dict[str, Any]], clients: Sequence[str],
              rounds: int) -> dict[str, Any]:
    """Per scenario and client: each metric's median [min–max] over rounds; then the paired
    per-round ratios the targets are judged on."""
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for scenario in (*LATENCY_SCENARIOS, "flood"):
        metrics = (("p50_us", "p90_us", "p99_us", "client_cpu_us_per_frame")
                   if scenario in LATENCY_SCENARIOS else
                   ("frames_per_s", "events_per_s", "client_cpu_us_per_frame"))
        for client in clients:
            mine = [r for r in runs if r["scenario"] == scenario and r["client"] == client]
            if not mine:
                continue
            table.setdefault(scenario, {})[client] = {
                m: spread([r["metrics"][m] for r in mine if r["metrics"][m] is not None])
                for m in metrics}

    def per_round(scenario: str, client: str, metric: str) -> list[float | None]:
        values: list[float | None] = [None] * rounds
        for r in runs:
            if r["scenario"] == scenario and r["client"] == client:
                values[r["round"]] = r["metrics"][metric]
        return values

    ratios: dict[str, Any] = {}
    for scenario in LATENCY_SCENARIOS:
        for metric in ("p50_us", "p99_us"):
            for mine, theirs in LATENCY_PAIRS:
                ratios[f"{scenario} {metric} {mine}/{theirs}"] = spread(paired_ratios(
                    per_round(scenario, mine, metric), per_round(scenario, theirs, metric)))
        for mine, theirs in (("full", "bare"), ("full-dash", "full")):
            ratios[f"{scenario} client_cpu_us_per_frame {mine}/{theirs}"] = spread(
                paired_ratios(per_round(scenario, mine, "client_cpu_us_per_frame"),
                              per_round(scenario, theirs, "client_cpu_us_per_frame")))
    for metric in ("frames_per_s", "events_per_s"):
        ratios[f"flood {metric} full/bare"] = spread(paired_ratios(
            per_round("flood", "full", metric), per_round("flood", "bare", metric)))
        ratios[f"flood {metric} full/naive"] = spread(paired_ratios(
            per_round("flood", "full", metric), per_round("flood", "naive", metric)))
    return {"table": table, "ratios": {k: v for k, v in ratios.items() if v.n},
            "breakdown": breakdown(runs, clients)}


def breakdown(runs: list[dict[str, Any]], clients: Sequence[str]) -> dict[str, Any]:
    """Per latency scenario and client that reported one (the full client, from its order
    tickets): each stage's p50 and p99 in µs, median [min–max] over rounds."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for scenario in LATENCY_SCENARIOS:
        for client in clients:
            reported = [r["client_result"]["breakdown"] for r in runs
                        if r["scenario"] == scenario and r["client"] == client
                        and r.get("client_result", {}).get("breakdown")]
            if not reported:
                continue
            stages = {name: stage for one in reported for name, stage in one.items()}
            out.setdefault(scenario, {})[client] = {
                name: {"label": stages[name]["label"],
                       "p50_us": spread([one[name]["p50_us"] for one in reported
                                         if name in one]),
                       "p99_us": spread([one[name]["p99_us"] for one in reported
                                         if name in one])}
                for name in stages}
    return out


TARGETS: tuple[tuple[str, str, float, bool], ...] = (
    ("idle tick-to-order p50: full ≤ 1.25× bare", "idle p50_us full/bare", 1.25, True),
    ("idle tick-to-order p99: full ≤ 1.5× bare", "idle p99_us full/bare", 1.5, True),
    ("loaded tick-to-order p50: full ≤ 1.3× bare", "loaded p50_us full/bare", 1.3, True),
    ("idle tick-to-order p50: naive ≥ 2× full", "idle p50_us naive/full", 2.0, False),
    ("loaded tick-to-order p50: naive ≥ 2× full", "loaded p50_us naive/full", 2.0, False),
    ("flood frames/s: full ≥ 0.8× bare", "flood frames_per_s full/bare", 0.8, False),
    ("idle client CPU per probe: full ≤ 2× bare", "idle client_cpu_us_per_frame full/bare",
     2.0, True),
    *((f"dashboard open costs ≤ 5% (noise-bounded): {scenario} {label}",
       f"{scenario} {metric} full-dash/full", DASHBOARD_COST, True)
      for scenario in LATENCY_SCENARIOS
      for metric, label in (("p50_us", "p50"), ("p99_us", "p99"),
                            ("client_cpu_us_per_frame", "client CPU"))),
)
"""(target, paired ratio, limit, whether the ratio must be at most the limit): the latency
issue's targets, and the dashboard's (full-dash/full, judged on the median of the paired
per-round ratios: on a shared machine a single round's ratio is noise, see the range)."""


def targets(summary: dict[str, Any], soak: list[dict[str, Any]],
            startup: dict[str, Any] | None, *, judge: bool = True) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and whether it is met; ``judge``
    false (smoke sizes, ``--quick``): ``met`` is ``None``, nothing is judged."""
    out: list[dict[str, Any]] = []
    ratios = summary["ratios"]

    def row(name: str, value: float, span: list[float], limit: float, ok: bool) -> None:
        out.append({"target": name, "measured": value, "range": span, "limit": limit,
                    "met": ok if judge else None})

    for name, key, limit, at_most in TARGETS:
        ratio = ratios.get(key)
        if ratio is not None:
            row(name, ratio.median, [ratio.min, ratio.max], limit,
                ratio.median <= limit if at_most else ratio.median >= limit)
    for run in soak:
        if run["client"] == "full":
            value = run["metrics"]["slope_mb_per_10min"]
            row("soak RSS slope after warm-up < 1 MB / 10 min", value, [value, value], 1.0,
                value < 1.0)
    if startup and startup.get("first_event_s"):
        value = startup["first_event_s"]["median"]
        row("start-up to first strategy event < 1 s", value,
            [startup["first_event_s"]["min"], startup["first_event_s"]["max"]], 1.0,
            value < 1.0)
    return out


def machine() -> dict[str, Any]:
    import platform

    versions = {}
    for name in ("msgspec", "picows", "uvloop", "websockets"):
        try:
            from importlib.metadata import version

            versions[name] = version(name)
        except Exception:
            versions[name] = None
    return {"python": platform.python_version(), "machine": platform.machine(),
            "cpus": os.cpu_count(), "loadavg": os.getloadavg(), "versions": versions,
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z")}
