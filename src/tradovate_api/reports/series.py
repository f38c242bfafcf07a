"""Time series for the charts: the P&L curve, rebuilt from fills and prices, and thinning.

The P&L curve is marked to market at every event the report knows about: each fill (booked
FIFO, exactly like the account store's ledger, and the fill price becomes the contract's
price) and each price sample (sampled marks, time-and-sales prints). After each event the
total is realized − commissions + open P&L of every (account, contract) at its contract's
latest price, so between fills the curve moves with the market as the trader saw it.

A ledger is one trade date: it opens with the position carried in (at the settlement) and,
when a later trade date follows it in the report, it counts until that day's session start
and then stays at its value marked at the settlement; the following day counts from there.
Carried contracts without a price add nothing (the report's total says it is unknown).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec

from ..stores.pnl import FifoLedger
from .data import Point
from .roundtrips import FillIn


class LedgerInput(msgspec.Struct, frozen=True, gc=False):
    """The fills of one (account, contract) on one trade date, the position it opened with
    and how to turn points into money. ``start_ms``/``end_ms`` bound the time it counts in
    the curve (``None``: unbounded); after ``end_ms`` it is marked at ``settlement``."""

    account_id: int
    contract_id: int
    symbol: str
    fills: tuple[FillIn, ...]
    value_per_point: float
    commission_per_side: float
    prev_pos: int = 0
    prev_price: float | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    settlement: float | None = None
    trade_date: str = ""
    """``YYYY-MM-DD``, empty when unknown."""


def pnl_curve(ledgers: Iterable[LedgerInput], prices: Mapping[int, Sequence[Point]],
              ) -> list[Point]:
    """Total P&L after each fill and price event, in time order (fills before prices at the
    same millisecond); an event that changes nothing at the same millisecond adds no point."""
    books = list(ledgers)
    events: list[tuple[int, int, int, int]] = []
    """(t_ms, 0 = fill / 1 = price, tie-break, index) sorted into time order."""
    for index, book in enumerate(books):
        events.extend((fill.t_ms, 0, fill.id, index) for fill in book.fills)
    contracts = sorted({book.contract_id for book in books})
    for slot, contract_id in enumerate(contracts):
        events.extend((point.t_ms, 1, position, slot)
                      for position, point in enumerate(prices.get(contract_id, ())))
    events.sort()
    by_contract: dict[int, list[int]] = {}
    for index, book in enumerate(books):
        by_contract.setdefault(book.contract_id, []).append(index)
    fifo = [FifoLedger(None, book.prev_pos, book.prev_price) for book in books]
    fill_at = [{fill.id: fill for fill in book.fills} for book in books]
    last_price: dict[int, float] = {}
    value = [0.0] * len(books)
    curve: list[Point] = []

    def revalue(index: int, t_ms: int) -> None:
        book, ledger = books[index], fifo[index]
        if book.start_ms is not None and t_ms < book.start_ms:
            return  # a later trade date, not begun yet: it counts 0
        price = last_price.get(book.contract_id)
        if book.end_ms is not None and t_ms >= book.end_ms:
            if book.settlement is None:
                return  # an earlier trade date whose settlement is unknown: as it last was
            price = book.settlement
        open_points = ledger.open_points(price) if price is not None and ledger.net_pos else 0.0
        value[index] = ((ledger.realized_points + open_points) * book.value_per_point
                        - ledger.traded_qty * book.commission_per_side)

    for t_ms, kind, key, index in events:
        if kind == 0:
            fill = fill_at[index][key]
            fifo[index].add(fill.id, fill.is_buy, fill.qty, fill.price)
            contract_id = books[index].contract_id
            last_price[contract_id] = fill.price
        else:
            contract_id = contracts[index]
            last_price[contract_id] = prices[contract_id][key].value
        for touched in by_contract[contract_id]:
            revalue(touched, t_ms)
        point = Point(t_ms, sum(value))
        if not curve or curve[-1] != point:
            curve.append(point)
    return curve


def thin(points: Sequence[Point], limit: int, keep: Iterable[int] = ()) -> tuple[Point, ...]:
    """At most about ``limit`` points spread evenly over the time span: the last point of each
    time bucket, plus the first point and every point at a time in ``keep`` (fill times)."""
    if len(points) <= limit:
        return tuple(points)
    start, end = points[0].t_ms, points[-1].t_ms
    span = max(end - start, 1)
    keep_times = set(keep)
    chosen: list[Point] = [points[0]]
    bucket_of = [min((p.t_ms - start) * limit // span, limit - 1) for p in points]
    for i in range(1, len(points)):
        last_in_bucket = i == len(points) - 1 or bucket_of[i + 1] != bucket_of[i]
        if last_in_bucket or points[i].t_ms in keep_times:
            chosen.append(points[i])
    return tuple(chosen)
