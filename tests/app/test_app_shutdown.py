"""The shutdown sequence of a running app: new orders halted, strategy stopped, market data
unsubscribed, working orders cancelled (and the position flattened when configured) with the
simulator's ledger confirming it, final summary, log flushed, sockets closed with a close
frame — in that order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from app_helpers import Recorder, make_app, make_settings, running, until_ledger_matches

from tradovate_api.client import EndKind
from tradovate_api.orders import TicketState
from tradovate_api.simulator import Simulator

HOOKS = ["halt orders", "unsubscribe market data", "secure positions", "final summary",
         "flush log", "close sockets"]
LOGGED = ["new orders halted, strategy stopped", "shutdown: market data unsubscribed",
          "exit requests sent", "final summary", "shutdown: flushing the log"]


@pytest.mark.parametrize("flatten", [False, True], ids=["cancel", "flatten"])
async def test_shutdown_runs_the_sequence_and_leaves_the_account_as_configured(
        sim: Simulator, tmp_path: Path, flatten: bool) -> None:
    strategy = Recorder()
    settings = make_settings(sim, tmp_path, risk={"max_position": 3},
                             shutdown={"flatten": flatten, "cancel_entries": True})
    app = make_app(sim, settings, strategy)
    async with running(app) as run:
        orders, md, trading = app.orders, app.md, app.trading
        assert orders is not None
        assert md is not None
        assert trading is not None
        contract_id = app.contracts.contract_id(app.symbol)
        assert orders.place(app.symbol, "Buy", 1, trigger="entry").state is TicketState.PENDING
        await asyncio.wait_for(app.account_changed.until(
            lambda: bool(app.account.positions)), 10)
        quote = app.market.quote(contract_id)
        assert quote is not None
        assert quote.bid is not None
        resting = orders.place(app.symbol, "Buy", 1, order_type="Limit",
                               price=quote.bid - 25.0, trigger="far below")
        await asyncio.wait_for(app.account_changed.until(
            lambda: len(app.account.open_orders(app.account_id)) == 1), 10)
        await until_ledger_matches(app, sim)
        code = await run.stop()
    assert code == 0
    assert app.supervisor.hooks_run == HOOKS
    assert strategy.calls[-1] == ("stop", None)
    assert orders.halted == "shutdown"
    assert orders.place(app.symbol, "Buy", 1).state is TicketState.REFUSED
    assert md.subscriptions == []
    assert md.charts == []
    for session in (md, trading):
        end = session.last_end
        assert end is not None
        assert end.kind is EndKind.CLIENT_CLOSED
    # the simulator's ledger: the resting order cancelled; flat only when configured
    ledger = sim.exchange.sync(sim.exchange.account(app.account_id or 0).user_id)  # type: ignore[union-attr]
    states = {o.id: o.ord_status for o in ledger.orders}
    assert states[resting.order_id or 0] == "Canceled"
    (position,) = [p for p in ledger.positions if p.contract_id == contract_id]
    assert position.net_pos == (0 if flatten else 1)
    assert "trades        " in app.summary_text
    assert ("(flat)" if flatten else f"({app.symbol} +1)") in app.summary_text
    # the log file shows the steps in order
    messages = [json.loads(line)["msg"] for line in
                (tmp_path / "app.jsonl").read_text().splitlines()]
    positions = [next(i for i, m in enumerate(messages) if step in m) for step in LOGGED]
    assert positions == sorted(positions)
    assert any("supervisor stopped (test over), exit code 0" in m for m in messages)


@pytest.mark.parametrize("measure", [False, True], ids=["default", "measured"])
async def test_the_summary_lists_hook_times_only_when_measured(
        sim: Simulator, tmp_path: Path, measure: bool) -> None:
    strategy = Recorder()
    app = make_app(sim, make_settings(sim, tmp_path, trading={"measure_hooks": measure}), strategy)
    async with running(app) as run:
        await strategy.until(lambda: bool(strategy.of("quote")))
        code = await run.stop()
    assert code == 0
    hook_lines = [line for line in app.summary_text.splitlines() if " hook " in line]
    if measure:
        (quote_line,) = [line for line in hook_lines if line.startswith("on_quote hook")]
        assert "mean " in quote_line
        assert " calls, 0 raised)" in quote_line
        assert any(line.startswith("on_start hook") for line in hook_lines)
    else:
        assert hook_lines == []


async def test_a_slow_chart_render_never_costs_the_summary(
        sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The final report's charts are rendered in a child process, seconds on a busy machine.
    When that runs into the shutdown time limit, the summary is already written."""
    strategy = Recorder()
    settings = make_settings(sim, tmp_path, shutdown={"timeout_seconds": 2.0},
                             reports={"end_of_session": True})
    app = make_app(sim, settings, strategy)

    async def render_forever(data: object) -> None:
        await asyncio.sleep(60)

    monkeypatch.setattr(app.reports, "_render", render_forever)
    async with running(app) as run:
        await strategy.until(lambda: bool(strategy.of("quote")))
        code = await run.stop()
    assert code == 0
    assert "final summary" not in app.supervisor.hooks_run  # the hook ran out of time …
    assert "trades        " in app.summary_text  # … after the summary was written
    assert app.summary is not None
