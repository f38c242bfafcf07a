"""The fault scheduler of a chaos run: one fault at a time, then wait for recovery and check.

Each fault goes through the simulator's documented fault switches
(:class:`~tradovate_api.simulator.faults.Faults`) or the alert receiver, so what the client
sees is what a misbehaving Tradovate (or SMS/e-mail provider) would show it. After a fault
that cuts connections the scheduler waits until every session it hit is ready again on a new
connection and every market-data subscription is live; that wait, measured from the moment the
fault stopped, is the fault's *time to recover*. Then the account checks must converge.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..alerts import Alert, Severity
from ..runtime.app import TradingApp
from ..simulator import Simulator
from .invariants import Invariants
from .receiver import AlertReceiver

FAULT_KINDS: tuple[str, ...] = (
    "drop md", "drop trading", "drop both", "close frame", "maintenance", "silence",
    "server restart", "response delay", "rate limit 429", "token expiry + penalty",
    "order rejection", "notifier outage",
)
"""Every fault a chaos run injects, as printed in its table."""


@dataclass(frozen=True, slots=True)
class FaultTiming:
    """How long faults last and how long recovery may take (seconds)."""

    silence_timeout: float
    """The client's: a silence fault lasts longer than this so the client must notice."""
    request_timeout: float
    """The client's: a response-delay fault holds answers longer than this."""
    recover_limit: float = 30.0
    converge_limit: float = 15.0


@dataclass(slots=True)
class FaultRecord:
    """One injected fault: when (seconds into the run), what exactly, how long recovery
    took (``None``: the fault cut no connection) and what did not hold afterwards."""

    kind: str
    at: float
    detail: str = ""
    recovered: float | None = None
    problems: list[str] = field(default_factory=list)


class FaultScheduler:
    """Injects faults into ``sim`` while ``app`` runs against it, and checks recovery."""

    def __init__(self, sim: Simulator, app: TradingApp, invariants: Invariants,
                 receiver: AlertReceiver, rng: random.Random, timing: FaultTiming,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._sim = sim
        self._app = app
        self._inv = invariants
        self._receiver = receiver
        self._rng = rng
        self._timing = timing
        self._clock = clock
        self._started = clock()
        self.records: list[FaultRecord] = []
        self.emit_seconds_max = 0.0
        """Longest time an ``alerts.emit`` took during a notifier outage."""
        self._actions: dict[str, Callable[[FaultRecord], Awaitable[set[str]]]] = {
            "drop md": self._drop_md, "drop trading": self._drop_trading,
            "drop both": self._drop_both, "close frame": self._close_frame,
            "maintenance": self._maintenance, "silence": self._silence,
            "server restart": self._restart, "response delay": self._delay,
            "rate limit 429": self._rate_limit, "token expiry + penalty": self._expiry,
            "order rejection": self._reject, "notifier outage": self._notifier_outage,
        }

    async def inject(self, kind: str) -> FaultRecord:
        """Inject one fault of ``kind``, wait for recovery, check the invariants."""
        record = FaultRecord(kind, round(self._clock() - self._started, 3))
        self.records.append(record)
        app = self._app
        md, trading = app.md, app.trading
        assert md is not None, "the app has not started"
        assert trading is not None, "the app has not started"
        before = {"md": md.ready_count, "trading": trading.ready_count}
        hit = await self._actions[kind](record)
        stopped = self._clock()
        try:
            async with asyncio.timeout(self._timing.recover_limit):
                # Sessions the fault did not cut may still have reconnected (an order answer
                # that timed out drops the trading socket): every fault ends with both ready.
                await md.wait_ready(before["md"] + ("md" in hit))
                await trading.wait_ready(before["trading"] + ("trading" in hit))
                await self._inv.until_md_live()
        except TimeoutError:
            record.problems.append(f"{kind}: not recovered within "
                                   f"{self._timing.recover_limit:g}s (sessions ready: md "
                                   f"{md.ready}, trading {trading.ready}; md live: "
                                   f"{self._inv.md_live()})")
        else:
            if hit:
                record.recovered = round(self._clock() - stopped, 3)
        record.problems += await self._inv.converge(self._timing.converge_limit)
        return record

    # ------------------------------------------------------------------ connection faults

    async def _drop_md(self, record: FaultRecord) -> set[str]:
        await self._sim.faults.drop_connections("md")
        return {"md"}

    async def _drop_trading(self, record: FaultRecord) -> set[str]:
        await self._sim.faults.drop_connections("trading")
        return {"trading"}

    async def _drop_both(self, record: FaultRecord) -> set[str]:
        await self._sim.faults.drop_connections("all")
        return {"md", "trading"}

    def _which(self, record: FaultRecord) -> tuple[str, set[str]]:
        kind = self._rng.choice(("md", "trading", "all"))
        record.detail = f"{kind} socket{'s' if kind == 'all' else ''}"
        return kind, ({"md", "trading"} if kind == "all" else {kind})

    async def _close_frame(self, record: FaultRecord) -> set[str]:
        kind, hit = self._which(record)
        await self._sim.faults.send_close(3000, "Go away!", kind=kind)  # type: ignore[arg-type]
        return hit

    async def _maintenance(self, record: FaultRecord) -> set[str]:
        kind, hit = self._which(record)
        await self._sim.faults.shutdown("Maintenance", kind=kind)  # type: ignore[arg-type]
        return hit

    async def _silence(self, record: FaultRecord) -> set[str]:
        seconds = self._timing.silence_timeout * 1.5 + 0.3
        record.detail = f"{seconds:.1f}s without a frame"
        self._sim.faults.silent = True
        try:
            await asyncio.sleep(seconds)
        finally:
            self._sim.faults.silent = False
        return {"md", "trading"}

    async def _restart(self, record: FaultRecord) -> set[str]:
        await self._sim.faults.restart()
        return {"md", "trading"}

    async def _expiry(self, record: FaultRecord) -> set[str]:
        """Every token expires early and the sockets drop, so the reconnect is refused (401),
        the client logs in again and that login gets a penalty ticket to honour.

        Both sockets drop, so both reconnect through the new login. (A socket left on an older
        login's session is closed by the server with ``ConnectionQuotaReached`` after two more
        logins; sessions recognise that as their own doing, see ADR 0003 — tested in
        ``tests/client/test_sessions_sim.py`` and ``tests/reliability/test_bad_input.py``,
        not by this fault.)"""
        faults = self._sim.faults
        faults.penalize(0.3, count=1)
        record.detail = f"{faults.expire_tokens()} tokens expired, login penalty 0.3s"
        await faults.drop_connections("all")
        return {"md", "trading"}

    # ------------------------------------------------------------------ request faults

    async def _delay(self, record: FaultRecord) -> set[str]:
        timeout = self._timing.request_timeout
        seconds = timeout + 0.5
        record.detail = f"responses held {seconds:.1f}s (time-out {timeout:g}s)"
        self._sim.faults.response_delay = seconds
        try:
            await asyncio.sleep(timeout + 1.0)
        finally:
            self._sim.faults.response_delay = 0.0
        # Requests sent late in the window time out after it; let them, so the reconnect
        # their time-out causes belongs to this fault.
        await asyncio.sleep(timeout + 0.5)
        return set()

    async def _rate_limit(self, record: FaultRecord) -> set[str]:
        record.detail = "every request answered 429 for 1s"
        self._sim.faults.rate_limited = True
        try:
            await asyncio.sleep(1.0)
        finally:
            self._sim.faults.rate_limited = False
        return set()

    async def _reject(self, record: FaultRecord) -> set[str]:
        count = self._rng.randint(1, 3)
        after_accept = self._rng.random() < 0.5
        record.detail = f"next {count} orders rejected" + (" after acceptance" if after_accept
                                                            else "")
        self._sim.faults.reject_orders(count, "ChaosRejected", after_accept=after_accept)
        return set()

    async def _notifier_outage(self, record: FaultRecord) -> set[str]:
        """The alert endpoint answers 503 for a while; alerts raised meanwhile must not hold
        anything up, and the first alert after the outage must get through."""
        seconds = self._rng.uniform(1.0, 3.0)
        record.detail = f"alert endpoint down {seconds:.1f}s"
        number = len(self.records)
        self._receiver.down = True
        try:
            self._emit(Alert(Severity.ROUTINE, f"chaos.during_outage_{number}",
                             "Chaos: alert raised during a notifier outage"))
            await asyncio.sleep(seconds)
        finally:
            self._receiver.down = False
        key = f"chaos.after_outage_{number}"
        self._emit(Alert(Severity.ROUTINE, key, "Chaos: alert raised after a notifier outage"))
        try:
            async with asyncio.timeout(self._timing.recover_limit):
                await self._receiver.wait_for_key(key)
        except TimeoutError:
            record.problems.append(f"notifier outage: the alert raised afterwards was not "
                                   f"delivered within {self._timing.recover_limit:g}s")
        return set()

    def _emit(self, alert: Alert) -> None:
        started = time.perf_counter()
        self._app.alerts.emit(alert)
        self.emit_seconds_max = max(self.emit_seconds_max, time.perf_counter() - started)
