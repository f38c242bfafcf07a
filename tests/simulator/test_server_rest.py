"""REST side of the simulator: auth, conventions, lookups, errors (reference §1.3, §2)."""

from __future__ import annotations

import aiohttp
import msgspec
import pytest
from conftest import (
    FAST,
    TODAY,
    FakeClock,
    authorized_socket,
    login,
    open_socket,
    rest,
    with_config,
)

from tradovate_api.protocol.models import (
    AccessTokenResponse,
    Account,
    CashBalanceSnapshot,
    Contract,
    ContractMaturity,
    MeResponse,
    Product,
)
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.simulator.config import AccountConfig, UserConfig
from tradovate_api.simulator.rest_auth import BAD_CREDENTIALS


async def test_login_returns_the_superset_response(sim: Simulator,
                                                   http: aiohttp.ClientSession) -> None:
    body = await login(http, sim)
    for key in ("accessToken", "mdAccessToken", "expirationTime", "userId", "name",
                "userStatus", "hasLive", "passwordExpirationTime"):
        assert key in body, key
    response = msgspec.convert(body, AccessTokenResponse)
    assert response.name == "sim"
    assert response.user_status == "Active"
    assert response.access_token != response.md_access_token
    assert "errorText" not in body


async def test_login_accepts_form_body_and_string_cid(sim: Simulator,
                                                      http: aiohttp.ClientSession) -> None:
    form = {"name": "sim", "password": "sim", "cid": "your_cid", "appId": "x"}
    async with http.post(f"{sim.rest_url}/auth/accessTokenRequest", data=form) as reply:
        assert reply.status == 200
        assert "accessToken" in await reply.json()


async def test_bad_credentials_are_http_200_with_error_text(sim: Simulator,
                                                            http: aiohttp.ClientSession) -> None:
    status, body = await rest(http, sim, "auth/accesstokenrequest",
                              body={"name": "sim", "password": "SIM"})
    assert status == 200
    assert body == {"errorText": BAD_CREDENTIALS}


async def test_bad_credentials_can_be_a_401(http: aiohttp.ClientSession) -> None:
    async with Simulator(with_config(failed_login_status=401), today=TODAY,
                         clock=open_clock()) as sim:
        status, body = await rest(http, sim, "auth/accesstokenrequest",
                                  body={"name": "nobody", "password": "x"})
    assert status == 401
    assert body["errorText"] == BAD_CREDENTIALS


async def test_renew_gives_a_different_working_token_and_me(sim: Simulator,
                                                            http: aiohttp.ClientSession) -> None:
    first = await login(http, sim)
    status, renewed = await rest(http, sim, "auth/renewaccesstoken", method="GET",
                                 token=first["accessToken"])
    assert status == 200
    assert renewed["accessToken"] != first["accessToken"]
    assert "expirationTime" in renewed
    assert "mdAccessToken" not in renewed
    status, me = await rest(http, sim, "auth/me", method="GET", token=renewed["accessToken"])
    assert status == 200
    decoded = msgspec.convert(me, MeResponse)
    assert decoded.user_id == first["userId"]
    assert decoded.name == "sim"
    assert "email" in me
    assert "emailAddress" not in me


async def test_expired_token_is_refused_on_rest_but_sockets_stay(
        http: aiohttp.ClientSession) -> None:
    clock = FakeClock()
    async with Simulator(with_config(token_lifetime=60.0), today=TODAY, clock=clock) as sim:
        token = (await login(http, sim))["accessToken"]
        socket = await authorized_socket(sim.ws_url, token)
        clock.now += 61
        status, _ = await rest(http, sim, "account/list", token=token)
        assert status == 401
        response = await socket.request("account/list")
        assert response.s == 200
        assert len(msgspec.json.decode(response.d)) == 1
        late = await open_socket(sim.ws_url)
        refused = await late.authorize(token)
        assert refused.s == 401
        assert msgspec.json.decode(refused.d) == "Invalid access token"
        await late.ws.close()
        await socket.ws.close()


async def test_rest_conventions(sim: Simulator, http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    status, _ = await rest(http, sim, "no/suchthing", token=token)
    assert status == 404
    status, _ = await rest(http, sim, "account/list")
    assert status == 401
    for method in ("GET", "POST", "PUT"):
        status, accounts = await rest(http, sim, "Account/List", token=token, method=method)
        assert status == 200
        assert [msgspec.convert(a, Account).account_type for a in accounts] == ["Customer"]
    async with http.post(f"{sim.rest_url}/account/list", data=b"{not json",
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json"}) as reply:
        assert reply.status == 400
    account_id = accounts[0]["id"]
    status, item = await rest(http, sim, "account/item", token=token, method="GET",
                              params={"id": str(account_id)})
    assert status == 200
    assert item["id"] == account_id
    status, _ = await rest(http, sim, "account/item", token=token, params={"id": "1"})
    assert status == 404
    status, items = await rest(http, sim, "account/items", token=token,
                               params={"ids": f"{account_id},5"})
    assert status == 200
    assert [a["id"] for a in items] == [account_id]
    status, snap = await rest(http, sim, "cashBalance/getcashbalancesnapshot", token=token,
                              body={"accountId": account_id})
    assert status == 200
    assert msgspec.convert(snap, CashBalanceSnapshot).total_cash_value == 50_000


async def test_contract_and_product_lookups(sim: Simulator, http: aiohttp.ClientSession) -> None:
    token = (await login(http, sim))["accessToken"]
    status, contract = await rest(http, sim, "contract/find", token=token, method="GET",
                                  params={"name": "ESZ6"})
    assert status == 200
    assert msgspec.convert(contract, Contract).name == "ESZ6"
    status, found = await rest(http, sim, "contract/suggest", token=token, method="GET",
                               params={"t": "MN", "l": "5"})
    assert [c["name"] for c in found] == ["MNQZ6"]
    status, product = await rest(http, sim, "product/find", token=token,
                                 params={"name": "NQ"})
    decoded = msgspec.convert(product, Product)
    assert (decoded.id, decoded.tick_size, decoded.value_per_point) == (814, 0.25, 20)
    status, maturities = await rest(http, sim, "contractMaturity/deps", token=token,
                                    params={"masterid": "814"})
    assert status == 200
    assert [msgspec.convert(m, ContractMaturity).expiration_month for m in maturities] == [
        202612]
    status, _ = await rest(http, sim, "contract/find", token=token, params={"name": "ESZ9"})
    assert status == 404


async def test_config_adds_users_accounts_and_instruments(http: aiohttp.ClientSession) -> None:
    config = msgspec.structs.replace(
        FAST, users=[UserConfig(name="alice", password="pw", accounts=[
            AccountConfig(name="A1", balance=1000), AccountConfig(name="A2", balance=2000)])])
    raw = {"users": [{"name": "alice", "password": "pw",
                      "accounts": [{"name": "A1", "balance": 1000},
                                   {"name": "A2", "balance": 2000}]}],
           "instruments": [{"root": "YM", "product_id": 900, "description": "Mini Dow",
                            "tick_size": 1.0, "value_per_point": 5.0, "start_price": 44000}]}
    from tradovate_api.simulator.config import config_from_mapping

    loaded = config_from_mapping(raw)
    assert loaded.users == config.users
    async with Simulator(msgspec.structs.replace(loaded, warm_up=0.0), today=TODAY,
                         clock=open_clock()) as sim:
        status, body = await rest(http, sim, "auth/accesstokenrequest",
                                  body={"name": "sim", "password": "sim"})
        assert "errorText" in body
        token = (await login(http, sim, "alice", "pw"))["accessToken"]
        status, accounts = await rest(http, sim, "account/list", token=token)
        assert sorted(a["name"] for a in accounts) == ["A1", "A2"]
        status, contract = await rest(http, sim, "contract/find", token=token,
                                      params={"name": "YMZ6"})
        assert status == 200
        assert contract["providerTickSize"] == 1.0


@pytest.mark.parametrize(("raw", "key"), [
    ({"userz": []}, "userz"),
    ({"users": [{"name": "a"}]}, "users[0].password"),
    ({"token_lifetime": -1}, "token_lifetime"),
    ({"users": [{"name": "a", "password": "b", "accounts": [{"nam": "x"}]}]},
     "users[0].accounts[0]"),
])
def test_config_errors_name_the_bad_key(raw: dict[str, object], key: str) -> None:
    from tradovate_api.errors import ConfigError
    from tradovate_api.simulator.config import config_from_mapping

    with pytest.raises(ConfigError) as info:
        config_from_mapping(raw)
    assert key in str(info.value)


def test_default_config_is_one_sim_user() -> None:
    config = SimulatorConfig()
    assert [(u.name, u.password) for u in config.users] == [("sim", "sim")]
    assert config.token_lifetime == 90 * 60
    # Tradovate's partner limit (reference §11 #9): a client leaking sockets is cut, not kind.
    assert config.max_connections == 50
