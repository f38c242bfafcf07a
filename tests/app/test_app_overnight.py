"""A position carried from yesterday, end to end: the simulator holds it with ``prevPos`` /
``prevPrice`` (reference §5.2), the app trades against it and rolls with the exchange's trade
date; the strategy, the status line, the P&L store and the summary all say what the exchange
says."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from pathlib import Path

from app_helpers import Recorder, make_app, make_settings, running

from tradovate_api.protocol.models import CashBalance
from tradovate_api.runtime.app import TradingApp
from tradovate_api.simulator import Simulator


async def until(app: TradingApp, predicate: Callable[[], bool], limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        await app.account_changed.until(predicate)


def _server_cash(sim: Simulator, account_id: int) -> CashBalance:
    (cash,) = (c for c in sim.exchange.sync(sim.exchange.users()[0].id, [account_id])
               .cash_balances if c.account_id == account_id)
    return cash


async def test_long_two_overnight_sell_one_today_everyone_agrees_with_the_exchange(
        sim: Simulator, tmp_path: Path) -> None:
    user = sim.exchange.users()[0]
    account = sim.exchange.accounts_of(user.id)[0]
    settings = make_settings(sim, tmp_path)
    symbol = settings.traded_symbol
    assert symbol is not None
    contract = sim.catalog.by_name(symbol)
    assert contract is not None
    quote = sim.generator.quote(contract.contract_id)
    assert quote is not None
    assert quote.entries.trade is not None
    carried_at = quote.entries.trade.price
    assert carried_at is not None
    sim.exchange.carry_position(account.id, symbol, 2, carried_at)
    strategy = Recorder()
    app = make_app(sim, settings, strategy)
    async with running(app) as run:
        orders = app.orders
        assert orders is not None
        assert app.account_id == account.id
        contract_id = contract.contract_id
        assert strategy.ctx.position(symbol) == 2
        assert app.status().net_pos == 2
        assert app.account.pnl(account.id, contract_id).net_pos == 2

        sold = orders.place(symbol, "Sell", 1, trigger="sell one of the two")
        await until(app, lambda: app.account.position(account.id, contract_id) is not None
                        and app.account.position(account.id, contract_id).net_pos == 1)
        await until(app, lambda: sold.order_id is not None
                        and (state := app.account.order(sold.order_id)) is not None
                        and state.status == "Filled")
        state = app.account.order(sold.order_id or 0)
        assert state is not None
        assert state.avg_fill_price is not None
        assert strategy.ctx.position(symbol) == 1
        assert app.status().net_pos == 1
        pnl = app.account.pnl(account.id, contract_id)
        assert pnl.net_pos == 1
        vpp = contract.product.value_per_point
        expected = (state.avg_fill_price - carried_at) * vpp  # against yesterday's price
        assert math.isclose(pnl.realized, expected, abs_tol=0.01)
        server = _server_cash(sim, account.id).realized_pnl or 0.0
        await until(app, lambda: math.isclose(
            app.account.pnl(account.id, contract_id).realized,
            _server_cash(sim, account.id).realized_pnl or 0.0, abs_tol=0.01))
        assert math.isclose(server, expected, abs_tol=0.01)

        # The CME session ends: the exchange starts the next trade date.
        before = app.account.trade_date(account.id)
        sim.roll_trade_date()
        await until(app, lambda: app.account.trade_date(account.id) != before)
        await until(app, lambda: app.account.pnl(account.id, contract_id).prev_pos == 1)
        rolled = app.account.pnl(account.id, contract_id)
        assert rolled.net_pos == 1 == strategy.ctx.position(symbol)
        assert rolled.realized == 0.0  # the day's realized restarts at the roll
        risk = app.risk
        assert risk is not None
        settlement, mark = rolled.prev_price, app.market.mark_price(contract_id)
        assert settlement is not None
        assert mark is not None
        # Today's P&L is the carried lot against the settlement: yesterday's sale is gone.
        daily = risk.daily_pnl()
        assert daily is not None
        assert math.isclose(daily, (mark - settlement) * vpp, abs_tol=0.01)
        code = await run.stop()
    assert code == 0
    assert "trade date" in app.summary_text
    assert "earlier days" in app.summary_text
