"""The reference strategy on a fixed, recorded input makes the decisions derived by hand from
the original program's specification (§3.3-3.4 and "Decisions for our port"), as
``strategies/reference.py`` documents it.

The input is a list of md wire frames (DOMs, quotes, packed tick charts of ESZ6 and NQZ6) at
fixed times on a manual clock; orders go to the simulator's matching engine in-process on
books that follow the script, and its account events come back through the account store —
the same path as live. Expected decisions below are worked out from the spec, step by step:
ES bpv 50, commission 2.05 per side, DOM net = %offers − %bids pooled over ES and NQ.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import msgspec
import pytest
from trading_helpers import (
    CHARTS,
    ES,
    LOOSE,
    NQ,
    T0,
    Harness,
    dom_frame,
    print_frame,
    quote_frame,
)

from tradovate_api.errors import ConfigError
from tradovate_api.protocol.models import PlaceOrder
from tradovate_api.settings import Risk
from tradovate_api.strategies import ReferenceStrategy, reference
from tradovate_api.strategies.reference import State

ES_UP = ([(5000.00, 60), (4999.75, 40)], [(5000.25, 200), (5000.50, 100)])
"""ES book with offers 300, bids 100."""
NQ_UP = ([(20000.00, 50)], [(20000.25, 150)])
ES_DOWN = ([(4990.00, 200), (4989.75, 100)], [(4990.25, 60), (4990.50, 40)])
"""ES bids 300, offers 100."""
NQ_DOWN = ([(20000.00, 150)], [(20000.25, 50)])


def session_script(h: Harness) -> list[tuple[int, str, Any]]:
    """The recorded session: (time offset ms, label, action). Actions are md frames, or
    callables that move the exchange's book (what fills our market orders)."""
    es, nq = ES.contract_id, NQ.contract_id
    return [
        (10, "books up", lambda: h.set_book("ESZ6", [(5000.00, 50)], [(5000.25, 50)], 5000.0)),
        (10, "ES dom", dom_frame(es, *ES_UP)),
        (10, "NQ dom", dom_frame(nq, *NQ_UP)),
        (10, "ES quote", quote_frame(es, 5000.00, 5000.25)),
        (100, "ES buy 100", print_frame(es, (1, T0 + 100, 5000.25, 100, "Buy"))),
        (200, "NQ buy 60", print_frame(nq, (2, T0 + 200, 20000.25, 60, "Buy"))),
        (300, "ES drops", lambda: h.set_book("ESZ6", [(4990.00, 50)], [(4990.25, 50)])),
        (300, "ES quote", quote_frame(es, 4990.00, 4990.25)),
        (400, "ES buy 5", print_frame(es, (3, T0 + 400, 4990.25, 5, "Buy"))),
        (500, "ES dom", dom_frame(es, *ES_DOWN)),
        (500, "NQ dom", dom_frame(nq, *NQ_DOWN)),
        (600, "ES sell 200", print_frame(es, (4, T0 + 600, 4990.00, 200, "Sell"))),
        (650, "NQ sell 200", print_frame(nq, (5, T0 + 650, 20000.00, 200, "Sell"))),
        (3000, "NQ buy 450", print_frame(nq, (6, T0 + 3000, 20000.25, 450, "Buy"))),
        (4500, "ES wide", lambda: h.set_book("ESZ6", [(4990.00, 50)], [(4990.50, 50)])),
        (4500, "ES quote", quote_frame(es, 4990.00, 4990.50)),
        (4500, "ES sell 420 then unknown 500", print_frame(
            es, (7, T0 + 4400, 4990.00, 420, "Sell"), (8, T0 + 4500, 4990.25, 500, "Unknown"))),
        (6000, "end", None),
    ]


ORIGINAL_PACE = {"entry_pause_ms": 0}
"""The original re-enters at once; the recorded session checks the original's decisions."""


async def run_session(params: dict[str, Any] | None = None, before_start: Any = None,
                      risk: Risk = LOOSE) -> tuple[Harness, ReferenceStrategy]:
    strategy = ReferenceStrategy()
    h = Harness(strategy, symbols=("ESZ6", "NQZ6"), trading_symbol="ESZ6",
                params={**ORIGINAL_PACE, **(params or {})}, risk=risk)
    for contract_id, (historical, realtime) in CHARTS.items():
        h.market_writer.register_chart(contract_id, historical, realtime)
    if before_start is not None:
        before_start(h)
    h.start()
    await h.settle()
    for offset, _label, action in session_script(h):
        await h.advance(T0 + offset)
        await h.settle()
        if callable(action):
            action()
        elif action is not None:
            h.feed_md(action)
        await h.settle()
    return h, strategy


def summary(strategy: ReferenceStrategy) -> list[tuple[int, str, str, int, float | None]]:
    return [(d.at_ms - T0, d.kind, d.action, d.qty, d.price) for d in strategy.decisions]


# ----------------------------------------------------------------------------- the session


async def test_spec_decisions_on_the_recorded_session() -> None:
    h, s = await run_session()
    assert summary(s) == [
        # Unaware: the snapshot is flat.
        (0, "flat_at_start", "", 0, None),
        # +200: pooled pressure ES 100 + NQ 60 = 160 > max(150, E=100) and DOM 75-25 = 50 > 35.
        (200, "entry", "Buy", 1, None),
        (200, "filled", "Buy", 1, 5000.25),
        # +300: live quote bid 4990: 1·50·(4990 − 5000.25) = −512.5 < −500.
        (300, "stop", "Sell", 1, None),
        (300, "closed", "Sell", 1, 4990.00),
        # (no re-entry at +300: 160 is not above the ratchet E = 160)
        # +400: 165 is a new record (> 160) → immediate re-entry.
        (400, "entry", "Buy", 1, None),
        (400, "filled", "Buy", 1, 4990.25),
        # +650: 165 − 400 = −235 < −165 and DOM (now bids-heavy) 25 − 75 = −50 < −35: Sell
        # is opposite to the long → exit the whole position.
        (650, "exit", "Sell", 1, None),
        (650, "closed", "Sell", 1, 4990.00),
        # +1101: ES 100 leaves the window (a timer evaluation): −335 < −235 → short entry.
        (1101, "entry", "Sell", 1, None),
        (1101, "filled", "Sell", 1, 4990.00),
        # +3000: a 450 NQ print is a large-trade Buy (pooled): exit the short …
        (3000, "exit", "Buy", 1, None),
        (3000, "closed", "Buy", 1, 4990.25),
        # … and, the print still in the window, re-enter long at once (two-step reversal).
        (3000, "entry", "Buy", 1, None),
        (3000, "filled", "Buy", 1, 4990.25),
        # +4500: the newest ≥ 400 print is Unknown → no large-trade signal (no further
        # search); pressure −420 < −400 (E) with DOM −50: Sell, opposite → exit.
        (4500, "exit", "Sell", 1, None),
        (4500, "closed", "Sell", 1, 4990.00),
    ]
    texts = {(d.at_ms - T0, d.kind): d.text for d in s.decisions}
    assert texts[(300, "stop")] == "Unrealized Pnl = -512.5"
    assert texts[(3000, "exit")].startswith("Large Trade ")
    assert '"size":450.0' in texts[(3000, "exit")]
    assert texts[(4500, "exit")].startswith('{"net":-420.0,"threshold":400.0')
    assert texts[(200, "entry")].startswith('{"net":160.0,"threshold":150.0')
    assert texts[(200, "entry")].endswith('{"net":50.0,"threshold":35.0}')
    # Realized P&L at close: net·50·(exit − entry) − 2·2.05·|net|.
    assert [round(p.realized, 2) for p in s.positions] == [-516.6, -16.6, -16.6, -16.6]
    assert s.session_pnl == pytest.approx(-516.6 - 3 * 16.6)
    assert s.state is State.AWAITING_TRADES
    # The ratchet is the session's largest |net volume|; the large-trade path (+3000, net
    # +450) returned before updating it.
    assert s.ts_extreme == -420.0
    assert s.unknown_prints == 1
    # The orders the framework sent: market orders of the traded symbol, automated, with
    # client ids the account store found on the server's commands.
    orders = [body for endpoint, body in h.exchange_gateway.sent]
    assert all(isinstance(o, PlaceOrder) and o.symbol == "ESZ6" and o.is_automated
               and o.order_type == "Market" and o.order_qty == 1 for o in orders)
    assert [o.action for o in orders] == ["Buy", "Sell", "Buy", "Sell", "Sell", "Buy", "Buy",
                                          "Sell"]
    assert all(h.account.order_by_cl_ord_id(o.cl_ord_id) is not None for o in orders)
    position = h.account.position(h.account_id, ES.contract_id)
    assert position is not None
    assert position.net_pos == 0


async def test_window_exit_instants_are_scheduled() -> None:
    strategy = ReferenceStrategy()
    h = Harness(strategy, symbols=("ESZ6", "NQZ6"), trading_symbol="ESZ6")
    h.market_writer.register_chart(ES.contract_id, 11, 12)
    h.start()
    await h.advance(T0 + 100)
    h.feed_md(print_frame(ES.contract_id, (1, T0 + 100, 5000.25, 10, "Buy"),
                          (2, T0 + 40, 5000.25, 10, "Buy")))
    assert h.dispatcher.next_timer_ms == T0 + 1041  # the oldest print leaves at ts + 1001
    await h.advance(T0 + 1041)
    assert h.dispatcher.next_timer_ms == T0 + 1101
    assert h.market.window(None, T0 + 1041).buy_volume == 10


async def test_dom_sign_flag_only_changes_the_dom_path() -> None:
    _, s = await run_session({"dom_sign": "bids_minus_offers"})
    # The DOM condition now fails whenever pressure agrees; only the large trade (no DOM
    # condition) enters.
    assert summary(s) == [(0, "flat_at_start", "", 0, None),
                          (3000, "entry", "Buy", 1, None),
                          (3000, "filled", "Buy", 1, 4990.25)]


async def test_unpooled_inputs_use_the_traded_contract_only() -> None:
    _, s = await run_session({"pool_instruments": False})
    # ES prints only: 100 (+100), 105 (+400), −95 (+600); at +1101 the ES 100 leaves:
    # −195 < −max(150, 105) with the ES DOM at 25 − 75 = −50 → short. NQ's large print is
    # not an input, and the ES −420 (+4500) agrees with the short.
    assert summary(s) == [(0, "flat_at_start", "", 0, None),
                          (1101, "entry", "Sell", 1, None),
                          (1101, "filled", "Sell", 1, 4990.00)]


async def test_without_the_ratchet_a_standing_signal_re_enters_at_once() -> None:
    _, s = await run_session({"pressure_ratchet": False})
    decisions = summary(s)
    assert decisions[:6] == [(0, "flat_at_start", "", 0, None),
                             (200, "entry", "Buy", 1, None),
                             (200, "filled", "Buy", 1, 5000.25),
                             (300, "stop", "Sell", 1, None),
                             (300, "closed", "Sell", 1, 4990.00),
                             (300, "entry", "Buy", 1, None)]


SHIPPED_RATE = msgspec.structs.replace(LOOSE, max_orders_per_second=Risk().max_orders_per_second)
"""Loose limits but the shipped order rate, so that the rate is the only limit in play."""


async def test_the_original_pace_trips_the_shipped_order_rate() -> None:
    """The reason for the pause: at the original's pace the re-entry at +400, 200 ms after an
    entry and 100 ms after a stop, is the third order inside a second."""
    _, s = await run_session(risk=SHIPPED_RATE)
    refused = [d for d in s.decisions if d.kind.endswith("_refused")]
    assert refused
    assert "orders per second" in refused[0].text


async def test_the_default_entry_pause_keeps_the_session_inside_the_shipped_order_rate() -> None:
    h, s = await run_session({"entry_pause_ms": ReferenceStrategy.Params().entry_pause_ms},
                             risk=SHIPPED_RATE)
    assert [d for d in s.decisions if d.kind.endswith("_refused")] == []
    assert h.risk.breaches == {}
    orders = [d for d in s.decisions if d.kind in ("entry", "exit", "stop")]
    assert [d.kind for d in orders][:2] == ["entry", "stop"]  # exits never wait
    assert (orders[1].at_ms - orders[0].at_ms) == 100
    for before, entry in itertools.pairwise(orders):
        if entry.kind == "entry":
            assert entry.at_ms - before.at_ms >= 1000
    # The pause delays entries, it does not drop them: the session still trades.
    assert sum(d.kind == "entry" for d in orders) >= 2


# ----------------------------------------------------------------------------- bounds


async def test_a_refusal_storm_is_one_decision_and_a_bounded_log(
        caplog: pytest.LogCaptureFixture) -> None:
    """A large print keeps the signal up while every entry is refused (orders halted): the
    strategy asks again on every quote. It neither floods the log nor piles up decisions."""
    strategy = ReferenceStrategy()
    h = Harness(strategy, symbols=("ESZ6", "NQZ6"), trading_symbol="ESZ6")
    h.market_writer.register_chart(NQ.contract_id, 21, 22)
    h.start()
    await h.settle()
    h.orders.halt("a halt that outlasts the signal")
    es = ES.contract_id
    await h.advance(T0 + 100)
    with caplog.at_level(logging.INFO, logger="tradovate_api"):
        h.feed_md(print_frame(NQ.contract_id, (1, T0 + 100, 20000.00, 400, "Sell")))
        for n in range(2_000):  # a quote every event, the print still in the window
            h.feed_md(quote_frame(es, 5000.00 - 0.25 * (n % 2), 5000.25))
        await h.settle()
    lines = [r.getMessage() for r in caplog.records if "entry_refused" in r.getMessage()]
    assert lines == ["reference: entry_refused Sell 1 ESZ6 → AwaitingTrades (orders halted: "
                     "a halt that outlasts the signal)"]
    refused = [d for d in strategy.decisions if d.kind == "entry_refused"]
    assert len(refused) == 1
    assert (refused[0].action, refused[0].qty, refused[0].at_ms - T0) == ("Sell", 1, 100)
    assert (refused[0].count, refused[0].last_ms) == (2_001, T0 + 100)
    assert refused[0].text == "orders halted: a halt that outlasts the signal"
    assert strategy.state is State.AWAITING_TRADES


async def test_only_the_newest_trades_are_kept_but_the_session_pnl_counts_them_all(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference, "MAX_TRADES", 2, raising=False)
    _, s = await run_session()
    assert [round(p.realized, 2) for p in s.positions] == [-16.6, -16.6]  # of four trades
    assert s.session_pnl == pytest.approx(-516.6 - 3 * 16.6)


# ----------------------------------------------------------------------------- adoption


def _open_position(h: Harness, action: str, qty: int, bid: float, ask: float) -> None:
    h.set_book("ESZ6", [(bid, 10)], [(ask, 10)], bid)
    result, _changes = h.exchange.place_order(h.user_id, PlaceOrder(
        action=action, symbol="ESZ6", order_qty=qty, order_type="Market",
        account_id=h.account_id))
    assert result.order_id is not None


async def test_adopts_a_short_at_its_real_side_and_price_and_stops_it_from_the_quote() -> None:
    strategy = ReferenceStrategy()
    h = Harness(strategy, symbols=("ESZ6", "NQZ6"), trading_symbol="ESZ6")
    _open_position(h, "Sell", 2, 5010.00, 5010.25)
    h.start()
    await h.settle()
    assert summary(strategy) == [(0, "adopt", "Sell", 2, 5010.00)]
    assert strategy.state is State.IN_A_TRADE
    es = ES.contract_id
    await h.advance(T0 + 100)
    h.set_book("ESZ6", [(5014.75, 10)], [(5015.00, 10)])
    h.feed_md(quote_frame(es, 5014.75, 5015.00))  # 2·50·(5010 − 5015) = −500: not below
    await h.settle()
    assert strategy.state is State.IN_A_TRADE
    await h.advance(T0 + 200)
    h.set_book("ESZ6", [(5015.00, 10)], [(5015.25, 10)])
    h.feed_md(quote_frame(es, 5015.00, 5015.25))  # 2·50·(5010 − 5015.25) = −525
    await h.settle()
    assert summary(strategy)[1:] == [(200, "stop", "Buy", 2, None),
                                     (200, "closed", "Buy", 2, 5015.25)]
    assert strategy.decisions[1].text == "Unrealized Pnl = -525.0"
    assert strategy.positions[0].realized == pytest.approx(-525.0 - 2 * 2.05 * 2)
    position = h.account.position(h.account_id, es)
    assert position is not None
    assert position.net_pos == 0


async def test_an_opposite_signal_closes_the_whole_adopted_position() -> None:
    strategy = ReferenceStrategy()
    h = Harness(strategy, symbols=("ESZ6", "NQZ6"), trading_symbol="ESZ6",
                params=ORIGINAL_PACE)  # the original reverses at once
    h.market_writer.register_chart(NQ.contract_id, 21, 22)
    _open_position(h, "Buy", 2, 4999.75, 5000.00)
    h.start()
    await h.settle()
    await h.advance(T0 + 100)
    h.feed_md(print_frame(NQ.contract_id, (1, T0 + 100, 20000.00, 400, "Sell")))
    await h.settle()
    assert summary(strategy) == [(0, "adopt", "Buy", 2, 5000.00),
                                 (100, "exit", "Sell", 2, None),
                                 (100, "closed", "Sell", 2, 4999.75),
                                 (100, "entry", "Sell", 1, None),
                                 (100, "filled", "Sell", 1, 4999.75)]


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize(("params", "message"), [
    ({"dom_threshold": "35"}, "strategy.dom_threshold: expected float, got str"),
    ({"dom_sign": "up"}, "strategy.dom_sign: invalid enum value 'up'"),
    ({"symbol": "CLZ6"}, "strategy.symbol: 'CLZ6' is not one of the subscribed instruments"),
    ({"window_ms": 5000}, "strategy.window_ms: 5000 exceeds the market store's window"),
    ({"large_trades": 400}, "strategy.large_trades: unknown key"),
])
async def test_bad_parameters_stop_the_start_with_a_clear_error(params: dict[str, Any],
                                                                message: str) -> None:
    def start() -> None:  # type and key errors: building the dispatcher; the rest: on_start
        h = Harness(ReferenceStrategy(), symbols=("ESZ6",), params=params)
        h.sync()
        h.dispatcher.start()

    with pytest.raises(ConfigError) as error:
        start()
    assert str(error.value).startswith(message)
