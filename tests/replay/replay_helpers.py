"""Reading recordings back in the replay tests, straight from the files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from tradovate_api.protocol import ChartEvent, Messages, decode_frame, encode_messages, pack_ticks
from tradovate_api.protocol.messages import Message
from tradovate_api.protocol.models import ChartData, ChartPacket, Tick
from tradovate_api.recording import MdRecorder, RecordingReader, ReferenceNote

HISTORY_T0 = 1_795_532_400_000
"""When :func:`history_recording` starts (ms)."""


def recorded_messages(paths: Iterable[Path]) -> Iterator[tuple[int, Message]]:
    """(receive ns, message) of every frame the recordings hold, in file order."""
    for path in paths:
        for ts, data in RecordingReader(path).frames():
            frame = decode_frame(data)
            assert isinstance(frame, Messages)
            for message in frame.items:
                yield ts, message


def history_recording(source: Path, directory: Path, noted: bool | None) -> list[Path]:
    """A recording of the first contract of ``source`` whose tick chart (ids 1, 2) starts as
    servers send it: three prints of history under the *realtime* id, its ``eoh``, then two
    prints of now (5025.0, 5025.25). ``noted``: what the chart note says of it."""
    reference = next(n for _, n in RecordingReader(source).entries()
                     if isinstance(n, ReferenceNote))
    es = reference.contracts[0]
    t0 = HISTORY_T0

    def chart_frame(*packets: ChartPacket) -> bytes:
        return encode_messages([ChartEvent(ChartData(charts=list(packets)))])

    def ticks(start: int, count: int, at_ms: int) -> ChartPacket:
        return pack_ticks(2, [Tick(start + i, at_ms + i, 20000 + start + i,
                                   (20000 + start + i) * 0.25, 1.0)
                              for i in range(count)], 0.25, 20261124)

    recorder = MdRecorder(directory, flush_interval=30.0)
    recorder.reference(reference.contracts, reference.maturities, reference.products)
    recorder.frame_at(t0 * 1_000_000, chart_frame(ticks(0, 3, t0 - 60_000)))  # history...
    recorder.chart(es.id, 1, 2, history_first=noted)  # (noted while handling that frame)
    recorder.frame_at((t0 + 5) * 1_000_000, chart_frame(ChartPacket(id=2, eoh=True)))
    recorder.frame_at((t0 + 10) * 1_000_000, chart_frame(ticks(100, 2, t0 + 10)))  # now
    recorder.close()
    return recorder.files
