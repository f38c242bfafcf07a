"""Replays of deterministic recordings: the live code path with simulated execution, exact
run to run; fills checked against the recorded book, latency, slippage, commissions;
timers on the recording's clock; exceptions isolated; bad recordings refused."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from replay_helpers import history_recording, recorded_messages
from replay_strategies import Alternating, Busy, Raiser, RestingBuy, Sleeper, StrategyBrackets

from tradovate_api.protocol import (
    ChartEvent,
    MarketDataEvent,
    encode_messages,
    pack_ticks,
    unpack_ticks,
)
from tradovate_api.protocol.models import ChartData, ChartPacket, Tick
from tradovate_api.recording import (
    ChartNote,
    ConnectionNote,
    MdRecorder,
    RecordingError,
    RecordingReader,
    ReferenceNote,
    StrategyNote,
    in_effect_order,
    mark_history,
)
from tradovate_api.replay import ReplayConfig, run_replay
from tradovate_api.replay.synthetic_recording import synthesize
from tradovate_api.settings import Risk
from tradovate_api.stores import TradesAdded
from tradovate_api.strategies.reference import ReferenceStrategy


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return synthesize(tmp_path_factory.mktemp("rec"), seconds=60.0, step_ms=50, seed=5)


def es_chart(recording: list[Path]) -> ChartNote:
    """The first chart note: the traded contract's (ES) tick chart."""
    reader = RecordingReader(recording[0])
    return next(n for _, n in reader.entries() if isinstance(n, ChartNote))


def es_id(recording: list[Path]) -> int:
    return es_chart(recording).contract_id


def timeline(recording: list[Path], contract_id: int) -> Iterator[tuple[int, object]]:
    """(receive ms, md/chart payload of ``contract_id``) straight from the file."""
    for ts, message in recorded_messages(recording):
        if isinstance(message, MarketDataEvent):
            for dom in message.data.doms:
                if dom.contract_id == contract_id:
                    yield ts // 1_000_000, dom
        elif isinstance(message, ChartEvent):
            for packet in message.data.charts:
                yield ts // 1_000_000, packet


async def test_replays_are_identical_run_to_run(recording: list[Path]) -> None:
    config = ReplayConfig(latency_ms=3.0, slippage_ticks=1, commission_per_side=2.09)
    runs = []
    for _ in range(2):
        strategy = Busy()
        result = await run_replay(recording, strategy, config)
        runs.append((result, strategy.trace))
    (first, trace1), (second, trace2) = runs
    assert first.decisions == second.decisions
    assert first.fills == second.fills
    assert first.equity == second.equity
    assert trace1 == trace2
    kinds = {d.kind for d in first.decisions}
    assert {"place", "modify", "cancel", "oso", "liquidate"} <= kinds
    assert len(first.fills) >= 4
    assert any(t[0] == "timer" for t in trace1)
    assert first.report == second.report


async def test_market_orders_fill_at_the_recorded_book_after_latency_plus_slippage(
        recording: list[Path]) -> None:
    latency, slip, fee = 7.0, 2, 1.5
    result = await run_replay(recording, Alternating(), ReplayConfig(
        latency_ms=latency, slippage_ticks=slip, commission_per_side=fee,
        risk=Risk(max_daily_loss=1e9)))
    doms = [(t, d) for t, d in timeline(recording, es_id(recording)) if hasattr(d, "offers")]
    # The strategy's market orders; the framework's protective stops (shipped default, on:
    # "-ps" ids) rest far away and are cancelled as each position closes.
    decisions = [d for d in result.decisions if not d.cl_ord_id.endswith("-ps")]
    assert len(decisions) >= 10
    by_order = {f.order_id: f for f in result.fills}
    for decision in decisions:
        assert decision.state == "acked"
        fill = by_order[decision.order_id]
        arrival = decision.created_ms + latency
        assert fill.t_ms == decision.created_ms + 2 * latency  # the answer's way back
        book = [d for t, d in doms if t <= arrival][-1]
        if decision.action == "Buy":
            expected = min(level.price for level in book.offers) + slip * 0.25
        else:
            expected = max(level.price for level in book.bids) - slip * 0.25
        assert fill.price == pytest.approx(expected)
    assert result.report.summary.commissions == pytest.approx(fee * len(result.fills))
    assert result.summary.md_events > 1000


async def test_a_resting_limit_fills_on_the_first_print_through_it(recording: list[Path]) -> None:
    strategy = RestingBuy()
    result = await run_replay(recording, strategy, ReplayConfig(params={"ticks_below": 3}))
    ticket = strategy.ticket
    assert ticket is not None
    assert ticket.price is not None
    [fill] = strategy.fills
    assert fill.fill.price == ticket.price
    chart = es_chart(recording)
    prints = [(t, tick.price) for t, packet in timeline(recording, chart.contract_id)
              if isinstance(packet, ChartPacket) and packet.id == chart.realtime_id
              for tick in unpack_ticks(packet)]
    through = next(t for t, price in prints if t >= ticket.created_ms and price <= ticket.price)
    assert result.fills[0].t_ms == through
    assert result.summary.fills == 1


async def test_order_strategies_replay_with_their_targets_and_stops(
        recording: list[Path]) -> None:
    strategy = StrategyBrackets()
    result = await run_replay(recording, strategy, ReplayConfig(
        latency_ms=2.0, risk=Risk(max_daily_loss=1e9)))
    decisions = [d for d in result.decisions if d.kind == "strategy"]
    assert len(decisions) >= 2
    assert {d.state for d in decisions} == {"acked"}
    exits = {leg for t in strategy.tickets for leg in t.bracket_ids}
    entries = {t.order_id for t in strategy.tickets}
    assert {f.order_id for f in result.fills} & entries
    assert {f.order_id for f in result.fills} & exits  # a target or a stop traded
    assert any(t.exit_trigger.endswith("(bracket of: strategy)") for t in result.report.trades)


async def test_timers_fire_at_their_time_on_the_recording_clock(recording: list[Path]) -> None:
    strategy = Sleeper()
    await run_replay(recording, strategy)
    assert len(strategy.calls) == 20
    assert all(asked == now for asked, now in strategy.calls)
    gaps = {b[0] - a[0] for a, b in zip(strategy.calls, strategy.calls[1:], strict=False)}
    assert gaps == {337}


async def test_the_reference_strategy_replays_deterministically(recording: list[Path]) -> None:
    params = {"large_trade": 30.0, "ts_pressure_threshold": 20.0, "dom_threshold": 10.0,
              "trade_close_trigger": 100.0, "pressure_ratchet": False}
    config = ReplayConfig(params=params, latency_ms=2.0, commission_per_side=2.05)
    first = await run_replay(recording, ReferenceStrategy(), config)
    second = await run_replay(recording, ReferenceStrategy(), config)
    assert first.decisions == second.decisions
    assert first.fills == second.fills
    assert len(first.fills) >= 2  # the seeded recording gives three
    assert all(d.trigger for d in first.decisions if d.kind == "place")


async def test_a_raising_strategy_is_paused_and_the_replay_completes(
        recording: list[Path]) -> None:
    strategy = Raiser()
    result = await run_replay(recording, strategy)
    assert strategy.quotes == 5  # paused after the exception: no more hooks
    assert result.summary.md_events > 1000
    assert result.alerts == ("strategy.exception",)


async def test_pacing_follows_the_recorded_spacing(tmp_path: Path) -> None:
    files = synthesize(tmp_path, seconds=0.6, step_ms=50)
    started = time.monotonic()
    result = await run_replay(files, Alternating(), ReplayConfig(speed=1.0))
    paced = time.monotonic() - started
    started = time.monotonic()
    await run_replay(files, Alternating(), ReplayConfig(speed=4.0))
    faster = time.monotonic() - started
    span = result.summary.recording_seconds
    assert span > 0.4
    assert paced >= span * 0.98
    assert faster < paced / 2


async def test_a_recording_without_reference_data_is_refused(tmp_path: Path) -> None:
    recorder = MdRecorder(tmp_path, flush_interval=10.0)
    recorder.frame_at(1_795_000_000_000_000_000, b'a[{"e":"md","d":{}}]')
    recorder.close()
    with pytest.raises(RecordingError, match="no contract reference"):
        await run_replay(recorder.files, Alternating())


def test_bad_configurations_are_refused() -> None:
    for kwargs in ({"speed": 0.0}, {"latency_ms": -1.0}, {"slippage_ticks": -1},
                   {"commission_per_side": -0.5}):
        with pytest.raises(ValueError, match="must"):
            ReplayConfig(**kwargs)  # type: ignore[arg-type]


class PrintCounter(Alternating):
    def on_start(self) -> None:
        super().on_start()
        self.prints: list[float] = []

    def on_trade(self, trades: TradesAdded) -> None:
        self.prints.extend(t.price for t in trades.trades)


class PrintFlags(Alternating):
    def on_start(self) -> None:
        super().on_start()
        self.prints: list[tuple[bool, float]] = []

    def on_trade(self, trades: TradesAdded) -> None:
        self.prints.extend((trades.realtime, t.price) for t in trades.trades)


@pytest.mark.parametrize("noted", [True, None], ids=["noted", "decided from the eoh"])
async def test_history_sent_under_the_realtime_id_is_history_as_live(
        recording: list[Path], tmp_path: Path, noted: bool | None) -> None:
    """The server sends a chart's history under its realtime id, then ``eoh``: live keeps it
    as history (it fills nothing, it is no print of now); so must replay — whether the chart
    note says so (the app's recorder) or not (an earlier version's recording)."""
    files = history_recording(recording[0], tmp_path, noted)
    strategy = PrintFlags()
    await run_replay(files, strategy)
    assert strategy.prints == [(False, 5000.0), (False, 5000.25), (False, 5000.5),
                               (True, 5025.0), (True, 5025.25)]


def test_a_chart_note_that_does_not_say_is_decided_by_an_eoh_on_its_connection() -> None:
    def eoh(chart_id: int) -> bytes:
        return encode_messages([ChartEvent(ChartData(charts=[ChartPacket(id=chart_id,
                                                                          eoh=True)]))])

    es, nq, later = ChartNote(1, 3, 4), ChartNote(2, 5, 6), ChartNote(1, 7, 8)
    entries = [(1, es), (2, b'a[{"e":"md","d":{}}]'), (3, nq), (4, eoh(4)),
               (5, ConnectionNote("connected", 2)), (6, eoh(6)), (7, later), (8, b"a[]")]
    marked = list(mark_history(entries))
    assert [e for e in marked if not isinstance(e[1], ChartNote)] == [
        e for e in entries if not isinstance(e[1], ChartNote)]  # the rest, as it was
    assert [(n.historical_id, n.history_first) for _, n in marked
            if isinstance(n, ChartNote)] == [(3, True), (5, False), (7, False)]
    limited = list(mark_history([(1, es), (2, b"a[]"), (3, eoh(4))], lookahead_frames=1))
    assert limited[0][1] == ChartNote(1, 3, 4, history_first=False)  # too far ahead


def test_frame_notes_take_effect_before_the_frame_they_follow() -> None:
    chart, connected, ref = ChartNote(1, 3, 4), ConnectionNote("connected", 2), ReferenceNote()
    entries = [(1, ref), (2, b"f1"), (3, b"f2"), (4, connected), (5, chart), (6, b"f3"),
               (7, StrategyNote("started")), (8, b"f4")]
    assert list(in_effect_order(entries)) == [
        (1, ref), (2, b"f1"), (4, connected), (5, chart), (3, b"f2"), (6, b"f3"),
        (7, StrategyNote("started")), (8, b"f4")]


async def test_a_reconnect_mid_recording_keeps_the_prints_of_the_new_chart_ids(
        recording: list[Path], tmp_path: Path) -> None:
    """Live, the md reader maps a new connection's chart ids while handling the frame that
    first carries them; the recorder notes that just after the frame; replay must apply it
    before the frame or those prints would be dropped."""
    first = RecordingReader(recording[0])
    reference = next(n for _, n in first.entries() if isinstance(n, ReferenceNote))
    es = reference.contracts[0]
    spec_tick = next(p.tick_size for p in reference.products
                     if p.id == next(m.product_id for m in reference.maturities
                                     if m.id == es.contract_maturity_id))
    t0 = 1_795_532_400_000

    def prints_frame(chart_id: int, start: int, count: int) -> bytes:
        ticks = [Tick(start + i, t0 + start + i, 27400 + i, (27400 + i) * spec_tick, 1.0)
                 for i in range(count)]
        return encode_messages([ChartEvent(ChartData(charts=[pack_ticks(
            chart_id, ticks, spec_tick, 20261124)]))])

    recorder = MdRecorder(tmp_path, flush_interval=30.0)
    recorder.reference(reference.contracts, reference.maturities, reference.products)
    recorder.chart(es.id, 1, 2)
    recorder.frame_at(t0 * 1_000_000, prints_frame(2, 0, 3))
    recorder.frame_at((t0 + 10) * 1_000_000, prints_frame(4, 100, 2))  # a new connection's
    recorder.connection("connected", 2)  # noted while handling that frame...
    recorder.chart(es.id, 3, 4)  # ...as its chart ids were
    recorder.close()
    strategy = PrintCounter()
    await run_replay(recorder.files, strategy)
    assert len(strategy.prints) == 5
