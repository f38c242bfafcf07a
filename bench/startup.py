"""Start-up to the first strategy event, against the local simulator.

The simulator runs as its own process (``tradovate-api sim``), already up, like an exchange.
Each measurement starts a fresh Python process that builds ``TradingApp`` exactly as
``tradovate-api run`` would (settings pointing at the simulator's URLs, ES and NQ front
months) with a strategy that notes the time of its first market event. Times are
``CLOCK_MONOTONIC`` (system-wide), so the parent's "spawned" and the child's "first event"
are on one clock.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import harness

_URL = re.compile(r"^(REST|trading|md)\s+(\S+)$")


async def start_simulator() -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradovate_api.cli", "sim", "--port", "0", "--md-port", "0", "--open",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, cwd=harness.ROOT,
        env=harness.child_env())
    assert proc.stdout is not None
    urls: dict[str, str] = {}
    try:
        async with asyncio.timeout(60):
            while len(urls) < 3:
                line = (await proc.stdout.readline()).decode()
                if not line:
                    raise RuntimeError("the simulator exited before printing its URLs")
                match = _URL.match(line.strip())
                if match:
                    urls[match[1]] = match[2]
    except BaseException:
        proc.kill()
        await proc.wait()
        raise
    return proc, urls


def front_months() -> list[str]:
    """The simulator's ES and NQ front months today (the same catalogue code it uses)."""
    from tradovate_api.simulator import SimulatorConfig
    from tradovate_api.simulator.config import build_instruments

    by_product = {i.product.name: i.name
                  for i in build_instruments(SimulatorConfig(), dt.date.today())}
    return [by_product["ES"], by_product["NQ"]]


async def measure(runs: int) -> dict[str, Any]:
    """``runs`` fresh processes against one simulator; medians [min–max] in seconds."""
    sim, urls = await start_simulator()
    samples: list[dict[str, float]] = []
    try:
        for _ in range(runs):
            spawned = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.startup", "--child", "--rest", urls["REST"],
                "--trading", urls["trading"], "--md", urls["md"],
                "--symbols", ",".join(front_months()), stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, cwd=harness.ROOT, env=harness.child_env())
            async with asyncio.timeout(60):
                out, err = await proc.communicate()
            if proc.returncode:
                raise harness.RunFailed(f"start-up child exited {proc.returncode}: "
                                        f"{err.decode(errors='replace')[-2000:]}")
            child = harness.result_line("start-up child", out, err)
            samples.append({
                "first_event_s": child["first_event"] - spawned,
                "from_run_s": child["first_event"] - child["run"],
                "interpreter_and_imports_s": child["run"] - spawned,
                "run_to_on_start_s": child["on_start"] - child["run"],
                "on_start_to_first_event_s": child["first_event"] - child["on_start"],
                "first_event_hook": child["hook"]})
    finally:
        sim.terminate()
        async with asyncio.timeout(10):
            await sim.wait()
    result: dict[str, Any] = {"runs": samples}
    for key in ("first_event_s", "from_run_s", "interpreter_and_imports_s",
                "run_to_on_start_s", "on_start_to_first_event_s"):
        values = [s[key] for s in samples]  # type: ignore[misc]
        result[key] = {"median": statistics.median(values), "min": min(values),
                       "max": max(values), "n": len(values)}
    return result


# ----------------------------------------------------------------------------- child


async def child(args: argparse.Namespace) -> dict[str, Any]:
    from tradovate_api.runtime.app import TradingApp
    from tradovate_api.secrets import Secret, TradovateCredentials
    from tradovate_api.settings import settings_from_mapping
    from tradovate_api.stores import DomBook, QuoteState, TradesAdded
    from tradovate_api.strategy import Strategy

    marks: dict[str, Any] = {}

    class FirstEvent(Strategy):
        """Notes when it starts and when the first market event reaches it, then stops."""

        def on_start(self) -> None:
            marks["on_start"] = time.monotonic()

        def _first(self, hook: str) -> None:
            if "first_event" not in marks:
                marks["first_event"] = time.monotonic()
                marks["hook"] = hook
                app.request_shutdown("start-up measured")

        def on_quote(self, quote: QuoteState) -> None:
            self._first("on_quote")

        def on_dom(self, book: DomBook) -> None:
            self._first("on_dom")

        def on_trade(self, trades: TradesAdded) -> None:
            self._first("on_trade")

    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        settings = settings_from_mapping({
            "environment": "sim",
            "urls": {"rest": args.rest, "trading_ws": args.trading, "md_ws": args.md},
            "instruments": args.symbols.split(","),
            "log": {"path": str(Path(tmp) / "app.jsonl")},
            "auth": {"token_cache": str(Path(tmp) / "token.json")},
            "journal": {"path": str(Path(tmp) / "journal.db")},
            "reports": {"directory": str(Path(tmp) / "reports")}})
        app = TradingApp(settings, TradovateCredentials(name="sim", password=Secret("sim")),
                         FirstEvent(), handle_signals=False)
        marks["run"] = time.monotonic()
        async with asyncio.timeout(60):
            code = await app.run()
    if "first_event" not in marks:
        raise RuntimeError(f"no strategy event (exit code {code}): {app.start_error}")
    return marks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help="one measured start (internal)")
    parser.add_argument("--rest")
    parser.add_argument("--trading")
    parser.add_argument("--md")
    parser.add_argument("--symbols")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    if args.child:
        from tradovate_api.client import run

        print("RESULT " + json.dumps(run(child(args))), flush=True)
    else:
        print(json.dumps(asyncio.run(measure(args.runs)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
