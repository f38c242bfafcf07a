"""Whether the running simulator's market trades and whether its servers are in maintenance,
now, by its clock (reference §7.4).

The week comes from :mod:`.calendar`; on top of it a test or a chaos run can open a
maintenance window *now* for some seconds (:meth:`MarketSchedule.force_maintenance`) without
touching the clock. A forced window closes the market too, as every real maintenance window
falls while the market is closed. Answers are cached until the calendar's next change, so the
ticker can ask on every step.
"""

from __future__ import annotations

from collections.abc import Callable

from .calendar import in_maintenance, is_trading, next_change


class _Cached:
    """One calendar test, evaluated once per stretch in which its answer does not change."""

    __slots__ = ("_test", "_valid_from", "_valid_until", "_value")

    def __init__(self, test: Callable[[float], bool]) -> None:
        self._test = test
        self._valid_from = self._valid_until = 0.0
        self._value = False

    def __call__(self, now: float) -> bool:
        if not self._valid_from <= now < self._valid_until:
            self._value = self._test(now)
            self._valid_from = now
            self._valid_until = next_change(now, self._test)
        return self._value


class MarketSchedule:
    """Trading hours and maintenance of one simulator. ``market_hours``/``maintenance``
    false switch the calendar's part off (the market never closes / never goes down);
    a forced window applies either way."""

    def __init__(self, clock: Callable[[], float], *, market_hours: bool = True,
                 maintenance: bool = True) -> None:
        self._clock = clock
        self._hours = _Cached(is_trading) if market_hours else None
        self._maintenance = _Cached(in_maintenance) if maintenance else None
        self._forced_until = 0.0

    def force_maintenance(self, seconds: float) -> None:
        """A maintenance window from now for ``seconds`` (longer than one already on wins)."""
        self._forced_until = max(self._forced_until, self._clock() + seconds)

    def in_maintenance(self) -> bool:
        now = self._clock()
        if now < self._forced_until:
            return True
        return self._maintenance is not None and self._maintenance(now)

    def trading(self) -> bool:
        """Whether the market trades now (never during maintenance)."""
        if self.in_maintenance():
            return False
        return self._hours is None or self._hours(self._clock())
