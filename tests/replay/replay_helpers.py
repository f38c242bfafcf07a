"""Reading recordings back in the replay tests, straight from the files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from tradovate_api.protocol import Messages, decode_frame
from tradovate_api.protocol.messages import Message
from tradovate_api.recording import RecordingReader


def recorded_messages(paths: Iterable[Path]) -> Iterator[tuple[int, Message]]:
    """(receive ns, message) of every frame the recordings hold, in file order."""
    for path in paths:
        for ts, data in RecordingReader(path).frames():
            frame = decode_frame(data)
            assert isinstance(frame, Messages)
            for message in frame.items:
                yield ts, message
