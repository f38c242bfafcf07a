"""The orders' latency breakdown: stages from real tickets' stamps, missing stages missing
(never zero or negative), percentiles and histogram in the report, its HTML and the summary."""

from __future__ import annotations

import msgspec
from report_session import Session

from tradovate_api.orders.tickets import OrderTicket, TicketKind, TicketState
from tradovate_api.reports import (
    ReportData,
    build_report,
    decode_report,
    encode_report,
    latency_breakdown,
    render_charts,
    render_html,
    stage_durations,
)
from tradovate_api.reports.latency import HISTOGRAM_EDGES_US, histogram
from tradovate_api.runtime.metrics import RuntimeMetrics
from tradovate_api.runtime.status import format_summary

US = 1_000


def stamped(state: TicketState = TicketState.ACKED, **stamps: int) -> OrderTicket:
    return OrderTicket(cl_ord_id="t-1", kind=TicketKind.PLACE, symbol="ESZ6", contract_id=1,
                       action="Buy", qty=1, order_type="Market", state=state, **stamps)


FULL = {"frame_ns": 1_000 * US, "decoded_ns": 1_004 * US, "decided_ns": 1_010 * US,
        "checked_ns": 1_030 * US, "sent_ns": 1_050 * US, "answered_ns": 1_250 * US,
        "filled_ns": 1_400 * US}


def test_an_order_on_a_market_event_has_every_stage() -> None:
    assert stage_durations(stamped(**FULL)) == {
        "decode": 4 * US, "strategy": 6 * US, "risk": 20 * US, "send": 20 * US,
        "tick_to_order": 50 * US, "ack": 200 * US, "fill": 350 * US}


def test_an_order_on_a_timer_or_a_fill_has_no_market_stages() -> None:
    stamps = {k: v for k, v in FULL.items() if k not in ("frame_ns", "decoded_ns")}
    assert set(stage_durations(stamped(**stamps))) == {"risk", "send", "ack", "fill"}


def test_a_ticket_never_sent_has_only_the_stages_before_the_send() -> None:
    refused = stamped(TicketState.REFUSED, frame_ns=FULL["frame_ns"],
                      decoded_ns=FULL["decoded_ns"], decided_ns=FULL["decided_ns"])
    assert set(stage_durations(refused)) == {"decode", "strategy"}
    not_connected = stamped(TicketState.REFUSED, decided_ns=FULL["decided_ns"],
                            checked_ns=FULL["checked_ns"])
    assert stage_durations(not_connected) == {"risk": 20 * US}


def test_an_inherited_ticket_has_no_stages() -> None:
    # its send time is reconstructed from the earlier run (possibly negative)
    inherited = stamped(TicketState.UNKNOWN, sent_ns=-5 * US, answered_ns=3 * US,
                        taken_over_ns=7 * US)
    assert stage_durations(inherited) == {}


def test_a_fill_before_the_ack_gives_both_from_the_send() -> None:
    early = stamped(**{**FULL, "filled_ns": 1_100 * US, "answered_ns": 1_300 * US})
    durations = stage_durations(early)
    assert durations["fill"] == 50 * US
    assert durations["ack"] == 250 * US


def test_an_unanswered_or_lost_answer_is_no_ack_and_stamps_out_of_order_are_no_stage() -> None:
    pending = stamped(TicketState.PENDING, sent_ns=FULL["sent_ns"])
    assert "ack" not in stage_durations(pending)
    lost = stamped(TicketState.ACKED, sent_ns=FULL["sent_ns"], answered_ns=FULL["sent_ns"] + 3,
                   reason="answer lost (RequestTimeout: no answer); outcome unknown")
    assert "ack" not in stage_durations(lost)
    backwards = stamped(decided_ns=2_000 * US, checked_ns=1_000 * US)
    assert "risk" not in stage_durations(backwards)
    for durations in map(stage_durations, (pending, lost, backwards)):
        assert all(ns >= 0 for ns in durations.values())


def test_percentiles_and_histogram_over_orders() -> None:
    tickets = [stamped(decided_ns=0, checked_ns=i * US, sent_ns=i * US + (i + 1) * US)
               for i in range(1, 101)]  # send stage: 2 .. 101 µs
    (send,) = latency_breakdown(tickets)
    assert (send.name, send.count) == ("send", 100)
    assert send.p50_us == 52.0
    assert send.p99_us == 100.0
    assert send.max_us == 101.0
    assert sum(send.histogram) == 100
    assert len(send.histogram) == len(HISTOGRAM_EDGES_US) + 1
    assert histogram([1 * US, 2 * US, 3 * US, 2_000_000 * US]) == (
        1, 1, 1, *([0] * (len(HISTOGRAM_EDGES_US) - 3)), 1)
    assert latency_breakdown([]) == ()
    (without,) = latency_breakdown(tickets, histograms=False)  # the dashboard's: same figures
    assert without == msgspec.structs.replace(send, histogram=())


def _played_with_stamps(played: Session) -> ReportData:
    for index, ticket in enumerate(played.tickets):
        base = 1_000_000 * (index + 1)
        for name, offset in FULL.items():
            OrderTicket.__dict__[name].__set__(ticket, base + offset)
    return build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)


def test_the_report_carries_the_breakdown_and_reads_back(played: Session) -> None:
    data = _played_with_stamps(played)
    names = [s.name for s in data.stages]
    assert names == ["decode", "strategy", "risk", "send", "tick_to_order", "ack", "fill"]
    assert all(s.count == len(played.tickets) for s in data.stages)
    assert decode_report(encode_report(data)) == data
    # a report saved before the breakdown existed still reads
    old = msgspec.json.decode(encode_report(data))
    del old["stages"]
    assert decode_report(msgspec.json.encode(old)).stages == ()


def test_html_shows_the_stage_table_and_the_histogram(played: Session) -> None:
    data = _played_with_stamps(played)
    charts = render_charts(data)
    assert set(charts) == {"pnl.png", "prices.png", "latency.png"}
    page = render_html(data, charts)
    assert "Latency per order, by stage" in page
    assert 'alt="Order latency by stage"' in page
    assert "decision → risk passed" in page
    assert "<td class=\"n\">20 µs</td>" in page
    without = build_report(played.account, played.market, None, [], now_ms=played.now_ms)
    assert "latency.png" not in render_charts(without)
    assert "No orders sent yet." in render_html(without, {})


def test_the_run_summary_shows_percentiles_per_stage(played: Session) -> None:
    data = _played_with_stamps(played)
    text = format_summary(data, RuntimeMetrics(), "sim", 10.0)
    assert "order stages  p50 / p99 / max us (orders)" in text
    n = len(played.tickets)
    lines = [line.strip() for line in text.splitlines()]
    assert any(line.startswith("decision → risk passed") and line.endswith(f"20 / 20 / 20 ({n})")
               for line in lines)
    plain = format_summary(build_report(played.account, played.market, None, [],
                                        now_ms=played.now_ms), RuntimeMetrics(), "sim", 1.0)
    assert "order stages" not in plain


def test_a_report_can_leave_the_breakdown_out(played: Session) -> None:
    _played_with_stamps(played)
    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms, latency_stages=False)
    assert data.stages == ()
