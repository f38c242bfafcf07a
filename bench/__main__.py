"""``python -m bench``: tick-to-order latency, flood throughput, soak memory, start-up, replay,
the trade copier, research (DBN replay and Dask sweeps).

Runs every scenario for every client in alternating order, ``--rounds`` times, prints the
markdown table and writes ``bench/results/bench-<time>.json`` (+ ``latest.json`` and
``latest.md``). ``--quick`` shrinks every size to a smoke run of a few seconds, whose numbers
are noise: its targets are listed with what was measured but never judged (no met/missed).
The record holds the machine (CPU count, Python and library versions, load average at the
start and the end), the parameters (rounds included), every run and the medians over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import os
import shlex
import sys
import time
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from bench import harness, startup, wire
from bench.dashboard_page import chromium
from bench.report import markdown
from bench.stats import Spread, spread
from tradovate_api.stores import create_market_store

ALL_SCENARIOS = ("idle", "loaded", "flood", "soak", "startup", "replay", "research", "busy",
                 "copier")
_QUICK = {"rounds": 1, "probes": 200, "warmup": 20, "frames": 3000, "soak_minutes": 0.1,
          "soak_probe_every": 0.5, "startup_runs": 1}


def available_clients() -> list[str]:
    """``full`` only once the framework pieces it drives exist."""
    clients = ["bare", "naive"]
    if (Path(harness.ROOT) / "bench" / "clients" / "full.py").exists():
        clients.insert(0, "full")
    return clients


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Tick-to-order latency, flood throughput, soak memory, start-up, replay and "
                    "research (DBN replay, sweeps) "
                    "of the framework against a bare and a naive client, on this machine.")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", default=",".join(available_clients()),
                        help="comma-separated: full,bare,naive; variants: full-busy "
                             "(busy-poll mode), full-dash (one dashboard page open)")
    parser.add_argument("--scenarios", default=",".join(ALL_SCENARIOS),
                        help=f"comma-separated: {','.join(ALL_SCENARIOS)}")
    parser.add_argument("--probes", type=int, default=2000, help="measured probes per run")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured probes first")
    parser.add_argument("--interval-us", type=int, default=1000, help="probe pacing")
    parser.add_argument("--queued", type=int, default=4, help="DOM frames ahead of a probe")
    parser.add_argument("--frames", type=int, default=100_000, help="frames per flood run")
    parser.add_argument("--soak-minutes", type=float, default=5.0, help="30 for the full soak")
    parser.add_argument("--soak-rate", type=float, default=4000.0, help="frames/s")
    parser.add_argument("--soak-probe-every", type=float, default=5.0,
                        help="seconds between soak probes (each one an order)")
    parser.add_argument("--soak-clients", default=None,
                        help="comma-separated (default: full, else the first client)")
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--pin", action="store_true",
                        help="feeder on the first CPU, clients on the others")
    parser.add_argument("--out", default=str(harness.RESULTS_DIR), help="results directory")
    parser.add_argument("--quick", action="store_true",
                        help="smoke sizes: 1 round, 200 probes, 3000 frames, 6 s soak")
    args = parser.parse_args(argv)
    if args.quick:  # sizes given explicitly win
        for key, value in _QUICK.items():
            if getattr(args, key) == parser.get_default(key):
                setattr(args, key, value)
    args.clients = [c.strip() for c in args.clients.split(",") if c.strip()]
    if not args.clients:
        parser.error("--clients: name at least one client")
    args.scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if args.soak_clients is None:
        args.soak_clients = "full" if "full" in args.clients else args.clients[0]
    args.soak_clients = [c.strip() for c in args.soak_clients.split(",") if c.strip()]
    for name in args.clients + args.soak_clients:
        if name not in harness.CLIENT_MODULES:
            parser.error(f"unknown client {name!r}")
        if name.split("-")[0] not in available_clients():
            parser.error(f"client {name!r} is not available in this checkout")
        if name == "full-dash" and (chromium() is None or find_spec("playwright") is None):
            parser.error("client 'full-dash' opens the dashboard in Chromium through "
                         "Playwright: install both (Debian: apt-get install chromium; "
                         "pip install -e '.[dev]')")
    for name in args.scenarios:
        if name not in ALL_SCENARIOS:
            parser.error(f"unknown scenario {name!r}")
    if args.rounds < 1 or args.probes < 1 or args.frames < 1:
        parser.error("--rounds, --probes and --frames must be positive")
    return args


def _progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _latency_and_flood(args: argparse.Namespace) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    scenarios = [s for s in ("idle", "loaded", "flood") if s in args.scenarios]
    clients = args.clients
    busy = busy_clients(args)
    common = ["--seed", str(args.seed)]
    for rnd in range(args.rounds):
        for scenario in scenarios:
            measured = clients + (busy if scenario != "flood" else [])
            shift = rnd % len(measured)
            order = measured[shift:] + measured[:shift]
            if scenario == "flood":
                feeder_args = [*common, "--frames", str(args.frames)]
                limit = 60 + args.frames / 2000
            else:
                feeder_args = [*common, "--probes", str(args.probes), "--warmup",
                               str(args.warmup), "--interval-us", str(args.interval_us),
                               "--queued", str(args.queued)]
                limit = 60 + (args.probes + args.warmup) * (args.interval_us / 1e6 + 0.01)
            for client in order:
                raw = await harness.run_pair(scenario, client, feeder_args, limit_s=limit,
                                             pinned=args.pin)
                metrics = (harness.flood_metrics(raw) if scenario == "flood"
                           else harness.latency_metrics(raw))
                runs.append({"round": rnd, "scenario": scenario, "client": client,
                             "metrics": metrics, "client_result": raw["client"]})
                if scenario == "flood":
                    shown = f"{metrics['frames_per_s']:,.0f} frames/s"
                else:
                    shown = f"p50 {metrics['p50_us']:.0f} µs, p99 {metrics['p99_us']:.0f} µs"
                _progress(f"round {rnd + 1}/{args.rounds} {scenario:6} {client:5}: {shown}")
    return runs


def soak_warmup_s(seconds: float, rate: float) -> float:
    """Time to exclude from the RSS slope: a third of the run (at most 5 min), and at least
    2.5× the time the store's bounded time-and-sales buffers take to fill at this rate. They
    grow until full, by design; their id sets reach their final table size once, between
    the second and the third fill, when churn first makes them resize; then all is flat."""
    capacity = inspect.signature(create_market_store).parameters["trades_per_contract"].default
    prints_per_s = rate * wire.TICK_SHARE * wire.PRINTS_PER_PACKET
    fill_s = capacity * len(wire.CONTRACTS) / prints_per_s
    return max(min(300.0, seconds / 3), 2.5 * fill_s)


async def _soak(args: argparse.Namespace) -> list[dict[str, Any]]:
    seconds = args.soak_minutes * 60
    warmup = soak_warmup_s(seconds, args.soak_rate)
    if warmup >= seconds * 0.8:
        _progress(f"soak: warning: {args.soak_minutes:g} min at {args.soak_rate:g} frames/s "
                  f"is mostly warm-up ({warmup:.0f} s); the slope says little")
    out = []
    for client in args.soak_clients:
        _progress(f"soak {client}: {args.soak_minutes:g} min at {args.soak_rate:g} frames/s")
        raw = await harness.run_pair(
            "soak", client, ["--seed", str(args.seed), "--rate", str(args.soak_rate),
                             "--seconds", str(seconds), "--probe-every",
                             str(args.soak_probe_every)],
            limit_s=seconds * 1.5 + 60, rss_every_s=min(15.0, max(0.5, seconds / 120)),
            pinned=args.pin)
        metrics = harness.soak_metrics(raw, warmup)
        out.append({"client": client, "rate": args.soak_rate, "metrics": metrics})
        _progress(f"soak {client}: slope {metrics['slope_mb_per_10min']:+.2f} MB/10 min")
    return out


async def _startup(args: argparse.Namespace) -> dict[str, Any]:
    _progress(f"start-up: {args.startup_runs} fresh processes against the local simulator")
    result = await startup.measure(args.startup_runs)
    _progress(f"start-up: first strategy event after {result['first_event_s']['median']:.3f} s "
              f"(median)")
    return result


async def _replay(args: argparse.Namespace) -> dict[str, Any]:
    """``bench/replay_bench.py`` (the journal/replay issue's), as its own process."""
    return await _script("replay_bench.py", Path(args.out) / "replay.json",
                         ["--seconds", "20", "--rounds", "1", "--smoke"] if args.quick
                         else [])


async def _research(args: argparse.Namespace) -> dict[str, Any]:
    """``bench/research_bench.py`` (DBN replay, sweeps on Dask), as its own process."""
    try:
        import databento_dbn  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:
        return {"skipped": "the research extra is not installed (pip install -e '.[dev]')"}
    return await _script("research_bench.py", Path(args.out) / "research.json",
                         ["--events", "5000", "--rounds", "1", "--sweep-events", "2000",
                          "--sweep-rounds", "1", "--smoke"] if args.quick else [])


async def _script(name: str, written: Path, sizes: list[str]) -> dict[str, Any]:
    """A benchmark script of bench/ run as its own process (see :func:`_section`)."""
    path = harness.ROOT / "bench" / name
    if not path.exists():
        return {"skipped": f"bench/{name} is not present"}
    return await _section([str(path)], f"python bench/{name}", written, sizes)


async def _copier(args: argparse.Namespace) -> dict[str, Any]:
    """``bench/copier_bench.py`` (1 leader, 20 followers), as its own process."""
    sizes = ["--rounds", "1", "--orders", "40"] if args.quick else []
    return await _section(["-m", "bench.copier_bench"], "python -m bench.copier_bench",
                          Path(args.out) / "copier.json", sizes)


async def _section(program: list[str], label: str, written: Path,
                   sizes: list[str]) -> dict[str, Any]:
    """Run ``python *program* *sizes* --out written``: its output as the section's markdown,
    the JSON it wrote (to ``written``, in the run's results directory) as its result."""
    _progress(f"{label}: {' '.join(sizes)}")
    await asyncio.to_thread(written.unlink, missing_ok=True)  # an earlier run's result
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *program, *sizes, "--out", str(written),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, cwd=harness.ROOT,
        env=harness.child_env())
    async with asyncio.timeout(3600):
        out, err = await proc.communicate()
    if proc.returncode:
        return {"skipped": f"{label} failed ({proc.returncode}): "
                           f"{err.decode(errors='replace')[-500:]}"}
    text = out.decode(errors="replace").strip()
    command = " ".join([label, *sizes])
    result: dict[str, Any] = {"command": command,
                              "markdown": f"`{command}`\n\n```\n{text}\n```"}
    if await asyncio.to_thread(written.exists):
        result["result"] = json.loads(await asyncio.to_thread(written.read_text))
    return result


def busy_clients(args: argparse.Namespace) -> list[str]:
    """The busy-poll scenario measures ``full-busy`` next to the others in the latency
    scenarios (busy-polling changes nothing for a client that is never idle: not in flood)."""
    wanted = "busy" in args.scenarios and "full" in args.clients
    return ["full-busy"] if wanted and "full-busy" not in args.clients else []


def _busy_poll(args: argparse.Namespace, summary: dict[str, Any]) -> dict[str, Any]:
    if "full" not in args.clients:
        return {"skipped": "busy-poll mode is the full framework's; run it with --clients full"}
    latency = [s for s in ("idle", "loaded") if s in args.scenarios]
    if not latency:
        return {"skipped": "busy-poll mode is measured in the idle and loaded scenarios"}
    ratios = summary["ratios"]
    lines = ["`full-busy` is the `full` client with `connection.busy_poll = true` (one core "
             "kept at 100% by the spinning task), measured in the same rounds as the others.",
             "", "| scenario | ratio | p50 | p99 |", "|---|---|---:|---:|"]
    found = {}
    for scenario in latency:
        for pair in ("full-busy/full", "full-busy/bare"):
            p50 = ratios.get(f"{scenario} p50_us {pair}")
            p99 = ratios.get(f"{scenario} p99_us {pair}")
            if p50 is None or p99 is None:
                continue
            found[f"{scenario} {pair}"] = {"p50": p50, "p99": p99}
            lines.append(f"| {scenario} | {pair} | {p50.fmt(2)} | {p99.fmt(2)} |")
    if not found:
        return {"skipped": "no paired busy-poll rounds"}
    return {"ratios": found, "markdown": "\n".join(lines)}


def _dashboard(args: argparse.Namespace, summary: dict[str, Any],
               runs: list[dict[str, Any]]) -> dict[str, Any]:
    """``full-dash`` against ``full``, same rounds: what one open dashboard page costs."""
    if "full-dash" not in args.clients or "full" not in args.clients:
        return {"skipped": "the dashboard's cost is measured with --clients full,full-dash"}
    ratios = summary["ratios"]
    found: dict[str, dict[str, Any]] = {}
    lines = ["`full-dash` is the `full` client with the dashboard served and one headless "
             "Chromium page open on it, receiving pushes, for the whole run (the browser is "
             "not in the client's CPU, but it shares the machine's cores).", "",
             "| scenario | full-dash/full p50 | p99 | client CPU | snapshots/s | "
             "their time on the loop, ms/s | breakdowns computed |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for scenario in harness.LATENCY_SCENARIOS:
        got = {metric: ratios.get(f"{scenario} {metric} full-dash/full")
               for metric in ("p50_us", "p99_us", "client_cpu_us_per_frame")}
        if any(value is None for value in got.values()):
            continue
        pages = [r["client_result"]["dashboard"] for r in runs
                 if r["scenario"] == scenario and r["client"] == "full-dash"]
        rate = spread([p["pushes_per_s"] for p in pages])
        busy = spread([p["loop_ms_per_s"] for p in pages])
        computed = spread([p["breakdowns_computed"] for p in pages])
        found[scenario] = {"p50": got["p50_us"], "p99": got["p99_us"],
                           "client_cpu": got["client_cpu_us_per_frame"],
                           "pushes_per_s": rate, "loop_ms_per_s": busy,
                           "breakdowns_computed": computed}
        lines.append(f"| {scenario} | {got['p50_us'].fmt(2)} | {got['p99_us'].fmt(2)} | "
                     f"{got['client_cpu_us_per_frame'].fmt(2)} | {rate.fmt(1)} | "
                     f"{busy.fmt(2)} | {computed.fmt()} |")
    if not found:
        return {"skipped": "no paired full-dash rounds in the idle or loaded scenario"}
    return {"ratios": found, "markdown": "\n".join(lines)}


def _plain(value: Any) -> Any:
    if isinstance(value, Spread):
        return {"median": value.median, "min": value.min, "max": value.max, "n": value.n}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


async def run(args: argparse.Namespace, command: str) -> dict[str, Any]:
    result: dict[str, Any] = {"command": command, "machine": harness.machine(),
                              "params": {k: v for k, v in vars(args).items() if k != "out"}}
    runs = await _latency_and_flood(args)
    soak = await _soak(args) if "soak" in args.scenarios else []
    started = await _startup(args) if "startup" in args.scenarios else None
    summary = harness.summarize(runs, args.clients + busy_clients(args), args.rounds)
    result.update(runs=runs, summary=summary, soak=soak, startup=started)
    if "replay" in args.scenarios:
        result["replay"] = await _replay(args)
    if "research" in args.scenarios:
        result["research"] = await _research(args)
    if "busy" in args.scenarios:
        result["busy_poll"] = _busy_poll(args, summary)
    if "copier" in args.scenarios:
        result["copier"] = await _copier(args)
    if "full-dash" in args.clients:
        result["dashboard"] = _dashboard(args, summary, runs)
    result["targets"] = harness.targets(summary, soak, started, judge=not args.quick)
    result["loadavg_end"] = os.getloadavg()
    if "full" not in args.clients:
        result["notes"] = ["The full-framework client is not part of this run."]
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = "python -m bench" + ("" if argv is None and len(sys.argv) < 2 else
                                   " " + shlex.join(sys.argv[1:] if argv is None else argv))
    result = _plain(asyncio.run(run(args, command)))
    text = markdown(result)
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    data = json.dumps(result, indent=1)
    (out / f"bench-{stamp}.json").write_text(data)
    (out / "latest.json").write_text(data)
    (out / "latest.md").write_text(text + "\n")
    _progress(f"wrote {out / f'bench-{stamp}.json'} and {out / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
