"""The ``md/getChart`` subscriptions of one market-data connection.

A subscription answers with history (packed tick packets for ``Tick`` charts, bar packets for
``MinuteBar``/``DailyBar`` charts) and then real-time packets built from each
:class:`MarketUpdate`. Which id each packet carries (reference §4.5–§4.8):

- history packets carry the ``realtimeId`` by default (``history_id="realtime"``):
  Tradovate's own example clients keep only packets under the realtime id, attach their
  listener after the answer and page backwards through history, which only works if the
  real server sends history under that id; ``history_id="historical"`` sends it under the
  ``historicalId`` (the reference's "id matches either" allows both, so a client must too);
- the end-of-history mark ``{"id": realtimeId, "eoh": true}`` carries the ``realtimeId``, as
  Tradovate's FAQ on data size limits describes it ("the realtimeId of the getChart
  subscription");
- real-time packets carry the ``realtimeId``.

The realtime id is allocated first and the historical id next, as in the reference's response
example (``{"historicalId":32,"realtimeId":31}``); ``md/cancelChart`` accepts either.

Bars: a ``MinuteBar`` chart of N minutes has bars aligned to multiples of N minutes since the
epoch (UTC) and stamped with their start; a ``DailyBar`` chart has one bar per CME trade date,
stamped with that date at 00:00 UTC. Only periods with trades have bars. ``withHistogram`` is
accepted and ignored (bars carry no ``histogram``). Tick and real-time packets have ``s: "db"``,
the only source value the reference shows.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from ..protocol.models import (
    Bar,
    ChartPacket,
    ChartSubscriptionResult,
    GetChart,
    Tick,
    TimeRange,
)
from ..protocol.ticks import pack_ticks
from .book import MarketUpdate
from .engine_time import iso_timestamp
from .instruments import Instrument
from .marketgen import MarketGenerator, MinuteBar

TICKS_PER_PACKET = 100
BARS_PER_PACKET = 100
DEFAULT_HISTORY_LIMIT = 5_000
"""Most elements one request returns; clients page further back with ``closestTimestamp``
(the real server's cap varies, reference §4.5)."""
_REORDER_P = 0.25
"""With an ``rng``: chance that a tick packet is emitted after a later one."""
_MINUTE_MS = 60_000
_SUPPORTED_TYPES = ("Tick", "MinuteBar", "DailyBar")


class _RequestError(Exception):
    """A request the simulator refuses; becomes an ``errorText``/``errorCode`` result."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


@dataclass(slots=True, eq=False)
class _Chart:
    contract_id: int
    tick_size: float
    historical_id: int
    realtime_id: int
    underlying_type: str
    period_ms: int
    """Bar length of a MinuteBar chart (0 for tick and daily charts)."""
    deferred: list[ChartPacket] = field(default_factory=list)
    """Real-time tick packets held back to be sent after a later one."""
    prefix: _Prefix | None = None


@dataclass(slots=True)
class _Prefix:
    """The folded minutes of a bar chart's current period that precede ``upto_ms``."""

    key: int
    upto_ms: int
    total: MinuteBar | None


@dataclass(frozen=True, slots=True)
class _Period:
    """One chart bar with its start and trade date."""

    start_ms: int
    trade_date: int
    bar: Bar


@dataclass(slots=True)
class _Range:
    closest_ms: int | None
    as_far_ms: int | None
    closest_tick_id: int | None
    elements: int


def _parse_timestamp(text: str | None, name: str) -> int | None:
    """Epoch ms of an ISO-8601 time, with or without seconds (``2017-04-13T11:33Z``)."""
    if text is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise _RequestError("UnknownReason", f"Invalid {name}: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return round(moment.timestamp() * 1000)


def _fold(total: MinuteBar, minute: MinuteBar) -> None:
    """Add a later minute to a running bar."""
    total.high = max(total.high, minute.high)
    total.low = min(total.low, minute.low)
    total.close = minute.close
    total.up_volume += minute.up_volume
    total.down_volume += minute.down_volume
    total.up_ticks += minute.up_ticks
    total.down_ticks += minute.down_ticks
    total.bid_volume += minute.bid_volume
    total.offer_volume += minute.offer_volume


def _chunks(items: Sequence[object], key: Callable[[int], int],
            size: int) -> list[tuple[int, int, int]]:
    """(start, stop, key) runs of at most ``size`` consecutive items with the same key."""
    runs = []
    start = 0
    for index in range(1, len(items) + 1):
        if (index == len(items) or index - start == size
                or key(index) != key(start)):
            runs.append((start, index, key(start)))
            start = index
    return runs


class ChartSubscriptions:
    """Live charts of one md connection: history on subscribe, then real-time packets."""

    def __init__(self, generator: MarketGenerator, *, rng: random.Random | None = None,
                 history_limit: int = DEFAULT_HISTORY_LIMIT,
                 history_id: Literal["realtime", "historical"] = "realtime") -> None:
        self._generator = generator
        self._rng = rng
        self._history_limit = history_limit
        self._history_under_realtime = history_id == "realtime"
        self._charts: dict[int, _Chart] = {}
        """Every live chart under both of its ids."""

    def __len__(self) -> int:
        return len({id(chart) for chart in self._charts.values()})

    # ----------------------------------------------------------------- subscribe / cancel

    def subscribe(self, instrument: Instrument | None,
                  request: GetChart) -> tuple[ChartSubscriptionResult, list[ChartPacket]]:
        """Answer ``md/getChart``: the result and the history packets ending with ``eoh``.

        ``instrument`` is what the request's ``symbol`` resolved to (``None`` if nothing):
        refused requests give a result with ``errorText``/``errorCode`` and no packets.
        """
        try:
            if instrument is None:
                raise _RequestError("UnknownSymbol", f"Unknown symbol: {request.symbol}")
            underlying, period_ms = self._validate_description(request)
            window = self._validate_range(request.time_range)
        except _RequestError as exc:
            return ChartSubscriptionResult(mode="None", error_text=exc.text,
                                           error_code=exc.code), []
        realtime_id = self._generator.next_chart_id()
        historical_id = self._generator.next_chart_id()
        chart = _Chart(instrument.contract_id, instrument.tick_size, historical_id,
                       realtime_id, underlying, period_ms)
        if underlying == "Tick":
            packets = self._tick_history(chart, window)
        else:
            packets = self._bar_history(chart, window)
        packets.append(ChartPacket(id=realtime_id, eoh=True))
        self._charts[historical_id] = self._charts[realtime_id] = chart
        return ChartSubscriptionResult(historical_id=historical_id, realtime_id=realtime_id,
                                       mode="RealTime"), packets

    def cancel(self, subscription_id: int) -> bool:
        """Stop the chart with this historical or realtime id; False if there is none."""
        chart = self._charts.pop(subscription_id, None)
        if chart is None:
            return False
        self._charts.pop(chart.historical_id, None)
        self._charts.pop(chart.realtime_id, None)
        return True

    def _history_packet_id(self, chart: _Chart) -> int:
        return chart.realtime_id if self._history_under_realtime else chart.historical_id

    @staticmethod
    def _validate_description(request: GetChart) -> tuple[str, int]:
        description = request.chart_description
        kind, size = description.underlying_type, description.element_size
        if kind not in _SUPPORTED_TYPES:
            raise _RequestError("OperationNotSupported",
                                f"Charts of underlyingType {kind!r} are not supported")
        if description.element_size_unit != "UnderlyingUnits":
            raise _RequestError("OperationNotSupported",
                                f"elementSizeUnit {description.element_size_unit!r} is not "
                                "supported")
        if kind in ("Tick", "DailyBar") and size != 1:
            raise _RequestError("OperationNotSupported",
                                f"{kind} charts require elementSize 1")
        if size < 1:
            raise _RequestError("UnknownReason", "elementSize must be positive")
        return kind, size * _MINUTE_MS if kind == "MinuteBar" else 0

    def _validate_range(self, time_range: TimeRange) -> _Range:
        if (time_range.closest_timestamp is None and time_range.as_far_as_timestamp is None
                and time_range.closest_tick_id is None
                and time_range.as_much_as_elements is None):
            raise _RequestError("UnknownReason", "timeRange needs at least one field")
        elements = time_range.as_much_as_elements
        if elements is not None and elements < 0:
            raise _RequestError("UnknownReason", "asMuchAsElements must not be negative")
        limit = self._history_limit if elements is None else min(elements, self._history_limit)
        return _Range(_parse_timestamp(time_range.closest_timestamp, "closestTimestamp"),
                      _parse_timestamp(time_range.as_far_as_timestamp, "asFarAsTimestamp"),
                      time_range.closest_tick_id, limit)

    # ----------------------------------------------------------------- ticks

    def _tick_history(self, chart: _Chart, window: _Range) -> list[ChartPacket]:
        """The newest ticks inside the window, oldest first, packed in chunks that never
        straddle a trade date."""
        chosen: list[Tick] = []
        for tick in reversed(self._generator.ticks(chart.contract_id)):
            if len(chosen) >= window.elements:
                break
            if window.as_far_ms is not None and tick.timestamp_ms < window.as_far_ms:
                break
            if window.closest_ms is not None and tick.timestamp_ms > window.closest_ms:
                continue
            if window.closest_tick_id is not None and tick.id > window.closest_tick_id:
                continue
            chosen.append(tick)
        chosen.reverse()
        packets = self._pack(self._history_packet_id(chart), chosen, chart.tick_size)
        return self._maybe_shuffle(packets)

    def _pack(self, packet_id: int, ticks: Sequence[Tick],
              tick_size: float) -> list[ChartPacket]:
        trade_date = self._generator.trade_date
        return [pack_ticks(packet_id, ticks[start:stop], tick_size, td)
                for start, stop, td in _chunks(
                    ticks, lambda i: trade_date(ticks[i].timestamp_ms), TICKS_PER_PACKET)]

    def _maybe_shuffle(self, packets: list[ChartPacket]) -> list[ChartPacket]:
        """With an ``rng``: sometimes swap two neighbouring packets (out of time order)."""
        if self._rng is not None and len(packets) > 1 and self._rng.random() < _REORDER_P:
            i = self._rng.randrange(len(packets) - 1)
            packets[i], packets[i + 1] = packets[i + 1], packets[i]
        return packets

    # ----------------------------------------------------------------- bars

    def _bar_key(self, chart: _Chart) -> Callable[[MinuteBar], int]:
        """The period a minute belongs to: its trade date, or its N-minute slot's start."""
        if chart.underlying_type == "DailyBar":
            return lambda minute: minute.trade_date
        period = chart.period_ms
        return lambda minute: minute.start_ms - minute.start_ms % period

    def _aggregate(self, chart: _Chart, minutes: Iterable[MinuteBar],
                   prefix: MinuteBar | None = None) -> list[_Period]:
        """One bar per chart period, oldest first, from one-minute bars; ``prefix`` is the
        already folded start of the first period."""
        key = self._bar_key(chart)
        out: list[_Period] = []
        current = replace(prefix) if prefix is not None else None
        current_key = key(prefix) if prefix is not None else 0
        for minute in minutes:
            k = key(minute)
            if current is not None and k == current_key:
                _fold(current, minute)
                continue
            if current is not None:
                out.append(self._period(chart, current_key, current))
            current, current_key = replace(minute), k
        if current is not None:
            out.append(self._period(chart, current_key, current))
        return out

    @staticmethod
    def _period(chart: _Chart, key: int, total: MinuteBar) -> _Period:
        if chart.underlying_type == "DailyBar":
            day = dt.datetime(key // 10_000, key // 100 % 100, key % 100, tzinfo=dt.UTC)
            start_ms = int(day.timestamp()) * 1000
        else:
            start_ms = key
        bar = Bar(timestamp=iso_timestamp(start_ms / 1000), open=total.open, high=total.high,
                  low=total.low, close=total.close, up_volume=total.up_volume,
                  down_volume=total.down_volume, up_ticks=total.up_ticks,
                  down_ticks=total.down_ticks, bid_volume=total.bid_volume,
                  offer_volume=total.offer_volume)
        return _Period(start_ms, total.trade_date, bar)

    def _bar_history(self, chart: _Chart, window: _Range) -> list[ChartPacket]:
        periods = self._aggregate(chart, self._generator.minute_bars(chart.contract_id))
        chosen: list[_Period] = []
        for period in reversed(periods):
            if len(chosen) >= window.elements:
                break
            if window.as_far_ms is not None and period.start_ms < window.as_far_ms:
                break
            if window.closest_ms is not None and period.start_ms > window.closest_ms:
                continue
            chosen.append(period)
        chosen.reverse()
        return self._bar_packets(self._history_packet_id(chart), chosen)

    @staticmethod
    def _bar_packets(packet_id: int, periods: Sequence[_Period]) -> list[ChartPacket]:
        bars = [period.bar for period in periods]
        return [ChartPacket(id=packet_id, td=td, bars=bars[start:stop])
                for start, stop, td in _chunks(bars, lambda i: periods[i].trade_date,
                                               BARS_PER_PACKET)]

    # ----------------------------------------------------------------- real time

    def on_update(self, update: MarketUpdate) -> list[ChartPacket]:
        """Real-time packets of this connection's charts for one generator step: the new
        trades of tick charts, and the (re-sent, updated) current bars of bar charts."""
        if not self._charts:
            return []
        traded: dict[int, list[Tick]] = {}
        for contract_id, tick in update.trades:
            traded.setdefault(contract_id, []).append(tick)
        out: list[ChartPacket] = []
        seen: set[int] = set()
        for chart in self._charts.values():
            if id(chart) in seen:
                continue
            seen.add(id(chart))
            ticks = traded.get(chart.contract_id)
            held, chart.deferred = chart.deferred, []
            if ticks:
                if chart.underlying_type == "Tick":
                    self._realtime_ticks(chart, ticks, out)
                else:
                    out.extend(self._realtime_bars(chart, ticks))
            out.extend(held)
        return out

    def _realtime_ticks(self, chart: _Chart, ticks: list[Tick],
                        out: list[ChartPacket]) -> None:
        for packet in self._pack(chart.realtime_id, ticks, chart.tick_size):
            if self._rng is not None and self._rng.random() < _REORDER_P:
                chart.deferred.append(packet)
            else:
                out.append(packet)

    def _realtime_bars(self, chart: _Chart, ticks: list[Tick]) -> list[ChartPacket]:
        """The bars the new trades touched, recomputed from the generator's minute bars.

        The part of the first touched period before the first touched minute is folded once
        and cached on the chart, so a daily chart does not re-add a whole day every step."""
        first_minute = ticks[0].timestamp_ms - ticks[0].timestamp_ms % _MINUTE_MS
        minutes = self._generator.minute_bars(chart.contract_id)
        touched: list[MinuteBar] = []
        for minute in reversed(minutes):
            if minute.start_ms < first_minute:
                break
            touched.append(minute)
        touched.reverse()
        first_key = self._bar_key(chart)(touched[0])
        prefix = self._prefix(chart, minutes, first_key, first_minute)
        periods = self._aggregate(chart, touched, prefix)
        return self._bar_packets(chart.realtime_id, periods)

    def _prefix(self, chart: _Chart, minutes: Sequence[MinuteBar], period_key: int,
                before_ms: int) -> MinuteBar | None:
        """Fold of the minutes of period ``period_key`` that start before ``before_ms``."""
        key = self._bar_key(chart)
        cache = chart.prefix
        if cache is None or cache.key != period_key or cache.upto_ms > before_ms:
            cache = _Prefix(period_key, -1, None)
        missing: list[MinuteBar] = []
        for minute in reversed(minutes):
            if minute.start_ms >= before_ms:
                continue
            if minute.start_ms < cache.upto_ms or key(minute) != period_key:
                break
            missing.append(minute)
        for minute in reversed(missing):
            if cache.total is None:
                cache.total = replace(minute)
            else:
                _fold(cache.total, minute)
        cache.upto_ms = before_ms
        chart.prefix = cache
        return cache.total
