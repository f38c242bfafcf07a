"""The parent's handle on the client of a chaos run: start it, read its status channel, ask
for its state, fill its disk, kill it with SIGKILL and start it again.

Each start is a *life* of the client (:class:`Life`): a new process with the same settings,
token cache and journal, which must reconcile with the server and carry on. Everything the
channel says is kept per life — the intents witnessed before sending, every ticket state, the
fills given to the strategy — so the invariants can hold each life to what it could know.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from ..runtime.changed import Changed
from .channel import (
    ChildConfig,
    EmittedMsg,
    ExitMsg,
    FillMsg,
    IntentMsg,
    LinkMsg,
    StartedMsg,
    StateMsg,
    TicketMsg,
    decode,
)

STATE_TIMEOUT = 10.0
"""Seconds the child may take to answer a state request."""
_OUTPUT_LIMIT = 50_000_000
"""Bytes of a life's standard output and error kept in its file; the rest is counted."""


@dataclass(slots=True, eq=False)
class TicketRecord:
    """One ticket of the client as the channel told it."""

    cl: str
    kind: str
    life: int
    protective: bool
    symbol: str
    intent_at: float | None = None
    """When its request was about to be sent (the witness), ``None``: never sent."""
    states: list[tuple[float, str, str]] = field(default_factory=list)
    """(time, state, reason) in order."""
    order_id: int | None = None
    strategy_id: int | None = None
    refusal: str = ""
    """Why it was refused before sending (``risk``, ``halted``, ``not connected``...)."""

    @property
    def state(self) -> str:
        return self.states[-1][1] if self.states else "pending"

    def was(self, state: str) -> bool:
        return any(s == state for _, s, _ in self.states)


@dataclass(slots=True, eq=False)
class Life:
    """One process of the client."""

    number: int
    pid: int
    started_at: float
    link: LinkMsg | None = None
    strategy_started_at: float | None = None
    history: frozenset[int] = frozenset()
    """Fills the store held when the strategy started: never delivered to this life."""
    delivered: Counter[int] = field(default_factory=Counter)
    exit: ExitMsg | None = None
    returncode: int | None = None
    killed: bool = False
    ended_at: float | None = None


class ClientProcess:
    """The client child process across its lives (see the module doc)."""

    def __init__(self, work: Path, settings: dict[str, Any], *, alert_url: str,
                 clock_offset: float, seed: int, interval_ms: int = 500) -> None:
        self._work = work
        self._settings = settings
        self._alert_url = alert_url
        self._offset = clock_offset
        self._seed = seed
        self._interval_ms = interval_ms
        self.lives: list[Life] = []
        self.tickets: dict[str, TicketRecord] = {}
        self.changed = Changed()
        """Notified after every channel message and every process end."""
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None
        self._output: asyncio.Task[None] | None = None
        self._states: dict[int, asyncio.Future[StateMsg]] = {}
        self._request = 0
        self._fsize: tuple[int, int] | None = None
        self.emitted: dict[str, float] = {}
        """Alerts raised on request (:meth:`alert`) → seconds their ``emit`` took."""
        self.undecodable = 0
        """Channel lines that could not be read (a child killed mid-line may leave one)."""

    # ------------------------------------------------------------------ lives

    @property
    def clock_offset(self) -> float:
        """Seconds the simulator's clock (the client's too) is ahead of the wall clock."""
        return self._offset

    @property
    def life(self) -> Life | None:
        return self.lives[-1] if self.lives else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self) -> Life:
        """Start a new life of the client (the previous one must have ended)."""
        assert not self.alive, "the client is still running"
        number = len(self.lives) + 1
        read_fd, write_fd = os.pipe()
        config = ChildConfig(self._settings, write_fd, self._alert_url, self._offset,
                             self._seed * 1000 + number, self._interval_ms)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tradovate_api.chaos.child",
                msgspec.json.encode(config).decode(), stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                pass_fds=(write_fd,), env=env, cwd=self._work)
        finally:
            os.close(write_fd)
        self._proc = proc
        life = Life(number, proc.pid, time.monotonic())
        self.lives.append(life)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
        pipe = os.fdopen(read_fd, "rb", buffering=0)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        self._reader = asyncio.create_task(self._read(life, reader, proc),
                                           name=f"chaos channel {number}")
        assert proc.stdout is not None
        self._output = asyncio.create_task(
            self._keep_output(proc.stdout, self._work / f"client-{number}.out"),
            name=f"chaos output {number}")
        return life

    async def _read(self, life: Life, reader: asyncio.StreamReader,
                    proc: asyncio.subprocess.Process) -> None:
        try:
            while line := await reader.readline():
                try:
                    message = decode(line)
                except msgspec.DecodeError:
                    self.undecodable += 1
                    continue
                self._apply(life, message)
                self.changed.notify()
        finally:
            returncode = await proc.wait()
            life.returncode = returncode
            life.ended_at = time.monotonic()
            for future in self._states.values():
                if not future.done():
                    future.set_exception(ConnectionError("the client has ended"))
            self._states.clear()
            self.changed.notify()

    def _apply(self, life: Life, message: object) -> None:
        kind = type(message)
        if kind is LinkMsg:
            life.link = message  # type: ignore[assignment]
        elif kind is IntentMsg:
            intent: IntentMsg = message  # type: ignore[assignment]
            record = self._record(intent.cl, intent.kind, life, intent.protective,
                                  intent.symbol)
            record.intent_at = intent.at
        elif kind is TicketMsg:
            ticket: TicketMsg = message  # type: ignore[assignment]
            record = self._record(ticket.cl, ticket.kind, life, ticket.protective,
                                  ticket.symbol)
            if not record.states or record.states[-1][1] != ticket.state:
                record.states.append((ticket.at, ticket.state, ticket.reason))
            record.order_id = ticket.order_id
            record.strategy_id = ticket.strategy_id
            record.refusal = ticket.refusal
        elif kind is FillMsg:
            life.delivered[message.id] += 1  # type: ignore[attr-defined]
        elif kind is StartedMsg:
            started: StartedMsg = message  # type: ignore[assignment]
            life.strategy_started_at = started.at
            life.history = frozenset(started.fills)
        elif kind is StateMsg:
            state: StateMsg = message  # type: ignore[assignment]
            future = self._states.pop(state.request, None)
            if future is not None and not future.done():
                future.set_result(state)
        elif kind is EmittedMsg:
            emitted: EmittedMsg = message  # type: ignore[assignment]
            self.emitted[emitted.key] = emitted.seconds
        elif kind is ExitMsg:
            life.exit = message  # type: ignore[assignment]

    def _record(self, cl: str, kind: str, life: Life, protective: bool,
                symbol: str) -> TicketRecord:
        record = self.tickets.get(cl)
        if record is None:
            record = self.tickets[cl] = TicketRecord(cl, kind, life.number, protective, symbol)
        return record

    async def _keep_output(self, stream: asyncio.StreamReader, path: Path) -> None:
        """The child's standard output and error, into a file of the run (bounded)."""
        written = 0
        with path.open("ab") as out:
            while chunk := await stream.read(65536):
                if written < _OUTPUT_LIMIT:
                    out.write(chunk[:_OUTPUT_LIMIT - written])
                    out.flush()
                written += len(chunk)

    # ------------------------------------------------------------------ requests

    async def state(self) -> StateMsg:
        """The client's account picture now (raises ``ConnectionError`` if it is not
        running, ``TimeoutError`` if it does not answer)."""
        proc = self._proc
        if proc is None or proc.returncode is not None or proc.stdin is None:
            raise ConnectionError("the client is not running")
        self._request += 1
        number = self._request
        future: asyncio.Future[StateMsg] = asyncio.get_running_loop().create_future()
        self._states[number] = future
        self._command(f"state {number}")
        async with asyncio.timeout(STATE_TIMEOUT):
            return await future

    def alert(self, key: str) -> None:
        """Have the client raise a routine alert ``key`` (through its notification center)."""
        self._command(f"alert {key}")

    def two_lots(self, on: bool) -> None:
        """Have the strategy make every entry two lots (or draw again)."""
        self._command(f"lots {2 if on else 1}")

    def halt(self) -> None:
        """No new orders from now on (the end of the run)."""
        self._command("halt")

    def _command(self, line: str) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.returncode is not None:
            return
        with contextlib.suppress(OSError, RuntimeError):
            proc.stdin.write(line.encode() + b"\n")

    async def until(self, predicate: Callable[[], bool], within: float) -> bool:
        """Whether ``predicate`` held within ``within`` seconds (re-checked after every
        channel message)."""
        try:
            async with asyncio.timeout(within):
                await self.changed.until(predicate)
        except TimeoutError:
            return predicate()
        return True

    # ------------------------------------------------------------------ ends

    async def kill(self) -> None:
        """``kill -9``: no shutdown, no flush, nothing."""
        proc = self._proc
        life = self.life
        if proc is None or proc.returncode is not None or life is None:
            return
        life.killed = True
        proc.send_signal(signal.SIGKILL)
        await self._ended()

    async def stop(self, within: float) -> int | None:
        """The ordinary graceful shutdown (SIGTERM); SIGKILL if it takes longer than
        ``within`` seconds. Returns the exit code (``None``: it had to be killed)."""
        proc = self._proc
        if proc is None:
            return None
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(within):
                    await self._ended()
            except TimeoutError:
                proc.kill()
                await self._ended()
                return None
        return proc.returncode

    async def _ended(self) -> None:
        for task in (self._reader, self._output):
            if task is not None:
                with contextlib.suppress(Exception):
                    await task
        if self._proc is not None:
            await self._proc.wait()

    # ------------------------------------------------------------------ full disk

    def fill_disk(self) -> None:
        """From now on the client cannot make any file grow: every write it makes to the
        journal, its write-ahead file, the log, the recordings and reports fails in the
        kernel (``EFBIG``, as ``ENOSPC`` on a full disk; ``SIGXFSZ`` is ignored there)."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        self._fsize = resource.prlimit(proc.pid, resource.RLIMIT_FSIZE)
        resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, (1, self._fsize[1]))

    def free_disk(self) -> None:
        proc = self._proc
        if proc is None or proc.returncode is not None or self._fsize is None:
            return
        with contextlib.suppress(ProcessLookupError):
            resource.prlimit(proc.pid, resource.RLIMIT_FSIZE, self._fsize)
        self._fsize = None
