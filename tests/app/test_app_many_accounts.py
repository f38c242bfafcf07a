"""Many accounts and many strategies in one run, on the simulator (real websockets on
loopback, the shipped circuit breaker and protective stops): three accounts of one login, two
strategies each trading its own accounts; an exception in one strategy while the other keeps
trading; one account halted while the others keep trading; accounts the login lacks refused
before any order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from app_helpers import WatchedAlerts, front, make_app, make_settings, running
from conftest import FAST_MARKET
from many_strategies import Trader

from tradovate_api.alerts import AlertLog
from tradovate_api.dashboard.actions import ActionRequest, KillSwitch
from tradovate_api.dashboard.recent_alerts import RecentAlerts
from tradovate_api.dashboard.snapshot import SnapshotBuilder
from tradovate_api.journal import Journal, JournalReader
from tradovate_api.orders import TicketKind, TicketState
from tradovate_api.reports import render_html
from tradovate_api.runtime.app import TradingApp
from tradovate_api.runtime.journal_attach import attach_journal
from tradovate_api.settings import Settings
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.config import AccountConfig, UserConfig

ACCOUNTS = ("EVAL1", "EVAL2", "FUNDED")


@pytest.fixture
async def sim3(clock: Callable[[], float]) -> AsyncIterator[Simulator]:
    """The simulator with one login holding three accounts."""
    users = [UserConfig(name="sim", password="sim",
                        accounts=[AccountConfig(name=name) for name in ACCOUNTS])]
    config = msgspec.structs.replace(FAST_MARKET, users=users)
    async with Simulator(config, seed=11, clock=clock) as simulator:
        yield simulator


def many(sim: Simulator, tmp_path: Path, strategies: list[dict[str, Any]],
         accounts: tuple[str, ...] = ACCOUNTS) -> Settings:
    return make_settings(sim, tmp_path, accounts=[{"name": n} for n in accounts],
                         strategies=strategies)


def fills_of(app: TradingApp, account_id: int) -> int:
    count = 0
    for fill in app.account.fills():
        state = app.account.order(fill.order_id)
        if state is not None and state.order.account_id == account_id:
            count += 1
    return count


def account(app: TradingApp, name: str) -> Any:
    return next(a for a in app.accounts if a.name == name)


def run_of(app: TradingApp, name: str, account_name: str) -> Any:
    return next(r for r in app.runs if r.name == name and r.account.name == account_name)


async def until(app: TradingApp, predicate: Callable[[], bool], limit: float = 20.0) -> None:
    await asyncio.wait_for(app.account_changed.until(predicate), limit)


async def test_two_strategies_trade_their_own_accounts(sim3: Simulator,
                                                       tmp_path: Path) -> None:
    es, nq = front(sim3, "ES"), front(sim3, "NQ")
    settings = many(sim3, tmp_path, [
        {"name": "alpha", "class": "many_strategies:Trader", "accounts": ["EVAL1", "EVAL2"],
         "symbols": [es], "params": {"every_ms": 300}},
        {"name": "beta", "class": "many_strategies:Trader", "accounts": ["FUNDED"],
         "symbols": [nq], "params": {"every_ms": 400}}])
    app = make_app(sim3, settings, None, alerts=AlertLog())  # type: ignore[arg-type]
    attach_journal(app, Journal(tmp_path / "journal.db"))
    async with running(app):
        assert [a.name for a in app.accounts] == list(ACCOUNTS)
        assert [(r.name, r.account.name) for r in app.runs] == [
            ("alpha", "EVAL1"), ("alpha", "EVAL2"), ("beta", "FUNDED")]
        ids = {a.name: a.account_id for a in app.accounts}
        await until(app, lambda: all(fills_of(app, i) >= 3 for i in ids.values()))
        for run in app.runs:  # each instance ordered on its own account and contract only
            strategy = run.strategy
            assert isinstance(strategy, Trader)
            assert strategy.tickets
            for ticket in strategy.tickets:
                assert ticket.cl_ord_id in run.account.orders.tickets
                assert ticket.symbol == (es if run.name == "alpha" else nq)
        server = {name: sim3.exchange.sync(sim3.exchange.account(i).user_id, [i])
                  for name, i in ids.items()}
        for name, sync in server.items():
            contracts = {o.contract_id for o in sync.orders if o.account_id == ids[name]}
            expected = app.contracts.contract_id(es if name != "FUNDED" else nq)
            assert expected in contracts
        every = [t.cl_ord_id for a in app.accounts for t in a.orders.tickets.values()]
        assert len(every) == len(set(every))  # client order ids unique across accounts
        assert app.intents().keys() == set(ids.values())
        # Tradovate counts requests per user: the accounts of the login share its budget
        assert [a.risk.limits.max_orders_per_hour for a in app.accounts] == [1000] * 3
        line = app.status_line()
        assert all(f"{name} " in line for name in ACCOUNTS), line
    mine = {t.cl_ord_id: (a.account_id, t.source) for a in app.accounts
            for t in a.orders.tickets.values()}
    with JournalReader(tmp_path / "journal.db") as reader:
        rows = {r.cl_ord_id: (r.account_id, r.source) for r in reader.requests()}
    assert rows == mine  # every request journaled with its account and strategy
    assert {source for _, source in rows.values()} >= {"alpha", "beta"}
    summary = app.summary_text.splitlines()
    (first,) = [i for i, text in enumerate(summary) if text.startswith("per account")]
    assert [text[14:].split(":")[0] for text in summary[first:first + 3]] == list(ACCOUNTS)
    assert app.summary is not None
    page = render_html(app.summary, charts={})
    table = page.split("<h2>P&L per account</h2>")[1].split("<h2>")[0]
    assert [name for name in ACCOUNTS if f"<td>{name}</td>" in table] == list(ACCOUNTS)


async def test_an_exception_in_one_strategy_leaves_the_other_trading(
        sim3: Simulator, tmp_path: Path) -> None:
    es, nq = front(sim3, "ES"), front(sim3, "NQ")
    settings = many(sim3, tmp_path, [
        {"name": "faulty", "class": "many_strategies:Trader", "accounts": ["EVAL1"],
         "symbols": [es], "params": {"raise_after": 5}},
        {"name": "steady", "class": "many_strategies:Trader", "accounts": ["EVAL2", "FUNDED"],
         "symbols": [nq]}])
    alerts = WatchedAlerts()
    app = make_app(sim3, settings, None, alerts=alerts)  # type: ignore[arg-type]
    async with running(app):
        await alerts.until_key("strategy.exception", 20.0)
        faulty = run_of(app, "faulty", "EVAL1")
        assert faulty.dispatcher.paused
        before = {a.name: fills_of(app, a.account_id) for a in app.accounts}
        await until(app, lambda: all(fills_of(app, account(app, n).account_id) >= before[n] + 3
                                     for n in ("EVAL2", "FUNDED")))
        assert not any(r.dispatcher.paused for r in app.runs if r.name == "steady")
        assert faulty.dispatcher.paused
        assert "paused: faulty@EVAL1" in app.status_line()
        (failure,) = [a for a in alerts.recent if a.key == "strategy.exception"]
        assert failure.title.startswith("Strategy faulty@EVAL1.on_quote raised RuntimeError")


async def test_a_halted_account_leaves_the_others_trading(sim3: Simulator,
                                                          tmp_path: Path) -> None:
    es = front(sim3, "ES")
    settings = many(sim3, tmp_path, [
        {"name": "alpha", "class": "many_strategies:Trader", "accounts": list(ACCOUNTS),
         "symbols": [es], "params": {"every_ms": 300}}])
    app = make_app(sim3, settings, None, alerts=AlertLog())  # type: ignore[arg-type]
    async with running(app):
        halted = account(app, "EVAL2")
        await until(app, lambda: fills_of(app, halted.account_id) >= 2)
        halted.risk.kill("test: EVAL2's limit")
        assert halted.orders.halted
        contract = app.contracts.contract_id(es)
        await until(app, lambda: (p := app.account.position(halted.account_id, contract))
                    is None or p.net_pos == 0)
        sent = len(halted.orders.tickets)
        before = {a.name: fills_of(app, a.account_id) for a in app.accounts}
        await until(app, lambda: all(fills_of(app, account(app, n).account_id) >= before[n] + 3
                                     for n in ("EVAL1", "FUNDED")))
        for name in ("EVAL1", "FUNDED"):
            assert account(app, name).orders.halted is None
            assert account(app, name).risk.halted is None
        late = list(halted.orders.tickets.values())[sent:]
        assert all(t.state is TicketState.REFUSED or t.kind is TicketKind.LIQUIDATE
                   or t.kind is TicketKind.CANCEL for t in late)
        assert "halted EVAL2" in app.status_line()
        # The account's intents (the copier's way in) are its order manager's: gated alike.
        refused = app.intents()[halted.account_id].place(es, "Buy", 1, source="copier")
        assert (refused.state, refused.refusal) == (TicketState.REFUSED, "halted")
        assert (refused.account_id, refused.source) == (halted.account_id, "copier")


async def test_an_account_the_login_lacks_is_refused_before_any_order(
        sim3: Simulator, tmp_path: Path) -> None:
    es = front(sim3, "ES")
    settings = many(sim3, tmp_path, [
        {"name": "alpha", "class": "many_strategies:Trader", "accounts": ["EVAL1", "GHOST"],
         "symbols": [es]}], accounts=("EVAL1", "GHOST"))
    app = make_app(sim3, settings, None, alerts=AlertLog())  # type: ignore[arg-type]
    assert await app.run() == 1
    assert app.start_error == ("accounts: no active account named 'GHOST' (this login has: EVAL1, "
                               "EVAL2, FUNDED)")
    orders = [o for user in sim3.exchange.users() for o in sim3.exchange.sync(user.id).orders]
    assert orders == []


async def test_two_strategies_on_one_account_in_different_contracts(sim3: Simulator,
                                                                    tmp_path: Path) -> None:
    """One order manager serves both (fed the account data once); each ticket names the
    strategy that made it."""
    es, nq = front(sim3, "ES"), front(sim3, "NQ")
    settings = many(sim3, tmp_path, [
        {"name": "alpha", "class": "many_strategies:Trader", "accounts": ["EVAL1"],
         "symbols": [es]},
        {"name": "beta", "class": "many_strategies:Trader", "accounts": ["EVAL1"],
         "symbols": [nq], "params": {"every_ms": 500}}], accounts=("EVAL1",))
    app = make_app(sim3, settings, None, alerts=AlertLog())  # type: ignore[arg-type]
    async with running(app):
        (only,) = app.accounts
        await until(app, lambda: fills_of(app, only.account_id) >= 6)
        by_source = {(t.source, t.symbol) for t in only.orders.tickets.values()
                     if t.source}
        assert by_source == {("alpha", es), ("beta", nq)}
        assert {t.account_id for t in only.orders.tickets.values()} == {only.account_id}


async def test_the_single_case_is_a_list_of_one_and_reads_as_before(sim: Simulator,
                                                                    tmp_path: Path) -> None:
    """No [[accounts]] or [[strategies]]: one account, one run named after the strategy given,
    its tickets say so, and the status line and summary have no per-account parts."""
    settings = make_settings(sim, tmp_path, strategy={"every_ms": 300})
    app = make_app(sim, settings, Trader())
    async with running(app):
        (only,) = app.accounts
        (run,) = app.runs
        assert (run.name, run.account) == ("Trader", only)
        await until(app, lambda: fills_of(app, only.account_id) >= 2)
        line = app.status_line()
        assert " pos " in line or " flat " in line, line
        assert only.name not in line
    assert {t.source for t in only.orders.tickets.values()} <= {"Trader", ""}
    assert any(t.source == "Trader" for t in only.orders.tickets.values())
    assert "per account" not in app.summary_text


def alpha_on_every_account(sim3: Simulator, tmp_path: Path) -> tuple[TradingApp, AlertLog]:
    """One strategy trading ES on all three accounts."""
    settings = many(sim3, tmp_path, [
        {"name": "alpha", "class": "many_strategies:Trader", "accounts": list(ACCOUNTS),
         "symbols": [front(sim3, "ES")]}])
    alerts = AlertLog()
    return make_app(sim3, settings, None, alerts=alerts), alerts  # type: ignore[arg-type]


async def test_the_dashboard_kill_switch_kills_every_account_or_the_one_named(
        sim3: Simulator, tmp_path: Path) -> None:
    app, alerts = alpha_on_every_account(sim3, tmp_path)
    page = KillSwitch(app, alerts)
    async with running(app):
        funded = account(app, "FUNDED")
        one = page.run(ActionRequest("kill", account=funded.account_id, confirm=True))
        assert one.ok
        assert [a.name for a in app.accounts if a.risk.halted] == ["FUNDED"]
        everyone = page.run(ActionRequest("kill", confirm=True))
        assert everyone.ok
        assert all(a.risk.halted and a.orders.halted for a in app.accounts)
        stranger = page.run(ActionRequest("kill", account=1, confirm=True))
        assert not stranger.ok


async def test_the_dashboard_shows_every_traded_account_its_halt_and_its_refusals(
        sim3: Simulator, tmp_path: Path) -> None:
    es = front(sim3, "ES")
    app, alerts = alpha_on_every_account(sim3, tmp_path)
    async with running(app):
        await until(app, lambda: all(fills_of(app, a.account_id) >= 1 for a in app.accounts))
        funded = account(app, "FUNDED")
        funded.risk.kill("test: FUNDED's limit")
        refused = app.intents()[funded.account_id].place(es, "Buy", 1, source="alpha")
        assert refused.state is TicketState.REFUSED
        snapshot = SnapshotBuilder(app, RecentAlerts(alerts)).build()
    panels = {p.name: p for p in snapshot.accounts}
    assert set(panels) == set(ACCOUNTS)
    assert all(p.traded for p in panels.values()), "every account of the run has its buttons"
    assert panels["FUNDED"].halted.startswith("test: FUNDED's limit")
    assert panels["EVAL1"].halted == panels["EVAL2"].halted == ""
    assert snapshot.halted.startswith("FUNDED: test: FUNDED's limit")
    assert [r.account for r in snapshot.refusals if r.time_ms == refused.created_ms] == ["FUNDED"]
    assert snapshot.breaches.get("kill_switch") == 1
