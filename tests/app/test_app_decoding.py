"""Account data the runtime cannot trust (issue 15, defect 8), in a running app against the
simulator: an unreadable money entity, an incomplete snapshot and a reader failing half-way
through an event each send an urgent alert, hold new entries and bring a fresh snapshot (the
trading connection is ended and the reconnect syncs), after which the account equals the
server's again and entries go. The events are given to the app's account reader as its
connection decodes them from the wire."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest
from app_helpers import Recorder, make_app, make_settings, running, until_ledger_matches

from tradovate_api.alerts import AlertLog, Severity
from tradovate_api.client import SyncSnapshot
from tradovate_api.orders import TicketState
from tradovate_api.protocol import BadEntity, EntityEvent, Messages, decode_frame
from tradovate_api.runtime import SupervisorOptions
from tradovate_api.runtime.app import TradingApp
from tradovate_api.simulator import Simulator
from tradovate_api.stores import AccountWriter


def app_for(sim: Simulator, tmp_path: Path, clock: Any, alerts: AlertLog) -> TradingApp:
    settings = make_settings(sim, tmp_path)
    return make_app(sim, settings, Recorder(), alerts, clock=lambda: int(clock() * 1000),
                    supervisor_options=SupervisorOptions.from_settings(settings))


def wire_event(entity_type: str, entity: Any) -> EntityEvent:
    frame = b"a" + msgspec.json.encode([{"e": "props", "d": {
        "entityType": entity_type, "eventType": "Created", "entity": entity}}])
    decoded = decode_frame(frame)
    assert isinstance(decoded, Messages)
    (event,) = decoded.items
    assert isinstance(event, EntityEvent)
    return event


async def resynced(app: TradingApp, connections: int) -> None:
    trading = app.trading
    assert trading is not None
    await asyncio.wait_for(trading.wait_ready(connections), 15)


async def entries_allowed(app: TradingApp) -> None:
    risk = app.risk
    assert risk is not None
    contract_id = app.contracts.contract_id(app.symbol)
    await asyncio.wait_for(app.account_changed.until(
        lambda: risk.entries_suspended(contract_id) is None), 15)


def urgent(alerts: AlertLog) -> list[str]:
    return [a.key for a in alerts.recent if a.severity is Severity.URGENT]


async def test_an_unreadable_fill_alerts_holds_entries_and_brings_a_fresh_snapshot(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    alerts = AlertLog()
    app = app_for(sim, tmp_path, clock, alerts)
    async with running(app):
        orders = app.orders
        assert orders is not None
        fill = {"id": 99_000_001, "orderId": 1, "contractId": app.contracts.contract_id(
            app.symbol), "timestamp": "2026-03-02T15:00:00Z", "action": "Buy",
            "tradeDate": {"year": 2026, "month": 3, "day": 2}, "price": 1.0, "active": True}
        event = wire_event("fill", fill)  # no qty: the fill cannot be booked
        assert isinstance(event.entities[0], BadEntity)
        app._readers.on_account(event)
        assert urgent(alerts) == ["account.unreadable_entity"]
        refused = orders.place(app.symbol, "Buy", 1, trigger="while suspended")
        assert refused.state is TicketState.REFUSED
        assert "suspended" in refused.reason
        await resynced(app, 2)
        await entries_allowed(app)
        ticket = orders.place(app.symbol, "Buy", 1, trigger="after the resync")
        assert ticket.state is TicketState.PENDING, ticket.reason
        await until_ledger_matches(app, sim)


async def test_an_incomplete_snapshot_is_not_applied_and_another_is_asked_for(
        sim: Simulator, tmp_path: Path, clock: Any) -> None:
    alerts = AlertLog()
    app = app_for(sim, tmp_path, clock, alerts)
    async with running(app):
        orders = app.orders
        assert orders is not None
        orders.place(app.symbol, "Buy", 1, trigger="before")
        await until_ledger_matches(app, sim)
        before = dict(app.account.orders)
        broken = SyncSnapshot(msgspec.structs.replace(
            sim.exchange.sync(sim.exchange.account(app.account_id or 0).user_id),  # type: ignore[union-attr]
            orders=[]), 1, (BadEntity("order", b'{"id":1}', "missing accountId"),))
        app._readers.on_account(broken)
        assert dict(app.account.orders) == before  # not applied: the orders are still there
        assert urgent(alerts) == ["account.snapshot_incomplete"]
        await resynced(app, 2)
        await entries_allowed(app)
        await until_ledger_matches(app, sim)


async def test_a_reader_failing_half_way_alerts_and_resyncs(
        sim: Simulator, tmp_path: Path, clock: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    alerts = AlertLog()
    app = app_for(sim, tmp_path, clock, alerts)
    async with running(app):
        orders = app.orders
        assert orders is not None
        failures = 0
        real_apply = AccountWriter.apply

        def failing_apply(self: AccountWriter, event: Any) -> Any:
            nonlocal failures
            if failures < 1:
                failures += 1
                raise RuntimeError("store bug")
            return real_apply(self, event)

        monkeypatch.setattr(AccountWriter, "apply", failing_apply)
        orders.place(app.symbol, "Buy", 1, trigger="events the reader fails on")
        await resynced(app, 2)
        await entries_allowed(app)
        await until_ledger_matches(app, sim)
        assert failures == 1
        assert app._wired().guard.resyncs == 1
    assert urgent(alerts).count("account.reader_failed") == 1
