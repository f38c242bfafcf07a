"""The supervisor: named tasks on one loop, each end classified as *reconnect* or *terminate*.

Like the original program's ``select!`` over its tasks, whichever task ends first decides what
happens next. A session task ending because its socket was lost, went silent or got a close
frame is restarted after an exponential backoff with jitter (its ``run()`` closes the old socket
before opening the new one, so there is never more than one socket per kind); anything that
cannot be fixed by reconnecting — a shutdown request, a signal, a fatal configuration or auth
error, a quota-shutdown storm, a tripped circuit breaker, the end of an essential task —
terminates: the shutdown hooks run in order within a bounded time, then every task is
cancelled in reverse registration order. First SIGINT/SIGTERM: graceful shutdown; second:
immediate exit.

The circuit breaker counts failed connection attempts only (never ready); a connection that
stayed ready for ``BreakerPolicy.healthy_after`` clears it and restarts the backoff, one that
ended sooner lets the backoff grow. After a ``Maintenance`` shutdown, failed attempts are not
counted at all: the task retries at the maximum backoff until a connection is ready again
(``maintenance_limit`` bounds how long that lasts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from ..alerts import Alert, AlertSink, Severity
from ..backoff import BackoffPolicy, BreakerPolicy, CircuitBreaker
from ..client.ends import (
    AuthorizationFailed,
    ConnectFailed,
    EndKind,
    RequestTimeout,
    SessionEnded,
    TokenUnavailable,
)
from ..errors import ConfigError, ConnectionLost, ErrorResponse, TradovateError

if TYPE_CHECKING:
    from ..settings import Settings

_log = logging.getLogger("tradovate_api.runtime.supervisor")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_FORCED = 130
"""Second signal: exit at once (the shell convention for an interrupt)."""

TaskFactory = Callable[[], Awaitable[object]]
ShutdownHook = Callable[[], Awaitable[object]]


class Policy(StrEnum):
    RECONNECT = "reconnect"
    """A session: restarted after a reconnect-class end, with backoff."""
    ESSENTIAL = "essential"
    """Any end of this task (even a normal return) ends the whole run."""


class Action(StrEnum):
    RECONNECT = "reconnect"
    TERMINATE = "terminate"


class ShutdownRequested(TradovateError):
    """Raised by a task (or the strategy) to stop everything cleanly (exit code 0)."""


@dataclass(frozen=True, slots=True)
class TaskEnd:
    """The classification of one task's end."""

    action: Action
    reason: str
    clean: bool = False
    """A terminate that is not a failure (exit code 0)."""
    urgent: bool = False
    """Tell a human now (SMS)."""
    ready_seconds: float | None = None
    """How long the task's connection was ready before it ended; ``None``: it never was
    (a failed connection attempt, which the circuit breaker counts)."""
    quota: bool = False
    """Tradovate closed the socket to enforce a connection/IP quota."""
    maintenance: bool = False


def classify_end(error: BaseException | None) -> TaskEnd:
    """The end-classification table (see ADR 0003). ``None`` means the task returned."""
    if error is None:
        return TaskEnd(Action.TERMINATE, "task returned", clean=True)
    if isinstance(error, ShutdownRequested):
        return TaskEnd(Action.TERMINATE, f"shutdown requested: {error}", clean=True)
    if isinstance(error, SessionEnded):
        end, ready = error.end, error.ready_seconds
        if end.quota:
            return TaskEnd(Action.RECONNECT, str(error), urgent=True, quota=True,
                           ready_seconds=ready)
        if end.maintenance:
            return TaskEnd(Action.RECONNECT, str(error), maintenance=True, ready_seconds=ready)
        if end.kind is EndKind.CLIENT_CLOSED:
            return TaskEnd(Action.TERMINATE, str(error), clean=True)
        return TaskEnd(Action.RECONNECT, str(error), ready_seconds=ready)
    if isinstance(error, ConnectFailed | ConnectionLost | RequestTimeout | OSError):
        return TaskEnd(Action.RECONNECT, f"{type(error).__name__}: {error}")
    if isinstance(error, AuthorizationFailed):
        # The session has reported the token as rejected; the next attempt uses a new one.
        return TaskEnd(Action.RECONNECT, str(error))
    if isinstance(error, TokenUnavailable) and _transient(error.cause):
        # No login possible right now (server unreachable, 5xx, a deferred login): waiting
        # cures it, like a connection that cannot be opened.
        return TaskEnd(Action.RECONNECT, str(error))
    if isinstance(error, ErrorResponse) and error.status >= 500:
        return TaskEnd(Action.RECONNECT, f"{type(error).__name__}: {error}")
    if isinstance(error, TokenUnavailable | ConfigError | TradovateError):
        return TaskEnd(Action.TERMINATE, f"{type(error).__name__}: {error}", urgent=True)
    return TaskEnd(Action.TERMINATE, f"unexpected {type(error).__name__}: {error}", urgent=True)


def _transient(error: BaseException) -> bool:
    return isinstance(error, ConnectionLost) or (
        isinstance(error, ErrorResponse) and error.status >= 500)


FINAL_HOOK_SECONDS = 2.0
"""Time each ``final`` shutdown hook gets once the others used up ``shutdown_timeout``."""


@dataclass(frozen=True, slots=True)
class SupervisorOptions:
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    shutdown_timeout: float = 10.0
    """All shutdown hooks together get this long."""
    cancel_timeout: float = 2.0
    """Each task gets this long to finish after being cancelled."""
    quota_delay: float = 60.0
    """Minimum wait before reconnecting after a quota shutdown."""
    quota_limit: int = 2
    """This many quota shutdowns within ``quota_window`` terminate the run."""
    quota_window: float = 120.0
    maintenance_delay: float = 30.0
    """Minimum wait before reconnecting after a maintenance shutdown."""
    maintenance_limit: float = 12 * 3600.0
    """How long after a maintenance shutdown failed attempts are still excused (the longest
    window, Saturday 22:00 to Sunday 06:30 CT, is 8.5 hours); after that they count again."""

    @classmethod
    def from_settings(cls, settings: Settings) -> SupervisorOptions:
        r = settings.reconnect
        return cls(backoff=BackoffPolicy(r.initial_backoff_seconds, r.max_backoff_seconds,
                                         r.multiplier, r.jitter),
                   breaker=BreakerPolicy(r.breaker_failures, r.breaker_window_seconds,
                                         r.healthy_after_seconds),
                   shutdown_timeout=settings.shutdown.timeout_seconds)


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    factory: TaskFactory
    policy: Policy


class Supervisor:
    """Runs named tasks until something terminates the run; ``run()`` returns the exit code."""

    def __init__(self, alerts: AlertSink, options: SupervisorOptions | None = None, *,
                 classify: Callable[[BaseException | None], TaskEnd] = classify_end,
                 rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.options = options or SupervisorOptions()
        self._alerts = alerts
        self._classify = classify
        self._rng = rng or random.Random()
        self._clock = clock
        self._specs: list[_Spec] = []
        self._hooks: list[tuple[str, ShutdownHook, bool]] = []
        self._running: dict[asyncio.Task[object], _Spec] = {}
        self._attempts: dict[str, int] = {}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._maintenance: dict[str, float] = {}
        """Task name → when its last maintenance shutdown came (while no connection of it
        has been ready since)."""
        self._quota_ends: deque[float] = deque()
        self._stop: asyncio.Event | None = None
        self._stop_reason = ""
        self._stopping = False
        self._forced = False
        self._hooks_task: asyncio.Task[None] | None = None
        self._signals: list[signal.Signals] = []
        self.restarts: dict[str, int] = {}
        """Restarts per task name."""
        self.delays: dict[str, float] = {}
        """The delay before each task's latest restart (seconds)."""
        self.ends: list[tuple[str, TaskEnd]] = []
        """Every classified end, in order."""
        self.hooks_run: list[str] = []
        """Shutdown hooks that completed, in order."""
        self.exit_reason = ""
        self.exit_code: int | None = None
        """The run's exit code, known once the shutdown sequence starts."""
        self.on_forced_exit: Callable[[], None] | None = None
        """Called (it must not block) when a second signal abandons the shutdown sequence."""

    # ------------------------------------------------------------------ registration

    def add_task(self, name: str, factory: TaskFactory,
                 policy: Policy = Policy.ESSENTIAL) -> None:
        """Register a task; ``factory()`` is called for each (re)start."""
        if any(spec.name == name for spec in self._specs):
            raise ValueError(f"task {name!r} registered twice")
        self._specs.append(_Spec(name, factory, policy))
        self.restarts[name] = 0

    def add_shutdown_hook(self, name: str, hook: ShutdownHook, *, final: bool = False) -> None:
        """Hooks run in registration order on every terminate (stop new orders, unsubscribe,
        cancel/flatten, final report, flush log, close sockets), within ``shutdown_timeout``.
        A ``final`` hook runs even when the hooks before it used up that time (then within
        :data:`FINAL_HOOK_SECONDS`): what must never be skipped because a report rendered
        slowly — closing the journal, flushing the log, closing the sockets."""
        self._hooks.append((name, hook, final))

    # ------------------------------------------------------------------ control

    def request_shutdown(self, reason: str = "requested") -> None:
        """Start a graceful shutdown (exit code 0). Safe to call from any task or callback."""
        if not self._stop_reason:
            self._stop_reason = reason
        if self._stop is not None:
            self._stop.set()

    def force_exit(self) -> None:
        """Abandon the shutdown sequence and cancel everything now (second signal)."""
        self._forced = True
        if self._hooks_task is not None:
            self._hooks_task.cancel()
        for task in self._running:
            task.cancel()
        self.request_shutdown("forced")

    def _on_signal(self, signum: signal.Signals) -> None:
        if self._stopping or (self._stop is not None and self._stop.is_set()):
            _log.warning("second %s: exiting at once", signum.name)
            if self.on_forced_exit is not None:
                try:
                    self.on_forced_exit()
                except Exception:
                    _log.exception("the forced-exit callback failed")
            self.force_exit()
            return
        _log.warning("%s: shutting down (send it again to exit at once)", signum.name)
        self.request_shutdown(f"signal {signum.name}")

    def _install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(signum, self._on_signal, signum)
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or no signal support on this platform
            self._signals.append(signum)

    def _remove_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in self._signals:
            loop.remove_signal_handler(signum)
        self._signals.clear()

    # ------------------------------------------------------------------ running

    async def run(self, *, handle_signals: bool = True) -> int:
        """Start every task and supervise until the run terminates; returns the exit code."""
        self._stop = asyncio.Event()
        if self._stop_reason:
            self._stop.set()
        if handle_signals:
            self._install_signal_handlers()
        stop_waiter = asyncio.get_running_loop().create_task(self._stop.wait(),
                                                             name="shutdown")
        exit_code = EXIT_OK
        try:
            for spec in self._specs:
                self._start(spec, 0.0)
            while True:
                if self._stop.is_set():
                    exit_code = EXIT_FORCED if self._forced else EXIT_OK
                    self.exit_reason = self._stop_reason
                    break
                done, _ = await asyncio.wait({stop_waiter, *self._running},
                                             return_when=asyncio.FIRST_COMPLETED)
                verdict = None
                for task in done:
                    if task is not stop_waiter:
                        verdict = self._ended(task) or verdict
                if verdict is not None and not self._stop.is_set():
                    exit_code, self.exit_reason = verdict
                    break
            self.exit_code = exit_code
            await self._shut_down()
            if self._forced:
                exit_code = EXIT_FORCED
            _log.info("supervisor stopped (%s), exit code %d", self.exit_reason, exit_code)
            return exit_code
        finally:
            stop_waiter.cancel()
            if handle_signals:
                self._remove_signal_handlers()

    def _start(self, spec: _Spec, delay: float) -> None:
        task = asyncio.get_running_loop().create_task(self._attempt(spec, delay), name=spec.name)
        self._running[task] = spec

    @staticmethod
    async def _attempt(spec: _Spec, delay: float) -> object:
        if delay > 0:
            await asyncio.sleep(delay)
        return await spec.factory()

    def _ended(self, task: asyncio.Task[object]) -> tuple[int, str] | None:
        """Classify a finished task; restart it or return ``(exit code, reason)``."""
        spec = self._running.pop(task)
        error: BaseException | None
        if task.cancelled():
            error = asyncio.CancelledError(f"task {spec.name} was cancelled")
        else:
            error = task.exception()
        end = self._classify(error)
        self.ends.append((spec.name, end))
        _log.warning("task %s ended: %s -> %s", spec.name, end.reason, end.action)
        if spec.policy is Policy.ESSENTIAL or end.action is Action.TERMINATE:
            clean = end.clean
            if not clean or end.urgent:
                self._alert(Severity.URGENT, "supervisor.terminated",
                            f"Trading stopped: task {spec.name} ended", end.reason)
            return (EXIT_OK if clean else EXIT_FAILURE, f"{spec.name}: {end.reason}")
        return self._reconnect(spec, end)

    def _reconnect(self, spec: _Spec, end: TaskEnd) -> tuple[int, str] | None:
        now = self._clock()
        name = spec.name
        options = self.options
        if end.quota:
            verdict = self._quota(spec, end, now)
            if verdict is not None:
                return verdict
        breaker = self._breakers.get(name)
        if breaker is None:
            breaker = self._breakers[name] = CircuitBreaker(options.breaker)
        attempt = self._attempts.get(name, 0)
        if end.maintenance:
            self._maintenance.setdefault(name, now)
            delay = max(options.backoff.delay(0, self._rng), options.maintenance_delay)
            self._alert(Severity.ROUTINE, "session.maintenance",
                        f"Tradovate maintenance closed the {name} socket",
                        f"Reconnecting in {delay:.0f}s, then every "
                        f"{options.backoff.maximum:g}s until the maintenance window ends; "
                        f"the run goes on.")
        elif end.ready_seconds is not None:
            self._maintenance.pop(name, None)
            if end.ready_seconds >= options.breaker.healthy_after:
                breaker.reset()
                attempt = 0
            delay = options.backoff.delay(attempt, self._rng)
            self._attempts[name] = attempt + 1
        elif self._excused(name, now):
            delay = options.backoff.ceiling(self._rng)
            _log.info("%s: connection attempt failed during maintenance (not counted): %s",
                      name, end.reason)
        else:
            if breaker.record(now):
                self._alert(Severity.URGENT, "supervisor.circuit_open",
                            f"Trading stopped: {name} keeps failing",
                            f"{breaker.recent} failed connection attempts within "
                            f"{options.breaker.window:g}s; last: {end.reason}")
                return (EXIT_FAILURE, f"{name}: circuit breaker open")
            delay = options.backoff.delay(attempt, self._rng)
            self._attempts[name] = attempt + 1
        if end.quota:
            delay = max(delay, options.quota_delay)
        self.restarts[name] += 1
        self.delays[name] = delay
        _log.info("restarting %s in %.2fs (restart #%d)", name, delay, self.restarts[name])
        self._start(spec, delay)
        return None

    def _quota(self, spec: _Spec, end: TaskEnd, now: float) -> tuple[int, str] | None:
        window = self.options.quota_window
        quota_ends = self._quota_ends
        quota_ends.append(now)
        while quota_ends and now - quota_ends[0] > window:
            quota_ends.popleft()
        if len(quota_ends) >= self.options.quota_limit:
            self._alert(Severity.URGENT, "supervisor.quota_storm",
                        "Trading stopped: repeated Tradovate quota shutdowns",
                        f"{len(quota_ends)} quota shutdowns within {window:g}s; another "
                        f"session is probably using this login. Last: {end.reason}")
            return (EXIT_FAILURE, f"{spec.name}: quota shutdown storm")
        self._alert(Severity.URGENT, "session.quota_shutdown",
                    f"Tradovate closed the {spec.name} socket (quota)",
                    f"{end.reason}. Reconnecting once after {self.options.quota_delay:g}s.")
        return None

    def _excused(self, name: str, now: float) -> bool:
        """Whether a failed attempt falls in a maintenance window (not counted)."""
        since = self._maintenance.get(name)
        if since is None:
            return False
        if now - since < self.options.maintenance_limit:
            return True
        self._maintenance.pop(name, None)
        self._alert(Severity.URGENT, "supervisor.maintenance_overrun",
                    f"{name}: still no connection {self.options.maintenance_limit / 3600:g} h "
                    f"after a maintenance shutdown",
                    "Failed connection attempts count towards the circuit breaker again.")
        return False

    def _alert(self, severity: Severity, key: str, title: str, body: str) -> None:
        self._alerts.emit(Alert(severity, key, title, body))

    # ------------------------------------------------------------------ shutdown

    async def _shut_down(self) -> None:
        self._stopping = True
        if not self._forced and self._hooks:
            self._hooks_task = asyncio.get_running_loop().create_task(self._run_hooks(),
                                                                      name="shutdown hooks")
            await asyncio.wait({self._hooks_task})
        by_name = {spec.name: task for task, spec in self._running.items()}
        for spec in reversed(self._specs):
            task = by_name.get(spec.name)
            if task is None:
                continue
            task.cancel()
            if not self._forced:
                await asyncio.wait({task}, timeout=self.options.cancel_timeout)
        for task in list(self._running):
            if task.done():
                with contextlib.suppress(BaseException):
                    task.exception()  # retrieved: a cancelled task's end is not news
        self._running.clear()

    async def _run_hooks(self) -> None:
        pending = list(self._hooks)
        try:
            async with asyncio.timeout(self.options.shutdown_timeout):
                while pending:
                    name, hook, _ = pending[0]
                    await self._run_hook(name, hook)
                    del pending[0]
        except TimeoutError:
            finals = [(name, hook) for name, hook, final in pending[1:] if final]
            skipped = [name for name, _, final in pending if not final]
            _log.error("shutdown hooks exceeded %.1fs in %r; skipped %s; the final ones run "
                       "now: %s", self.options.shutdown_timeout, pending[0][0],
                       ", ".join(skipped) or "none", ", ".join(n for n, _ in finals) or "none")
            for name, hook in finals:
                try:
                    async with asyncio.timeout(FINAL_HOOK_SECONDS):
                        await self._run_hook(name, hook)
                except TimeoutError:
                    _log.error("shutdown hook %s exceeded %.1fs", name, FINAL_HOOK_SECONDS)

    async def _run_hook(self, name: str, hook: ShutdownHook) -> None:
        try:
            await hook()
        except Exception:
            _log.exception("shutdown hook %s failed; continuing", name)
            return
        self.hooks_run.append(name)
