"""The market generator: book invariants, trades against the book, quote shapes, history,
sessions and determinism."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import msgspec
import pytest

from tradovate_api.protocol import MarketDataEvent, Messages, decode_frame, encode_messages
from tradovate_api.protocol.models import Dom, MarketData, Quote, Tick
from tradovate_api.simulator import marketgen
from tradovate_api.simulator.book import MarketUpdate
from tradovate_api.simulator.engine_time import cme_trade_date
from tradovate_api.simulator.instruments import InstrumentCatalog, default_instruments
from tradovate_api.simulator.marketgen import MarketGenerator

# 2026-11-24 10:00 CT (a Tuesday, inside the trading session)
T0 = int(dt.datetime(2026, 11, 24, 16, 0, tzinfo=dt.UTC).timestamp() * 1000)
STEP_MS = 25


def catalog() -> InstrumentCatalog:
    return InstrumentCatalog(default_instruments(dt.date(2026, 11, 24)))


def run(gen: MarketGenerator, steps: int, start: int = T0) -> list[MarketUpdate]:
    return [gen.step(start + i * STEP_MS) for i in range(steps)]


def on_grid(price: float, tick: float) -> bool:
    return abs(price / tick - round(price / tick)) < 1e-9


def as_dict(model: msgspec.Struct) -> dict[str, object]:
    decoded: dict[str, object] = msgspec.json.decode(msgspec.json.encode(model))
    return decoded


def test_books_stay_sane_over_many_steps() -> None:
    cat = catalog()
    gen = MarketGenerator(cat, seed=3, now_ms=T0)
    for i in range(4000):
        gen.step(T0 + i * STEP_MS)
        for inst in cat:
            book = gen.books[inst.contract_id]
            ts = inst.tick_size
            bids = [level.price for level in book.bids]
            offers = [level.price for level in book.offers]
            assert len(bids) == len(offers) == 10
            assert bids == sorted(bids, reverse=True)
            assert len(set(bids)) == 10
            assert offers == sorted(offers)
            assert len(set(offers)) == 10
            assert book.best_bid is not None
            assert book.best_offer is not None
            assert book.best_offer - book.best_bid >= ts
            assert all(on_grid(p, ts) for p in bids + offers)
            assert all(level.size >= 1 and level.size == int(level.size)
                       for level in book.bids + book.offers)
    for inst in cat:
        mid = gen.books[inst.contract_id].best_bid
        assert mid is not None
        assert abs(mid - inst.start_price) / inst.start_price < 0.05


def test_trades_hit_the_book_and_accumulate_volume() -> None:
    cat = catalog()
    gen = MarketGenerator(cat, seed=11, now_ms=T0)
    volume: Counter[int] = Counter()
    sides: Counter[str] = Counter()
    last_id = 0
    per_step_max = 0
    for i in range(3000):
        update = gen.step(T0 + i * STEP_MS)
        per_contract = Counter(cid for cid, _ in update.trades)
        per_step_max = max([per_step_max, *per_contract.values()])
        for cid, tick in update.trades:
            ts = gen.books[cid].tick_size
            assert tick.id > last_id
            last_id = tick.id
            assert tick.timestamp_ms == update.now_ms
            assert tick.size >= 1
            assert tick.price == tick.price_ticks * ts
            assert tick.bid_price is not None
            assert tick.ask_price is not None
            assert tick.bid_size is not None
            assert tick.ask_size is not None
            assert tick.ask_price - tick.bid_price >= ts
            assert tick.price in (tick.bid_price, tick.ask_price)
            side = "offer" if tick.price == tick.ask_price else "bid"
            assert tick.size <= (tick.ask_size if side == "offer" else tick.bid_size)
            sides[side] += 1
            volume[cid] += int(tick.size)
        for cid in per_contract:
            book = gen.books[cid]
            assert book.total_volume == volume[cid]
            assert book.last_price == next(t.price for c, t in reversed(update.trades)
                                           if c == cid)
    assert per_step_max >= 3, "no burst in 3000 steps"
    assert min(sides.values()) > 0.3 * sum(sides.values())
    for cid, total in volume.items():
        assert sum(t.size for t in gen.ticks(cid)) == total


def test_quote_entries_follow_the_reference_shape() -> None:
    cat = catalog()
    gen = MarketGenerator(cat, seed=5, now_ms=T0)
    es = cat.by_name("ESZ6")
    assert es is not None
    before = as_dict(gen.quote(es.contract_id))["entries"]
    assert isinstance(before, dict)
    assert set(before) == {"Bid", "Offer", "TotalTradeVolume", "OpenInterest",
                           "SettlementPrice"}  # no trade yet this session
    assert before["TotalTradeVolume"] == {"size": 0}
    assert before["SettlementPrice"] == {"price": 6850}
    run(gen, 200)
    quote = gen.quote(es.contract_id)
    entries = as_dict(quote)["entries"]
    assert isinstance(entries, dict)
    for key in ("Bid", "Offer", "Trade"):
        assert set(entries[key]) == {"price", "size"}
    for key in ("TotalTradeVolume", "OpenInterest"):
        assert set(entries[key]) == {"size"}
    for key in ("HighPrice", "LowPrice", "OpeningPrice", "SettlementPrice"):
        assert set(entries[key]) == {"price"}
    book = gen.books[es.contract_id]
    assert entries["Bid"] == {"price": book.bids[0].price, "size": book.bids[0].size}
    assert entries["Offer"] == {"price": book.offers[0].price, "size": book.offers[0].size}
    assert entries["TotalTradeVolume"] == {"size": book.total_volume}
    prices = [t.price for t in gen.ticks(es.contract_id)]
    assert entries["HighPrice"] == {"price": max(prices)}
    assert entries["LowPrice"] == {"price": min(prices)}
    assert entries["OpeningPrice"] == {"price": prices[0]}
    assert entries["Trade"] == {"price": prices[-1], "size": book.last_size}
    assert quote.timestamp == "2026-11-24T16:00:04.975Z"


def test_whole_prices_encode_without_a_fraction() -> None:
    gen = MarketGenerator(catalog(), seed=1, now_ms=T0)
    wire = msgspec.json.encode(gen.dom(next(iter(gen.books))))
    assert b".0," not in wire
    assert b".0}" not in wire


def test_updates_report_exactly_what_changed() -> None:
    cat = catalog()
    gen = MarketGenerator(cat, seed=9, now_ms=T0)
    doms = {inst.contract_id: gen.dom(inst.contract_id) for inst in cat}
    quotes = {inst.contract_id: gen.quote(inst.contract_id) for inst in cat}
    unchanged_seen = 0
    for i in range(1500):
        update = gen.step(T0 + i * STEP_MS)
        changed_doms = {d.contract_id: d for d in update.doms}
        changed_quotes = {q.contract_id: q for q in update.quotes}
        for inst in cat:
            cid = inst.contract_id
            now_dom, now_quote = gen.dom(cid), gen.quote(cid)
            levels = (now_dom.bids, now_dom.offers)
            if cid in changed_doms:
                assert (changed_doms[cid].bids, changed_doms[cid].offers) == levels
                assert levels != (doms[cid].bids, doms[cid].offers)
            else:
                assert levels == (doms[cid].bids, doms[cid].offers)
                unchanged_seen += 1
            if cid in changed_quotes:
                assert changed_quotes[cid] == now_quote
            else:
                assert now_quote.entries == quotes[cid].entries
            doms[cid], quotes[cid] = now_dom, now_quote
    assert unchanged_seen > 0


def test_updates_decode_through_the_protocol_core() -> None:
    gen = MarketGenerator(catalog(), seed=4, now_ms=T0)
    update = next(u for u in run(gen, 100) if u.trades)
    frame = encode_messages([MarketDataEvent(MarketData(quotes=update.quotes,
                                                        doms=update.doms))])
    decoded = decode_frame(frame)
    assert isinstance(decoded, Messages)
    (event,) = decoded.items
    assert isinstance(event, MarketDataEvent)
    assert event.data.quotes == update.quotes
    assert event.data.doms == update.doms
    assert all(isinstance(q, Quote) for q in event.data.quotes)
    assert all(isinstance(d, Dom) for d in event.data.doms)


def encoded(updates: list[MarketUpdate]) -> bytes:
    return msgspec.json.encode([(u.now_ms, u.quotes, u.doms, u.trades) for u in updates])


def test_same_seed_same_steps_is_identical() -> None:
    a = MarketGenerator(catalog(), seed=42, now_ms=T0)
    b = MarketGenerator(catalog(), seed=42, now_ms=T0)
    assert encoded(run(a, 800)) == encoded(run(b, 800))
    cid = next(iter(a.books))
    assert msgspec.json.encode(a.histogram(cid)) == msgspec.json.encode(b.histogram(cid))
    c = MarketGenerator(catalog(), seed=43, now_ms=T0)
    d = MarketGenerator(catalog(), seed=42, now_ms=T0)
    assert encoded(run(c, 800)) != encoded(run(d, 800))


def test_time_never_goes_backwards() -> None:
    gen = MarketGenerator(catalog(), seed=2, now_ms=T0)
    gen.step(T0 + 10_000)
    update = gen.step(T0)
    assert update.now_ms == T0 + 10_000
    assert all(t.timestamp_ms == T0 + 10_000 for _, t in update.trades)


def test_trade_history_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(marketgen, "TRADE_HISTORY_LIMIT", 50)
    gen = MarketGenerator(catalog(), seed=6, now_ms=T0)
    updates = run(gen, 2000)
    for cid in gen.books:
        all_ticks = [t for u in updates for c, t in u.trades if c == cid]
        assert len(all_ticks) > 50
        assert list(gen.ticks(cid)) == all_ticks[-50:]


def test_minute_bars_match_the_trades() -> None:
    gen = MarketGenerator(catalog(), seed=8, now_ms=T0)
    ticks_by_contract: dict[int, list[Tick]] = {}
    for update in run(gen, 12_000):  # 5 minutes
        for cid, tick in update.trades:
            ticks_by_contract.setdefault(cid, []).append(tick)
    for cid, ticks in ticks_by_contract.items():
        bars = list(gen.minute_bars(cid))
        assert len(bars) == 5
        previous = None
        up = True
        for bar in bars:
            inside = [t for t in ticks if bar.start_ms <= t.timestamp_ms < bar.start_ms + 60_000]
            prices = [t.price for t in inside]
            assert (bar.open, bar.high, bar.low, bar.close) == (
                prices[0], max(prices), min(prices), prices[-1])
            ups = downs = 0
            for t in inside:
                if previous is not None and t.price != previous:
                    up = t.price > previous
                previous = t.price
                ups += up
                downs += not up
            assert (bar.up_ticks, bar.down_ticks) == (ups, downs)
            assert bar.up_volume + bar.down_volume == sum(t.size for t in inside)
            assert bar.offer_volume == sum(t.size for t in inside if t.price == t.ask_price)
            assert bar.bid_volume == sum(t.size for t in inside if t.price == t.bid_price)
            assert bar.trade_date == 20261124


def test_histogram_is_volume_at_price() -> None:
    cat = catalog()
    gen = MarketGenerator(cat, seed=12, now_ms=T0)
    updates = run(gen, 600)
    for inst in cat:
        cid = inst.contract_id
        hist = gen.histogram(cid)
        assert hist.refresh
        assert hist.trade_date is not None
        assert (hist.trade_date.year, hist.trade_date.month,
                                                hist.trade_date.day) == (2026, 11, 24)
        assert hist.base == gen.books[cid].last_price
        expected: Counter[float] = Counter()
        for c, t in ((c, t) for u in updates for c, t in u.trades):
            if c == cid:
                expected[t.price] += t.size
        got = {hist.base + int(k) * inst.tick_size: v for k, v in hist.items.items()}
        assert got == dict(expected)
    last = next(u for u in reversed(updates) if u.trades)
    incremental = gen.histogram_updates(last)
    assert {h.contract_id for h in incremental} == {c for c, _ in last.trades}
    for h in incremental:
        assert not h.refresh
        full = gen.histogram(h.contract_id).items
        assert h.items
        assert all(full[k] == v for k, v in h.items.items())


def test_new_session_resets_statistics_and_settles() -> None:
    cat = catalog()
    # 16:59:50 CT Tuesday -> 17:00 CT starts Wednesday's session
    before = int(dt.datetime(2026, 11, 24, 22, 59, 50, tzinfo=dt.UTC).timestamp() * 1000)
    gen = MarketGenerator(cat, seed=13, now_ms=before)
    run(gen, 800, start=before)  # 20 s, crossing 17:00 CT
    es = cat.by_name("ESZ6")
    assert es is not None
    ticks = list(gen.ticks(es.contract_id))
    boundary = before + 10_000
    old = [t for t in ticks if t.timestamp_ms < boundary]
    new = [t for t in ticks if t.timestamp_ms >= boundary]
    assert old
    assert new
    entries = gen.quote(es.contract_id).entries
    assert entries.settlement_price is not None
    assert entries.total_trade_volume is not None
    assert entries.settlement_price.price == old[-1].price
    assert entries.total_trade_volume.size == sum(t.size for t in new)
    assert entries.opening_price is not None
    assert entries.opening_price.price == new[0].price
    assert gen.trade_date(boundary) == 20261125
    assert gen.trade_date(boundary - 1) == 20261124
    d = cme_trade_date(boundary / 1000)
    assert (d.year, d.month, d.day) == (2026, 11, 25)
    assert sum(gen.histogram(es.contract_id).items.values()) == sum(t.size for t in new)


def test_warm_up_builds_history_before_now() -> None:
    gen = MarketGenerator(catalog(), seed=1, now_ms=T0)
    steps = gen.warm_up(T0, 60_000, 100)
    assert steps == 600
    for cid in gen.books:
        ticks = gen.ticks(cid)
        assert ticks
        assert all(T0 - 60_000 <= t.timestamp_ms < T0 for t in ticks)


def test_unknown_contract_is_a_key_error() -> None:
    gen = MarketGenerator(catalog(), seed=1, now_ms=T0)
    with pytest.raises(KeyError):
        gen.quote(1)


def test_depth_is_configurable() -> None:
    gen = MarketGenerator(catalog(), seed=21, depth=3, now_ms=T0)
    for update in run(gen, 500):
        for dom in update.doms:
            assert len(dom.bids) == len(dom.offers) == 3
            assert dom.bids[0].price < dom.offers[0].price
    with pytest.raises(ValueError, match="depth"):
        MarketGenerator(catalog(), depth=0)
