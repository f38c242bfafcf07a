"""The reference strategy's window questions answered without copying the window make the same
backtest as the code that copied it.

``ScanningReference`` below is the reference strategy with its signal and its window-exit
wake as they were before the market store answered "the oldest print inside" and "the newest
large print" directly: every evaluation built the tuple of the window's prints
(``window_trades``) and scanned it. Both replay the same dense MBP-10 sample (a print every
few milliseconds, so the store's oldest print has often left the window between two prints)
and must agree on every evaluation (time, wake, extremes), every decision, fill and equity
point, and the report — for the store's own window and for a narrower one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from tradovate_api.recording import recording_files
from tradovate_api.replay import ReplayConfig, run_replay
from tradovate_api.research.dbn_import import import_dbn
from tradovate_api.research.dbn_sample import write_sample
from tradovate_api.settings import Risk
from tradovate_api.strategies import reference
from tradovate_api.strategies.reference import ReferenceStrategy, Signal
from tradovate_api.strategy import Side, Trade, WindowStats

Evaluation = tuple[int, int | None, float, float, str]
"""(now, the pending window wake, ts extreme, DOM extreme, state) after an evaluation."""


class TracedReference(ReferenceStrategy):
    """The reference strategy as shipped, recording every evaluation."""

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[Evaluation] = []

    def evaluate(self, now: int) -> None:
        super().evaluate(now)
        self.trace.append((now, self._wake_ms, self.ts_extreme, self.dom_extreme,
                           str(self.state)))


class ScanningReference(TracedReference):
    """The previous code of ``signal`` and ``_schedule_window_exit`` (copying the window).
    What the shipped ``evaluate`` read from the window for them (``stats``, ``oldest``) is
    ignored: they read the store themselves, as they did."""

    def signal(self, now: int, stats: WindowStats | None = None) -> Signal:
        params = self.params
        market = self.ctx.market
        scope = self._scope
        stats = market.window(scope, now)
        exact = params.window_ms == self._store_window_ms
        if exact:
            largest = stats.largest
            if largest is not None and largest.size >= params.large_trade:
                large = self._newest_large(market.window_trades(scope, now), now)
                if large is not None and large.side is not Side.UNKNOWN:
                    return Signal(large.side, "Large Trade "
                                  + msgspec.json.encode(large).decode())
            ts_net = stats.buy_volume - stats.sell_volume
        else:
            trades = market.window_trades(scope, now)
            large = self._newest_large(trades, now)
            if large is not None and large.side is not Side.UNKNOWN:
                return Signal(large.side, "Large Trade " + msgspec.json.encode(large).decode())
            start = now - params.window_ms
            ts_net = 0.0
            for trade in trades:
                if trade.timestamp_ms >= start:
                    if trade.side is Side.BUY:
                        ts_net += trade.size
                    elif trade.side is Side.SELL:
                        ts_net -= trade.size
        dom_net = self._dom_net()
        extreme = abs(self.ts_extreme)
        threshold = max(params.ts_pressure_threshold, extreme) if params.pressure_ratchet \
            else params.ts_pressure_threshold
        side = Side.UNKNOWN
        if ts_net > threshold and dom_net > params.dom_threshold:
            side = Side.BUY
        elif ts_net < -threshold and dom_net < -params.dom_threshold:
            side = Side.SELL
        if abs(ts_net) > extreme:
            self.ts_extreme = ts_net
        if abs(dom_net) > abs(self.dom_extreme):
            self.dom_extreme = dom_net
        if side is Side.UNKNOWN:
            return Signal(side, "", ts_net, dom_net)
        encode = msgspec.json.encode
        text = (encode({"net": ts_net, "threshold": threshold, "windowMs": params.window_ms,
                        "at": now}).decode() + "\n"
                + encode({"net": dom_net, "threshold": params.dom_threshold}).decode())
        return Signal(side, text, ts_net, dom_net)

    def _newest_large(self, trades: tuple[Trade, ...], now: int) -> Trade | None:
        start = now - self.params.window_ms
        size = self.params.large_trade
        for trade in reversed(trades):
            if trade.timestamp_ms >= start and trade.size >= size:
                return trade
        return None

    def _schedule_window_exit(self, now: int, oldest_read: int | None = None) -> None:
        market = self.ctx.market
        width = self.params.window_ms
        oldest: int | None = None
        if width == self._store_window_ms:
            expiry = market.next_window_expiry_ms(self._scope)
            if expiry is None:
                return
            if expiry >= now:
                oldest = expiry - width
        if oldest is None:
            start = now - width
            oldest = next((t.timestamp_ms for t in market.window_trades(self._scope, now)
                           if t.timestamp_ms >= start), None)
            if oldest is None:
                return
        wake = oldest + width + 1
        if wake != self._wake_ms and wake > now:
            self._wake_ms = wake
            self.ctx.wake_at(wake)


BASE = {"ts_pressure_threshold": 12.0, "dom_threshold": 5.0, "trade_close_trigger": 60.0,
        "pressure_ratchet": False}


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    work = tmp_path_factory.mktemp("golden")
    source = write_sample(work / "es.dbn.zst", "mbp-10", events=6_000, seed=5)
    import_dbn(source, work / "rec")
    return recording_files([work / "rec"])


@pytest.mark.parametrize("params", [
    {"large_trade": 7.0, "window_ms": 1000},
    {"large_trade": 7.0, "window_ms": 1000, "pool_instruments": False},
    {"large_trade": 6.0, "window_ms": 250},
    {"large_trade": 1e9, "window_ms": 1000, "ts_pressure_threshold": 8.0,
     "trade_close_trigger": 20.0},
], ids=["store-window", "one-contract", "narrower-window", "pressure-only"])
async def test_the_window_queries_make_the_same_backtest_as_copying_the_window(
        recording: list[Path], params: dict[str, Any]) -> None:
    config = ReplayConfig(params={**BASE, **params}, slippage_ticks=1, latency_ms=2.0,
                          risk=Risk(max_daily_loss=1e9))
    old, new = ScanningReference(), TracedReference()
    before = await run_replay(recording, old, config)
    after = await run_replay(recording, new, config)
    assert before.summary.fills > 2
    assert any(d.kind == "entry" and d.text.startswith("Large Trade") for d in old.decisions) \
        or params["large_trade"] == 1e9
    assert sum(1 for e in old.trace if e[1] is not None) > 100  # the window woke it
    assert new.trace == old.trace
    assert list(new.decisions) == list(old.decisions)
    assert after.decisions == before.decisions
    assert after.fills == before.fills
    assert after.equity == before.equity
    timing = {"events_per_second": 0.0}
    assert msgspec.structs.replace(after.summary, **timing) == msgspec.structs.replace(
        before.summary, **timing)
    assert msgspec.json.encode(after.report) == msgspec.json.encode(before.report)


def test_the_shipped_strategy_no_longer_copies_the_window() -> None:
    """The copying code lives on only in this test, as the reference to compare with."""
    assert not hasattr(ReferenceStrategy, "_newest_large")
    assert "window_trades" not in Path(reference.__file__).read_text()
