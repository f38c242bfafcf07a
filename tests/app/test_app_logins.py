"""Several logins in one run, on the simulator (real websockets on loopback, the shipped
circuit breaker and protective stops): three accounts under two logins, two strategies; each
login has its own token (cached in its own file), REST client and trading connection, and
its snapshots replace only its own accounts in the one account store; an account named under
a login that lacks it is refused before any order; one login's trading connection dropped
by the exchange reconnects while the other login keeps trading."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from app_helpers import front, make_app, make_settings, running
from conftest import FAST_MARKET

from tradovate_api.alerts import AlertLog
from tradovate_api.journal import Journal, JournalReader
from tradovate_api.runtime.app import TradingApp
from tradovate_api.runtime.journal_attach import attach_journal
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import Settings
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.config import AccountConfig, UserConfig

BETA = TradovateCredentials(name="beta", password=Secret("beta-password"))
"""The second login's credentials (the primary's are the simulator's ``sim``/``sim``)."""


@pytest.fixture
async def sim2(clock: Callable[[], float]) -> AsyncIterator[Simulator]:
    """Two users: ``sim`` holds EVAL1 and EVAL2, ``beta`` holds FUNDED."""
    users = [UserConfig(name="sim", password="sim",
                        accounts=[AccountConfig(name="EVAL1"), AccountConfig(name="EVAL2")]),
             UserConfig(name="beta", password="beta-password",
                        accounts=[AccountConfig(name="FUNDED")])]
    config = msgspec.structs.replace(FAST_MARKET, users=users)
    async with Simulator(config, seed=11, clock=clock) as simulator:
        yield simulator


def two_logins(sim: Simulator, tmp_path: Path,
               accounts: list[dict[str, Any]] | None = None) -> Settings:
    es, nq = front(sim, "ES"), front(sim, "NQ")
    return make_settings(
        sim, tmp_path, logins=[{"name": "beta"}],
        accounts=accounts or [{"name": "EVAL1"}, {"name": "EVAL2"},
                              {"name": "FUNDED", "login": "beta"}],
        strategies=[
            {"name": "alpha", "class": "many_strategies:Trader",
             "accounts": ["EVAL1", "FUNDED"], "symbols": [es], "params": {"every_ms": 300}},
            {"name": "gamma", "class": "many_strategies:Trader", "accounts": ["EVAL2"],
             "symbols": [nq], "params": {"every_ms": 400}}])


def app_for(sim: Simulator, settings: Settings) -> TradingApp:
    return make_app(sim, settings, None, alerts=AlertLog(),  # type: ignore[arg-type]
                    logins={"beta": BETA})


def fills_of(app: TradingApp, account_id: int) -> int:
    return sum(1 for fill in app.account.fills()
               if (state := app.account.order(fill.order_id)) is not None
               and state.order.account_id == account_id)


def differences(app: TradingApp, sim: Simulator) -> list[str]:
    """How the app's account store differs from each login's ledger on the simulator."""
    problems = []
    for account in app.accounts:
        user = sim.exchange.account(account.account_id)
        assert user is not None
        sync = sim.exchange.sync(user.user_id, [account.account_id])
        for position in sync.positions:
            mine = app.account.position(position.account_id, position.contract_id)
            if mine != position:
                problems.append(f"{account.name} position: {mine} != {position}")
        for order in sync.orders:
            state = app.account.order(order.id)
            if state is None or state.order != order:
                problems.append(f"{account.name} order {order.id}")
        server = {f.id for f in sync.fills if f.active}
        mine_fills = {f.id for f in app.account.fills() if f.active
                      and (s := app.account.order(f.order_id)) is not None
                      and s.order.account_id == account.account_id}
        if server != mine_fills:
            problems.append(f"{account.name} fills {sorted(mine_fills)} != {sorted(server)}")
        for cash in sync.cash_balances:
            if app.account.cash_balance(cash.account_id) != cash:
                problems.append(f"{account.name} cash")
    return problems


async def matching(app: TradingApp, sim: Simulator, limit: float = 10.0) -> None:
    try:
        await asyncio.wait_for(app.account_changed.until(lambda: not differences(app, sim)),
                               limit)
    except TimeoutError:
        raise AssertionError("; ".join(differences(app, sim))) from None


async def until(app: TradingApp, predicate: Callable[[], bool], limit: float = 20.0) -> None:
    await asyncio.wait_for(app.account_changed.until(predicate), limit)


async def test_three_accounts_under_two_logins_each_trade(sim2: Simulator,
                                                          tmp_path: Path) -> None:
    app = app_for(sim2, two_logins(sim2, tmp_path))
    attach_journal(app, Journal(tmp_path / "journal.db"))
    async with running(app):
        w = app._wired()
        assert [login.label for login in w.logins] == ["primary", "beta"]
        assert [[a.name for a in login.accounts] for login in w.logins] == [
            ["EVAL1", "EVAL2"], ["FUNDED"]]
        ids = {a.name: a.account_id for a in app.accounts}
        users = {name: sim2.exchange.account(i).user_id for name, i in ids.items()}
        assert users["EVAL1"] == users["EVAL2"] != users["FUNDED"]
        # One trading connection per login, one md connection for everything.
        assert w.logins[0].trading is not w.logins[1].trading
        assert w.logins[0].auth is not w.logins[1].auth
        await until(app, lambda: all(fills_of(app, i) >= 3 for i in ids.values()))
        await matching(app, sim2)
        # Each login's orders went over its own trading connection, on its own accounts.
        for run in app.runs:
            for ticket in run.strategy.tickets:  # type: ignore[attr-defined]
                assert ticket.cl_ord_id in run.account.orders.tickets
        # Tradovate counts requests per user: each login's accounts share its own budget.
        assert [a.risk.limits.max_orders_per_hour for a in app.accounts] == [1500, 1500, 3000]
        line = app.status_line()
        assert all(f"{name} " in line for name in ids), line
    for path in (tmp_path / "token.json", tmp_path / "token.beta.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (tmp_path / "token.json").read_bytes() != (tmp_path / "token.beta.json").read_bytes()
    with JournalReader(tmp_path / "journal.db") as reader:
        journaled = {r.account_id for r in reader.requests()}
    assert journaled == set(ids.values())
    summary = app.summary_text.splitlines()
    (first,) = [i for i, text in enumerate(summary) if text.startswith("per account")]
    assert [text[14:].split(":")[0] for text in summary[first:first + 3]] == [
        "EVAL1", "EVAL2", "FUNDED"]
    # The shutdown secured every account of both logins: each open position, per the
    # simulator's ledger, is in the exit report and protected by a stop on the server.
    open_on_server = set()
    for name, account_id in ids.items():
        sync = sim2.exchange.sync(users[name], [account_id])
        if any(p.net_pos for p in sync.positions):
            open_on_server.add(name)
            stops = [o for o in sync.orders if o.ord_status == "Working"]
            assert stops, name
    assert {line.split(":")[0] for line in app.exit_lines} == open_on_server
    assert all("protected by" in line for line in app.exit_lines), app.exit_lines


@pytest.mark.parametrize(("accounts", "error"), [
    ([{"name": "EVAL1"}, {"name": "EVAL2", "login": "beta"}, {"name": "FUNDED"}],
     "accounts: no active account named 'FUNDED' under the primary login (this login has: "
     "EVAL1, EVAL2)"),
    ([{"name": "EVAL1"}, {"name": "EVAL2", "login": "beta"}, {"name": "FUNDED",
                                                              "login": "beta"}],
     "accounts: no active account named 'EVAL2' under login 'beta' (this login has: "
     "FUNDED)"),
])
async def test_an_account_under_a_login_that_lacks_it_is_refused_before_any_order(
        sim2: Simulator, tmp_path: Path, accounts: list[dict[str, Any]], error: str) -> None:
    app = app_for(sim2, two_logins(sim2, tmp_path, accounts))
    assert await app.run() == 1
    assert app.start_error == error
    orders = [o for user in sim2.exchange.users() for o in sim2.exchange.sync(user.id).orders]
    assert orders == []


async def test_one_logins_connection_comes_back_while_the_other_keeps_trading(
        sim2: Simulator, tmp_path: Path) -> None:
    app = app_for(sim2, two_logins(sim2, tmp_path))
    async with running(app):
        w = app._wired()
        primary, beta = w.logins
        ids = {a.name: a.account_id for a in app.accounts}
        await until(app, lambda: all(fills_of(app, i) >= 2 for i in ids.values()))
        connects, primary_connects = beta.trading.connects, primary.trading.connects
        # The exchange cuts the beta login's trading socket (no close frame), only that one.
        user = sim2.exchange.account(ids["FUNDED"]).user_id
        (cut,) = [s for s in sim2.connections
                  if s.kind == "trading" and s.user_id == user and not s.closing]
        await cut.close(abort=True)
        before = fills_of(app, ids["EVAL1"]) + fills_of(app, ids["EVAL2"])
        # The primary login trades on while beta reconnects and syncs again...
        await until(app, lambda: beta.trading.connects > connects and beta.trading.ready
                    and beta.readers.snapshots >= 2)
        await until(app, lambda: fills_of(app, ids["EVAL1"]) + fills_of(app, ids["EVAL2"])
                    >= before + 2)
        assert primary.trading.ready
        assert primary.trading.connects == primary_connects  # never dropped
        # ...and beta's new snapshot replaced only its own account: the store matches the
        # simulator for every account of both logins, and beta trades again.
        await matching(app, sim2)
        funded = fills_of(app, ids["FUNDED"])
        await until(app, lambda: fills_of(app, ids["FUNDED"]) >= funded + 2)
        await matching(app, sim2)
