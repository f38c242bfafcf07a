"""Start-up against the in-process simulator: login (token cached 0600), account and
contracts, both sockets authorized, quote + DOM + tick chart subscribed, and the strategy sees
data from both instruments; the market-open wait is logged with its duration."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from app_helpers import Recorder, front, make_app, make_settings, running

from tradovate_api.client import Feed
from tradovate_api.market_hours import MarketHours
from tradovate_api.simulator import Simulator
from tradovate_api.stores import QuoteState


async def test_start_authorizes_subscribes_and_the_strategy_sees_data(
        sim: Simulator, tmp_path: Path) -> None:
    strategy = Recorder()
    app = make_app(sim, make_settings(sim, tmp_path), strategy)
    es, nq = front(sim, "ES"), front(sim, "NQ")
    async with running(app) as run:
        md, trading = app.md, app.trading
        assert md is not None
        assert trading is not None
        assert md.ready
        assert trading.ready
        assert app.symbol == es
        assert app.account.synced
        assert set(md.subscriptions) == {(Feed.QUOTE, es), (Feed.DOM, es), (Feed.QUOTE, nq),
                                         (Feed.DOM, nq)}
        assert [c.request.symbol for c in md.charts] == [es, nq]
        ids = {app.contracts.contract_id(es), app.contracts.contract_id(nq)}

        def seen(hook: str) -> set[int]:
            return {arg.contract_id for arg in strategy.of(hook)}

        await strategy.until(lambda: seen("quote") == ids and seen("dom") == ids
                             and {t.contract_id for t in strategy.of("trade")
                                  if t.realtime} == ids)
        assert strategy.calls[0] == ("start", None)
        assert len(sim.connections) == 2  # one socket per kind
        assert app.auth is not None
        assert app.auth.logins == 1
        cache = Path(tmp_path / "token.json")
        assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
        assert app.status().md_connected
        assert run.code is None
    assert run.code == 0
    assert strategy.calls[-1] == ("stop", None)


async def test_market_open_wait_is_logged_with_its_duration(
        sim: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Saturday noon in Chicago: CME equity futures reopen Sunday 17:00 CT (29 h later).
    moment = [datetime(2026, 11, 21, 18, 0, tzinfo=UTC)]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        moment[0] += timedelta(seconds=seconds)
        await asyncio.sleep(0)

    hours = MarketHours()
    strategy = Recorder()
    settings = make_settings(sim, tmp_path, market={"wait_for_open": True})
    app = make_app(sim, settings, strategy,
                   market_open=lambda: hours.wait_for_open(now=lambda: moment[0],
                                                           sleep=fake_sleep))
    caplog.set_level(logging.INFO, logger="tradovate_api")
    async with running(app):
        waited = [r for r in caplog.records if getattr(r, "wait_seconds", None) is not None
                  and r.name == "tradovate_api.runtime.app"]
        assert len(waited) == 1
        assert waited[0].wait_seconds == pytest.approx(29 * 3600)  # type: ignore[attr-defined]
        assert sum(slept) == pytest.approx(29 * 3600)
        assert strategy.calls[0] == ("start", None)


class BuyOnFirstQuote(Recorder):
    """Buys once, from inside ``on_quote``: the order goes out on the md reader."""

    def on_quote(self, quote: QuoteState) -> None:
        super().on_quote(quote)
        if not self.of("order") and len(self.of("quote")) == 1:
            self.ctx.buy(self.ctx.symbol(quote.contract_id), 1, trigger="first quote")


async def test_an_order_from_a_market_event_is_a_tick_to_order_sample(
        sim: Simulator, tmp_path: Path) -> None:
    strategy = BuyOnFirstQuote()
    app = make_app(sim, make_settings(sim, tmp_path), strategy)
    async with running(app):
        await strategy.until(lambda: len(strategy.of("fill")) == 1)
        assert app.metrics.orders_sent == 1
        assert app.metrics.fills == 1
        (sample,) = app.metrics.latency_samples()
        assert 0 < sample < 100_000_000  # ns: written on the reader, well under 0.1 s
        await asyncio.wait_for(app.account_changed.until(
            lambda: sum(p.net_pos for p in app.account.positions.values()) == 1), 10)
        snapshot = app.metrics.snapshot()
        assert snapshot.latency.count == 1
        assert [s.name for s in snapshot.sessions] == ["md", "trading"]
