"""Rolling time windows of aggressor volume (time-and-sales pressure) with the largest print.

A window covers the trades whose exchange timestamp is at or after ``now - width`` (ms); trades
stamped after ``now`` count too, as the reference strategy counts them. The writer adds trades
and advances the window on its own clock; readers ask for the statistics at any ``now`` without
changing anything: trades that left the window since the writer's last advance are subtracted
on the fly, so a read is exact even between two writes. The questions a strategy asks on
every event (the statistics, the oldest print still inside, the newest print of a size) are
answered without copying the window's prints: a strategy is evaluated on every market event,
and a window on dense data holds thousands of prints.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from ..protocol import Side
from .ring import SortedRing
from .trades import Trade

TradeKey = tuple[int, int, int]
"""(timestamp_ms, contract_id, tick id): the order trades are kept in."""


def trade_key(trade: Trade) -> TradeKey:
    return (trade.timestamp_ms, trade.contract_id, trade.id)


class WindowStats(msgspec.Struct, frozen=True, gc=False):
    """Aggressor volume in ``[start_ms, ∞)`` as seen at ``now_ms``."""

    now_ms: int
    start_ms: int
    buy_volume: float
    sell_volume: float
    unknown_volume: float
    count: int
    largest: Trade | None
    """The biggest print in the window (the newest one among equal sizes)."""
    oldest_ms: int | None = None
    """Timestamp of the oldest print in the window (it leaves at ``oldest_ms + width``);
    ``None`` when the window is empty. Found while the statistics are read, so a strategy
    that wakes when a print leaves needs no second look at the window."""

    @property
    def net_volume(self) -> float:
        """Buy minus sell aggressor volume (unknown-side prints count 0)."""
        return self.buy_volume - self.sell_volume


def _bigger(candidate: Trade, current: Trade | None) -> bool:
    if current is None or candidate.size > current.size:
        return True
    return candidate.size == current.size and trade_key(candidate) > trade_key(current)


class RollingWindow:
    """Trades of the last ``width_ms`` with running buy/sell/unknown sums (writer side)."""

    __slots__ = ("_buy", "_count", "_largest", "_sell", "_start", "_trades", "_unknown",
                 "width_ms")

    def __init__(self, width_ms: int) -> None:
        if width_ms <= 0:
            raise ValueError(f"window width must be positive, got {width_ms} ms")
        self.width_ms = width_ms
        self._trades: SortedRing[TradeKey, Trade] = SortedRing(None)
        self._start: int | None = None
        self._buy = self._sell = self._unknown = 0.0
        self._count = 0
        self._largest: Trade | None = None

    def add(self, trade: Trade) -> None:
        """Count ``trade`` unless it is older than the window's current start."""
        if self._start is not None and trade.timestamp_ms < self._start:
            return
        if not self._trades.add((trade.timestamp_ms, trade.contract_id, trade.id), trade):
            return
        self._count += 1
        side = trade.side
        if side is Side.BUY:
            self._buy += trade.size
        elif side is Side.SELL:
            self._sell += trade.size
        else:
            self._unknown += trade.size
        if _bigger(trade, self._largest):
            self._largest = trade

    def advance(self, now_ms: int) -> None:
        """Drop the trades that left the window at ``now_ms`` (time never moves back)."""
        start = now_ms - self.width_ms
        if self._start is not None and start <= self._start:
            return
        self._start = start
        trades = self._trades
        left = trades.pop_before((start,))  # keys are (timestamp, ...): older than start
        if not left:
            return
        largest = self._largest
        lost_largest = False
        for trade in left:
            side = trade.side
            if side is Side.BUY:
                self._buy -= trade.size
            elif side is Side.SELL:
                self._sell -= trade.size
            else:
                self._unknown -= trade.size
            lost_largest = lost_largest or trade is largest
        self._count -= len(left)
        if not trades:
            self._buy = self._sell = self._unknown = 0.0
            self._largest = None
        elif lost_largest:
            self._largest = _largest_of(iter(trades))

    def stats(self, now_ms: int, width_ms: int | None = None) -> WindowStats:
        """The window at ``now_ms`` without modifying it; ``width_ms`` (at most the window's
        width) narrows it: then summed over the narrower window's trades, newest first."""
        if width_ms is not None and width_ms != self.width_ms:
            return self._narrowed(now_ms, self._width(width_ms))
        start = now_ms - self.width_ms
        buy, sell, unknown, count = self._buy, self._sell, self._unknown, self._count
        largest = self._largest
        left = 0
        oldest_ms: int | None = None
        for trade in self._trades:  # those that left since the writer's advance, oldest first
            if trade.timestamp_ms >= start:
                oldest_ms = trade.timestamp_ms
                break
            left += 1
            side = trade.side
            if side is Side.BUY:
                buy -= trade.size
            elif side is Side.SELL:
                sell -= trade.size
            else:
                unknown -= trade.size
        if left:
            count -= left
            if count == 0:
                buy = sell = unknown = 0.0
            if largest is not None and largest.timestamp_ms < start:
                largest = _largest_of(self._in_window(start))
        if self._start is not None:
            start = max(start, self._start)
        return WindowStats(now_ms, start, buy, sell, unknown, count, largest, oldest_ms)

    def _narrowed(self, now_ms: int, width_ms: int) -> WindowStats:
        start = now_ms - width_ms
        buy = sell = unknown = 0.0
        count = 0
        largest: Trade | None = None
        oldest_ms: int | None = None
        for trade in reversed(self._trades):
            if trade.timestamp_ms < start:
                break
            oldest_ms = trade.timestamp_ms
            count += 1
            side = trade.side
            if side is Side.BUY:
                buy += trade.size
            elif side is Side.SELL:
                sell += trade.size
            else:
                unknown += trade.size
            if _bigger(trade, largest):
                largest = trade
        if self._start is not None:
            start = max(start, self._start)
        return WindowStats(now_ms, start, buy, sell, unknown, count, largest, oldest_ms)

    def trades(self, now_ms: int) -> tuple[Trade, ...]:
        """The trades in the window at ``now_ms``, oldest first (a copy of the window: for
        whoever needs every print; the per-event questions below copy nothing)."""
        return tuple(self._in_window(now_ms - self.width_ms))

    def oldest_ms(self, now_ms: int, width_ms: int | None = None) -> int | None:
        """Timestamp of the oldest trade in the window at ``now_ms`` (``width_ms``, at most
        the window's own width, narrows it): O(1) while the oldest trade held is still
        inside — the writer advances on every print —, else a binary search over the held
        trades. ``None`` if the window is empty."""
        oldest = self._trades.first_from((now_ms - self._width(width_ms),))
        return None if oldest is None else oldest.timestamp_ms

    def newest_at_least(self, now_ms: int, size: float,
                        width_ms: int | None = None) -> Trade | None:
        """The newest trade of at least ``size`` in the window at ``now_ms`` (narrowed by
        ``width_ms`` as in :meth:`oldest_ms`): searched from the newest trade back, no copy."""
        start = now_ms - self._width(width_ms)
        for trade in reversed(self._trades):
            if trade.timestamp_ms < start:
                return None
            if trade.size >= size:
                return trade
        return None

    def next_expiry_ms(self) -> int | None:
        """When the oldest trade held leaves the window (``None`` if empty)."""
        oldest = self._trades.oldest()
        return None if oldest is None else oldest[0][0] + self.width_ms

    def _width(self, width_ms: int | None) -> int:
        return self.width_ms if width_ms is None else narrowed_width(width_ms, self.width_ms)

    def _in_window(self, start: int) -> Iterator[Trade]:
        return (t for t in self._trades if t.timestamp_ms >= start)


def narrowed_width(width_ms: int, window_ms: int) -> int:
    """``width_ms`` if it narrows a window of ``window_ms`` (a window cannot be widened: the
    prints before its start are gone)."""
    if not 0 < width_ms <= window_ms:
        raise ValueError(f"width {width_ms} ms is not within the window's {window_ms} ms")
    return width_ms


def _largest_of(trades: Iterator[Trade]) -> Trade | None:
    largest: Trade | None = None
    for trade in trades:
        if _bigger(trade, largest):
            largest = trade
    return largest
