"""The resync guard (issue 15, defect 8): every problem alerts (one per kind per 5 minutes,
the next one counting those held back), holds entries until a complete snapshot, and asks for
a resync — at once, then no sooner than 30 s, 60 s, … 10 min apart while problems keep coming,
starting over after a quiet 10 minutes: a server sending the same bad entity again and again
causes no reconnect storm."""

from __future__ import annotations

import asyncio
import itertools

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.orders.risk import RiskManager
from tradovate_api.runtime.resync import FIRST_SPACING, MAX_SPACING, ResyncGuard
from tradovate_api.settings import Risk
from tradovate_api.stores import create_account_store, create_market_store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guard_with(clock: Clock) -> tuple[ResyncGuard, list[str], AlertLog, RiskManager]:
    account, _ = create_account_store()
    market, _ = create_market_store()
    alerts = AlertLog()
    risk = RiskManager(Risk(), account, market, alerts, lambda: 0, account_id=1)
    asked: list[str] = []
    guard = ResyncGuard(lambda reason: asked.append(reason) is None, alerts, risk,
                        clock=clock)
    return guard, asked, alerts, risk


async def test_resyncs_are_spaced_and_alerts_throttled() -> None:
    clock = Clock()
    guard, asked, alerts, risk = guard_with(clock)
    guard.problem("account.unreadable_entity", "Unreadable fill", "qty missing")
    assert len(asked) == 1
    assert risk.entries_suspended(5) is not None
    for _ in range(5):  # more of the same within the spacing: one deferred resync, no alert
        clock.now += 1.0
        guard.problem("account.unreadable_entity", "Unreadable fill", "qty missing")
    assert len(asked) == 1
    (alert,) = alerts.recent
    assert alert.severity is Severity.URGENT
    times = [clock.now]
    for _ in range(6):  # problems keep coming, each time the resync is allowed again
        clock.now = guard._next_resync
        guard.problem("account.unreadable_entity", "Unreadable fill", "qty missing")
        times.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(times[1:])]
    assert gaps == [2 * FIRST_SPACING, 4 * FIRST_SPACING, 8 * FIRST_SPACING,
                    16 * FIRST_SPACING, MAX_SPACING]
    assert len(asked) == 7
    assert len(alerts.recent) < 12  # twelve problems, throttled to one alert per 5 min
    assert "8 more since the previous alert" in alerts.recent[1].body  # 5 + 3 in 5 min
    guard.snapshot_applied()
    assert risk.entries_suspended(5) is None
    guard.close()


async def test_a_deferred_resync_happens_when_its_time_comes() -> None:
    guard, asked, _, _ = guard_with(Clock())
    guard._clock = asyncio.get_running_loop().time
    guard.problem("account.reader_failed", "The account reader failed", "boom")
    guard._next_resync = guard._clock() + 0.05  # as if the spacing were short
    guard.problem("account.reader_failed", "The account reader failed", "boom")
    assert len(asked) == 1
    async with asyncio.timeout(5):
        while len(asked) < 2:  # noqa: ASYNC110 - the deferred resync is a timer, no event
            await asyncio.sleep(0.01)
    assert len(asked) == 2
    guard.close()


async def test_after_a_quiet_spell_the_spacing_starts_over() -> None:
    clock = Clock()
    guard, asked, _, _ = guard_with(clock)
    for _ in range(4):
        clock.now = max(clock.now, guard._next_resync)
        guard.problem("k", "t", "d")
    clock.now += MAX_SPACING + 1
    guard.problem("k", "t", "d")
    assert guard._next_resync - clock.now == FIRST_SPACING
    assert len(asked) == 5
    guard.close()
