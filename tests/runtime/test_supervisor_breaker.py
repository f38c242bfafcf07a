"""The circuit breaker at its shipped policy (issue 15, defect 4): it counts failed connection
attempts only — never a connection that became ready and was then dropped, however often; a
connection that stayed healthy clears it; a maintenance shutdown excuses the refusals that
follow (retried at the maximum backoff, a routine alert, the run goes on) until a connection
is ready again or the maintenance limit runs out."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import NoReturn

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.client import ConnectFailed, EndKind, SessionEnd, SessionEnded
from tradovate_api.runtime import (
    EXIT_FAILURE,
    EXIT_OK,
    BackoffPolicy,
    BreakerPolicy,
    Policy,
    ShutdownRequested,
    Supervisor,
    SupervisorOptions,
)
from tradovate_api.settings import Settings

SHIPPED = SupervisorOptions.from_settings(Settings())
FAST_PACE = BackoffPolicy(initial=0.0005, maximum=0.004, jitter=0.2)
"""Only the pacing is shortened (so a test needs no minutes); the breaker is as shipped."""


def options(**overrides: object) -> SupervisorOptions:
    values: dict[str, object] = {"backoff": FAST_PACE, "breaker": SHIPPED.breaker,
                                 "maintenance_delay": 0.0005, "quota_delay": 0.0005,
                                 "shutdown_timeout": 1.0, "cancel_timeout": 1.0}
    values.update(overrides)
    return SupervisorOptions(**values)  # type: ignore[arg-type]


def dropped(ready: float | None, reason_code: str | None = None) -> SessionEnded:
    kind = EndKind.SHUTDOWN if reason_code else EndKind.DROPPED
    return SessionEnded("md", SessionEnd(kind, "x", reason_code=reason_code), ready)


async def supervise(script: Callable[[int], BaseException], opts: SupervisorOptions,
                    alerts: AlertLog, *, clock: Callable[[], float] | None = None
                    ) -> tuple[int, Supervisor, int]:
    """Run one reconnect task whose n-th attempt (1-based) raises ``script(n)``; returns the
    exit code, the supervisor and the number of attempts."""
    runs = 0

    async def session() -> NoReturn:
        nonlocal runs
        runs += 1
        raise script(runs)

    supervisor = Supervisor(alerts, opts, rng=random.Random(3),
                            **({"clock": clock} if clock else {}))
    supervisor.add_task("md read", session, Policy.RECONNECT)
    code = await asyncio.wait_for(supervisor.run(handle_signals=False), 30)
    return code, supervisor, runs


def keys(alerts: AlertLog) -> list[str]:
    return [alert.key for alert in alerts.recent]


def stop_after(n: int, then: Callable[[int], BaseException]) -> Callable[[int], BaseException]:
    return lambda run: ShutdownRequested("test over") if run > n else then(run)


def test_the_shipped_policy_needs_minutes_of_failed_attempts() -> None:
    """With the shipped backoff (0.5 s doubling to 30 s, ±20 %), the 15th failed attempt
    comes no sooner than 3.5 minutes into an outage: a 2-minute outage never trips."""
    backoff, breaker = SHIPPED.backoff, SHIPPED.breaker
    assert (breaker.failures, breaker.window, breaker.healthy_after) == (15, 600.0, 10.0)
    fastest = sum(min(backoff.maximum, backoff.initial * backoff.multiplier ** n)
                  * (1 - backoff.jitter) for n in range(breaker.failures - 1))
    assert fastest > 210.0
    slowest_in_window = breaker.window / (backoff.maximum * (1 + backoff.jitter))
    assert slowest_in_window > breaker.failures  # a long outage does trip it


async def test_a_connection_dropped_after_it_was_ready_never_trips_the_breaker() -> None:
    alerts = AlertLog()
    drops = 200  # a drop every 20 s for over an hour
    code, supervisor, runs = await supervise(stop_after(drops, lambda _: dropped(20.0)),
                                             options(), alerts)
    assert code == EXIT_OK
    assert runs == drops + 1
    assert "supervisor.circuit_open" not in keys(alerts)
    assert supervisor._attempts["md read"] == 1  # a healthy connection restarts the backoff


async def test_a_flapping_connection_never_trips_but_its_backoff_grows() -> None:
    alerts = AlertLog()
    code, supervisor, _ = await supervise(stop_after(60, lambda _: dropped(0.5)), options(),
                                          alerts)
    assert code == EXIT_OK
    assert "supervisor.circuit_open" not in keys(alerts)
    assert supervisor._attempts["md read"] == 60
    assert supervisor.delays["md read"] >= FAST_PACE.maximum * (1 - FAST_PACE.jitter)


async def test_failed_attempts_trip_the_breaker_at_the_shipped_count() -> None:
    alerts = AlertLog()
    code, _, runs = await supervise(lambda _: ConnectFailed("refused"), options(),
                                             alerts)
    assert code == EXIT_FAILURE
    assert runs == SHIPPED.breaker.failures
    (circuit,) = [a for a in alerts.recent if a.key == "supervisor.circuit_open"]
    assert circuit.severity is Severity.URGENT
    assert "15 failed connection attempts" in circuit.body


async def test_a_healthy_connection_clears_the_count_and_a_short_one_does_not() -> None:
    failures = SHIPPED.breaker.failures - 1

    def script(healthy: float) -> Callable[[int], BaseException]:
        def end(run: int) -> BaseException:
            if run == failures + 1:
                return dropped(healthy)
            if run > 2 * failures + 1:
                return ShutdownRequested("test over")
            return ConnectFailed("refused")
        return end

    alerts = AlertLog()
    code, _, _ = await supervise(script(healthy=10.0), options(), alerts)
    assert code == EXIT_OK, "a healthy connection in between clears the failures"
    alerts = AlertLog()
    code, _, runs = await supervise(script(healthy=9.0), options(), alerts)
    assert code == EXIT_FAILURE, "a connection shorter than healthy_after clears nothing"
    assert runs == SHIPPED.breaker.failures + 1


async def test_a_maintenance_window_never_trips_and_retries_at_the_maximum_backoff() -> None:
    refusals = 120  # an hour at 30 s

    def script(run: int) -> BaseException:
        if run == 1:
            return dropped(300.0, "Maintenance")
        if run <= refusals + 1:
            return ConnectFailed("HTTP 503 while upgrading")
        if run == refusals + 2:
            return dropped(60.0)  # back after the window, and healthy
        return ConnectFailed("refused")  # now an outage counts again

    alerts = AlertLog()
    code, _, runs = await supervise(script, options(), alerts)
    assert code == EXIT_FAILURE
    assert runs == refusals + 2 + SHIPPED.breaker.failures
    maintenance = [a for a in alerts.recent if a.key == "session.maintenance"]
    assert [a.severity for a in maintenance] == [Severity.ROUTINE]
    assert [a.key for a in alerts.recent if a.severity is Severity.URGENT] == [
        "supervisor.circuit_open"]


async def test_refusals_during_maintenance_wait_the_maximum_backoff() -> None:
    def script(run: int) -> BaseException:
        if run == 1:
            return dropped(300.0, "Maintenance")
        if run > 30:
            return ShutdownRequested("test over")
        return ConnectFailed("HTTP 503")

    alerts = AlertLog()
    code, supervisor, _ = await supervise(script, options(), alerts)
    assert code == EXIT_OK
    assert supervisor.delays["md read"] >= FAST_PACE.maximum * (1 - FAST_PACE.jitter)
    assert supervisor._attempts.get("md read", 0) == 0  # refusals did not grow the count
    assert "supervisor.circuit_open" not in keys(alerts)


async def test_the_maintenance_excuse_runs_out_after_the_limit() -> None:
    now = [0.0]

    def script(run: int) -> BaseException:
        if run == 1:
            return dropped(300.0, "Maintenance")
        now[0] += 3600.0 if run <= 13 else 30.0  # twelve hours of refusals, then 30 s apart
        return ConnectFailed("HTTP 503")

    alerts = AlertLog()
    code, _, runs = await supervise(script, options(), alerts, clock=lambda: now[0])
    assert code == EXIT_FAILURE
    # the refusals at 1 h ... 11 h are excused; from 12 h on they count
    assert runs == 1 + 11 + SHIPPED.breaker.failures
    assert "supervisor.maintenance_overrun" in keys(alerts)


async def test_the_breaker_policy_from_the_settings() -> None:
    policy = SupervisorOptions.from_settings(Settings()).breaker
    assert policy == BreakerPolicy(failures=15, window=600.0, healthy_after=10.0)
