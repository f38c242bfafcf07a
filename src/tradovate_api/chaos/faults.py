"""The fault scheduler of a chaos run: one fault at a time, then wait for recovery and check.

Faults on the exchange's side go through the simulator's named faults
(:mod:`tradovate_api.simulator.fault_catalog`, ``sim.faults``), so what the client sees is what
a misbehaving Tradovate shows it; faults on the client's side are real: ``kill -9`` of its
process and a restart with the same settings, token cache and journal; a full disk (the
kernel fails every write that would grow a file of the process); an alert endpoint that
answers 503.

Each fault is counted three ways: *injected* (the scheduler did it), *fired* (it happened: the
simulator's ``fired`` counter moved, the process died of SIGKILL, the journal lost records, the
receiver refused an alert) and *survived* (it fired, the client recovered within the bound and
every invariant converged afterwards). After a fault that cut connections (or killed the
process) the scheduler waits until the client is ready again on new connections — both
sessions ready, every market-data subscription live on the new md connection, the strategy
running, an earlier process's orders dealt with; that wait, from the moment the fault stopped,
is its *time to recover*. Then the invariants must converge (:mod:`.invariants`).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from ..simulator import Simulator
from .channel import LinkMsg
from .client_process import ClientProcess, Life
from .exchange_record import ExchangeRecord
from .invariants import Invariants, fill_epoch
from .receiver import AlertReceiver

SIM_FAULTS: Mapping[str, tuple[str, ...]] = {
    "drop md": ("drop",), "drop trading": ("drop",), "drop both": ("drop",),
    "close frame": ("close",), "maintenance": ("maintenance",), "silence": ("silent",),
    "server restart": ("restart",), "response delay": ("response_delay",),
    "rate limit 429": ("rate_limit",), "token expiry + penalty": ("expire_tokens", "penalty"),
    "order rejection": ("reject_orders",), "lost answer": ("lost_answer",),
    "late execution": ("late_execution",),
    "error after execution": ("error_after_execution",),
    "error without execution": ("error_without_execution",),
    "partial fills across reconnect": ("partial_fills_across_reconnect",),
    "duplicate events": ("duplicate_events",), "replayed events": ("replayed_events",),
    "out-of-order events": ("out_of_order_events",), "odd fields": ("odd_fields",),
    "trade date roll": ("roll_trade_date",),
}
"""Faults of the exchange's side → the simulator faults they arm (the first one's ``fired``
count is the kind's)."""
COUNTED_BY_ACTION = frozenset({"partial fills across reconnect"})
"""Kinds whose action says whether they fired: the simulator counts a partial-fill pacing
taken by a 1-lot order, which cannot be split."""
CLIENT_FAULTS = ("notifier outage", "kill -9 + restart", "full disk")
FAULT_KINDS: tuple[str, ...] = (*SIM_FAULTS, *CLIENT_FAULTS)
"""Every fault a chaos run injects, as printed in its table."""
EVENT_FAULTS: Mapping[str, str] = {
    "duplicate events": "duplicate_events", "replayed events": "replayed_events",
    "out-of-order events": "out_of_order_events", "odd fields": "odd_fields",
}
ANSWER_FAULTS: Mapping[str, str] = {
    "lost answer": "lost_answer", "late execution": "late_execution",
    "error after execution": "error_after_execution",
    "error without execution": "error_without_execution",
    "partial fills across reconnect": "partial_fills_across_reconnect",
}
SPLIT_ATTEMPTS = 8
DISK_FULL_MAX = 20.0
EVENT_FIRINGS = 3
EVENT_WINDOW_MAX = 30.0
REJECTION = "ChaosRejected"
"""``failureReason`` of the orders the ``order rejection`` fault rejects."""
EXPIRIES_PER_LIFE = 1
EXPIRIES_PER_RUN = 3
"""Token expiries: each costs a login. The shipped login budget is 3 an hour per process
(``auth.max_logins_per_hour``) and Tradovate refuses a sixth failed login an hour per address
with a captcha (each expiry's login first gets a penalty ticket): beyond these a client
*must* stop, which is not what this fault is about."""


@dataclass(frozen=True, slots=True)
class FaultTiming:
    """The client's timings the faults depend on, and the bounds of a recovery (seconds)."""

    silence_timeout: float
    """A silence lasts longer than this, so the client must notice."""
    request_timeout: float
    """A response delay holds answers longer than this."""
    unknown_grace: float
    """The client's ``risk.unknown_order_grace_seconds``."""
    maintenance_delay: float = 30.0
    """The client's wait after a maintenance shutdown (ADR 0003)."""
    recover_limit: float = 60.0
    converge_limit: float = 20.0
    fire_limit: float = 30.0
    """How long a request fault waits for a request to fire on."""


@dataclass(slots=True)
class FaultRecord:
    """One injected fault: when (seconds into the run), what exactly, whether it fired, how
    long recovery took (``None``: it cut no connection) and what did not hold afterwards."""

    kind: str
    at: float
    detail: str = ""
    fired: int = 0
    recovered: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def survived(self) -> bool:
        return self.fired > 0 and not self.problems


Hit = frozenset[str]
"""What a fault cut: ``"md"``, ``"trading"`` (a new connection is due), ``"process"``."""
_NONE: Hit = frozenset()
_BOTH: Hit = frozenset({"md", "trading"})


class FaultScheduler:
    """Injects faults into ``sim`` and the client process, and checks recovery."""

    def __init__(self, sim: Simulator, client: ClientProcess, invariants: Invariants,
                 record: ExchangeRecord, receiver: AlertReceiver, rng: random.Random,
                 timing: FaultTiming, clock: Callable[[], float] = time.monotonic) -> None:
        self._sim = sim
        self._client = client
        self._inv = invariants
        self._record = record
        self._receiver = receiver
        self._rng = rng
        self._timing = timing
        self._clock = clock
        self._started = clock()
        self.records: list[FaultRecord] = []
        self.emit_seconds_max = 0.0
        """Longest time an ``alerts.emit`` took in the client during a notifier outage."""
        self._expiries: dict[int, int] = {}
        self._actions: dict[str, Callable[[FaultRecord], Awaitable[tuple[Hit, bool]]]] = {
            "drop md": self._drop("md"), "drop trading": self._drop("trading"),
            "drop both": self._drop("all"), "close frame": self._close_frame,
            "maintenance": self._maintenance, "silence": self._silence,
            "server restart": self._restart, "response delay": self._delay,
            "rate limit 429": self._rate_limit, "token expiry + penalty": self._expiry,
            "order rejection": self._reject, "trade date roll": self._roll,
            "notifier outage": self._notifier_outage, "kill -9 + restart": self._kill,
            "full disk": self._full_disk,
        }
        for kind in ANSWER_FAULTS:
            self._actions[kind] = self._answer_fault
        for kind in EVENT_FAULTS:
            self._actions[kind] = self._event_fault

    def allowed(self, kind: str) -> bool:
        """Whether ``kind`` may be injected now (token expiries are budgeted)."""
        if kind != "token expiry + penalty":
            return True
        life = self._client.life
        number = 0 if life is None else life.number
        return (self._expiries.get(number, 0) < EXPIRIES_PER_LIFE
                and sum(self._expiries.values()) < EXPIRIES_PER_RUN)

    async def inject(self, kind: str) -> FaultRecord:
        """Inject one fault of ``kind``, wait for recovery, check the invariants."""
        record = FaultRecord(kind, round(self._clock() - self._started, 3))
        self.records.append(record)
        life = self._client.life
        assert life is not None, "the client has not started"
        link = life.link
        names = SIM_FAULTS.get(kind, ())
        before = self._sim.faults.fired[names[0]] if names else 0
        hit, settle = await self._actions[kind](record)
        stopped = self._clock()
        if names and kind not in COUNTED_BY_ACTION:
            record.fired = self._sim.faults.fired[names[0]] - before
        limit = self._timing.recover_limit + (
            self._timing.maintenance_delay * 2 if kind == "maintenance" else 0.0)
        if await self._client.until(lambda: self._ready(life, link, hit), limit):
            if hit:
                record.recovered = round(self._clock() - stopped, 3)
        else:
            record.problems.append(self._not_recovered(kind, limit))
        converge = self._timing.converge_limit + (self._timing.unknown_grace if settle else 0)
        record.problems += await self._inv.converge(converge, settled=settle)
        return record

    def _ready(self, before: Life, link: LinkMsg | None, hit: Hit) -> bool:
        client = self._client
        life = client.life
        if life is None or not client.alive or life.link is None:
            return False
        now = life.link
        if life is before:
            if "process" in hit:
                return False
            if link is not None and (
                    ("md" in hit and now.md_connects <= link.md_connects)
                    or ("trading" in hit and now.trading_connects <= link.trading_connects)):
                return False
        return (now.md_ready and now.md_live and now.trading_ready and now.started
                and now.cleaned_up)

    def _not_recovered(self, kind: str, limit: float) -> str:
        life = self._client.life
        if not self._client.alive:
            code = None if life is None else life.returncode
            return f"{kind}: the client exited (code {code}) instead of recovering"
        link = None if life is None else life.link
        return f"{kind}: not recovered within {limit:g}s ({link})"

    # ------------------------------------------------------------------ connections

    def _drop(self, kind: str) -> Callable[[FaultRecord], Awaitable[tuple[Hit, bool]]]:
        hit: Hit = _BOTH if kind == "all" else frozenset({kind})

        async def drop(record: FaultRecord) -> tuple[Hit, bool]:
            await self._sim.faults.drop_connections(kind)  # type: ignore[arg-type]
            return hit, False

        return drop

    def _which(self, record: FaultRecord) -> tuple[str, Hit]:
        kind = self._rng.choice(("md", "trading", "all"))
        record.detail = f"{kind} socket{'s' if kind == 'all' else ''}"
        return kind, (_BOTH if kind == "all" else frozenset({kind}))

    async def _close_frame(self, record: FaultRecord) -> tuple[Hit, bool]:
        kind, hit = self._which(record)
        await self._sim.faults.send_close(3000, "Go away!", kind=kind)  # type: ignore[arg-type]
        return hit, False

    async def _maintenance(self, record: FaultRecord) -> tuple[Hit, bool]:
        seconds = round(self._rng.uniform(3.0, 10.0), 1)
        record.detail = f"a {seconds:g}s window: shutdown Maintenance, then 503"
        await self._sim.faults.maintenance(seconds)
        await asyncio.sleep(seconds)
        return _BOTH, False

    async def _silence(self, record: FaultRecord) -> tuple[Hit, bool]:
        seconds = self._timing.silence_timeout * 1.5 + 0.3
        record.detail = f"{seconds:.1f}s without a frame"
        self._sim.faults.silent = True
        try:
            await asyncio.sleep(seconds)
        finally:
            self._sim.faults.silent = False
        return _BOTH, False

    async def _restart(self, record: FaultRecord) -> tuple[Hit, bool]:
        await self._sim.faults.restart()
        return _BOTH, False

    async def _expiry(self, record: FaultRecord) -> tuple[Hit, bool]:
        """Every token expires early and the sockets drop, so the reconnect is refused (401),
        the client logs in again and that login gets a penalty ticket to honour."""
        life = self._client.life
        number = 0 if life is None else life.number
        self._expiries[number] = self._expiries.get(number, 0) + 1
        faults = self._sim.faults
        faults.penalize(3.0, count=1)
        record.detail = f"{faults.expire_tokens()} tokens expired, login penalty 3s"
        await faults.drop_connections("all")
        return _BOTH, False

    # ------------------------------------------------------------------ requests

    async def _delay(self, record: FaultRecord) -> tuple[Hit, bool]:
        timeout = self._timing.request_timeout
        seconds = timeout + 0.5
        record.detail = f"answers held {seconds:.1f}s (time-out {timeout:g}s)"
        start = self._clock()
        self._inv.held.append((start, math.inf))
        self._sim.faults.response_delay = seconds
        try:
            await asyncio.sleep(timeout + 1.0)
        finally:
            self._sim.faults.response_delay = 0.0
            self._inv.held[-1] = (start, self._clock())
        # Requests sent late in the window time out after it; let them, so the reconnect
        # their time-out causes belongs to this fault.
        await asyncio.sleep(timeout + 0.5)
        return _NONE, True

    async def _rate_limit(self, record: FaultRecord) -> tuple[Hit, bool]:
        record.detail = "every request answered 429 for 1s"
        self._sim.faults.rate_limited = True
        try:
            await asyncio.sleep(1.0)
        finally:
            self._sim.faults.rate_limited = False
        return _NONE, True

    async def _reject(self, record: FaultRecord) -> tuple[Hit, bool]:
        count = self._rng.randint(1, 3)
        after_accept = self._rng.random() < 0.5
        record.detail = f"next {count} order requests rejected" + (
            " after acceptance" if after_accept else "")
        self._sim.faults.reject_orders(count, REJECTION, after_accept=after_accept)
        await self._fired("reject_orders", count)
        return _NONE, True

    async def _answer_fault(self, record: FaultRecord) -> tuple[Hit, bool]:
        name = ANSWER_FAULTS[record.kind]
        if name == "partial_fills_across_reconnect":
            return await self._partial_fills(record)
        armed = self._sim.faults.arm(name, count=1)
        fired = await self._fired(name, 1)
        record.detail = "" if fired else "no order request came"
        if name == "late_execution":
            await asyncio.sleep(float(armed.params["max_delay"]))
        cuts = name in ("lost_answer", "late_execution")
        return (frozenset({"trading"}) if fired and cuts else _NONE), True

    async def _partial_fills(self, record: FaultRecord) -> tuple[Hit, bool]:
        """Armed for one entry request at a time until an order of two lots was split, at
        most :data:`SPLIT_ATTEMPTS` requests; the strategy's entries are two lots meanwhile
        (a 1-lot order cannot be split; a 1-lot protective stop may take the fault first)."""
        name = "partial_fills_across_reconnect"
        record.detail = f"no order of 2 lots in {SPLIT_ATTEMPTS} entry requests"
        self._client.two_lots(True)
        try:
            return await self._split(record, name)
        finally:
            self._client.two_lots(False)

    async def _split(self, record: FaultRecord, name: str) -> tuple[Hit, bool]:
        for attempt in range(1, SPLIT_ATTEMPTS + 1):
            self._record.update()
            known = set(self._record.fills)
            self._sim.faults.arm(name, count=1, parts=2, interval=1.0)
            if not await self._fired(name, 1):
                record.detail = "no entry request came"
                break
            await asyncio.sleep(2.5)  # both parts (1 s apart) and the cut
            self._record.update()
            parts: dict[int, list[float]] = {}
            for i, f in self._record.fills.items():
                if i not in known:
                    parts.setdefault(f.order_id, []).append(fill_epoch(f))
            # paced: parts a second apart (a 2-lot order can also fill at two prices at once)
            if any(max(times) - min(times) >= 0.5 for times in parts.values()):
                record.detail = f"an order split in two parts (entry request {attempt})"
                record.fired = 1
                return frozenset({"trading"}), True
        return _NONE, True

    async def _fired(self, name: str, count: int) -> bool:
        """Wait until the simulator fault ``name`` fired ``count`` more times (bounded)."""
        faults = self._sim.faults
        target = faults.fired[name] + count
        try:
            async with asyncio.timeout(self._timing.fire_limit):
                while True:
                    if faults.fired[name] >= target:
                        return True
                    await asyncio.sleep(0.05)
        except TimeoutError:
            faults.disarm(name)
            return faults.fired[name] > target - count

    # ------------------------------------------------------------------ events

    async def _event_fault(self, record: FaultRecord) -> tuple[Hit, bool]:
        """Armed for a few seconds — longer, up to :data:`EVENT_WINDOW_MAX` seconds, until it
        fired :data:`EVENT_FIRINGS` times (events come only as fast as the account changes)."""
        name = EVENT_FAULTS[record.kind]
        faults = self._sim.faults
        seconds = round(self._rng.uniform(4.0, 8.0), 1)
        probability = 0.3
        before = faults.fired[name]
        started = self._clock()
        faults.arm(name, probability=probability)
        hit = _NONE
        try:
            if name == "odd_fields":  # a snapshot inside the window: odd fields there too
                await asyncio.sleep(seconds / 2)
                await faults.drop_connections("trading")
                hit = frozenset({"trading"})
            await asyncio.sleep(seconds / 2 if name == "odd_fields" else seconds)
            for _ in range(int(EVENT_WINDOW_MAX / 0.5)):
                if (faults.fired[name] - before >= EVENT_FIRINGS
                        or self._clock() - started >= EVENT_WINDOW_MAX):
                    break
                await asyncio.sleep(0.5)
        finally:
            faults.disarm(name)
        record.detail = (f"{probability:.0%} of events for {self._clock() - started:.1f}s"
                         + (", a trading reconnect inside it" if hit else ""))
        return hit, False

    async def _roll(self, record: FaultRecord) -> tuple[Hit, bool]:
        self._record.update()  # the lists lose the earlier day's fills and finished orders
        self._sim.faults.roll_trade_date()
        record.detail = f"to {self._sim.exchange.trade_date}"
        return _NONE, False

    # ------------------------------------------------------------------ the client's side

    async def _notifier_outage(self, record: FaultRecord) -> tuple[Hit, bool]:
        """The alert endpoint answers 503 for a while; an alert raised meanwhile is delivered
        by a retry, and the first alert raised afterwards gets through."""
        seconds = round(self._rng.uniform(1.0, 3.0), 1)
        record.detail = f"alert endpoint down {seconds:g}s"
        number = len(self.records)
        during, after = f"chaos.during_outage_{number}", f"chaos.after_outage_{number}"
        refused = self._receiver.refused
        self._receiver.down = True
        try:
            self._client.alert(during)
            await asyncio.sleep(seconds)
        finally:
            self._receiver.down = False
        record.fired = int(self._receiver.refused > refused)
        self._client.alert(after)
        for key in (after, during):
            try:
                async with asyncio.timeout(self._timing.recover_limit):
                    await self._receiver.wait_for_key(key)
            except TimeoutError:
                record.problems.append(f"notifier outage: alert {key} was not delivered "
                                       f"within {self._timing.recover_limit:g}s")
        for key in (during, after):
            self.emit_seconds_max = max(self.emit_seconds_max, self._client.emitted.get(key, 0))
        return _NONE, False

    async def _kill(self, record: FaultRecord) -> tuple[Hit, bool]:
        """SIGKILL, preferably right after an order request left; then a new process with
        the same settings, token cache and journal."""
        client = self._client
        sent = {t.cl for t in client.tickets.values() if t.intent_at is not None}
        in_flight = await client.until(
            lambda: any(t.intent_at is not None and t.cl not in sent
                        for t in client.tickets.values()), 5.0)
        await asyncio.sleep(self._rng.uniform(0.0, 0.05))
        await client.kill()
        life = client.life
        record.fired = int(life is not None and life.returncode == -9)
        down = round(self._rng.uniform(0.5, 3.0), 1)
        record.detail = (("right after an order request, " if in_flight else "")
                         + f"down {down:g}s")
        await asyncio.sleep(down)
        await client.start()
        return frozenset({"process"}), False

    async def _full_disk(self, record: FaultRecord) -> tuple[Hit, bool]:
        """The client cannot grow a file for a while: the journal must halt new orders and
        alert, count every lost record, keep protecting positions and resume by itself."""
        client, receiver = self._client, self._receiver
        seconds = round(self._rng.uniform(3.0, 8.0), 1)
        record.detail = f"{seconds:g}s"
        failed, resumed = receiver.keys().count("journal.write_failed"), \
            receiver.keys().count("journal.write_resumed")
        start, exchange_start = self._clock(), self._sim.clock()
        client.fill_disk()
        try:
            await asyncio.sleep(seconds)
            halted = await self._journal_halted()
            record.detail = f"{self._clock() - start:.1f}s"
            if not halted:
                record.detail += ", the journal wrote nothing meanwhile"
                return _NONE, True
        finally:
            client.free_disk()
            end = self._clock()
            self._inv.unwritable.append((start, end + 0.5))
            self._inv.unwritable_exchange.append((exchange_start, self._sim.clock() + 0.5))
        limit = self._timing.recover_limit

        def delivered(key: str, before: int) -> Callable[[], bool]:
            return lambda: receiver.keys().count(key) > before

        if not await receiver.until(delivered("journal.write_failed", failed), limit):
            record.problems.append("full disk: no journal.write_failed alert")
            return _NONE, True
        record.fired = 1
        if not await receiver.until(delivered("journal.write_resumed", resumed), limit):
            record.problems.append(f"full disk: the journal did not resume within {limit:g}s")
        record.problems += self._halted_problems(start, end)
        if not await client.until(lambda: self._entered_after(end), limit):
            record.problems.append(f"full disk: no new order was acknowledged within "
                                   f"{limit:g}s after the disk had room again")
        record.problems += await self._gap_count()
        return _NONE, True

    async def _journal_halted(self) -> bool:
        """Whether the client's journal has noticed the full disk (it writes only when there
        is something to write: account events, alerts, orders); the disk stays full until it
        has, at most :data:`DISK_FULL_MAX` seconds more."""
        deadline = self._clock() + DISK_FULL_MAX
        while True:
            try:
                state = await self._client.state()
            except (ConnectionError, TimeoutError):
                return False
            if state.journal_halted is not None:
                return True
            if self._clock() >= deadline:
                return False
            await asyncio.sleep(0.5)

    def _halted_problems(self, start: float, end: float) -> list[str]:
        """New orders (not protective stops, cancels or liquidations) that went out while
        the disk was full."""
        sent = sorted(t.cl for t in self._client.tickets.values()
                      if t.intent_at is not None and start + 0.2 <= t.intent_at <= end
                      and not t.protective
                      and t.kind in ("place", "oso", "oco", "modify", "strategy")
                      and t.states and t.states[0][1] != "refused")
        return [f"full disk: new orders went out while the journal could not write: "
                f"{sent[:10]}"] if sent else []

    def _entered_after(self, moment: float) -> bool:
        return any(t.intent_at is not None and t.intent_at > moment and not t.protective
                   and t.kind in ("place", "oso", "strategy") and t.state == "acked"
                   for t in self._client.tickets.values())

    async def _gap_count(self) -> list[str]:
        """The journal's gap rows of this process add up to every record it lost."""
        deadline = self._clock() + self._timing.recover_limit
        while True:
            try:
                state = await self._client.state()
            except (ConnectionError, TimeoutError) as exc:
                return [f"full disk: the client did not answer for its gap count: {exc}"]
            recorded = self._inv.gaps_of_current_run()
            if state.journal_halted is None and recorded == state.journal_lost:
                return []
            if self._clock() >= deadline:
                return [f"full disk: the journal lost {state.journal_lost} records, its gap "
                        f"rows say {recorded} (halted: {state.journal_halted})"]
            await asyncio.sleep(0.5)
