"""Which recorded charts start with history: packets before their ``eoh`` are history, not
prints, whatever their id.

The trading app requests every chart with history and keeps every packet before the chart's
``eoh`` as history, because servers send history under the realtime id too (reference
§4.5-4.8; ``MarketDataWriter.register_chart(..., history_first=True)``). A replay must do the
same, or it would take recorded history for prints — prints that fill its simulated orders
at old prices. The app's recorder says so in its chart notes (``ChartNote.history_first``).
A note that does not say — a recording of an earlier version, or a synthetic one written
without any ``eoh`` — is decided from the frames: the chart starts with history when an
``eoh`` packet of its ids follows on the same md connection within :data:`LOOKAHEAD_FRAMES`
frames (the server ends a chart's history right after answering its request); otherwise its
packets are taken as they come, as before.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import msgspec

from ..protocol import ChartEvent, Messages, decode_frame
from .format import ChartNote, ConnectionNote
from .reader import Entry

LOOKAHEAD_FRAMES = 5_000
"""Frames read ahead at most, per chart note that does not say, looking for its ``eoh``."""
_EOH = b'"eoh"'


def mark_history(entries: Iterable[Entry], *,
                 lookahead_frames: int = LOOKAHEAD_FRAMES) -> Iterator[Entry]:
    """``entries`` (in effect order) with every chart note saying whether its chart starts
    with history (see the module doc); other entries pass unchanged, in order."""
    source = iter(entries)
    ahead: deque[Entry] = deque()
    while True:
        entry = ahead.popleft() if ahead else next(source, None)
        if entry is None:
            return
        item = entry[1]
        if isinstance(item, ChartNote) and item.history_first is None:
            marked = msgspec.structs.replace(
                item, history_first=_eoh_follows(item, ahead, source, lookahead_frames))
            yield entry[0], marked
        else:
            yield entry


def _eoh_follows(note: ChartNote, ahead: deque[Entry], source: Iterator[Entry],
                 limit: int) -> bool:
    """Whether an ``eoh`` of the note's chart comes before its md connection ends, within
    ``limit`` frames; what is read from ``source`` is kept in ``ahead``."""
    ids = {note.historical_id, note.realtime_id}
    frames = 0
    index = 0
    while frames < limit:
        if index < len(ahead):
            item = ahead[index][1]
        else:
            entry = next(source, None)
            if entry is None:
                return False
            ahead.append(entry)
            item = entry[1]
        index += 1
        if type(item) is bytes:
            frames += 1
            if _EOH in item and _has_eoh(item, ids):
                return True
        elif isinstance(item, ConnectionNote) and item.event == "connected":
            return False  # chart ids start over
    return False


def _has_eoh(data: bytes, ids: set[int | None]) -> bool:
    frame = decode_frame(data)
    if type(frame) is not Messages:
        return False
    return any(packet.eoh and packet.id in ids
               for message in frame.items if type(message) is ChartEvent
               for packet in message.data.charts)
