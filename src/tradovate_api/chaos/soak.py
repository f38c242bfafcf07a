"""A chaos soak: the whole runtime trading against the in-process simulator while faults are
injected at random (seeded), with the invariants checked after every fault and at the end.

``run_chaos`` starts a simulator, an alert receiver and a :class:`TradingApp` running the
:class:`ChurnStrategy` with alerts going through the real notification center, then injects
one fault at a time (see :mod:`.faults`) until the time is up, halts new orders, checks the
account one last time and shuts the app down. The result says what was injected, how the
runtime coped and every invariant that did not hold. Same seed, same sequence of faults.

The run's settings differ from the defaults where the defaults would make the run end by
design rather than by a bug: the circuit breaker allows many reconnects (a chaos run causes
dozens a minute; the breaker itself is tested in ``tests/runtime``), the login cap is raised
(each early token expiry costs a login), maintenance and quota waits are short, and the
timings are fast (heartbeat 0.25 s, silence 1.5 s, requests 2 s) so a minute holds many
faults.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import resource
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from ..client import ConnectionOptions
from ..notify import NotificationCenter, WebhookNotifier
from ..orders.tickets import TicketState
from ..runtime.app import TradingApp
from ..runtime.persistence import Persistence
from ..runtime.supervisor import SupervisorOptions
from ..secrets import Secret, TradovateCredentials
from ..settings import Settings, settings_from_mapping
from ..simulator import Simulator, SimulatorConfig
from ..simulator.calendar import open_clock
from .faults import FAULT_KINDS, FaultRecord, FaultScheduler, FaultTiming
from .invariants import Invariants
from .receiver import AlertReceiver
from .strategy import ChurnStrategy

HEARTBEAT = 0.25
SILENCE = 1.5
REQUEST_TIMEOUT = 2.0
START_LIMIT = 60.0
"""Seconds the app may take to log in, connect and start the strategy."""
STOP_LIMIT = 30.0
MEMORY_SLACK_MB = 64.0
"""RSS may grow by this much (plus 25 %) from the first quarter of the run to its end."""


@dataclasses.dataclass(frozen=True, slots=True)
class ChaosConfig:
    """One run: ``seconds`` of faults with seed ``seed``; ``mean_gap`` is the mean pause
    (exponential) between a recovery and the next fault; files go under ``work_dir``
    (a temporary directory when ``None``). The first faults are each of ``kinds`` once, in
    a seeded order; the rest are drawn at random."""

    seconds: float
    seed: int = 1
    mean_gap: float = 1.0
    work_dir: Path | None = None
    kinds: tuple[str, ...] = FAULT_KINDS


class ChaosResult(msgspec.Struct):
    """What a run did and found; ``ok`` means no mismatch and a clean exit."""

    seconds: float
    seed: int
    faults: dict[str, int]
    recover_seconds: dict[str, list[float]]
    reconnects: dict[str, int]
    tickets: dict[str, int]
    """Order tickets by final state (``refused`` = never sent: risk, blocked, disconnected)."""
    fills: int
    alerts_delivered: int
    alert_attempts_failed: int
    emit_max_ms: float
    rss_mb: list[float]
    """Resident memory sampled after each fault."""
    exit_code: int | None
    mismatches: list[str]

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.exit_code == 0

    @property
    def all_recoveries(self) -> list[float]:
        return sorted(s for values in self.recover_seconds.values() for s in values)


def rss_mb() -> float:
    """Resident set size of this process in MB (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def chaos_settings(sim: Simulator, work: Path) -> Settings:
    """Settings for a run against ``sim`` with files under ``work`` (see the module doc for
    why some differ from the defaults)."""
    by_product = {inst.product.name: inst for inst in sim.catalog}
    symbols = [by_product[p].name for p in ("ES", "NQ")]
    return settings_from_mapping({
        "environment": "sim",
        "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
        "instruments": symbols,
        "log": {"path": str(work / "logs" / "chaos.jsonl")},
        "auth": {"token_cache": str(work / "state" / "token.json"),
                 "max_logins_per_hour": 1000, "request_timeout_seconds": 5.0},
        "reports": {"directory": str(work / "reports"), "first_after_minutes": 0.5,
                    "every_minutes": 1.0},
        "journal": {"path": str(work / "state" / "journal.db")},
        "recording": {"enabled": True, "directory": str(work / "recordings")},
        "connection": {"heartbeat_seconds": HEARTBEAT, "silence_timeout_seconds": SILENCE,
                       "request_timeout_seconds": REQUEST_TIMEOUT},
        "reconnect": {"initial_backoff_seconds": 0.05, "max_backoff_seconds": 1.0,
                      "breaker_failures": 10_000, "breaker_window_seconds": 60.0},
        "risk": {"max_position": 2, "max_order_qty": 1, "max_orders_per_second": 20.0,
                 "max_daily_loss": 1e9},
        "notifications": {"urgent": ["webhook"], "routine": ["webhook"],
                          "max_per_key_per_hour": 10_000, "dedupe_seconds": 0.0,
                          "send_timeout_seconds": 2.0, "retries": 2,
                          "retry_backoff_seconds": 0.2, "retry_max_backoff_seconds": 1.0},
        "trading": {"symbol": symbols[0], "commission_per_side": {
            name: inst.commission_per_side for name, inst in by_product.items()}},
        "shutdown": {"cancel_working_orders": True, "flatten": True, "timeout_seconds": 10.0},
    })


def _simulator(seed: int) -> Simulator:
    """The soak's exchange, on a clock inside an open session (the soak runs at any hour)."""
    return Simulator(SimulatorConfig(warm_up=120.0, tick_interval=0.05, heartbeat_interval=0.2,
                                     idle_timeout=3.0, authorize_timeout=5.0), seed=seed,
                     clock=open_clock())


async def run_chaos(config: ChaosConfig,
                    progress: Callable[[str], None] | None = None) -> ChaosResult:
    """Run one chaos soak (see the module doc); ``progress`` gets a line per fault."""
    report = progress or (lambda line: None)
    if config.work_dir is not None:
        return await _Run(config, config.work_dir, report).run()
    with tempfile.TemporaryDirectory(prefix="chaos-") as work:
        return await _Run(config, Path(work), report).run()


class _Run:
    def __init__(self, config: ChaosConfig, work: Path,
                 progress: Callable[[str], None]) -> None:
        self.config = config
        self.work = work
        self.progress = progress
        self.rng = random.Random(config.seed)
        self.mismatches: list[str] = []
        self.rss: list[float] = []

    async def run(self) -> ChaosResult:
        sim = _simulator(self.config.seed)
        receiver = AlertReceiver()
        await sim.start()
        await receiver.start()
        try:
            return await self._with(sim, receiver)
        finally:
            await receiver.stop()
            await sim.stop()

    async def _with(self, sim: Simulator, receiver: AlertReceiver) -> ChaosResult:
        settings = chaos_settings(sim, self.work)
        center = NotificationCenter(settings.notifications, {
            "webhook": WebhookNotifier(Secret(receiver.url), timeout=2.0)})
        center.start()
        strategy = ChurnStrategy(interval_ms=300, seed=self.config.seed)
        supervision = dataclasses.replace(SupervisorOptions.from_settings(settings),
                                          maintenance_delay=0.3, quota_delay=1.0,
                                          cancel_timeout=1.0)
        connection = dataclasses.replace(ConnectionOptions.from_settings(
            HEARTBEAT, SILENCE, REQUEST_TIMEOUT), open_timeout=2.0, authorize_timeout=2.0,
            close_timeout=1.0)
        persistence = Persistence(settings, label="chaos")
        app = TradingApp(settings, TradovateCredentials(name="sim", password=Secret("sim")),
                         strategy, alerts=persistence.alerts(center), submit=center.submit,
                         handle_signals=False, supervisor_options=supervision,
                         connection_options=connection, clock=lambda: int(sim.clock() * 1000))
        persistence.attach(app)
        user = sim.exchange.users()[0]
        account = sim.exchange.accounts_of(user.id)[0]
        invariants = Invariants(app, sim, strategy, user_id=user.id, account_id=account.id,
                                journal=persistence.journal)
        assert persistence.recorder is not None, "chaos_settings switch the recording on"
        app.add_frame_observer(invariants.observe_md)  # after the recorder's
        task = asyncio.create_task(app.run(), name="chaos app")
        exit_code: int | None = None
        scheduler: FaultScheduler | None = None
        try:
            if await self._started(app, task):
                invariants.record_subscriptions()
                scheduler = FaultScheduler(sim, app, invariants, receiver, self.rng,
                                           FaultTiming(SILENCE, REQUEST_TIMEOUT))
                await self._inject(scheduler, task)
                await self._finish(app, invariants, task)
            exit_code = await self._stop(app, task)
            if exit_code is not None:
                self.mismatches += [f"journal after the run: {p}"
                                    for p in await invariants.journal_problems()]
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            await center.close(3.0)
        self._check_memory()
        return self._result(app, strategy, center, receiver, scheduler, exit_code)

    async def _started(self, app: TradingApp, task: asyncio.Task[int]) -> bool:
        started = asyncio.create_task(app.started.wait())
        await asyncio.wait({started, task}, timeout=START_LIMIT,
                           return_when=asyncio.FIRST_COMPLETED)
        started.cancel()
        if app.started.is_set():
            return True
        self.mismatches.append(f"the app did not start within {START_LIMIT:g}s"
                               + (f": {app.start_error}" if app.start_error else ""))
        return False

    async def _inject(self, scheduler: FaultScheduler, task: asyncio.Task[int]) -> None:
        deadline = time.monotonic() + self.config.seconds
        # Every kind once first (in a seeded order), so a short run covers them all.
        kinds = iter(self.rng.sample(self.config.kinds, len(self.config.kinds)))
        self.rss.append(rss_mb())
        while time.monotonic() < deadline and not task.done():
            gap = min(max(self.rng.expovariate(1.0 / self.config.mean_gap), 0.2),
                      3 * self.config.mean_gap)
            await asyncio.sleep(min(gap, max(0.0, deadline - time.monotonic())))
            if task.done() or time.monotonic() >= deadline:
                break
            record = await scheduler.inject(next(kinds, None) or self.rng.choice(
                self.config.kinds))
            self.rss.append(rss_mb())
            self._report(record)
            self.mismatches += [f"after {record.kind} at {record.at:.1f}s: {p}"
                                for p in record.problems]
        if task.done():
            self.mismatches.append(f"the app exited during the run (exit code "
                                   f"{task.result() if not task.cancelled() else 'cancelled'})")

    def _report(self, record: FaultRecord) -> None:
        recovered = ("" if record.recovered is None
                     else f", recovered in {record.recovered:.2f}s")
        detail = f" ({record.detail})" if record.detail else ""
        status = "ok" if not record.problems else f"{len(record.problems)} mismatch(es)"
        self.progress(f"{record.at:7.1f}s  {record.kind}{detail}{recovered}: {status}")

    async def _finish(self, app: TradingApp, invariants: Invariants,
                      task: asyncio.Task[int]) -> None:
        """Stop new orders and check the account once more, then it is shut down."""
        if task.done() or app.orders is None:
            return
        app.orders.halt("chaos run over")
        self.mismatches += [f"at the end: {p}" for p in await invariants.converge(15.0)]

    async def _stop(self, app: TradingApp, task: asyncio.Task[int]) -> int | None:
        if not task.done():
            app.request_shutdown("chaos run over")
        try:
            async with asyncio.timeout(STOP_LIMIT):
                return await asyncio.shield(task)
        except TimeoutError:
            self.mismatches.append(f"the app did not stop within {STOP_LIMIT:g}s")
            return None

    def _check_memory(self) -> None:
        if len(self.rss) < 4:
            return
        baseline = self.rss[len(self.rss) // 4]
        limit = baseline * 1.25 + MEMORY_SLACK_MB
        if self.rss[-1] > limit:
            self.mismatches.append(f"memory grew from {baseline:.0f} MB to {self.rss[-1]:.0f} "
                                   f"MB (limit {limit:.0f} MB)")

    def _result(self, app: TradingApp, strategy: ChurnStrategy, center: NotificationCenter,
                receiver: AlertReceiver, scheduler: FaultScheduler | None,
                exit_code: int | None) -> ChaosResult:
        records = scheduler.records if scheduler is not None else []
        recover: dict[str, list[float]] = {}
        for record in records:
            if record.recovered is not None:
                recover.setdefault(record.kind, []).append(record.recovered)
        states: Counter[str] = Counter(str(t.state) for t in strategy.tickets)
        stats = center.stats()
        failed = sum(s.failed_attempts for s in stats.values())
        return ChaosResult(
            seconds=self.config.seconds, seed=self.config.seed,
            faults=dict(Counter(r.kind for r in records)), recover_seconds=recover,
            reconnects={name: app.metrics.reconnects(name) for name in ("md", "trading")},
            tickets=dict(states), fills=len(strategy.fills),
            alerts_delivered=len(receiver.received), alert_attempts_failed=failed,
            emit_max_ms=(scheduler.emit_seconds_max * 1000 if scheduler else 0.0),
            rss_mb=[round(v, 1) for v in self.rss], exit_code=exit_code,
            mismatches=self.mismatches)


def _seconds(values: list[float], how: Callable[[list[float]], float]) -> str:
    return f"{how(values):.2f}s" if values else "-"


def format_table(result: ChaosResult) -> str:
    """The run as a plain-text table (faults by kind with recovery times, then totals)."""
    lines = [f"chaos soak: {result.seconds:g}s, seed {result.seed}", "",
             f"{'fault':<24}{'count':>6}{'recover p50':>14}{'recover max':>14}"]
    for kind in FAULT_KINDS:
        count = result.faults.get(kind, 0)
        times = result.recover_seconds.get(kind, [])
        lines.append(f"{kind:<24}{count:>6}{_seconds(times, statistics.median):>14}"
                     f"{_seconds(times, max):>14}")
    every = result.all_recoveries
    tickets = result.tickets
    sent = sum(n for state, n in tickets.items() if state != TicketState.REFUSED)
    states = ", ".join(f"{n} {state}" for state, n in sorted(tickets.items()))
    rss = result.rss_mb
    lines += [
        f"{'total':<24}{sum(result.faults.values()):>6}", "",
        f"reconnects        md {result.reconnects.get('md', 0)}, "
        f"trading {result.reconnects.get('trading', 0)}",
        f"time to recover   p50 {_seconds(every, statistics.median)}, "
        f"max {_seconds(every, max)} (faults that cut connections)",
        f"orders            {sent} sent ({states or 'none'})",
        f"fills             {result.fills} (each delivered to the strategy once)",
        f"alerts            {result.alerts_delivered} delivered, "
        f"{result.alert_attempts_failed} failed attempts during outages, "
        f"emit max {result.emit_max_ms:.3f} ms",
        "memory (RSS)      " + (f"{rss[0]:.0f} MB at start, {max(rss):.0f} MB peak, "
                                f"{rss[-1]:.0f} MB at end" if rss else "-"),
        f"exit code         {result.exit_code}",
        f"mismatches        {len(result.mismatches)}",
    ]
    lines += [f"  - {m}" for m in result.mismatches]
    return "\n".join(lines)


def result_json(result: ChaosResult) -> bytes:
    """The result as JSON (for CI artefacts and docs)."""
    data: dict[str, Any] = msgspec.to_builtins(result)
    data["ok"] = result.ok
    return msgspec.json.format(msgspec.json.encode(data), indent=2)
