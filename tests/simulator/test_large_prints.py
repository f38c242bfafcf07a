"""Large prints (``large_print_probability``): blocks at the best price against hidden
liquidity, recorded like any trade, leaving the displayed book alone; off by default without
changing the seeded market."""

from __future__ import annotations

import datetime as dt

import pytest

from tradovate_api.errors import ConfigError
from tradovate_api.simulator.config import config_from_mapping
from tradovate_api.simulator.instruments import InstrumentCatalog, default_instruments
from tradovate_api.simulator.marketgen import MarketGenerator

T0 = int(dt.datetime(2026, 11, 24, 16, 0, tzinfo=dt.UTC).timestamp() * 1000)
STEP_MS = 25


def catalog() -> InstrumentCatalog:
    return InstrumentCatalog(default_instruments(dt.date(2026, 11, 24)))


def test_large_prints_trade_at_the_best_price_without_consuming_the_book() -> None:
    cat = catalog()
    gen = MarketGenerator(cat, seed=8, now_ms=T0, large_print_probability=0.2,
                          large_print_size=450)
    large = 0
    sides = set()
    for i in range(500):
        update = gen.step(T0 + i * STEP_MS)
        for contract_id, tick in update.trades:
            if tick.size != 450:
                assert tick.size < 450  # ordinary prints are capped by the displayed size
                continue
            large += 1
            assert tick.price in (tick.bid_price, tick.ask_price)  # at the best price
            sides.add(tick.price == tick.ask_price)
            assert gen.ticks(contract_id)[-1].id >= tick.id  # in the chart history
    # 500 steps x 4 contracts x 0.2 -> about 400 large prints, both aggressor sides
    assert 300 < large < 500
    assert sides == {True, False}


def test_a_large_print_leaves_the_displayed_levels_unchanged() -> None:
    cat = catalog()
    gen = MarketGenerator(cat, seed=2, now_ms=T0, large_print_probability=1.0,
                          large_print_size=1000)
    es = next(inst.contract_id for inst in cat if inst.product.name == "ES")
    found = 0
    for i in range(300):
        before = gen.books[es]
        bids, offers = list(before.bids), list(before.offers)
        volume = before.total_volume
        update = gen.step(T0 + i * STEP_MS)
        trades = [t for c, t in update.trades if c == es]
        if [t.size for t in trades] == [1000] and gen.books[es].bids == bids \
                and gen.books[es].offers == offers:
            found += 1
            assert gen.books[es].last_size == 1000
            assert gen.books[es].total_volume == volume + 1000
    assert found > 0  # steps where only the block traded and nothing churned


def test_disabled_large_prints_keep_the_seeded_market_identical() -> None:
    a = MarketGenerator(catalog(), seed=42, now_ms=T0)
    b = MarketGenerator(catalog(), seed=42, now_ms=T0, large_print_probability=0.0,
                        large_print_size=999)
    for i in range(300):
        assert a.step(T0 + i * STEP_MS) == b.step(T0 + i * STEP_MS)


def test_config_validates_large_print_keys() -> None:
    config = config_from_mapping({"large_print_probability": 0.05, "large_print_size": 400})
    assert (config.large_print_probability, config.large_print_size) == (0.05, 400)
    with pytest.raises(ConfigError, match="large_print_probability"):
        config_from_mapping({"large_print_probability": 1.5})
    with pytest.raises(ConfigError, match="large_print_size"):
        config_from_mapping({"large_print_size": 0})
    with pytest.raises(ValueError, match="large prints"):
        MarketGenerator(catalog(), large_print_probability=-0.1)
