"""The simulator serving a recording over its md socket (``SimulatorConfig.replay_file``,
opened by the caller): clients get the recorded quotes, DOMs and prints in order, and the
full live stack trades on them against the recorded book."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import aiohttp
import pytest
from replay_helpers import history_recording, recorded_messages
from replay_strategies import Alternating

from tradovate_api.alerts import AlertLog
from tradovate_api.client import ConnectionOptions, MarketDataSession
from tradovate_api.errors import ConfigError
from tradovate_api.protocol import ChartEvent, MarketDataEvent, Messages, decode_frame
from tradovate_api.protocol.models import ChartDescription, TimeRange
from tradovate_api.protocol.ticks import unpack_ticks
from tradovate_api.recording import ChartNote, RecordingReader
from tradovate_api.replay.simulator_recording import open_for_simulator
from tradovate_api.replay.synthetic_recording import synthesize
from tradovate_api.runtime.app import TradingApp
from tradovate_api.secrets import Secret, TradovateCredentials
from tradovate_api.settings import settings_from_mapping
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock
from tradovate_api.simulator.recorded import RecordedMarket, recorded_instruments

OPTIONS = ConnectionOptions(heartbeat_interval=0.2, silence_timeout=3.0)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("rec")
    synthesize(directory, seconds=30.0, step_ms=50, seed=8)
    return directory


def recorded(recording: Path) -> tuple[int, list[tuple[float | None, float | None]],
                                        list[tuple[int, float]]]:
    """ES contract id, its recorded (bid, ask) quote sequence and real-time prints (tick id,
    price)."""
    [path] = recording.iterdir()
    entries = list(RecordingReader(path).entries())
    chart = next(n for _, n in entries if isinstance(n, ChartNote))
    quotes, prints = [], []
    for _, item in entries:
        if not isinstance(item, bytes):
            continue
        frame = decode_frame(item)
        assert isinstance(frame, Messages)
        for message in frame.items:
            if isinstance(message, MarketDataEvent):
                quotes += [(q.entries.bid.price if q.entries.bid else None,
                            q.entries.offer.price if q.entries.offer else None)
                           for q in message.data.quotes if q.contract_id == chart.contract_id]
            elif isinstance(message, ChartEvent):
                prints += [(t.id, t.price) for p in message.data.charts
                           if p.id == chart.realtime_id for t in unpack_ticks(p)]
    return chart.contract_id, quotes, prints


def recorded_touch(recording: Path, contract_id: int) -> tuple[set[float], set[float]]:
    """Every best offer and best bid the recording's DOMs of a contract showed."""
    [path] = recording.iterdir()
    offers, bids = set(), set()
    for _, message in recorded_messages([path]):
        if isinstance(message, MarketDataEvent):
            for dom in message.data.doms:
                if dom.contract_id == contract_id:
                    offers.add(min(lv.price for lv in dom.offers))
                    bids.add(max(lv.price for lv in dom.bids))
    return offers, bids


def contiguous(part: list[object], whole: list[object]) -> bool:
    return any(whole[i:i + len(part)] == part for i in range(len(whole) - len(part) + 1))


async def token(rest_url: str) -> str:
    async with aiohttp.ClientSession() as http, http.post(
            f"{rest_url}/auth/accesstokenrequest",
            json={"name": "sim", "password": "sim"}) as reply:
        body = await reply.json()
    value: str = body["accessToken"]
    return value


async def test_clients_get_the_recorded_quotes_and_prints_in_order(recording: Path) -> None:
    contract_id, quotes, prints = recorded(recording)
    config = SimulatorConfig(replay_file=str(recording), replay_speed=5.0, tick_interval=0.01)
    events: list[object] = []
    changed = asyncio.Event()

    def consume(event: object) -> None:
        events.append(event)
        changed.set()

    def received() -> tuple[list[object], list[tuple[int, float]]]:
        got_quotes = [(q.entries.bid.price if q.entries.bid else None,
                       q.entries.offer.price if q.entries.offer else None)
                      for e in events if isinstance(e, MarketDataEvent)
                      for q in e.data.quotes if q.contract_id == contract_id]
        got_prints = [(t.id, t.price) for e in events if isinstance(e, ChartEvent)
                      for p in e.data.charts if p.tks for t in unpack_ticks(p)]
        return got_quotes, got_prints

    async with Simulator(config, clock=open_clock(),
                         recorded=open_for_simulator([recording])) as sim:
        names = sorted(i.name for i in sim.catalog)
        [es] = [i.name for i in sim.catalog if i.contract_id == contract_id]
        access = await token(sim.rest_url)

        async def provide() -> str:
            return access

        session = MarketDataSession(sim.md_url, provide, consume, options=OPTIONS)
        task = asyncio.create_task(session.run())
        try:
            async with asyncio.timeout(20):
                await session.wait_ready()
                await session.subscribe_quote(es)
                await session.get_chart(es, ChartDescription(
                    underlying_type="Tick", element_size=1,
                    element_size_unit="UnderlyingUnits"), TimeRange(as_much_as_elements=10))
                while len(received()[0]) < 40 or len(received()[1]) < 20:
                    changed.clear()
                    await changed.wait()
        finally:
            await session.close()
            await asyncio.wait({task}, timeout=3)
            task.cancel()
    assert len(names) == 2  # the recording's ES and NQ, not the defaults
    got_quotes, got_prints = received()
    # After the snapshot sent on subscribe, every recorded quote arrives, in order.
    assert contiguous(got_quotes[1:40], list(quotes))
    # Tick packets may arrive out of order (the simulator's awkward wire shuffles them): each
    # print is a recorded one, under its recorded tick id, once.
    assert set(got_prints) <= set(prints)
    assert len({tick_id for tick_id, _ in got_prints}) == len(got_prints) >= 20


async def test_a_bad_replay_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no recordings"):
        open_for_simulator([str(tmp_path)])


def test_a_replay_file_the_caller_did_not_open_is_a_config_error(recording: Path) -> None:
    """The simulator reads no recordings itself: it never quietly serves its own market in
    place of the one it was told to replay."""
    with pytest.raises(ConfigError, match="replay_file"):
        Simulator(SimulatorConfig(replay_file=str(recording)))


@pytest.mark.timeout(90)
async def test_the_trading_app_trades_on_recorded_data(recording: Path, tmp_path: Path) -> None:
    contract_id, _, _ = recorded(recording)
    offers, bids = recorded_touch(recording, contract_id)
    config = SimulatorConfig(replay_file=str(recording), replay_speed=4.0, tick_interval=0.01)
    async with Simulator(config, clock=open_clock(),
                         recorded=open_for_simulator([recording])) as sim:
        symbols = [i.name for i in sim.catalog]
        settings = settings_from_mapping({
            "environment": "sim",
            "urls": {"rest": sim.rest_url, "trading_ws": sim.ws_url, "md_ws": sim.md_url},
            "instruments": symbols, "strategy": {"every": 5},
            "trading": {"symbol": next(i.name for i in sim.catalog
                                       if i.contract_id == contract_id)},
            "log": {"path": str(tmp_path / "app.jsonl")},
            "auth": {"token_cache": str(tmp_path / "token.json")},
            "reports": {"enabled": False, "directory": str(tmp_path / "reports")},
            "risk": {"max_orders_per_second": 50.0, "max_daily_loss": 1e9},
            "journal": {"enabled": False},
        })
        app = TradingApp(settings, TradovateCredentials(name="sim", password=Secret("sim")),
                         Alternating(), alerts=AlertLog(), handle_signals=False, duration=3.0,
                         clock=lambda: int(sim.clock() * 1000))
        async with asyncio.timeout(60):
            assert await app.run() == 0
        fills = [f for f in app.account.fills() if f.active]
    assert len(fills) >= 2
    for fill in fills:
        assert fill.price in (offers if fill.action == "Buy" else bids)



@pytest.mark.parametrize("noted", [True, None], ids=["noted", "decided from the eoh"])
def test_recorded_history_is_not_played_again_as_prints(recording: Path, tmp_path: Path,
                                                        noted: bool | None) -> None:
    """The recording's chart history came under the realtime id before its ``eoh``: it was
    printed before the recording, so the simulator serving it plays only the prints after."""
    [source] = recording.iterdir()
    files = history_recording(source, tmp_path, noted)
    recorded = open_for_simulator(files)
    market = RecordedMarket(recorded_instruments(recorded.contracts, dt.date(2026, 11, 24)),
                            recorded.entries, now_ms=1_000_000)
    played = [tick.price for step_ms in (0, 5, 10, 20)
              for _, tick in market.step(1_000_000 + step_ms).trades]
    assert played == [5025.0, 5025.25]
