"""A chaos soak: the client trading against the in-process simulator, at the settings a user
runs, while faults are injected at random (seeded), with the invariants checked after every
fault and at the end.

``run_chaos`` starts a simulator, an alert receiver and the client — ``TradingApp`` with the
:class:`.ChurnStrategy`, the journal and md recording on, alerts through the real notification
center — in a child process (:mod:`.child`), so that it can be killed with SIGKILL and started
again. It injects one fault at a time (:mod:`.faults`) until the time is up, halts new orders,
checks the account once more and stops the client with SIGTERM (the ordinary shutdown: entries
cancelled, protective stops kept). Meanwhile :class:`.NakedWatch` samples the exchange for
positions without their stop. The result says what was injected and survived, how the client
coped, and every invariant that did not hold. Same seed, same sequence of faults.

The settings are the shipped defaults except where the run needs otherwise, each for a reason
(see :func:`chaos_settings` and docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import random
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from ..settings import Settings, settings_from_mapping
from ..simulator import Simulator, SimulatorConfig
from ..simulator.calendar import open_clock
from .client_process import ClientProcess
from .exchange_record import ExchangeRecord
from .faults import FAULT_KINDS, FaultRecord, FaultScheduler, FaultTiming
from .invariants import Invariants
from .naked import STOP_TYPES, NakedWatch, stop_request_excused
from .receiver import AlertReceiver

START_LIMIT = 90.0
"""Seconds the client may take to start: log in, connect, subscribe, start the strategy."""
STOP_LIMIT = 40.0
"""Seconds the client's shutdown may take (its own limit is ``shutdown.timeout_seconds``)."""
FINAL_CONVERGE = 40.0
MEMORY_SLACK_MB = 64.0
"""A client process's RSS may grow by this much (plus 25 %) from the first quarter of its
life to its end."""
UNEXPECTED_EXITS = 3
"""The run gives up after this many exits of the client it did not cause."""
PROTECTIVE_STOP_POINTS = 2.0


@dataclasses.dataclass(frozen=True, slots=True)
class ChaosConfig:
    """One run: ``seconds`` of faults with seed ``seed``; ``mean_gap`` is the mean pause
    (exponential) between the end of one fault's checks and the next fault; files go under
    ``work_dir`` (a temporary directory when ``None``). The first faults are each of
    ``kinds`` once, in a seeded order (all of them even past ``seconds``, with
    ``cover_all``); the rest are drawn at random."""

    seconds: float
    seed: int = 1
    mean_gap: float = 3.0
    work_dir: Path | None = None
    kinds: tuple[str, ...] = FAULT_KINDS
    cover_all: bool = False


class KindResult(msgspec.Struct):
    """One fault kind over the run."""

    injected: int = 0
    fired: int = 0
    survived: int = 0
    recover_seconds: list[float] = msgspec.field(default_factory=list)


class ChaosResult(msgspec.Struct):
    """What a run did and found; ``ok`` means no mismatch and a clean exit."""

    seconds: float
    seed: int
    faults: dict[str, KindResult]
    lives: int
    """Client processes (1 + restarts after kill -9)."""
    reconnects: dict[str, int]
    tickets: dict[str, int]
    """Order tickets by final state (``refused``: never sent — risk, blocked, halted)."""
    refusals: dict[str, int]
    """Refused tickets by kind of refusal."""
    exchange_orders: int
    fills: int
    delivered: int
    naked_episodes: int
    naked_longest: float
    naked_limit: float
    journal_lost_fills: int
    alerts_delivered: int
    alert_attempts_failed: int
    emit_max_ms: float
    rss_mb: list[float]
    exit_code: int | None
    exit_lines: list[str]
    mismatches: list[str]

    @property
    def ok(self) -> bool:
        return not self.mismatches and self.exit_code == 0

    @property
    def all_recoveries(self) -> list[float]:
        return sorted(s for k in self.faults.values() for s in k.recover_seconds)


def child_rss_mb(pid: int) -> float | None:
    """Resident set size of a process in MB (``None`` if it cannot be read)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def chaos_settings(sim: Simulator, work: Path) -> dict[str, Any]:
    """The client's settings for a run against ``sim`` with files under ``work``: the
    shipped defaults (circuit breaker, backoff, connection timings, login budget, grace times,
    protective stops, shutdown, journal) except:

    * ``risk.max_daily_loss`` 100 000: the churn crosses the spread a few thousand times, which
      would trip the shipped 500 within minutes by design (its volume, not a fault);
    * ``risk.max_position`` and ``max_order_qty`` 2: the ``partial fills across reconnect``
      fault splits only orders of two lots or more;
    * ``risk.protective_stop_points`` 2: the shipped distance follows ``max_daily_loss``
      (2 000 ES points at 100 000); a near stop triggers now and then, so stop fills are part of
      the run;
    * alerts go to the run's webhook receiver, none deduplicated or capped (the soak checks
      that alerts arrive);
    * reports every minute (so they are made under faults), md recording on.
    """
    by_product = {inst.product.name: inst for inst in sim.catalog}
    symbols = [by_product[p].name for p in ("ES", "NQ")]
    return {
        "environment": "sim",
        "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
        "instruments": symbols,
        "log": {"path": str(work / "logs" / "chaos.jsonl")},
        "auth": {"token_cache": str(work / "state" / "token.json")},
        "reports": {"directory": str(work / "reports"), "first_after_minutes": 0.5,
                    "every_minutes": 1.0},
        "journal": {"path": str(work / "state" / "journal.db")},
        "recording": {"enabled": True, "directory": str(work / "recordings")},
        "risk": {"max_daily_loss": 100_000.0, "max_position": 2, "max_order_qty": 2,
                 "protective_stop_points": PROTECTIVE_STOP_POINTS},
        "notifications": {"urgent": ["webhook"], "routine": ["webhook"],
                          "max_per_key_per_hour": 100_000, "dedupe_seconds": 0.0},
        "trading": {"symbol": symbols[0], "commission_per_side": {
            name: inst.commission_per_side for name, inst in by_product.items()}},
    }


def _simulator(seed: int) -> Simulator:
    """The soak's exchange at its defaults (request limits, login penalties, hours), on a
    clock inside an open session (the soak runs at any hour)."""
    return Simulator(SimulatorConfig(warm_up=120.0), seed=seed, clock=open_clock())


async def run_chaos(config: ChaosConfig,
                    progress: Callable[[str], None] | None = None) -> ChaosResult:
    """Run one chaos soak (see the module doc); ``progress`` gets a line per fault."""
    report = progress or (lambda line: None)
    if config.work_dir is not None:
        config.work_dir.mkdir(parents=True, exist_ok=True)
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
        self.rss: dict[int, list[float]] = {}
        self.unexpected_exits = 0

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
        raw = chaos_settings(sim, self.work)
        settings = settings_from_mapping(raw)
        user = sim.exchange.users()[0]
        account = sim.exchange.accounts_of(user.id)[0]
        record = ExchangeRecord(sim, user.id, account.id)
        client = ClientProcess(self.work, raw, alert_url=receiver.url,
                               clock_offset=sim.clock() - time.time(), seed=self.config.seed)
        journal = Path(settings.journal.path)
        invariants = Invariants(client, record, journal,
                                grace=settings.risk.unknown_order_grace_seconds)

        def countable() -> bool:
            life = client.life
            link = None if life is None else life.link
            return (client.alive and link is not None and link.trading_ready
                    and link.synced > 0 and sim.schedule.trading() and not sim.faults.silent)

        grace = settings.risk.protective_stop_grace_seconds
        symbols = {inst.contract_id: inst.name for inst in sim.catalog}

        def excused(contract_id: int, now: float) -> bool:
            life = client.life
            symbol = symbols.get(contract_id)
            return life is not None and stop_request_excused(
                (t for t in client.tickets.values()
                 if t.life == life.number and t.symbol == symbol), now, grace=grace,
                held=invariants.held)

        naked = NakedWatch(sim, user.id, account.id, grace=grace, countable=countable,
                           excused=excused)
        watch = asyncio.create_task(naked.run(), name="chaos naked positions")
        scheduler: FaultScheduler | None = None
        exit_code: int | None = None
        try:
            await client.start()
            if await self._started(client):
                scheduler = FaultScheduler(sim, client, invariants, record, receiver,
                                           self.rng, _timing(settings))
                await self._inject(scheduler, client)
                await self._finish(client, invariants)
            exit_code = await client.stop(STOP_LIMIT)
            if exit_code is None:
                self.mismatches.append(f"the client did not stop within {STOP_LIMIT:g}s")
            elif exit_code != 0:
                self.mismatches.append(f"the client's shutdown exited {exit_code}")
            self._after_exit(sim, naked, account.id)
            record.update()
            self.mismatches += [f"after the run: {p}" for p in (
                invariants.journal_problems(record.fills.values(), final=True)
                + invariants.order_problems())]
            self.mismatches += [f"after the run: request never settled in the journal: {p}"
                                for p in invariants.unsettled_requests()]
        finally:
            watch.cancel()
            if client.alive:
                await client.kill()
        self.mismatches += [f"naked: {f}" for f in naked.failures]
        self._check_memory()
        return self._result(client, record, receiver, scheduler, naked, invariants, exit_code)

    async def _started(self, client: ClientProcess) -> bool:
        def ready() -> bool:
            life = client.life
            link = None if life is None else life.link
            return (link is not None and link.started and link.md_live and link.trading_ready
                    and link.cleaned_up)

        if await client.until(lambda: ready() or not client.alive, START_LIMIT) and ready():
            return True
        life = client.life
        self.mismatches.append(f"the client did not start within {START_LIMIT:g}s (exit code "
                               f"{None if life is None else life.returncode}; see "
                               f"client-1.out)")
        return False

    async def _inject(self, scheduler: FaultScheduler, client: ClientProcess) -> None:
        config = self.config
        deadline = time.monotonic() + config.seconds
        # Every kind once first (in a seeded order), so a short run covers them all.
        first = self.rng.sample(config.kinds, len(config.kinds))
        self._sample_rss(client)
        while time.monotonic() < deadline or (config.cover_all and first):
            gap = min(self.rng.expovariate(1.0 / config.mean_gap), 3 * config.mean_gap)
            await asyncio.sleep(gap)
            if not config.cover_all and time.monotonic() >= deadline:
                break
            kind = first.pop(0) if first else self._draw(scheduler)
            record = await scheduler.inject(kind)
            self._report(record)
            self.mismatches += [f"after {record.kind} at {record.at:.1f}s: {p}"
                                for p in record.problems]
            if not await self._alive(client):
                break
            self._sample_rss(client)

    def _draw(self, scheduler: FaultScheduler) -> str:
        kinds = [k for k in self.config.kinds if scheduler.allowed(k)]
        return self.rng.choice(kinds)

    async def _alive(self, client: ClientProcess) -> bool:
        """A client that exited by itself (not killed by the run) is a mismatch; it is started
        again so the run goes on, at most :data:`UNEXPECTED_EXITS` times."""
        if client.alive:
            return True
        life = client.life
        self.unexpected_exits += 1
        self.mismatches.append(f"the client exited by itself (code "
                               f"{None if life is None else life.returncode}, life "
                               f"{None if life is None else life.number})")
        if self.unexpected_exits >= UNEXPECTED_EXITS:
            return False
        await client.start()
        return await self._started(client)

    def _report(self, record: FaultRecord) -> None:
        recovered = ("" if record.recovered is None
                     else f", recovered in {record.recovered:.2f}s")
        detail = f" ({record.detail})" if record.detail else ""
        fired = "" if record.fired else ", did not fire"
        status = "ok" if not record.problems else f"{len(record.problems)} mismatch(es)"
        self.progress(f"{record.at:7.1f}s  {record.kind}{detail}{fired}{recovered}: {status}")
        for problem in record.problems:
            self.progress(f"           - {problem}")

    async def _finish(self, client: ClientProcess, invariants: Invariants) -> None:
        """Stop new orders and check the account once more (every outcome settled)."""
        if not client.alive:
            return
        client.halt()
        self.mismatches += [f"at the end: {p}"
                            for p in await invariants.converge(FINAL_CONVERGE, settled=True)]

    def _after_exit(self, sim: Simulator, naked: NakedWatch, account_id: int) -> None:
        """What the shutdown left: every open position covered by its stops; no entry
        working (only stops, and the targets linked to them as OCO)."""
        for contract_id, (net, covered) in naked.naked().items():
            self.mismatches.append(f"the shutdown left the position {net:+d} in contract "
                                   f"{contract_id} with stops for {covered}")
        working = sim.exchange.working_orders(account_id)
        stops = {o.id for o, v, _ in working if v.order_type in STOP_TYPES}
        entries = sorted(o.id for o, v, _ in working
                         if o.id not in stops and (o.oco_id is None or o.oco_id not in stops))
        if entries:
            self.mismatches.append(f"the shutdown left entries working: {entries[:10]}")

    def _sample_rss(self, client: ClientProcess) -> None:
        life = client.life
        if life is None or not client.alive:
            return
        rss = child_rss_mb(life.pid)
        if rss is not None:
            self.rss.setdefault(life.number, []).append(rss)

    def _check_memory(self) -> None:
        for number, samples in self.rss.items():
            if len(samples) < 4:
                continue
            baseline = samples[len(samples) // 4]
            limit = baseline * 1.25 + MEMORY_SLACK_MB
            if samples[-1] > limit:
                self.mismatches.append(f"client process {number}: memory grew from "
                                       f"{baseline:.0f} MB to {samples[-1]:.0f} MB (limit "
                                       f"{limit:.0f} MB)")

    def _result(self, client: ClientProcess, record: ExchangeRecord, receiver: AlertReceiver,
                scheduler: FaultScheduler | None, naked: NakedWatch, invariants: Invariants,
                exit_code: int | None) -> ChaosResult:
        kinds: dict[str, KindResult] = {}
        for fault in scheduler.records if scheduler is not None else []:
            kind = kinds.setdefault(fault.kind, KindResult())
            kind.injected += 1
            kind.fired += fault.fired > 0
            kind.survived += fault.survived
            if fault.recovered is not None:
                kind.recover_seconds.append(fault.recovered)
        states = Counter(t.state for t in client.tickets.values())
        refusals = Counter(t.refusal.split(" in ")[0] or "?" for t in client.tickets.values()
                           if t.state == "refused")
        reconnects = {"md": 0, "trading": 0}
        for life in client.lives:
            if life.link is not None:
                reconnects["md"] += max(life.link.md_connects - 1, 0)
                reconnects["trading"] += max(life.link.trading_connects - 1, 0)
        last = client.life
        lines = list(last.exit.lines) if last is not None and last.exit is not None else []
        rss = [round(v, 1) for samples in self.rss.values() for v in samples]
        return ChaosResult(
            seconds=self.config.seconds, seed=self.config.seed, faults=kinds,
            lives=len(client.lives), reconnects=reconnects, tickets=dict(states),
            refusals=dict(refusals),
            exchange_orders=len(record.orders), fills=len(record.fills),
            delivered=sum(sum(life.delivered.values()) for life in client.lives),
            naked_episodes=naked.uncovered, naked_longest=round(naked.longest, 2),
            naked_limit=naked.limit, journal_lost_fills=invariants.lost_to_full_disk(),
            alerts_delivered=len(receiver.received), alert_attempts_failed=receiver.refused,
            emit_max_ms=(scheduler.emit_seconds_max * 1000 if scheduler else 0.0),
            rss_mb=rss, exit_code=exit_code, exit_lines=lines, mismatches=self.mismatches)


def _timing(settings: Settings) -> FaultTiming:
    return FaultTiming(settings.connection.silence_timeout_seconds,
                       settings.connection.request_timeout_seconds,
                       settings.risk.unknown_order_grace_seconds)


def _seconds(values: list[float], how: Callable[[list[float]], float]) -> str:
    return f"{how(values):.2f}s" if values else "-"


def format_table(result: ChaosResult) -> str:
    """The run as a plain-text table (faults by kind: injected, fired, survived, recovery
    times; then totals and what the run found)."""
    lines = [f"chaos soak: {result.seconds:g}s, seed {result.seed}", "",
             f"{'fault':<32}{'injected':>9}{'fired':>7}{'survived':>10}"
             f"{'recover p50':>13}{'max':>8}"]
    for kind in FAULT_KINDS:
        k = result.faults.get(kind, KindResult())
        times = k.recover_seconds
        lines.append(f"{kind:<32}{k.injected:>9}{k.fired:>7}{k.survived:>10}"
                     f"{_seconds(times, statistics.median):>13}{_seconds(times, max):>8}")
    totals = result.faults.values()
    every = result.all_recoveries
    tickets = result.tickets
    sent = sum(n for state, n in tickets.items() if state != "refused")
    states = ", ".join(f"{n} {state}" for state, n in sorted(tickets.items())
                       if state != "refused")
    rss = result.rss_mb
    lines += [
        f"{'total':<32}{sum(k.injected for k in totals):>9}{sum(k.fired for k in totals):>7}"
        f"{sum(k.survived for k in totals):>10}", "",
        f"client processes  {result.lives} (kill -9 and restart: {result.lives - 1})",
        f"reconnects        md {result.reconnects.get('md', 0)}, "
        f"trading {result.reconnects.get('trading', 0)}",
        f"time to recover   p50 {_seconds(every, statistics.median)}, "
        f"max {_seconds(every, max)} (faults that cut connections or the process)",
        f"orders            {sent} sent ({states or 'none'}); {result.exchange_orders} on the "
        f"exchange, each one intent",
        "refused (unsent)  " + (", ".join(f"{n} {kind}" for kind, n in sorted(
            result.refusals.items(), key=lambda item: -item[1])) or "none"),
        f"fills             {result.fills} on the exchange, {result.delivered} given to the "
        f"strategies (each once)",
        f"naked positions   {result.naked_episodes} uncovered episodes, longest "
        f"{result.naked_longest:.2f}s counted (limit {result.naked_limit:g}s)",
        f"full disk         {result.journal_lost_fills} fills lost to the journal and counted",
        f"alerts            {result.alerts_delivered} delivered, "
        f"{result.alert_attempts_failed} refused during outages, emit max "
        f"{result.emit_max_ms:.3f} ms",
        "memory (RSS)      " + (f"client {rss[0]:.0f} MB at start, {max(rss):.0f} MB peak, "
                                f"{rss[-1]:.0f} MB at end" if rss else "-"),
        f"exit code         {result.exit_code}",
    ]
    lines += [f"left open         {line}" for line in result.exit_lines]
    lines.append(f"mismatches        {len(result.mismatches)}")
    lines += [f"  - {m}" for m in result.mismatches]
    return "\n".join(lines)


def result_json(result: ChaosResult) -> bytes:
    """The result as JSON (for CI artefacts and docs)."""
    data: dict[str, Any] = msgspec.to_builtins(result)
    data["ok"] = result.ok
    return msgspec.json.format(msgspec.json.encode(data), indent=2)
