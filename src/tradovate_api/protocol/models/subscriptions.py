"""Market-data request bodies: quote/DOM/histogram subscriptions and charts."""

from __future__ import annotations

from ._base import WireModel


class SymbolRequest(WireModel, frozen=True):
    """Body of ``md/subscribeQuote``/``DOM``/``Histogram`` and their unsubscribe calls.

    ``symbol`` is a contract name (``"ESZ6"``, ``"@ES"`` for continuous) or a contract id.
    """

    symbol: str | int


class ChartDescription(WireModel, frozen=True):
    underlying_type: str
    element_size: int
    element_size_unit: str
    with_histogram: bool | None = None


class TimeRange(WireModel, frozen=True):
    """At least one field must be set."""

    closest_timestamp: str | None = None
    closest_tick_id: int | None = None
    as_far_as_timestamp: str | None = None
    as_much_as_elements: int | None = None


class GetChart(WireModel, frozen=True):
    """Body of ``md/getChart``. Tick charts need ``element_size == 1``."""

    symbol: str | int
    chart_description: ChartDescription
    time_range: TimeRange


class CancelChart(WireModel, frozen=True):
    """Body of ``md/cancelChart``; send the ``realtimeId`` (servers accept either id)."""

    subscription_id: int
