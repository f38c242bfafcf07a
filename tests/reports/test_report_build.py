"""build_report against hand-computed numbers of a scripted session on the simulator's engine,
and against the account store's own P&L for random sessions."""

from __future__ import annotations

import random
import time

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_session import COMMISSION, ES, HAND, T0_MS, VPP, Session, scripted

from tradovate_api.reports import (
    ConnectionLine,
    LatencyStats,
    Point,
    SessionHistory,
    build_report,
    decode_report,
    encode_report,
)
from tradovate_api.reports.build import MAX_POINTS, collect_inputs, compose_report
from tradovate_api.runtime.metrics import RuntimeMetrics


def _s(t_ms: int) -> float:
    """Seconds after the session's T0."""
    return (t_ms - T0_MS) / 1000


def test_summary_positions_and_trades_match_the_hand_computation(played: Session) -> None:
    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)
    s = data.summary
    assert s.realized == pytest.approx(HAND["realized"])
    assert s.commissions == pytest.approx(HAND["commissions"])
    assert s.net_realized == pytest.approx(HAND["realized"] - HAND["commissions"])
    assert s.open_pnl == pytest.approx(HAND["open"])
    assert s.total == pytest.approx(25.0 - 14.35 + 137.5)
    assert (s.fills, s.trades_closed, s.wins, s.losses) == (5, 2, 1, 1)
    assert s.win_rate == 0.5

    (position,) = data.positions
    assert (position.symbol, position.net_pos, position.avg_price, position.mark) == (
        "ESZ6", 1, 5001.25, 5004.0)
    assert position.open_pnl == pytest.approx(137.5)

    first, second, third = data.trades
    assert (first.side, first.qty, first.entry_price, first.exit_price) == (
        "Long", 1, 5000.25, 5001.75)
    assert (_s(first.entry_ms), _s(first.exit_ms or 0)) == (60, 120)
    assert first.gross == pytest.approx(1.5 * VPP)
    assert first.commissions == pytest.approx(2 * COMMISSION)
    assert first.net == pytest.approx(75 - 4.10)
    assert first.entry_trigger == "pressure buy: ts_net=+410"
    assert first.exit_trigger == "opposite signal"

    assert (second.side, second.qty, second.exit_qty) == ("Short", 2, 2)
    assert second.exit_price == pytest.approx((5003.25 + 5001.25) / 2)
    assert second.gross == pytest.approx(-75 + 25)
    assert second.net == pytest.approx(-50 - 4 * COMMISSION)
    assert second.exit_trigger == "Unrealized Pnl = -62.5; pressure buy: reverse"

    assert (third.side, third.qty, third.exit_qty, third.closed) == ("Long", 1, 0, False)
    assert third.exit_ms is None
    assert third.exit_price is None
    assert third.net == pytest.approx(-COMMISSION)
    assert third.entry_trigger == "pressure buy: reverse"

    (account,) = data.accounts
    assert account.name == "DEMO123"
    assert account.realized_pnl == pytest.approx(25.0)  # the simulator's own ledger
    assert account.cash_balance == pytest.approx(100_000 + 25.0 - 14.35)


def test_the_pnl_curve_is_marked_to_market_at_every_fill_and_sample(session: Session) -> None:
    history = SessionHistory()
    original = session.quote

    def quote_and_sample(mid: float) -> None:
        original(mid)
        history.sample(session.market, session.now_ms)

    session.quote = quote_and_sample  # type: ignore[method-assign]
    scripted(session)
    data = build_report(session.account, session.market, None, session.tickets,
                        now_ms=session.now_ms, history=history)
    curve = [(_s(p.t_ms), round(p.value, 2)) for p in data.pnl_series]
    assert curve == [
        (0, 0.0),          # mark 5000, flat
        (60, -2.05),       # bought 1 @5000.25: one commission
        (90, 35.45),       # mark 5001: +0.75 pt
        (120, 70.9),       # sold @5001.75: +75 - 4.10 (the sample at 5002 changes nothing)
        (180, 66.8),       # short 2 @5001.75
        (200, -8.2),       # mark 5002.5: short 2 × -0.75 pt = -75 open
        (240, -85.25),     # bought 1 @5003.25: -75 realized, short 1 marked at the fill
        (240, -72.75),     # mark 5003: short 1 @5001.75 → -62.5 open
        (300, 10.65),      # bought 2 @5001.25: +25 on the last short, long 1 at its price
        (300, -1.85),      # mark 5001: long 1 @5001.25 → -12.5 open
        (360, 148.15),     # mark 5004: +137.5 open
    ]
    assert data.pnl_series[-1].value == pytest.approx(data.summary.total or 0)
    (prices,) = data.price_series
    assert [(_s(p.t_ms), p.value) for p in prices.points] == [
        (0, 5000.0), (60, 5000.25), (90, 5001.0), (120, 5001.75), (120, 5002.0),
        (180, 5001.75), (200, 5002.5), (240, 5003.25), (240, 5003.0), (300, 5001.25),
        (300, 5001.0), (360, 5004.0)]
    assert [(f.action, f.qty, f.role) for f in prices.fills] == [
        ("Buy", 1, "entry"), ("Sell", 1, "exit"), ("Sell", 2, "entry"), ("Buy", 1, "exit"),
        ("Buy", 2, "reverse")]


def test_time_and_sales_prints_feed_the_price_chart(session: Session) -> None:
    session.at(0)
    session.quote(5000.0)
    session.at(10)
    session.prints(5000.25, 5000.5)
    session.at(20)
    session.market_order("Buy", 1, "go")
    data = build_report(session.account, session.market, None, session.tickets,
                        now_ms=session.now_ms)
    (prices,) = data.price_series
    assert [(_s(p.t_ms), p.value) for p in prices.points] == [
        (10, 5000.25), (10, 5000.5), (20, 5000.25), (20, 5000.0)]


def test_bracket_legs_get_take_profit_and_stop_loss_triggers(session: Session) -> None:
    session.at(0)
    session.quote(5000.0)
    session.at(30)
    ticket = session.bracket("Buy", 1, 5002.0, 4998.0, "large print 412 @5000")
    session.at(60)
    session.quote(5002.5)
    session.prints(5002.25)  # trades through the take-profit limit at 5002
    data = build_report(session.account, session.market, None, session.tickets,
                        now_ms=session.now_ms)
    (trade,) = data.trades
    assert trade.closed
    assert trade.entry_trigger == "large print 412 @5000"
    assert trade.exit_trigger == "take profit (bracket of: large print 412 @5000)"
    assert trade.exit_price == 5002.0
    assert trade.gross == pytest.approx((5002.0 - 5000.25) * VPP)
    stop_leg = session.account.order(ticket.bracket_ids[1])
    assert stop_leg is not None
    assert stop_leg.is_done


def test_fills_of_orders_without_a_ticket_have_no_trigger(session: Session) -> None:
    session.at(0)
    session.quote(5000.0)
    session.market_order("Buy", 1, "mine")
    session.tickets.clear()  # e.g. an order placed by hand in the Tradovate app
    data = build_report(session.account, session.market, None, session.tickets,
                        now_ms=session.now_ms)
    assert data.trades[0].entry_trigger == ""


def test_cancel_and_modify_tickets_do_not_replace_the_entry_trigger(played: Session) -> None:
    from tradovate_api.orders.tickets import OrderTicket, TicketKind

    first = played.tickets[0]
    played.tickets.append(OrderTicket(cl_ord_id="x-1", kind=TicketKind.CANCEL, symbol="ESZ6",
                                      contract_id=ES, order_id=first.order_id, trigger=""))
    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)
    assert data.trades[0].entry_trigger == "pressure buy: ts_net=+410"


class _Session:
    """The connection counters a websocket session exposes."""

    def __init__(self, connects: int, ready_count: int, ready: bool) -> None:
        self.connects, self.ready_count, self.ready = connects, ready_count, ready


def test_runtime_metrics_give_uptime_reconnects_and_latency(played: Session) -> None:
    now = [1000.0]
    metrics = RuntimeMetrics(latency_capacity=200, clock=lambda: now[0])
    metrics.track_session("md", _Session(4, 3, True))
    metrics.track_session("trading", _Session(1, 1, False))
    for micros in range(1, 101):  # 1..100 µs
        metrics.record_tick_to_order(micros * 1000)
    now[0] += 7_509.0
    data = build_report(played.account, played.market, metrics, played.tickets,
                        now_ms=played.now_ms)
    assert data.uptime_seconds == 7_509.0
    assert data.session_start_ms == played.now_ms - 7_509_000
    assert data.connections == (ConnectionLine("md", True, 4, 2),
                                ConnectionLine("trading", False, 1, 0))
    # RuntimeMetrics: index round(f × (n − 1)) of the sorted samples
    assert data.latency == LatencyStats(100, 51.0, 90.0, 99.0, 100.0)


def test_no_latency_section_without_samples(played: Session) -> None:
    data = build_report(played.account, played.market, RuntimeMetrics(), played.tickets,
                        now_ms=played.now_ms)
    assert data.latency is None


def test_open_pnl_is_unknown_without_a_mark(played: Session) -> None:
    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms, mark=lambda _: None)
    assert data.summary.open_pnl is None
    assert data.summary.total is None
    assert data.summary.net_realized == pytest.approx(10.65)


def test_an_empty_account_gives_an_empty_report(session: Session) -> None:
    data = build_report(session.account, session.market, now_ms=session.now_ms)
    assert data.trades == ()
    assert data.positions == ()
    assert data.pnl_series == ()
    assert data.summary.win_rate is None
    assert data.summary.total == 0.0


def test_json_round_trip_is_lossless(played: Session) -> None:
    data = build_report(played.account, played.market, None, played.tickets,
                        now_ms=played.now_ms)
    raw = encode_report(data)
    assert decode_report(raw) == data
    assert msgspec.json.decode(raw)["pnl_series"][0] == [T0_MS + 60_000, -2.05]


def test_thinning_keeps_series_short_and_keeps_fills(session: Session) -> None:
    history = SessionHistory()
    session.at(0)
    session.quote(5000.0)
    for second in range(1, 6001):
        session.at(second)
        history.add(ES, Point(session.now_ms, 5000.0 + (second % 40) * 0.25))
        if second == 3000:
            session.market_order("Buy", 1, "mid-session")
    data = build_report(session.account, session.market, None, session.tickets,
                        now_ms=session.now_ms, history=history)
    (prices,) = data.price_series
    assert len(prices.points) <= 1_600
    assert len(data.pnl_series) <= 1_600
    fill_ms = T0_MS + 3_000_000
    assert any(p.t_ms == fill_ms for p in data.pnl_series)
    assert prices.points[-1].t_ms == session.now_ms


Op = tuple[str, int, int]
ops = st.lists(st.tuples(st.sampled_from(("Buy", "Sell", "move")), st.integers(1, 3),
                         st.integers(-6, 6)), min_size=1, max_size=30)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(steps=ops, seed=st.integers(0, 1000))
def test_round_trips_add_up_to_the_account_store(steps: list[Op], seed: int) -> None:
    """For any session: Σ trade gross = the store's realized P&L, Σ trade commissions = its
    commissions, the curve ends at the store's total, and the trades' fills account for the
    position that is still open."""
    session = Session()
    rnd = random.Random(seed)
    mid = 5000.0
    session.quote(mid)
    for second, (kind, qty, move) in enumerate(steps, start=1):
        session.at(second * 7)
        if kind == "move":
            mid += move * 0.25
            session.quote(mid)
        else:
            session.market_order(kind, qty, f"{kind} #{rnd.randint(1, 99)}")
    data = build_report(session.account, session.market, None, session.tickets,
                        now_ms=session.now_ms)
    pnls = session.account.pnls(session.market.mark_price)
    assert sum(t.gross for t in data.trades) == pytest.approx(sum(p.realized for p in pnls))
    assert sum(t.commissions for t in data.trades) == pytest.approx(
        sum(p.commissions for p in pnls))
    assert data.summary.total == pytest.approx(sum(p.total or 0 for p in pnls))
    if data.pnl_series:
        assert data.pnl_series[-1].value == pytest.approx(data.summary.total)
    net = sum(p.net_pos for p in pnls)
    open_trades = [t for t in data.trades if not t.closed]
    assert len(open_trades) == (1 if net else 0)
    if open_trades:
        (trade,) = open_trades
        assert (trade.qty - trade.exit_qty) * (1 if trade.side == "Long" else -1) == net
    closed = [t for t in data.trades if t.closed]
    assert data.summary.wins == sum(1 for t in closed if t.net > 0)
    assert data.summary.trades_closed == len(closed)


def test_taking_the_inputs_is_cheap_and_composing_is_bounded(session: Session) -> None:
    """A long, busy session: a week of sampled marks, 5,000 prints, 400 fills. Only
    collect_inputs runs on the trading loop."""
    history = SessionHistory()
    session.at(0)
    session.quote(5000.0)
    for i in range(10_000):
        history.add(ES, Point(T0_MS - (10_000 - i) * 60_000, 5000 + (i % 50) * 0.25))
    for i in range(400):
        session.at(i * 20)
        session.quote(5000 + (i % 9) * 0.25)
        session.market_order("Buy" if i % 2 == 0 else "Sell", 1, f"t{i}")
    for k in range(50):
        session.at(8000 + k)
        session.prints(*[5000 + (j % 7) * 0.25 for j in range(100)])
    args = (session.account, session.market, None, session.tickets)
    collect_inputs(*args, now_ms=session.now_ms, history=history)
    started = time.perf_counter()
    inputs = collect_inputs(*args, now_ms=session.now_ms, history=history)
    collect_s = time.perf_counter() - started
    started = time.perf_counter()
    data = compose_report(inputs)
    compose_s = time.perf_counter() - started
    print(f"collect {collect_s * 1000:.1f} ms (on the loop), compose {compose_s * 1000:.1f} ms")
    assert data.summary.fills == 400
    assert data.summary.trades_closed == 200
    assert len(data.price_series[0].points) <= MAX_POINTS + 400 + 1
    assert len(data.pnl_series) <= MAX_POINTS + 400 + 1
    assert collect_s < 0.05  # ~2 ms unloaded
    assert collect_s < compose_s


def test_the_price_chart_shows_the_session_not_the_history_before_it(
        session: Session) -> None:
    """The store keeps the chart history sent at subscription: prints from before the run. A
    short run's price chart starts at the run (or at an earlier fill), not hours before."""
    session.at(0)
    session.quote(5000.0)
    session.prints(4990.0, 4991.0)  # history, an hour before the run
    session.at(3600)
    session.quote(5000.0)
    session.prints(5000.0)
    session.market_order("Buy", 1, "entry")
    session.at(3601)
    session.prints(5001.0)
    start = session.now_ms - 1000
    clock = [0.0]
    metrics = RuntimeMetrics(clock=lambda: clock[0])
    clock[0] += 1.0  # the run began a second ago, at the entry
    everything = build_report(session.account, session.market, None, session.tickets,
                              now_ms=session.now_ms)
    assert min(p.t_ms for s in everything.price_series for p in s.points) < start
    data = build_report(session.account, session.market, metrics, session.tickets,
                        now_ms=session.now_ms)
    assert data.session_start_ms == start
    shown = [(p.t_ms, p.value) for s in data.price_series for p in s.points]
    assert shown
    assert min(t for t, _ in shown) >= start
    assert 4990.0 not in {v for _, v in shown}
    assert [f for s in data.price_series for f in s.fills] == \
        [f for s in everything.price_series for f in s.fills]
