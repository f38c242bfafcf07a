"""The trade copier's own time: the leader's event → the first and the last of 20 follower
orders on the wire, next to a single account's tick-to-order in the same run.

One login with a leader, 20 followers (ratio 1) and a third account ``SOLO`` on the simulator
(in this process, on the same event loop, its market and its request limits off). The app is
started as ``tradovate-api run`` starts it — the journal on (every follower request is written
ahead), shipped risk defaults except the order rate, the sizes and the daily loss the bench
needs (hundreds of round trips a minute cost every follower its spread each time) — with a
``[copier]`` table and a probe strategy that trades ``SOLO``: every few quotes it places a
far limit order or cancels it, which gives the single-account **tick-to-order** (md event
delivered → order frame written, the app's own metric) in the same run. A separate raw REST
client places Market orders on the leader, alternately Buy and Sell: orders the app did not
place.

Per leader event the copier acts on, the sample is from the arrival of the trading frame that
carried the event (``Connection.frame_ns``, before decoding and the store: the account reader's
whole path) to each follower's ``OrderTicket.sent_ns`` (its frame written on the socket):
**first** is the first follower's, **last** the twentieth's. ``copy = "fills"`` acts on the
leader's fill event (the issue's definition); ``copy = "orders"`` on the leader order's first
appearance, which for a Market order comes before its fill. Rounds alternate the two modes so
that machine load hits them alike; figures are the medians over rounds of each round's p50
and p99.

Run: ``.venv/bin/python -m bench.copier_bench [--rounds 5] [--orders 200]``. Writes
``bench/results/copier.json`` (``--out``). Also ``python -m bench --scenarios copier``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.stats import percentile
from tradovate_api.alerts import AlertLog
from tradovate_api.client import AuthTokens, RestClient
from tradovate_api.orders import OrderTicket
from tradovate_api.protocol.models import PlaceOrder, PlaceOrderResult
from tradovate_api.runtime.app import TradingApp
from tradovate_api.runtime.persistence import Persistence
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import settings_from_mapping
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.config import AccountConfig, RateLimits, UserConfig
from tradovate_api.stores import QuoteState
from tradovate_api.strategy import Strategy

FOLLOWERS = [f"F{n:02d}" for n in range(1, 21)]
RESULTS = Path(__file__).resolve().parent / "results"
PROBE_EVERY = 5
"""Quotes between two of the probe strategy's orders on SOLO."""


class SoloProbe(Strategy):
    """Trades SOLO: every few quotes a Buy Limit 50 ticks under the bid, or its cancel."""

    def __init__(self) -> None:
        self.quotes = 0
        self.working: OrderTicket | None = None

    def on_quote(self, quote: QuoteState) -> None:
        self.quotes += 1
        if self.quotes % PROBE_EVERY or quote.bid is None:
            return
        ctx = self.ctx
        symbol = ctx.symbol(quote.contract_id)
        if self.working is not None and self.working.order_id is not None:
            ctx.cancel(self.working)
            self.working = None
        elif self.working is None:
            tick = ctx.spec(symbol).tick_size
            self.working = ctx.buy(symbol, 1, order_type="Limit",
                                   price=ctx.round_price(symbol, quote.bid - 50 * tick))


def _settings(sim: Simulator, tmp: Path, mode: str) -> Any:
    symbol = next(i.name for i in sim.catalog if i.product.name == "ES")
    return settings_from_mapping({
        "environment": "sim",
        "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
        "instruments": [symbol],
        "trading": {"account": "SOLO"},
        "risk": {"max_position": 2, "max_order_qty": 2, "max_orders_per_second": 100.0,
                 # The run's hourly budget is shared by its 22 accounts (one login): large
                 # enough that every follower copies every leader order of the bench.
                 "max_orders_per_hour": 1_000_000, "max_daily_loss": 1_000_000.0},
        "copier": {"leader": "LEAD", "followers": [{"account": n} for n in FOLLOWERS],
                   "copy": mode},
        "log": {"path": str(tmp / "app.jsonl")},
        "auth": {"token_cache": str(tmp / "token.json")},
        "reports": {"directory": str(tmp / "reports"), "enabled": False},
        "journal": {"path": str(tmp / "journal.db")},
    })


async def one_round(mode: str, orders: int, pace_s: float) -> dict[str, Any]:
    config = SimulatorConfig(
        warm_up=60.0, tick_interval=0.02, market_hours=False, maintenance=False,
        limits=RateLimits(enabled=False),
        users=[UserConfig(name="bench", password="bench", accounts=[
            AccountConfig(name=n) for n in ["LEAD", "SOLO", *FOLLOWERS]])])
    with tempfile.TemporaryDirectory(prefix="bench-copier-") as tmp:
        async with Simulator(config, seed=3) as sim:
            settings = _settings(sim, Path(tmp), mode)
            persistence = Persistence(settings, label="copier-bench")
            app = TradingApp(settings, TradovateCredentials(name="bench",
                                                            password=Secret("bench")),
                             SoloProbe(), alerts=persistence.alerts(AlertLog()),
                             handle_signals=False)
            persistence.attach(app)
            task = asyncio.create_task(app.run())
            try:
                await asyncio.wait_for(app.started.wait(), 30)
                own, own_cpu = _time_fan_out(app)
                await _trade_leader(app, sim, orders, pace_s)
            finally:
                app.request_shutdown("bench over")
                await asyncio.wait_for(task, 30)
            copier = app.copier
            assert copier is not None
            refused = sum(1 for r in copier.ledger.orders.values()
                          for t in r.tickets if t is not None and not t.sent_ns)
            if refused:
                raise RuntimeError(f"{refused} follower orders were refused: the bench "
                                   "measures 20 followers copying every leader order")
            first, last = [], []
            for record in copier.ledger.orders.values():
                sent = [t.sent_ns for t in record.tickets if t is not None and t.sent_ns]
                if record.seen_ns and len(sent) == len(FOLLOWERS):
                    first.append((min(sent) - record.seen_ns) / 1000)
                    last.append((max(sent) - record.seen_ns) / 1000)
            latency = app.metrics.latency()
            return {"mode": mode, "copied": len(last), "own_us": _p(own),
                    "own_cpu_us": _p(own_cpu),
                    "first_us": _p(first), "last_us": _p(last),
                    "tick_to_order_us": {"count": latency.count,
                                         "p50": _nan_if_none(latency.p50_us),
                                         "p99": _nan_if_none(latency.p99_us)}}


def _nan_if_none(value: float | None) -> float:
    """A percentile of no sample (a short run whose probe strategy sent no order)."""
    return float("nan") if value is None else value


def _time_fan_out(app: TradingApp) -> tuple[list[float], list[float]]:
    """The copier's own time per leader event it acts on: its fan-out to the 20 followers'
    order managers (each one's checks, journal write-ahead and frame), timed around the
    service's one call that does it — wall time, and the thread's CPU time (which a
    preemption by another process on a loaded machine does not inflate)."""
    copier = app.copier
    assert copier is not None
    service = copier
    fan_out = service._apply
    samples: list[float] = []
    cpu: list[float] = []
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns

    def timed(intents: Any) -> None:
        start, start_cpu = clock(), cpu_clock()
        fan_out(intents)
        cpu.append((cpu_clock() - start_cpu) / 1000)
        samples.append((clock() - start) / 1000)

    service._apply = timed  # type: ignore[method-assign]
    return samples, cpu


async def _trade_leader(app: TradingApp, sim: Simulator, orders: int, pace_s: float) -> None:
    assert app.auth is not None
    rest = RestClient(sim.rest_url, AuthTokens(app.auth, market_data=False))
    leader = next(a.id for a in app.account.accounts.values() if a.name == "LEAD")
    try:
        for n in range(orders):
            await rest.request("order/placeorder", PlaceOrder(
                action="Buy" if n % 2 == 0 else "Sell", symbol=app.symbol, order_qty=1,
                order_type="Market", account_id=leader, account_spec="LEAD",
                is_automated=False), result_type=PlaceOrderResult)
            await asyncio.sleep(pace_s)
    finally:
        await rest.close()


def _p(values: list[float]) -> dict[str, float]:
    if not values:
        return {"count": 0, "p50": float("nan"), "p99": float("nan")}
    return {"count": len(values), "p50": percentile(values, 0.5),
            "p99": percentile(values, 0.99)}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in sorted({r["mode"] for r in runs}):
        mine = [r for r in runs if r["mode"] == mode]
        out[mode] = {
            "own_p50_us": statistics.median(r["own_us"]["p50"] for r in mine),
            "own_p99_us": statistics.median(r["own_us"]["p99"] for r in mine),
            "own_cpu_p50_us": statistics.median(r["own_cpu_us"]["p50"] for r in mine),
            "own_cpu_p99_us": statistics.median(r["own_cpu_us"]["p99"] for r in mine),
            "first_p50_us": statistics.median(r["first_us"]["p50"] for r in mine),
            "first_p99_us": statistics.median(r["first_us"]["p99"] for r in mine),
            "last_p50_us": statistics.median(r["last_us"]["p50"] for r in mine),
            "last_p99_us": statistics.median(r["last_us"]["p99"] for r in mine),
            "tick_to_order_p50_us": statistics.median(
                r["tick_to_order_us"]["p50"] for r in mine),
            "first_over_tick_to_order": statistics.median(
                r["first_us"]["p50"] / r["tick_to_order_us"]["p50"] for r in mine),
            "rounds": len(mine),
        }
    return out


def markdown(summary: dict[str, Any]) -> str:
    lines = ["| copy | copier's own time (fan-out to 20), p50 / p99 | its CPU time, p50 / p99 | "
             "leader event → first follower order, p50 / p99 | → last (20th), p50 / p99 | "
             "same-run tick-to-order p50 | first ÷ tick-to-order |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for mode, s in summary.items():
        lines.append(f"| {mode} | {s['own_p50_us']:.0f} / {s['own_p99_us']:.0f} µs | "
                     f"{s['own_cpu_p50_us']:.0f} / {s['own_cpu_p99_us']:.0f} µs | "
                     f"{s['first_p50_us']:.0f} / {s['first_p99_us']:.0f} µs | "
                     f"{s['last_p50_us']:.0f} / {s['last_p99_us']:.0f} µs | "
                     f"{s['tick_to_order_p50_us']:.0f} µs | "
                     f"{s['first_over_tick_to_order']:.2f} |")
    return "\n".join(lines)


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    runs = []
    modes = ["fills", "orders"]
    for rnd in range(args.rounds):
        for mode in modes if rnd % 2 == 0 else modes[::-1]:
            run = await one_round(mode, args.orders, args.pace)
            runs.append(run)
            print(f"round {rnd + 1}/{args.rounds} {mode:6}: {run['copied']} copied, own p50 "
                  f"{run['own_us']['p50']:.0f} µs, first p50 {run['first_us']['p50']:.0f} µs, "
                  f"last p50 {run['last_us']['p50']:.0f} µs p99 {run['last_us']['p99']:.0f} "
                  f"µs, tick-to-order p50 {run['tick_to_order_us']['p50']:.0f} µs", flush=True)
    return {"command": "python -m bench.copier_bench " + " ".join(
                f"--{k} {v}" for k, v in vars(args).items() if k not in ("loadavg", "out")),
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "loadavg_start": args.loadavg},
            "runs": runs, "summary": summarize(runs), "loadavg_end": os.getloadavg(),
            "when": time.strftime("%Y-%m-%d %H:%M:%S")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.copier_bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--orders", type=int, default=200, help="leader orders per round")
    parser.add_argument("--pace", type=float, default=0.05, help="seconds between them")
    parser.add_argument("--out", type=Path, default=RESULTS / "copier.json",
                        help="where the JSON result goes")
    args = parser.parse_args(argv)
    args.loadavg = os.getloadavg()
    result = asyncio.run(main_async(args))
    text = markdown(result["summary"])
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
