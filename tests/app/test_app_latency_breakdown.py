"""Every order's latency stamps through the real app against the simulator: an order on a
market event has them all in path order, an order placed on a fill has no market stages, and
the journal (a real SQLite file) stores them with the order."""

from __future__ import annotations

import asyncio
from pathlib import Path

from app_helpers import Recorder, make_app, make_settings, running

from tradovate_api.journal import Journal, JournalReader
from tradovate_api.orders import OrderTicket
from tradovate_api.reports import stage_durations
from tradovate_api.runtime.journal_attach import attach_journal
from tradovate_api.simulator import Simulator
from tradovate_api.stores import NewFill, QuoteState


class BuyThenSellOnFill(Recorder):
    """Buys 1 on the first quote (a market-data decision), sells 1 on its fill (not one)."""

    def __init__(self) -> None:
        super().__init__()
        self.buy: OrderTicket | None = None
        self.sell: OrderTicket | None = None

    def on_quote(self, quote: QuoteState) -> None:
        super().on_quote(quote)
        if self.buy is None:
            self.buy = self.ctx.buy(self.ctx.symbol(quote.contract_id), 1, trigger="quote")

    def on_fill(self, fill: NewFill) -> None:
        super().on_fill(fill)
        if self.sell is None and self.buy is not None:
            self.sell = self.ctx.sell(self.buy.symbol, 1, trigger="fill")


async def test_stamps_follow_the_order_path_and_reach_the_journal(
        sim: Simulator, tmp_path: Path) -> None:
    strategy = BuyThenSellOnFill()
    app = make_app(sim, make_settings(sim, tmp_path), strategy)
    journal = Journal(tmp_path / "journal.db")
    attach_journal(app, journal)
    async with running(app) as run:
        await strategy.until(lambda: len(strategy.of("fill")) == 2)
        buy, sell = strategy.buy, strategy.sell
        assert buy is not None
        assert sell is not None
        await asyncio.wait_for(app.account_changed.until(
            lambda: bool(buy.answered_ns and sell.answered_ns and sell.filled_ns)), 10)
        assert 0 < buy.frame_ns <= buy.decoded_ns <= buy.decided_ns <= buy.checked_ns \
            <= buy.sent_ns < buy.answered_ns
        assert buy.filled_ns > buy.sent_ns
        assert set(stage_durations(buy)) == {"decode", "strategy", "risk", "send",
                                             "tick_to_order", "ack", "fill"}
        # placed on a fill: no market-data frame caused it
        assert (sell.frame_ns, sell.decoded_ns) == (0, 0)
        assert set(stage_durations(sell)) == {"risk", "send", "ack", "fill"}
        (sample,) = [s for s in app.metrics.latency_samples()]
        assert sample == buy.sent_ns - buy.decoded_ns  # tick-to-order as before
        await run.stop()
    assert "order stages  p50 / p99 / max us (orders)" in app.summary_text
    with JournalReader(tmp_path / "journal.db") as reader:
        rows = {r.cl_ord_id: r for r in reader.requests()}
    bought = rows[buy.cl_ord_id]
    assert (bought.frame_ns, bought.decoded_ns, bought.decided_ns, bought.checked_ns,
            bought.sent_ns, bought.answered_ns, bought.filled_ns) == (
        buy.frame_ns, buy.decoded_ns, buy.decided_ns, buy.checked_ns, buy.sent_ns,
        buy.answered_ns, buy.filled_ns)
    sold = rows[sell.cl_ord_id]
    assert (sold.frame_ns, sold.decoded_ns) == (None, None)
    assert sold.filled_ns == sell.filled_ns
