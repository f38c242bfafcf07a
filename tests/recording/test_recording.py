"""MdRecorder and RecordingReader: round trip, notes, session rotation, crash safety (a real
kill -9), bounded memory, write failures, and recording a live md session of the simulator."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest
from recording_helpers import Collector, running, sim_access_token

from tradovate_api.client import ConnectionOptions, MarketDataSession
from tradovate_api.protocol import ChartEvent, MarketDataEvent, Messages, decode_frame
from tradovate_api.protocol.models import ChartDescription, TimeRange
from tradovate_api.recording import (
    ChartNote,
    ConnectionNote,
    MdRecorder,
    RecordingError,
    RecordingReader,
    ReferenceNote,
    read_frames,
    recording_files,
)
from tradovate_api.simulator import Simulator, SimulatorConfig
from tradovate_api.simulator.calendar import open_clock

CHICAGO = ZoneInfo("America/Chicago")


def chicago_ns(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=CHICAGO).timestamp() * 1e9)


def test_frames_and_notes_round_trip_in_order(tmp_path: Path, sim: Simulator) -> None:
    inst = next(iter(sim.catalog))
    recorder = MdRecorder(tmp_path, label="unit", flush_interval=10.0)
    t0 = chicago_ns(2026, 11, 24, 9, 30)
    recorder.reference([inst.contract], [inst.maturity], [inst.product])
    recorder.connection("connected", 1)
    recorder.chart(inst.contract_id, 11, 12)
    frames = [(t0 + i * 1000, b'a[{"e":"md","d":{"n":%d}}]' % i) for i in range(1000)]
    for ts, data in frames:
        recorder.frame_at(ts, memoryview(bytearray(data)))
    assert recorder.flush(5)
    recorder.connection("ended", 1)
    assert recorder.close(5)
    [path] = recorder.files
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reader = RecordingReader(path)
    entries = list(reader.entries())
    notes = [item for _, item in entries if not isinstance(item, bytes)]
    assert isinstance(notes[0], ReferenceNote)
    assert notes[0].contracts == [inst.contract]
    assert notes[0].products == [inst.product]
    assert notes[1:] == [ChartNote(inst.contract_id, 11, 12),  # preamble: what is live
                         ConnectionNote("ended", 1)]  # then in stream order
    assert [(ts, item) for ts, item in entries if isinstance(item, bytes)] == frames
    assert reader.header is not None
    assert reader.header.session == "2026-11-24"
    assert reader.header.label == "unit"
    assert not reader.truncated
    assert recorder.bytes_out < recorder.bytes_in  # compressed
    assert list(read_frames(path)) == frames


def test_files_rotate_when_the_session_changes(tmp_path: Path) -> None:
    recorder = MdRecorder(tmp_path, flush_interval=10.0)
    recorder.chart(42, 1, 2)
    before = chicago_ns(2026, 11, 24, 16, 59, 59)  # Tuesday's session
    after = chicago_ns(2026, 11, 24, 17, 0, 1)  # Wednesday's session
    recorder.frame_at(before, b"a[1]")
    recorder.frame_at(after, b"a[2]")
    friday = chicago_ns(2026, 11, 27, 17, 30)  # the weekend belongs to Monday
    recorder.frame_at(friday, b"a[3]")
    recorder.frame_at(chicago_ns(2026, 11, 29, 18, 0), b"a[4]")  # Sunday evening: still Monday
    assert recorder.close(5)
    assert len(recorder.files) == 3
    readers = [RecordingReader(p) for p in recorder.files]
    assert [list(r.frames()) for r in readers] == [
        [(before, b"a[1]")], [(after, b"a[2]")],
        [(friday, b"a[3]"), (chicago_ns(2026, 11, 29, 18, 0), b"a[4]")]]
    assert [r.header.session for r in readers if r.header] == ["2026-11-24", "2026-11-25",
                                                                "2026-11-30"]
    assert [r.header.part for r in readers if r.header] == [1, 2, 3]
    for reader in readers[1:]:  # every file repeats the live chart ids
        assert [n for _, n in reader.entries() if isinstance(n, ChartNote)] == [
            ChartNote(42, 1, 2)]
    assert recording_files([tmp_path]) == sorted(recorder.files)


def test_a_new_connection_forgets_old_chart_ids_in_later_files(tmp_path: Path) -> None:
    recorder = MdRecorder(tmp_path, flush_interval=10.0, rotate_bytes=1)
    recorder.chart(42, 1, 2)
    recorder.frame_at(chicago_ns(2026, 11, 24, 9, 0), b"a[1]")
    recorder.flush(5)  # rotates after the write (1-byte limit)
    recorder.connection("connected", 2)
    recorder.chart(42, 3, 4)
    recorder.frame_at(chicago_ns(2026, 11, 24, 9, 1), b"a[2]")
    recorder.close(5)
    last = RecordingReader(recorder.files[-1])
    assert [n for _, n in last.entries() if isinstance(n, ChartNote)] == [ChartNote(42, 3, 4)]


def test_a_crash_cut_tail_loses_only_the_last_frame(tmp_path: Path) -> None:
    recorder = MdRecorder(tmp_path, flush_interval=10.0)
    first = [(i, b"a[%d]" % i) for i in range(1, 100)]
    for ts, data in first:
        recorder.frame_at(ts, data)
    recorder.flush(5)
    size = recorder.files[0].stat().st_size
    for i in range(100, 200):
        recorder.frame_at(i, b"a[%d]" % i)
    recorder.close(5)
    full = recorder.files[0].read_bytes()
    cut = tmp_path / "cut.tvmd.zst"
    cut.write_bytes(full[:size + (len(full) - size) // 2])
    reader = RecordingReader(cut)
    assert list(reader.frames()) == first
    assert reader.truncated


def test_kill_9_loses_at_most_the_unflushed_tail(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, str(Path(__file__).with_name("record_child.py")),
                              str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        announced = 0
        for line in child.stdout:  # bounded: the child stops by itself after 60 s
            announced = int(line)
            if announced >= 5000:
                break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(10)
    assert announced >= 5000
    [path] = recording_files([tmp_path])
    frames = list(read_frames(path))
    assert len(frames) >= announced
    assert [data for _, data in frames] == [
        b'a[{"e":"md","d":{"seq":%d}}]' % i for i in range(len(frames))]


def test_memory_is_bounded_when_the_writer_lags(tmp_path: Path) -> None:
    recorder = MdRecorder(tmp_path, flush_interval=30.0, max_pending=5)
    for i in range(12):
        recorder.frame_at(i + 1, b"a[%d]" % i)
    assert recorder.dropped == 7
    assert recorder.frames == 5
    recorder.close(5)
    assert [d for _, d in read_frames(recorder.files[0])] == [b"a[%d]" % i for i in range(5)]


def test_a_write_failure_stops_recording_without_raising(tmp_path: Path) -> None:
    target = tmp_path / "rec"
    recorder = MdRecorder(target, flush_interval=30.0)
    shutil.rmtree(target)
    target.write_bytes(b"not a directory")
    recorder.frame_at(1, b"a[1]")
    assert recorder.flush(5)
    recorder.frame_at(2, b"a[2]")  # still accepted, never raises
    assert recorder.close(5)
    assert recorder.errors == 1
    assert recorder.files == []


def test_garbage_is_not_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "x.tvmd.zst"
    path.write_bytes(b"this is not zstd at all")
    with pytest.raises(RecordingError, match="not a recording"):
        list(RecordingReader(path).entries())
    with pytest.raises(RecordingError, match="no such recording"):
        RecordingReader(tmp_path / "missing.tvmd.zst")


@pytest.fixture
async def sim() -> Simulator:
    return Simulator(SimulatorConfig(warm_up=60.0, tick_interval=0.02), seed=3,
                     clock=open_clock())


async def test_recording_a_live_md_session_reproduces_its_events(tmp_path: Path,
                                                                  sim: Simulator) -> None:
    """The raw frames recorded through the session's frame observer decode to exactly the
    events the session's consumer received, in order."""
    options = ConnectionOptions(heartbeat_interval=0.2, silence_timeout=3.0)
    async with sim:
        token = await sim_access_token(sim.rest_url)

        async def provide() -> str:
            return token

        collector = Collector()
        recorder = MdRecorder(tmp_path, flush_interval=0.05)
        session = MarketDataSession(sim.md_url, provide, collector, options=options)
        session.frame_observer = recorder.frame
        symbol = next(i.name for i in sim.catalog if i.product.name == "ES")
        async with running(session):
            async with asyncio.timeout(5):
                await session.wait_ready()
            await session.subscribe_quote(symbol)
            await session.subscribe_dom(symbol)
            await session.get_chart(symbol, ChartDescription(
                underlying_type="Tick", element_size=1, element_size_unit="UnderlyingUnits"),
                TimeRange(as_much_as_elements=50))
            await collector.until(lambda: sum(isinstance(e, ChartEvent)
                                              for e in collector.events) >= 5
                                  and len(collector.events) >= 50)
        assert recorder.close(5)
    replayed = []
    for _, data in read_frames(recorder.files[0]):
        frame = decode_frame(data)
        if isinstance(frame, Messages):
            replayed.extend(m for m in frame.items
                            if isinstance(m, MarketDataEvent | ChartEvent))
    live = [e for e in collector.events if isinstance(e, MarketDataEvent | ChartEvent)]
    assert len(replayed) >= len(live) >= 50
    assert [msgspec.json.encode(e) for e in replayed[:len(live)]] == [
        msgspec.json.encode(e) for e in live]


def test_a_recording_from_a_newer_format_is_refused(tmp_path: Path) -> None:
    import zstandard

    from tradovate_api.recording.format import HEADER, RecordingHeader, encode_json, pack

    path = tmp_path / "new.tvmd.zst"
    header = RecordingHeader(format=99, created_ns=1, session="2026-11-24")
    path.write_bytes(zstandard.ZstdCompressor().compress(pack(HEADER, 1, encode_json(header))))
    with pytest.raises(RecordingError, match="format 99 is newer"):
        list(RecordingReader(path).entries())


def test_files_opened_in_the_same_second_keep_time_order(tmp_path: Path) -> None:
    paths = []
    for i in range(12):
        recorder = MdRecorder(tmp_path, flush_interval=30.0)
        recorder.frame_at(chicago_ns(2026, 11, 24, 9, 0), b"a[%d]" % i)
        recorder.close()
        paths += recorder.files
    assert recording_files([tmp_path]) == paths
    assert [next(read_frames(p))[1] for p in paths] == [b"a[%d]" % i for i in range(12)]
