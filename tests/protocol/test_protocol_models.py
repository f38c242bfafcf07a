"""Models (§2, §4.5, §5, §6): request bodies encode to the documented JSON with absent fields
omitted, documented entity examples decode, and secrets never show in a repr."""

from __future__ import annotations

import logging

import msgspec
import pytest
from protocol_golden import golden

from tradovate_api.protocol.models import (
    ENTITY_CLASSES,
    AccessTokenRequest,
    AccessTokenResponse,
    Account,
    CancelChart,
    CancelOrder,
    ChartDescription,
    Contract,
    ContractMaturity,
    Fill,
    GetChart,
    LiquidatePosition,
    ModifyOrder,
    PlaceOCO,
    PlaceOrder,
    PlaceOSO,
    Product,
    RestrainedOrderVersion,
    StartOrderStrategy,
    SymbolRequest,
    SyncMessage,
    SyncRequest,
    TimeRange,
    TradeDate,
)


def encoded(model: object) -> bytes:
    return msgspec.json.encode(model)


# ------------------------------------------------------------------ request bodies

def test_place_order_minimal_omits_every_absent_field():
    body = PlaceOrder(action="Buy", symbol="ESU3", order_qty=1, order_type="Market")
    assert encoded(body) == b'{"action":"Buy","symbol":"ESU3","orderQty":1,"orderType":"Market"}'


def test_place_order_full():
    body = PlaceOrder(account_spec="DEMO12345", account_id=33, cl_ord_id="c1", action="Sell",
                      symbol="MYMM1", order_qty=2, order_type="StopLimit", price=4150.25,
                      stop_price=4150.5, max_show=1, peg_difference=-2.5, time_in_force="GTD",
                      expire_time="2024-06-11T20:00Z", text="t", activation_time="2024-06-11T14Z",
                      custom_tag50="tag", is_automated=True)
    assert msgspec.json.decode(encoded(body)) == {
        "accountSpec": "DEMO12345", "accountId": 33, "clOrdId": "c1", "action": "Sell",
        "symbol": "MYMM1", "orderQty": 2, "orderType": "StopLimit", "price": 4150.25,
        "stopPrice": 4150.5, "maxShow": 1, "pegDifference": -2.5, "timeInForce": "GTD",
        "expireTime": "2024-06-11T20:00Z", "text": "t", "activationTime": "2024-06-11T14Z",
        "customTag50": "tag", "isAutomated": True}
    assert msgspec.json.decode(encoded(body), type=PlaceOrder) == body


def test_place_oso_with_two_brackets():
    body = PlaceOSO(account_spec="DEMO1", account_id=33, action="Buy", symbol="ESM7",
                    order_qty=1, order_type="Limit", price=2335.25, is_automated=True,
                    bracket1=RestrainedOrderVersion(action="Sell", order_type="Limit",
                                                    price=2340.25),
                    bracket2=RestrainedOrderVersion(action="Sell", order_type="Stop",
                                                    stop_price=2330.25))
    assert encoded(body) == (
        b'{"action":"Buy","symbol":"ESM7","orderQty":1,"orderType":"Limit",'
        b'"accountSpec":"DEMO1","accountId":33,"price":2335.25,"isAutomated":true,'
        b'"bracket1":{"action":"Sell","orderType":"Limit","price":2340.25},'
        b'"bracket2":{"action":"Sell","orderType":"Stop","stopPrice":2330.25}}')


def test_place_oso_with_one_bracket_omits_bracket2():
    body = PlaceOSO(action="Buy", symbol="ESM7", order_qty=1, order_type="Market",
                    bracket1=RestrainedOrderVersion(action="Sell", order_type="Stop",
                                                    stop_price=2330))
    assert b"bracket2" not in encoded(body)
    assert msgspec.json.decode(encoded(body), type=PlaceOSO) == body


def test_place_oco_like_the_strategy_robot():
    body = PlaceOCO(account_spec="DEMO1", account_id=33, action="Buy", symbol="ESM7",
                    order_qty=1, order_type="Limit", price=2335.25, is_automated=True,
                    other=RestrainedOrderVersion(action="Buy", order_type="Stop",
                                                 stop_price=2340.5))
    assert msgspec.json.decode(encoded(body)) == {
        "accountSpec": "DEMO1", "accountId": 33, "action": "Buy", "symbol": "ESM7",
        "orderQty": 1, "orderType": "Limit", "price": 2335.25, "isAutomated": True,
        "other": {"action": "Buy", "orderType": "Stop", "stopPrice": 2340.5}}


def test_modify_order_from_issue_28():
    documented = (b'{"orderId":62496,"orderQty":1,"orderType":"Stop","stopPrice":2633.00,'
                  b'"timeInForce":"Day","text":"DOM"}')
    body = ModifyOrder(order_id=62496, order_qty=1, order_type="Stop", stop_price=2633.0,
                       time_in_force="Day", text="DOM")
    assert msgspec.json.decode(documented, type=ModifyOrder) == body
    assert encoded(body) == documented.replace(b"2633.00", b"2633.0")


def test_cancel_order():
    assert encoded(CancelOrder(order_id=62496)) == b'{"orderId":62496}'
    assert encoded(CancelOrder(order_id=1, is_automated=True)) == (
        b'{"orderId":1,"isAutomated":true}')


def test_liquidate_position_always_sends_admin():
    assert encoded(LiquidatePosition(account_id=33, contract_id=2710963)) == (
        b'{"accountId":33,"contractId":2710963,"admin":false}')
    assert encoded(LiquidatePosition(account_id=33, contract_id=1, admin=False,
                                     is_automated=True)) == (
        b'{"accountId":33,"contractId":1,"admin":false,"isAutomated":true}')


def test_start_order_strategy_params_is_a_json_string():
    params = {"entryVersion": {"orderQty": 1, "orderType": "Market"},
              "brackets": [{"qty": 1, "profitTarget": -30, "stopLoss": 15,
                            "trailingStop": False}]}
    body = StartOrderStrategy(account_id=33, account_spec="DEMO1", symbol="ESM7",
                              order_strategy_type_id=2, action="Sell",
                              params=msgspec.json.encode(params).decode(), is_automated=True)
    wire = msgspec.json.decode(encoded(body))
    assert isinstance(wire["params"], str)
    assert msgspec.json.decode(wire["params"]) == params
    assert wire == {"symbol": "ESM7", "orderStrategyTypeId": 2, "action": "Sell",
                    "accountId": 33, "accountSpec": "DEMO1", "params": wire["params"],
                    "isAutomated": True}


@pytest.mark.parametrize(("body", "wire"), [
    (SyncRequest(users=[12345]), b'{"users":[12345]}'),
    (SyncRequest(accounts=[33]), b'{"accounts":[33]}'),
    (SyncRequest(split_responses=True, entity_types=["user", "account"]),
     b'{"splitResponses":true,"entityTypes":["user","account"]}'),
    (SymbolRequest(symbol="ESM7"), b'{"symbol":"ESM7"}'),
    (SymbolRequest(symbol=123456), b'{"symbol":123456}'),
    (CancelChart(subscription_id=31), b'{"subscriptionId":31}'),
])
def test_small_bodies(body, wire):
    assert encoded(body) == wire
    assert msgspec.json.decode(wire, type=type(body)) == body


def test_get_chart_from_the_market_data_guide():
    body = GetChart(symbol="ESM7", chart_description=ChartDescription(
        underlying_type="MinuteBar", element_size=15, element_size_unit="UnderlyingUnits",
        with_histogram=False), time_range=TimeRange(
        closest_timestamp="2017-04-13T11:33Z", closest_tick_id=123,
        as_far_as_timestamp="2017-04-13T11:33Z", as_much_as_elements=66))
    assert encoded(body) == (
        b'{"symbol":"ESM7","chartDescription":{"underlyingType":"MinuteBar","elementSize":15,'
        b'"elementSizeUnit":"UnderlyingUnits","withHistogram":false},"timeRange":{'
        b'"closestTimestamp":"2017-04-13T11:33Z","closestTickId":123,'
        b'"asFarAsTimestamp":"2017-04-13T11:33Z","asMuchAsElements":66}}')


def test_get_tick_chart_with_one_time_range_field():
    body = GetChart(symbol=123456, chart_description=ChartDescription(
        underlying_type="Tick", element_size=1, element_size_unit="UnderlyingUnits"),
        time_range=TimeRange(as_much_as_elements=100))
    assert encoded(body) == (
        b'{"symbol":123456,"chartDescription":{"underlyingType":"Tick","elementSize":1,'
        b'"elementSizeUnit":"UnderlyingUnits"},"timeRange":{"asMuchAsElements":100}}')


def test_access_token_request_with_penalty_ticket():
    body = AccessTokenRequest(name="MyUsername", password="Secret2Some-", app_id="SampleApp",
                              app_version="0.7", device_id="123e4567-e89b-12d3-a456-426614174000",
                              cid=8, sec="f03741b6-f634-48d6-9308-c8fb871150c2")
    assert encoded(body) == (
        b'{"name":"MyUsername","password":"Secret2Some-","appId":"SampleApp","appVersion":"0.7",'
        b'"deviceId":"123e4567-e89b-12d3-a456-426614174000","cid":8,'
        b'"sec":"f03741b6-f634-48d6-9308-c8fb871150c2"}')
    retry = msgspec.structs.replace(body, penalty_ticket="encrypted_penalty_token_here")
    assert encoded(retry) == encoded(body)[:-1] + b',"p-ticket":"encrypted_penalty_token_here"}'
    assert msgspec.json.decode(encoded(retry), type=AccessTokenRequest) == retry


def test_access_token_request_cid_as_string():
    assert encoded(AccessTokenRequest(name="n", password="p", cid="your_cid")) == (
        b'{"name":"n","password":"p","cid":"your_cid"}')


# ------------------------------------------------------------------ entities and responses

def test_account_list_example():
    [account] = msgspec.json.decode(golden("body_account_list.json"), type=list[Account])
    assert account == Account(id=33, name="V0314", user_id=90, account_type="Customer",
                              active=True, clearing_house_id=1, risk_category_id=5,
                              auto_liq_profile_id=1, margin_account_type="Speculator",
                              legal_status="Individual")
    assert account.timestamp is None


def test_contract_item_example():
    assert msgspec.json.decode(golden("body_contract_item.json"), type=Contract) == Contract(
        id=2710963, name="ESM2", contract_maturity_id=46104, status="DefinitionChecked",
        provider_tick_size=0.25)


def test_product_nq_example():
    product = msgspec.json.decode(golden("body_product_nq.json"), type=Product)
    assert product == Product(
        id=814, name="NQ", currency_id=1, product_type="Futures",
        description="E-Mini NASDAQ 100", exchange_id=2, exchange_channel_id=4,
        contract_group_id=20, risk_discount_contract_group_id=1, status="Verified",
        months="HMUZ", value_per_point=20, price_format_type="Decimal", price_format=-2,
        tick_size=0.25, allow_provider_contract_info=False, is_micro=False,
        market_data_source="Auto", lookup_weight=64, has_replay=True)
    assert msgspec.json.decode(encoded(product)) == msgspec.json.decode(
        golden("body_product_nq.json"))


def test_contract_maturities_with_minute_precision_timestamps():
    maturities = msgspec.json.decode(golden("body_contract_maturity_deps.json"),
                                     type=list[ContractMaturity])
    assert maturities[0] == ContractMaturity(id=37215, product_id=814, expiration_month=201712,
                                             expiration_date="2017-12-15T22:29Z",
                                             archived=False, seq_no=10, is_front=False)
    assert maturities[1].expiration_date == "2018-03-16T21:29Z"


def test_captured_fills_with_external():
    fills = msgspec.json.decode(golden("body_fill_list.json"), type=list[Fill])
    assert fills[0] == Fill(id=4914944371, order_id=4914944368, contract_id=2794446,
                            timestamp="2022-10-25T19:31:02.965Z",
                            trade_date=TradeDate(year=2022, month=10, day=25), action="Buy",
                            qty=1, price=3871.25, active=True, finally_paired=0,
                            external=False)
    assert fills[1].price == 3872.0
    assert msgspec.json.decode(encoded(fills)) == msgspec.json.decode(golden("body_fill_list.json"))


def test_access_token_response_2016_example():
    response = msgspec.json.decode(golden("body_access_token_2016.json"),
                                   type=AccessTokenResponse)
    assert response.access_token is not None
    assert response.access_token.startswith("ag_8a97la5")
    assert (response.expiration_time, response.user_status, response.user_id, response.name) == (
        "2016-11-04T12:29:14.514Z", "Active", 90, "MyUsername")
    assert response.md_access_token is None


def test_access_token_response_current_superset_and_penalty_fields():
    body = (b'{"accessToken":"at","mdAccessToken":"mdt",'
            b'"expirationTime":"2021-06-15T15:40:30.056Z","userStatus":"Active","userId":15460,"name":"n","hasLive":true,"outdatedTaC":false,'
            b'"hasFunded":true,"hasMarketData":true,"outdatedLiquidationPolicy":false,'
            b'"hibpHint":"PasswordCompromised","hasSimPlus":false}')
    response = msgspec.json.decode(body, type=AccessTokenResponse)
    assert (response.md_access_token, response.has_live, response.outdated_ta_c,
            response.has_funded, response.has_market_data,
            response.outdated_liquidation_policy) == ("mdt", True, False, True, True, False)
    penalty = msgspec.json.decode(golden("body_penalty.json"), type=AccessTokenResponse)
    assert (penalty.penalty_ticket, penalty.penalty_time, penalty.penalty_captcha) == (
        "encrypted_penalty_token_here", 60, True)


def test_sync_message_requires_nothing_but_decodes_everything_present():
    body = (b'{"users":[{"id":90,"name":"MyUsername"}],"contractGroups":[],"accounts":'
            + golden("body_account_list.json") + b',"fills":' + golden("body_fill_list.json")
            + b',"userReadStatuses":[{"x":1}]}')
    sync = msgspec.json.decode(body, type=SyncMessage)
    assert [u.id for u in sync.users] == [90]
    assert [a.name for a in sync.accounts] == ["V0314"]
    assert len(sync.fills) == 2
    assert sync.positions == []
    assert msgspec.json.decode(b"{}", type=SyncMessage) == SyncMessage()


def test_every_entity_type_name_is_lower_camel_and_maps_to_a_model():
    assert "order" in ENTITY_CLASSES
    assert "orderVersion" in ENTITY_CLASSES
    for name, cls in ENTITY_CLASSES.items():
        assert name[0].islower()
        assert cls.__name__.lower() == name.lower()


# ------------------------------------------------------------------ secrets

PASSWORD, SEC = "Secret2Some-", "f03741b6-f634-48d6-9308-c8fb871150c2"


def logged(*args: object) -> str:
    """What a logging call ``log.info("%s %r", *args)`` would write."""
    return logging.LogRecord("t", logging.INFO, __file__, 1, "%s %r", args, None).getMessage()


def test_access_token_request_repr_hides_password_and_secret():
    body = AccessTokenRequest(name="MyUsername", password=PASSWORD, sec=SEC,
                              penalty_ticket="tkt", cid=8, device_id="dev")
    for text in (repr(body), str(body), f"{body}", f"{body!r}", logged(body, body),
                 repr([body])):
        assert PASSWORD not in text
        assert SEC not in text
        assert "MyUsername" in text


def test_access_token_response_repr_hides_tokens():
    access, md = "ag_8a97la5-T6PqMfUhu-secret", "md-token-secret"
    response = AccessTokenResponse(access_token=access, md_access_token=md,
                                   expiration_time="2021-06-15T15:40:30.056Z", user_id=15460)
    for text in (repr(response), str(response), f"{response}", repr([response]),
                 logged(response, response)):
        assert access not in text
        assert md not in text
        assert "15460" in text
    assert "access_token=None" in repr(AccessTokenResponse())
