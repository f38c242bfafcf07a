"""Two logins with several accounts each over the real websockets: each login sees and
trades only its own accounts, positions and cash are per account, and the exchange's
auto-liquidation of one account (trailing drawdown, liquidate-only) leaves the others
trading."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import msgspec
import pytest
from conftest import TODAY, WsClient, authorized_socket, login, rest, with_config

from tradovate_api.protocol import EntityEvent
from tradovate_api.protocol.models import (
    Account,
    AccountRiskStatus,
    CashBalance,
    Order,
    PlaceOrderResult,
    Position,
    SyncMessage,
    UserAccountAutoLiq,
)
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.simulator.config import AccountConfig, AutoLiqConfig, UserConfig
from tradovate_api.simulator.risk_guard import Standing

LIMIT = 10.0
USERS = [
    UserConfig(name="alpha", password="alpha-pw", accounts=[
        AccountConfig(name="ALPHA1", auto_liq=AutoLiqConfig(trailing_max_drawdown=1.0)),
        AccountConfig(name="ALPHA2", balance=25_000.0),
        AccountConfig(name="ALPHA3", auto_liq=AutoLiqConfig(daily_loss_liq_only=1.0,
                                                            daily_loss_auto_liq=20_000.0)),
    ]),
    UserConfig(name="beta", password="beta-pw", accounts=[
        AccountConfig(name="BETA1", balance=100_000.0),
        AccountConfig(name="BETA2", auto_liq=AutoLiqConfig(
            daily_loss_alert=300.0, trailing_max_drawdown=2500.0,
            trailing_max_drawdown_mode="EOD", trailing_max_drawdown_limit=50_100.0,
            do_not_unlock=True, changes_locked=True)),
    ]),
]
"""ALPHA1: the commission of one fill crosses its trailing drawdown; ALPHA3: one fill puts
it in liquidate-only mode; the others have no limits that one fill reaches."""


@dataclass
class Login:
    client: WsClient
    token: str
    snapshot: SyncMessage
    raw: dict[str, Any]

    def account(self, name: str) -> Account:
        return next(a for a in self.snapshot.accounts if a.name == name)

    async def place(self, account: Account, action: str = "Buy", qty: int = 1,
                    account_id: int | None = None) -> PlaceOrderResult:
        response = await self.client.request("order/placeorder", {
            "accountSpec": account.name,
            "accountId": account.id if account_id is None else account_id,
            "action": action, "symbol": "ESZ6", "orderQty": qty, "orderType": "Market",
            "isAutomated": True})
        assert response.s == 200
        return msgspec.json.decode(response.d, type=PlaceOrderResult)

    async def entities(self, until: Callable[[list[tuple[str, str, Any]]], bool]
                       ) -> list[tuple[str, str, Any]]:
        """Props received (entity type, event type, entity) until ``until`` holds."""
        seen: list[tuple[str, str, Any]] = []
        while not until(seen):
            event = await self.client.event(lambda m: isinstance(m, EntityEvent), wait=LIMIT)
            seen.extend((event.entity_type, event.event_type, e) for e in event.entities)
        return seen


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(with_config(users=USERS), today=TODAY, clock=open_clock()) as sim:
        yield sim


async def sign_in(sim: Simulator, http: aiohttp.ClientSession, name: str) -> Login:
    tokens = await login(http, sim, name, f"{name}-pw")
    client = await authorized_socket(sim.ws_url, tokens["accessToken"])
    response = await client.request("user/syncrequest", {"users": [tokens["userId"]]})
    assert response.s == 200
    return Login(client, tokens["accessToken"],
                 msgspec.json.decode(response.d, type=SyncMessage),
                 msgspec.json.decode(response.d))


def of(seen: list[tuple[str, str, Any]], entity_type: str, account: int | None = None
       ) -> list[Any]:
    """Entities of a type (of one account: ``accountId``, or ``id`` for the account-keyed
    risk entities)."""
    out = []
    for kind, _, entity in seen:
        if kind != entity_type:
            continue
        owner = getattr(entity, "account_id", None)
        if owner is None and kind in ("accountRiskStatus", "userAccountAutoLiq"):
            owner = entity.id
        if account is None or owner == account:
            out.append(entity)
    return out


def flat_after_fill(account: int) -> Callable[[list[tuple[str, str, Any]]], bool]:
    def done(seen: list[tuple[str, str, Any]]) -> bool:
        positions = of(seen, "position", account)
        return bool(positions) and positions[-1].net_pos == 0
    return done


async def test_each_login_syncs_only_its_accounts_with_their_risk_entities(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    alpha = await sign_in(sim, http, "alpha")
    beta = await sign_in(sim, http, "beta")
    assert [a.name for a in alpha.snapshot.accounts] == ["ALPHA1", "ALPHA2", "ALPHA3"]
    assert [a.name for a in beta.snapshot.accounts] == ["BETA1", "BETA2"]
    for person in (alpha, beta):
        ids = sorted(a.id for a in person.snapshot.accounts)
        assert sorted(s.id for s in person.snapshot.user_account_auto_liqs) == ids
        assert sorted(s.id for s in person.snapshot.account_risk_statuses) == ids
        assert {s.admin_action for s in person.snapshot.account_risk_statuses} == {"Normal"}
        assert sorted(c.account_id for c in person.snapshot.cash_balances) == ids
    balances = {c.account_id: c.amount for c in beta.snapshot.cash_balances}
    assert balances[beta.account("BETA1").id] == 100_000.0
    beta2 = beta.account("BETA2").id
    wire = next(s for s in beta.raw["userAccountAutoLiqs"] if s["id"] == beta2)
    assert {k: v for k, v in wire.items() if k != "id"} == {
        "changesLocked": True, "dailyLossAlert": 300.0, "trailingMaxDrawdown": 2500.0,
        "trailingMaxDrawdownLimit": 50_100.0, "trailingMaxDrawdownMode": "EOD",
        "doNotUnlock": True}
    alpha1 = next(s for s in alpha.snapshot.user_account_auto_liqs
                  if s.id == alpha.account("ALPHA1").id)
    assert (alpha1.trailing_max_drawdown, alpha1.trailing_max_drawdown_mode) == (1.0,
                                                                                 "RealTime")
    # REST: the entity by item, deps (master: the account), ldeps and list; another login's
    # account is not found.
    token = beta.token
    status, item = await rest(http, sim, "userAccountAutoLiq/item", token=token,
                              params={"id": str(beta2)}, method="GET")
    assert status == 200
    assert item["trailingMaxDrawdownMode"] == "EOD"
    status, deps = await rest(http, sim, "userAccountAutoLiq/deps", token=token,
                              params={"masterid": str(beta2)}, method="GET")
    assert [d["id"] for d in deps] == [beta2]
    status, ldeps = await rest(http, sim, "accountRiskStatus/ldeps", token=token, params={
        "masterids": ",".join(str(a.id) for a in beta.snapshot.accounts)}, method="GET")
    assert sorted(d["id"] for d in ldeps) == sorted(a.id for a in beta.snapshot.accounts)
    status, listed = await rest(http, sim, "userAccountAutoLiq/list", token=alpha.token,
                                method="GET")
    assert sorted(d["id"] for d in listed) == sorted(a.id for a in alpha.snapshot.accounts)
    status, _ = await rest(http, sim, "userAccountAutoLiq/item", token=alpha.token,
                           params={"id": str(beta2)}, method="GET")
    assert status == 404
    # A sync naming another login's account returns none of it.
    response = await alpha.client.request("user/syncrequest", {"accounts": [beta2]})
    assert msgspec.json.decode(response.d, type=SyncMessage).accounts == []


async def test_positions_and_cash_are_per_account_and_per_login(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    alpha = await sign_in(sim, http, "alpha")
    beta = await sign_in(sim, http, "beta")
    alpha2, beta1, beta2 = (alpha.account("ALPHA2"), beta.account("BETA1"),
                            beta.account("BETA2"))
    assert (await alpha.place(alpha2, "Buy", 2)).order_id is not None
    assert (await beta.place(beta1, "Sell", 3)).order_id is not None
    assert (await beta.place(beta2, "Buy", 1)).order_id is not None

    def positioned(*accounts: int) -> Callable[[list[tuple[str, str, Any]]], bool]:
        return lambda seen: all(of(seen, "position", a) and of(seen, "cashBalance", a)
                                for a in accounts)

    seen_alpha = await alpha.entities(positioned(alpha2.id))
    seen_beta = await beta.entities(positioned(beta1.id, beta2.id))
    assert of(seen_alpha, "position", alpha2.id)[-1].net_pos == 2
    assert of(seen_beta, "position", beta1.id)[-1].net_pos == -3
    assert of(seen_beta, "position", beta2.id)[-1].net_pos == 1
    owners = {getattr(e, "account_id", None) for _, _, e in seen_beta} - {None}
    assert owners <= {beta1.id, beta2.id}, "beta's socket carries only beta's accounts"
    owners = {getattr(e, "account_id", None) for _, _, e in seen_alpha} - {None}
    assert owners == {alpha2.id}
    commission = 2.09
    cash: CashBalance = of(seen_beta, "cashBalance", beta1.id)[-1]
    assert cash.amount == pytest.approx(100_000.0 - 3 * commission)
    cash = of(seen_alpha, "cashBalance", alpha2.id)[-1]
    assert cash.amount == pytest.approx(25_000.0 - 2 * commission)
    _, listed = await rest(http, sim, "position/list", token=alpha.token, method="GET")
    assert {p["accountId"] for p in listed} == {alpha2.id}
    _, listed = await rest(http, sim, "position/list", token=beta.token, method="GET")
    assert {p["accountId"]: p["netPos"] for p in listed} == {beta1.id: -3, beta2.id: 1}


async def test_an_order_for_another_logins_account_is_refused(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    alpha = await sign_in(sim, http, "alpha")
    beta = await sign_in(sim, http, "beta")
    beta1 = beta.account("BETA1")
    refused = await alpha.place(alpha.account("ALPHA2"), account_id=beta1.id)
    assert refused.order_id is None
    assert refused.failure_reason == "Unauthorized"
    assert sim.exchange.entities("order", beta.snapshot.users[0].id) == []
    with pytest.raises(TimeoutError):
        await beta.client.event(lambda m: isinstance(m, EntityEvent), wait=0.5)
    response = await alpha.client.request("cashBalance/getcashbalancesnapshot",
                                          {"accountId": beta1.id})
    assert "errorText" in msgspec.json.decode(response.d)


async def test_trailing_drawdown_liquidates_and_locks_one_account_while_others_trade(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    alpha = await sign_in(sim, http, "alpha")
    beta = await sign_in(sim, http, "beta")
    alpha1, alpha2, beta1 = (alpha.account("ALPHA1"), alpha.account("ALPHA2"),
                             beta.account("BETA1"))
    await alpha.place(alpha2, "Buy", 1)
    entry = await alpha.place(alpha1, "Buy", 2)
    assert entry.order_id is not None, "the entry itself is accepted and fills"
    flat = flat_after_fill(alpha1.id)
    seen = await alpha.entities(lambda s: flat(s) and any(
        r.admin_action == "LockTradingImmediately" for r in of(s, "accountRiskStatus",
                                                               alpha1.id)))
    risk = [s.admin_action for s in of(seen, "accountRiskStatus", alpha1.id)]
    assert risk == ["AgreedOnLiquidationByAutoLiq", "LockTradingImmediately"]
    assert of(seen, "accountRiskStatus", alpha1.id)[-1].liquidate_only is not None
    admin_orders = [o for o in of(seen, "order", alpha1.id)
                    if isinstance(o, Order) and o.admin]
    assert {(o.action, o.account_id) for o in admin_orders} == {("Sell", alpha1.id)}
    assert of(seen, "accountRiskStatus", alpha2.id) == []
    assert sim.exchange.risk_standing(alpha1.id) is Standing.LOCKED
    refused = await alpha.place(alpha1, "Buy", 1)
    assert (refused.order_id, refused.failure_reason) == (None, "TradingLocked")
    # The other accounts keep trading: ALPHA2 (same login) and BETA1 (the other login).
    more = await alpha.place(alpha2, "Buy", 1)
    assert more.order_id is not None
    assert more.failure_reason is None
    other = await beta.place(beta1, "Sell", 1)
    assert other.order_id is not None
    seen = await alpha.entities(lambda s: any(p.net_pos == 2 for p in
                                              of(s, "position", alpha2.id)))
    assert of(seen, "accountRiskStatus") == []
    beta_seen = await beta.entities(lambda s: bool(of(s, "position", beta1.id)))
    assert of(beta_seen, "accountRiskStatus") == []
    snapshot = await alpha.client.request("user/syncrequest", {"users": [
        alpha.snapshot.users[0].id]})
    statuses = {s.id: s for s in msgspec.json.decode(snapshot.d, type=SyncMessage)
                .account_risk_statuses}
    assert statuses[alpha1.id].admin_action == "LockTradingImmediately"
    assert statuses[alpha2.id].admin_action == "Normal"


async def test_liquidate_only_refuses_entries_but_takes_exits_over_the_socket(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    alpha = await sign_in(sim, http, "alpha")
    alpha3 = alpha.account("ALPHA3")
    await alpha.place(alpha3, "Buy", 2)
    seen = await alpha.entities(lambda s: bool(of(s, "accountRiskStatus", alpha3.id)))
    status: AccountRiskStatus = of(seen, "accountRiskStatus", alpha3.id)[-1]
    assert status.admin_action == "AgreedOnLiqOnlyModeByAutoLiq"
    entry = await alpha.place(alpha3, "Buy", 1)
    assert (entry.order_id, entry.failure_reason) == (None, "LiquidationOnly")
    reversal = await alpha.place(alpha3, "Sell", 3)
    assert reversal.failure_reason == "LiquidationOnly"
    exit_order = await alpha.place(alpha3, "Sell", 2)
    assert exit_order.order_id is not None
    seen = await alpha.entities(flat_after_fill(alpha3.id))
    position: Position = of(seen, "position", alpha3.id)[-1]
    assert position.net_pos == 0
    assert sim.exchange.risk_standing(alpha3.id) is Standing.LIQUIDATE_ONLY


async def test_settings_update_arrives_as_props_and_locked_settings_refuse_it(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    alpha = await sign_in(sim, http, "alpha")
    beta = await sign_in(sim, http, "beta")
    alpha2 = alpha.account("ALPHA2")
    response = await alpha.client.request("userAccountAutoLiq/update", {
        "id": alpha2.id, "dailyLossAutoLiq": 750.0, "trailingMaxDrawdown": 1500.0,
        "trailingMaxDrawdownMode": "EOD"})
    assert response.s == 200
    answer = msgspec.json.decode(response.d, type=UserAccountAutoLiq)
    assert (answer.daily_loss_auto_liq, answer.trailing_max_drawdown_mode) == (750.0, "EOD")
    seen = await alpha.entities(lambda s: bool(of(s, "userAccountAutoLiq", alpha2.id)))
    updated = of(seen, "userAccountAutoLiq", alpha2.id)[-1]
    assert (updated.trailing_max_drawdown, updated.changes_locked) == (1500.0, False)
    response = await beta.client.request("userAccountAutoLiq/update", {
        "id": beta.account("BETA2").id, "trailingMaxDrawdown": 100_000.0})
    assert "errorText" in msgspec.json.decode(response.d)
    response = await beta.client.request("userAccountAutoLiq/update", {
        "id": alpha2.id, "trailingMaxDrawdown": 1.0})
    assert "errorText" in msgspec.json.decode(response.d)


async def test_order_rejection_fault_limited_to_one_account(
        sim: Simulator, http: aiohttp.ClientSession) -> None:
    beta = await sign_in(sim, http, "beta")
    beta1, beta2 = beta.account("BETA1"), beta.account("BETA2")
    sim.faults.arm("reject_orders", count=1, reason="RiskCheckTimeout", accounts=["BETA2"])
    for _ in range(3):
        assert (await beta.place(beta1)).failure_reason is None, "not its account: untouched"
    rejected = await beta.place(beta2)
    assert (rejected.order_id, rejected.failure_reason) == (None, "RiskCheckTimeout")
    assert sim.faults.fired["reject_orders"] == 1
    assert (await beta.place(beta2)).order_id is not None, "count used up"


def test_the_accounts_filter_reads_from_the_command_line_form() -> None:
    from tradovate_api.simulator.fault_catalog import fault_params, spec_of

    params = fault_params(spec_of("reject_orders"), {"accounts": "EVAL1+EVAL2"})
    assert params["accounts"] == ("EVAL1", "EVAL2")
