"""Integration sanity check: with the simulator streaming market data into a real
MarketDataSession, a burst of alerts emitted from the md consumer itself (the trading side)
towards notifiers that stall or refuse does not materially slow the market-data stream.

Compares a no-alert phase with an alert phase in the same run, with loose bounds: this is
not a timed benchmark."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import statistics
import time
from collections.abc import AsyncIterator, Callable

import pytest
from notify_helpers import FROM_NUMBER, TO_NUMBERS, TWILIO_SID, TWILIO_TOKEN, SilentServer, secret
from notify_helpers import WebhookServer as StallingHttp

from tradovate_api.alerts import Alert, AlertLog, Severity
from tradovate_api.auth import AuthManager
from tradovate_api.client import AuthTokens, ConnectionOptions, MarketDataSession
from tradovate_api.notify import EmailNotifier, NotificationCenter, SmsNotifier, WebhookNotifier
from tradovate_api.protocol import MarketDataEvent
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import Notifications
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock

SIM_CONFIG = SimulatorConfig(warm_up=60.0, tick_interval=0.005, heartbeat_interval=0.5,
                             idle_timeout=5.0)
OPTIONS = ConnectionOptions(heartbeat_interval=0.5, silence_timeout=5.0, open_timeout=3.0,
                            authorize_timeout=3.0, request_timeout=5.0, close_timeout=1.0)
PHASE_SECONDS = 1.5
ALERTS = 1000


class Meter:
    """The md consumer: timestamps every market-data event and runs ``hook`` on it, as a
    strategy callback would."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.hook: Callable[[], None] | None = None
        self.first = asyncio.Event()

    def __call__(self, event: object) -> None:
        if isinstance(event, MarketDataEvent):
            self.arrivals.append(time.perf_counter())
            self.first.set()
            if self.hook is not None:
                self.hook()

    def phase(self, start: float, end: float) -> tuple[int, float]:
        """Events in [start, end) and the 99th percentile gap between them (s)."""
        times = [t for t in self.arrivals if start <= t < end]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        p99 = statistics.quantiles(gaps, n=100)[98] if len(gaps) >= 2 else float("inf")
        return len(times), p99


@contextlib.asynccontextmanager
async def streaming(sim: Simulator, meter: Meter) -> AsyncIterator[None]:
    auth = AuthManager(sim.rest_url, TradovateCredentials(name="sim", password=Secret("sim")),
                       alerts=AlertLog(), max_logins_per_hour=10)
    session = MarketDataSession(sim.md_url, AuthTokens(auth, market_data=True), meter,
                                options=OPTIONS)
    task = asyncio.create_task(session.run())
    try:
        await asyncio.wait_for(session.wait_ready(), 5)
        for instrument in list(sim.catalog)[:2]:
            await session.subscribe_quote(instrument.name)
            await session.subscribe_dom(instrument.name)
        await asyncio.wait_for(meter.first.wait(), 5)
        yield
    finally:
        await session.close()
        await asyncio.wait({task}, timeout=3)
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        await auth.close()


async def test_stalled_notifiers_do_not_slow_market_data(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    silent_smtp, stalled = SilentServer(), StallingHttp()
    stalled.stall = True
    await silent_smtp.start()
    await stalled.start()
    center = NotificationCenter(
        Notifications(urgent=("sms", "email", "webhook"), send_timeout_seconds=0.5,
                      retries=2, retry_backoff_seconds=0.05, max_per_key_per_hour=50),
        {"sms": SmsNotifier(secret(TWILIO_SID), secret(TWILIO_TOKEN), FROM_NUMBER,
                            TO_NUMBERS, base_url=stalled.url),
         "email": EmailNotifier("127.0.0.1", ["t@example.test"], port=silent_smtp.port,
                                security="plain", timeout=0.5),
         "webhook": WebhookNotifier(secret(stalled.url + "/hook"))})
    center.start()
    meter = Meter()
    emit_times: list[float] = []

    def burst() -> None:
        for _ in range(20):
            if len(emit_times) >= ALERTS:
                return
            index = len(emit_times)
            before = time.perf_counter()
            center.emit(Alert(Severity.URGENT, f"md.key{index % 10}", "Market data gap",
                              f"gap #{index}"))
            emit_times.append(time.perf_counter() - before)

    try:
        async with Simulator(SIM_CONFIG, seed=11, clock=open_clock()) as sim, streaming(sim, meter):
            quiet_start = time.perf_counter()
            await asyncio.sleep(PHASE_SECONDS)  # measurement window, not a wait for an effect
            meter.hook = burst
            alert_start = time.perf_counter()
            await asyncio.sleep(PHASE_SECONDS)
            alert_end = time.perf_counter()
            meter.hook = None
            quiet_count, quiet_p99 = meter.phase(quiet_start, alert_start)
            alert_count, alert_p99 = meter.phase(alert_start, alert_end)
            close_start = time.perf_counter()
            await center.close(0.5)
            close_took = time.perf_counter() - close_start
    finally:
        await silent_smtp.stop()
        await stalled.stop()

    print(f"md events: {quiet_count} without alerts, {alert_count} with {len(emit_times)} "
          f"alerts; p99 gap {quiet_p99 * 1000:.1f} ms vs {alert_p99 * 1000:.1f} ms; emit "
          f"mean {statistics.mean(emit_times) * 1e6:.0f} us, max "
          f"{max(emit_times) * 1e3:.2f} ms; close {close_took:.2f} s")
    assert len(emit_times) == ALERTS, "the burst did not run inside the md consumer"
    assert stalled.requests, "no delivery reached the stalled endpoints"
    assert silent_smtp.connections >= 1
    assert quiet_count > 50
    assert alert_count >= 0.5 * quiet_count
    assert alert_p99 <= max(3 * quiet_p99, 0.1)
    assert max(emit_times) < 0.05
    assert sum(emit_times) < 1.0
    assert close_took < 0.5 + 1.0 + 0.5
