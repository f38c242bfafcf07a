"""Client requests (§3.3, §3.4): the documented frames byte for byte on the client side, and
the server-side parser's leniencies that official samples depend on."""

from __future__ import annotations

import msgspec
import pytest
from protocol_golden import golden

from tradovate_api.protocol import (
    HEARTBEAT_REQUEST,
    ClientRequest,
    HeartbeatRequest,
    RequestParseError,
    authorize_token,
    encode_authorize,
    encode_body,
    encode_query,
    encode_request,
    parse_request,
)
from tradovate_api.protocol.models import StartOrderStrategy, SyncRequest

TOKEN = "uST01MhJMF3cR3lCs-gdQ9W0AzomYLaqsWcZ_GYgAspPRf-ZS-Wb7q3sW3pUafTm90ba4"


# ------------------------------------------------------------------ client side: encoding

def test_request_without_query_and_body():
    assert encode_request("executionReport/list", 4) == golden(
        "request_execution_report_list.txt")
    assert golden("request_execution_report_list.txt") == b"executionReport/list\n4\n\n"


def test_request_with_query_always_has_four_lines():
    # The reference's example has no body line; clients always send all four (§9.2).
    assert encode_request("tradingPermission/ldeps", 8, encode_query({"masterids": 1})) == (
        golden("request_trading_permission_ldeps.txt") + b"\n")


def test_request_with_body():
    body = encode_body({"name": "YMZ6", "forward": True, "ifExpired": True})
    assert encode_request("contract/rollcontract", 33, "", body) == golden(
        "request_roll_contract.txt")
    assert encode_request("contract/rollcontract", 33, "", body.decode()) == golden(
        "request_roll_contract.txt")


def test_authorize_sends_the_raw_token():
    assert encode_authorize(2, TOKEN) == golden("request_authorize.txt")


def test_heartbeat_is_an_empty_array():
    assert golden("request_heartbeat.txt") == HEARTBEAT_REQUEST == b"[]"


def test_start_order_strategy_over_the_socket():
    body = encode_body(StartOrderStrategy(symbol="ESM7", order_strategy_type_id=2,
                                          action="Sell", params="{}"))
    assert encode_request("orderstrategy/startorderstrategy", 4, "", body) == golden(
        "request_start_order_strategy.txt")


def test_sync_request_body_shapes():
    assert encode_request("user/syncrequest", 1, "", encode_body(SyncRequest(users=[12345]))) \
        == b'user/syncrequest\n1\n\n{"users":[12345]}'
    assert encode_body(SyncRequest(split_responses=True, entity_types=["order", "fill"])) == (
        b'{"splitResponses":true,"entityTypes":["order","fill"]}')


@pytest.mark.parametrize(("params", "query"), [
    ({"masterids": "1,2"}, "masterids=1,2"),
    ({"masterids": "1,2,3"}, "masterids=1,2,3"),
    ({"name": "ETH"}, "name=ETH"),
    ({"id": 2710963}, "id=2710963"),
    ({"l": 10, "t": "ES"}, "l=10&t=ES"),
    ({"name": "@ES"}, "name=@ES"),
    ({"name": None, "id": 5}, "id=5"),
    ({"t": "a b&c"}, "t=a+b%26c"),
])
def test_encode_query(params, query):
    assert encode_query(params) == query


@pytest.mark.parametrize(("endpoint", "query"), [
    ("/account/list", ""), ("account\n/list", ""), ("account/list", "a=1\nb=2"),
])
def test_encode_request_rejects_frames_that_would_misparse(endpoint, query):
    with pytest.raises(ValueError, match="endpoint"):
        encode_request(endpoint, 1, query)


# ------------------------------------------------------------------ server side: parsing

def test_parse_request_without_query_and_body():
    assert parse_request(golden("request_execution_report_list.txt")) == ClientRequest(
        "executionreport/list", "executionReport/list", 4, "", b"")


def test_parse_three_line_frame_from_the_reference():
    request = parse_request(golden("request_trading_permission_ldeps.txt"))
    assert request == ClientRequest("tradingpermission/ldeps", "tradingPermission/ldeps", 8,
                                    "masterids=1", b"")
    assert isinstance(request, ClientRequest)
    assert request.query_params() == {"masterids": "1"}
    assert request.body_json() is None


def test_parse_request_with_body():
    request = parse_request(golden("request_roll_contract.txt"))
    assert isinstance(request, ClientRequest)
    assert request.endpoint == "contract/rollcontract"
    assert request.request_id == 33
    assert request.body == b'{"name":"YMZ6","forward":true,"ifExpired":true}'
    assert request.body_json() == {"name": "YMZ6", "forward": True, "ifExpired": True}


def test_undefined_query_line_is_ignored():
    request = parse_request(golden("request_sync_undefined_query.txt"))
    assert isinstance(request, ClientRequest)
    assert request.endpoint == "user/syncrequest"
    assert request.query_params() == {}
    assert msgspec.json.decode(request.body, type=SyncRequest) == SyncRequest(accounts=[12345])


def test_undefined_body_is_no_body():
    request = parse_request(golden("request_account_list_undefined_body.txt"))
    assert isinstance(request, ClientRequest)
    assert request.endpoint == "account/list"
    assert request.body_json() is None


def test_junk_query_text_keeps_real_parameters():
    request = parse_request(b"contract/suggest\n9\nundefined&t=ES&l=10&junk\n")
    assert isinstance(request, ClientRequest)
    assert request.query_params() == {"t": "ES", "l": "10"}


def test_blank_query_value_is_kept():
    request = parse_request(b"contract/find\n9\nname=\n")
    assert isinstance(request, ClientRequest)
    assert request.query_params() == {"name": ""}


@pytest.mark.parametrize("name", ["request_authorize.txt", "request_authorize_quoted.txt"])
def test_authorize_token_raw_or_quoted(name):
    request = parse_request(golden(name))
    assert isinstance(request, ClientRequest)
    assert request.endpoint == "authorize"
    assert authorize_token(request.body) == TOKEN


def test_authorize_token_edge_cases():
    assert authorize_token(b"  " + TOKEN.encode() + b"\r\n") == TOKEN
    assert authorize_token(b'"unterminated') == '"unterminated'
    assert authorize_token(b'"a\\u0041"') == "aA"
    assert authorize_token(b"") == ""


@pytest.mark.parametrize("endpoint", [
    "md/subscribeQuote", "md/subscribequote", "MD/SUBSCRIBEQUOTE", "user/syncRequest",
    "orderStrategy/startOrderStrategy", "replay/initializeClock",
])
def test_endpoint_match_is_case_insensitive_and_spelling_kept(endpoint):
    request = parse_request(f"{endpoint}\n5\n\n{{}}")
    assert isinstance(request, ClientRequest)
    assert request.endpoint == endpoint.lower()
    assert request.raw_endpoint == endpoint


def test_leading_slash_and_crlf_are_tolerated():
    assert parse_request(b"/account/list\r\n7\r\n\r\n") == ClientRequest(
        "account/list", "account/list", 7, "", b"")


@pytest.mark.parametrize("frame", [b"[]", b" []\n", "[]"])
def test_heartbeat(frame):
    assert parse_request(frame) == HeartbeatRequest()


@pytest.mark.parametrize(("frame", "request_id"), [
    (b"", None), (b"account/list", None), (b"account/list\nfour\n\n", None),
    (b"\xff\n1\n\n", None), (b"\n5\n\n", 5), (b"  \n5\n\n", 5), (b"x\n1\n\xff\n", 1),
    (b"[1]", None), ("x\n1\n\ud800", 1),
])
def test_malformed_requests(frame, request_id):
    result = parse_request(frame)
    assert isinstance(result, RequestParseError)
    assert result.request_id == request_id
    assert result.reason


def test_two_line_frame_is_a_request_with_no_query_or_body():
    assert parse_request(b"account/list\n3") == ClientRequest(
        "account/list", "account/list", 3, "", b"")


def test_body_may_contain_newlines():
    request = parse_request(b'order/placeorder\n5\n\n{"a":\n1}\n')
    assert isinstance(request, ClientRequest)
    assert request.body_json() == {"a": 1}
