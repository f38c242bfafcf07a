"""Responses (§3.2) and business failures (§1.3, §2.1, §6.1, §7): every documented shape gives
the typed result or the right typed failure from ``tradovate_api.errors``, never an empty
success."""

from __future__ import annotations

import msgspec
import pytest
from protocol_golden import event_frame, golden

from tradovate_api.errors import (
    BusinessError,
    ErrorResponse,
    NotFound,
    OrderRejected,
    PenaltyTicket,
    ProtocolError,
    RateLimited,
    TradovateError,
    Unauthorized,
)
from tradovate_api.protocol import (
    Messages,
    Pending,
    PendingRequests,
    Response,
    decode_frame,
    error_text,
    interpret,
)
from tradovate_api.protocol.models import (
    AccessTokenResponse,
    ChartSubscriptionResult,
    CommandResult,
    Contract,
    PlaceOrderResult,
    PlaceOsoResult,
    SimpleResponse,
)


def only_response(frame: bytes) -> Response:
    decoded = decode_frame(frame)
    assert isinstance(decoded, Messages)
    [response] = decoded.items
    assert isinstance(response, Response)
    return response


# ------------------------------------------------------------------ response shapes

def test_response_with_body():
    response = only_response(event_frame("msg_response_contract.json"))
    assert (response.status, response.request_id) == (200, 26)
    assert interpret(response.s, response.body, Contract) == Contract(
        id=478866, name="6EZ6", contract_maturity_id=23574)


def test_authorize_success_has_no_d():
    response = only_response(golden("frame_authorize_ok.txt"))
    assert (response.s, response.i, response.body) == (200, 2, None)
    assert interpret(response.s, response.body) is None


def test_no_d_where_a_result_is_expected_is_a_protocol_error():
    failure = interpret(200, None, Contract)
    assert isinstance(failure, ProtocolError)
    assert isinstance(interpret(200, b"  ", Contract), ProtocolError)


def test_not_found_text_with_embedded_quotes():
    response = only_response(event_frame("msg_response_not_found.json"))
    assert response.body == b'"\\"Not found: quote/subscribe\\""'
    failure = interpret(response.s, response.body, dict)
    assert isinstance(failure, NotFound)
    assert failure.status == 404
    assert failure.text == "Not found: quote/subscribe"


@pytest.mark.parametrize(("name", "text"), [
    ("msg_response_invalid_token.json", "Invalid access token"),
])
def test_unauthorized_text(name, text):
    response = only_response(event_frame(name))
    failure = interpret(response.s, response.body)
    assert isinstance(failure, Unauthorized)
    assert (failure.status, failure.text) == (401, text)


def test_access_denied_frame():
    response = only_response(golden("frame_access_denied.txt"))
    failure = interpret(response.s, response.body, SimpleResponse)
    assert isinstance(failure, Unauthorized)
    assert failure.text == "Access is denied"
    assert str(failure) == "status 401: Access is denied"


def test_ws_rate_limit_without_d():
    response = only_response(b"a" + golden("msgs_rate_limited.json"))
    assert (response.s, response.i, response.body) == (429, "request_id", None)
    failure = interpret(response.s, response.body, Contract)
    assert isinstance(failure, RateLimited)
    assert failure.text == ""


@pytest.mark.parametrize(("status", "kind"), [
    (400, ErrorResponse), (401, Unauthorized), (403, Unauthorized), (404, NotFound),
    (423, RateLimited), (429, RateLimited), (500, ErrorResponse), (302, ErrorResponse),
])
def test_status_to_failure_class(status, kind):
    failure = interpret(status, b'"boom"', Contract)
    assert type(failure) is kind
    assert (failure.status, failure.text) == (status, "boom")


@pytest.mark.parametrize(("body", "text"), [
    (b'"plain"', "plain"), (b"not json", "not json"), (b'{"errorText":"x"}', '{"errorText":"x"}'),
    (None, ""), (b"", ""), (b'"' + b"x" * 900 + b'"', "x" * 500),
])
def test_error_text(body, text):
    assert error_text(body) == text


def test_get_chart_response():
    response = only_response(event_frame("msg_response_get_chart.json"))
    assert interpret(response.s, response.body, ChartSubscriptionResult) == (
        ChartSubscriptionResult(historical_id=32, realtime_id=31))


def test_initialize_clock_ok():
    response = only_response(golden("frame_initializeclock_ok.txt"))
    assert interpret(response.s, response.body, SimpleResponse) == SimpleResponse(ok=True)


# ------------------------------------------------------------------ business failures on 200

def test_bad_credentials_are_http_200_with_error_text():
    failure = interpret(200, golden("body_bad_credentials.json"), AccessTokenResponse)
    assert isinstance(failure, BusinessError)
    assert failure.error_text.startswith("Incorrect username or password.")


def test_empty_error_text_is_success():
    result = interpret(200, b'{"errorText":"","ok":true}', SimpleResponse)
    assert result == SimpleResponse(ok=True, error_text="")


def test_simple_response_failure_shape():
    failure = interpret(200, b'{"errorText": "Account is locked", "ok": false}', SimpleResponse)
    assert isinstance(failure, BusinessError)
    assert str(failure) == "Account is locked"


@pytest.mark.parametrize("result_type", [PlaceOrderResult, None])
def test_failure_reason_other_than_success_is_order_rejected(result_type):
    body = b'{"failureReason":"MaxPosLimitReached","failureText":"Max position exceeded"}'
    failure = interpret(200, body, result_type)
    assert isinstance(failure, OrderRejected)
    assert failure.failure_reason == "MaxPosLimitReached"
    assert failure.failure_text == "Max position exceeded"


def test_failure_reason_without_text_falls_back_to_error_text():
    failure = interpret(200, b'{"failureReason":"UnknownReason","errorText":"oops"}',
                        CommandResult)
    assert isinstance(failure, OrderRejected)
    assert (failure.failure_reason, failure.failure_text) == ("UnknownReason", "oops")
    bare = interpret(200, b'{"failureReason":"SessionClosed"}', CommandResult)
    assert isinstance(bare, OrderRejected)
    assert str(bare) == "SessionClosed"


def test_failure_reason_success_is_a_success():
    body = b'{"failureReason":"Success","orderId":4914944368}'
    assert interpret(200, body, PlaceOrderResult) == PlaceOrderResult(
        order_id=4914944368, failure_reason="Success")


def test_place_oso_success():
    body = b'{"orderId":1,"oso1Id":2,"oso2Id":3}'
    assert interpret(200, body, PlaceOsoResult) == PlaceOsoResult(order_id=1, oso1_id=2,
                                                                  oso2_id=3)


def test_modify_success_from_issue_28():
    response = only_response(golden("frame_issue28_modify_response.txt"))
    assert interpret(response.s, response.body, CommandResult) == CommandResult(
        command_id=62539)


def test_penalty_ticket_with_captcha():
    failure = interpret(200, golden("body_penalty.json"), AccessTokenResponse)
    assert isinstance(failure, PenaltyTicket)
    assert (failure.ticket, failure.seconds, failure.captcha) == (
        "encrypted_penalty_token_here", 60, True)


def test_penalty_ticket_without_captcha_and_over_the_socket():
    frame = b'a[{"s":200,"i":9,"d":{"p-ticket":"abc","p-time":15}}]'
    response = only_response(frame)
    failure = interpret(response.s, response.body, PlaceOrderResult)
    assert isinstance(failure, PenaltyTicket)
    assert (failure.ticket, failure.seconds, failure.captcha) == ("abc", 15, False)
    assert "abc" not in str(failure)


def test_penalty_wins_over_error_text():
    failure = interpret(200, b'{"p-ticket":"t","p-time":1,"errorText":"x"}', None)
    assert isinstance(failure, PenaltyTicket)


@pytest.mark.parametrize("body", [b"{", b'{"errorText":5}', b'{"p-time":"soon","p-ticket":"t"}'])
def test_malformed_object_bodies_are_protocol_errors(body):
    assert isinstance(interpret(200, body, Contract), ProtocolError)


def test_wrong_result_shape_is_a_protocol_error():
    failure = interpret(200, b'{"id":"x"}', Contract)
    assert isinstance(failure, ProtocolError)
    assert isinstance(interpret(200, b"[1,2]", Contract), ProtocolError)


def test_array_results_decode():
    assert interpret(200, b'[{"id":1,"name":"ESM2","contractMaturityId":3}]', list[Contract]) == [
        Contract(id=1, name="ESM2", contract_maturity_id=3)]


def test_no_result_type_ignores_a_success_body():
    assert interpret(200, b'{"whatever":1}', None) is None
    assert interpret(204, b"", None) is None


# ------------------------------------------------------------------ PendingRequests

def test_ids_are_allocated_in_order_and_unique():
    pending = PendingRequests()
    ids = [pending.add("account/list") for _ in range(5)]
    assert ids == [1, 2, 3, 4, 5]
    assert len(pending) == 5
    assert all(i in pending for i in ids)
    assert PendingRequests(first_id=0).add("authorize") == 0


def test_resolve_matches_by_id_and_decodes_the_expected_type():
    pending = PendingRequests()
    contract_id = pending.add("contract/item", Contract)
    list_id = pending.add("account/list", list[dict])
    response = Response(s=200, i=contract_id,
                        d=msgspec.Raw(b'{"id":478866,"name":"6EZ6","contractMaturityId":23574}'))
    resolution = pending.resolve(response)
    assert resolution is not None
    assert resolution.pending == Pending(contract_id, "contract/item", Contract)
    assert resolution.result == Contract(id=478866, name="6EZ6", contract_maturity_id=23574)
    assert not resolution.failed
    assert contract_id not in pending
    assert list_id in pending
    assert pending.resolve(response) is None  # answered once only


@pytest.mark.parametrize(("d", "kind"), [
    (b'{"failureReason":"NoQuote","failureText":"no quote"}', OrderRejected),
    (b'{"errorText":"bad"}', BusinessError),
    (b'{"p-ticket":"t","p-time":3}', PenaltyTicket),
])
def test_resolve_business_failure_names_the_endpoint(d, kind):
    pending = PendingRequests()
    request_id = pending.add("order/placeorder", PlaceOrderResult)
    resolution = pending.resolve(Response(s=200, i=request_id, d=msgspec.Raw(d)))
    assert resolution is not None
    assert resolution.failed
    assert isinstance(resolution.result, kind)
    assert resolution.result.endpoint == "order/placeorder"


def test_resolve_error_status_names_the_endpoint():
    pending = PendingRequests()
    request_id = pending.add("quote/subscribe")
    response = only_response(event_frame("msg_response_not_found.json").replace(
        b'"i":1', b'"i":%d' % request_id))
    resolution = pending.resolve(response)
    assert resolution is not None
    assert isinstance(resolution.result, NotFound)
    assert resolution.result.endpoint == "quote/subscribe"
    assert isinstance(resolution.result, TradovateError)


def test_missing_result_body_resolves_to_protocol_error():
    pending = PendingRequests()
    request_id = pending.add("contract/item", Contract)
    resolution = pending.resolve(Response(s=200, i=request_id))
    assert resolution is not None
    assert resolution.failed
    assert isinstance(resolution.result, ProtocolError)


def test_unknown_id_is_not_matched():
    pending = PendingRequests()
    pending.add("account/list")
    assert pending.resolve(Response(s=200, i=99)) is None
    assert pending.resolve(Response(s=200, i=None)) is None
    assert pending.resolve(Response(s=429, i="request_id")) is None
    assert len(pending) == 1


def test_string_digit_id_matches_its_integer_request():
    pending = PendingRequests()
    request_id = pending.add("order/placeorder", PlaceOrderResult)
    resolution = pending.resolve(Response(s=429, i=str(request_id)))
    assert resolution is not None
    assert isinstance(resolution.result, RateLimited)
    assert resolution.result.endpoint == "order/placeorder"
    assert pending.resolve(Response(s=200, i="9" * 5000)) is None


def test_cancel_then_late_response_is_unmatched():
    pending = PendingRequests()
    request_id = pending.add("account/list")
    cancelled = pending.cancel(request_id)
    assert cancelled == Pending(request_id, "account/list")
    assert pending.cancel(request_id) is None
    assert pending.resolve(Response(s=200, i=request_id)) is None


def test_abandon_all_returns_every_pending_request_and_keeps_ids_unique():
    pending = PendingRequests()
    first = [pending.add(f"e/{n}") for n in range(3)]
    abandoned = pending.abandon_all()
    assert [p.request_id for p in abandoned] == first
    assert [p.endpoint for p in abandoned] == ["e/0", "e/1", "e/2"]
    assert len(pending) == 0
    assert pending.abandon_all() == []
    assert pending.add("e/3") == first[-1] + 1
