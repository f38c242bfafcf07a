"""Overnight positions and the trade-date roll (reference §5.2 ``prevPos``/``prevPrice``, §5.4):
today's P&L against the previous settlement, the roll at the CME session change."""

from __future__ import annotations

import datetime as dt

import aiohttp
import pytest
from sim_trading_helpers import open_sim, synced
from test_engine import (
    BALANCE,
    ES,
    ES_COMMISSION,
    World,
    fills_of,
    make_world,
    of,
    order,
    set_book,
)

from tradovate_api.errors import ConfigError
from tradovate_api.protocol import EntityEvent
from tradovate_api.protocol.models import CashBalance, Fill, Order, Position, TradeDate
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.book import MarketUpdate
from tradovate_api.simulator.config import config_from_mapping
from tradovate_api.simulator.engine_time import cme_trade_date

CHICAGO = dt.timezone(dt.timedelta(hours=-6))  # late November: CST


def at_ct(hour: int, minute: int, day: int = 24) -> float:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=CHICAGO).timestamp()


def cash(w: World) -> CashBalance:
    found = [c for c in w.exchange.entities("cashBalance", w.user)
             if isinstance(c, CashBalance)]
    assert len(found) == 1
    return found[0]


def the_position(w: World) -> Position:
    found = [p for p in w.exchange.entities("position", w.user)
             if isinstance(p, Position) and p.contract_id == ES]
    assert len(found) == 1
    return found[0]


def test_overnight_long_sold_today_realizes_against_prev_price() -> None:
    """Long 2 overnight at 5000, sell 1 today at 5005 (ES, 50 USD a point): +1, realized
    +250 USD less one side of commission."""
    w = make_world()
    w.exchange.carry_position(w.account, "ESZ6", 2, 5000.0)
    start = the_position(w)
    assert (start.net_pos, start.prev_pos, start.prev_price, start.bought, start.sold) == (
        2, 2, 5000.0, 0, 0)
    set_book(w.books[ES], bids=[(5005.0, 5)], offers=[(5005.25, 5)], last=5005.0)
    result, changes = w.exchange.place_order(w.user, order(w, "Sell", 1))
    assert result.order_id is not None
    (position,) = of(changes, "position", Position)
    assert (position.net_pos, position.prev_pos, position.prev_price) == (1, 2, 5000.0)
    assert (position.bought, position.sold, position.sold_value) == (0, 1, 5005.0)
    balance = cash(w)
    assert balance.realized_pnl == 250.0
    assert balance.amount == pytest.approx(BALANCE + 250.0 - ES_COMMISSION)
    snapshot = w.exchange.cash_balance_snapshot(w.user, w.account)
    assert snapshot.realized_pnl == 250.0
    # the remaining overnight contract: open P&L against 5000 at the 5005.125 mid
    assert snapshot.open_pnl == pytest.approx(5.125 * 50)


def test_short_overnight_bought_back() -> None:
    w = make_world()
    w.exchange.carry_position(w.account, "ESZ6", -1, 5010.0)
    set_book(w.books[ES], bids=[(4999.75, 5)], offers=[(5000.0, 5)], last=5000.0)
    w.exchange.place_order(w.user, order(w, "Buy", 1))
    position = the_position(w)
    assert (position.net_pos, position.prev_pos, position.bought) == (0, -1, 1)
    assert cash(w).realized_pnl == 500.0  # (5010 - 5000) * 50


def test_roll_carries_positions_and_restarts_the_day() -> None:
    w = make_world()
    w.exchange.place_order(w.user, order(w, "Buy", 2))  # 2 @ 5000.25
    working, _ = w.exchange.place_order(w.user, order(w, "Buy", 1, "Limit", price=4990.0))
    set_book(w.books[ES], bids=[(5001.0, 5)], offers=[(5001.25, 5)], last=5001.0)
    w.exchange.place_order(w.user, order(w, "Sell", 1))  # realized (5001 - 5000.25) * 50
    before = w.exchange.cash_balance_snapshot(w.user, w.account)
    assert before.realized_pnl == pytest.approx(37.5)
    old_date = w.exchange.trade_date
    changes = w.exchange.roll_trade_date()
    new_date = w.exchange.trade_date
    assert (new_date.year, new_date.month, new_date.day) > (old_date.year, old_date.month,
                                                             old_date.day)
    (position,) = of(changes, "position", Position)
    assert (position.net_pos, position.prev_pos, position.prev_price) == (1, 1, 5001.0)
    assert (position.bought, position.sold, position.bought_value) == (0, 0, 0.0)
    assert position.trade_date == new_date
    (balance,) = of(changes, "cashBalance", CashBalance)
    assert (balance.realized_pnl, balance.trade_date) == (0.0, new_date)
    assert all(c.event_type == "Updated" for c in changes)
    after = w.exchange.cash_balance_snapshot(w.user, w.account)
    assert after.net_liq == pytest.approx(before.net_liq)  # open P&L settled into cash
    assert w.exchange.entities("fill", w.user) == []
    assert w.exchange.sync(w.user).fills == []
    assert [o.id for o in w.exchange.sync(w.user).orders] == [working.order_id]
    assert isinstance(w.exchange.item("order", working.order_id or 0, w.user), Order)
    # today's trading is against the settlement
    set_book(w.books[ES], bids=[(5003.0, 5)], offers=[(5003.25, 5)], last=5003.0)
    _, changes = w.exchange.place_order(w.user, order(w, "Sell", 1))
    assert [f.trade_date for f in fills_of(changes)] == [new_date]
    assert cash(w).realized_pnl == 100.0  # (5003 - 5001) * 50
    assert len(w.exchange.entities("fill", w.user)) == 1


def test_the_clock_rolls_the_trade_date_at_five_pm_chicago() -> None:
    w = make_world()
    w.clock.now = at_ct(16, 59)
    w.exchange.place_order(w.user, order(w, "Buy", 1))
    assert w.exchange.trade_date == TradeDate(year=2026, month=11, day=24)
    w.clock.now = at_ct(17, 1)
    changes = w.exchange.on_market(_no_trades())
    assert w.exchange.trade_date == TradeDate(year=2026, month=11, day=25)
    assert cme_trade_date(w.clock.now) == w.exchange.trade_date
    (position,) = of(changes, "position", Position)
    assert (position.prev_pos, position.bought) == (1, 0)
    assert w.exchange.entities("fill", w.user) == []


def test_a_manual_roll_is_not_undone_by_the_clock() -> None:
    w = make_world()
    w.exchange.roll_trade_date()
    rolled = w.exchange.trade_date
    w.exchange.on_market(_no_trades())
    assert w.exchange.trade_date == rolled


def test_fills_of_a_new_day_do_not_update_old_fills() -> None:
    """Closing a lot bought yesterday pairs with yesterday's fill; that fill is not sent
    again (it is no longer in the lists)."""
    w = make_world()
    w.exchange.place_order(w.user, order(w, "Buy", 1))
    w.exchange.roll_trade_date()
    _, changes = w.exchange.place_order(w.user, order(w, "Sell", 1))
    assert [c.event_type for c in changes if c.entity_type == "fill"] == ["Created"]
    assert all(isinstance(f, Fill) for f in w.exchange.entities("fill", w.user))


async def test_configured_overnight_position_and_roll_over_the_socket(
        http: aiohttp.ClientSession) -> None:
    users = config_from_mapping({"users": [{"name": "sim", "password": "sim", "accounts": [
        {"name": "NIGHT", "balance": 10_000.0,
         "positions": [{"symbol": "ESZ6", "prev_pos": 2, "prev_price": 5000.0}]}]}]}).users
    async with open_sim(users=users) as sim:
        me = await synced(sim, http)
        (position,) = me.snapshot.positions
        assert (position.net_pos, position.prev_pos, position.prev_price) == (2, 2, 5000.0)
        sim.faults.roll_trade_date()
        event = await me.client.event(lambda m: isinstance(m, EntityEvent)
                                      and m.entity_type == "position")
        assert event.event_type == "Updated"
        rolled = event.entities[0]
        assert (rolled.prev_pos, rolled.net_pos, rolled.bought, rolled.sold) == (2, 2, 0, 0)
        assert rolled.prev_price > 0
        assert rolled.trade_date == sim.exchange.trade_date != position.trade_date
        balance = await me.client.event(lambda m: isinstance(m, EntityEvent)
                                        and m.entity_type == "cashBalance")
        assert balance.entities[0].trade_date == sim.exchange.trade_date
        assert sim.faults.fired["roll_trade_date"] == 1
        await me.client.ws.close()


def test_a_position_for_an_unknown_contract_is_a_config_error() -> None:
    config = config_from_mapping({"users": [{"name": "u", "password": "p", "accounts": [
        {"name": "A", "positions": [{"symbol": "ZZZ9", "prev_pos": 1, "prev_price": 1.0}]}]}]})
    with pytest.raises(ConfigError, match=r"positions: .*ZZZ9"):
        Simulator(config)
    with pytest.raises(ConfigError, match=r"prev_price"):
        config_from_mapping({"users": [{"name": "u", "password": "p", "accounts": [
            {"name": "A", "positions": [{"symbol": "ESZ6", "prev_pos": 1,
                                         "prev_price": -5.0}]}]}]})


def _no_trades() -> MarketUpdate:
    return MarketUpdate(now_ms=1, trades=[])
