"""A preset's trailing drawdown on the simulator (real websockets on loopback, the shipped
settings otherwise: protective stops, circuit breaker, max position): the account breaches
its trailing drawdown, is halted and flattened on the exchange, and the status line and the
final summary show the distance to the trailing level; with three accounts, the one that
breaches is halted while the others trade on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
from app_helpers import Recorder, make_app, make_settings, running
from conftest import FAST_MARKET

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.journal import Journal
from tradovate_api.orders import TicketKind, TicketState
from tradovate_api.runtime import SupervisorOptions
from tradovate_api.runtime.journal_attach import attach_journal
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.config import AccountConfig, UserConfig

# Entering pays the spread: marked at the mid, the position is at least half a tick (6.25)
# below what the cash was before the fill, plus the fee: a 5.00 trailing drawdown breaks.
TIGHT = {"preset": {"tight": {"trailing_drawdown": 5.0, "trailing_mode": "intraday"}},
         "use_preset": "tight"}


async def test_a_trailing_drawdown_breach_halts_and_flattens_the_account(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    alerts = AlertLog()
    settings = make_settings(sim, tmp_path, risk=TIGHT, reports={"end_of_session": False})
    app = make_app(sim, settings, Recorder(), alerts, clock=lambda: int(clock() * 1000),
                   supervisor_options=SupervisorOptions.from_settings(settings))
    async with running(app) as run:
        orders = app.orders
        assert orders is not None
        await asyncio.wait_for(app.account_changed.until(
            lambda: app.account.cash_balance(app.account_id or 0) is not None), 10)
        start = app.account.cash_balance(app.account_id or 0)
        assert start is not None
        # The watch has seen the balance before the entry: the first high-water.
        await asyncio.wait_for(app.account_changed.until(
            lambda: app.risk.rules.trailing is not None
            and app.risk.rules.trailing.high_water == start.amount), 10)
        assert "dd 5 over" in app.status_line()
        entry = orders.place(app.symbol, "Buy", 1, trigger="entry")
        assert entry.state is TicketState.PENDING

        def flat_and_halted() -> bool:
            position = app.account.position(app.account_id or 0,
                                            app.contracts.contract_id(app.symbol))
            return (orders.halted is not None and position is not None
                    and position.net_pos == 0)
        await asyncio.wait_for(app.account_changed.until(flat_and_halted), 10)
        assert orders.halted is not None
        assert orders.halted.startswith("trailing drawdown: balance ")
        assert f"(high-water {start.amount:,.2f} - trailing_drawdown 5.00)" in orders.halted
        liquidations = [t for t in orders.tickets.values() if t.kind is TicketKind.LIQUIDATE]
        assert liquidations
        user = sim.exchange.account(app.account_id or 0)
        assert user is not None
        assert all(p.net_pos == 0 for p in sim.exchange.sync(user.user_id).positions)
        (halt,) = [a for a in alerts.recent if a.key == "risk.trailing_drawdown"]
        assert halt.severity is Severity.URGENT
        assert f"high_water={start.amount:.2f}" in halt.body
        refused = orders.place(app.symbol, "Buy", 1, trigger="after the halt")
        assert refused.state is TicketState.REFUSED
        await run.stop()
    assert "risk limits   dd " in app.summary_text


async def test_a_restart_keeps_the_trailing_high_water_of_the_run_before(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    # Run 1 sees the account at its high and loses a round trip's spread and fees; run 2,
    # started on the same journal, holds the account to run 1's high-water, not to the
    # lower balance it finds (which is all a run without the journal could know).
    wide = {"preset": {"wide": {"trailing_drawdown": 1_000.0, "trailing_mode": "intraday"}},
            "use_preset": "wide"}
    settings = make_settings(sim, tmp_path, risk=wide, reports={"end_of_session": False})

    def build() -> Any:
        app = make_app(sim, settings, Recorder(), AlertLog(), clock=lambda: int(clock() * 1000),
                       supervisor_options=SupervisorOptions.from_settings(settings))
        attach_journal(app, Journal(tmp_path / "journal.db"))
        return app

    def cash(app: Any) -> float | None:
        balance = app.account.cash_balance(app.account_id or 0)
        return None if balance is None else balance.amount

    first = build()
    async with running(first) as run:
        await asyncio.wait_for(first.account_changed.until(lambda: cash(first) is not None), 10)
        start = cash(first)
        trailing = first.risk.rules.trailing
        assert trailing is not None
        assert start is not None
        await asyncio.wait_for(first.account_changed.until(
            lambda: trailing.high_water >= start), 10)
        orders = first.orders
        assert orders is not None
        contract = first.contracts.contract_id(first.symbol)

        def position() -> int | None:
            held = first.account.position(first.account_id or 0, contract)
            return None if held is None else held.net_pos
        orders.place(first.symbol, "Buy", 1, trigger="entry")
        await asyncio.wait_for(first.account_changed.until(lambda: position() == 1), 10)
        orders.place(first.symbol, "Sell", 1, trigger="exit")
        await asyncio.wait_for(first.account_changed.until(
            lambda: position() == 0 and (cash(first) or start) < start), 10)
        await run.stop()
    high_water = trailing.high_water
    after = cash(first)
    assert after is not None
    assert after < start <= high_water

    second = build()
    async with running(second):
        again = second.risk.rules.trailing
        assert again is not None
        await asyncio.wait_for(second.account_changed.until(
            lambda: cash(second) is not None), 10)
        assert cash(second) == after
        assert again.high_water == high_water, "the high-water started again from the balance"
        assert again.level == high_water - 1_000.0


@pytest.fixture
async def sim3(clock: Callable[[], float]) -> AsyncIterator[Simulator]:
    """One login holding three accounts."""
    users = [UserConfig(name="sim", password="sim",
                        accounts=[AccountConfig(name=n) for n in ("EVAL1", "EVAL2", "FUNDED")])]
    config = msgspec.structs.replace(FAST_MARKET, users=users)
    async with Simulator(config, seed=5, clock=clock) as simulator:
        yield simulator


async def test_one_account_breaching_its_trailing_drawdown_is_halted_the_others_trade_on(
        sim3: Simulator, tmp_path: Path) -> None:
    """Three accounts traded by one strategy, EVAL1 on a preset whose trailing drawdown
    breaks on its first round trip: EVAL1 is halted and flattened with the numbers in its
    halt, EVAL2 and FUNDED (the ``[risk]`` limits) keep filling."""
    settings = make_settings(
        sim3, tmp_path, risk={"preset": TIGHT["preset"]},
        accounts=[{"name": "EVAL1", "preset": "tight"}, {"name": "EVAL2"}, {"name": "FUNDED"}],
        strategies=[{"name": "alpha", "class": "many_strategies:Trader",
                     "accounts": ["EVAL1", "EVAL2", "FUNDED"],
                     "params": {"every_ms": 300}}])
    app = make_app(sim3, settings, None, alerts=AlertLog())  # type: ignore[arg-type]
    async with running(app, limit=30.0):
        runs = {a.name: a for a in app.accounts}
        breached = runs["EVAL1"]
        contract = app.contracts.contract_id(app.symbol)

        def fills(name: str) -> int:
            wanted = runs[name].account_id
            return sum(1 for f in app.account.fills()
                       if (s := app.account.order(f.order_id)) is not None
                       and s.order.account_id == wanted)

        await asyncio.wait_for(app.account_changed.until(
            lambda: breached.orders.halted is not None), 30)
        assert breached.orders.halted.startswith("trailing drawdown: balance ")
        await asyncio.wait_for(app.account_changed.until(
            lambda: (p := app.account.position(breached.account_id, contract)) is None
            or p.net_pos == 0), 15)
        before = {name: fills(name) for name in ("EVAL2", "FUNDED")}
        await asyncio.wait_for(app.account_changed.until(
            lambda: all(fills(name) >= before[name] + 3 for name in before)), 30)
        for name in ("EVAL2", "FUNDED"):
            assert runs[name].orders.halted is None, name
            assert runs[name].risk.rules.trailing is None, name
        assert "halted EVAL1" in app.status_line()
