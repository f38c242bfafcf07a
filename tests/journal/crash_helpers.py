"""Running the real app as a child process against the simulator, for the crash tests: its
settings, start, the lines it prints, and the simulator's own view of the account."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec

from tradovate_api.journal import ReconciliationReport
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock

CHILD = Path(__file__).with_name("app_child.py")
SIM = SimulatorConfig(tick_interval=0.02, warm_up=60.0)
LIMIT = 60.0


def market_clock() -> Callable[[], float]:
    """The simulator's clock: inside an open session, whatever the time now (the child gets
    the same clock through its offset from the wall clock)."""
    return open_clock()


def offset_of(sim: Simulator) -> float:
    """The simulator clock's offset from the wall clock, for the child's ``TradingApp``."""
    return sim._clock() - time.time()


def child_settings(sim: Simulator, tmp_path: Path, **overrides: Any) -> str:
    es, nq = (next(i.name for i in sim.catalog if i.product.name == p) for p in ("ES", "NQ"))
    settings: dict[str, Any] = {
        "environment": "sim",
        "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
        "instruments": [es, nq],
        "log": {"path": str(tmp_path / "app.jsonl")},
        "auth": {"token_cache": str(tmp_path / "token.json")},
        "reports": {"enabled": False, "directory": str(tmp_path / "reports")},
        "risk": {"max_position": 3, "max_orders_per_second": 20.0, "max_daily_loss": 1e9},
        "connection": {"heartbeat_seconds": 0.2, "silence_timeout_seconds": 5.0},
        "shutdown": {"cancel_working_orders": False, "timeout_seconds": 5.0},
        "journal": {"path": str(tmp_path / "state" / "journal.db")},
        "recording": {"enabled": True, "directory": str(tmp_path / "md"),
                      "flush_seconds": 0.05},
    }
    settings.update(overrides)
    return msgspec.json.encode(settings).decode()


@contextlib.asynccontextmanager
async def child(mode: str, settings: str, sim: Simulator
                ) -> AsyncIterator[asyncio.subprocess.Process]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(CHILD), mode, settings, repr(offset_of(sim)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL, env=env)
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await asyncio.wait_for(proc.wait(), 10)


async def line_starting(proc: asyncio.subprocess.Process, word: str) -> list[str]:
    assert proc.stdout is not None
    async with asyncio.timeout(LIMIT):
        while True:
            line = (await proc.stdout.readline()).decode()
            if not line:
                raise AssertionError(f"child ended before printing {word}")
            if line.startswith(word + " ") or line.strip() == word:
                return line.split()


def account_of(sim: Simulator) -> tuple[int, int]:
    user = next(u for u in sim.exchange.users() if u.name == "sim")
    return user.id, sim.exchange.accounts_of(user.id)[0].id


def truth(sim: Simulator, user_id: int) -> dict[str, Any]:
    snapshot = sim.exchange.sync(user_id)
    return {"fills": {f.id: f for f in snapshot.fills},
            "orders": {o.id: o for o in snapshot.orders},
            "commands": {c.cl_ord_id: c for c in snapshot.commands if c.cl_ord_id},
            "positions": {(p.account_id, p.contract_id): p for p in snapshot.positions}}


class Followed(msgspec.Struct):
    """What a restarted app in ``follow`` mode printed (see ``app_child.py``)."""

    report: ReconciliationReport
    probe: tuple[str, str]
    earlier: dict[str, list[Any]]
    decisions: list[list[Any]]
    alerts: list[list[str]]


async def follow(settings: str, sim: Simulator) -> Followed:
    """Restart the app; what it reports and does with the earlier run's requests."""
    async with child("follow", settings, sim) as proc:
        report = " ".join((await line_starting(proc, "REPORT"))[1:])
        _, probe_state, *reason = await line_starting(proc, "PROBE")
        earlier = " ".join((await line_starting(proc, "EARLIER"))[1:])
        decisions = " ".join((await line_starting(proc, "DECISIONS"))[1:])
        alerts = " ".join((await line_starting(proc, "ALERTS"))[1:])
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    return Followed(msgspec.json.decode(report, type=ReconciliationReport),
                    (probe_state, json.loads(" ".join(reason))), json.loads(earlier),
                    json.loads(decisions), json.loads(alerts))
