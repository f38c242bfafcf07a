"""A rule preset in the risk manager, against the simulator's matching engine in-process with
real stores: a trailing drawdown breach halts and flattens and is journaled with its numbers;
max contracts per product and in total count working orders; flat_by refuses entries, lets
exits pass and flattens; the exchange's limits (its entities decoded from wire JSON) stop
entries within the margin while exits pass."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from trading_helpers import ES, Harness, quote_frame

from tradovate_api.alerts import Severity
from tradovate_api.journal.reader import JournalReader
from tradovate_api.journal.writer import Journal
from tradovate_api.orders import TicketKind, TicketState
from tradovate_api.protocol import EntityEvent
from tradovate_api.protocol.messages import decode_entities
from tradovate_api.runtime.journal_attach import JournalAlerts
from tradovate_api.settings import Risk, RulePreset
from tradovate_api.strategy import Strategy

LOOSE = {"max_position": 10, "max_order_qty": 10, "max_orders_per_second": 1000.0,
         "max_daily_loss": 1_000_000.0}
CHICAGO = ZoneInfo("America/Chicago")


def harness(symbols: tuple[str, ...] = ("ESZ6",), **preset: object) -> Harness:
    limits = Risk(**LOOSE, preset={"p": RulePreset(**preset)}, use_preset="p")  # type: ignore[arg-type]
    h = Harness(Strategy(), risk=limits, symbols=symbols)
    h.set_book("ESZ6", [(5000.00, 50)], [(5000.25, 50)], 5000.0)
    h.set_book("NQZ6", [(18000.00, 50)], [(18000.25, 50)], 18000.0)
    h.start()
    return h


def market_at(h: Harness, bid: float, ask: float) -> None:
    h.set_book("ESZ6", [(bid, 50)], [(ask, 50)])
    h.feed_md(quote_frame(ES.contract_id, bid, ask))


def risk_alerts(h: Harness) -> list[tuple[str, Severity]]:
    return [(a.key, a.severity) for a in h.alerts.recent if a.key.startswith("risk.")]


async def test_trailing_drawdown_breach_halts_flattens_and_journals_its_numbers(
        tmp_path: Path) -> None:
    h = harness(trailing_drawdown=150.0, trailing_mode="intraday")
    journal = Journal(tmp_path / "journal.sqlite")
    journal.bind_loop(asyncio.get_running_loop())
    h.risk._alerts = JournalAlerts(h.alerts, journal)  # as the app wires every alert
    market_at(h, 5000.00, 5000.25)
    h.ctx.buy("ESZ6", 2)
    await h.settle()
    cash = h.account.cash_balance(h.account_id)
    assert cash is not None
    start = cash.amount  # 100,000 less the simulator's fee for the fill
    # Up: marked at the mid 5002.125 the position is 2 x 50 x 1.875 = +187.50 open.
    market_at(h, 5002.00, 5002.25)
    h.risk.evaluate()
    trailing = h.risk.rules.trailing
    assert trailing is not None
    assert trailing.high_water == pytest.approx(start + 187.5)
    assert trailing.level == pytest.approx(start + 37.5)
    assert h.risk.halted is None
    # Down: at the mid 4999.125 the position is -112.50 open: 150 below the high-water.
    market_at(h, 4999.00, 4999.25)
    h.risk.evaluate()
    balance, high, level = start - 112.5, start + 187.5, start + 37.5
    assert h.risk.halted == (
        f"trailing drawdown: balance {balance:,.2f} (open P&L included) at or below the "
        f"level {level:,.2f} (high-water {high:,.2f} - trailing_drawdown 150.00)")
    assert h.orders.halted == h.risk.halted
    (liquidate,) = [t for t in h.orders.tickets.values() if t.kind is TicketKind.LIQUIDATE]
    await h.settle()
    assert liquidate.state is TicketState.ACKED
    assert h.ctx.position("ESZ6") == 0
    assert risk_alerts(h) == [("risk.trailing_drawdown", Severity.URGENT)]
    assert h.ctx.buy("ESZ6", 1).state is TicketState.REFUSED
    assert await asyncio.to_thread(journal.close, 5.0)
    (record,) = [a for a in JournalReader(tmp_path / "journal.sqlite").alerts()
                 if a.key == "risk.trailing_drawdown"]
    assert record.title == f"Trading halted: {h.risk.halted}"
    assert (f"trailing_drawdown: balance={balance:.2f} high_water={high:.2f} "
            f"level={level:.2f} limit=150.00 mode=intraday") in record.body
    assert f"Account {h.account_id}." in record.body


async def test_max_contracts_per_product_and_in_total_count_working_orders() -> None:
    h = harness(("ESZ6", "NQZ6"), max_contracts_per_product={"ES": 2}, max_contracts=3)
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING
    working = h.ctx.buy("ESZ6", 1, order_type="Limit", price=4900.0)
    await h.settle()
    assert working.state is TicketState.ACKED
    refused = h.ctx.buy("ESZ6", 1)
    assert refused.state is TicketState.REFUSED
    assert refused.reason == ("Buy 1 ESZ6 could make 3 ES contracts (with working orders), "
                              "over max_contracts_per_product ES = 2")
    assert h.ctx.buy("NQZ6", 1).state is TicketState.PENDING  # 2 ES + 1 NQ = 3
    await h.settle()
    refused = h.ctx.buy("NQZ6", 1)
    assert refused.reason == ("Buy 1 NQZ6 could make 4 contracts in all (with working "
                              "orders), over max_contracts 3")
    assert risk_alerts(h) == [("risk.max_contracts", Severity.URGENT)]
    assert h.ctx.sell("ESZ6", 1).state is TicketState.PENDING  # an exit passes
    h.ctx.cancel(working)
    await h.settle()
    assert h.ctx.buy("NQZ6", 1).state is TicketState.PENDING  # 0 ES + 2 NQ


async def test_flat_by_refuses_entries_passes_exits_and_flattens() -> None:
    h = harness(flat_by="15:55")
    h.clock.now_ms = int(dt.datetime(2026, 11, 18, 15, 0, tzinfo=CHICAGO).timestamp() * 1000)
    market_at(h, 5000.00, 5000.25)
    h.ctx.buy("ESZ6", 2)
    resting = h.ctx.buy("ESZ6", 1, order_type="Limit", price=4900.0)
    await h.settle()
    assert h.ctx.position("ESZ6") == 2
    h.clock.now_ms = int(dt.datetime(2026, 11, 18, 15, 55, tzinfo=CHICAGO).timestamp() * 1000)
    entry = h.ctx.buy("ESZ6", 1)
    assert entry.state is TicketState.REFUSED
    assert entry.reason == ("Buy 1 ESZ6 could open or increase a position: flat_by 15:55 "
                            "America/Chicago reached: no entries until the session reopens "
                            "at 17:00")
    assert h.ctx.sell("ESZ6", 1).state is TicketState.PENDING  # reduces: passes
    await h.settle()
    h.risk.evaluate()
    await h.settle()
    assert h.ctx.position("ESZ6") == 0
    state = h.account.order(resting.order_id or 0)
    assert state is not None
    assert state.status == "Canceled"
    assert h.risk.halted is None  # not a halt: the next session trades
    h.clock.now_ms = int(dt.datetime(2026, 11, 18, 17, 1, tzinfo=CHICAGO).timestamp() * 1000)
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING


def wire(h: Harness, entity_type: str, json: str) -> None:
    event = EntityEvent(entity_type, "Updated", decode_entities(entity_type, json.encode()))
    h.dispatcher.account(h.account_writer.apply(event))


async def test_the_exchange_limits_stop_entries_within_the_margin_and_exits_pass() -> None:
    h = harness(exchange_margin=0.25)
    market_at(h, 5000.00, 5000.25)
    h.ctx.buy("ESZ6", 2)
    await h.settle()
    cash = h.account.cash_balance(h.account_id)
    assert cash is not None
    # Liquidation at a day's loss of 400; 25 % of it is 100: entries stop 300 down.
    wire(h, "userAccountAutoLiq", f'[{{"id":{h.account_id},"dailyLossAutoLiq":400}}]')
    h.risk.evaluate()
    assert h.risk.exchange_distances.daily_loss_auto_liq is not None
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING
    await h.settle()
    # 3 long at 5000.25; mid 4999.125 → -3 x 50 x 1.125 = -168.75 open (and fees): not yet.
    market_at(h, 4999.00, 4999.25)
    h.risk.evaluate()
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING
    await h.settle()
    # 3 long at 5000.25 and 1 at 4999.25; mid 4998.375 → -281.25 - 43.75 = -325.00 open,
    # and the fees: within 100 of 400.
    market_at(h, 4998.25, 4998.50)
    h.risk.evaluate()
    distance = h.risk.exchange_distances.daily_loss_auto_liq
    assert distance is not None
    assert distance <= 100.0
    refused = h.ctx.buy("ESZ6", 1)
    assert refused.state is TicketState.REFUSED
    assert "exchange's daily loss auto-liquidation at 400.00" in refused.reason
    assert ("risk.exchange_limits", Severity.URGENT) in risk_alerts(h)
    assert h.ctx.sell("ESZ6", 2).state is TicketState.PENDING  # exits pass
    await h.settle()
    assert h.risk.halted is None
    # The exchange locks the account: entries stop whatever the distance.
    wire(h, "userAccountAutoLiq", f'[{{"id":{h.account_id}}}]')
    wire(h, "accountRiskStatus",
         f'[{{"id":{h.account_id},"adminAction":"LiquidateOnlyModeImmediately"}}]')
    refused = h.ctx.buy("ESZ6", 1)
    assert refused.state is TicketState.REFUSED
    assert "liquidate-only (LiquidateOnlyModeImmediately)" in refused.reason
    wire(h, "accountRiskStatus", f'[{{"id":{h.account_id},"adminAction":"Normal"}}]')
    assert h.ctx.buy("ESZ6", 1).state is TicketState.PENDING
