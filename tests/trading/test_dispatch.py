"""The dispatcher: hooks in order, exceptions isolated (logged, urgent alert, paused if
configured) while orders, risk and stores carry on; timers; fills exactly once; and against
the simulator, a failing strategy does not stop the readers."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sim_rig import FAST_SIM, SimRig
from trading_helpers import ES, T0, TODAY, Harness, dom_frame, print_frame, quote_frame

from tradovate_api.alerts import Severity
from tradovate_api.orders import OrderTicket, TicketState
from tradovate_api.protocol.models import PlaceOrder, Position
from tradovate_api.simulator import Simulator
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.stores import (
    DomBook,
    NewFill,
    OrderState,
    QuoteState,
    TradesAdded,
)
from tradovate_api.strategy import Strategy


class Recorder(Strategy):
    """Records every hook call; raises in the hooks named in ``fail``."""

    def __init__(self, fail: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail = fail

    def _record(self, hook: str, arg: Any) -> None:
        self.calls.append((hook, arg))
        if hook in self.fail:
            raise ValueError(f"boom in {hook}")

    def on_start(self) -> None:
        self._record("on_start", None)

    def on_quote(self, quote: QuoteState) -> None:
        self._record("on_quote", quote)

    def on_dom(self, book: DomBook) -> None:
        self._record("on_dom", book)

    def on_trade(self, trades: TradesAdded) -> None:
        self._record("on_trade", trades)

    def on_order(self, order: OrderState) -> None:
        self._record("on_order", order)

    def on_fill(self, fill: NewFill) -> None:
        self._record("on_fill", fill)

    def on_position(self, position: Position) -> None:
        self._record("on_position", position)

    def on_ticket(self, ticket: OrderTicket) -> None:
        self._record("on_ticket", ticket.state)

    def on_timer(self, now_ms: int) -> None:
        self._record("on_timer", now_ms)

    def on_stop(self) -> None:
        self._record("on_stop", None)

    def hooks(self) -> list[str]:
        return [hook for hook, _ in self.calls]


def started(strategy: Strategy, **kwargs: Any) -> Harness:
    h = Harness(strategy, **kwargs)
    h.market_writer.register_chart(ES.contract_id, 11, 12)
    h.set_book("ESZ6", [(5000.00, 50)], [(5000.25, 50)], 5000.0)
    h.start()
    return h


async def test_hooks_receive_market_and_account_changes_in_order() -> None:
    strategy = Recorder()
    h = started(strategy)
    es = ES.contract_id
    h.feed_md(quote_frame(es, 5000.00, 5000.25))
    h.feed_md(dom_frame(es, [(5000.00, 5)], [(5000.25, 7)]))
    h.feed_md(print_frame(es, (1, T0, 5000.25, 2, "Buy")))
    assert strategy.hooks() == ["on_start", "on_quote", "on_dom", "on_trade"]
    quote = strategy.calls[1][1]
    assert (quote.bid, quote.ask) == (5000.00, 5000.25)
    strategy.calls.clear()
    ticket = h.ctx.buy("ESZ6", 1)
    await h.settle()
    hooks = strategy.hooks()
    assert hooks.count("on_fill") == 1
    assert "on_position" in hooks
    assert [a for hook, a in strategy.calls if hook == "on_ticket"] == [TicketState.ACKED]
    assert hooks.index("on_order") < hooks.index("on_fill")
    fill = next(a for hook, a in strategy.calls if hook == "on_fill")
    assert fill.order.id == ticket.order_id
    stats = h.dispatcher.stats
    assert stats["on_quote"].calls == 1
    assert stats["on_fill"].calls == 1
    assert stats["on_fill"].total_ns == 0  # timing is opt-in (measure_hooks)


@pytest.mark.parametrize("measure", [False, True])
async def test_hook_timing_is_opt_in(measure: bool) -> None:
    class Slow(Recorder):
        def on_quote(self, quote: QuoteState) -> None:
            super().on_quote(quote)
            time.sleep(0.002)

    h = started(Slow(), measure_hooks=measure)
    for bid in (5000.00, 5000.25, 5000.50):
        h.feed_md(quote_frame(ES.contract_id, bid, bid + 0.25))
    stats = h.dispatcher.stats["on_quote"]
    assert stats.calls == 3
    if measure:
        assert stats.max_ns >= 2_000_000
        assert stats.total_ns >= 3 * 2_000_000
        assert stats.mean_ns >= 2_000_000
    else:
        assert (stats.total_ns, stats.max_ns) == (0, 0)


async def test_refused_orders_are_returned_not_reported_as_ticket_events() -> None:
    strategy = Recorder()
    h = started(strategy)
    refused = h.ctx.buy("ESZ6", 0)
    assert refused.state is TicketState.REFUSED
    await h.settle()
    assert "on_ticket" not in strategy.hooks()


async def test_a_raising_hook_is_alerted_and_pauses_the_strategy() -> None:
    strategy = Recorder(fail=("on_quote",))
    h = started(strategy)
    es = ES.contract_id
    h.feed_md(quote_frame(es, 5000.00, 5000.25))
    assert h.dispatcher.paused
    (alert,) = [a for a in h.alerts.recent if a.key == "strategy.exception"]
    assert alert.severity is Severity.URGENT
    assert alert.title == "Strategy Recorder.on_quote raised ValueError: boom in on_quote"
    assert "paused" in alert.body
    assert "boom in on_quote" in alert.body  # the traceback
    # Paused: no hooks, but the stores, the order manager and risk carry on.
    ticket = h.orders.place("ESZ6", "Buy", 1)
    h.feed_md(dom_frame(es, [(5000.00, 5)], [(5000.25, 7)]))
    await h.settle()
    assert strategy.hooks() == ["on_start", "on_quote"]
    assert ticket.state is TicketState.ACKED
    assert h.ctx.position("ESZ6") == 1
    assert h.market.dom(es) is not None
    h.dispatcher.resume()
    h.feed_md(dom_frame(es, [(5000.00, 6)], [(5000.25, 7)]))
    assert strategy.hooks()[-1] == "on_dom"
    assert h.dispatcher.stats["on_quote"].errors == 1


async def test_without_pausing_a_raising_hook_keeps_being_called() -> None:
    strategy = Recorder(fail=("on_quote",))
    h = started(strategy, pause_on_error=False)
    for bid in (5000.00, 5000.25, 5000.50):
        h.feed_md(quote_frame(ES.contract_id, bid, bid + 0.25))
    assert not h.dispatcher.paused
    assert strategy.hooks().count("on_quote") == 3
    assert [a.key for a in h.alerts.recent].count("strategy.exception") == 3


async def test_an_exception_in_on_start_stops_the_start() -> None:
    h = Harness(Recorder(fail=("on_start",)))
    h.sync()
    with pytest.raises(ValueError, match="boom in on_start"):
        h.dispatcher.start()
    assert not h.dispatcher.running


async def test_hooks_run_only_between_start_and_stop() -> None:
    strategy = Recorder(fail=("on_stop",))
    h = Harness(strategy)
    h.feed_md(quote_frame(ES.contract_id, 5000.00, 5000.25))
    h.sync()
    assert strategy.calls == []
    h.dispatcher.start()
    h.dispatcher.stop()  # raises inside: isolated, logged, alerted
    h.feed_md(quote_frame(ES.contract_id, 5000.25, 5000.50))
    assert strategy.hooks() == ["on_start", "on_stop"]
    assert [a.key for a in h.alerts.recent] == ["strategy.exception"]


async def test_wake_at_and_the_periodic_timer() -> None:
    strategy = Recorder()
    h = Harness(strategy)
    h.dispatcher.timer_interval_ms = 1000
    h.start()
    h.ctx.wake_at(T0 + 250)
    h.ctx.wake_at(T0 + 250)  # duplicates are ignored
    h.ctx.wake_at(T0 + 1500)
    await h.advance(T0 + 2100)
    assert [a for hook, a in strategy.calls if hook == "on_timer"] == [
        T0 + 250, T0 + 1000, T0 + 1500, T0 + 2000]
    assert h.dispatcher.next_timer_ms == T0 + 3000


async def test_due_timers_fire_before_a_later_event() -> None:
    strategy = Recorder()
    h = started(strategy)
    h.ctx.wake_at(T0 + 10)
    h.clock.now_ms = T0 + 20
    h.feed_md(quote_frame(ES.contract_id, 5000.00, 5000.25))
    assert strategy.hooks()[-2:] == ["on_timer", "on_quote"]


async def test_fills_while_disconnected_arrive_once_after_the_snapshot() -> None:
    strategy = Recorder()
    h = started(strategy)
    result, _changes = h.exchange.place_order(h.user_id, PlaceOrder(
        action="Buy", symbol="ESZ6", order_qty=1, order_type="Market",
        account_id=h.account_id))  # executed while we were not listening
    h.sync()
    fills = [a for hook, a in strategy.calls if hook == "on_fill"]
    assert [f.order.id for f in fills] == [result.order_id]
    assert "on_position" in strategy.hooks()
    h.sync()
    assert len([a for hook, a in strategy.calls if hook == "on_fill"]) == 1


# ----------------------------------------------------------------------------- simulator


class FailsOnEveryQuote(Strategy):
    def __init__(self) -> None:
        self.quotes = 0

    def on_quote(self, quote: QuoteState) -> None:
        self.quotes += 1
        if self.quotes == 1:
            self.ctx.buy("ESZ6", 1, trigger="before failing")
        raise RuntimeError("strategy bug")


async def test_a_failing_strategy_does_not_stop_the_process() -> None:
    strategy = FailsOnEveryQuote()
    async with Simulator(FAST_SIM, today=TODAY, seed=12, clock=open_clock()) as sim, \
            SimRig(sim, strategy, pause_on_error=False) as rig:
        await rig.until(lambda: strategy.quotes >= 5)
        await rig.until(lambda: rig.ctx.position("ESZ6") == 1)  # its order still settled
        assert rig.trading.ready
        assert rig.md.ready
        assert [a.key for a in rig.alerts.recent].count("strategy.exception") >= 5
        assert rig.dispatcher.stats["on_quote"].errors >= 5
        rig.dispatcher.pause_on_error = True
        events = rig.md_events
        await rig.until(lambda: rig.dispatcher.paused)
        calls = strategy.quotes
        await rig.until(lambda: rig.md_events >= events + 20)  # the md reader runs on
        assert strategy.quotes == calls
        (liquidate,) = rig.orders.flatten()  # positions stay managed while paused
        await rig.until(lambda: liquidate.state is TicketState.ACKED)
        await rig.until(lambda: rig.ctx.position("ESZ6") == 0)


async def test_market_hooks_the_strategy_does_not_define_are_not_called() -> None:
    class QuotesOnly(Strategy):
        def __init__(self) -> None:
            self.quotes: list[QuoteState] = []
            self.doms: list[DomBook] = []

        def on_quote(self, quote: QuoteState) -> None:
            self.quotes.append(quote)

        def on_start(self) -> None:  # a hook set on the instance counts as defined
            self.on_dom = self.doms.append  # type: ignore[method-assign]

    strategy = QuotesOnly()
    h = started(strategy)
    es = ES.contract_id
    h.feed_md(quote_frame(es, 5000.00, 5000.25))
    h.feed_md(dom_frame(es, [(5000.00, 5)], [(5000.25, 7)]))
    h.feed_md(print_frame(es, (1, T0, 5000.25, 3.0, "Buy")))
    stats = h.dispatcher.stats
    assert [q.bid for q in strategy.quotes] == [5000.00]
    assert [b.contract_id for b in strategy.doms] == [es]
    assert (stats["on_quote"].calls, stats["on_dom"].calls) == (1, 1)
    assert stats["on_trade"].calls == 0  # Strategy.on_trade (a no-op) was never called
    assert h.market.trades(es)  # the store still applied the prints
