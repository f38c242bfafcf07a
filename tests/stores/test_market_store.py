"""Market-data store against hand-computed sequences of md and chart events."""

from __future__ import annotations

import msgspec
import pytest

from tradovate_api.protocol import ChartEvent, MarketDataEvent, Side, decode_messages, pack_ticks
from tradovate_api.protocol.models import (
    Bar,
    ChartData,
    ChartPacket,
    Dom,
    MarketData,
    PriceLevel,
    Quote,
    QuoteEntries,
    QuoteEntry,
    Tick,
)
from tradovate_api.stores import (
    BarUpdated,
    DomBook,
    HistoryEnded,
    MarketDataView,
    MarketDataWriter,
    QuoteState,
    TradesAdded,
    create_market_store,
)

ES, NQ = 123456, 654321
TICK = 0.25
HIST, RT = 31, 32


class Clock:
    def __init__(self, now: int = 0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _store(**kwargs: int) -> tuple[MarketDataView, MarketDataWriter, Clock]:
    clock = Clock(10_000)
    view, writer = create_market_store(clock_ms=clock, **kwargs)
    return view, writer, clock


def _tick(ident: int, ts: int, price: float, size: float, bid: float | None = None,
          ask: float | None = None) -> Tick:
    return Tick(ident, ts, round(price / TICK), price, size, bid, 10.0 if bid else None,
                ask, 10.0 if ask else None)


def _ticks(chart_id: int, *ticks: Tick) -> ChartEvent:
    return ChartEvent(ChartData(charts=[pack_ticks(chart_id, list(ticks), TICK, 20240102)]))


def _md(*items: Quote | Dom) -> MarketDataEvent:
    return MarketDataEvent(MarketData(quotes=[q for q in items if isinstance(q, Quote)],
                                      doms=[d for d in items if isinstance(d, Dom)]))


def test_quote_merge_keeps_absent_entries_and_fields() -> None:
    view, writer, _ = _store()
    frame = (b'[{"e":"md","d":{"quotes":[{"timestamp":"2017-04-13T04:59:06.588Z",'
             b'"contractId":123456,"entries":{"Bid":{"price":18405,"size":7},'
             b'"TotalTradeVolume":{"size":4118},"Offer":{"price":18410,"size":12},'
             b'"LowPrice":{"price":18355},"Trade":{"price":18405,"size":2},'
             b'"OpenInterest":{"size":40702},"OpeningPrice":{"price":18515},'
             b'"HighPrice":{"price":18520},"SettlementPrice":{"price":18520}}}]}}]')
    (event,) = decode_messages(frame)
    assert isinstance(event, MarketDataEvent)
    (first,) = writer.apply(event)
    assert first == QuoteState(ES, "2017-04-13T04:59:06.588Z", bid=18405, bid_size=7,
                               ask=18410, ask_size=12, last=18405, last_size=2,
                               total_volume=4118, open_interest=40702, high=18520, low=18355,
                               open=18515, settlement=18520)
    update = Quote(contract_id=ES, timestamp="2017-04-13T04:59:07.000Z",
                   entries=QuoteEntries(bid=QuoteEntry(price=18406),
                                        total_trade_volume=QuoteEntry(size=4120)))
    (second,) = writer.apply(_md(update))
    assert second == msgspec.structs.replace(first, timestamp="2017-04-13T04:59:07.000Z",
                                             bid=18406, total_volume=4120)
    assert second.bid_size == 7  # the Bid entry came without size: the old size stays
    assert view.quote(ES) is second
    assert view.quotes[ES].mid == (18406 + 18410) / 2
    assert view.quote(NQ) is None


def test_quotes_of_several_contracts_in_one_push() -> None:
    view, writer, _ = _store()
    entries = QuoteEntries(bid=QuoteEntry(price=1.0, size=1), offer=QuoteEntry(price=2.0, size=1))
    changes = writer.apply(_md(Quote(contract_id=ES, timestamp="t1", entries=entries),
                               Quote(contract_id=NQ, timestamp="t1", entries=entries)))
    assert [c.contract_id for c in changes if isinstance(c, QuoteState)] == [ES, NQ]
    assert set(view.quotes) == {ES, NQ}


def _dom(contract_id: int, bids: list[tuple[float, float]],
         offers: list[tuple[float, float]], ts: str = "t") -> Dom:
    return Dom(contract_id=contract_id, timestamp=ts,
               bids=[PriceLevel(price=p, size=s) for p, s in bids],
               offers=[PriceLevel(price=p, size=s) for p, s in offers])


def test_dom_push_replaces_both_sides_and_keeps_levels_sorted() -> None:
    view, writer, _ = _store()
    (book,) = writer.apply(_md(_dom(ES, [(2335.0, 5), (2335.25, 33), (2333.0, 758)],
                                    [(2336.0, 4), (2335.5, 255)])))
    assert isinstance(book, DomBook)
    assert [lvl.price for lvl in book.bids] == [2335.25, 2335.0, 2333.0]
    assert [lvl.price for lvl in book.offers] == [2335.5, 2336.0]
    assert book.best_bid == PriceLevel(price=2335.25, size=33)
    assert book.best_ask == PriceLevel(price=2335.5, size=255)
    assert (book.bid_size_total, book.offer_size_total) == (796, 259)
    (second,) = writer.apply(_md(_dom(ES, [(2334.0, 1)], [])))
    assert view.dom(ES) is second
    assert second.bids == (PriceLevel(price=2334.0, size=1),)
    assert second.offers == ()
    assert second.best_ask is None
    assert (second.bid_size_total, second.offer_size_total) == (1, 0)


def test_a_dom_book_is_read_only_and_compares_by_content() -> None:
    _, writer, _ = _store()
    levels = ([(2335.0, 5), (2335.25, 33)], [(2335.5, 255)])
    (book,) = writer.apply(_md(_dom(ES, *levels)))
    (same,) = writer.apply(_md(_dom(ES, [(2335.25, 33), (2335.0, 5)], levels[1])))
    (other,) = writer.apply(_md(_dom(ES, [(2335.25, 34), (2335.0, 5)], levels[1])))
    with pytest.raises(AttributeError):
        book.bids = ()  # type: ignore[misc]
    with pytest.raises(AttributeError):
        book.extra = 1  # type: ignore[attr-defined]
    assert book == same
    assert hash(book) == hash(same)
    assert book != other
    assert "2335.25" in repr(book)


def test_pooled_dom_totals() -> None:
    view, writer, _ = _store()
    writer.apply(_md(_dom(ES, [(10.0, 30), (9.75, 20)], [(10.25, 10)]),
                     _dom(NQ, [(20.0, 5)], [(20.25, 40), (20.5, 15)])))
    assert view.dom_totals() == (55, 65)
    assert view.dom_totals([ES]) == (50, 10)
    assert view.dom_totals([NQ, 999]) == (5, 55)


def test_aggressor_side_from_tick_bid_and_ask() -> None:
    view, writer, _ = _store()
    writer.register_chart(ES, HIST, RT)
    writer.apply(_ticks(RT,
                        _tick(1, 1000, 100.25, 1, bid=100.0, ask=100.25),   # at ask
                        _tick(2, 1001, 100.50, 2, bid=100.0, ask=100.25),   # above ask
                        _tick(3, 1002, 100.00, 3, bid=100.0, ask=100.25),   # at bid
                        _tick(4, 1003, 99.75, 4, bid=100.0, ask=100.25),    # below bid
                        _tick(5, 1004, 100.25, 5, bid=100.0, ask=100.50),   # inside spread
                        _tick(6, 1005, 100.25, 6)))                          # no bid/ask
    sides = [t.side for t in view.trades(ES)]
    assert sides == [Side.BUY, Side.BUY, Side.SELL, Side.SELL, Side.UNKNOWN, Side.UNKNOWN]
    assert view.trades(ES)[0].bid == 100.0
    assert view.trades(ES)[0].ask == 100.25


def test_history_under_the_realtime_id_is_history_until_eoh() -> None:
    view, writer, clock = _store()
    clock.now = 1500
    writer.register_chart(ES, HIST, RT, history_first=True)
    (hist,) = writer.apply(_ticks(RT, _tick(1, 1000, 10.0, 1), _tick(2, 1001, 10.0, 2)))
    assert isinstance(hist, TradesAdded)
    assert not hist.realtime
    (ended,) = writer.apply(ChartEvent(ChartData(charts=[ChartPacket(id=RT, eoh=True)])))
    assert isinstance(ended, HistoryEnded)
    (live,) = writer.apply(_ticks(RT, _tick(3, 1002, 10.25, 3)))
    assert isinstance(live, TradesAdded)
    assert live.realtime
    assert [t.id for t in view.trades(ES)] == [1, 2, 3]


def test_ticks_deduplicated_across_history_and_realtime() -> None:
    view, writer, clock = _store()
    clock.now = 1500
    writer.register_chart(ES, HIST, RT)
    (hist,) = writer.apply(_ticks(HIST, _tick(1, 1000, 10.0, 1), _tick(2, 1001, 10.0, 2)))
    assert isinstance(hist, TradesAdded)
    assert not hist.realtime
    assert [t.id for t in hist.trades] == [1, 2]
    (live,) = writer.apply(_ticks(RT, _tick(2, 1001, 10.0, 2), _tick(3, 1002, 10.25, 3)))
    assert isinstance(live, TradesAdded)
    assert live.realtime
    assert [t.id for t in live.trades] == [3]
    assert writer.apply(_ticks(RT, _tick(3, 1002, 10.25, 3))) == []
    assert [t.id for t in view.trades(ES)] == [1, 2, 3]
    assert view.window(ES, now_ms=1500).count == 3


def test_out_of_order_packets_are_kept_in_timestamp_then_id_order() -> None:
    view, writer, _ = _store()
    writer.register_chart(ES, HIST, RT)
    writer.apply(_ticks(RT, _tick(7, 2000, 10.0, 1), _tick(9, 2001, 10.0, 1)))
    (late,) = writer.apply(_ticks(RT, _tick(5, 1500, 10.0, 1), _tick(8, 2000, 10.0, 1),
                                  _tick(6, 1500, 10.0, 1)))
    assert isinstance(late, TradesAdded)
    assert [t.id for t in late.trades] == [5, 6, 8]
    assert [(t.timestamp_ms, t.id) for t in view.trades(ES)] == [
        (1500, 5), (1500, 6), (2000, 7), (2000, 8), (2001, 9)]
    assert view.last_trade(ES) is not None
    assert view.last_trade(ES).id == 9  # type: ignore[union-attr]
    assert [t.id for t in view.trades(ES, last=2)] == [8, 9]


def test_time_and_sales_is_bounded() -> None:
    view, writer, _ = _store(trades_per_contract=3)
    writer.register_chart(ES, HIST, RT)
    writer.apply(_ticks(RT, *(_tick(i, 1000 + i, 10.0, 1) for i in range(1, 6))))
    assert [t.id for t in view.trades(ES)] == [3, 4, 5]
    # An evicted (older than everything kept) tick re-sent by history is not re-added.
    assert writer.apply(_ticks(HIST, _tick(1, 1001, 10.0, 1))) == []
    # A newer one evicts the oldest and is deduplicated afterwards.
    writer.apply(_ticks(RT, _tick(6, 1006, 10.0, 1)))
    assert [t.id for t in view.trades(ES)] == [4, 5, 6]
    assert writer.apply(_ticks(RT, _tick(6, 1006, 10.0, 1))) == []
    # Tick 4 is still held, so it is a duplicate; a new tick between kept ones is inserted.
    writer.apply(_ticks(RT, _tick(4, 1004, 10.0, 1), _tick(10, 1005, 10.0, 1)))
    assert [t.id for t in view.trades(ES)] == [5, 10, 6]


def test_rolling_windows_at_their_boundaries() -> None:
    view, writer, clock = _store()
    writer.register_chart(ES, HIST, RT)
    writer.register_chart(NQ, 41, 42)
    clock.now = 2000
    writer.apply(_ticks(RT, _tick(1, 1000, 10.25, 5, bid=10.0, ask=10.25),     # buy 5
                        _tick(2, 1500, 10.0, 3, bid=10.0, ask=10.25),          # sell 3
                        _tick(3, 2000, 10.25, 10, bid=10.0, ask=10.25)))       # buy 10
    writer.apply(_ticks(42, _tick(1, 1800, 20.0, 7, bid=20.0, ask=20.25),      # NQ sell 7
                        _tick(2, 1900, 20.25, 2, bid=20.0, ask=20.5)))         # NQ unknown
    at_2000 = view.window(ES)
    assert (at_2000.start_ms, at_2000.buy_volume, at_2000.sell_volume) == (1000, 15, 3)
    assert at_2000.net_volume == 12
    assert at_2000.largest is not None
    assert at_2000.largest.id == 3
    # One millisecond later the print stamped 1000 has left (start is inclusive).
    at_2001 = view.window(ES, now_ms=2001)
    assert (at_2001.buy_volume, at_2001.sell_volume, at_2001.count) == (10, 3, 2)
    pooled = view.window(None, now_ms=2001)
    assert (pooled.buy_volume, pooled.sell_volume, pooled.unknown_volume) == (10, 10, 2)
    assert pooled.count == 4
    assert pooled.largest is not None
    assert (pooled.largest.contract_id, pooled.largest.size) == (ES, 10)
    assert [t.id for t in view.window_trades(NQ, now_ms=2001)] == [1, 2]
    assert view.next_window_expiry_ms(ES) == 2000
    # The biggest print leaves: the largest is recomputed on read and after expiry.
    at_3001 = view.window(None, now_ms=3001)
    assert (at_3001.buy_volume, at_3001.sell_volume, at_3001.count) == (0, 0, 0)
    assert at_3001.largest is None
    at_2900 = view.window(None, now_ms=2900)
    assert at_2900.largest is not None
    assert at_2900.largest.id == 3
    writer.expire(3000)
    assert view.window(ES, now_ms=3000).buy_volume == 10
    assert view.next_window_expiry_ms(ES) == 3000
    writer.expire(3001)
    assert view.window(ES, now_ms=3001).count == 0
    assert view.next_window_expiry_ms(ES) is None
    # A late print older than the window's start is history, not pressure.
    clock.now = 3001
    writer.apply(_ticks(RT, _tick(4, 1999, 10.25, 50, bid=10.0, ask=10.25)))
    assert view.window(ES, now_ms=3001).count == 0
    assert [t.id for t in view.trades(ES)] == [1, 2, 4, 3]
    assert view.window(999, now_ms=3001).count == 0


def test_largest_trade_ties_prefer_the_newest_and_survive_partial_expiry() -> None:
    view, writer, clock = _store(window_ms=100)
    writer.register_chart(ES, HIST, RT)
    clock.now = 0
    writer.apply(_ticks(RT, _tick(1, 10, 1.0, 400), _tick(2, 20, 1.0, 9),
                        _tick(3, 30, 1.0, 400), _tick(4, 40, 1.0, 50)))
    largest = view.window(ES, now_ms=100).largest
    assert largest is not None
    assert largest.id == 3
    writer.expire(125)
    largest = view.window(ES, now_ms=125).largest
    assert largest is not None
    assert largest.id == 3
    writer.expire(131)
    largest = view.window(ES, now_ms=131).largest
    assert largest is not None
    assert largest.id == 4


def _bar(ts: str, close: float) -> Bar:
    return Bar(timestamp=ts, open=1.0, high=max(1.0, close), low=min(1.0, close), close=close)


def _bars(chart_id: int, *bars: Bar) -> ChartEvent:
    return ChartEvent(ChartData(charts=[ChartPacket(id=chart_id, td=20240102, bars=list(bars))]))


def test_bars_replace_by_timestamp_and_stay_sorted() -> None:
    view, writer, _ = _store(bars_per_series=3)
    writer.register_chart(ES, 9, 10, series="1m")
    changes = writer.apply(_bars(9, _bar("2024-01-02T15:00:00.000Z", 2.0),
                                 _bar("2024-01-02T15:01:00.000Z", 3.0)))
    assert [(c.is_new, c.realtime) for c in changes if isinstance(c, BarUpdated)] == [
        (True, False), (True, False)]
    (resent,) = writer.apply(_bars(10, _bar("2024-01-02T15:01:00.000Z", 3.5)))
    assert isinstance(resent, BarUpdated)
    assert (resent.is_new, resent.realtime, resent.series) == (False, True, "1m")
    writer.apply(_bars(10, _bar("2024-01-02T14:59:00.000Z", 1.5)))
    assert [b.close for b in view.bars(ES, "1m")] == [1.5, 2.0, 3.5]
    writer.apply(_bars(10, _bar("2024-01-02T15:02:00.000Z", 4.0)))
    assert [b.close for b in view.bars(ES, "1m")] == [2.0, 3.5, 4.0]
    assert view.bars(ES) == ()


def test_end_of_history_unknown_and_cancelled_charts() -> None:
    view, writer, _ = _store()
    writer.register_chart(ES, HIST, RT, series="ticks")
    (end,) = writer.apply(ChartEvent(ChartData(charts=[ChartPacket(id=HIST, eoh=True)])))
    assert end == HistoryEnded(ES, "ticks", HIST)
    assert writer.apply(_ticks(77, _tick(1, 1, 1.0, 1))) == []
    assert view.chart_contract(RT) == ES
    writer.unregister_chart(RT)
    assert view.chart_contract(HIST) is None
    assert writer.apply(_ticks(HIST, _tick(1, 1, 1.0, 1))) == []
    assert view.trades(ES) == ()


def test_mark_price_prefers_quote_mid_then_dom_then_last_trade() -> None:
    view, writer, _ = _store()
    writer.register_chart(ES, HIST, RT)
    assert view.mark_price(ES) is None
    writer.apply(_ticks(RT, _tick(1, 1, 5000.0, 1)))
    assert view.mark_price(ES) == 5000.0
    writer.apply(_md(_dom(ES, [(5000.0, 1)], [(5000.5, 1)])))
    assert view.mark_price(ES) == 5000.25
    writer.apply(_md(Quote(contract_id=ES, timestamp="t", entries=QuoteEntries(
        bid=QuoteEntry(price=5001.0, size=1), offer=QuoteEntry(price=5001.25, size=1)))))
    assert view.mark_price(ES) == 5001.125
    writer.clear_books()
    assert view.quote(ES) is None
    assert view.mark_price(ES) == 5000.0


def test_view_is_read_only() -> None:
    view, writer, _ = _store()
    writer.apply(_md(_dom(ES, [(1.0, 1)], [(1.25, 1)])))
    assert not hasattr(view, "apply")
    assert not hasattr(view, "register_chart")
    assert writer.view is view
    with pytest.raises(TypeError):
        view.doms[ES] = view.doms[ES]  # type: ignore[index]
    with pytest.raises(AttributeError):
        view.doms[ES].bids = ()  # type: ignore[misc]
    assert isinstance(view.doms[ES].bids, tuple)


def test_window_queries_equal_the_scan_of_the_window_copy() -> None:
    """The oldest print inside (asked alone and with the statistics), the newest large print
    and a narrower window's volumes, read at any time (between the writer's advances too, and
    with late prints inserted), equal what a scan of ``window_trades`` gives."""
    import random

    rng = random.Random(7)
    view, writer, clock = _store(window_ms=100)
    writer.register_chart(ES, HIST, RT)
    writer.register_chart(NQ, 41, 42)
    ident = 0
    checked = 0
    for step in range(400):
        clock.now = 1_000 + step * 7
        ticks = []
        for _ in range(rng.randint(0, 3)):
            ident += 1
            late = rng.random() < 0.2
            ts = clock.now - (rng.randint(1, 90) if late else rng.randint(0, 6))
            price = 10.0 if rng.random() < 0.5 else 10.25
            ticks.append(_tick(ident, ts, price, rng.randint(1, 9), bid=10.0, ask=10.25))
        if ticks:
            writer.apply(_ticks(rng.choice((RT, 42)), *ticks))
        for contract in (ES, NQ, None):
            for now in (clock.now, clock.now + rng.randint(1, 120)):  # past the writer
                for width in (100, 40, 1):
                    start = now - width
                    inside = [t for t in view.window_trades(contract, now_ms=now)
                              if t.timestamp_ms >= start]
                    assert view.oldest_window_trade_ms(contract, now, width) == (
                        inside[0].timestamp_ms if inside else None)
                    for size in (0.0, 5.0, 9.0, 10.0):
                        large = [t for t in inside if t.size >= size]
                        assert view.newest_window_trade(
                            contract, min_size=size, now_ms=now, width_ms=width) == (
                            large[-1] if large else None)
                    stats = view.window(contract, now, width)
                    buy = sum(t.size for t in inside if t.side is Side.BUY)
                    sell = sum(t.size for t in inside if t.side is Side.SELL)
                    assert (stats.buy_volume, stats.sell_volume, stats.count) == (
                        buy, sell, len(inside))
                    biggest = max(inside, key=lambda t: (t.size, t.timestamp_ms, t.contract_id,
                                                         t.id), default=None)
                    assert stats.largest == biggest
                    assert stats.oldest_ms == (inside[0].timestamp_ms if inside else None)
                    checked += 1
    assert checked == 400 * 3 * 2 * 3
    assert view.oldest_window_trade_ms(ES, clock.now + 1_000) is None


def test_a_window_can_be_narrowed_never_widened() -> None:
    view, writer, clock = _store(window_ms=100)
    clock.now = 1_000
    for width in (0, 101):
        with pytest.raises(ValueError, match=f"width {width} ms is not within the window's 100"):
            view.window(ES, 1_000, width)
    writer.register_chart(ES, HIST, RT)
    writer.apply(_ticks(RT, _tick(1, 990, 10.25, 5, bid=10.0, ask=10.25)))
    with pytest.raises(ValueError, match="width 101 ms"):
        view.oldest_window_trade_ms(ES, 1_000, 101)
    with pytest.raises(ValueError, match="width -1 ms"):
        view.newest_window_trade(ES, now_ms=1_000, width_ms=-1)
    assert view.oldest_window_trade_ms(ES, 1_000, 10) == 990
    assert view.oldest_window_trade_ms(ES, 1_000, 9) is None
