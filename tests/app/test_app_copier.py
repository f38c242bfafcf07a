"""The trade copier on the simulator: one login with a leader and its followers, the app
started from settings with a ``[copier]`` table (shipped defaults otherwise: circuit breaker,
protective stops), the leader traded by a separate raw REST client — orders the app did not
place, as a trader clicking in Tradovate's platform would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from app_helpers import (
    Recorder,
    WatchedAlerts,
    make_app,
    make_settings,
    running,
)

from tradovate_api.client import AuthTokens, RestClient
from tradovate_api.orders import ContractSpec
from tradovate_api.orders.tickets import PROTECTIVE_SUFFIX
from tradovate_api.protocol.models import (
    CancelOrder,
    CommandResult,
    ModifyOrder,
    OrderStrategyStatusResponse,
    PlaceOrder,
    PlaceOrderResult,
    StartOrderStrategy,
)
from tradovate_api.runtime.app import TradingApp
from tradovate_api.settings import load_settings
from tradovate_api.simulator import Simulator, SimulatorConfig, load_config
from tradovate_api.simulator.config import AccountConfig, UserConfig

FOLLOWERS = [f"F{n:02d}" for n in range(1, 21)]
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REFUSING = "F20"
"""Sized 3× the leader: over its own ``risk.max_order_qty`` of 2, so its own risk check
refuses every copy."""


def accounts_config(names: list[str]) -> SimulatorConfig:
    return SimulatorConfig(warm_up=60.0, tick_interval=0.02, heartbeat_interval=0.2,
                           users=[UserConfig(name="sim", password="sim", accounts=[
                               AccountConfig(name=name) for name in ["LEAD", *names]])])


@pytest.fixture
async def sim20(clock: Callable[[], float]) -> AsyncIterator[Simulator]:
    async with Simulator(accounts_config(FOLLOWERS), seed=11, clock=clock) as simulator:
        yield simulator


@pytest.fixture
async def sim3(clock: Callable[[], float]) -> AsyncIterator[Simulator]:
    async with Simulator(accounts_config(["F01", "F02", "F03"]), seed=12,
                         clock=clock) as simulator:
        yield simulator


def copier_app(sim: Simulator, tmp_path: Path, followers: list[dict[str, Any]],
               alerts: WatchedAlerts, **copier: Any) -> TradingApp:
    settings = make_settings(
        sim, tmp_path, trading={"account": "LEAD"},
        risk={"max_order_qty": 2, "max_position": 2, "max_orders_per_second": 10.0},
        copier={"leader": "LEAD", "followers": followers, **copier})
    return make_app(sim, settings, Recorder(), alerts)


class Leader:
    """The leader account traded outside the app: raw REST requests on the login."""

    def __init__(self, app: TradingApp, sim: Simulator) -> None:
        assert app.auth is not None
        self.rest = RestClient(sim.rest_url, AuthTokens(app.auth, market_data=False))
        self.app = app
        self.id = account_id(app, "LEAD")

    async def place(self, action: str, qty: int = 1, **fields: Any) -> int:
        result = await self.rest.request("order/placeorder", PlaceOrder(
            action=action, symbol=self.app.symbol, order_qty=qty, account_id=self.id,
            account_spec="LEAD", is_automated=False, **{"order_type": "Market", **fields}),
            result_type=PlaceOrderResult)
        assert result.order_id is not None
        return result.order_id

    async def close(self) -> None:
        await self.rest.close()


def account_id(app: TradingApp, name: str) -> int:
    return next(a.id for a in app.account.accounts.values() if a.name == name)


def traded(app: TradingApp) -> ContractSpec:
    spec = app.contracts.get(app.symbol)
    assert spec is not None
    return spec


def net(app: TradingApp, name: str) -> int:
    position = app.account.position(account_id(app, name), traded(app).contract_id)
    return 0 if position is None else position.net_pos


def copied_orders(app: TradingApp, name: str) -> list[Any]:
    """Orders on ``name`` the copier made (protective stops are the follower's own)."""
    wanted = account_id(app, name)
    return [s for s in app.account.orders.values() if s.order.account_id == wanted
            and not (s.cl_ord_id or "").endswith(PROTECTIVE_SUFFIX)]


async def until(app: TradingApp, predicate: Callable[[], bool], limit: float = 10.0) -> None:
    try:
        await asyncio.wait_for(app.account_changed.until(predicate), limit)
    except TimeoutError:
        raise AssertionError("condition not reached in time") from None


async def test_twenty_followers_copy_a_leader_traded_outside_the_app_one_refusing(
        sim20: Simulator, tmp_path: Path) -> None:
    alerts = WatchedAlerts()
    followers: list[dict[str, Any]] = [{"account": n, "ratio": 1.0} for n in FOLLOWERS]
    followers[-1] = {"account": REFUSING, "ratio": 3.0}
    app = copier_app(sim20, tmp_path, followers, alerts)
    async with running(app, limit=30.0):
        leader = Leader(app, sim20)
        matching = FOLLOWERS[:-1]
        try:
            # A market order on the leader, placed outside the app, filled.
            await leader.place("Buy")
            await until(app, lambda: net(app, "LEAD") == 1
                        and all(net(app, n) == 1 for n in matching))
            await alerts.until_key("copier.follower_refused")
            assert net(app, REFUSING) == 0
            # A resting limit, moved, then cancelled: mirrored on every follower.
            book = app.market.quote(traded(app).contract_id)
            assert book is not None
            assert book.bid is not None
            tick = traded(app).tick_size
            low = round((book.bid - 40 * tick) / tick) * tick
            await leader.place("Sell", order_type="Limit", price=low + 80 * tick)
            limit_id = await leader.place("Buy", order_type="Limit", price=low)

            def working_at(price: float) -> bool:
                return all(any(s.version is not None and s.version.price == price
                               and s.status == "Working" for s in copied_orders(app, n))
                           for n in matching)

            await until(app, lambda: working_at(low))
            moved = low - 4 * tick
            await leader.rest.request("order/modifyorder", ModifyOrder(
                order_id=limit_id, order_qty=1, order_type="Limit", price=moved),
                result_type=CommandResult)
            await until(app, lambda: working_at(moved))
            await leader.rest.request("order/cancelorder", CancelOrder(order_id=limit_id),
                                      result_type=CommandResult)
            await until(app, lambda: not any(
                s.status == "Working" and s.order.action == "Buy" for n in matching
                for s in copied_orders(app, n)))
            # Out again: every matching follower flat with the leader.
            await leader.place("Sell")
            await until(app, lambda: net(app, "LEAD") == 0
                        and all(net(app, n) == 0 for n in matching))
            leader_orders = [s for s in app.account.orders.values()
                             if s.order.account_id == leader.id
                             and not (s.cl_ord_id or "").endswith(PROTECTIVE_SUFFIX)]
            # The sell limit placed far above the market is still working on all of them.
            assert len(leader_orders) == 4
            for name in matching:
                mine = copied_orders(app, name)
                assert len(mine) == len(leader_orders), name
                assert sorted(s.status for s in mine) == sorted(
                    s.status for s in leader_orders), name
                assert all(s.version is not None and (s.version.text or "").startswith("copy ")
                           for s in mine)
            assert copied_orders(app, REFUSING) == []
            assert app.copier is not None
            rows = {r.account: r for r in app.copier.summary()}
            assert (rows[REFUSING].refused, rows[REFUSING].sent) == (4, 0)
            assert (rows["F01"].sent, rows["F01"].filled_orders) == (4, 2)
        finally:
            await leader.close()
    assert "copier F01: 4 copied" in app.summary_text


async def test_a_duplicated_and_replayed_leader_event_is_copied_once(
        sim3: Simulator, tmp_path: Path) -> None:
    alerts = WatchedAlerts()
    app = copier_app(sim3, tmp_path, [{"account": "F01"}, {"account": "F02", "fixed": 2}],
                     alerts)
    async with running(app):
        leader = Leader(app, sim3)
        try:
            sim3.faults.arm("duplicate_events")
            order_id = await leader.place("Buy")
            await until(app, lambda: (net(app, "F01"), net(app, "F02")) == (1, 2))
            sim3.faults.disarm("duplicate_events")
            # A reconnect: the snapshot shows the leader's order and fill again.
            trading = app.trading
            assert trading is not None
            connects = trading.connects
            await sim3.faults.drop_connections("trading")
            await until(app, lambda: trading.connects > connects and trading.ready
                        and app.account.synced, 15.0)
            await asyncio.sleep(0.3)
            assert (net(app, "F01"), net(app, "F02")) == (1, 2)
            for name in ("F01", "F02"):
                assert len(copied_orders(app, name)) == 1, name
            assert app.copier is not None
            assert list(app.copier.ledger.orders) == [order_id]
        finally:
            await leader.close()


async def test_a_trade_placed_directly_on_a_follower_is_drift_and_is_flattened(
        sim3: Simulator, tmp_path: Path) -> None:
    alerts = WatchedAlerts()
    app = copier_app(sim3, tmp_path, [{"account": "F01"}, {"account": "F02"}], alerts,
                     on_follower_drift="flatten")
    async with running(app):
        assert app.auth is not None
        rest = RestClient(sim3.rest_url, AuthTokens(app.auth, market_data=False))
        try:
            await rest.request("order/placeorder", PlaceOrder(
                action="Buy", symbol=app.symbol, order_qty=1, order_type="Market",
                account_id=account_id(app, "F02"), account_spec="F02", is_automated=False),
                result_type=PlaceOrderResult)
            await alerts.until_key("copier.drift")
            await until(app, lambda: net(app, "F02") == 0 and len(
                [s for s in app.account.orders.values()
                 if s.order.account_id == account_id(app, "F02")
                 and s.status == "Filled"]) == 2)
            assert net(app, "F01") == 0
            assert copied_orders(app, "F01") == []
            assert app.copier is not None
            [drift] = app.copier.drifts
            assert (drift.action, drift.qty) == ("Buy", 1)
        finally:
            await rest.close()


async def test_a_bracket_is_copied_as_a_bracket(sim3: Simulator, tmp_path: Path) -> None:
    alerts = WatchedAlerts()
    app = copier_app(sim3, tmp_path, [{"account": "F01"}, {"account": "F02", "ratio": 2.0}],
                     alerts)
    async with running(app):
        leader = Leader(app, sim3)
        tick = traded(app).tick_size
        params = ('{"entryVersion":{"orderQty":1,"orderType":"Market"},"brackets":[{"qty":1,'
                  f'"profitTarget":{40 * tick},"stopLoss":{-40 * tick},'
                  '"trailingStop":false}]}')
        try:
            result = await leader.rest.request(
                "orderStrategy/startorderstrategy", StartOrderStrategy(
                    symbol=app.symbol, order_strategy_type_id=2, action="Buy",
                    account_id=leader.id, account_spec="LEAD", params=params),
                result_type=OrderStrategyStatusResponse)
            assert result.order_strategy is not None

            def exits(name: str) -> list[str]:
                return sorted(s.version.order_type for s in copied_orders(app, name)
                              if s.status == "Working" and s.version is not None)

            await until(app, lambda: net(app, "F01") == 1 and net(app, "F02") == 2
                        and exits("F01") == ["Limit", "Stop"]
                        and exits("F02") == ["Limit", "Stop"])
            for name, qty in (("F01", 1), ("F02", 2)):
                [strategy] = app.account.order_strategies(account_id(app, name))
                assert strategy.status == "ActiveStrategy"
                assert len(strategy.order_ids("Target")) == 1
                assert len(strategy.order_ids("Stop")) == 1
                target = app.account.order(strategy.order_ids("Target")[0])
                assert target is not None
                assert target.version is not None
                assert target.version.order_qty == qty
            assert not [a for a in alerts.recent if a.key == "copier.follower_refused"]
        finally:
            await leader.close()


async def test_followers_keep_their_own_presets_and_shutdown_cancels_their_copies(
        sim3: Simulator, tmp_path: Path) -> None:
    """Each follower is an account of the run: its own preset's limits refuse what the
    others take, and the shutdown cancels the entries the copier placed on it (its working
    copies would otherwise outlive the run)."""
    alerts = WatchedAlerts()
    settings = make_settings(
        sim3, tmp_path, trading={"account": "LEAD"},
        risk={"max_order_qty": 2, "max_position": 2, "max_orders_per_second": 10.0,
              "preset": {"one-lot": {"max_order_qty": 1}}},
        copier={"leader": "LEAD", "followers": [
            {"account": "F01"}, {"account": "F02", "preset": "one-lot"},
            {"account": "F03", "fixed": 1}]})
    app = make_app(sim3, settings, Recorder(), alerts)
    ids: dict[str, int] = {}
    copies: list[int] = []
    async with running(app, limit=30.0):
        ids = {name: account_id(app, name) for name in ("F01", "F02", "F03")}
        limits = {run.name: run.risk.limits.max_order_qty for run in app.accounts}
        assert (limits["F01"], limits["F02"], limits["F03"]) == (2, 1, 2)
        leader = Leader(app, sim3)
        try:
            await leader.place("Buy", qty=2)
            await until(app, lambda: (net(app, "F01"), net(app, "F03")) == (2, 1))
            await alerts.until_key("copier.follower_refused")
            assert net(app, "F02") == 0
            book = app.market.quote(traded(app).contract_id)
            assert book is not None
            assert book.bid is not None
            tick = traded(app).tick_size
            far = round((book.bid + 60 * tick) / tick) * tick
            await leader.place("Sell", order_type="Limit", price=far)

            def limit_copies() -> list[int]:
                return [s.id for n in ("F01", "F03") for s in copied_orders(app, n)
                        if s.status == "Working" and s.version is not None
                        and s.version.order_type == "Limit"]

            await until(app, lambda: len(limit_copies()) == 2)
            copies = limit_copies()
        finally:
            await leader.close()
    user = sim3.exchange.account(ids["F01"])
    assert user is not None
    working = [o.id for o in sim3.exchange.sync(user.user_id).orders
               if o.id in copies and o.ord_status == "Working"]
    assert working == [], working
    # The copier stopped when the shutdown began: it did not mirror the shutdown's own cancel
    # of the leader's order onto copies the shutdown was cancelling too (each one raced and
    # was rejected TooLate, alerted as a rejected order).
    assert [a.title for a in alerts.recent if a.key == "orders.rejected"] == []
    assert app.copier is not None
    assert app.copier.stopped


async def test_an_unknown_follower_stops_the_run_before_any_order(
        sim3: Simulator, tmp_path: Path) -> None:
    app = copier_app(sim3, tmp_path, [{"account": "F01"}, {"account": "NOPE"}],
                     WatchedAlerts())
    assert await asyncio.wait_for(app.run(), 15.0) == 1
    assert app.start_error == ("copier.followers[1].account: no active account named "
                               "'NOPE' (this login has: F01, F02, F03, LEAD)")


async def test_the_documented_example_runs_on_the_simulator(
        clock: Callable[[], float], tmp_path: Path) -> None:
    """examples/copier.toml and examples/copier-sim.toml (docs/copier.md), the addresses
    pointed at a simulator on free ports and the files under tmp_path."""
    config = msgspec.structs.replace(load_config(EXAMPLES / "copier-sim.toml"),
                                     warm_up=60.0, tick_interval=0.02, heartbeat_interval=0.2)
    example = load_settings(EXAMPLES / "copier.toml")
    assert example.copier is not None
    async with Simulator(config, seed=5, clock=clock) as sim:
        settings = make_settings(sim, tmp_path, trading={"account": "LEAD"},
                                 risk=msgspec.to_builtins(example.risk),
                                 copier=msgspec.to_builtins(example.copier))
        app = make_app(sim, settings, Recorder(), WatchedAlerts())
        async with running(app):
            leader = Leader(app, sim)
            try:
                await leader.place("Buy")
                await until(app, lambda: [net(app, n) for n in (
                    "LEAD", "FOLLOW1", "FOLLOW2", "FOLLOW3")] == [1, 1, 2, 1])
            finally:
                await leader.close()
