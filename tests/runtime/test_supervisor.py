"""Supervisor policy with scripted tasks: end classification, backoff, circuit breaker, quota
storms, shutdown hooks in order and bounded, SIGINT/SIGTERM handling."""

from __future__ import annotations

import asyncio
import os
import random
import signal
from collections.abc import Awaitable, Callable

import pytest

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.client import (
    AuthorizationFailed,
    ConnectFailed,
    EndKind,
    RequestTimeout,
    SessionEnd,
    SessionEnded,
    TokenUnavailable,
)
from tradovate_api.errors import (
    ConfigError,
    ConnectionLost,
    ErrorResponse,
    RateLimited,
    Unauthorized,
)
from tradovate_api.runtime import (
    EXIT_FAILURE,
    EXIT_FORCED,
    EXIT_OK,
    Action,
    BackoffPolicy,
    BreakerPolicy,
    CircuitBreaker,
    Policy,
    ShutdownRequested,
    Supervisor,
    SupervisorOptions,
    classify_end,
)
from tradovate_api.runtime.supervisor import FINAL_HOOK_SECONDS, ShutdownHook

FAST = SupervisorOptions(backoff=BackoffPolicy(initial=0.001, maximum=0.01, jitter=0.2),
                         breaker=BreakerPolicy(failures=4, window=60.0), shutdown_timeout=1.0,
                         cancel_timeout=1.0, quota_delay=0.001, maintenance_delay=0.001)


def ended(kind: EndKind, reason_code: str | None = None,
          ready: float | None = 60.0) -> SessionEnded:
    """The end of a connection that had been ready for ``ready`` seconds (``None``: never)."""
    return SessionEnded("md", SessionEnd(kind, "x", reason_code=reason_code), ready)


@pytest.mark.parametrize(("error", "action", "clean", "urgent"), [
    (None, Action.TERMINATE, True, False),
    (ShutdownRequested("done"), Action.TERMINATE, True, False),
    (ended(EndKind.DROPPED), Action.RECONNECT, False, False),
    (ended(EndKind.SILENCE), Action.RECONNECT, False, False),
    (ended(EndKind.CLOSE_FRAME), Action.RECONNECT, False, False),
    (ended(EndKind.SHUTDOWN, "Maintenance"), Action.RECONNECT, False, False),
    (ended(EndKind.SHUTDOWN, "ConnectionQuotaReached"), Action.RECONNECT, False, True),
    (ended(EndKind.SHUTDOWN, "IPQuotaReached"), Action.RECONNECT, False, True),
    (ended(EndKind.CLIENT_CLOSED), Action.TERMINATE, True, False),
    (ConnectFailed("refused"), Action.RECONNECT, False, False),
    (ConnectionLost("gone"), Action.RECONNECT, False, False),
    (RequestTimeout("user/syncrequest", 3), Action.RECONNECT, False, False),
    (AuthorizationFailed("md", Unauthorized(401, "Invalid")), Action.RECONNECT, False, False),
    (TokenUnavailable("md", RateLimited(429)), Action.TERMINATE, False, True),
    (TokenUnavailable("md", ConnectionLost("unreachable")), Action.RECONNECT, False, False),
    (TokenUnavailable("md", ErrorResponse(503, "maintenance")), Action.RECONNECT, False,
     False),
    (ErrorResponse(503, "maintenance"), Action.RECONNECT, False, False),
    (ErrorResponse(400, "bad"), Action.TERMINATE, False, True),
    (ConfigError("urls.rest: bad"), Action.TERMINATE, False, True),
    (ValueError("bug"), Action.TERMINATE, False, True),
])
def test_end_classification_table(error: BaseException | None, action: Action, clean: bool,
                                  urgent: bool) -> None:
    end = classify_end(error)
    assert (end.action, end.clean, end.urgent) == (action, clean, urgent)


def test_an_end_says_how_long_the_connection_was_ready() -> None:
    assert classify_end(ended(EndKind.DROPPED, ready=12.5)).ready_seconds == 12.5
    assert classify_end(ended(EndKind.SHUTDOWN, "Maintenance", ready=3.0)).ready_seconds == 3.0
    assert classify_end(ended(EndKind.DROPPED, ready=None)).ready_seconds is None
    assert classify_end(ConnectFailed("refused")).ready_seconds is None


def test_backoff_grows_exponentially_to_the_cap_with_bounded_jitter() -> None:
    policy = BackoffPolicy(initial=0.5, maximum=30.0, multiplier=2.0, jitter=0.2)
    rng = random.Random(3)
    for attempt, base in [(0, 0.5), (1, 1.0), (3, 4.0), (6, 30.0), (500, 30.0)]:
        delays = [policy.delay(attempt, rng) for _ in range(200)]
        assert base * 0.8 <= min(delays) <= max(delays) <= base * 1.2
        assert max(delays) - min(delays) > base * 0.2  # jitter actually spreads them


def test_breaker_counts_failures_inside_the_window_only() -> None:
    breaker = CircuitBreaker(BreakerPolicy(failures=3, window=10.0))
    assert not breaker.record(0.0)
    assert not breaker.record(5.0)
    assert not breaker.record(12.0)  # the one at 0.0 has left the window
    assert breaker.record(13.0)  # 5, 12, 13


async def test_essential_return_runs_hooks_in_order_then_cancels_in_reverse() -> None:
    order: list[str] = []
    alerts = AlertLog()
    supervisor = Supervisor(alerts, FAST)
    finished = asyncio.Event()

    def forever(name: str) -> Callable[[], Awaitable[None]]:
        async def task() -> None:
            try:
                await asyncio.Event().wait()
            finally:
                order.append(f"cancel {name}")
        return task

    async def strategy() -> None:
        await finished.wait()

    async def hook(name: str) -> None:
        order.append(f"hook {name}")

    supervisor.add_task("md read", forever("md read"), Policy.RECONNECT)
    supervisor.add_task("account read", forever("account read"), Policy.RECONNECT)
    supervisor.add_task("strategy", strategy)
    for name in ("stop orders", "unsubscribe", "final report", "flush log", "close sockets"):
        supervisor.add_shutdown_hook(name, lambda name=name: hook(name))
    asyncio.get_running_loop().call_soon(finished.set)
    code = await asyncio.wait_for(supervisor.run(handle_signals=False), 5)
    assert code == EXIT_OK
    assert order == ["hook stop orders", "hook unsubscribe", "hook final report",
                     "hook flush log", "hook close sockets", "cancel account read",
                     "cancel md read"]
    assert supervisor.hooks_run == ["stop orders", "unsubscribe", "final report", "flush log",
                                    "close sockets"]
    assert list(alerts.recent) == []


async def test_reconnect_ends_restart_until_the_breaker_trips_and_alerts() -> None:
    alerts = AlertLog()
    attempts = 0

    async def session() -> None:
        nonlocal attempts
        attempts += 1
        raise ConnectFailed("refused")

    supervisor = Supervisor(alerts, FAST, rng=random.Random(1))
    supervisor.add_task("md read", session, Policy.RECONNECT)
    code = await asyncio.wait_for(supervisor.run(handle_signals=False), 5)
    assert code == EXIT_FAILURE
    assert attempts == FAST.breaker.failures
    assert supervisor.restarts["md read"] == FAST.breaker.failures - 1
    circuit = [a for a in alerts.recent if a.key == "supervisor.circuit_open"]
    assert len(circuit) == 1
    assert circuit[0].severity is Severity.URGENT


async def test_fatal_end_terminates_with_an_urgent_alert() -> None:
    alerts = AlertLog()
    hooks: list[str] = []

    async def session() -> None:
        raise TokenUnavailable("trading", RateLimited(429, "locked out"))

    async def hook() -> None:
        hooks.append("ran")

    supervisor = Supervisor(alerts, FAST)
    supervisor.add_task("account read", session, Policy.RECONNECT)
    supervisor.add_shutdown_hook("flush log", hook)
    code = await asyncio.wait_for(supervisor.run(handle_signals=False), 5)
    assert code == EXIT_FAILURE
    assert hooks == ["ran"]  # hooks run on every terminate
    assert supervisor.restarts["account read"] == 0
    assert [a.key for a in alerts.recent] == ["supervisor.terminated"]
    assert alerts.recent[0].severity is Severity.URGENT


async def test_quota_shutdowns_alert_and_a_second_one_terminates() -> None:
    alerts = AlertLog()
    runs = 0

    async def session() -> None:
        nonlocal runs
        runs += 1
        raise ended(EndKind.SHUTDOWN, "ConnectionQuotaReached")

    supervisor = Supervisor(alerts, FAST)
    supervisor.add_task("md read", session, Policy.RECONNECT)
    code = await asyncio.wait_for(supervisor.run(handle_signals=False), 5)
    assert code == EXIT_FAILURE
    assert runs == 2
    assert alerts.keys() == ["session.quota_shutdown", "supervisor.quota_storm"]
    assert "quota" in supervisor.exit_reason


async def test_healthy_ends_reconnect_with_the_initial_backoff() -> None:
    runs = 0
    done = asyncio.Event()

    async def session() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            done.set()
            await asyncio.Event().wait()
        raise ended(EndKind.DROPPED)

    async def strategy() -> None:
        await done.wait()
        raise ShutdownRequested("test over")

    options = SupervisorOptions(backoff=BackoffPolicy(initial=0.001, maximum=5.0, jitter=0.0),
                                breaker=BreakerPolicy(failures=10, window=60.0))
    supervisor = Supervisor(AlertLog(), options)
    supervisor.add_task("md read", session, Policy.RECONNECT)
    supervisor.add_task("strategy", strategy)
    code = await asyncio.wait_for(supervisor.run(handle_signals=False), 5)
    assert code == EXIT_OK
    assert supervisor.restarts["md read"] == 2
    assert supervisor._attempts["md read"] == 1  # reset by each healthy end


async def test_hanging_hook_is_bounded_and_later_hooks_are_skipped() -> None:
    ran: list[str] = []

    async def hang() -> None:
        await asyncio.Event().wait()

    async def later() -> None:
        ran.append("later")

    options = SupervisorOptions(shutdown_timeout=0.2)
    supervisor = Supervisor(AlertLog(), options)
    supervisor.add_task("strategy", asyncio.Event().wait)
    supervisor.add_shutdown_hook("cancel orders", hang)
    supervisor.add_shutdown_hook("flush log", later)
    supervisor.request_shutdown("test")
    loop = asyncio.get_running_loop()
    started = loop.time()
    code = await asyncio.wait_for(supervisor.run(handle_signals=False), 5)
    assert code == EXIT_OK
    assert ran == []
    assert loop.time() - started < 2.0


async def test_final_hooks_run_when_a_slow_hook_used_up_the_shutdown_time() -> None:
    """A final summary that renders past ``shutdown_timeout`` must not cost the log flush or
    the close frames: final hooks run after it, each bounded on its own; a plain hook after
    the slow one is still skipped, and a hanging final hook cannot hold up the exit."""
    ran: list[str] = []

    async def slow_report() -> None:
        await asyncio.Event().wait()

    def note(name: str) -> ShutdownHook:
        async def hook() -> None:
            ran.append(name)
        return hook

    async def hanging_final() -> None:
        ran.append("hanging final")
        await asyncio.Event().wait()

    options = SupervisorOptions(shutdown_timeout=0.2)
    supervisor = Supervisor(AlertLog(), options)
    supervisor.add_task("strategy", asyncio.Event().wait)
    supervisor.add_shutdown_hook("halt orders", note("halt orders"))
    supervisor.add_shutdown_hook("final summary", slow_report)
    supervisor.add_shutdown_hook("extra", note("extra"))
    supervisor.add_shutdown_hook("close journal", hanging_final, final=True)
    supervisor.add_shutdown_hook("flush log", note("flush log"), final=True)
    supervisor.add_shutdown_hook("close sockets", note("close sockets"), final=True)
    supervisor.request_shutdown("test")
    loop = asyncio.get_running_loop()
    started = loop.time()
    code = await asyncio.wait_for(supervisor.run(handle_signals=False), 10)
    assert code == EXIT_OK
    assert ran == ["halt orders", "hanging final", "flush log", "close sockets"]
    assert supervisor.hooks_run == ["halt orders", "flush log", "close sockets"]
    assert loop.time() - started < 0.2 + FINAL_HOOK_SECONDS + 2.0


async def test_first_sigint_shuts_down_gracefully() -> None:
    hooks: list[str] = []
    running = asyncio.Event()

    async def strategy() -> None:
        running.set()
        await asyncio.Event().wait()

    async def hook() -> None:
        hooks.append("close sockets")

    supervisor = Supervisor(AlertLog(), FAST)
    supervisor.add_task("strategy", strategy)
    supervisor.add_shutdown_hook("close sockets", hook)
    run = asyncio.create_task(supervisor.run())
    await asyncio.wait_for(running.wait(), 2)
    os.kill(os.getpid(), signal.SIGINT)
    assert await asyncio.wait_for(run, 5) == EXIT_OK
    assert hooks == ["close sockets"]
    assert supervisor.exit_reason == "signal SIGINT"
    # The handlers are removed afterwards: the default SIGINT behaviour is back.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


async def test_second_signal_exits_at_once() -> None:
    in_hook = asyncio.Event()
    running = asyncio.Event()

    async def strategy() -> None:
        running.set()
        await asyncio.Event().wait()

    async def slow_hook() -> None:
        in_hook.set()
        await asyncio.Event().wait()  # e.g. flatten waiting on a dead socket

    options = SupervisorOptions(shutdown_timeout=30.0)
    supervisor = Supervisor(AlertLog(), options)
    supervisor.add_task("strategy", strategy)
    supervisor.add_shutdown_hook("flatten", slow_hook)
    run = asyncio.create_task(supervisor.run())
    await asyncio.wait_for(running.wait(), 2)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(in_hook.wait(), 2)
    os.kill(os.getpid(), signal.SIGINT)
    assert await asyncio.wait_for(run, 2) == EXIT_FORCED
    assert supervisor.hooks_run == []
